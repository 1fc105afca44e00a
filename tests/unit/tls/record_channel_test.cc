// Tests for the move of established sessions onto the own record layer
// (tls/record_channel.h, TlsSession::maybe_take_over): when a session switches and when it
// stays on OpenSSL, sequence numbers carried over, key updates, late tickets, and failures.
// The session behaviours both layers share run in tls_session_test.cc with every pairing.
#include "tls/record_channel.h"

#include <gtest/gtest.h>

#include "tls_fixture.h"

namespace dotgate::tls {
namespace {

using namespace testutil;

class OwnRecordLayerTest : public TlsFixture {
 protected:
  std::unique_ptr<ClientContext> cc;
  std::unique_ptr<ServerContext> sc;
  // New contexts, a connection and a first query and answer: each side on the layer the
  // fixture's flags allow.
  std::unique_ptr<Link> exchanged(const ClientConfig& c = {}, const ServerConfig& s = {}) {
    cc = client_context(c);
    sc = server_context(s);
    auto link = connect(*cc, *sc, by_name());
    exchange(*link, 1);
    return link;
  }
  // Sends `n` messages from `from` one record each, pumping in between, and checks that
  // `to` received them all intact.
  static void one_record_each(Link& link, Side& from, Side& to, size_t n) {
    to.received.clear();
    std::vector<uint8_t> all;
    for (size_t i = 0; i < n; ++i) {
      const std::vector<uint8_t> m = message(30 + i % 50, static_cast<uint8_t>(i));
      size_t taken = 0;
      ASSERT_EQ(from.session->write(m.data(), m.size(), &taken), TlsResult::kDone) << from.session->failure();
      all.insert(all.end(), m.begin(), m.end());
      link.pump();
    }
    EXPECT_EQ(to.received, all) << to.session->failure();
  }
};

TEST_F(OwnRecordLayerTest, ServerSwitchesAtOnceClientAfterTheTicket) {
  cc = client_context();
  sc = server_context();
  auto link = connect(*cc, *sc, by_name());
  ASSERT_TRUE(link->established());
  // The server switched on its first call after the handshake; the client on the read
  // after the one that took in the ticket (connect() reads until there is nothing).
  EXPECT_EQ(link->client.session->record_layer(), "ipsec-mb");
  exchange(*link, 4);
  EXPECT_EQ(link->client.session->record_layer(), "ipsec-mb");
  EXPECT_EQ(link->server.session->record_layer(), "ipsec-mb");
  EXPECT_EQ(cc->stored_sessions(), 1u);  // the ticket reached OpenSSL's client first
  EXPECT_EQ(link->client.session->record_stats().late_tickets, 0u);
}

TEST_F(OwnRecordLayerTest, WithoutTicketsTheClientSwitchesAfterTheFirstAnswer) {
  ServerConfig s;
  s.tickets_per_handshake = 0;
  cc = client_context();
  sc = server_context(s);
  auto link = connect(*cc, *sc, by_name());
  ASSERT_TRUE(link->established());
  // Several query records leave through OpenSSL before anything comes back: the own
  // layer must continue at their sequence number.
  one_record_each(*link, link->client, link->server, 5);
  EXPECT_FALSE(link->client.session->own_records());
  EXPECT_TRUE(link->server.session->own_records());
  one_record_each(*link, link->server, link->client, 1);  // the first answer, through OpenSSL
  one_record_each(*link, link->client, link->server, 5);
  EXPECT_TRUE(link->client.session->own_records());
  one_record_each(*link, link->server, link->client, 5);
  exchange(*link, 20);
  EXPECT_EQ(cc->stored_sessions(), 0u);
}

TEST_F(OwnRecordLayerTest, Tls12AndChaChaStayOnOpenSsl) {
  {
    ClientConfig c;
    c.protocol.max_version = TlsVersion::kTls12;
    cc = client_context(c);
    sc = server_context();
    auto link = connect(*cc, *sc, by_name());
    ASSERT_TRUE(link->established());
    exchange(*link, 3);
    EXPECT_EQ(link->client.session->version(), "TLSv1.2");
    EXPECT_FALSE(link->client.session->own_records());
    EXPECT_FALSE(link->server.session->own_records());
  }
  {
    ClientConfig c;
    c.protocol.tls13_ciphersuites = "TLS_CHACHA20_POLY1305_SHA256";
    cc = client_context(c);
    sc = server_context();
    auto link = connect(*cc, *sc, by_name());
    ASSERT_TRUE(link->established());
    exchange(*link, 3);
    EXPECT_EQ(link->client.session->cipher(), "TLS_CHACHA20_POLY1305_SHA256");
    EXPECT_FALSE(link->client.session->own_records());
    EXPECT_FALSE(link->server.session->own_records());
  }
}

TEST_F(OwnRecordLayerTest, Aes256Suite) {
  ClientConfig c;
  c.protocol.tls13_ciphersuites = "TLS_AES_256_GCM_SHA384";
  cc = client_context(c);
  sc = server_context();
  auto link = connect(*cc, *sc, by_name());
  ASSERT_TRUE(link->established());
  exchange(*link, 10);
  EXPECT_EQ(link->client.session->cipher(), "TLS_AES_256_GCM_SHA384");
  EXPECT_TRUE(link->client.session->own_records());
  EXPECT_TRUE(link->server.session->own_records());
  exchange(*link, 10);
}

// Our layer updates its sending keys every N records (OpenSSL never does); OpenSSL's
// reader and ours follow.
TEST_F(OwnRecordLayerTest, KeysUpdatedAfterTheConfiguredNumberOfRecords) {
  for (const bool server_own : {true, false}) {
    server_own_records = server_own;
    ClientConfig c;
    c.protocol.key_update_after_records = 4;
    auto link = exchanged(c);
    ASSERT_TRUE(link->client.session->own_records());
    const uint64_t before = link->client.session->record_stats().key_updates_sent;
    one_record_each(*link, link->client, link->server, 30);
    EXPECT_GE(link->client.session->record_stats().key_updates_sent - before, 7u);
    exchange(*link, 8);
    EXPECT_EQ(link->server.session->state(), TlsState::kEstablished) << link->server.session->failure();
  }
}

// A server that sends a ticket long after the handshake (OpenSSL's SSL_new_session_ticket):
// our client counts it and goes on.
TEST_F(OwnRecordLayerTest, LateTicketCountedAndDropped) {
  server_own_records = false;
  auto link = exchanged();
  exchange(*link, 1);
  ASSERT_TRUE(link->client.session->own_records());
  ASSERT_EQ(SSL_new_session_ticket(link->server.session->native()), 1);
  exchange(*link, 2);  // the ticket goes out with the answers
  EXPECT_EQ(link->client.session->record_stats().late_tickets, 1u);
  EXPECT_EQ(link->client.session->state(), TlsState::kEstablished);
}

TEST_F(OwnRecordLayerTest, TamperedRecordFailsAndTellsThePeer) {
  for (const bool server_own : {true, false}) {
    server_own_records = server_own;
    auto link = exchanged();
    exchange(*link, 1);
    ASSERT_TRUE(link->client.session->own_records());
    const std::vector<uint8_t> a = message(80, 9);
    size_t taken = 0;
    ASSERT_EQ(link->server.session->write(a.data(), a.size(), &taken), TlsResult::kDone);
    link->client.end.round();
    ASSERT_GT(link->client.end.inbox.size(), 40u);
    link->client.end.inbox[30] ^= 0x01;
    uint8_t buf[256];
    size_t got = 0;
    EXPECT_EQ(link->client.session->read(buf, sizeof buf, &got), TlsResult::kFailed);
    EXPECT_EQ(got, 0u);
    EXPECT_EQ(link->client.session->failure(), record_status_name(RecordStatus::kBadRecordMac));
    link->pump();  // the alert reaches the server
    EXPECT_EQ(link->server.session->state(), TlsState::kFailed);
    EXPECT_NE(link->server.session->failure().find("bad record mac"), std::string::npos)
        << link->server.session->failure();
  }
}

// The server's fatal alert reaches our client with its description.
TEST_F(OwnRecordLayerTest, PeerAlertNamed) {
  client_own_records = false;
  auto link = exchanged();
  exchange(*link, 1);
  ASSERT_TRUE(link->server.session->own_records());
  // OpenSSL's client sees a record it cannot open and answers bad_record_mac.
  const std::vector<uint8_t> a = message(80, 9);
  size_t taken = 0;
  ASSERT_EQ(link->server.session->write(a.data(), a.size(), &taken), TlsResult::kDone);
  link->client.end.round();
  link->client.end.inbox[30] ^= 0x01;
  link->pump();
  EXPECT_EQ(link->client.session->state(), TlsState::kFailed);
  EXPECT_EQ(link->server.session->state(), TlsState::kFailed);
  EXPECT_EQ(link->server.session->failure(), "the peer sent an alert: bad record mac");
}

TEST_F(OwnRecordLayerTest, GarbageHeaderRefusedWithoutWaitingForABody) {
  auto link = exchanged();
  ASSERT_TRUE(link->server.session->own_records());
  const uint8_t junk[] = {0x16, 0x03, 0x03, 0x40, 0x00};  // a handshake record, 16 kB announced
  link->server.end.inbox.assign(junk, junk + sizeof junk);
  uint8_t buf[64];
  size_t got = 0;
  EXPECT_EQ(link->server.session->read(buf, sizeof buf, &got), TlsResult::kFailed);
  EXPECT_EQ(link->server.session->failure(), record_status_name(RecordStatus::kBadHeader));
}

TEST_F(OwnRecordLayerTest, CloseNotifyAfterDataInOneRead) {
  auto link = exchanged();
  ASSERT_TRUE(link->client.session->own_records());
  const std::vector<uint8_t> a = message(60, 1);
  size_t taken = 0;
  ASSERT_EQ(link->server.session->write(a.data(), a.size(), &taken), TlsResult::kDone);
  ASSERT_EQ(link->server.session->shutdown(), TlsResult::kDone);
  EXPECT_EQ(link->server.session->write(a.data(), a.size(), &taken), TlsResult::kClosed);
  link->client.end.round();
  uint8_t buf[256];
  size_t got = 0;
  ASSERT_EQ(link->client.session->read(buf, sizeof buf, &got), TlsResult::kDone);
  EXPECT_EQ(std::vector<uint8_t>(buf, buf + got), a);
  EXPECT_EQ(link->client.session->read(buf, sizeof buf, &got), TlsResult::kClosed);
  EXPECT_EQ(link->client.session->state(), TlsState::kClosed);
  EXPECT_TRUE(link->client.session->close_notify_received());
}

// A record header arrived without its body while the client was still on OpenSSL's records:
// OpenSSL holds the header (SSL_has_pending says nothing), so the client must not switch
// until the record is whole and read.
TEST_F(OwnRecordLayerTest, NoSwitchWithARecordHeaderInsideOpenSsl) {
  ServerConfig s;
  s.tickets_per_handshake = 0;  // the client switches after its first answer
  cc = client_context();
  sc = server_context(s);
  auto link = connect(*cc, *sc, by_name());
  one_record_each(*link, link->client, link->server, 1);
  ASSERT_TRUE(link->server.session->own_records());
  ASSERT_FALSE(link->client.session->own_records());
  const std::vector<uint8_t> a = message(100, 1), b = message(70, 2);
  size_t taken = 0;
  ASSERT_EQ(link->server.session->write(a.data(), a.size(), &taken), TlsResult::kDone);
  ASSERT_EQ(link->server.session->write(b.data(), b.size(), &taken), TlsResult::kDone);
  std::vector<uint8_t>& wire = link->client.end.in_flight;
  ASSERT_EQ(wire.size(), a.size() + b.size() + 2 * kRecordOverhead);
  const size_t first = a.size() + kRecordOverhead + kRecordHeaderLen;  // a, then b's header
  link->client.end.inbox.assign(wire.begin(), wire.begin() + static_cast<long>(first));
  wire.erase(wire.begin(), wire.begin() + static_cast<long>(first));
  uint8_t buf[256];
  size_t got = 0;
  ASSERT_EQ(link->client.session->read(buf, sizeof buf, &got), TlsResult::kDone);
  EXPECT_EQ(std::vector<uint8_t>(buf, buf + got), a);
  EXPECT_EQ(link->client.session->read(buf, sizeof buf, &got), TlsResult::kWantInput);
  EXPECT_FALSE(link->client.session->own_records());  // b's header is inside OpenSSL
  link->client.end.round();
  ASSERT_EQ(link->client.session->read(buf, sizeof buf, &got), TlsResult::kDone) << link->client.session->failure();
  EXPECT_EQ(std::vector<uint8_t>(buf, buf + got), b);
  exchange(*link, 3);
  EXPECT_TRUE(link->client.session->own_records());
}

// KeyUpdates from the peer cost key schedules: 32 in a row are followed (as OpenSSL
// does), the 33rd without application data between fails the session.
TEST_F(OwnRecordLayerTest, KeyUpdateFloodRefused) {
  server_own_records = false;
  auto link = exchanged();
  ASSERT_TRUE(link->client.session->own_records());
  SSL* s = link->server.session->native();
  auto updates = [&](int n) {
    for (int i = 0; i < n; ++i) {
      ASSERT_EQ(SSL_key_update(s, SSL_KEY_UPDATE_NOT_REQUESTED), 1);
      ASSERT_EQ(SSL_do_handshake(s), 1);  // sends it
    }
  };
  updates(32);
  exchange(*link, 2);  // answers under the 32nd keys
  EXPECT_EQ(link->client.session->state(), TlsState::kEstablished) << link->client.session->failure();
  EXPECT_EQ(link->client.session->record_stats().key_updates_received, 32u);
  updates(33);
  link->pump();
  EXPECT_EQ(link->client.session->state(), TlsState::kFailed);
  EXPECT_EQ(link->client.session->failure(), "too many KeyUpdates without application data");
}

// The peer asks for an update while we want one with a request of our own: the reply
// must not request (RFC 8446 4.6.3), so two KeyUpdates go out, the reply first.
TEST_F(OwnRecordLayerTest, ReplyToARequestNeverRequests) {
  server_own_records = false;
  auto link = exchanged();
  ASSERT_TRUE(link->client.session->own_records());
  ASSERT_TRUE(link->client.session->update_keys(true));
  SSL* s = link->server.session->native();
  ASSERT_EQ(SSL_key_update(s, SSL_KEY_UPDATE_REQUESTED), 1);
  ASSERT_EQ(SSL_do_handshake(s), 1);
  link->pump();
  EXPECT_EQ(link->client.session->record_stats().key_updates_sent, 2u);
  exchange(*link, 3);  // OpenSSL answered our request and both sides carry on
  EXPECT_EQ(link->client.session->record_stats().key_updates_received, 2u);
  EXPECT_EQ(link->server.session->state(), TlsState::kEstablished) << link->server.session->failure();
}

// A KeyUpdate reply that found the stream full waits in the channel with no caller bytes
// behind it; the worker's flush sends it with write(nullptr, 0).
TEST_F(OwnRecordLayerTest, KeyUpdateReplyWaitsForRoom) {
  server_own_records = false;
  auto link = exchanged();
  ASSERT_TRUE(link->client.session->own_records());
  SSL* s = link->server.session->native();
  ASSERT_EQ(SSL_key_update(s, SSL_KEY_UPDATE_REQUESTED), 1);
  ASSERT_EQ(SSL_do_handshake(s), 1);
  link->client.end.round();
  link->client.end.room = 0;
  uint8_t buf[64];
  size_t got = 0;
  EXPECT_EQ(link->client.session->read(buf, sizeof buf, &got), TlsResult::kWantInput);
  EXPECT_TRUE(link->client.session->output_pending());
  EXPECT_FALSE(link->client.session->release_buffers());
  size_t taken = 1;
  EXPECT_EQ(link->client.session->write(nullptr, 0, &taken), TlsResult::kWantOutput);
  link->client.end.room = SIZE_MAX;
  EXPECT_EQ(link->client.session->write(nullptr, 0, &taken), TlsResult::kDone);
  EXPECT_EQ(taken, 0u);
  EXPECT_FALSE(link->client.session->output_pending());
  EXPECT_EQ(link->client.session->record_stats().key_updates_sent, 1u);
  exchange(*link, 3);
  EXPECT_EQ(link->server.session->state(), TlsState::kEstablished) << link->server.session->failure();
}

// Once on our layer a session needs no SSL: a server's goes back to its context at once
// (the next client reuses it while this one goes on), a client's is freed with its ticket
// still resumable.
TEST_F(OwnRecordLayerTest, SslsLetGoAtTheSwitch) {
  cc = client_context();
  sc = server_context();
  auto first = connect(*cc, *sc, by_name());
  exchange(*first, 2);
  ASSERT_TRUE(first->server.session->own_records());
  EXPECT_EQ(first->server.session->native(), nullptr);
  EXPECT_EQ(first->client.session->native(), nullptr);
  EXPECT_EQ(sc->spare_ssl_objects(), 1u);
  auto second = join(*cc, *sc, by_name());
  EXPECT_EQ(sc->spare_ssl_objects(), 0u);  // taken by the second connection's server
  second->pump();
  EXPECT_EQ(sc->spare_ssl_objects(), 1u);  // and back after its handshake
  exchange(*second, 2);
  EXPECT_TRUE(second->client.session->resumed());
  EXPECT_EQ(second->client.session->version(), "TLSv1.3");
  EXPECT_EQ(second->client.session->cipher(), "TLS_AES_256_GCM_SHA384");  // OpenSSL's first choice
  EXPECT_EQ(second->client.session->alpn(), "dot");
  EXPECT_EQ(second->server.session->alpn(), "dot");
  exchange(*first, 2);  // the first goes on without its SSL
  EXPECT_EQ(sc->spare_ssl_objects(), 1u);
}

}  // namespace
}  // namespace dotgate::tls
