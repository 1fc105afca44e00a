#include "tls/tls_context.h"

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <cstring>

#include "tls/tls_records.h"

namespace dotgate::tls {

RecordLayerSetup::RecordLayerSetup() = default;
RecordLayerSetup::~RecordLayerSetup() = default;
RecordLayerSetup::RecordLayerSetup(RecordLayerSetup&&) noexcept = default;
RecordLayerSetup& RecordLayerSetup::operator=(RecordLayerSetup&&) noexcept = default;

std::string take_openssl_errors() {
  std::string out;
  while (const unsigned long e = ERR_get_error()) {
    if (!out.empty()) out += "; ";
    if (const char* reason = ERR_reason_error_string(e)) {
      out += reason;
    } else {
      char buf[256];
      ERR_error_string_n(e, buf, sizeof buf);
      out += buf;
    }
  }
  return out.empty() ? "unknown error" : out;
}

LibraryContext new_library_context() { return LibraryContext(OSSL_LIB_CTX_new()); }

namespace {

TlsError failure(const std::string& what) { return TlsError{what + ": " + take_openssl_errors()}; }

// Options both directions share: versions, suites, groups, and what is never allowed.
std::variant<bool, TlsError> apply_protocol(SSL_CTX* ctx, const ProtocolConfig& p) {
  if (p.min_version > p.max_version) return TlsError{"min_version is above max_version"};
  // A library context of our own does not read openssl.cnf, so the security level Debian
  // sets there must be set here: 2 refuses keys under 112 bits of strength and SHA-1.
  SSL_CTX_set_security_level(ctx, 2);
  // Renegotiation is refused both ways (a TLS 1.2 attack surface DoT never needs);
  // compression is off (CRIME).
  SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION);
  // Partial writes let a session hand records to TCP as they are made; the moving buffer
  // lets the caller retry from a buffer that was compacted meanwhile. SSL_MODE_RELEASE_BUFFERS
  // is not set: it frees and reallocates both 17 kB record buffers around every record,
  // an allocation per packet. TlsSession::release_buffers() frees them when a session
  // goes idle instead.
  SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  // Read ahead: one stream read takes in as many records as have arrived, not a header
  // and then a body per record.
  SSL_CTX_set_read_ahead(ctx, 1);
  if (!SSL_CTX_set_min_proto_version(ctx, static_cast<int>(p.min_version)) ||
      !SSL_CTX_set_max_proto_version(ctx, static_cast<int>(p.max_version))) {
    return failure("cannot set the protocol versions");
  }
  const std::string& ciphers = p.tls12_ciphers.empty() ? std::string(kDefaultTls12Ciphers) : p.tls12_ciphers;
  if (!SSL_CTX_set_cipher_list(ctx, ciphers.c_str())) {
    return failure("TLS 1.2 cipher list '" + ciphers + "'");
  }
  if (!p.tls13_ciphersuites.empty() && !SSL_CTX_set_ciphersuites(ctx, p.tls13_ciphersuites.c_str())) {
    return failure("TLS 1.3 ciphersuites '" + p.tls13_ciphersuites + "'");
  }
  const std::string groups = p.groups.empty() ? kDefaultGroups : p.groups;
  if (!SSL_CTX_set1_groups_list(ctx, groups.c_str())) return failure("groups '" + groups + "'");
  return true;
}

// The own record layer when asked for and the CPU has AES-NI; otherwise the reason stays
// (for the logs) and sessions keep OpenSSL's records, which work everywhere.
RecordLayerSetup record_layer(const ProtocolConfig& p) {
  RecordLayerSetup r;
  if (!p.own_record_layer) return r;
  r.key_update_after_records = p.key_update_after_records;
  auto engine = GcmEngine::create();
  if (auto* e = std::get_if<TlsError>(&engine)) {
    r.unavailable = e->message;
  } else {
    r.engine = std::move(std::get<std::unique_ptr<GcmEngine>>(engine));
  }
  return r;
}

}  // namespace

// --- client ------------------------------------------------------------------------------

std::variant<std::unique_ptr<ClientContext>, TlsError> ClientContext::create(const ClientConfig& config,
                                                                             OSSL_LIB_CTX* library) {
  ERR_clear_error();
  std::unique_ptr<ClientContext> c(new ClientContext());
  c->library_ = library;
  c->ctx_ = SSL_CTX_new_ex(library, nullptr, TLS_client_method());
  if (!c->ctx_) return failure("cannot create the client SSL_CTX");
  if (auto r = apply_protocol(c->ctx_, config.protocol); std::holds_alternative<TlsError>(r)) {
    return std::get<TlsError>(r);
  }
  if (!SSL_CTX_load_verify_file(c->ctx_, config.ca_file.c_str())) {
    return failure("cannot load CA certificates from '" + config.ca_file + "'");
  }
  c->sha256_ = EVP_MD_fetch(library, "SHA256", nullptr);
  if (!c->sha256_) return failure("cannot fetch SHA-256");
  static const unsigned char kAlpnDot[] = {3, 'd', 'o', 't'};
  // SSL_CTX_set_alpn_protos returns 0 on success.
  if (SSL_CTX_set_alpn_protos(c->ctx_, kAlpnDot, sizeof kAlpnDot) != 0) return failure("cannot set ALPN");
  // Sessions are kept here, per upstream, not in OpenSSL's cache: the new-session callback
  // (installed by TlsSession) stores each one as it arrives.
  SSL_CTX_set_session_cache_mode(c->ctx_, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
  c->records_ = record_layer(config.protocol);
  c->resumption_ = config.session_resumption;
  if (!c->resumption_) SSL_CTX_set_options(c->ctx_, SSL_OP_NO_TICKET);  // TLS 1.2: ask for none
  return c;
}

ClientContext::~ClientContext() {
  for (Stored& s : sessions_) SSL_SESSION_free(s.session);
  EVP_MD_free(sha256_);
  SSL_CTX_free(ctx_);
}

void ClientContext::store_session(uint32_t key, const std::string& auth_id, SSL_SESSION* session) {
  if (key >= sessions_.size()) sessions_.resize(key + 1);
  Stored& s = sessions_[key];
  SSL_SESSION_free(s.session);
  s.session = session;
  s.auth_id = auth_id;
}

SSL_SESSION* ClientContext::find_session(uint32_t key, const std::string& auth_id) const {
  if (key >= sessions_.size()) return nullptr;
  const Stored& s = sessions_[key];
  if (!s.session || s.auth_id != auth_id || !SSL_SESSION_is_resumable(s.session)) return nullptr;
  return s.session;
}

void ClientContext::forget_session(uint32_t key) {
  if (key >= sessions_.size()) return;
  SSL_SESSION_free(sessions_[key].session);
  sessions_[key].session = nullptr;
}

size_t ClientContext::stored_sessions() const noexcept {
  size_t n = 0;
  for (const Stored& s : sessions_) n += s.session != nullptr;
  return n;
}

// --- server ------------------------------------------------------------------------------

namespace {

// ALPN (RFC 7301): "dot" is chosen when offered; a client that offers ALPN without "dot"
// wants some other protocol and is refused with no_application_protocol. The list is
// hostile input: every length is checked against it.
int select_alpn(SSL*, const unsigned char** out, unsigned char* out_len, const unsigned char* in,
                unsigned int in_len, void*) {
  unsigned int i = 0;
  while (i < in_len) {
    const unsigned int len = in[i];
    if (len == 0 || i + 1 + len > in_len) break;
    if (len == 3 && std::memcmp(in + i + 1, "dot", 3) == 0) {
      *out = in + i + 1;
      *out_len = 3;
      return SSL_TLSEXT_ERR_OK;
    }
    i += 1 + len;
  }
  return SSL_TLSEXT_ERR_ALERT_FATAL;
}

}  // namespace

std::variant<std::unique_ptr<ServerContext>, TlsError> ServerContext::create(const ServerConfig& config,
                                                                             OSSL_LIB_CTX* library,
                                                                             uint64_t now_us) {
  ERR_clear_error();
  std::unique_ptr<ServerContext> s(new ServerContext());
  s->library_ = library;
  s->rotation_us_ = config.ticket_key_rotation_us;
  s->ticket_secret_ = config.ticket_secret;
  s->spares_->max = config.spare_ssl_objects;
  s->spares_->ssl.reserve(config.spare_ssl_objects);
  s->ctx_ = SSL_CTX_new_ex(library, nullptr, TLS_server_method());
  if (!s->ctx_) return failure("cannot create the server SSL_CTX");
  if (auto r = apply_protocol(s->ctx_, config.protocol); std::holds_alternative<TlsError>(r)) {
    return std::get<TlsError>(r);
  }
  SSL_CTX_set_options(s->ctx_, SSL_OP_CIPHER_SERVER_PREFERENCE);
  if (SSL_CTX_use_certificate_chain_file(s->ctx_, config.certificate_chain_file.c_str()) != 1) {
    return failure("cannot load the certificate chain from '" + config.certificate_chain_file + "'");
  }
  // OpenSSL checks the key against the certificate as it loads it ("key values mismatch").
  if (SSL_CTX_use_PrivateKey_file(s->ctx_, config.private_key_file.c_str(), SSL_FILETYPE_PEM) != 1) {
    return failure("cannot use the private key from '" + config.private_key_file +
                   "' with the certificate from '" + config.certificate_chain_file + "'");
  }
  if (SSL_CTX_check_private_key(s->ctx_) != 1) {
    return failure("the private key in '" + config.private_key_file + "' does not match the certificate in '" +
                   config.certificate_chain_file + "'");
  }
  SSL_CTX_set_alpn_select_cb(s->ctx_, select_alpn, nullptr);
  // Stateless tickets only: nothing per client is kept here, so memory does not grow with
  // the number of clients.
  SSL_CTX_set_session_cache_mode(s->ctx_, SSL_SESS_CACHE_OFF);
  static const unsigned char kSessionContext[] = "dotgate";
  SSL_CTX_set_session_id_context(s->ctx_, kSessionContext, sizeof kSessionContext - 1);
  SSL_CTX_set_num_tickets(s->ctx_, config.tickets_per_handshake);
  s->ticket_cipher_ = EVP_CIPHER_fetch(library, "AES-256-CBC", nullptr);
  if (!s->ticket_cipher_) return failure("cannot fetch AES-256-CBC for session tickets");
  if (!s->rotate_ticket_key(now_us)) return failure("cannot make a session ticket key");
  s->rotations_ = 0;
  SSL_CTX_set_app_data(s->ctx_, s.get());
  if (!SSL_CTX_set_tlsext_ticket_key_evp_cb(s->ctx_, ticket_key_callback)) {
    return failure("cannot install the session ticket key callback");
  }
  s->records_ = record_layer(config.protocol);
  return s;
}

SpareSsls::~SpareSsls() { clear(); }

void SpareSsls::clear() noexcept {
  for (SSL* s : ssl) SSL_free(s);
  ssl.clear();
}

ServerContext::~ServerContext() {
  spares_->clear();
  spares_->open = false;
  OPENSSL_cleanse(&current_, sizeof current_);
  OPENSSL_cleanse(&previous_, sizeof previous_);
  if (!ticket_secret_.empty()) OPENSSL_cleanse(ticket_secret_.data(), ticket_secret_.size());
  EVP_CIPHER_free(ticket_cipher_);
  SSL_CTX_free(ctx_);
}

bool ServerContext::derive_ticket_key(uint64_t generation, TicketKey* out) const {
  // Three HMAC-SHA256 outputs, one per part, each keyed by the secret over a label and the
  // generation: knowing one key (or name) tells nothing of another.
  auto part = [&](const char* label, uint8_t* dst, size_t n) {
    uint8_t data[32] = {};
    const size_t label_len = std::strlen(label);
    std::memcpy(data, label, label_len);
    for (int i = 0; i < 8; ++i) data[label_len + static_cast<size_t>(i)] = static_cast<uint8_t>(generation >> (56 - 8 * i));
    uint8_t mac[32];
    size_t mac_len = 0;
    if (EVP_Q_mac(library_, "HMAC", nullptr, "SHA256", nullptr, ticket_secret_.data(), ticket_secret_.size(), data,
                  label_len + 8, mac, sizeof mac, &mac_len) == nullptr ||
        mac_len < n) {
      return false;
    }
    std::memcpy(dst, mac, n);
    OPENSSL_cleanse(mac, sizeof mac);
    return true;
  };
  return part("dotgate tk name", out->name.data(), out->name.size()) &&
         part("dotgate tk aes", out->aes_key.data(), out->aes_key.size()) &&
         part("dotgate tk hmac", out->hmac_key.data(), out->hmac_key.size());
}

bool ServerContext::rotate_ticket_key(uint64_t now_us) {
  TicketKey next;
  const bool made = ticket_secret_.empty()
                        ? RAND_bytes_ex(library_, next.name.data(), next.name.size(), 0) == 1 &&
                              RAND_priv_bytes_ex(library_, next.aes_key.data(), next.aes_key.size(), 0) == 1 &&
                              RAND_priv_bytes_ex(library_, next.hmac_key.data(), next.hmac_key.size(), 0) == 1
                        : derive_ticket_key(key_generation_, &next);
  if (!made) {
    OPENSSL_cleanse(&next, sizeof next);
    ERR_clear_error();
    return false;
  }
  next.valid = true;
  ++key_generation_;
  previous_ = current_;
  current_ = next;
  OPENSSL_cleanse(&next, sizeof next);
  last_rotation_us_ = now_us;
  ++rotations_;
  return true;
}

void ServerContext::advance(uint64_t now_us) {
  if (rotation_us_ != 0 && now_us >= last_rotation_us_ + rotation_us_) rotate_ticket_key(now_us);
}

int ServerContext::ticket_key_callback(SSL* ssl, unsigned char key_name[16], unsigned char* iv,
                                       EVP_CIPHER_CTX* cipher, EVP_MAC_CTX* mac, int encrypt) {
  auto* self = static_cast<ServerContext*>(SSL_CTX_get_app_data(SSL_get_SSL_CTX(ssl)));
  const int r = self->ticket_key(key_name, iv, cipher, mac, encrypt);
  // TLS 1.3 tickets are for one use (RFC 8446 C.4; OpenSSL's client marks a ticket used once
  // it resumed with it), and OpenSSL's server issues a new one on resumption only when told
  // to renew: so it is told to, every time.
  return r == 1 && !encrypt && SSL_version(ssl) == TLS1_3_VERSION ? 2 : r;
}

// OpenSSL's contract (SSL_CTX_set_tlsext_ticket_key_evp_cb): when encrypting, fill in the
// key name and IV and set up the cipher and MAC, return 1 (or <0 on error); when
// decrypting, return 0 for an unknown key name (a full handshake follows), 1 for the
// current key, 2 for a key that is still accepted but whose tickets should be replaced (a
// new ticket is issued).
int ServerContext::ticket_key(unsigned char key_name[16], unsigned char* iv, EVP_CIPHER_CTX* cipher,
                              EVP_MAC_CTX* mac, int encrypt) {
  const TicketKey* key = nullptr;
  int result = 1;
  if (encrypt) {
    key = &current_;
    std::memcpy(key_name, key->name.data(), key->name.size());
    if (RAND_bytes_ex(library_, iv, EVP_CIPHER_get_iv_length(ticket_cipher_), 0) != 1) return -1;
  } else if (current_.valid && std::memcmp(key_name, current_.name.data(), 16) == 0) {
    key = &current_;
  } else if (previous_.valid && std::memcmp(key_name, previous_.name.data(), 16) == 0) {
    key = &previous_;
    result = 2;
  } else {
    return 0;
  }
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_octet_string(OSSL_MAC_PARAM_KEY, const_cast<uint8_t*>(key->hmac_key.data()),
                                        key->hmac_key.size()),
      OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, const_cast<char*>("SHA256"), 0),
      OSSL_PARAM_construct_end(),
  };
  if (!EVP_MAC_CTX_set_params(mac, params)) return -1;
  const int ok = encrypt ? EVP_EncryptInit_ex(cipher, ticket_cipher_, nullptr, key->aes_key.data(), iv)
                         : EVP_DecryptInit_ex(cipher, ticket_cipher_, nullptr, key->aes_key.data(), iv);
  return ok == 1 ? result : -1;
}

}  // namespace dotgate::tls
