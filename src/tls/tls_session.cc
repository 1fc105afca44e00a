#include "tls/tls_session.h"

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include <cstring>

#include "tls/record_channel.h"

namespace dotgate::tls {

const char* to_string(TlsState s) noexcept {
  switch (s) {
    case TlsState::kHandshaking: return "handshaking";
    case TlsState::kEstablished: return "established";
    case TlsState::kClosed: return "closed";
    case TlsState::kFailed: return "failed";
  }
  return "?";
}

const char* to_string(TlsResult r) noexcept {
  switch (r) {
    case TlsResult::kDone: return "done";
    case TlsResult::kWantInput: return "want-input";
    case TlsResult::kWantOutput: return "want-output";
    case TlsResult::kClosed: return "closed";
    case TlsResult::kFailed: return "failed";
  }
  return "?";
}

namespace {

// --- the BIO over a CipherStream ---------------------------------------------------------
// Reads and writes go straight between OpenSSL's record buffers and the stream. "No bytes
// now" is a retry (OpenSSL reports WANT_READ / WANT_WRITE); the stream's end is EOF, which
// OpenSSL reports as "unexpected eof while reading" unless close_notify came first.

CipherStream* stream_of(BIO* b) { return static_cast<CipherStream*>(BIO_get_data(b)); }

int stream_write(BIO* b, const char* data, size_t len, size_t* written) {
  BIO_clear_retry_flags(b);
  const size_t n = stream_of(b)->send(reinterpret_cast<const uint8_t*>(data), len);
  *written = n;
  if (n == 0) {
    BIO_set_retry_write(b);
    return 0;
  }
  return 1;
}

int stream_read(BIO* b, char* out, size_t cap, size_t* got) {
  BIO_clear_retry_flags(b);
  CipherStream* s = stream_of(b);
  const size_t n = s->receive(reinterpret_cast<uint8_t*>(out), cap);
  *got = n;
  if (n == 0) {
    if (!s->ended()) BIO_set_retry_read(b);
    return 0;
  }
  return 1;
}

long stream_ctrl(BIO* b, int cmd, long, void*) {
  switch (cmd) {
    case BIO_CTRL_FLUSH: return 1;  // every write already went to the stream
    case BIO_CTRL_EOF: return stream_of(b)->ended() ? 1 : 0;
    default: return 0;
  }
}

int stream_create(BIO* b) {
  BIO_set_init(b, 1);
  return 1;
}

// One method for the process, made on first use (C++ static initialisation is
// thread-safe); it lives until exit.
const BIO_METHOD* stream_method() {
  static BIO_METHOD* method = [] {
    BIO_METHOD* m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "dotgate cipher stream");
    if (m) {
      BIO_meth_set_write_ex(m, stream_write);
      BIO_meth_set_read_ex(m, stream_read);
      BIO_meth_set_ctrl(m, stream_ctrl);
      BIO_meth_set_create(m, stream_create);
    }
    return m;
  }();
  return method;
}

// Verification errors that only say the chain does not reach a trust anchor. With pins
// alone they are expected; every other error (dates, signatures, purpose) still fails.
bool is_trust_anchor_error(int e) {
  switch (e) {
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
    case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
    case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
    case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
    case X509_V_ERR_CERT_UNTRUSTED:
      return true;
    default:
      return false;
  }
}

TlsSession* session_of(SSL* ssl) { return static_cast<TlsSession*>(SSL_get_app_data(ssl)); }

SSL* ssl_of(X509_STORE_CTX* store) {
  return static_cast<SSL*>(X509_STORE_CTX_get_ex_data(store, SSL_get_ex_data_X509_STORE_CTX_idx()));
}

}  // namespace

// --- creation ----------------------------------------------------------------------------

std::variant<std::unique_ptr<TlsSession>, TlsError> TlsSession::make(SSL_CTX* ctx, OSSL_LIB_CTX* library,
                                                                      CipherStream& stream, SSL* reuse) {
  ERR_clear_error();
  std::unique_ptr<TlsSession> s(new TlsSession());
  s->ssl_ = reuse;  // from here on the session frees it
  const BIO_METHOD* method = stream_method();
  if (!method) return TlsError{"cannot make the stream BIO method: " + take_openssl_errors()};
  if (reuse) {
    // What a caller may have changed through native() goes back to the context's settings.
    SSL_clear_options(reuse, SSL_get_options(reuse));
    SSL_set_options(reuse, SSL_CTX_get_options(ctx));
    SSL_clear_mode(reuse, SSL_get_mode(reuse));
    SSL_set_mode(reuse, SSL_CTX_get_mode(ctx));
  } else {
    s->ssl_ = SSL_new(ctx);
  }
  if (!s->ssl_) return TlsError{"SSL_new: " + take_openssl_errors()};
  BIO* bio = BIO_new_ex(library, method);
  if (!bio) return TlsError{"BIO_new: " + take_openssl_errors()};
  BIO_set_data(bio, &stream);
  s->stream_ = &stream;
  s->library_ = library;
  SSL_set_bio(s->ssl_, bio, bio);  // one BIO both ways: the SSL takes the one reference
  SSL_set_app_data(s->ssl_, s.get());
  return s;
}

std::variant<std::unique_ptr<TlsSession>, TlsError> TlsSession::client(ClientContext& context, CipherStream& stream,
                                                                       const ClientAuth& auth,
                                                                       uint32_t upstream_key) {
  if (auth.name.empty() && auth.pins.empty()) {
    return TlsError{"no authentication name and no SPKI pin: the upstream cannot be authenticated (strict mode)"};
  }
  auto made = make(context.native(), context.library(), stream);
  if (std::holds_alternative<TlsError>(made)) return made;
  TlsSession& s = *std::get<std::unique_ptr<TlsSession>>(made);
  s.client_ = &context;
  s.upstream_key_ = upstream_key;
  s.auth_ = auth;
  s.auth_id_ = auth.name;
  for (const SpkiSha256& pin : auth.pins) {
    s.auth_id_.push_back('\n');
    s.auth_id_.append(reinterpret_cast<const char*>(pin.data()), pin.size());
  }
  // The context's callbacks lead back to the session through the SSL's app data. Setting
  // them is two stores into the context; doing it here keeps the context ignorant of
  // sessions.
  SSL_CTX_set_cert_verify_callback(context.native(), verify_chain, nullptr);
  SSL_CTX_sess_set_new_cb(context.native(), new_session);
  s.watch_records(context.records());
  SSL_set_connect_state(s.ssl_);
  if (!auth.name.empty()) {
    // A name that is an address literal is checked against the IP SANs and not sent as
    // SNI (RFC 6066 3: SNI carries host names only).
    ASN1_OCTET_STRING* ip = a2i_IPADDRESS(auth.name.c_str());
    ERR_clear_error();
    bool ok = false;
    if (ip) {
      ASN1_OCTET_STRING_free(ip);
      ok = X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(s.ssl_), auth.name.c_str()) == 1;
    } else {
      // Names only from the subjectAltName, never the subject's CN (RFC 6125 6.4.4, which
      // OpenSSL otherwise falls back to); a wildcard only as a whole left-most label.
      SSL_set_hostflags(s.ssl_, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS | X509_CHECK_FLAG_NEVER_CHECK_SUBJECT);
      ok = SSL_set1_host(s.ssl_, auth.name.c_str()) == 1 && SSL_set_tlsext_host_name(s.ssl_, auth.name.c_str()) == 1;
    }
    if (!ok) return TlsError{"authentication name '" + auth.name + "': " + take_openssl_errors()};
  }
  SSL_set_verify(s.ssl_, SSL_VERIFY_PEER, verify_callback);
  if (SSL_SESSION* stored = context.find_session(upstream_key, s.auth_id_)) {
    if (SSL_set_session(s.ssl_, stored) == 1) s.offered_session_ = true;
    ERR_clear_error();
  }
  return made;
}

std::variant<std::unique_ptr<TlsSession>, TlsError> TlsSession::server(ServerContext& context, CipherStream& stream) {
  // An SSL a finished connection left behind saves SSL_new and the rest of SSL_free that
  // SSL_clear does not do: about 13 k instructions, half a percent of a handshake.
  SpareSsls& spares = *context.spares();
  SSL* reuse = nullptr;
  if (!spares.ssl.empty()) {
    reuse = spares.ssl.back();
    spares.ssl.pop_back();
  }
  auto made = make(context.native(), context.library(), stream, reuse);
  if (std::holds_alternative<TlsError>(made)) return made;
  TlsSession& s = *std::get<std::unique_ptr<TlsSession>>(made);
  s.spares_ = context.spares();
  s.watch_records(context.records());
  SSL_set_accept_state(s.ssl_);
  return made;
}

// Readies a server session's SSL for the next client: the connection's session (and its
// secrets), the BIO over this stream, the record buffers and every per-connection state go
// (SSL_clear). Only sessions that completed a handshake and did not fail come here, so no
// broken state is carried over; the next ClientHello starts from scratch (OpenSSL resets
// each extension's state as it parses one: SNI, ALPN, key shares, PSK modes...).
bool TlsSession::recycle(SSL* ssl) noexcept {
  SSL_set_app_data(ssl, nullptr);
  SSL_set_msg_callback(ssl, nullptr);
  SSL_set_bio(ssl, nullptr, nullptr);  // frees our BIO; nothing points at the stream now
  const bool ok = SSL_set_session(ssl, nullptr) == 1 && SSL_free_buffers(ssl) == 1 && SSL_clear(ssl) == 1;
  if (!ok) ERR_clear_error();
  return ok;
}

TlsSession::~TlsSession() {
  client_secret_.cleanse();
  server_secret_.cleanse();
  channel_.reset();
  release_ssl();
}

void TlsSession::release_ssl() noexcept {
  if (!ssl_) return;
  SSL* ssl = ssl_;
  ssl_ = nullptr;
  // Without SENT_SHUTDOWN, SSL_free takes the connection for a broken one and marks its
  // session unusable, which would throw away the ticket the next connection resumes with.
  // A failed session keeps that verdict.
  if (state_ != TlsState::kFailed) SSL_set_shutdown(ssl, SSL_get_shutdown(ssl) | SSL_SENT_SHUTDOWN);
  if (spares_ && spares_->open && spares_->ssl.size() < spares_->max &&
      (state_ == TlsState::kEstablished || state_ == TlsState::kClosed) && recycle(ssl)) {
    spares_->ssl.push_back(ssl);
    return;
  }
  SSL_free(ssl);
}

// --- certificate checks (client) ---------------------------------------------------------

int TlsSession::verify_callback(int preverify_ok, X509_STORE_CTX* store) {
  if (preverify_ok) return 1;
  const TlsSession* self = session_of(ssl_of(store));
  const bool pins_alone = self->auth_.name.empty() && !self->auth_.pins.empty();
  return pins_alone && is_trust_anchor_error(X509_STORE_CTX_get_error(store)) ? 1 : 0;
}

// Replaces OpenSSL's call to X509_verify_cert for client sessions: the usual verification
// (with verify_callback above and the host name from SSL_set1_host), then the pins against
// the chain it built. A failure here fails the handshake with an alert to the server.
int TlsSession::verify_chain(X509_STORE_CTX* store, void*) {
  TlsSession* self = session_of(ssl_of(store));
  const int ok = X509_verify_cert(store);
  if (ok <= 0) return ok;
  if (!self->auth_.pins.empty() && !self->chain_matches_pin(store)) {
    self->pin_mismatch_ = true;
    X509_STORE_CTX_set_error(store, X509_V_ERR_APPLICATION_VERIFICATION);
    return 0;
  }
  // Trust-anchor errors accepted for pins alone leave their code behind; the chain is
  // authenticated, so the result says so.
  X509_STORE_CTX_set_error(store, X509_V_OK);
  return 1;
}

bool TlsSession::chain_matches_pin(X509_STORE_CTX* store) const {
  const STACK_OF(X509)* chain = X509_STORE_CTX_get0_chain(store);
  for (int i = 0; chain && i < sk_X509_num(chain); ++i) {
    const X509_PUBKEY* spki = X509_get_X509_PUBKEY(sk_X509_value(chain, i));
    uint8_t der[4096];  // SPKI of an RSA-16384 key fits
    const int len = i2d_X509_PUBKEY(spki, nullptr);
    if (len <= 0 || static_cast<size_t>(len) > sizeof der) continue;
    uint8_t* p = der;
    i2d_X509_PUBKEY(spki, &p);
    SpkiSha256 digest;
    unsigned int digest_len = 0;
    if (EVP_Digest(der, static_cast<size_t>(len), digest.data(), &digest_len, client_->sha256(), nullptr) != 1 ||
        digest_len != digest.size()) {
      continue;
    }
    for (const SpkiSha256& pin : auth_.pins) {
      if (pin == digest) return true;
    }
  }
  return false;
}

// TLS 1.2: called at the end of a full handshake; TLS 1.3: for every NewSessionTicket,
// which arrives after the handshake, through SSL_read. The latest one wins.
int TlsSession::new_session(SSL* ssl, SSL_SESSION* session) {
  TlsSession* self = session_of(ssl);
  if (!self || !self->client_ || !self->client_->session_resumption()) return 0;
  self->client_->store_session(self->upstream_key_, self->auth_id_, session);
  return 1;  // the store keeps OpenSSL's reference
}

// --- the own record layer ----------------------------------------------------------------
//
// While OpenSSL does the records, two callbacks gather what our layer needs to continue
// exactly where OpenSSL stops: the application traffic secrets (the keylog callback, the
// only way OpenSSL 3.0 gives them out) and, per direction, how many records went under
// them (the message callback: the direction's Finished is the key change, then one call
// per record). maybe_take_over() switches when nothing is left half-done inside OpenSSL.

void TlsSession::watch_records(const RecordLayerSetup& setup) {
  SSL_CTX* ctx = SSL_get_SSL_CTX(ssl_);
  // A keylog callback someone else installed (a test, a key log for Wireshark) wins:
  // without the secrets the session stays on OpenSSL.
  const auto installed = SSL_CTX_get_keylog_callback(ctx);
  if (setup.engine && (installed == nullptr || installed == keylog)) {
    SSL_CTX_set_keylog_callback(ctx, keylog);
    records_ = &setup;
    SSL_set_msg_callback(ssl_, record_seen);
  } else {
    SSL_set_msg_callback(ssl_, nullptr);
  }
}

void TlsSession::keylog(const SSL* ssl, const char* line) {
  TlsSession* self = session_of(const_cast<SSL*>(ssl));
  if (!self || !self->records_) return;
  const std::string_view l(line);
  TrafficSecret* target = nullptr;
  if (l.starts_with("CLIENT_TRAFFIC_SECRET_0 ")) target = &self->client_secret_;
  if (l.starts_with("SERVER_TRAFFIC_SECRET_0 ")) target = &self->server_secret_;
  if (!target) return;
  const size_t space = l.rfind(' ');
  const std::string_view hex = l.substr(space + 1);
  if (hex.size() % 2 != 0 || hex.size() / 2 > target->bytes.size()) return;
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  for (size_t i = 0; i < hex.size() / 2; ++i) {
    const int hi = nibble(hex[2 * i]), lo = nibble(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) {
      target->cleanse();
      return;
    }
    target->bytes[i] = static_cast<uint8_t>(hi << 4 | lo);
  }
  target->len = static_cast<uint8_t>(hex.size() / 2);
}

void TlsSession::record_seen(int write_p, int, int content_type, const void* buf, size_t len, SSL* ssl, void*) {
  TlsSession* self = session_of(ssl);
  if (!self || self->channel_ || len == 0) return;
  const uint8_t first = *static_cast<const uint8_t*>(buf);
  switch (content_type) {
    case SSL3_RT_HANDSHAKE:
      if (first == SSL3_MT_FINISHED) {
        // Everything after a direction's Finished is under its application keys (TLS 1.3).
        if (write_p) {
          self->writing_app_keys_ = true;
          self->records_out_ = 0;
        } else {
          self->reading_app_keys_ = true;
          self->records_in_ = 0;
        }
      } else if (first == SSL3_MT_NEWSESSION_TICKET && !write_p) {
        ++self->tickets_in_;
      } else if (first == SSL3_MT_KEY_UPDATE) {
        self->keys_changed_ = true;
      }
      break;
    case SSL3_RT_INNER_CONTENT_TYPE:  // each record OpenSSL opened
      if (!write_p && self->reading_app_keys_) {
        ++self->records_in_;
        if (first == SSL3_RT_APPLICATION_DATA) ++self->app_records_in_;
      }
      break;
    case SSL3_RT_HEADER:  // each record OpenSSL made
      if (write_p && self->writing_app_keys_) ++self->records_out_;
      break;
    default:
      break;
  }
}

void TlsSession::maybe_take_over() {
  if (channel_ || !records_ || take_over_refused_ || state_ != TlsState::kEstablished) return;
  const SSL_CIPHER* suite = SSL_get_current_cipher(ssl_);
  const auto cipher =
      suite ? record_cipher_from_suite(SSL_CIPHER_get_protocol_id(suite)) : std::variant<RecordCipher, TlsError>();
  if (SSL_version(ssl_) != TLS1_3_VERSION || !suite || std::holds_alternative<TlsError>(cipher) || keys_changed_ ||
      close_notify_sent_ || SSL_get_shutdown(ssl_) != 0 || client_secret_.len == 0 || server_secret_.len == 0 ||
      !reading_app_keys_ || !writing_app_keys_) {
    take_over_refused_ = true;  // TLS 1.2, ChaCha20, a key update, closing: OpenSSL stays
    client_secret_.cleanse();
    server_secret_.cleanse();
    SSL_set_msg_callback(ssl_, nullptr);
    return;
  }
  // Not yet: OpenSSL holds bytes (a record read ahead, part of one to send), or a client
  // has not seen the server's first ticket or answer (tickets come right after the
  // handshake; OpenSSL must store them for resumption).
  // SSL_has_pending misses a record header read without its body (rbuf empty, the header
  // in OpenSSL's packet buffer): the read state must be "read header".
  if (SSL_in_init(ssl_) || write_blocked_ || SSL_has_pending(ssl_) != 0 ||
      std::strcmp(SSL_rstate_string(ssl_), "RH") != 0) {
    return;
  }
  if (client_ && tickets_in_ == 0 && app_records_in_ == 0) return;
  RecordChannel::Start start;
  start.cipher = std::get<RecordCipher>(cipher);
  start.client = client_ != nullptr;
  start.read_secret = client_ ? server_secret_ : client_secret_;
  start.write_secret = client_ ? client_secret_ : server_secret_;
  start.read_sequence = records_in_;
  start.write_sequence = records_out_;
  start.key_update_after_records = records_->key_update_after_records;
  auto made = RecordChannel::create(*records_->engine, library_, start);
  start.read_secret.cleanse();
  start.write_secret.cleanse();
  client_secret_.cleanse();
  server_secret_.cleanse();
  SSL_set_msg_callback(ssl_, nullptr);
  if (std::holds_alternative<TlsError>(made)) {
    take_over_refused_ = true;
    ERR_clear_error();
    return;
  }
  channel_ = std::move(std::get<std::unique_ptr<RecordChannel>>(made));
  // OpenSSL's part is over: keep what the accessors report and let the SSL go (7.6 kB
  // idle; a server's back to its context for the next client). Version and suite names
  // are OpenSSL's static strings.
  version_ = SSL_get_version(ssl_);
  cipher_name_ = SSL_CIPHER_get_name(suite);
  const unsigned char* alpn = nullptr;
  unsigned int alpn_len = 0;
  SSL_get0_alpn_selected(ssl_, &alpn, &alpn_len);
  if (alpn) alpn_.assign(reinterpret_cast<const char*>(alpn), alpn_len);
  resumed_ = SSL_session_reused(ssl_) == 1;
  if (const char* sni = SSL_get_servername(ssl_, TLSEXT_NAMETYPE_host_name)) server_name_ = sni;
  release_ssl();
}

TlsResult TlsSession::channel_result(TlsResult r) {
  if (r == TlsResult::kFailed) return fail(channel_->failure());
  if (r == TlsResult::kClosed && channel_->close_notify_received()) state_ = TlsState::kClosed;
  return r;
}

RecordChannelStats TlsSession::record_stats() const noexcept {
  return channel_ ? channel_->stats() : RecordChannelStats{};
}

bool TlsSession::update_keys(bool request_peer) noexcept {
  if (state_ != TlsState::kEstablished || close_notify_sent_) return false;
  maybe_take_over();
  if (channel_) {
    channel_->update_keys(request_peer);
    return true;
  }
  const bool ok = SSL_key_update(ssl_, request_peer ? SSL_KEY_UPDATE_REQUESTED : SSL_KEY_UPDATE_NOT_REQUESTED) == 1;
  if (!ok) ERR_clear_error();
  return ok;
}

// --- driving -----------------------------------------------------------------------------

TlsResult TlsSession::fail(std::string reason) {
  state_ = TlsState::kFailed;
  failure_ = std::move(reason);
  ERR_clear_error();
  // A resumption that failed, or a session that was never verified, is not offered again.
  if (client_ && offered_session_) client_->forget_session(upstream_key_);
  return TlsResult::kFailed;
}

TlsResult TlsSession::result_of(int ret) {
  const int e = SSL_get_error(ssl_, ret);
  switch (e) {
    case SSL_ERROR_WANT_READ:
      return TlsResult::kWantInput;
    case SSL_ERROR_WANT_WRITE:
      return TlsResult::kWantOutput;
    case SSL_ERROR_ZERO_RETURN:
      state_ = TlsState::kClosed;
      return TlsResult::kClosed;
    case SSL_ERROR_SSL: {
      const long v = SSL_get_verify_result(ssl_);
      if (client_ && pin_mismatch_) {
        return fail("certificate verify failed: no certificate in the chain matches a pinned SPKI");
      }
      if (client_ && v != X509_V_OK) {
        return fail(std::string("certificate verify failed: ") + X509_verify_cert_error_string(v));
      }
      return fail(take_openssl_errors());
    }
    case SSL_ERROR_SYSCALL:
      // The stream BIO sets no errno: this is a stream that ended where OpenSSL did not
      // expect it to, or an error OpenSSL queued.
      return fail(ERR_peek_error() ? take_openssl_errors() : "the byte stream ended unexpectedly");
    default:
      // WANT_X509_LOOKUP, WANT_ASYNC, WANT_CLIENT_HELLO_CB, ...: no callback or mode that
      // produces them is installed.
      return fail("unexpected SSL_get_error result " + std::to_string(e));
  }
}

TlsResult TlsSession::handshake() {
  if (state_ == TlsState::kFailed) return TlsResult::kFailed;
  if (state_ != TlsState::kHandshaking) return TlsResult::kDone;
  const int r = SSL_do_handshake(ssl_);
  if (r == 1) {
    state_ = TlsState::kEstablished;
    return TlsResult::kDone;
  }
  return result_of(r);
}

TlsResult TlsSession::read(uint8_t* out, size_t cap, size_t* got) {
  *got = 0;
  if (state_ == TlsState::kFailed) return TlsResult::kFailed;
  if (state_ == TlsState::kClosed) return TlsResult::kClosed;
  maybe_take_over();
  if (channel_) return channel_result(channel_->read(*stream_, out, cap, got));
  // Nothing can come of a call into OpenSSL when the stream has no bytes, OpenSSL holds no
  // record it read ahead (or plaintext left over), and it has nothing waiting to be sent:
  // it would only ask the stream, get nothing and say WANT_READ. Skipping that is about a
  // twentieth of a forwarded query's instructions (the caller reads until kWantInput after
  // every arrival). The stream's end still goes to OpenSSL (truncation or close_notify).
  if (state_ == TlsState::kEstablished && !stream_->has_input() && !stream_->ended() && SSL_has_pending(ssl_) == 0 &&
      SSL_want(ssl_) != SSL_WRITING) {
    return TlsResult::kWantInput;
  }
  const int r = SSL_read_ex(ssl_, out, cap, got);
  if (state_ == TlsState::kHandshaking && SSL_is_init_finished(ssl_)) state_ = TlsState::kEstablished;
  if (r == 1) return TlsResult::kDone;
  *got = 0;
  const TlsResult res = result_of(r);
  if (res == TlsResult::kWantOutput) write_blocked_ = true;
  return res;
}

TlsResult TlsSession::write(const uint8_t* data, size_t len, size_t* taken) {
  *taken = 0;
  if (state_ == TlsState::kFailed) return TlsResult::kFailed;
  if (close_notify_sent_) return TlsResult::kClosed;
  maybe_take_over();
  if (channel_) return channel_result(channel_->write(*stream_, data, len, taken));
  size_t total = 0;
  // With partial writes OpenSSL returns after each record it handed to the stream.
  while (total < len) {
    size_t n = 0;
    const int r = SSL_write_ex(ssl_, data + total, len - total, &n);
    if (state_ == TlsState::kHandshaking && SSL_is_init_finished(ssl_)) state_ = TlsState::kEstablished;
    if (r != 1) {
      *taken = total;
      const TlsResult res = result_of(r);
      write_blocked_ = res == TlsResult::kWantOutput;
      return res;
    }
    total += n;
  }
  *taken = total;
  write_blocked_ = false;
  return TlsResult::kDone;
}

TlsResult TlsSession::shutdown() {
  if (state_ == TlsState::kFailed) return TlsResult::kFailed;
  if (close_notify_sent_) return TlsResult::kDone;
  if (channel_) {
    const TlsResult r = channel_result(channel_->shutdown(*stream_));
    close_notify_sent_ = r == TlsResult::kDone;
    return r;
  }
  // Before the handshake completes there is no session to close: the caller just drops
  // the connection.
  if (!SSL_is_init_finished(ssl_)) return TlsResult::kDone;
  const int r = SSL_shutdown(ssl_);
  if (r >= 0) {
    close_notify_sent_ = true;
    return TlsResult::kDone;
  }
  return result_of(r);
}

bool TlsSession::release_buffers() noexcept {
  return channel_ ? channel_->release_buffers() : SSL_free_buffers(ssl_) == 1;
}

bool TlsSession::output_pending() const noexcept { return channel_ && channel_->output_pending(); }

bool TlsSession::close_notify_sent() const noexcept { return close_notify_sent_; }

bool TlsSession::close_notify_received() const noexcept {
  if (channel_) return channel_->close_notify_received();
  return ssl_ && (SSL_get_shutdown(ssl_) & SSL_RECEIVED_SHUTDOWN) != 0;
}

// --- after the handshake -----------------------------------------------------------------

std::string_view TlsSession::version() const noexcept { return ssl_ ? SSL_get_version(ssl_) : version_; }

std::string_view TlsSession::cipher() const noexcept {
  if (!ssl_) return cipher_name_;
  const SSL_CIPHER* c = SSL_get_current_cipher(ssl_);
  return c ? SSL_CIPHER_get_name(c) : "";
}

std::string_view TlsSession::alpn() const noexcept {
  if (!ssl_) return alpn_;
  const unsigned char* p = nullptr;
  unsigned int len = 0;
  SSL_get0_alpn_selected(ssl_, &p, &len);
  return p ? std::string_view(reinterpret_cast<const char*>(p), len) : std::string_view();
}

bool TlsSession::resumed() const noexcept { return ssl_ ? SSL_session_reused(ssl_) == 1 : resumed_; }

std::string_view TlsSession::server_name() const noexcept {
  if (!ssl_) return server_name_;
  const char* sni = SSL_get_servername(ssl_, TLSEXT_NAMETYPE_host_name);
  return sni ? sni : "";
}

std::string_view TlsSession::verified_name() const noexcept {
  // Once established, the configured name is the one that was verified: in this handshake,
  // or in the one that made the resumed session (stored sessions are offered only under
  // the same name and pins).
  if (!client_ || state_ == TlsState::kHandshaking || state_ == TlsState::kFailed) return {};
  return auth_.name;
}

}  // namespace dotgate::tls
