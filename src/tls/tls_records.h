// A TLS 1.3 record layer of our own for application data over an established session
// (RFC 8446 5.2), on Intel ipsec-mb's AES-GCM: the hot path of a forwarded query without
// OpenSSL's per-record EVP, BIO and allocation work.
//
// Scope: records protected under the application traffic secrets
// (CLIENT_TRAFFIC_SECRET_0 / SERVER_TRAFFIC_SECRET_0) of a TLS 1.3 session whose handshake
// OpenSSL did, with TLS_AES_128_GCM_SHA256 or TLS_AES_256_GCM_SHA384. No handshake
// messages are processed here: a record whose inner content type is handshake
// (NewSessionTicket, KeyUpdate) or alert is reported to the caller, who acts on it or
// closes the connection: OpenSSL's sequence numbers are stale once this layer has taken
// over, so a session cannot be handed back (see src/tls/README.md). Not thread-safe; one
// GcmEngine per worker. The hot path (protect, unprotect) never allocates.
#pragma once

#include <openssl/types.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <variant>

#include "tls/tls_context.h"  // TlsError

struct IMB_MGR;
struct gcm_key_data;

namespace dotgate::tls {

enum class RecordCipher : uint8_t {
  kAes128GcmSha256,  // TLS_AES_128_GCM_SHA256 (0x1301)
  kAes256GcmSha384,  // TLS_AES_256_GCM_SHA384 (0x1302)
};

// The cipher of a TLS 1.3 suite by its IANA number (SSL_CIPHER_get_protocol_id), or
// nothing for suites this layer does not do (ChaCha20-Poly1305, CCM).
std::variant<RecordCipher, TlsError> record_cipher_from_suite(uint16_t suite);

// Record-level constants (RFC 8446 5.1, 5.2).
inline constexpr size_t kRecordHeaderLen = 5;
inline constexpr size_t kRecordTagLen = 16;
inline constexpr size_t kMaxPlaintext = 1u << 14;              // per record
inline constexpr size_t kMaxCiphertext = kMaxPlaintext + 256;  // TLSCiphertext.length bound
// Bytes a protected record adds to its content: header, content type byte, tag.
inline constexpr size_t kRecordOverhead = kRecordHeaderLen + 1 + kRecordTagLen;

enum class ContentType : uint8_t {
  kChangeCipherSpec = 20,
  kAlert = 21,
  kHandshake = 22,
  kApplicationData = 23,
};

// One direction's key and IV, derived from its traffic secret with HKDF-Expand-Label
// (RFC 8446 7.1, 7.3) through OpenSSL's HKDF (EXPAND_ONLY) over the suite's hash.
struct Tls13RecordKeys {
  RecordCipher cipher = RecordCipher::kAes128GcmSha256;
  std::array<uint8_t, 32> key{};  // the first key_len() bytes are used
  std::array<uint8_t, 12> iv{};

  size_t key_len() const noexcept { return cipher == RecordCipher::kAes128GcmSha256 ? 16 : 32; }
  // `secret` must be the hash's length (32 bytes for SHA-256, 48 for SHA-384). `library`
  // may be null (the default library context). Setup work, not the packet path.
  static std::variant<Tls13RecordKeys, TlsError> from_secret(RecordCipher cipher, std::span<const uint8_t> secret,
                                                             OSSL_LIB_CTX* library = nullptr);
};

// HKDF-Expand-Label(secret, label, context, length) with "tls13 " prefixed to `label`;
// exposed for tests and for a later KeyUpdate (label "traffic upd"). False on failure.
bool hkdf_expand_label(RecordCipher cipher, std::span<const uint8_t> secret, const char* label,
                       std::span<const uint8_t> context, std::span<uint8_t> out, OSSL_LIB_CTX* library = nullptr);

// A TLS 1.3 traffic secret (32 bytes for SHA-256 suites, 48 for SHA-384).
struct TrafficSecret {
  std::array<uint8_t, 48> bytes{};
  uint8_t len = 0;
  void cleanse() noexcept;
};

// What a session's own record layer did (record_channel.h).
struct RecordChannelStats {
  uint64_t records_read = 0;      // application-data records opened
  uint64_t records_written = 0;   // application-data records sent
  uint64_t key_updates_received = 0;
  uint64_t key_updates_sent = 0;  // replies to the peer's requests and our own updates
  uint64_t late_tickets = 0;      // NewSessionTickets after the switch: counted, not stored
};

// ipsec-mb's multi-buffer manager, set up once for this CPU's best code path (AVX-512/VAES,
// AVX2, AVX or SSE). Shared by every protector and unprotector of one worker.
class GcmEngine {
 public:
  static std::variant<std::unique_ptr<GcmEngine>, TlsError> create();
  ~GcmEngine();
  GcmEngine(const GcmEngine&) = delete;
  GcmEngine& operator=(const GcmEngine&) = delete;

  IMB_MGR* manager() const noexcept { return mgr_; }
  const char* arch_name() const noexcept;  // "avx512", "avx2", "avx", "sse"

 private:
  GcmEngine() = default;
  IMB_MGR* mgr_ = nullptr;
  int arch_ = 0;
};

// Expanded AES-GCM key material for one direction (ipsec-mb's gcm_key_data, 64-byte
// aligned) with the IV, the sequence number, and the engine to run on.
class RecordKeyState {
 public:
  RecordKeyState(const GcmEngine& engine, const Tls13RecordKeys& keys, uint64_t sequence = 0);
  ~RecordKeyState();
  RecordKeyState(const RecordKeyState&) = delete;
  RecordKeyState& operator=(const RecordKeyState&) = delete;

  // The sequence number of the next record (records protected or unprotected so far under
  // these keys, plus the starting value).
  uint64_t sequence() const noexcept { return sequence_; }

 protected:
  // nonce = IV xor the 64-bit sequence number, big-endian, left-padded to 12 bytes.
  void nonce(uint8_t out[12]) const noexcept;
  IMB_MGR* mgr_;
  RecordCipher cipher_;
  std::array<uint8_t, 12> iv_;
  uint64_t sequence_;
  gcm_key_data* key_;  // in storage_, aligned to 64
  std::unique_ptr<uint8_t[]> storage_;
};

enum class ProtectStatus : uint8_t {
  kOk,
  kTooLarge,            // content + padding exceeds 2^14 (RFC 8446 5.4)
  kNoRoom,              // the output cannot hold the record
  kSequenceExhausted,   // 2^64 - 1 records written: the keys must be updated (5.5)
};

// The sending direction: one TLSCiphertext record per call.
class RecordProtector : public RecordKeyState {
 public:
  using RecordKeyState::RecordKeyState;

  // Writes header || AES-GCM(content || type || padding zero bytes) || tag to `out`;
  // `*written` is the record's length (content.size() + padding + kRecordOverhead).
  // `out` may alias content only if it is content.data() - kRecordHeaderLen (in place).
  ProtectStatus protect(std::span<const uint8_t> content, uint8_t* out, size_t cap, size_t* written,
                        ContentType type = ContentType::kApplicationData, size_t padding = 0) noexcept;
};

enum class RecordStatus : uint8_t {
  kApplicationData,   // `payload` is the content (may be empty)
  kHandshake,         // post-handshake messages (NewSessionTicket, KeyUpdate, ...): hand back
  kAlert,             // `payload` is the alert (level, description)
  kNeedMore,          // not a whole record yet; nothing consumed
  kBadRecordMac,      // tag mismatch (bad_record_mac alert)
  kBadHeader,         // outer type not application_data (23) or version not 0x0303
  kRecordOverflow,    // length > 2^14 + 256, or inner plaintext > 2^14 + 1 (record_overflow)
  kBadInnerPlaintext, // no content type (all zero) or a type not allowed here (unexpected_message)
  kSequenceExhausted,
};
const char* record_status_name(RecordStatus s) noexcept;

struct Unprotected {
  RecordStatus status = RecordStatus::kNeedMore;
  size_t consumed = 0;              // bytes of input taken (a whole record) on success
  const uint8_t* payload = nullptr; // inside the input buffer (decrypted in place)
  size_t payload_len = 0;
};

// The receiving direction. A record that fails (kBadRecordMac and the other errors) leaves
// the sequence number unchanged and the input partly overwritten; the connection must be
// closed (RFC 8446 5.2: any failure is fatal).
class RecordUnprotector : public RecordKeyState {
 public:
  using RecordKeyState::RecordKeyState;

  // Length of the first record in `in` (header included) once the header is there, else 0.
  static size_t record_length(const uint8_t* in, size_t available) noexcept;

  // Decrypts the first record in `in[0..available)` in place (the plaintext overwrites the
  // ciphertext, starting at in + kRecordHeaderLen), checks its tag and strips the padding.
  Unprotected unprotect(uint8_t* in, size_t available) noexcept;
};

}  // namespace dotgate::tls
