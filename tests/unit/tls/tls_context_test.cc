// Tests for tls/tls_context.h: building the contexts, and the errors that name what failed.
#include "tls/tls_context.h"

#include <gtest/gtest.h>
#include <openssl/err.h>

#include "tls_fixture.h"

namespace dotgate::tls {
namespace {

using namespace testutil;

class TlsContextTest : public TlsFixture {
 protected:
  std::string server_error(ServerConfig c) { return error_of(ServerContext::create(c, server_lib.get(), now_us)); }
  std::string client_error(ClientConfig c) { return error_of(ClientContext::create(c, client_lib.get())); }
};

TEST_F(TlsContextTest, EachWorkerItsOwnLibraryContext) {
  auto cc = client_context();
  auto sc = server_context();
  ASSERT_NE(cc, nullptr);
  ASSERT_NE(sc, nullptr);
  EXPECT_EQ(cc->library(), client_lib.get());
  EXPECT_EQ(sc->library(), server_lib.get());
  EXPECT_NE(client_lib.get(), server_lib.get());
  EXPECT_EQ(SSL_CTX_get_options(cc->native()) & SSL_OP_NO_RENEGOTIATION, SSL_OP_NO_RENEGOTIATION);
  EXPECT_EQ(SSL_CTX_get_options(sc->native()) & SSL_OP_NO_RENEGOTIATION, SSL_OP_NO_RENEGOTIATION);
  EXPECT_EQ(SSL_CTX_get_min_proto_version(cc->native()), TLS1_2_VERSION);
  EXPECT_EQ(SSL_CTX_get_max_proto_version(cc->native()), TLS1_3_VERSION);
  // No allocation per record: buffers are released explicitly when idle.
  EXPECT_EQ(SSL_CTX_get_mode(cc->native()) & SSL_MODE_RELEASE_BUFFERS, 0u);
}

TEST_F(TlsContextTest, DefaultCaBundleLoads) {
  // The system bundle, as in production (Debian's ca-certificates).
  ClientConfig c;
  auto r = ClientContext::create(c, client_lib.get());
  if (auto* e = std::get_if<TlsError>(&r)) GTEST_SKIP() << e->message;
  EXPECT_GT(sk_X509_OBJECT_num(X509_STORE_get0_objects(SSL_CTX_get_cert_store(std::get<0>(r)->native()))), 10);
}

TEST_F(TlsContextTest, MissingCaFileNamed) {
  ClientConfig c;
  c.ca_file = dir.path() + "/nope.pem";
  const std::string e = client_error(c);
  EXPECT_NE(e.find("cannot load CA certificates from '" + c.ca_file + "'"), std::string::npos) << e;
  EXPECT_NE(e.find("No such file or directory"), std::string::npos) << e;
}

TEST_F(TlsContextTest, BadCipherSettingsNamed) {
  ClientConfig c;
  c.ca_file = ca_file;
  c.protocol.tls12_ciphers = "NOT-A-CIPHER";
  EXPECT_EQ(client_error(c), "TLS 1.2 cipher list 'NOT-A-CIPHER': no cipher match");
  c.protocol.tls12_ciphers = "";
  c.protocol.tls13_ciphersuites = "TLS_NOPE";
  EXPECT_EQ(client_error(c), "TLS 1.3 ciphersuites 'TLS_NOPE': no cipher match");
  c.protocol.tls13_ciphersuites = "";
  c.protocol.min_version = TlsVersion::kTls13;
  c.protocol.max_version = TlsVersion::kTls12;
  EXPECT_EQ(client_error(c), "min_version is above max_version");
}

TEST_F(TlsContextTest, CertificateAndKeyErrorsNameTheFile) {
  X509Ptr leaf = pki.leaf();
  const auto [chain, key] = pki.server_files(dir, leaf.get(), pki.inter.get(), "ok");
  ServerConfig c;
  c.certificate_chain_file = dir.path() + "/missing.pem";
  c.private_key_file = key;
  std::string e = server_error(c);
  EXPECT_NE(e.find("cannot load the certificate chain from '" + c.certificate_chain_file + "'"), std::string::npos);
  EXPECT_NE(e.find("No such file or directory"), std::string::npos) << e;

  c.certificate_chain_file = dir.write("garbage.pem", "not a certificate\n");
  e = server_error(c);
  EXPECT_NE(e.find("'" + c.certificate_chain_file + "'"), std::string::npos) << e;
  EXPECT_NE(e.find("no start line"), std::string::npos) << e;

  // A key that belongs to another certificate.
  c.certificate_chain_file = chain;
  c.private_key_file = dir.write("other-key.pem", pem(pki.rogue_key.get()));
  e = server_error(c);
  EXPECT_NE(e.find("'" + c.private_key_file + "'"), std::string::npos) << e;
  EXPECT_NE(e.find("key values mismatch"), std::string::npos) << e;

  c.private_key_file = key;
  EXPECT_NE(ok(ServerContext::create(c, server_lib.get(), now_us)), nullptr);
}

TEST_F(TlsContextTest, OpenSslErrorsAreTakenOffTheQueue) {
  EXPECT_EQ(take_openssl_errors(), "unknown error");
  SSL_CTX* bad = SSL_CTX_new_ex(client_lib.get(), nullptr, TLS_client_method());
  EXPECT_EQ(SSL_CTX_set_cipher_list(bad, "NOPE"), 0);
  EXPECT_EQ(take_openssl_errors(), "no cipher match");
  EXPECT_EQ(ERR_peek_error(), 0u);
  SSL_CTX_free(bad);
}

TEST_F(TlsContextTest, SessionStoreKeepsTheLatestPerUpstream) {
  auto cc = client_context();
  EXPECT_EQ(cc->find_session(0, "a"), nullptr);
  SSL_SESSION* s1 = SSL_SESSION_new();
  SSL_SESSION* s2 = SSL_SESSION_new();
  cc->store_session(5, "a", s1);
  cc->store_session(5, "a", s2);  // frees s1
  EXPECT_EQ(cc->stored_sessions(), 1u);
  // Sessions never used are not resumable, so not offered; the store still holds them.
  EXPECT_EQ(cc->find_session(5, "a"), nullptr);
  cc->forget_session(5);
  cc->forget_session(99);
  EXPECT_EQ(cc->stored_sessions(), 0u);
}

}  // namespace
}  // namespace dotgate::tls
