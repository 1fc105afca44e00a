// The whole worker (src/worker) on a TAP device, for tests against real peers: clients ask
// it over UDP, it answers from its cache and forwards misses over DoT (our TCP, OpenSSL) to
// a real upstream resolver. Test support: plain heap buffers stand in for mbufs.
//
//   worker_tap IFACE SECONDS CA_FILE PRIVACY DOT_CERT DOT_KEY UPSTREAM...
//
// The worker is 192.0.2.2/24 and 2001:db8::2/64 on IFACE, serves UDP and TCP 53 and DoT
// 853 (certificate DOT_CERT, key DOT_KEY) to 192.0.2.0/24 and 2001:db8::/64 (REFUSED to
// others), and forwards everything to one pool of the given
// upstreams (`IP[@port][#name]`), verified against CA_FILE; PRIVACY is strict or
// opportunistic. Prints "ready", a "tls:" line whenever the first upstream connection's TLS
// facts change, and on exit (SIGTERM or SECONDS) its counters.
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <random>
#include <string>
#include <vector>

#include "net/addr_text.h"
#include "tap_link.h"
#include "upstream/upstream_spec.h"
#include "worker/worker.h"

using namespace dotgate;

namespace {

volatile std::sig_atomic_t g_stop = 0;
void on_signal(int) { g_stop = 1; }

// Heap buffers behind PacketIo handles (index + 1); transmit writes the frame to the TAP.
class TapPackets final : public worker::PacketIo {
 public:
  static constexpr size_t kBuffers = 8192;
  static constexpr size_t kSize = 2048;
  explicit TapPackets(test::TapLink& tap) : tap_(tap), memory_(kBuffers * kSize), length_(kBuffers) {
    for (size_t i = kBuffers; i-- > 0;) free_.push_back(static_cast<uint32_t>(i));
  }
  uint64_t alloc(uint8_t** data, size_t* cap) override {
    if (free_.empty()) return 0;
    const uint32_t i = free_.back();
    free_.pop_back();
    *data = &memory_[size_t{i} * kSize];
    *cap = kSize;
    length_[i] = 0;
    return uint64_t{i} + 1;
  }
  uint8_t* data(uint64_t h) override { return &memory_[(h - 1) * kSize]; }
  size_t length(uint64_t h) override { return length_[h - 1]; }
  void set_length(uint64_t h, size_t len) override { length_[h - 1] = len; }
  void transmit(uint64_t h) override {
    tap_.send(data(h), length(h));
    release(h);
  }
  void release(uint64_t h) override { free_.push_back(static_cast<uint32_t>(h - 1)); }
  size_t in_use() const { return kBuffers - free_.size(); }

 private:
  test::TapLink& tap_;
  std::vector<uint8_t> memory_;
  std::vector<size_t> length_;
  std::vector<uint32_t> free_;
};

net::IpPrefix prefix(const char* text) { return *net::parse_prefix(text); }

}  // namespace

int main(int argc, char** argv) try {
  if (argc < 8) {
    std::fprintf(stderr, "usage: %s IFACE SECONDS CA_FILE strict|opportunistic DOT_CERT DOT_KEY UPSTREAM...\n",
                 argv[0]);
    return 2;
  }
  std::signal(SIGTERM, on_signal);
  std::signal(SIGINT, on_signal);
  test::TapLink link(argv[1]);
  const int seconds = std::atoi(argv[2]);
  const net::MacAddr mac{{0x02, 0x00, 0x00, 0x00, 0x00, 0x02}};

  worker::WorkerConfig c;
  c.has_ipv4 = true;
  c.ipv4.mac = mac;
  c.ipv4.address = 0xc0000202;
  c.ipv4.prefix_len = 24;
  c.has_ipv6 = true;
  c.ipv6.mac = mac;
  c.ipv6.address = *net::parse_ipv6("2001:db8::2");
  c.ipv6.prefix_len = 64;
  for (const char* any : {"0.0.0.0", "::"}) {
    worker::ListenerConfig l;
    l.address = *net::parse_ip(any);
    l.wildcard = true;
    l.udp = l.tcp = true;
    l.allow = {prefix("192.0.2.0/24"), prefix("2001:db8::/64")};
    c.listeners.push_back(l);
    l.udp = l.tcp = false;
    l.dot = true;
    l.port = 853;
    c.listeners.push_back(l);
  }
  c.dot_certificate_file = argv[5];
  c.dot_key_file = argv[6];
  c.cache.memory_bytes = 8 << 20;
  c.secret = std::random_device{}() | uint64_t{std::random_device{}()} << 32;
  c.tls_client.ca_file = argv[3];
  // Our KeyUpdates every 16 records: the real upstreams (unbound, knot-resolver) must
  // follow them for the pipelined checks to pass.
  c.tls_client.protocol.key_update_after_records = 16;
  c.tcp_connections = 256;
  worker::PoolSetup pool;
  pool.pool.privacy = std::strcmp(argv[4], "opportunistic") == 0 ? upstream::Privacy::kOpportunistic
                                                                  : upstream::Privacy::kStrict;
  pool.pool.connections_per_upstream = 2;
  pool.pool.query_timeout_us = 1'000'000;
  pool.pool.total_budget_us = 2'500'000;
  pool.pool.backoff_max_us = 2'000'000;  // the test restarts its upstream and waits for us
  for (int i = 7; i < argc; ++i) {
    auto u = upstream::parse_upstream(argv[i]);
    if (auto* e = std::get_if<upstream::SpecError>(&u)) {
      std::fprintf(stderr, "worker_tap: %s: %s\n", argv[i], e->message.c_str());
      return 2;
    }
    pool.pool.upstreams.push_back(std::get<upstream::UpstreamSpec>(u));
  }
  pool.zones = {"."};
  c.pools.push_back(pool);

  TapPackets packets(link);
  const auto start = std::chrono::steady_clock::now();
  auto now_us = [&] {
    return static_cast<uint64_t>(
               std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - start).count()) +
           1'000'000;
  };
  worker::Worker w(c, packets, now_us());
  std::printf("ready\n");
  std::fflush(stdout);
  w.announce(now_us());

  std::string last_tls, last_failure;
  const uint64_t end = now_us() + static_cast<uint64_t>(seconds) * 1'000'000;
  while (!g_stop && now_us() < end) {
    uint8_t* data;
    size_t cap;
    const uint64_t h = packets.alloc(&data, &cap);
    if (h != 0) {
      const size_t n = link.receive(data, cap, 1);
      if (n == 0) {
        packets.release(h);
      } else {
        packets.set_length(h, n);
        w.receive(h, now_us());
      }
    }
    w.poll(now_us());
    const worker::Worker::UpstreamTlsInfo tls = w.upstream_tls(0, 0);
    const std::string line = tls.version.empty() ? std::string()
                                                 : tls.version + " " + tls.cipher + " verified=" + tls.verified_name +
                                                       " layer=" + tls.record_layer + (tls.resumed ? " resumed" : "");
    if (!tls.last_failure.empty() && tls.last_failure != last_failure) {
      std::printf("tls-failure: %s\n", tls.last_failure.c_str());
      std::fflush(stdout);
      last_failure = tls.last_failure;
    }
    if (line != last_tls && !line.empty()) {
      std::printf("tls: %s\n", line.c_str());
      std::fflush(stdout);
    }
    last_tls = line;
  }
  const worker::Worker::UpstreamTlsInfo open_tls = w.upstream_tls(0, 0);
  std::printf("records: layer=%s open_connection_rekeys=%llu\n", open_tls.record_layer.c_str(),
              static_cast<unsigned long long>(open_tls.key_updates_sent));
  const worker::WorkerStats& s = w.stats();
  std::printf("counters: queries_udp=%llu queries_tcp=%llu queries_dot=%llu cache_hits=%llu cache_misses=%llu forwarded=%llu upstream_answers=%llu "
              "servfail=%llu stale=%llu refused_acl=%llu malformed=%llu truncated=%llu noerror=%llu "
              "own_records_upstream=%llu own_records_clients=%llu key_updates_sent=%llu packets_in_use=%zu\n",
              static_cast<unsigned long long>(s.queries_udp), static_cast<unsigned long long>(s.queries_tcp),
              static_cast<unsigned long long>(s.queries_dot), static_cast<unsigned long long>(s.cache_hits),
              static_cast<unsigned long long>(s.cache_misses), static_cast<unsigned long long>(s.forwarded),
              static_cast<unsigned long long>(s.upstream_answers), static_cast<unsigned long long>(s.servfail),
              static_cast<unsigned long long>(s.stale_answers), static_cast<unsigned long long>(s.refused_acl),
              static_cast<unsigned long long>(s.malformed), static_cast<unsigned long long>(s.truncated),
              static_cast<unsigned long long>(s.rcode[0]), static_cast<unsigned long long>(s.tls_own_records_upstream),
              static_cast<unsigned long long>(s.tls_own_records_clients),
              static_cast<unsigned long long>(s.tls_key_updates_sent), packets.in_use());
  const upstream::UpstreamPool& p = w.pool(0);
  for (size_t i = 0; i < p.upstream_count(); ++i) {
    const upstream::UpstreamStatus u = p.status(i);
    std::printf("upstream: %s queries=%llu answers=%llu timeouts=%llu connects=%llu connect_failures=%llu "
                "handshake_failures=%llu plaintext_queries=%llu\n",
                upstream::format_upstream(u.spec).c_str(), static_cast<unsigned long long>(u.queries),
                static_cast<unsigned long long>(u.answers), static_cast<unsigned long long>(u.timeouts),
                static_cast<unsigned long long>(u.connects), static_cast<unsigned long long>(u.connect_failures),
                static_cast<unsigned long long>(u.handshake_failures),
                static_cast<unsigned long long>(u.plaintext_queries));
  }
  const upstream::PoolStats& ps = p.stats();
  std::printf("pool: submitted=%llu answered=%llu retries=%llu failed_timeout=%llu failed_no_upstream=%llu "
              "mismatched=%llu unmatched=%llu\n",
              static_cast<unsigned long long>(ps.submitted), static_cast<unsigned long long>(ps.answered),
              static_cast<unsigned long long>(ps.retries), static_cast<unsigned long long>(ps.failed_timeout),
              static_cast<unsigned long long>(ps.failed_no_upstream),
              static_cast<unsigned long long>(ps.mismatched_answers),
              static_cast<unsigned long long>(ps.unmatched_answers));
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "worker_tap: %s\n", e.what());
  return 1;
}
