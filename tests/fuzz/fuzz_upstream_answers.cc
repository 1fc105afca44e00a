// libFuzzer target: the upstream answer path. One long-lived UpstreamPool over a fake
// transport; each input is a script of events: questions submitted, connections that
// connect, fail or close, time passing, and messages arriving on connections (arbitrary
// bytes, or a real answer to a query in flight there, possibly with its question changed
// or sent twice). Checks: every answer the pool hands over carries the question that was
// asked for that token, no token is answered or failed twice, and the books balance
// (submitted = answered + failed + shed-at-submit + in flight).
#include <cstdint>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "dns/wire.h"
#include "fuzz_check.h"
#include "upstream/pool.h"

using namespace dotgate;
using namespace dotgate::upstream;

namespace {

struct Fake final : Transport, AnswerSink {
  std::map<ConnId, std::vector<uint8_t>> last_sent;  // per connection, the last query
  std::map<uint64_t, std::vector<uint8_t>> asked;    // token -> wire name asked
  std::map<uint64_t, bool> settled;
  uint64_t answered = 0, failed = 0;

  void open(ConnId, const UpstreamSpec&, bool) override {}
  void send(ConnId c, const uint8_t* msg, size_t len) override { last_sent[c].assign(msg, msg + len); }
  void close(ConnId c) override { last_sent.erase(c); }
  void on_answer(uint64_t token, const uint8_t* msg, size_t len, const dns::Response& r, const uint16_t*) override {
    CHECK(asked.count(token) == 1);
    CHECK(!settled[token]);
    settled[token] = true;
    const std::vector<uint8_t>& name = asked[token];
    CHECK(r.qdcount == 1 && r.qname_len == name.size());
    CHECK(len >= dns::kHeaderSize + name.size());
    CHECK(std::memcmp(msg + dns::kHeaderSize, name.data(), name.size()) == 0);
    ++answered;
  }
  void on_failure(uint64_t token, Failure) override {
    CHECK(asked.count(token) == 1);
    CHECK(!settled[token]);
    settled[token] = true;
    ++failed;
  }
};

// The answer an upstream would give to `query`: the header with QR and RA, the question,
// one A record.
std::vector<uint8_t> answer_to(const std::vector<uint8_t>& query) {
  size_t q = dns::kHeaderSize;
  while (q < query.size() && query[q] != 0) q += query[q] + 1u;
  q += 5;
  if (q > query.size()) return {};
  std::vector<uint8_t> a(query.begin(), query.begin() + static_cast<std::ptrdiff_t>(q));
  a[2] = 0x81;
  a[3] = 0x80;
  a[6] = 0, a[7] = 1;    // ANCOUNT 1
  a[10] = 0, a[11] = 0;  // ARCOUNT 0 (the query's OPT is not echoed)
  const uint8_t rr[] = {0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0x0e, 0x10, 0, 4, 192, 0, 2, 1};
  a.insert(a.end(), rr, rr + sizeof rr);
  return a;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static uint64_t now = 1'000'000;
  static uint64_t next_token = 1;
  static uint64_t shed = 0, submitted = 0;
  static Fake fake;
  static UpstreamPool* pool = [] {
    PoolConfig c;
    for (const char* u : {"192.0.2.10#a.test", "192.0.2.11#b.test", "192.0.2.12#c.test"}) {
      c.upstreams.push_back(std::get<UpstreamSpec>(parse_upstream(u)));
    }
    c.fallback.push_back(std::get<UpstreamSpec>(parse_upstream("198.51.100.1#f.test")));
    c.connections_per_upstream = 2;
    c.max_outstanding = 8;
    c.max_pending = 64;
    c.query_timeout_us = 200'000;
    c.total_budget_us = 600'000;
    c.policy = Policy::kLowestLatency;
    return new UpstreamPool(c, fake, fake, now);
  }();
  const uint32_t conns = static_cast<uint32_t>(pool->connection_count());
  size_t i = 0;
  auto next = [&]() -> uint8_t { return i < size ? data[i++] : 0; };
  std::map<uint64_t, std::vector<uint8_t>> sent_answers;
  while (i < size) {
    switch (next() % 6) {
      case 0: {  // a question
        const std::string label = "q" + std::to_string(next());
        std::vector<uint8_t> name = {static_cast<uint8_t>(label.size())};
        name.insert(name.end(), label.begin(), label.end());
        const uint8_t tail[] = {7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 0};
        name.insert(name.end(), tail, tail + sizeof tail);
        Question q;
        q.name = name.data();
        q.name_len = name.size();
        q.qtype = 1;
        const uint64_t token = next_token++;
        fake.asked[token] = name;
        ++submitted;
        if (!pool->submit(q, token, now)) {
          ++shed;
          fake.settled[token] = true;
        }
        break;
      }
      case 1:
        pool->on_connected(next() % conns, now);
        break;
      case 2: {
        const ConnId c = next() % conns;
        pool->on_connect_failed(c, next() & 1, now);
        break;
      }
      case 3:
        pool->on_closed(next() % conns, now);
        break;
      case 4: {  // a message on a connection
        const ConnId c = next() % conns;
        const uint8_t mode = next() % 4;
        std::vector<uint8_t> msg;
        if (mode == 0 || fake.last_sent.count(c) == 0) {
          const size_t n = next();
          for (size_t k = 0; k < n && i < size; ++k) msg.push_back(next());
        } else {
          msg = answer_to(fake.last_sent[c]);
          if (mode == 2 && msg.size() > dns::kHeaderSize + 1) msg[dns::kHeaderSize + 1] ^= 0x20;  // another question
          if (mode == 3) sent_answers[c] = msg;  // and once more below
        }
        pool->on_message(c, msg.data(), msg.size(), now);
        if (mode == 3) pool->on_message(c, msg.data(), msg.size(), now);
        break;
      }
      case 5:
        now += uint64_t{next()} * 10'000;
        pool->advance(now);
        break;
    }
  }
  // The books balance: every token is answered, failed, shed, or still in flight.
  CHECK(fake.answered + fake.failed + shed + pool->in_flight() == submitted);
  CHECK(pool->in_flight() <= 64);
  return 0;
}
