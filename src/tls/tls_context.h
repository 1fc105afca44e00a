// Per-worker OpenSSL 3 contexts: one client context for the sessions toward upstream
// resolvers and one server context for clients doing DoT on port 853.
//
// OpenSSL 3.0 contends on locks inside the default library context when several threads
// share it, so each worker builds its contexts over its own OSSL_LIB_CTX (LibraryContext)
// and uses them from that worker only. Nothing here is thread-safe; nothing here aborts:
// every failure comes back as a TlsError whose message names what failed and carries
// OpenSSL's reason. Building contexts is start-up work (files are read, keys generated);
// the packet path only creates sessions from them (tls_session.h).
#pragma once

#include <openssl/ssl.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <variant>
#include <vector>

namespace dotgate::tls {

class GcmEngine;

struct TlsError {
  std::string message;
};

// Protocol versions by their wire value (the same numbers as OpenSSL's TLS1_x_VERSION).
// Older versions are not offered at all (RFC 8996).
enum class TlsVersion : uint16_t { kTls12 = 0x0303, kTls13 = 0x0304 };

// Everything on OpenSSL's per-thread error queue as "reason; reason" (ERR_reason_error_string,
// or ERR_error_string_n's full text when a code has no reason string), and empties it.
// "unknown error" when the queue was empty.
std::string take_openssl_errors();

// An SHA-256 digest of a DER SubjectPublicKeyInfo: the same type as upstream::SpkiPin, which
// parses them from the base64 operators write (tls does not depend on upstream).
using SpkiSha256 = std::array<uint8_t, 32>;

struct LibraryContextFree {
  void operator()(OSSL_LIB_CTX* c) const noexcept { OSSL_LIB_CTX_free(c); }
};
// One worker's OpenSSL library context. It must outlive every context and session built
// over it. The default provider loads into it on first use.
using LibraryContext = std::unique_ptr<OSSL_LIB_CTX, LibraryContextFree>;
LibraryContext new_library_context();  // null only when out of memory

// TLS 1.2 suites when a config gives none: forward secrecy (ECDHE) and AEAD only.
inline constexpr const char* kDefaultTls12Ciphers =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";
inline constexpr const char* kDefaultGroups = "X25519:P-256:P-384";

// What both directions share.
struct ProtocolConfig {
  TlsVersion min_version = TlsVersion::kTls12;
  TlsVersion max_version = TlsVersion::kTls13;
  std::string tls12_ciphers;       // OpenSSL cipher list; empty: kDefaultTls12Ciphers
  std::string tls13_ciphersuites;  // e.g. "TLS_AES_128_GCM_SHA256"; empty: OpenSSL's default
  std::string groups;              // key exchange groups; empty: kDefaultGroups
  // Application data of TLS 1.3 AES-GCM sessions through our own record layer
  // (tls_records.h, Intel ipsec-mb) once OpenSSL has done the handshake and what follows
  // it; false, or a CPU without AES-NI: OpenSSL's records throughout.
  bool own_record_layer = true;
  // Records we send under one key before we update it (KeyUpdate, RFC 8446 5.5); only on
  // the own record layer (OpenSSL 3.0 never updates keys by itself).
  uint64_t key_update_after_records = uint64_t{1} << 23;
};

// What a context's sessions need to move onto the own record layer.
struct RecordLayerSetup {
  std::unique_ptr<GcmEngine> engine;  // null: the layer is off or unavailable
  uint64_t key_update_after_records = 0;
  std::string unavailable;            // why not, when it was asked for
  RecordLayerSetup();
  ~RecordLayerSetup();
  RecordLayerSetup(RecordLayerSetup&&) noexcept;
  RecordLayerSetup& operator=(RecordLayerSetup&&) noexcept;
};

struct ClientConfig {
  ProtocolConfig protocol;
  std::string ca_file = "/etc/ssl/certs/ca-certificates.crt";  // PEM bundle of trust anchors
  // Keep each upstream's latest session and offer it on the next connection (a round trip
  // and the certificate check less); false: every connection does a full handshake.
  bool session_resumption = true;
};

// The client context toward upstream resolvers. Besides the SSL_CTX it keeps, per upstream
// key (an index the caller chooses, e.g. the upstream's position in the config), the
// latest session the upstream issued, so the next connection to it resumes. A stored
// session is offered only to a connection with the same authentication (name and pins) as
// the one that made it, so reusing a key for a differently configured upstream never
// skips verification.
class ClientContext {
 public:
  // Reads the CA file; the library context must outlive the result.
  static std::variant<std::unique_ptr<ClientContext>, TlsError> create(const ClientConfig& config,
                                                                       OSSL_LIB_CTX* library);
  ~ClientContext();
  ClientContext(const ClientContext&) = delete;
  ClientContext& operator=(const ClientContext&) = delete;

  SSL_CTX* native() const noexcept { return ctx_; }
  OSSL_LIB_CTX* library() const noexcept { return library_; }
  const EVP_MD* sha256() const noexcept { return sha256_; }  // fetched once, for SPKI pins
  const RecordLayerSetup& records() const noexcept { return records_; }

  // Session store (used by TlsSession). `auth_id` is the authentication a session was
  // verified under. store_session takes over the caller's reference; find_session lends
  // one (valid until the next store or forget for that key) or returns null.
  void store_session(uint32_t key, const std::string& auth_id, SSL_SESSION* session);
  SSL_SESSION* find_session(uint32_t key, const std::string& auth_id) const;
  void forget_session(uint32_t key);  // after a failed resumption, or when the upstream changes
  size_t stored_sessions() const noexcept;
  bool session_resumption() const noexcept { return resumption_; }

 private:
  ClientContext() = default;
  struct Stored {
    std::string auth_id;
    SSL_SESSION* session = nullptr;
  };
  SSL_CTX* ctx_ = nullptr;
  OSSL_LIB_CTX* library_ = nullptr;
  EVP_MD* sha256_ = nullptr;
  std::vector<Stored> sessions_;  // by upstream key
  RecordLayerSetup records_;
  bool resumption_ = true;
};

struct ServerConfig {
  ProtocolConfig protocol;
  std::string certificate_chain_file;  // PEM: the leaf first, then its intermediates
  std::string private_key_file;        // PEM
  // Session tickets: encrypted under the current key and accepted under the current or the
  // previous one, so a ticket lives between one and two rotation intervals. 0: rotate only
  // on explicit rotate_ticket_key() calls.
  uint64_t ticket_key_rotation_us = 12ull * 3600 * 1'000'000;
  uint32_t tickets_per_handshake = 1;  // TLS 1.3 NewSessionTicket messages (OpenSSL sends 2)
  // Ticket keys derived from this secret (HMAC-SHA256 of the key's generation) instead of
  // drawn at random: contexts given the same secret make the same keys in the same order,
  // so the workers of one process resume each other's tickets (a client's next connection
  // may land on another worker). Empty: random keys, this context's alone.
  std::vector<uint8_t> ticket_secret;
  // SSL objects of finished client connections kept (cleared, without record buffers) for
  // the next ones, instead of SSL_free now and SSL_new then. 0: none kept.
  uint32_t spare_ssl_objects = 32;
};

// The SSL objects a ServerContext keeps for reuse (tls_session.cc takes and returns them).
// Shared with the sessions, so a session that outlives its context frees its SSL instead
// of returning it.
struct SpareSsls {
  std::vector<SSL*> ssl;
  size_t max = 0;
  bool open = true;  // false once the context is gone
  SpareSsls() = default;
  SpareSsls(const SpareSsls&) = delete;
  SpareSsls& operator=(const SpareSsls&) = delete;
  ~SpareSsls();
  void clear() noexcept;  // frees every kept SSL
};

// The server context for DoT clients: certificate and key, ALPN "dot" (clients that send no
// ALPN are served too; clients that offer only other protocols are refused, RFC 7301 3.2),
// stateless session tickets under rotating keys (no server-side session cache).
class ServerContext {
 public:
  // Loads the certificate chain and key (checked to match) and makes the first ticket key.
  // `now_us` is any monotonic clock, the one later passed to advance().
  static std::variant<std::unique_ptr<ServerContext>, TlsError> create(const ServerConfig& config,
                                                                       OSSL_LIB_CTX* library,
                                                                       uint64_t now_us);
  ~ServerContext();
  ServerContext(const ServerContext&) = delete;
  ServerContext& operator=(const ServerContext&) = delete;

  SSL_CTX* native() const noexcept { return ctx_; }
  OSSL_LIB_CTX* library() const noexcept { return library_; }
  const RecordLayerSetup& records() const noexcept { return records_; }

  // Makes a fresh ticket key current; the current one becomes the previous one and the
  // previous one is destroyed (its tickets no longer resume). False only if the random
  // generator failed (the keys are then unchanged).
  bool rotate_ticket_key(uint64_t now_us);
  // Rotates when the configured interval has passed since the last rotation.
  void advance(uint64_t now_us);
  uint64_t ticket_key_rotations() const noexcept { return rotations_; }

  // SSL objects kept for the next sessions (ServerConfig::spare_ssl_objects at most).
  size_t spare_ssl_objects() const noexcept { return spares_->ssl.size(); }
  const std::shared_ptr<SpareSsls>& spares() const noexcept { return spares_; }  // for TlsSession

 private:
  ServerContext() = default;
  struct TicketKey {
    std::array<uint8_t, 16> name{};     // sent in the clear in every ticket
    std::array<uint8_t, 32> aes_key{};  // AES-256-CBC
    std::array<uint8_t, 32> hmac_key{}; // HMAC-SHA256
    bool valid = false;
  };
  static int ticket_key_callback(SSL* ssl, unsigned char key_name[16], unsigned char* iv,
                                 EVP_CIPHER_CTX* cipher, EVP_MAC_CTX* mac, int encrypt);
  int ticket_key(unsigned char key_name[16], unsigned char* iv, EVP_CIPHER_CTX* cipher,
                 EVP_MAC_CTX* mac, int encrypt);

  SSL_CTX* ctx_ = nullptr;
  OSSL_LIB_CTX* library_ = nullptr;
  EVP_CIPHER* ticket_cipher_ = nullptr;
  bool derive_ticket_key(uint64_t generation, TicketKey* out) const;

  TicketKey current_, previous_;
  std::vector<uint8_t> ticket_secret_;
  uint64_t key_generation_ = 0;  // keys made so far (the next derived key's number)
  uint64_t rotation_us_ = 0;
  uint64_t last_rotation_us_ = 0;
  uint64_t rotations_ = 0;
  std::shared_ptr<SpareSsls> spares_ = std::make_shared<SpareSsls>();
  RecordLayerSetup records_;
};

}  // namespace dotgate::tls
