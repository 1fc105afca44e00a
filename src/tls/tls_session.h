// One TLS connection (client toward an upstream, or server for a DoT client) driven over a
// byte stream the caller provides: no sockets, no I/O of its own.
//
// OpenSSL reads ciphertext from and writes ciphertext to a CipherStream through a custom
// BIO, so records move between OpenSSL's record buffers and the caller's TCP buffers in one
// copy each way (a memory BIO would add a copy, and its buffer never shrinks). Every call
// returns a resumable TlsResult; the caller keeps its position and calls again when the
// stream has more bytes (kWantInput) or more room (kWantOutput).
//
// Call order: handshake() until kDone (or failure); then read() until kWantInput after
// every arrival of ciphertext (TLS 1.3 session tickets and alerts arrive that way too) and
// write() whenever there is plaintext; shutdown() to send close_notify. Destroying the
// session frees everything; a cleanly used client session leaves its ticket resumable.
//
// Client authentication follows the RFC 8310 strict profile, as stubby and unbound do:
//   - name given: the chain must verify to a trust anchor of the context's CA file and
//     the certificate must match the name (SSL_set1_host; subjectAltName only, never the
//     subject CN; no partial wildcards); SNI
//     carries the name. A name that is an address literal is matched against the IP
//     SANs instead, and no SNI is sent;
//   - pins given: one certificate of the chain must have one of the SPKI SHA-256 digests
//     (with a name: in addition to the above; the pin may be on the leaf, an intermediate
//     or the trust anchor);
//   - pins and no name: the pins alone authenticate (RFC 7858 4.2), so the chain need not
//     reach a trust anchor, but its signatures and every certificate's validity dates are
//     still checked, so a pin on an intermediate vouches for the leaf it signed.
// Neither given: the session refuses to be created (strict mode cannot authenticate).
#pragma once

#include <openssl/ssl.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "tls/tls_context.h"
#include "tls/tls_records.h"

namespace dotgate::tls {

class RecordChannel;

// The caller's side of the byte stream under one session (for the dataplane: a TCP
// connection's receive and send buffers). The session only calls these from within its
// own calls. The stream must outlive the session.
class CipherStream {
 public:
  virtual ~CipherStream() = default;
  // Copies up to `cap` received bytes into `out` and consumes them; returns how many.
  // 0 means none now, or the end of the stream when ended() is true.
  virtual size_t receive(uint8_t* out, size_t cap) = 0;
  // Takes up to `len` bytes to send; returns how many (0: no room now).
  virtual size_t send(const uint8_t* data, size_t len) = 0;
  // The peer closed its direction (TCP FIN) and everything before it was received.
  virtual bool ended() const = 0;
  // False only when receive() would return 0 now (nothing received and not yet taken).
  // Lets a session answer "no input yet" without a call into OpenSSL; a stream that cannot
  // tell keeps the default, and every read goes to OpenSSL.
  virtual bool has_input() const { return true; }
};

enum class TlsState : uint8_t {
  kHandshaking,
  kEstablished,
  kClosed,   // the peer's close_notify arrived (ours may or may not be sent yet)
  kFailed,   // failure() says why; the session is unusable
};
const char* to_string(TlsState s) noexcept;

enum class TlsResult : uint8_t {
  kDone,        // the call completed (handshake done, bytes read or taken, close_notify sent)
  kWantInput,   // needs ciphertext the stream does not have yet
  kWantOutput,  // the stream took no more ciphertext; call again once it has room
  kClosed,      // read(): the peer sent close_notify, no more plaintext will come
  kFailed,      // state() is kFailed; failure() says why
};
const char* to_string(TlsResult r) noexcept;

struct ClientAuth {
  std::string name;                 // RFC 8310 authentication name; empty: none
  std::vector<SpkiSha256> pins;     // empty: none
};

class TlsSession {
 public:
  // A client session to the upstream with key `upstream_key` (the index its resumption
  // session is stored under in `context`). Fails only for an authentication that cannot
  // authenticate (no name and no pins) or when OpenSSL cannot allocate.
  static std::variant<std::unique_ptr<TlsSession>, TlsError> client(ClientContext& context, CipherStream& stream,
                                                                     const ClientAuth& auth,
                                                                     uint32_t upstream_key);
  static std::variant<std::unique_ptr<TlsSession>, TlsError> server(ServerContext& context, CipherStream& stream);
  ~TlsSession();
  TlsSession(const TlsSession&) = delete;
  TlsSession& operator=(const TlsSession&) = delete;

  // Drives the handshake: kDone once established (also when called again after that),
  // kWantInput / kWantOutput to be called again, kFailed.
  TlsResult handshake();
  // Decrypts into out[0, cap): kDone with *got > 0; kWantInput (nothing to read yet,
  // *got == 0); kWantOutput (OpenSSL must send something first, e.g. a key update reply);
  // kClosed after the peer's close_notify; kFailed (on the own record layer with *got bytes
  // read before the failure, which the caller may still use). Also completes a handshake
  // in progress.
  TlsResult read(uint8_t* out, size_t cap, size_t* got);
  // Encrypts data[0, len) into records of up to 16 kB: kDone when all len bytes were
  // taken. kWantOutput: *taken bytes (maybe 0) were taken and the stream has no room for
  // the next record, which may already be made from the bytes that follow; call again,
  // once the stream has room, with a buffer that starts with data + *taken (it may have
  // moved and grown meanwhile). kWantInput: the handshake still waits for the peer.
  // kClosed after shutdown(). kFailed.
  TlsResult write(const uint8_t* data, size_t len, size_t* taken);
  // Sends close_notify (once): kDone when it went out, kWantOutput to be called again.
  // The session may still read until the peer's close_notify arrives. Before the
  // handshake completes there is nothing to close: kDone, nothing sent.
  TlsResult shutdown();

  // Frees OpenSSL's record buffers (about 17 kB each way) while the session is idle; they
  // come back on the next read or write. False (nothing freed) while they hold bytes not
  // yet passed on. The dataplane calls it when a session has nothing outstanding.
  bool release_buffers() noexcept;
  // Own record layer only: records of its own (a KeyUpdate, a reply to one) wait for room
  // in the stream; write(nullptr, 0, ...) sends them. (OpenSSL's records wait in OpenSSL
  // and go with the next write.)
  bool output_pending() const noexcept;
  // Updates our sending keys (a KeyUpdate ahead of the next record) and, with
  // `request_peer`, asks the peer to update its own. Established sessions only.
  bool update_keys(bool request_peer) noexcept;

  // Which record layer carries the application data: "openssl" until (and unless) the
  // session moved onto our own, then "ipsec-mb". A session moves once, right after OpenSSL
  // has done the handshake and what comes with it (a client waits for the server's session
  // ticket or first answer, so resumption keeps working), when it is TLS 1.3 with an
  // AES-GCM suite and its context has the own layer (ProtocolConfig::own_record_layer).
  std::string_view record_layer() const noexcept { return channel_ ? "ipsec-mb" : "openssl"; }
  bool own_records() const noexcept { return channel_ != nullptr; }
  RecordChannelStats record_stats() const noexcept;

  TlsState state() const noexcept { return state_; }
  const std::string& failure() const noexcept { return failure_; }  // empty unless kFailed
  bool is_client() const noexcept { return client_ != nullptr; }
  bool close_notify_sent() const noexcept;
  bool close_notify_received() const noexcept;

  // After the handshake:
  std::string_view version() const noexcept;  // "TLSv1.3"
  std::string_view cipher() const noexcept;   // "TLS_AES_128_GCM_SHA256"
  std::string_view alpn() const noexcept;     // "dot", or empty
  bool resumed() const noexcept;
  // Server sessions: the name the client asked for (SNI), empty if none.
  std::string_view server_name() const noexcept;
  // The name (or address) the upstream's certificate was verified against (client, once
  // established; empty with pins alone). For a resumed session: the name the stored
  // session was verified under.
  std::string_view verified_name() const noexcept;

  // For tests and diagnostics only (e.g. trying renegotiation). A server session's SSL is
  // reused by later sessions of its context: its options and mode are reset from the
  // context then, anything else set through here may carry over. Null once the session
  // moved onto the own record layer (the SSL is freed or back with its context then).
  SSL* native() const noexcept { return ssl_; }

 private:
  TlsSession() = default;
  // `reuse`: a cleared SSL of ctx to use instead of a new one (freed if this fails).
  static std::variant<std::unique_ptr<TlsSession>, TlsError> make(SSL_CTX* ctx, OSSL_LIB_CTX* library,
                                                                   CipherStream& stream, SSL* reuse = nullptr);
  bool recycle(SSL* ssl) noexcept;
  // Frees the SSL, or gives a cleanly finished server one back to its context.
  void release_ssl() noexcept;
  TlsResult result_of(int ret);
  TlsResult fail(std::string reason);
  static int verify_callback(int preverify_ok, X509_STORE_CTX* store);
  static int verify_chain(X509_STORE_CTX* store, void*);
  static int new_session(SSL* ssl, SSL_SESSION* session);
  static void keylog(const SSL* ssl, const char* line);
  static void record_seen(int write_p, int version, int content_type, const void* buf, size_t len, SSL* ssl,
                          void* arg);
  // Counts records and catches the traffic secrets when `setup` has the own layer.
  void watch_records(const RecordLayerSetup& setup);
  // Moves the session onto the own record layer when it may (see record_layer()).
  void maybe_take_over();
  TlsResult channel_result(TlsResult r);
  bool chain_matches_pin(X509_STORE_CTX* store) const;

  SSL* ssl_ = nullptr;
  CipherStream* stream_ = nullptr;
  OSSL_LIB_CTX* library_ = nullptr;
  ClientContext* client_ = nullptr;  // null for server sessions
  std::shared_ptr<SpareSsls> spares_;  // server sessions: where the SSL goes back to
  uint32_t upstream_key_ = 0;
  std::string auth_id_;  // name and pins, the key a stored session is offered under
  ClientAuth auth_;
  TlsState state_ = TlsState::kHandshaking;
  bool offered_session_ = false;
  bool pin_mismatch_ = false;
  bool close_notify_sent_ = false;
  std::string failure_;

  // The own record layer: what the switch needs, counted while OpenSSL does the records.
  const RecordLayerSetup* records_ = nullptr;  // the context's; null: OpenSSL throughout
  std::unique_ptr<RecordChannel> channel_;
  TrafficSecret client_secret_, server_secret_;  // application traffic secrets _0 (keylog)
  uint64_t records_in_ = 0, records_out_ = 0;    // under those secrets, each way
  uint64_t app_records_in_ = 0;                  // of them application data
  uint32_t tickets_in_ = 0;                      // NewSessionTickets OpenSSL read
  bool reading_app_keys_ = false, writing_app_keys_ = false;
  bool keys_changed_ = false;   // a KeyUpdate went through OpenSSL: the secrets are stale
  bool write_blocked_ = false;  // OpenSSL holds part of a record for the stream
  bool take_over_refused_ = false;
  // What the accessors report once the SSL is gone (after the switch).
  std::string_view version_, cipher_name_;
  std::string alpn_, server_name_;
  bool resumed_ = false;
};

}  // namespace dotgate::tls
