// An established TLS 1.3 connection after TlsSession handed its records over from OpenSSL
// to our own record layer (tls_records.h): application data both ways, the post-handshake
// messages a DoT connection meets (KeyUpdate, late NewSessionTickets), alerts and
// close_notify, over the same CipherStream OpenSSL used.
//
// Why: OpenSSL 3.0 spends most of a forwarded query's instructions on per-record EVP, BIO
// and allocation plumbing (src/tls/README.md); ipsec-mb's AES-GCM on a buffer of our own
// costs a fraction. TlsSession decides when a connection may switch (the handshake and
// everything OpenSSL must see is done, OpenSSL holds no bytes); from then on OpenSSL's
// sequence numbers are stale and the connection never goes back.
//
// Buffers: one record's worth of ciphertext in (16.6 kB) and out (16.4 kB), allocated when
// a connection first needs them, kept while it is busy, freed by release_buffers() when it
// is idle. No allocation on the record path otherwise; a KeyUpdate re-keys (an allocation
// for the new key schedule, once per 2^23 records or per peer request).
#pragma once

#include <openssl/types.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <variant>

#include "tls/tls_records.h"
#include "tls/tls_session.h"

namespace dotgate::tls {

class RecordChannel {
 public:
  struct Start {
    RecordCipher cipher = RecordCipher::kAes128GcmSha256;
    TrafficSecret read_secret, write_secret;   // the peer's and ours (application, _0)
    uint64_t read_sequence = 0;                 // records each way since those secrets
    uint64_t write_sequence = 0;
    bool client = true;                         // late tickets are only for clients
    uint64_t key_update_after_records = ProtocolConfig{}.key_update_after_records;
  };
  // Derives both directions' keys (HKDF through `library`). The engine must outlive the
  // channel.
  static std::variant<std::unique_ptr<RecordChannel>, TlsError> create(const GcmEngine& engine,
                                                                       OSSL_LIB_CTX* library, const Start& start);
  ~RecordChannel();
  RecordChannel(const RecordChannel&) = delete;
  RecordChannel& operator=(const RecordChannel&) = delete;

  // The same contracts as TlsSession::read / write / shutdown. read() fills `out` with as
  // many records' content as fit (OpenSSL gives one record per call); kClosed once the
  // peer's close_notify was read and its data delivered; kFailed may come with bytes read
  // before the failure (*got).
  TlsResult read(CipherStream& stream, uint8_t* out, size_t cap, size_t* got);
  // As OpenSSL with partial writes: when the stream takes only part of a record, its
  // content is not counted as taken; the caller calls again (once the stream has room)
  // with a buffer that starts with the same bytes, the rest of the record goes out and
  // they count then.
  TlsResult write(CipherStream& stream, const uint8_t* data, size_t len, size_t* taken);
  TlsResult shutdown(CipherStream& stream);
  // A KeyUpdate goes out ahead of the next record (or on the next call that can send):
  // our sending keys change, and with `request_peer` the peer must update its own.
  void update_keys(bool request_peer) noexcept;
  // Frees both buffers when they hold nothing; false (kept) otherwise.
  bool release_buffers() noexcept;

  bool failed() const noexcept { return !failure_.empty(); }
  const std::string& failure() const noexcept { return failure_; }
  bool close_notify_sent() const noexcept { return close_notify_queued_; }
  bool close_notify_received() const noexcept { return peer_closed_; }
  bool holds_input() const noexcept { return in_end_ != in_start_ || plain_len_ != 0; }
  // Records (a KeyUpdate reply, the rest of close_notify) wait for room in the stream with
  // no caller bytes behind them: write(nullptr, 0) sends them.
  bool output_pending() const noexcept {
    return !failed() && (out_start_ != out_end_ || reply_owed_ || update_wanted_);
  }
  const RecordChannelStats& stats() const noexcept { return stats_; }
  uint64_t read_sequence() const noexcept { return reader_->sequence(); }
  uint64_t write_sequence() const noexcept { return writer_->sequence(); }

 private:
  RecordChannel(const GcmEngine& engine, OSSL_LIB_CTX* library, const Start& start);
  // The direction's next secret and keys at sequence 0 (RFC 8446 7.2).
  template <class Direction>
  bool rekey(TrafficSecret& secret, std::optional<Direction>& direction);
  // Queues one record of `type` (control records: alerts, KeyUpdate) after what is pending.
  bool queue_record(ContentType type, const uint8_t* content, size_t len);
  bool queue_key_update(bool request_peer);
  // Sends what is queued (and a KeyUpdate owed). False: the stream has no room (or failed).
  bool flush(CipherStream& stream);
  bool handshake_messages(const uint8_t* p, size_t len);
  TlsResult fail(std::string reason, uint8_t alert, CipherStream* stream);
  bool ensure_buffers();

  const GcmEngine& engine_;
  OSSL_LIB_CTX* library_;
  RecordCipher cipher_;
  TrafficSecret read_secret_, write_secret_;
  std::optional<RecordUnprotector> reader_;
  std::optional<RecordProtector> writer_;
  bool client_;
  uint64_t key_update_after_;

  std::unique_ptr<uint8_t[]> in_;  // ciphertext as received, decrypted in place
  size_t in_start_ = 0, in_end_ = 0;
  size_t plain_off_ = 0, plain_len_ = 0;  // content of the opened record not yet delivered
  size_t plain_record_ = 0;               // that record's length, consumed once delivered
  std::unique_ptr<uint8_t[]> out_;  // records made, not yet taken by the stream
  size_t out_start_ = 0, out_end_ = 0;

  size_t held_plain_ = 0;           // the caller's bytes in the record not yet wholly sent
  uint8_t alert_ = 0;               // for a post-handshake message refused
  uint32_t key_updates_in_a_row_ = 0;
  bool reply_owed_ = false;         // the peer asked for a KeyUpdate we have not sent
  bool update_wanted_ = false;      // update_keys() was called
  bool request_peer_ = false;
  bool close_notify_queued_ = false;
  bool send_closed_ = false;        // close_notify or a fatal alert queued: nothing after it
  bool peer_closed_ = false;
  std::string failure_;
  RecordChannelStats stats_;
};

}  // namespace dotgate::tls
