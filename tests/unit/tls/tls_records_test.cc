// Tests for tls/tls_records.h against OpenSSL as the real peer: a TLS 1.3 session is
// established in memory between OpenSSL client and server sessions (TlsSession); the
// client's application traffic secrets come from the keylog callback. Then our record
// layer takes over the client's side: records OpenSSL's server writes are opened by ours,
// records ours writes are read by OpenSSL's SSL_read. Both AES-GCM suites.
#include "tls/tls_records.h"

#include <gtest/gtest.h>
#include <openssl/kdf.h>
#include <openssl/core_names.h>
#include <openssl/params.h>

#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "tls_fixture.h"

namespace dotgate::tls {
namespace {

using namespace testutil;

// --- keylog: traffic secrets by client random --------------------------------------------

struct Secrets {
  std::vector<uint8_t> client, server;  // CLIENT_/SERVER_TRAFFIC_SECRET_0
};
std::map<std::string, Secrets>& keylog_store() {
  static std::map<std::string, Secrets> m;
  return m;
}

std::vector<uint8_t> from_hex(const std::string& h) {
  std::vector<uint8_t> out;
  for (size_t i = 0; i + 1 < h.size(); i += 2) out.push_back(static_cast<uint8_t>(std::stoul(h.substr(i, 2), nullptr, 16)));
  return out;
}

std::string to_hex(const uint8_t* p, size_t n) {
  static const char* d = "0123456789abcdef";
  std::string s;
  for (size_t i = 0; i < n; ++i) {
    s += d[p[i] >> 4];
    s += d[p[i] & 15];
  }
  return s;
}

void keylog(const SSL*, const char* line) {
  const std::string l(line);
  const size_t a = l.find(' '), b = l.find(' ', a + 1);
  if (a == std::string::npos || b == std::string::npos) return;
  const std::string label = l.substr(0, a), random = l.substr(a + 1, b - a - 1), secret = l.substr(b + 1);
  if (label == "CLIENT_TRAFFIC_SECRET_0") keylog_store()[random].client = from_hex(secret);
  if (label == "SERVER_TRAFFIC_SECRET_0") keylog_store()[random].server = from_hex(secret);
}

// --- an in-memory link that keeps a copy of every byte sent ------------------------------

struct Pipe {
  std::vector<uint8_t> queue;  // sent, not yet received
  std::vector<uint8_t> log;    // everything ever sent
};

struct Wire : CipherStream {
  Pipe* in = nullptr;
  Pipe* out = nullptr;
  size_t receive(uint8_t* dst, size_t cap) override {
    const size_t n = std::min(cap, in->queue.size());
    if (n == 0) return 0;  // (memcpy from an empty vector's null data is undefined)
    std::memcpy(dst, in->queue.data(), n);
    in->queue.erase(in->queue.begin(), in->queue.begin() + static_cast<long>(n));
    return n;
  }
  size_t send(const uint8_t* data, size_t len) override {
    out->queue.insert(out->queue.end(), data, data + len);
    out->log.insert(out->log.end(), data, data + len);
    return len;
  }
  bool ended() const override { return false; }
  bool has_input() const override { return !in->queue.empty(); }
};

// Walks the records in `log` (all a side ever sent), finds the first one protected under
// `keys` at sequence 0 (records before it are plaintext or under handshake keys, and fail),
// opens every record from there on, and returns how many: the sequence number at which
// that direction continues. `statuses` gets each record's status, `first_bytes` its
// payload's first byte.
uint64_t records_under(const std::vector<uint8_t>& log, const GcmEngine& engine, const Tls13RecordKeys& keys,
                       std::vector<RecordStatus>* statuses, std::vector<uint8_t>* first_bytes) {
  size_t at = 0;
  bool found = false;
  RecordUnprotector follow(engine, keys, 0);
  while (at < log.size()) {
    const size_t n = RecordUnprotector::record_length(log.data() + at, log.size() - at);
    EXPECT_GT(n, 0u);
    EXPECT_LE(at + n, log.size());
    if (n == 0 || at + n > log.size()) break;
    std::vector<uint8_t> rec(log.begin() + static_cast<long>(at), log.begin() + static_cast<long>(at + n));
    if (!found) {
      RecordUnprotector probe(engine, keys, 0);
      const Unprotected u = probe.unprotect(rec.data(), rec.size());
      found = u.status != RecordStatus::kBadRecordMac && u.status != RecordStatus::kBadHeader;
      rec.assign(log.begin() + static_cast<long>(at), log.begin() + static_cast<long>(at + n));
    }
    if (found) {
      const Unprotected u = follow.unprotect(rec.data(), rec.size());
      EXPECT_EQ(u.consumed, n) << record_status_name(u.status);
      statuses->push_back(u.status);
      first_bytes->push_back(u.payload_len ? u.payload[0] : 0);
    }
    at += n;
  }
  return follow.sequence();
}

class OwnRecordsTest : public TlsFixture, public ::testing::WithParamInterface<const char*> {
 protected:
  Pipe to_server, to_client;
  Wire client_wire, server_wire;
  std::unique_ptr<ClientContext> cc;
  std::unique_ptr<ServerContext> sc;
  std::unique_ptr<TlsSession> client, server;
  std::unique_ptr<GcmEngine> engine;
  Tls13RecordKeys client_keys, server_keys;
  std::vector<uint8_t> server_secret;
  std::unique_ptr<RecordProtector> out;    // ours, as the client
  std::unique_ptr<RecordUnprotector> in;   // ours, as the client
  std::vector<RecordStatus> server_statuses;
  std::vector<uint8_t> server_first_bytes;

  void SetUp() override {
    ProtocolConfig p;
    p.min_version = TlsVersion::kTls13;
    p.tls13_ciphersuites = GetParam();
    // Both sessions stay on OpenSSL's records: these tests are the peer our layer talks to.
    p.own_record_layer = false;
    ClientConfig c;
    c.protocol = p;
    cc = client_context(c);
    ASSERT_TRUE(cc);
    SSL_CTX_set_keylog_callback(cc->native(), keylog);
    ServerConfig s;
    s.protocol = p;
    sc = server_context(s);
    ASSERT_TRUE(sc);
    client_wire.in = &to_client;
    client_wire.out = &to_server;
    server_wire.in = &to_server;
    server_wire.out = &to_client;
    client = ok(TlsSession::client(*cc, client_wire, by_name(), 0));
    server = ok(TlsSession::server(*sc, server_wire));
    ASSERT_TRUE(client && server);
    // The handshake and the tickets after it, to quiet: OpenSSL's client has read them.
    uint8_t sink[1024];
    size_t got = 0;
    for (int i = 0; i < 8; ++i) {
      client->handshake();
      server->handshake();
      while (client->read(sink, sizeof sink, &got) == TlsResult::kDone) {
      }
      while (server->read(sink, sizeof sink, &got) == TlsResult::kDone) {
      }
    }
    ASSERT_EQ(client->state(), TlsState::kEstablished) << client->failure();
    ASSERT_EQ(server->state(), TlsState::kEstablished) << server->failure();
    ASSERT_TRUE(to_client.queue.empty());
    ASSERT_TRUE(to_server.queue.empty());

    unsigned char random[32];
    ASSERT_EQ(SSL_get_client_random(client->native(), random, sizeof random), 32u);
    const Secrets secrets = keylog_store()[to_hex(random, 32)];
    ASSERT_FALSE(secrets.client.empty());
    ASSERT_FALSE(secrets.server.empty());
    server_secret = secrets.server;

    const auto suite = record_cipher_from_suite(SSL_CIPHER_get_protocol_id(SSL_get_current_cipher(client->native())));
    ASSERT_TRUE(std::holds_alternative<RecordCipher>(suite));
    const RecordCipher cipher = std::get<RecordCipher>(suite);
    EXPECT_EQ(cipher, std::string(GetParam()) == "TLS_AES_128_GCM_SHA256" ? RecordCipher::kAes128GcmSha256
                                                                          : RecordCipher::kAes256GcmSha384);
    auto ck = Tls13RecordKeys::from_secret(cipher, secrets.client);
    auto sk = Tls13RecordKeys::from_secret(cipher, secrets.server);
    ASSERT_TRUE(std::holds_alternative<Tls13RecordKeys>(ck));
    ASSERT_TRUE(std::holds_alternative<Tls13RecordKeys>(sk));
    client_keys = std::get<Tls13RecordKeys>(ck);
    server_keys = std::get<Tls13RecordKeys>(sk);
    engine = ok(GcmEngine::create());
    ASSERT_TRUE(engine);

    // Take over where OpenSSL left off, counting the records each side has already
    // protected under its application keys.
    std::vector<RecordStatus> client_statuses;
    std::vector<uint8_t> client_first;
    const uint64_t client_seq = records_under(to_server.log, *engine, client_keys, &client_statuses, &client_first);
    const uint64_t server_seq =
        records_under(to_client.log, *engine, server_keys, &server_statuses, &server_first_bytes);
    out = std::make_unique<RecordProtector>(*engine, client_keys, client_seq);
    in = std::make_unique<RecordUnprotector>(*engine, server_keys, server_seq);
  }

  // Our client protects `content` and OpenSSL's server reads it.
  std::vector<uint8_t> send_ours(const std::vector<uint8_t>& content, size_t padding = 0) {
    std::vector<uint8_t> rec(content.size() + padding + kRecordOverhead);
    size_t written = 0;
    EXPECT_EQ(out->protect(content, rec.data(), rec.size(), &written, ContentType::kApplicationData, padding),
              ProtectStatus::kOk);
    EXPECT_EQ(written, rec.size());
    to_server.queue.insert(to_server.queue.end(), rec.begin(), rec.end());
    std::vector<uint8_t> got(content.size() + 1);
    std::vector<uint8_t> all;
    for (;;) {
      size_t n = 0;
      if (server->read(got.data(), got.size(), &n) != TlsResult::kDone) break;
      all.insert(all.end(), got.begin(), got.begin() + static_cast<long>(n));
    }
    return all;
  }

  // Opens every whole record waiting for the client; application data is appended to
  // `data`, every record's status to the result. Stops at the first non-application record.
  std::vector<RecordStatus> open_all(std::vector<uint8_t>* data, std::vector<uint8_t>* other = nullptr) {
    std::vector<RecordStatus> statuses;
    while (!to_client.queue.empty()) {
      const Unprotected u = in->unprotect(to_client.queue.data(), to_client.queue.size());
      statuses.push_back(u.status);
      if (u.status == RecordStatus::kApplicationData) {
        data->insert(data->end(), u.payload, u.payload + u.payload_len);
      } else {
        if (other && u.payload) other->assign(u.payload, u.payload + u.payload_len);
        if (u.consumed) to_client.queue.erase(to_client.queue.begin(), to_client.queue.begin() + static_cast<long>(u.consumed));
        break;
      }
      to_client.queue.erase(to_client.queue.begin(), to_client.queue.begin() + static_cast<long>(u.consumed));
    }
    return statuses;
  }

  void server_write(const std::vector<uint8_t>& m) {
    size_t taken = 0;
    ASSERT_EQ(server->write(m.data(), m.size(), &taken), TlsResult::kDone);
    ASSERT_EQ(taken, m.size());
  }
};

std::vector<uint8_t> bytes(size_t len, uint8_t seed) {
  std::vector<uint8_t> m(len);
  for (size_t i = 0; i < len; ++i) m[i] = static_cast<uint8_t>(seed * 31 + i * 7);
  return m;
}

TEST_P(OwnRecordsTest, TakesOverAfterTheTicketsOpenSslAlreadyProcessed) {
  // The server sent one NewSessionTicket (tickets_per_handshake = 1) under its
  // application keys; OpenSSL's client consumed it. Ours opened the same bytes from the
  // log: a handshake-type record, message type 4, so ours continues at sequence 1.
  ASSERT_EQ(server_statuses.size(), 1u);
  EXPECT_EQ(server_statuses[0], RecordStatus::kHandshake);
  EXPECT_EQ(server_first_bytes[0], 4);  // new_session_ticket
  EXPECT_EQ(in->sequence(), 1u);
  EXPECT_EQ(out->sequence(), 0u);  // the client had written nothing under its app keys
}

TEST_P(OwnRecordsTest, OpensWhatOpenSslWrites) {
  std::vector<uint8_t> expect;
  for (size_t len : {1u, 200u, 1000u, 16384u, 40000u}) {
    const auto m = bytes(len, static_cast<uint8_t>(len));
    server_write(m);
    expect.insert(expect.end(), m.begin(), m.end());
  }
  std::vector<uint8_t> got;
  const auto statuses = open_all(&got);
  EXPECT_GE(statuses.size(), 7u);  // 40000 bytes take three records
  for (auto s : statuses) EXPECT_EQ(s, RecordStatus::kApplicationData) << record_status_name(s);
  EXPECT_EQ(got, expect);
  EXPECT_TRUE(to_client.queue.empty());
}

TEST_P(OwnRecordsTest, OpenSslReadsWhatOursWrites) {
  for (size_t len : {1u, 128u, 200u, 4096u, 16384u}) {
    const auto m = bytes(len, static_cast<uint8_t>(len + 1));
    EXPECT_EQ(send_ours(m), m) << len;
  }
  // Padding (RFC 8446 5.4) is stripped by OpenSSL; a padded record at the size limit too.
  EXPECT_EQ(send_ours(bytes(128, 9), 7), bytes(128, 9));
  EXPECT_EQ(send_ours(bytes(10, 3), 1000), bytes(10, 3));
  EXPECT_EQ(send_ours(bytes(16000, 5), 384), bytes(16000, 5));
  EXPECT_EQ(server->state(), TlsState::kEstablished) << server->failure();
  EXPECT_EQ(out->sequence(), 8u);
}

TEST_P(OwnRecordsTest, ManyQueriesAndAnswersInterleaved) {
  for (int i = 0; i < 300; ++i) {
    const auto q = bytes(130, static_cast<uint8_t>(i));
    ASSERT_EQ(send_ours(q), q) << i;
    const auto a = bytes(202 + static_cast<size_t>(i % 50), static_cast<uint8_t>(i + 77));
    server_write(a);
    std::vector<uint8_t> got;
    const auto st = open_all(&got);
    ASSERT_EQ(st.size(), 1u);
    ASSERT_EQ(got, a) << i;
  }
  EXPECT_EQ(in->sequence(), 301u);
}

TEST_P(OwnRecordsTest, StripsOpenSslsPadding) {
  ASSERT_EQ(SSL_set_block_padding(server->native(), 512), 1);
  const auto m = bytes(10, 1);
  server_write(m);
  ASSERT_GE(to_client.queue.size(), kRecordHeaderLen);
  // The record is padded to 512 bytes of inner plaintext.
  EXPECT_EQ(RecordUnprotector::record_length(to_client.queue.data(), to_client.queue.size()),
            kRecordHeaderLen + 512 + kRecordTagLen);
  std::vector<uint8_t> got;
  EXPECT_EQ(open_all(&got), std::vector<RecordStatus>{RecordStatus::kApplicationData});
  EXPECT_EQ(got, m);
}

TEST_P(OwnRecordsTest, RejectsATamperedRecord) {
  server_write(bytes(100, 1));
  std::vector<uint8_t> saved = to_client.queue;
  const uint64_t seq = in->sequence();
  for (size_t at : {saved.size() - 1, size_t{kRecordHeaderLen + 3}}) {  // the tag; the ciphertext
    std::vector<uint8_t> rec = saved;
    rec[at] ^= 0x40;
    const Unprotected u = in->unprotect(rec.data(), rec.size());
    EXPECT_EQ(u.status, RecordStatus::kBadRecordMac);
    EXPECT_EQ(u.consumed, 0u);
    EXPECT_EQ(in->sequence(), seq);
  }
  // The header is authenticated too: a record cut shorter than it says fails the tag.
  {
    std::vector<uint8_t> rec = saved;
    rec[4] = static_cast<uint8_t>(rec[4] - 1);
    EXPECT_EQ(in->unprotect(rec.data(), rec.size() - 1).status, RecordStatus::kBadRecordMac);
  }
  // The untouched record still opens at the same sequence number.
  std::vector<uint8_t> got;
  EXPECT_EQ(open_all(&got), std::vector<RecordStatus>{RecordStatus::kApplicationData});
  EXPECT_EQ(got, bytes(100, 1));

  // And OpenSSL refuses a record of ours with a flipped tag bit.
  std::vector<uint8_t> rec(50 + kRecordOverhead);
  size_t written = 0;
  ASSERT_EQ(out->protect(bytes(50, 2), rec.data(), rec.size(), &written), ProtectStatus::kOk);
  rec.back() ^= 1;
  to_server.queue.insert(to_server.queue.end(), rec.begin(), rec.end());
  uint8_t buf[100];
  size_t n = 0;
  EXPECT_EQ(server->read(buf, sizeof buf, &n), TlsResult::kFailed);
}

TEST_P(OwnRecordsTest, ReportsAKeyUpdateAndTheNextKeysOpenWhatFollows) {
  server_write(bytes(20, 1));
  ASSERT_EQ(SSL_key_update(server->native(), SSL_KEY_UPDATE_NOT_REQUESTED), 1);
  server_write(bytes(30, 2));  // sends the KeyUpdate, then this under the new keys
  std::vector<uint8_t> got, message;
  const auto st = open_all(&got, &message);
  ASSERT_EQ(st, (std::vector<RecordStatus>{RecordStatus::kApplicationData, RecordStatus::kHandshake}));
  EXPECT_EQ(got, bytes(20, 1));
  ASSERT_EQ(message.size(), 5u);  // KeyUpdate: type 24, length 1, update_not_requested
  EXPECT_EQ(message[0], 24);
  EXPECT_EQ(message[4], 0);
  // Under the old keys the next record fails: the caller must not go on without the
  // update. With application_traffic_secret_1 (RFC 8446 7.2) it opens at sequence 0.
  {
    std::vector<uint8_t> copy = to_client.queue;
    EXPECT_EQ(in->unprotect(copy.data(), copy.size()).status, RecordStatus::kBadRecordMac);
  }
  std::vector<uint8_t> next(server_secret.size());
  ASSERT_TRUE(hkdf_expand_label(server_keys.cipher, server_secret, "traffic upd", {}, next));
  auto k1 = Tls13RecordKeys::from_secret(server_keys.cipher, next);
  ASSERT_TRUE(std::holds_alternative<Tls13RecordKeys>(k1));
  in = std::make_unique<RecordUnprotector>(*engine, std::get<Tls13RecordKeys>(k1), 0);
  got.clear();
  EXPECT_EQ(open_all(&got), std::vector<RecordStatus>{RecordStatus::kApplicationData});
  EXPECT_EQ(got, bytes(30, 2));
}

TEST_P(OwnRecordsTest, ReportsAnAlert) {
  server->shutdown();
  std::vector<uint8_t> got, alert;
  EXPECT_EQ(open_all(&got, &alert), std::vector<RecordStatus>{RecordStatus::kAlert});
  EXPECT_EQ(alert, (std::vector<uint8_t>{1, 0}));  // warning, close_notify
}

TEST_P(OwnRecordsTest, RefusesMalformedRecords) {
  const auto m = bytes(64, 4);
  std::vector<uint8_t> rec(m.size() + kRecordOverhead);
  size_t written = 0;
  ASSERT_EQ(out->protect(m, rec.data(), rec.size(), &written), ProtectStatus::kOk);
  // Read back with our own unprotector over the client's keys at the same sequence.
  auto check = [&](std::vector<uint8_t> r, RecordStatus expect, size_t cut = 0) {
    RecordUnprotector u(*engine, client_keys, out->sequence() - 1);
    EXPECT_EQ(u.unprotect(r.data(), r.size() - cut).status, expect);
  };
  check(rec, RecordStatus::kApplicationData);
  check(rec, RecordStatus::kNeedMore, 1);
  check(rec, RecordStatus::kNeedMore, rec.size() - 4);
  auto bad = rec;
  bad[0] = 22;  // outer type handshake
  check(bad, RecordStatus::kBadHeader, rec.size() - 5);  // refused from the header alone
  bad = rec;
  bad[2] = 0x01;  // version 0x0301
  check(bad, RecordStatus::kBadHeader);
  bad = rec;
  bad[3] = 0x41;  // length 2^14 + 256 + 1 and more
  bad[4] = 0x01;
  check(bad, RecordStatus::kRecordOverflow);
  bad = rec;
  bad[3] = 0;
  bad[4] = 5;  // shorter than a tag
  check(bad, RecordStatus::kBadRecordMac);

  // Inner plaintexts that authenticate but are not allowed.
  auto inner = [&](ContentType type, size_t content, size_t padding, RecordStatus expect) {
    RecordProtector p(*engine, client_keys, 7);
    RecordUnprotector u(*engine, client_keys, 7);
    std::vector<uint8_t> r(content + padding + kRecordOverhead);
    size_t w = 0;
    ASSERT_EQ(p.protect(std::span<const uint8_t>(m.data(), content), r.data(), r.size(), &w, type, padding),
              ProtectStatus::kOk);
    const Unprotected got = u.unprotect(r.data(), r.size());
    EXPECT_EQ(got.status, expect) << record_status_name(got.status);
    if (expect == RecordStatus::kApplicationData) {
      EXPECT_EQ(got.payload_len, content);
    }
  };
  inner(static_cast<ContentType>(0), 0, 100, RecordStatus::kBadInnerPlaintext);  // all zero
  inner(ContentType::kChangeCipherSpec, 1, 0, RecordStatus::kBadInnerPlaintext);
  inner(ContentType::kHandshake, 0, 3, RecordStatus::kBadInnerPlaintext);  // empty handshake
  inner(ContentType::kApplicationData, 0, 0, RecordStatus::kApplicationData);  // empty data is fine
  inner(ContentType::kApplicationData, 64, 16384 - 64, RecordStatus::kApplicationData);

  // Protect refuses what does not fit.
  std::vector<uint8_t> big(kMaxPlaintext + 1);
  std::vector<uint8_t> room(kMaxPlaintext + 400);
  EXPECT_EQ(out->protect(big, room.data(), room.size(), &written), ProtectStatus::kTooLarge);
  EXPECT_EQ(out->protect(m, room.data(), room.size(), &written, ContentType::kApplicationData, kMaxPlaintext),
            ProtectStatus::kTooLarge);
  EXPECT_EQ(out->protect(m, room.data(), m.size() + kRecordOverhead - 1, &written), ProtectStatus::kNoRoom);
  EXPECT_EQ(written, 0u);
}

TEST_P(OwnRecordsTest, ProtectsInPlace) {
  const auto m = bytes(300, 8);
  std::vector<uint8_t> buf(kRecordHeaderLen + m.size() + 1 + kRecordTagLen);
  std::memcpy(buf.data() + kRecordHeaderLen, m.data(), m.size());
  size_t written = 0;
  ASSERT_EQ(out->protect(std::span<const uint8_t>(buf.data() + kRecordHeaderLen, m.size()), buf.data(), buf.size(),
                         &written),
            ProtectStatus::kOk);
  to_server.queue.insert(to_server.queue.end(), buf.begin(), buf.end());
  uint8_t got[400];
  size_t n = 0;
  ASSERT_EQ(server->read(got, sizeof got, &n), TlsResult::kDone);
  EXPECT_EQ(std::vector<uint8_t>(got, got + n), m);
}

INSTANTIATE_TEST_SUITE_P(Suites, OwnRecordsTest,
                         ::testing::Values("TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384"),
                         [](const ::testing::TestParamInfo<const char*>& i) {
                           return std::string(i.param) == "TLS_AES_128_GCM_SHA256" ? "Aes128" : "Aes256";
                         });

// --- key derivation ----------------------------------------------------------------------

// HKDF-Expand-Label against OpenSSL's own TLS 1.3 KDF (TLS13-KDF, an implementation
// independent of ours, which builds the label on HKDF).
TEST(TlsRecordKeys, MatchesOpenSslsTls13Kdf) {
  for (RecordCipher c : {RecordCipher::kAes128GcmSha256, RecordCipher::kAes256GcmSha384}) {
    const size_t hlen = c == RecordCipher::kAes128GcmSha256 ? 32 : 48;
    std::vector<uint8_t> secret(hlen);
    for (size_t i = 0; i < hlen; ++i) secret[i] = static_cast<uint8_t>(i * 13 + 1);
    auto r = Tls13RecordKeys::from_secret(c, secret);
    ASSERT_TRUE(std::holds_alternative<Tls13RecordKeys>(r));
    const Tls13RecordKeys k = std::get<Tls13RecordKeys>(r);
    auto reference = [&](const char* label, size_t len) {
      EVP_KDF* kdf = EVP_KDF_fetch(nullptr, "TLS13-KDF", nullptr);
      EXPECT_NE(kdf, nullptr);
      EVP_KDF_CTX* ctx = EVP_KDF_CTX_new(kdf);
      EVP_KDF_free(kdf);
      int mode = EVP_KDF_HKDF_MODE_EXPAND_ONLY;
      char digest[8];
      std::strcpy(digest, c == RecordCipher::kAes128GcmSha256 ? "SHA256" : "SHA384");
      char prefix[] = "tls13 ";
      std::string l(label);
      OSSL_PARAM params[] = {
          OSSL_PARAM_construct_int(OSSL_KDF_PARAM_MODE, &mode),
          OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, digest, 0),
          OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, secret.data(), secret.size()),
          OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_PREFIX, prefix, 6),
          OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_LABEL, l.data(), l.size()),
          OSSL_PARAM_construct_end(),
      };
      std::vector<uint8_t> out(len);
      EXPECT_EQ(EVP_KDF_derive(ctx, out.data(), out.size(), params), 1);
      EVP_KDF_CTX_free(ctx);
      return out;
    };
    EXPECT_EQ(std::vector<uint8_t>(k.key.begin(), k.key.begin() + static_cast<long>(k.key_len())),
              reference("key", k.key_len()));
    EXPECT_EQ(std::vector<uint8_t>(k.iv.begin(), k.iv.end()), reference("iv", 12));
  }
}

TEST(TlsRecordKeys, RefusesASecretOfTheWrongLength) {
  std::vector<uint8_t> secret(48);
  auto r = Tls13RecordKeys::from_secret(RecordCipher::kAes128GcmSha256, secret);
  ASSERT_TRUE(std::holds_alternative<TlsError>(r));
  EXPECT_NE(std::get<TlsError>(r).message.find("needs 32"), std::string::npos);
  EXPECT_TRUE(std::holds_alternative<TlsError>(record_cipher_from_suite(0x1303)));  // ChaCha20
}

}  // namespace
}  // namespace dotgate::tls
