// Helpers for the src/tls tests: throwaway certificates made at run time through the
// OpenSSL API (ECDSA P-256), a temporary directory for the PEM files the contexts read,
// and an in-memory byte stream that joins a client session to a server session, with
// knobs for chunk size, room per round and delivery delay.
#pragma once

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "tls/tls_context.h"
#include "tls/tls_session.h"
#include "upstream/upstream_spec.h"

namespace dotgate::tls::testutil {

struct X509Free {
  void operator()(X509* x) const noexcept { X509_free(x); }
};
struct KeyFree {
  void operator()(EVP_PKEY* k) const noexcept { EVP_PKEY_free(k); }
};
using X509Ptr = std::unique_ptr<X509, X509Free>;
using KeyPtr = std::unique_ptr<EVP_PKEY, KeyFree>;

inline KeyPtr make_key() { return KeyPtr(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256")); }

constexpr long kDay = 24 * 3600;

struct CertSpec {
  std::string common_name;
  bool ca = false;
  std::string san;                 // e.g. "DNS:dns.example.test,IP:192.0.2.53"; empty: none
  long not_before_s = -kDay;       // relative to now
  long not_after_s = 30 * kDay;
};

inline CertSpec spec(std::string common_name, bool ca = false, std::string san = "", long not_before_s = -kDay,
                     long not_after_s = 30 * kDay) {
  return CertSpec{std::move(common_name), ca, std::move(san), not_before_s, not_after_s};
}

// Signed by issuer/issuer_key, or self-signed when they are null.
inline X509Ptr make_cert(const CertSpec& spec, EVP_PKEY* key, X509* issuer = nullptr,
                         EVP_PKEY* issuer_key = nullptr) {
  static long serial = 1;
  X509Ptr x(X509_new());
  X509_set_version(x.get(), X509_VERSION_3);
  ASN1_INTEGER_set(X509_get_serialNumber(x.get()), serial++);
  X509_gmtime_adj(X509_getm_notBefore(x.get()), spec.not_before_s);
  X509_gmtime_adj(X509_getm_notAfter(x.get()), spec.not_after_s);
  X509_set_pubkey(x.get(), key);
  X509_NAME* name = X509_get_subject_name(x.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(spec.common_name.c_str()), -1, -1, 0);
  X509_set_issuer_name(x.get(), issuer ? X509_get_subject_name(issuer) : name);
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer ? issuer : x.get(), x.get(), nullptr, nullptr, 0);
  auto add = [&](int nid, const std::string& value) {
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
    EXPECT_NE(ext, nullptr) << value;
    if (!ext) return;
    X509_add_ext(x.get(), ext, -1);
    X509_EXTENSION_free(ext);
  };
  add(NID_subject_key_identifier, "hash");
  if (spec.ca) {
    add(NID_basic_constraints, "critical,CA:TRUE");
    add(NID_key_usage, "critical,keyCertSign,cRLSign");
  } else {
    add(NID_basic_constraints, "critical,CA:FALSE");
    add(NID_key_usage, "critical,digitalSignature");
    add(NID_ext_key_usage, "serverAuth");
  }
  if (issuer) add(NID_authority_key_identifier, "keyid:always");
  if (!spec.san.empty()) add(NID_subject_alt_name, spec.san);
  EXPECT_GT(X509_sign(x.get(), issuer_key ? issuer_key : key, EVP_sha256()), 0);
  return x;
}

inline std::string pem(X509* x) {
  BIO* b = BIO_new(BIO_s_mem());
  PEM_write_bio_X509(b, x);
  char* p = nullptr;
  const long n = BIO_get_mem_data(b, &p);
  std::string s(p, static_cast<size_t>(n));
  BIO_free(b);
  return s;
}

inline std::string pem(EVP_PKEY* k) {
  BIO* b = BIO_new(BIO_s_mem());
  PEM_write_bio_PrivateKey(b, k, nullptr, nullptr, 0, nullptr, nullptr);
  char* p = nullptr;
  const long n = BIO_get_mem_data(b, &p);
  std::string s(p, static_cast<size_t>(n));
  BIO_free(b);
  return s;
}

// The pin as an operator writes it (base64 of SHA-256 over the DER SubjectPublicKeyInfo),
// computed here with i2d_PUBKEY + EVP_Q_digest, then parsed by the config's own parser.
inline std::string spki_pin_base64(X509* x) {
  unsigned char* der = nullptr;
  const int len = i2d_PUBKEY(X509_get0_pubkey(x), &der);
  unsigned char md[32];
  size_t md_len = 0;
  EVP_Q_digest(nullptr, "SHA256", nullptr, der, static_cast<size_t>(len), md, &md_len);
  OPENSSL_free(der);
  unsigned char b64[64];
  const int n = EVP_EncodeBlock(b64, md, 32);
  return std::string(reinterpret_cast<char*>(b64), static_cast<size_t>(n));
}

inline SpkiSha256 spki_pin(X509* x) {
  const auto r = upstream::parse_spki_pin(spki_pin_base64(x));
  EXPECT_TRUE(std::holds_alternative<upstream::SpkiPin>(r));
  return std::holds_alternative<upstream::SpkiPin>(r) ? std::get<upstream::SpkiPin>(r) : SpkiSha256{};
}

class TempDir {
 public:
  TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "dotgate-tls-XXXXXX").string();
    path_ = mkdtemp(pattern.data());
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  std::string write(const std::string& name, const std::string& content) const {
    const std::string p = path_ + "/" + name;
    std::ofstream(p, std::ios::binary) << content;
    return p;
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// The certificates of one test world. Trusted: root -> intermediate -> leaf (the usual
// shape of a public resolver's chain). Variants of the leaf for every refusal, and a
// second, untrusted root.
inline constexpr const char* kName = "dns.example.test";
inline constexpr const char* kAddress = "192.0.2.53";

struct Pki {
  KeyPtr root_key = make_key(), inter_key = make_key(), leaf_key = make_key(), rogue_key = make_key();
  X509Ptr root = make_cert(spec("dotgate test root", true), root_key.get());
  X509Ptr inter = make_cert(spec("dotgate test intermediate", true), inter_key.get(), root.get(), root_key.get());
  X509Ptr rogue_root = make_cert(spec("rogue root", true), rogue_key.get());
  const std::string san = std::string("DNS:") + kName + ",IP:" + kAddress;

  // A leaf under the intermediate; an empty `names` gives the usual SANs.
  X509Ptr leaf(const std::string& names = "", long not_before_s = -kDay, long not_after_s = 30 * kDay) const {
    return make_cert(spec(kName, false, names.empty() ? san : names, not_before_s, not_after_s), leaf_key.get(),
                     inter.get(), inter_key.get());
  }
  // Writes a server's chain (the leaf, then `extra`, if any) and key; returns {chain, key}.
  std::pair<std::string, std::string> server_files(const TempDir& dir, X509* leaf_cert, X509* extra,
                                                   const std::string& tag) const {
    std::string chain = pem(leaf_cert);
    if (extra) chain += pem(extra);
    return {dir.write(tag + "-chain.pem", chain), dir.write(tag + "-key.pem", pem(leaf_key.get()))};
  }
};

// --- in-memory byte streams --------------------------------------------------------------

// One direction's receiving end and the knobs of the path into it.
struct Endpoint : CipherStream {
  Endpoint* peer = nullptr;
  std::vector<uint8_t> inbox;      // arrived, not yet received
  std::vector<uint8_t> in_flight;  // sent by the peer, not yet arrived
  size_t chunk = SIZE_MAX;         // most bytes per receive() or send() call
  size_t room_per_round = SIZE_MAX;  // bytes send() accepts per pump round
  size_t deliver_per_round = SIZE_MAX;  // bytes moved from in_flight to the peer's inbox per round
  size_t room = SIZE_MAX;
  bool fin = false;                // the peer's TCP FIN arrived
  bool tells_input = true;         // has_input() says whether the inbox holds bytes
  uint64_t moved = 0;
  uint64_t receive_calls = 0;

  size_t receive(uint8_t* out, size_t cap) override {
    ++receive_calls;
    const size_t n = std::min({cap, chunk, inbox.size()});
    std::copy(inbox.begin(), inbox.begin() + static_cast<long>(n), out);
    inbox.erase(inbox.begin(), inbox.begin() + static_cast<long>(n));
    moved += n;
    return n;
  }
  size_t send(const uint8_t* data, size_t len) override {
    const size_t n = std::min({len, chunk, room});
    room -= n;
    peer->in_flight.insert(peer->in_flight.end(), data, data + n);
    moved += n;
    return n;
  }
  bool ended() const override { return fin && inbox.empty() && in_flight.empty(); }
  bool has_input() const override { return tells_input ? !inbox.empty() : CipherStream::has_input(); }
  // One round of the path: refills our send room and delivers what is due to us.
  void round() {
    room = room_per_round;
    const size_t n = std::min(deliver_per_round, in_flight.size());
    inbox.insert(inbox.end(), in_flight.begin(), in_flight.begin() + static_cast<long>(n));
    in_flight.erase(in_flight.begin(), in_flight.begin() + static_cast<long>(n));
    moved += n;
  }
};

// A session and what the test wants it to send and has received.
struct Side {
  Endpoint end;
  std::unique_ptr<TlsSession> session;
  std::vector<uint8_t> to_send;
  std::vector<uint8_t> received;
  bool saw_closed = false;
  bool close_requested = false;

  void step() {
    if (!session || session->state() == TlsState::kFailed) return;
    if (session->state() == TlsState::kHandshaking) session->handshake();
    if (session->state() == TlsState::kHandshaking || session->state() == TlsState::kFailed) return;
    if (!to_send.empty()) {
      size_t taken = 0;
      session->write(to_send.data(), to_send.size(), &taken);
      to_send.erase(to_send.begin(), to_send.begin() + static_cast<long>(taken));
    }
    if (close_requested && to_send.empty()) session->shutdown();
    uint8_t buf[4096];
    for (;;) {
      size_t got = 0;
      const TlsResult r = session->read(buf, sizeof buf, &got);
      received.insert(received.end(), buf, buf + got);
      if (r == TlsResult::kClosed) saw_closed = true;
      if (r != TlsResult::kDone) break;
    }
  }
};

// A client and a server session joined by two endpoints.
struct Link {
  Side client, server;
  Link() {
    client.end.peer = &server.end;
    server.end.peer = &client.end;
  }
  // Runs rounds until nothing moves any more (or `max_rounds`); returns the rounds run.
  size_t pump(size_t max_rounds = 200000) {
    size_t rounds = 0;
    for (; rounds < max_rounds; ++rounds) {
      const uint64_t before = client.end.moved + server.end.moved;
      client.end.round();
      server.end.round();
      client.step();
      server.step();
      const bool quiet = client.end.moved + server.end.moved == before;
      if (quiet && client.end.in_flight.empty() && server.end.in_flight.empty()) break;
    }
    return rounds;
  }
  bool established() const {
    return client.session && server.session && client.session->state() == TlsState::kEstablished &&
           server.session->state() == TlsState::kEstablished;
  }
};

}  // namespace dotgate::tls::testutil
