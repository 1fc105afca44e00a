// Tests for tls/tls_session.h: client and server sessions joined in memory: handshakes,
// DoT traffic both ways over awkward streams, close_notify, and the failure reasons.
#include "tls/tls_session.h"

#include <gtest/gtest.h>
#include <openssl/err.h>

#include <numeric>

#include "tls/dot_framing.h"
#include "tls_fixture.h"

namespace dotgate::tls {
namespace {

using namespace testutil;

// Every session test runs with each side on OpenSSL's records or on ours (after the
// handshake), so each pairing of the two record layers meets.
enum class Layers { kOpenSsl, kOwn, kOwnClient, kOwnServer };

class TlsSessionTest : public TlsFixture, public ::testing::WithParamInterface<Layers> {
 protected:
  void SetUp() override {
    client_own_records = GetParam() == Layers::kOwn || GetParam() == Layers::kOwnClient;
    server_own_records = GetParam() == Layers::kOwn || GetParam() == Layers::kOwnServer;
  }
  // After traffic both ways, each side is on the layer the parameter says.
  void expect_layers(const Link& link) const {
    EXPECT_EQ(link.client.session->own_records(), client_own_records);
    EXPECT_EQ(link.server.session->own_records(), server_own_records);
  }
};

INSTANTIATE_TEST_SUITE_P(Records, TlsSessionTest,
                         ::testing::Values(Layers::kOpenSsl, Layers::kOwn, Layers::kOwnClient, Layers::kOwnServer),
                         [](const ::testing::TestParamInfo<Layers>& i) {
                           switch (i.param) {
                             case Layers::kOpenSsl: return "OpenSsl";
                             case Layers::kOwn: return "Own";
                             case Layers::kOwnClient: return "OwnClient";
                             case Layers::kOwnServer: return "OwnServer";
                           }
                           return "";
                         });

TEST_P(TlsSessionTest, HandshakeReportsWhatWasNegotiated) {
  auto cc = client_context();
  auto sc = server_context();
  auto link = join(*cc, *sc, by_name());
  EXPECT_EQ(link->client.session->state(), TlsState::kHandshaking);
  EXPECT_EQ(link->client.session->handshake(), TlsResult::kWantInput);  // ClientHello out
  EXPECT_EQ(link->server.session->handshake(), TlsResult::kWantInput);  // nothing arrived yet
  link->pump();
  ASSERT_TRUE(link->established()) << link->client.session->failure() << " / " << link->server.session->failure();
  TlsSession& c = *link->client.session;
  EXPECT_EQ(c.version(), "TLSv1.3");
  EXPECT_EQ(link->server.session->version(), "TLSv1.3");
  EXPECT_EQ(c.cipher(), link->server.session->cipher());
  EXPECT_EQ(c.alpn(), "dot");
  EXPECT_EQ(link->server.session->alpn(), "dot");
  EXPECT_EQ(c.verified_name(), kName);
  EXPECT_FALSE(c.resumed());
  EXPECT_TRUE(c.failure().empty());
  EXPECT_EQ(c.handshake(), TlsResult::kDone);  // idempotent once established
}

TEST_P(TlsSessionTest, PipelinedMessagesBothWays) {
  auto cc = client_context();
  auto sc = server_context();
  auto link = connect(*cc, *sc, by_name());
  ASSERT_TRUE(link->established());
  exchange(*link, 32);
  expect_layers(*link);
}

TEST_P(TlsSessionTest, OneByteAtATime) {
  auto cc = client_context();
  auto sc = server_context();
  auto link = join(*cc, *sc, by_name());
  for (Endpoint* e : {&link->client.end, &link->server.end}) {
    e->chunk = 1;
    e->room_per_round = 1;      // every second write call finds the stream full
    e->deliver_per_round = 1;
  }
  const size_t rounds = link->pump();
  ASSERT_TRUE(link->established()) << link->client.session->failure();
  EXPECT_GT(rounds, 1000u);  // the handshake really crossed byte by byte
  exchange(*link, 5);
}

TEST_P(TlsSessionTest, DelayedAndSplitDelivery) {
  auto cc = client_context();
  auto sc = server_context();
  auto link = join(*cc, *sc, by_name());
  link->client.end.deliver_per_round = 7;  // the server's bytes trickle in
  link->server.end.deliver_per_round = 13;
  link->client.end.room_per_round = 100;
  link->pump();
  ASSERT_TRUE(link->established()) << link->client.session->failure();
  exchange(*link, 12);
}

TEST_P(TlsSessionTest, LargeWritesThroughAFullStream) {
  auto cc = client_context();
  auto sc = server_context();
  auto link = connect(*cc, *sc, by_name());
  ASSERT_TRUE(link->established());
  link->client.end.room_per_round = 1000;  // far below one full record
  link->client.end.room = 1000;
  std::vector<uint8_t> big(100'000);
  std::iota(big.begin(), big.end(), 0);
  // The first write takes one record's worth at most before the stream fills.
  size_t taken = 0;
  EXPECT_EQ(link->client.session->write(big.data(), big.size(), &taken), TlsResult::kWantOutput);
  EXPECT_LT(taken, big.size());
  link->client.to_send.assign(big.begin() + static_cast<long>(taken), big.end());
  link->pump();
  ASSERT_EQ(link->server.received.size(), big.size());
  EXPECT_EQ(link->server.received, big);
}

TEST_P(TlsSessionTest, ReleaseBuffersWhenIdle) {
  auto cc = client_context();
  auto sc = server_context();
  auto link = connect(*cc, *sc, by_name());
  ASSERT_TRUE(link->established());
  exchange(*link, 1);  // a query and its answer: each side is on its record layer now
  expect_layers(*link);
  link->server.received.clear();
  link->client.received.clear();
  EXPECT_TRUE(link->client.session->release_buffers());
  EXPECT_TRUE(link->server.session->release_buffers());
  // Two records arrive together and the stream reads take both in; while part of the
  // second is still unread the buffer cannot go.
  const std::vector<uint8_t> a = message(100, 1), b = message(50, 2);
  size_t taken = 0;
  ASSERT_EQ(link->server.session->write(a.data(), a.size(), &taken), TlsResult::kDone);
  ASSERT_EQ(link->server.session->write(b.data(), b.size(), &taken), TlsResult::kDone);
  link->client.end.round();
  uint8_t buf[120];  // all of a, part of b
  std::vector<uint8_t> got_all;
  size_t got = 0;
  ASSERT_EQ(link->client.session->read(buf, sizeof buf, &got), TlsResult::kDone);
  got_all.insert(got_all.end(), buf, buf + got);
  EXPECT_FALSE(link->client.session->release_buffers());
  while (link->client.session->read(buf, sizeof buf, &got) == TlsResult::kDone) {
    got_all.insert(got_all.end(), buf, buf + got);
  }
  std::vector<uint8_t> both = a;
  both.insert(both.end(), b.begin(), b.end());
  EXPECT_EQ(got_all, both);
  EXPECT_TRUE(link->client.session->release_buffers());
  // A record waiting for room in the stream keeps the write buffer.
  link->client.end.room = 0;
  const TlsResult w = link->client.session->write(a.data(), a.size(), &taken);
  EXPECT_EQ(w, TlsResult::kWantOutput);
  EXPECT_FALSE(link->client.session->release_buffers());
  EXPECT_EQ(taken, 0u);  // the record is made, but its bytes count once it has gone out
  link->client.to_send = a;
  link->pump();
  EXPECT_EQ(link->server.received, a);
  EXPECT_TRUE(link->client.session->release_buffers());
  link->server.received.clear();
  exchange(*link, 3);  // and they come back when needed
}

// A record the stream took only part of: its bytes are not taken until the rest has gone
// out, on the call that brings them again (the worker's flush loops depend on it: they
// call write() again only while they hold unsent bytes).
TEST_P(TlsSessionTest, PartlySentRecordTakenWhenSent) {
  auto cc = client_context();
  auto sc = server_context();
  auto link = connect(*cc, *sc, by_name());
  exchange(*link, 1);
  link->server.received.clear();
  const std::vector<uint8_t> a = message(300, 5);
  link->client.end.room = 100;
  size_t taken = 1;
  EXPECT_EQ(link->client.session->write(a.data(), a.size(), &taken), TlsResult::kWantOutput);
  EXPECT_EQ(taken, 0u);
  link->client.end.room = 50;  // still not enough
  EXPECT_EQ(link->client.session->write(a.data(), a.size(), &taken), TlsResult::kWantOutput);
  EXPECT_EQ(taken, 0u);
  link->client.end.room = SIZE_MAX;
  EXPECT_EQ(link->client.session->write(a.data(), a.size(), &taken), TlsResult::kDone);
  EXPECT_EQ(taken, a.size());
  link->pump();
  EXPECT_EQ(link->server.received, a);
  expect_layers(*link);
}

TEST_P(TlsSessionTest, ReadWithNoInputDoesNotAskTheStream) {
  auto cc = client_context();
  auto sc = server_context();
  auto link = connect(*cc, *sc, by_name());
  ASSERT_TRUE(link->established());
  uint8_t buf[256];
  size_t got = 1;
  // A stream that tells it has nothing: the session answers without OpenSSL reading it.
  const uint64_t calls = link->client.end.receive_calls;
  EXPECT_EQ(link->client.session->read(buf, sizeof buf, &got), TlsResult::kWantInput);
  EXPECT_EQ(got, 0u);
  EXPECT_EQ(link->client.end.receive_calls, calls);
  // One that cannot tell (the default) is read, and has nothing either.
  link->client.end.tells_input = false;
  EXPECT_EQ(link->client.session->read(buf, sizeof buf, &got), TlsResult::kWantInput);
  EXPECT_EQ(link->client.end.receive_calls, calls + 1);
  link->client.end.tells_input = true;
  exchange(*link, 4);
}

TEST_P(TlsSessionTest, PlaintextLeftInOpenSslIsReadWithNoStreamInput) {
  auto cc = client_context();
  auto sc = server_context();
  auto link = connect(*cc, *sc, by_name());
  ASSERT_TRUE(link->established());
  const std::vector<uint8_t> a = message(300, 3);
  size_t taken = 0;
  ASSERT_EQ(link->server.session->write(a.data(), a.size(), &taken), TlsResult::kDone);
  link->client.end.round();
  // A buffer smaller than the record: the rest stays in OpenSSL, the stream is empty.
  std::vector<uint8_t> got_all;
  uint8_t buf[64];
  size_t got = 0;
  while (link->client.session->read(buf, sizeof buf, &got) == TlsResult::kDone) {
    got_all.insert(got_all.end(), buf, buf + got);
  }
  EXPECT_TRUE(link->client.end.inbox.empty());
  EXPECT_EQ(got_all, a);
}

TEST_P(TlsSessionTest, KeyUpdateRequestedByThePeer) {
  auto cc = client_context();
  auto sc = server_context();
  auto link = connect(*cc, *sc, by_name());
  ASSERT_TRUE(link->established());
  exchange(*link, 2);
  for (Side* updater : {&link->server, &link->client}) {
    Side* peer = updater == &link->server ? &link->client : &link->server;
    // The updater changes its keys and asks the peer to change its own. The KeyUpdate goes
    // out ahead of the next record; OpenSSL 3.0 queues the peer's reply for its next write
    // (ours sends it at once when it can).
    ASSERT_TRUE(updater->session->update_keys(true));
    const std::vector<uint8_t> a = message(40, 4);
    size_t taken = 0;
    ASSERT_EQ(updater->session->write(a.data(), a.size(), &taken), TlsResult::kDone);
    peer->end.round();
    uint8_t buf[256];
    size_t got = 0;
    ASSERT_EQ(peer->session->read(buf, sizeof buf, &got), TlsResult::kDone) << peer->session->failure();
    EXPECT_EQ(std::vector<uint8_t>(buf, buf + got), a);
    EXPECT_EQ(peer->session->read(buf, sizeof buf, &got), TlsResult::kWantInput);
    link->server.received.clear();
    link->client.received.clear();
    exchange(*link, 3);  // both ways under the new keys
    EXPECT_EQ(link->server.session->state(), TlsState::kEstablished) << link->server.session->failure();
    EXPECT_EQ(link->client.session->state(), TlsState::kEstablished) << link->client.session->failure();
    link->server.received.clear();
    link->client.received.clear();
  }
  expect_layers(*link);
  // On our layer each side counted what it took part in: one update from the peer
  // (answered), one of its own and the peer's answer.
  for (Side* side : {&link->client, &link->server}) {
    if (!side->session->own_records()) continue;
    EXPECT_EQ(side->session->record_stats().key_updates_received, 2u);
    EXPECT_EQ(side->session->record_stats().key_updates_sent, 2u);
  }
}

TEST_P(TlsSessionTest, CloseNotifyBothWays) {
  auto cc = client_context();
  auto sc = server_context();
  auto link = connect(*cc, *sc, by_name());
  ASSERT_TRUE(link->established());
  EXPECT_FALSE(link->server.session->close_notify_received());
  link->client.close_requested = true;
  link->pump();
  EXPECT_TRUE(link->client.session->close_notify_sent());
  EXPECT_TRUE(link->server.saw_closed);
  EXPECT_TRUE(link->server.session->close_notify_received());
  EXPECT_EQ(link->server.session->state(), TlsState::kClosed);
  EXPECT_EQ(link->client.session->state(), TlsState::kEstablished);  // may still read
  link->server.close_requested = true;
  link->pump();
  EXPECT_TRUE(link->client.saw_closed);
  EXPECT_EQ(link->client.session->state(), TlsState::kClosed);
  size_t taken = 1;
  const uint8_t x = 0;
  EXPECT_EQ(link->client.session->write(&x, 1, &taken), TlsResult::kClosed);
  EXPECT_EQ(taken, 0u);
}

TEST_P(TlsSessionTest, StreamEndWithoutCloseNotifyIsTruncation) {
  auto cc = client_context();
  auto sc = server_context();
  auto link = connect(*cc, *sc, by_name());
  ASSERT_TRUE(link->established());
  link->client.end.fin = true;  // the server's TCP FIN, no close_notify before it
  link->pump();
  EXPECT_EQ(link->client.session->state(), TlsState::kFailed);
  EXPECT_EQ(link->client.session->failure(), "unexpected eof while reading");
}

TEST_P(TlsSessionTest, StrictModeNeedsANameOrAPin) {
  auto cc = client_context();
  Endpoint e;
  EXPECT_NE(error_of(TlsSession::client(*cc, e, ClientAuth{}, 0)).find("cannot be authenticated"),
            std::string::npos);
}

// --- certificate checks ------------------------------------------------------------------

// Connects to a server presenting `leaf` (chain: leaf + the trusted intermediate, or
// `extra_chain` instead) and returns the client's failure ("" if it authenticated).
class CertificateTest : public TlsFixture {
 protected:
  std::string client_verdict(X509* leaf, const ClientAuth& auth, std::unique_ptr<Link>* out = nullptr,
                             X509* extra_chain = nullptr) {
    auto cc = client_context();
    auto sc = server_context({}, leaf, extra_chain);
    auto link = connect(*cc, *sc, auth);
    std::string verdict = link->client.session->failure();
    if (verdict.empty() && !link->established()) verdict = "not established";
    if (!verdict.empty()) {
      // The server hears about it through the client's alert.
      EXPECT_EQ(link->server.session->state(), TlsState::kFailed);
    }
    if (out) *out = std::move(link);
    return verdict;
  }
};

TEST_F(CertificateTest, ValidChainAndNameAccepted) {
  std::unique_ptr<Link> link;
  EXPECT_EQ(client_verdict(pki.leaf().get(), by_name(), &link), "");
  EXPECT_EQ(link->client.session->verified_name(), kName);
}

TEST_F(CertificateTest, NameMatchIsCaseInsensitiveAndTrailingDotFree) {
  EXPECT_EQ(client_verdict(pki.leaf().get(), by_name("DNS.Example.TEST")), "");
}

TEST_F(CertificateTest, AddressAsAuthenticationName) {
  // A name that is an IP literal is checked against the IP SAN (and sent without SNI,
  // which may not carry addresses, RFC 6066 3).
  std::unique_ptr<Link> link;
  EXPECT_EQ(client_verdict(pki.leaf().get(), by_name(kAddress), &link), "");
  EXPECT_EQ(link->server.session->server_name(), "");
  EXPECT_EQ(client_verdict(pki.leaf().get(), by_name("192.0.2.54")), "certificate verify failed: IP address mismatch");
}

TEST_F(CertificateTest, SniCarriesTheName) {
  std::unique_ptr<Link> link;
  ASSERT_EQ(client_verdict(pki.leaf().get(), by_name(), &link), "");
  EXPECT_EQ(link->server.session->server_name(), kName);
  EXPECT_TRUE(link->server.session->own_records());  // still known after the SSL went
}

TEST_F(CertificateTest, ExpiredRefused) {
  EXPECT_EQ(client_verdict(pki.leaf("", -10 * kDay, -kDay).get(), by_name()),
            "certificate verify failed: certificate has expired");
}

TEST_F(CertificateTest, NotYetValidRefused) {
  EXPECT_EQ(client_verdict(pki.leaf("", kDay, 10 * kDay).get(), by_name()),
            "certificate verify failed: certificate is not yet valid");
}

TEST_F(CertificateTest, WrongNameRefused) {
  EXPECT_EQ(client_verdict(pki.leaf("DNS:other.example.test").get(), by_name()),
            "certificate verify failed: hostname mismatch");
  // Wildcards match one whole label only.
  EXPECT_EQ(client_verdict(pki.leaf("DNS:d*.example.test").get(), by_name()),
            "certificate verify failed: hostname mismatch");
  EXPECT_EQ(client_verdict(pki.leaf("DNS:*.example.test").get(), by_name()), "");
}

TEST_F(CertificateTest, NameOnlyFromTheSubjectAltName) {
  // The right name in the CN, none among the DNS SANs: not a match (RFC 6125 6.4.4).
  EXPECT_EQ(client_verdict(pki.leaf(std::string("IP:") + kAddress).get(), by_name()),
            "certificate verify failed: hostname mismatch");
}

TEST_F(CertificateTest, UntrustedIssuerRefused) {
  X509Ptr rogue_leaf = make_cert(spec(kName, false, pki.san), pki.leaf_key.get(), pki.rogue_root.get(),
                                 pki.rogue_key.get());
  EXPECT_EQ(client_verdict(rogue_leaf.get(), by_name()),
            "certificate verify failed: unable to get local issuer certificate");
  // Self-signed, with the right name.
  X509Ptr self = make_cert(spec(kName, false, pki.san), pki.leaf_key.get());
  EXPECT_EQ(client_verdict(self.get(), by_name()), "certificate verify failed: self-signed certificate");
}

TEST_F(CertificateTest, PinOnLeafIntermediateOrRootAccepted) {
  X509Ptr leaf = pki.leaf();
  for (X509* pinned : {leaf.get(), pki.inter.get(), pki.root.get()}) {
    EXPECT_EQ(client_verdict(leaf.get(), ClientAuth{kName, {spki_pin(pinned)}}), "");
  }
  // Any one of several pins (a backup pin first).
  EXPECT_EQ(client_verdict(leaf.get(), ClientAuth{kName, {spki_pin(pki.rogue_root.get()), spki_pin(leaf.get())}}), "");
}

TEST_F(CertificateTest, PinMismatchRefusedEvenWithAValidChain) {
  EXPECT_EQ(client_verdict(pki.leaf().get(), ClientAuth{kName, {spki_pin(pki.rogue_root.get())}}),
            "certificate verify failed: no certificate in the chain matches a pinned SPKI");
}

TEST_F(CertificateTest, PinsAloneAuthenticateWithoutATrustAnchor) {
  // A self-signed certificate with no usable name, known only by its key (RFC 7858 4.2).
  X509Ptr self = make_cert(spec("anything", false, "DNS:unrelated.test"), pki.leaf_key.get());
  std::unique_ptr<Link> link;
  EXPECT_EQ(client_verdict(self.get(), ClientAuth{"", {spki_pin(self.get())}}, &link), "");
  EXPECT_EQ(link->client.session->verified_name(), "");
  EXPECT_EQ(client_verdict(self.get(), ClientAuth{"", {spki_pin(pki.root.get())}}),
            "certificate verify failed: no certificate in the chain matches a pinned SPKI");
  // Under an untrusted CA the server sends along, a pin on that CA vouches for the leaf it
  // signed (the signature is checked even though the CA is not a trust anchor).
  X509Ptr rogue_leaf = make_cert(spec(kName, false, pki.san), pki.leaf_key.get(), pki.rogue_root.get(),
                                 pki.rogue_key.get());
  EXPECT_EQ(client_verdict(rogue_leaf.get(), ClientAuth{"", {spki_pin(pki.rogue_root.get())}}, nullptr,
                           pki.rogue_root.get()),
            "");
  // A certificate the server merely sends along, which signed nothing in the chain, does
  // not count: here the trusted intermediate, sent with a leaf it did not sign.
  EXPECT_EQ(client_verdict(rogue_leaf.get(), ClientAuth{"", {spki_pin(pki.inter.get())}}, nullptr, pki.inter.get()),
            "certificate verify failed: no certificate in the chain matches a pinned SPKI");
  // Nor does a CA certificate with the issuer's name and a key of the attacker's, which
  // cannot have made the leaf's signature.
  KeyPtr other = make_key();
  X509Ptr fake_root = make_cert(spec("rogue root", true), other.get());
  EXPECT_EQ(client_verdict(rogue_leaf.get(), ClientAuth{"", {spki_pin(fake_root.get())}}, nullptr, fake_root.get()),
            "certificate verify failed: no certificate in the chain matches a pinned SPKI");
}

TEST_F(CertificateTest, PinsAloneStillCheckDates) {
  X509Ptr expired = make_cert(spec("old", false, "", -10 * kDay, -kDay), pki.leaf_key.get());
  EXPECT_EQ(client_verdict(expired.get(), ClientAuth{"", {spki_pin(expired.get())}}),
            "certificate verify failed: certificate has expired");
}

TEST_F(CertificateTest, PinsWithANameNeedBoth) {
  X509Ptr wrong = pki.leaf("DNS:other.example.test");
  EXPECT_EQ(client_verdict(wrong.get(), ClientAuth{kName, {spki_pin(wrong.get())}}),
            "certificate verify failed: hostname mismatch");
  X509Ptr rogue_leaf = make_cert(spec(kName, false, pki.san), pki.leaf_key.get(), pki.rogue_root.get(),
                                 pki.rogue_key.get());
  EXPECT_EQ(client_verdict(rogue_leaf.get(), ClientAuth{kName, {spki_pin(rogue_leaf.get())}}),
            "certificate verify failed: unable to get local issuer certificate");
}

// --- resumption --------------------------------------------------------------------------

class ResumptionTest : public TlsFixture {};

TEST_F(ResumptionTest, SecondConnectionResumes) {
  for (const TlsVersion v : {TlsVersion::kTls13, TlsVersion::kTls12}) {
    ClientConfig config;
    config.protocol.max_version = v;
    auto cc = client_context(config);
    auto sc = server_context();
    auto first = connect(*cc, *sc, by_name(), 7);
    ASSERT_TRUE(first->established());
    EXPECT_FALSE(first->client.session->resumed());
    EXPECT_EQ(cc->stored_sessions(), 1u);  // TLS 1.3: the ticket came in through read()
    first.reset();                          // freed without close_notify, the ticket survives
    auto second = connect(*cc, *sc, by_name(), 7);
    ASSERT_TRUE(second->established()) << second->client.session->failure();
    EXPECT_TRUE(second->client.session->resumed()) << static_cast<int>(v);
    EXPECT_TRUE(second->server.session->resumed());
    EXPECT_EQ(second->client.session->verified_name(), kName);
    // Each resumption brings a fresh ticket, so every later connection resumes too.
    for (int i = 0; i < 3; ++i) {
      second = connect(*cc, *sc, by_name(), 7);
      EXPECT_TRUE(second->client.session->resumed()) << static_cast<int>(v) << " round " << i;
    }
    // Another upstream key has no session to offer.
    auto other = connect(*cc, *sc, by_name(), 8);
    EXPECT_FALSE(other->client.session->resumed());
  }
}

TEST_F(ResumptionTest, OffWhenConfiguredOff) {
  for (const TlsVersion v : {TlsVersion::kTls13, TlsVersion::kTls12}) {
    ClientConfig config;
    config.protocol.max_version = v;
    config.session_resumption = false;
    auto cc = client_context(config);
    auto sc = server_context();
    for (int i = 0; i < 3; ++i) {
      auto link = connect(*cc, *sc, by_name(), 7);
      ASSERT_TRUE(link->established());
      exchange(*link, 2);
      EXPECT_FALSE(link->client.session->resumed()) << static_cast<int>(v) << " connection " << i;
    }
    EXPECT_EQ(cc->stored_sessions(), 0u);
  }
}

TEST_F(ResumptionTest, OnlyOfferedUnderTheSameAuthentication) {
  auto cc = client_context();
  auto sc = server_context();
  X509Ptr leaf = pki.leaf();
  connect(*cc, *sc, by_name(), 0);
  // Same key, now with a pin: the stored session was not verified against that pin.
  auto pinned = connect(*cc, *sc, ClientAuth{kName, {spki_pin(pki.rogue_root.get())}}, 0);
  EXPECT_FALSE(pinned->client.session->resumed());
  EXPECT_EQ(pinned->client.session->failure(),
            "certificate verify failed: no certificate in the chain matches a pinned SPKI");
}

TEST_F(ResumptionTest, TicketKeyRotation) {
  ServerConfig config;
  config.ticket_key_rotation_us = 0;  // explicit rotations only
  auto cc = client_context();
  auto sc = server_context(config);
  // Two upstream keys, so two tickets made under the first ticket key.
  connect(*cc, *sc, by_name(), 0);
  connect(*cc, *sc, by_name(), 1);
  ASSERT_TRUE(sc->rotate_ticket_key(now_us));
  EXPECT_TRUE(connect(*cc, *sc, by_name(), 0)->client.session->resumed());  // previous key still accepted
  ASSERT_TRUE(sc->rotate_ticket_key(now_us));
  // Key 1's ticket is two rotations old now.
  EXPECT_FALSE(connect(*cc, *sc, by_name(), 1)->client.session->resumed());
  // Key 0 got a fresh ticket (under the second key) when it resumed: still good.
  EXPECT_TRUE(connect(*cc, *sc, by_name(), 0)->client.session->resumed());
  EXPECT_EQ(sc->ticket_key_rotations(), 2u);
}

// Two workers' server contexts given one ticket secret: a client's next connection may land
// on the other worker, and resumes there; a context with another secret does not take it.
TEST_F(ResumptionTest, ContextsWithOneTicketSecretResumeEachOthersTickets) {
  ServerConfig config;
  config.ticket_key_rotation_us = 0;
  config.ticket_secret.assign(32, 0x5c);
  auto cc = client_context();
  auto a = server_context(config);
  auto b = server_context(config);
  ServerConfig other_config = config;
  other_config.ticket_secret.assign(32, 0x3a);
  auto other = server_context(other_config);
  ASSERT_FALSE(connect(*cc, *a, by_name(), 0)->client.session->resumed());
  auto on_b = connect(*cc, *b, by_name(), 0);
  EXPECT_TRUE(on_b->client.session->resumed());
  EXPECT_TRUE(on_b->server.session->resumed());
  // Both rotate (as they do on the same interval): the new key is the same on both, and
  // tickets under the previous one still resume on either.
  ASSERT_TRUE(a->rotate_ticket_key(now_us));
  ASSERT_TRUE(b->rotate_ticket_key(now_us));
  EXPECT_TRUE(connect(*cc, *a, by_name(), 0)->client.session->resumed());
  EXPECT_TRUE(connect(*cc, *b, by_name(), 0)->client.session->resumed());
  EXPECT_FALSE(connect(*cc, *other, by_name(), 0)->client.session->resumed());
  // Without a secret, each context's keys are its own (random).
  ServerConfig random_config;
  auto c = server_context(random_config);
  auto d = server_context(random_config);
  connect(*cc, *c, by_name(), 1);
  EXPECT_FALSE(connect(*cc, *d, by_name(), 1)->client.session->resumed());
}

TEST_F(ResumptionTest, RotationOnTheInterval) {
  ServerConfig config;
  config.ticket_key_rotation_us = 60'000'000;
  auto sc = server_context(config);
  sc->advance(now_us + 59'000'000);
  EXPECT_EQ(sc->ticket_key_rotations(), 0u);
  sc->advance(now_us + 60'000'000);
  EXPECT_EQ(sc->ticket_key_rotations(), 1u);
  sc->advance(now_us + 119'000'000);
  EXPECT_EQ(sc->ticket_key_rotations(), 1u);
  sc->advance(now_us + 120'000'000);
  EXPECT_EQ(sc->ticket_key_rotations(), 2u);
}

TEST_F(ResumptionTest, FailedHandshakeForgetsTheSession) {
  auto cc = client_context();
  auto sc = server_context();
  connect(*cc, *sc, by_name(), 3);
  ASSERT_EQ(cc->stored_sessions(), 1u);
  auto link = join(*cc, *sc, by_name(), 3);
  link->server.end.fin = true;  // the server's side of TCP closes mid-handshake
  link->client.end.fin = true;
  link->pump();
  EXPECT_EQ(link->client.session->state(), TlsState::kFailed);
  EXPECT_EQ(cc->stored_sessions(), 0u);
}

// --- protocol policy ---------------------------------------------------------------------

// --- server SSL objects reused --------------------------------------------------------

// On OpenSSL's records a server session keeps its SSL to the end; on ours it gives it back
// at the switch (OwnRecordLayerTest.ServerSslBackToItsContextAtTheSwitch).
class ReuseTest : public TlsFixture {
 protected:
  ReuseTest() { server_own_records = false; }
  // A finished connection whose client and server sessions are then destroyed.
  SSL* finished(ClientContext& cc, ServerContext& sc, const ClientAuth& auth, uint32_t key = 0) {
    auto link = connect(cc, sc, auth, key);
    EXPECT_TRUE(link->established()) << link->client.session->failure() << link->server.session->failure();
    exchange(*link, 2);
    return link->server.session->native();
  }
};

TEST_F(ReuseTest, NextServerSessionStartsClean) {
  auto cc = client_context();
  auto sc = server_context();
  EXPECT_EQ(sc->spare_ssl_objects(), 0u);
  // A client that sends SNI, with a per-session mode set through native().
  auto first = connect(*cc, *sc, by_name(), 1);
  ASSERT_TRUE(first->established());
  SSL* const used = first->server.session->native();
  EXPECT_STREQ(SSL_get_servername(used, TLSEXT_NAMETYPE_host_name), kName);
  SSL_set_mode(used, SSL_MODE_RELEASE_BUFFERS);
  first.reset();
  EXPECT_EQ(sc->spare_ssl_objects(), 1u);
  // The next client (an address, so no SNI) gets the same SSL, and nothing of the first.
  auto second = join(*cc, *sc, ClientAuth{kAddress, {}}, 2);
  EXPECT_EQ(sc->spare_ssl_objects(), 0u);
  ASSERT_EQ(second->server.session->native(), used);
  EXPECT_EQ(SSL_get_mode(used) & SSL_MODE_RELEASE_BUFFERS, 0u);
  EXPECT_EQ(SSL_get_session(used), nullptr);
  EXPECT_FALSE(SSL_is_init_finished(used));
  second->pump();
  ASSERT_TRUE(second->established()) << second->client.session->failure();
  EXPECT_EQ(SSL_get_servername(used, TLSEXT_NAMETYPE_host_name), nullptr);
  EXPECT_FALSE(second->server.session->resumed());
  EXPECT_EQ(second->server.session->alpn(), "dot");
  exchange(*second, 3);
  // A resumption on a reused SSL, then a full handshake on it again.
  second.reset();
  auto third = connect(*cc, *sc, by_name(), 1);
  ASSERT_TRUE(third->established());
  EXPECT_EQ(third->server.session->native(), used);
  EXPECT_TRUE(third->server.session->resumed());
  exchange(*third, 2);
  third.reset();
  cc->forget_session(1);
  auto fourth = connect(*cc, *sc, by_name(), 1);
  ASSERT_TRUE(fourth->established());
  EXPECT_EQ(fourth->server.session->native(), used);
  EXPECT_FALSE(fourth->server.session->resumed());
  fourth.reset();
  // The ticket the full handshake on the reused SSL issued resumes.
  auto fifth = connect(*cc, *sc, by_name(), 1);
  EXPECT_TRUE(fifth->server.session->resumed());
}

TEST_F(ReuseTest, ReusedSslServesTls12Too) {
  ClientConfig config;
  config.protocol.max_version = TlsVersion::kTls12;
  auto cc12 = client_context(config);
  auto cc13 = client_context();
  auto sc = server_context();
  SSL* const used = finished(*cc13, *sc, by_name());
  auto link = connect(*cc12, *sc, by_name());
  ASSERT_TRUE(link->established());
  EXPECT_EQ(link->server.session->native(), used);
  EXPECT_EQ(link->server.session->version(), "TLSv1.2");
  exchange(*link, 2);
  link.reset();
  link = connect(*cc13, *sc, by_name(), 5);
  ASSERT_TRUE(link->established());
  EXPECT_EQ(link->server.session->version(), "TLSv1.3");
}

TEST_F(ReuseTest, OnlyFinishedConnectionsAreKept) {
  auto cc = client_context();
  auto sc = server_context();
  // Dropped during the handshake.
  auto link = join(*cc, *sc, by_name());
  link->client.step();
  link->client.end.round();
  link->server.end.round();
  link->server.step();
  EXPECT_EQ(link->server.session->state(), TlsState::kHandshaking);
  link.reset();
  EXPECT_EQ(sc->spare_ssl_objects(), 0u);
  // Failed.
  link = std::make_unique<Link>();
  link->server.session = ok(TlsSession::server(*sc, link->server.end));
  const std::string junk = "GET / HTTP/1.1\r\n\r\n";
  link->server.end.inbox.assign(junk.begin(), junk.end());
  link->server.step();
  ASSERT_EQ(link->server.session->state(), TlsState::kFailed);
  link.reset();
  EXPECT_EQ(sc->spare_ssl_objects(), 0u);
  // Closed with close_notify both ways: kept.
  link = connect(*cc, *sc, by_name());
  link->client.close_requested = link->server.close_requested = true;
  link->pump();
  EXPECT_EQ(link->server.session->state(), TlsState::kClosed);
  link.reset();
  EXPECT_EQ(sc->spare_ssl_objects(), 1u);
}

TEST_F(ReuseTest, AtMostTheConfiguredNumber) {
  auto cc = client_context();
  ServerConfig config;
  config.spare_ssl_objects = 2;
  auto sc = server_context(config);
  std::vector<std::unique_ptr<Link>> links;
  for (uint32_t i = 0; i < 4; ++i) links.push_back(connect(*cc, *sc, by_name(), i));
  links.clear();
  EXPECT_EQ(sc->spare_ssl_objects(), 2u);
  config.spare_ssl_objects = 0;
  auto none = server_context(config);
  finished(*cc, *none, by_name());
  EXPECT_EQ(none->spare_ssl_objects(), 0u);
}

TEST_F(ReuseTest, SessionMayOutliveItsContext) {
  auto cc = client_context();
  auto sc = server_context();
  finished(*cc, *sc, by_name());  // one SSL kept
  auto link = connect(*cc, *sc, by_name());
  ASSERT_TRUE(link->established());
  sc.reset();    // frees the kept SSL; the session's SSL holds its own SSL_CTX reference
  link.reset();  // frees its SSL instead of returning it (AddressSanitizer checks)
}

class PolicyTest : public TlsFixture {};

TEST_F(PolicyTest, RenegotiationRefusedByTheServer) {
  ClientConfig config;
  config.protocol.max_version = TlsVersion::kTls12;  // TLS 1.3 has no renegotiation
  auto cc = client_context(config);
  auto sc = server_context();
  auto link = connect(*cc, *sc, by_name());
  ASSERT_TRUE(link->established());
  SSL* c = link->client.session->native();
  // Our own client refuses to start one; a client that does not (the option cleared, as a
  // hostile client would) is refused by the server.
  EXPECT_EQ(SSL_renegotiate(c), 0);
  ERR_clear_error();
  SSL_clear_options(c, SSL_OP_NO_RENEGOTIATION);
  ASSERT_EQ(SSL_renegotiate(c), 1);
  link->client.to_send = {1, 2, 3};
  link->pump();
  EXPECT_EQ(SSL_num_renegotiations(link->server.session->native()), 0);
  EXPECT_EQ(link->client.session->state(), TlsState::kFailed);
  EXPECT_EQ(link->client.session->failure(), "no renegotiation");
}

TEST_F(PolicyTest, RenegotiationRefusedByTheClient) {
  ClientConfig config;
  config.protocol.max_version = TlsVersion::kTls12;
  auto cc = client_context(config);
  auto sc = server_context();
  auto link = connect(*cc, *sc, by_name());
  ASSERT_TRUE(link->established());
  SSL* s = link->server.session->native();
  SSL_clear_options(s, SSL_OP_NO_RENEGOTIATION);
  ASSERT_EQ(SSL_renegotiate(s), 1);
  link->server.to_send = {1, 2, 3};
  link->pump();
  EXPECT_EQ(link->server.session->state(), TlsState::kFailed);
  EXPECT_EQ(link->server.session->failure(), "no renegotiation");
}

TEST_F(PolicyTest, Tls12WithoutAeadRefusedByDefault) {
  ClientConfig cbc_client;
  cbc_client.protocol.max_version = TlsVersion::kTls12;
  cbc_client.protocol.tls12_ciphers = "ECDHE-ECDSA-AES128-SHA256";
  auto cc = client_context(cbc_client);
  auto sc = server_context();
  auto link = connect(*cc, *sc, by_name());
  EXPECT_EQ(link->server.session->state(), TlsState::kFailed);
  EXPECT_EQ(link->server.session->failure(), "no shared cipher");
  EXPECT_EQ(link->client.session->failure(), "sslv3 alert handshake failure");
  // And the other way: a CBC-only server, our default client.
  ServerConfig cbc_server;
  cbc_server.protocol.max_version = TlsVersion::kTls12;
  cbc_server.protocol.tls12_ciphers = "ECDHE-ECDSA-AES128-SHA256";
  auto cc2 = client_context();
  auto sc2 = server_context(cbc_server);
  auto link2 = connect(*cc2, *sc2, by_name());
  EXPECT_EQ(link2->server.session->failure(), "no shared cipher");
  // With the config's own list it is allowed.
  auto cc3 = client_context(cbc_client);
  auto link3 = connect(*cc3, *sc2, by_name());
  ASSERT_TRUE(link3->established());
  EXPECT_EQ(link3->client.session->cipher(), "ECDHE-ECDSA-AES128-SHA256");
}

TEST_F(PolicyTest, VersionLimits) {
  ClientConfig tls12;
  tls12.protocol.max_version = TlsVersion::kTls12;
  ServerConfig tls13_only;
  tls13_only.protocol.min_version = TlsVersion::kTls13;
  ClientConfig tls13_only_client;
  tls13_only_client.protocol.min_version = TlsVersion::kTls13;
  ServerConfig tls12_server;
  tls12_server.protocol.max_version = TlsVersion::kTls12;

  auto c12 = client_context(tls12);
  auto s_default = server_context();
  auto link = connect(*c12, *s_default, by_name());
  ASSERT_TRUE(link->established());
  EXPECT_EQ(link->client.session->version(), "TLSv1.2");
  EXPECT_EQ(link->client.session->cipher(), "ECDHE-ECDSA-AES128-GCM-SHA256");

  auto s13 = server_context(tls13_only);
  link = connect(*c12, *s13, by_name());
  EXPECT_EQ(link->server.session->failure(), "unsupported protocol");
  EXPECT_EQ(link->client.session->failure(), "tlsv1 alert protocol version");

  auto c13 = client_context(tls13_only_client);
  auto s12 = server_context(tls12_server);
  link = connect(*c13, *s12, by_name());
  EXPECT_EQ(link->client.session->state(), TlsState::kFailed);
  EXPECT_EQ(link->server.session->state(), TlsState::kFailed);
}

TEST_F(PolicyTest, Tls13SuitesConfigurable) {
  ClientConfig config;
  config.protocol.tls13_ciphersuites = "TLS_CHACHA20_POLY1305_SHA256";
  auto cc = client_context(config);
  auto sc = server_context();
  auto link = connect(*cc, *sc, by_name());
  ASSERT_TRUE(link->established());
  EXPECT_EQ(link->client.session->cipher(), "TLS_CHACHA20_POLY1305_SHA256");
}

TEST_F(PolicyTest, Alpn) {
  auto cc = client_context();
  auto sc = server_context();
  // Without ALPN: served.
  auto link = join(*cc, *sc, by_name());
  SSL_set_alpn_protos(link->client.session->native(), nullptr, 0);
  link->pump();
  ASSERT_TRUE(link->established());
  EXPECT_EQ(link->server.session->alpn(), "");
  // "dot" among others: chosen.
  link = join(*cc, *sc, by_name());
  static const unsigned char h2_dot[] = {2, 'h', '2', 3, 'd', 'o', 't'};
  SSL_set_alpn_protos(link->client.session->native(), h2_dot, sizeof h2_dot);
  link->pump();
  ASSERT_TRUE(link->established());
  EXPECT_EQ(link->client.session->alpn(), "dot");
  // Only another protocol: refused.
  link = join(*cc, *sc, by_name());
  static const unsigned char h2[] = {2, 'h', '2'};
  SSL_set_alpn_protos(link->client.session->native(), h2, sizeof h2);
  link->pump();
  EXPECT_EQ(link->client.session->failure(), "tlsv1 alert no application protocol");
  EXPECT_EQ(link->server.session->state(), TlsState::kFailed);
}

TEST_F(PolicyTest, GarbageFromThePeerFailsCleanly) {
  auto sc = server_context();
  auto link = std::make_unique<Link>();
  link->server.session = ok(TlsSession::server(*sc, link->server.end));
  const std::string junk = "GET / HTTP/1.1\r\nHost: example\r\n\r\n";
  link->server.end.inbox.assign(junk.begin(), junk.end());
  link->server.step();
  EXPECT_EQ(link->server.session->state(), TlsState::kFailed);
  EXPECT_FALSE(link->server.session->failure().empty());
  size_t got = 0;
  uint8_t buf[16];
  EXPECT_EQ(link->server.session->read(buf, sizeof buf, &got), TlsResult::kFailed);
}

}  // namespace
}  // namespace dotgate::tls
