// Microbenchmarks of src/tls, counting the appliance's side only (the upstream or the DoT
// client it talks to runs untimed, between measured stretches):
//   - a forwarded query over an established TLS 1.3 TLS_AES_128_GCM_SHA256 session: frame
//     and encrypt a query padded to 128 bytes, decrypt and reassemble a ~200-byte answer;
//     also bursts of 32 queries coalesced into one record; and the same single query
//     through our own record layer (tls_records.h, ipsec-mb AES-GCM) instead of
//     SSL_write/SSL_read, the session's handshake done by OpenSSL;
//   - full server handshakes (ECDSA P-256 certificate, X25519) and resumed ones (TLS 1.3
//     ticket, psk_dhe_ke), the server's work only: the session's creation (an SSL the
//     context kept from a finished connection, or SSL_new), its handshake calls, its
//     destruction (SSL_clear for reuse, or SSL_free); the *NewSsl variants never reuse;
//   - bytes held by an idle established session, counted through CRYPTO_set_mem_functions
//     (installed in main, before any other OpenSSL call, in this binary only).
//   build/release/benchmarks/tls_bench --benchmark_repetitions=5 --benchmark_report_aggregates_only=true
#include <benchmark/benchmark.h>
#include <malloc.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <new>
#include <string>
#include <vector>

#include "dns/builder.h"
#include "tls/dot_framing.h"
#include "tls/tls_context.h"
#include "tls/tls_records.h"
#include "tls/tls_session.h"
#include "workload.h"

using namespace dotgate;
using namespace dotgate::tls;

namespace {

// --- OpenSSL's allocations, counted ------------------------------------------------------

size_t g_live_bytes = 0;  // usable bytes of every live OpenSSL allocation
uint64_t g_allocations = 0;

size_t g_cxx_live_bytes = 0;  // usable bytes of every live operator-new allocation

void* counting_malloc(size_t n, const char*, int) {
  void* p = std::malloc(n);
  if (p) {
    g_live_bytes += malloc_usable_size(p);
    ++g_allocations;
  }
  return p;
}

void counting_free(void* p, const char*, int) {
  if (!p) return;
  g_live_bytes -= malloc_usable_size(p);
  std::free(p);
}

void* counting_realloc(void* p, size_t n, const char* file, int line) {
  if (n == 0) {
    counting_free(p, file, line);
    return nullptr;
  }
  const size_t before = p ? malloc_usable_size(p) : 0;
  void* q = std::realloc(p, n);
  if (q) {
    g_live_bytes += malloc_usable_size(q) - before;
    ++g_allocations;
  }
  return q;
}

// --- a certificate and the contexts ------------------------------------------------------

// A self-signed ECDSA P-256 server certificate in a scratch directory; the client
// authenticates it by its SPKI pin (its own verification is not measured).
struct Credentials {
  std::string dir, chain, key;
  SpkiSha256 pin{};
  Credentials() {
    std::string pattern = (std::filesystem::temp_directory_path() / "dotgate-tls-bench-XXXXXX").string();
    dir = mkdtemp(pattern.data());
    EVP_PKEY* k = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256");
    X509* x = X509_new();
    X509_set_version(x, X509_VERSION_3);
    ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
    X509_gmtime_adj(X509_getm_notBefore(x), -3600);
    X509_gmtime_adj(X509_getm_notAfter(x), 86400);
    X509_set_pubkey(x, k);
    X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC,
                               reinterpret_cast<const unsigned char*>("dns.bench.test"), -1, -1, 0);
    X509_set_issuer_name(x, X509_get_subject_name(x));
    X509_sign(x, k, EVP_sha256());
    chain = dir + "/chain.pem";
    key = dir + "/key.pem";
    FILE* f = std::fopen(chain.c_str(), "w");
    PEM_write_X509(f, x);
    std::fclose(f);
    f = std::fopen(key.c_str(), "w");
    PEM_write_PrivateKey(f, k, nullptr, nullptr, 0, nullptr, nullptr);
    std::fclose(f);
    unsigned char* der = nullptr;
    const int len = i2d_PUBKEY(k, &der);
    size_t md_len = 0;
    EVP_Q_digest(nullptr, "SHA256", nullptr, der, static_cast<size_t>(len), pin.data(), &md_len);
    OPENSSL_free(der);
    X509_free(x);
    EVP_PKEY_free(k);
  }
  ~Credentials() {
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }
};

template <typename T>
std::unique_ptr<T> must(std::variant<std::unique_ptr<T>, TlsError> r) {
  if (auto* e = std::get_if<TlsError>(&r)) {
    std::fprintf(stderr, "tls_bench: %s\n", e->message.c_str());
    std::exit(1);
  }
  return std::move(std::get<std::unique_ptr<T>>(r));
}

// Both sides' contexts, each over its own library context as two workers would have.
struct World {
  Credentials creds;
  LibraryContext client_lib = new_library_context(), server_lib = new_library_context();
  std::unique_ptr<ClientContext> client;
  std::unique_ptr<ServerContext> server;
  // `own_client_records`: the appliance's (client) sessions move onto our own record layer
  // after the handshake; the upstream (server) stays on OpenSSL's in the forwarding
  // benchmarks, so every query the measured side sends is checked by OpenSSL.
  // `own_server_records`: server sessions gather what the switch needs during the handshake
  // (keylog and message callbacks), as the appliance's DoT listener does.
  explicit World(uint32_t spare_ssl_objects = ServerConfig{}.spare_ssl_objects, bool own_client_records = false,
                 bool own_server_records = false) {
    ProtocolConfig p;
    p.tls13_ciphersuites = "TLS_AES_128_GCM_SHA256";
    p.groups = "X25519";
    p.own_record_layer = false;
    ClientConfig c;
    c.protocol = p;
    c.protocol.own_record_layer = own_client_records;
    c.ca_file = creds.chain;
    client = must(ClientContext::create(c, client_lib.get()));
    ServerConfig s;
    s.protocol = p;
    s.certificate_chain_file = creds.chain;
    s.private_key_file = creds.key;
    s.spare_ssl_objects = spare_ssl_objects;
    s.protocol.own_record_layer = own_server_records;
    server = must(ServerContext::create(s, server_lib.get(), 0));
  }
  ClientAuth auth() const { return ClientAuth{"", {creds.pin}}; }
};

// One direction of the in-memory link: a buffer the sender appends to and the receiver
// drains (its capacity is kept, so the measured loops do not allocate).
struct ByteQueue {
  std::vector<uint8_t> bytes;
  size_t head = 0;
  size_t size() const { return bytes.size() - head; }
};

struct Stream : CipherStream {
  ByteQueue* in = nullptr;
  ByteQueue* out = nullptr;
  size_t receive(uint8_t* dst, size_t cap) override {
    const size_t n = std::min(cap, in->size());
    std::memcpy(dst, in->bytes.data() + in->head, n);
    in->head += n;
    if (in->head == in->bytes.size()) {
      in->bytes.clear();
      in->head = 0;
    }
    return n;
  }
  size_t send(const uint8_t* data, size_t len) override {
    out->bytes.insert(out->bytes.end(), data, data + len);
    return len;
  }
  bool ended() const override { return false; }
  // As the dataplane's TCP stream does (its receive buffer's fill); false: a stream that
  // cannot tell, so every read goes to OpenSSL (BM_ForwardOneQueryOpaqueStream).
  bool tells_input = true;
  bool has_input() const override { return !tells_input || in->size() != 0; }
};

// A stream that also keeps a copy of every byte sent (to find where the application keys
// start, for the own record layer's take-over).
struct LoggingStream : Stream {
  std::vector<uint8_t> log;
  bool logging = true;
  size_t send(const uint8_t* data, size_t len) override {
    if (logging) log.insert(log.end(), data, data + len);
    return Stream::send(data, len);
  }
};

// A client (the appliance, toward an upstream) and a server (the upstream) joined.
template <typename S>
struct PairOf {
  ByteQueue to_server, to_client;
  S client_stream, server_stream;
  std::unique_ptr<TlsSession> client, server;
  PairOf(World& w, uint32_t key = 0) {
    to_server.bytes.reserve(1 << 20);
    to_client.bytes.reserve(1 << 20);
    client_stream.in = &to_client;
    client_stream.out = &to_server;
    server_stream.in = &to_server;
    server_stream.out = &to_client;
    client = must(TlsSession::client(*w.client, client_stream, w.auth(), key));
    server = must(TlsSession::server(*w.server, server_stream));
  }
  // Handshake and the tickets after it, to quiet.
  void establish() {
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
    if (client->state() != TlsState::kEstablished || server->state() != TlsState::kEstablished) {
      std::fprintf(stderr, "tls_bench: handshake failed: %s / %s\n", client->failure().c_str(),
                   server->failure().c_str());
      std::exit(1);
    }
  }
};
using Pair = PairOf<Stream>;

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// A 60-byte-ish query padded to 128 (RFC 8467), as the appliance sends upstream.
std::vector<uint8_t> padded_query() {
  static const uint8_t qname[] = {3, 'w', 'w', 'w', 7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 3, 'c', 'o', 'm', 0};
  std::vector<uint8_t> q(512);
  dns::EdnsParams edns;
  const size_t len = dns::build_query(q.data(), q.size(), 0x1234, 0x0100, qname, sizeof qname, 1, 1, &edns, 128);
  q.resize(len);
  return q;
}

// --- (a) forwarded queries ---------------------------------------------------------------

// Each benchmark iteration forwards `burst` queries and takes in their `burst` answers;
// the upstream's side (decrypting the queries, encrypting the answers, each answer its
// own record unless `answers_coalesced`) runs untimed between iterations.
void forward(benchmark::State& state, size_t burst, bool answers_coalesced, bool release_per_record,
             bool stream_tells_input = true, bool own_layer = false) {
  World w(ServerConfig{}.spare_ssl_objects, own_layer);
  Pair p(w);
  p.establish();
  p.client_stream.tells_input = stream_tells_input;
  if (release_per_record) {  // what SSL_MODE_RELEASE_BUFFERS would cost (not what we do)
    SSL_set_mode(p.client->native(), SSL_MODE_RELEASE_BUFFERS);
    SSL_set_mode(p.server->native(), SSL_MODE_RELEASE_BUFFERS);
  }
  const std::vector<uint8_t> query = padded_query();
  std::vector<uint8_t> answer(200);
  for (size_t i = 0; i < answer.size(); ++i) answer[i] = static_cast<uint8_t>(i);
  DotWriter out, upstream_out;
  DotReassembler in(kMaxDnsMessage, 4096);
  std::vector<uint8_t> plain(16 * 1024 + 256);
  uint64_t queries = 0, answers = 0, cycles = 0;
  double measured = 0;
  for (auto _ : state) {
    // Untimed: the upstream reads the previous queries and prepares this burst's answers.
    size_t got = 0;
    while (p.server->read(plain.data(), plain.size(), &got) == TlsResult::kDone) {
    }
    for (size_t i = 0; i < burst; ++i) {
      upstream_out.append(answer.data(), answer.size());
      if (!answers_coalesced || i + 1 == burst) {
        size_t taken = 0;
        p.server->write(upstream_out.data(), upstream_out.size(), &taken);
        upstream_out.consume(taken);
      }
    }
    // Timed: the appliance's side.
    const uint64_t c0 = bench::tsc_now();
    const auto t0 = std::chrono::steady_clock::now();
    for (size_t i = 0; i < burst; ++i) out.append(query.data(), query.size());
    size_t taken = 0;
    p.client->write(out.data(), out.size(), &taken);
    out.consume(taken);
    for (;;) {
      const TlsResult r = p.client->read(plain.data(), plain.size(), &got);
      if (r != TlsResult::kDone) break;
      in.feed(plain.data(), got);
      const uint8_t* m;
      size_t len;
      while (in.next(&m, &len) == FrameResult::kMessage) {
        benchmark::DoNotOptimize(m[0]);
        ++answers;
      }
    }
    const double s = seconds_since(t0);
    cycles += bench::tsc_now() - c0;
    state.SetIterationTime(s);
    measured += s;
    queries += burst;
  }
  if (answers != queries) state.SkipWithError("answers lost");
  if (p.client->own_records() != own_layer) state.SkipWithError("not on the record layer asked for");
  state.counters["ns/query"] = measured * 1e9 / static_cast<double>(queries);
  state.counters["cycles/query"] = static_cast<double>(cycles) / static_cast<double>(queries);
  state.counters["queries/s"] = static_cast<double>(queries) / measured;
}

void BM_ForwardOneQuery(benchmark::State& state) { forward(state, 1, false, false); }
void BM_ForwardOneQueryReleasePerRecord(benchmark::State& state) { forward(state, 1, false, true); }
// The stream cannot say it is empty: the read that finds nothing goes through OpenSSL.
void BM_ForwardOneQueryOpaqueStream(benchmark::State& state) { forward(state, 1, false, false, false); }
// Arg: 0 = the upstream answers each query in its own record, 1 = in one record.
void BM_ForwardBurst32(benchmark::State& state) { forward(state, 32, state.range(0) != 0, false); }
// The same through TlsSession once it moved onto our own record layer (what the dataplane
// runs): the first answer went through OpenSSL, every measured one through ipsec-mb.
void BM_ForwardOneQueryOwnLayer(benchmark::State& state) { forward(state, 1, false, false, true, true); }
void BM_ForwardBurst32OwnLayer(benchmark::State& state) {
  forward(state, 32, state.range(0) != 0, false, true, true);
}
BENCHMARK(BM_ForwardOneQuery)->UseManualTime();
BENCHMARK(BM_ForwardOneQueryOwnLayer)->UseManualTime();
BENCHMARK(BM_ForwardOneQueryReleasePerRecord)->UseManualTime();
BENCHMARK(BM_ForwardOneQueryOpaqueStream)->UseManualTime();
BENCHMARK(BM_ForwardBurst32)->Arg(0)->Arg(1)->UseManualTime();
BENCHMARK(BM_ForwardBurst32OwnLayer)->Arg(0)->Arg(1)->UseManualTime();

// --- (a') the same query through our own record layer -----------------------------------

// Traffic secrets from OpenSSL's keylog callback, by client random (hex).
std::map<std::string, std::pair<std::vector<uint8_t>, std::vector<uint8_t>>> g_traffic_secrets;

std::vector<uint8_t> unhex(const std::string& h) {
  std::vector<uint8_t> out;
  for (size_t i = 0; i + 1 < h.size(); i += 2) out.push_back(static_cast<uint8_t>(std::stoul(h.substr(i, 2), nullptr, 16)));
  return out;
}

void keylog(const SSL*, const char* line) {
  const std::string l(line);
  const size_t a = l.find(' '), b = l.find(' ', a + 1);
  if (a == std::string::npos || b == std::string::npos) return;
  const std::string label = l.substr(0, a), random = l.substr(a + 1, b - a - 1);
  if (label == "CLIENT_TRAFFIC_SECRET_0") g_traffic_secrets[random].first = unhex(l.substr(b + 1));
  if (label == "SERVER_TRAFFIC_SECRET_0") g_traffic_secrets[random].second = unhex(l.substr(b + 1));
}

// Records in `log` (everything one side sent) protected under `keys`: the first one that
// opens at sequence 0 and all after it. The sequence number that direction continues at.
uint64_t records_under(const std::vector<uint8_t>& log, const GcmEngine& engine, const Tls13RecordKeys& keys) {
  RecordUnprotector follow(engine, keys, 0);
  bool found = false;
  for (size_t at = 0; at < log.size();) {
    const size_t n = RecordUnprotector::record_length(log.data() + at, log.size() - at);
    if (n == 0 || at + n > log.size()) break;
    std::vector<uint8_t> rec(log.begin() + static_cast<long>(at), log.begin() + static_cast<long>(at + n));
    if (!found) {
      RecordUnprotector probe(engine, keys, 0);
      std::vector<uint8_t> copy = rec;
      const RecordStatus st = probe.unprotect(copy.data(), copy.size()).status;
      found = st != RecordStatus::kBadRecordMac && st != RecordStatus::kBadHeader;
    }
    if (found && follow.unprotect(rec.data(), rec.size()).consumed != n) {
      std::fprintf(stderr, "tls_bench: a record under the application keys does not open\n");
      std::exit(1);
    }
    at += n;
  }
  return follow.sequence();
}

// BM_ForwardOneQuery's work with the appliance's records done by tls_records.h: frame
// the query, protect it into one record and hand it to the stream; take the answer's
// bytes from the stream, open the record in place, reassemble. The upstream stays
// OpenSSL (untimed), so every query is checked by SSL_read and every answer is OpenSSL's.
void BM_ForwardOneQueryOwnRecords(benchmark::State& state) {
  World w;
  SSL_CTX_set_keylog_callback(w.client->native(), keylog);
  PairOf<LoggingStream> p(w);
  p.establish();
  unsigned char random[32];
  SSL_get_client_random(p.client->native(), random, sizeof random);
  std::string hex;
  for (unsigned char c : random) {
    char b[3];
    std::snprintf(b, sizeof b, "%02x", c);
    hex += b;
  }
  const auto& secrets = g_traffic_secrets[hex];
  const auto cipher = std::get<RecordCipher>(
      record_cipher_from_suite(SSL_CIPHER_get_protocol_id(SSL_get_current_cipher(p.client->native()))));
  const auto client_keys = std::get<Tls13RecordKeys>(Tls13RecordKeys::from_secret(cipher, secrets.first));
  const auto server_keys = std::get<Tls13RecordKeys>(Tls13RecordKeys::from_secret(cipher, secrets.second));
  const auto engine = must(GcmEngine::create());
  // Take over after the handshake and the ticket OpenSSL's client already processed.
  RecordProtector protector(*engine, client_keys, records_under(p.client_stream.log, *engine, client_keys));
  RecordUnprotector unprotector(*engine, server_keys, records_under(p.server_stream.log, *engine, server_keys));
  p.client_stream.logging = p.server_stream.logging = false;
  state.SetLabel(engine->arch_name());

  const std::vector<uint8_t> query = padded_query();
  std::vector<uint8_t> answer(200);
  for (size_t i = 0; i < answer.size(); ++i) answer[i] = static_cast<uint8_t>(i);
  DotWriter out, upstream_out;
  DotReassembler in(kMaxDnsMessage, 4096);
  std::vector<uint8_t> plain(16 * 1024 + 256);
  std::vector<uint8_t> record(kMaxPlaintext + kRecordOverhead);  // the record being written
  std::vector<uint8_t> rx(2 * (kMaxCiphertext + kRecordHeaderLen));  // bytes taken from the stream
  size_t rx_len = 0;
  bool failed = false;
  uint64_t queries = 0, answers = 0, cycles = 0;
  double measured = 0;
  for (auto _ : state) {
    // Untimed: the upstream (OpenSSL) reads the previous query and writes this answer.
    size_t got = 0;
    while (p.server->read(plain.data(), plain.size(), &got) == TlsResult::kDone) {
    }
    upstream_out.append(answer.data(), answer.size());
    size_t taken = 0;
    p.server->write(upstream_out.data(), upstream_out.size(), &taken);
    upstream_out.consume(taken);
    // Timed: the appliance's side.
    const uint64_t c0 = bench::tsc_now();
    const auto t0 = std::chrono::steady_clock::now();
    out.append(query.data(), query.size());
    size_t written = 0;
    failed |= protector.protect(std::span<const uint8_t>(out.data(), out.size()), record.data(), record.size(),
                                &written) != ProtectStatus::kOk;
    p.client_stream.send(record.data(), written);
    out.consume(out.size());
    while (p.client_stream.has_input()) {
      rx_len += p.client_stream.receive(rx.data() + rx_len, rx.size() - rx_len);
      size_t at = 0;
      for (;;) {
        const Unprotected u = unprotector.unprotect(rx.data() + at, rx_len - at);
        if (u.status != RecordStatus::kApplicationData) {
          failed |= u.status != RecordStatus::kNeedMore;
          break;
        }
        at += u.consumed;
        in.feed(u.payload, u.payload_len);
        const uint8_t* m;
        size_t len;
        while (in.next(&m, &len) == FrameResult::kMessage) {
          benchmark::DoNotOptimize(m[0]);
          ++answers;
        }
      }
      if (failed) break;
      if (at) {
        std::memmove(rx.data(), rx.data() + at, rx_len - at);
        rx_len -= at;
      }
    }
    const double s = seconds_since(t0);
    cycles += bench::tsc_now() - c0;
    state.SetIterationTime(s);
    measured += s;
    ++queries;
    if (failed) break;
  }
  size_t got = 0;  // the last query, through OpenSSL's SSL_read
  while (p.server->read(plain.data(), plain.size(), &got) == TlsResult::kDone) {
  }
  if (failed) state.SkipWithError("a record failed");
  if (p.server->state() != TlsState::kEstablished) state.SkipWithError(("upstream: " + p.server->failure()).c_str());
  if (answers != queries) state.SkipWithError("answers lost");
  state.counters["ns/query"] = measured * 1e9 / static_cast<double>(queries);
  state.counters["cycles/query"] = static_cast<double>(cycles) / static_cast<double>(queries);
  state.counters["queries/s"] = static_cast<double>(queries) / measured;
}
BENCHMARK(BM_ForwardOneQueryOwnRecords)->UseManualTime();

// --- (b, c) server handshakes ------------------------------------------------------------

void handshakes(benchmark::State& state, bool resume, bool reuse_ssl = true, bool own_layer = true) {
  World w(reuse_ssl ? ServerConfig{}.spare_ssl_objects : 0, false, own_layer);
  {  // a first connection leaves a ticket behind for the resumed runs
    Pair first(w);
    first.establish();
  }
  uint64_t resumed = 0, n = 0, cycles = 0;
  double measured = 0;
  uint8_t sink[1024];
  for (auto _ : state) {
    if (!resume) w.client->forget_session(0);
    ByteQueue to_server, to_client;
    to_server.bytes.reserve(8192);
    to_client.bytes.reserve(8192);
    Stream cs, ss;
    cs.in = &to_client;
    cs.out = &to_server;
    ss.in = &to_server;
    ss.out = &to_client;
    auto client = must(TlsSession::client(*w.client, cs, w.auth(), 0));
    client->handshake();  // ClientHello
    // The server: SSL_new, ClientHello -> its flight, the client's Finished -> tickets.
    uint64_t c0 = bench::tsc_now();
    auto t0 = std::chrono::steady_clock::now();
    auto server = must(TlsSession::server(*w.server, ss));
    server->handshake();
    double s = seconds_since(t0);
    uint64_t c = bench::tsc_now() - c0;
    client->handshake();  // verifies, sends Finished
    c0 = bench::tsc_now();
    t0 = std::chrono::steady_clock::now();
    const TlsResult r = server->handshake();
    s += seconds_since(t0);
    c += bench::tsc_now() - c0;
    size_t got = 0;
    client->read(sink, sizeof sink, &got);  // takes the ticket in
    if (r != TlsResult::kDone || client->state() != TlsState::kEstablished) {
      state.SkipWithError(("handshake failed: " + client->failure() + server->failure()).c_str());
      break;
    }
    resumed += server->resumed();
    client.reset();
    c0 = bench::tsc_now();
    t0 = std::chrono::steady_clock::now();
    server.reset();
    s += seconds_since(t0);
    c += bench::tsc_now() - c0;
    state.SetIterationTime(s);
    measured += s;
    cycles += c;
    ++n;
  }
  state.counters["handshakes/s"] = static_cast<double>(n) / measured;
  state.counters["cycles/handshake"] = static_cast<double>(cycles) / static_cast<double>(n);
  state.counters["resumed_fraction"] = static_cast<double>(resumed) / static_cast<double>(n);
}

void BM_ServerFullHandshake(benchmark::State& state) { handshakes(state, false); }
void BM_ServerResumedHandshake(benchmark::State& state) { handshakes(state, true); }
// The same with every server session on a new SSL (SSL_new, SSL_free), as before the
// context kept finished connections' SSL objects for reuse.
void BM_ServerFullHandshakeNewSsl(benchmark::State& state) { handshakes(state, false, false); }
void BM_ServerResumedHandshakeNewSsl(benchmark::State& state) { handshakes(state, true, false); }
// Without the own record layer's callbacks (keylog, message): what they add to a handshake.
void BM_ServerFullHandshakeOpenSslRecords(benchmark::State& state) { handshakes(state, false, true, false); }
BENCHMARK(BM_ServerFullHandshake)->UseManualTime();
BENCHMARK(BM_ServerResumedHandshake)->UseManualTime();
BENCHMARK(BM_ServerFullHandshakeOpenSslRecords)->UseManualTime();
BENCHMARK(BM_ServerFullHandshakeNewSsl)->UseManualTime();
BENCHMARK(BM_ServerResumedHandshakeNewSsl)->UseManualTime();

// --- (d) idle sessions -------------------------------------------------------------------

// Server SSL_new + SSL_free alone: the part of a handshake's cost that is not the
// handshake.
void BM_ServerSessionNewFree(benchmark::State& state) {
  World w;
  Stream s;
  for (auto _ : state) {
    auto session = must(TlsSession::server(*w.server, s));
    benchmark::DoNotOptimize(session.get());
  }
}
BENCHMARK(BM_ServerSessionNewFree);

// Establishes 256 pairs, exchanges one query and answer on each, then frees the server
// sessions, the client sessions and the stored tickets, counting what each freed: OpenSSL's
// allocations and ours (operator new: the TlsSession, the own record layer's channel, key
// schedules and buffers), by malloc_usable_size.
// Args: release (1 = the sessions released their record buffers first, idle; 0 = they hold
// them), own (1 = both sides on the own record layer, 0 = OpenSSL's).
void BM_IdleSessionBytes(benchmark::State& state) {
  const bool own = state.range(1) != 0;
  World w(0, own, own);  // no SSL kept for reuse: freeing a server session frees all it holds
  constexpr size_t kPairs = 256;
  const std::vector<uint8_t> query = padded_query();
  for (auto _ : state) {
    std::vector<std::unique_ptr<Pair>> pairs;
    for (size_t i = 0; i < kPairs; ++i) {
      pairs.push_back(std::make_unique<Pair>(w, static_cast<uint32_t>(i)));
      Pair& p = *pairs.back();
      p.establish();
      size_t taken = 0, got = 0;
      uint8_t buf[512];
      p.client->write(query.data(), query.size(), &taken);
      p.server->read(buf, sizeof buf, &got);
      p.server->write(buf, got, &taken);
      p.client->read(buf, sizeof buf, &got);
      if (state.range(0) && !(p.client->release_buffers() && p.server->release_buffers())) {
        state.SkipWithError("buffers not released");
      }
      if (p.client->own_records() != own || p.server->own_records() != own) {
        state.SkipWithError("not on the record layer asked for");
      }
    }
    auto live = [] { return g_live_bytes + g_cxx_live_bytes; };
    const size_t with_all = live();
    for (auto& p : pairs) p->server.reset();
    const size_t without_servers = live();
    for (auto& p : pairs) p->client.reset();
    const size_t without_clients = live();
    for (size_t i = 0; i < kPairs; ++i) w.client->forget_session(static_cast<uint32_t>(i));
    state.counters["server_bytes/session"] = static_cast<double>(with_all - without_servers) / kPairs;
    state.counters["client_bytes/session"] = static_cast<double>(without_servers - without_clients) / kPairs;
    state.counters["stored_ticket_bytes/upstream"] = static_cast<double>(without_clients - live()) / kPairs;
  }
}
BENCHMARK(BM_IdleSessionBytes)->ArgNames({"release", "own"})->Args({1, 1})->Args({1, 0})->Args({0, 1})->Args({0, 0})->Iterations(1);

}  // namespace

// Counts our own allocations beside OpenSSL's (BM_IdleSessionBytes).
void* operator new(size_t n) {
  void* p = std::malloc(n ? n : 1);
  if (!p) throw std::bad_alloc();
  g_cxx_live_bytes += malloc_usable_size(p);
  return p;
}
void* operator new[](size_t n) { return operator new(n); }
void* operator new(size_t n, const std::nothrow_t&) noexcept {
  void* p = std::malloc(n ? n : 1);
  if (p) g_cxx_live_bytes += malloc_usable_size(p);
  return p;
}
void* operator new[](size_t n, const std::nothrow_t& t) noexcept { return operator new(n, t); }
void operator delete(void* p) noexcept {
  if (!p) return;
  g_cxx_live_bytes -= malloc_usable_size(p);
  std::free(p);
}
void operator delete[](void* p) noexcept { operator delete(p); }
void operator delete(void* p, size_t) noexcept { operator delete(p); }
void operator delete[](void* p, size_t) noexcept { operator delete(p); }

int main(int argc, char** argv) {
  // Must precede every other OpenSSL call; OpenSSL refuses once it has allocated.
  if (!CRYPTO_set_mem_functions(counting_malloc, counting_realloc, counting_free)) {
    std::fprintf(stderr, "tls_bench: CRYPTO_set_mem_functions refused\n");
    return 1;
  }
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
