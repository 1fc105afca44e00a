// Microbenchmarks of the TCP engine: data segments received on an established connection
// (validate, checksum, deliver into the receive buffer, ACK every second segment; the
// application drains as it goes), and whole connection lifecycles (handshake, one request
// and answer, close from both ends) between two engines. Reports TSC cycles per segment
// or per connection, and the state kept per connection.
//   build/release/benchmarks/tcp_bench --benchmark_repetitions=5 --benchmark_report_aggregates_only=true
#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <deque>
#include <vector>

#include <unistd.h>

#include "net/ipv4.h"
#include "net/tcp.h"
#include "workload.h"

using namespace dotgate;
using namespace dotgate::net;

namespace {

constexpr uint32_t kA = 0xc0000201, kB = 0xc0000202;

// Queues what an engine sends; pump() delivers until both sides are quiet.
struct Wire : TcpHandler {
  std::deque<std::vector<uint8_t>> queue;
  std::vector<TcpConn> accepted;
  bool capture = true;
  uint64_t sent = 0;
  void send_segment(uint32_t, const uint8_t* seg, size_t len) override {
    ++sent;
    if (capture) queue.emplace_back(seg, seg + len);
  }
  void on_accept(TcpConn c) override { accepted.push_back(c); }
};

TcpConfig config(uint32_t addr) {
  TcpConfig c;
  c.local_address = addr;
  c.max_connections = 1024;
  c.send_buffer = 16 * 1024;
  c.receive_buffer = 64 * 1024;
  c.timestamps = false;
  c.time_wait_us = 1000;
  return c;
}

void pump(TcpEngine& a, Wire& wa, TcpEngine& b, Wire& wb, uint64_t now) {
  while (!wa.queue.empty() || !wb.queue.empty()) {
    while (!wa.queue.empty()) {
      auto s = std::move(wa.queue.front());
      wa.queue.pop_front();
      b.input(kA, s.data(), s.size(), now);
    }
    while (!wb.queue.empty()) {
      auto s = std::move(wb.queue.front());
      wb.queue.pop_front();
      a.input(kB, s.data(), s.size(), now);
    }
  }
}

void BM_TcpReceiveDataSegments(benchmark::State& state) {
  const size_t payload = static_cast<size_t>(state.range(0));
  Wire wa, wb;
  uint64_t now = 1'000'000;
  TcpEngine a(config(kA), wa, now), b(config(kB), wb, now);
  b.listen(853);
  const TcpConn ca = a.connect(kB, 853, now);
  pump(a, wa, b, wb, now);
  const TcpConn cb = wb.accepted.at(0);
  // Learn the next sequence number from one real data segment.
  const uint8_t one = 1;
  a.send(ca, &one, 1, now);
  TcpSegment first;
  parse_tcp(wa.queue.back().data(), wa.queue.back().size(), 0, &first, false);
  pump(a, wa, b, wb, now);
  uint8_t sink[1];
  b.receive(cb, sink, 1, now);
  uint32_t seq = first.seq + 1;
  const uint16_t sport = a.local_port(ca);

  // A ring of segments from A; each round patches the sequence number and checksum.
  constexpr size_t kRing = 64;
  std::vector<std::vector<uint8_t>> ring(kRing, std::vector<uint8_t>(kTcpHeader + payload));
  for (auto& seg : ring) {
    for (size_t i = 0; i < payload; ++i) seg[kTcpHeader + i] = static_cast<uint8_t>(i);
  }
  wb.capture = false;  // B's ACKs are counted, not delivered (A is not measured)
  std::vector<uint8_t> drain(payload * 4);
  size_t i = 0;
  const uint64_t t0 = bench::tsc_now();
  for (auto _ : state) {
    std::vector<uint8_t>& seg = ring[i++ % kRing];
    write_tcp(seg.data(), sport, 853, seq, 0, kTcpAck | kTcpPsh, 0, TcpSendOptions{}, payload,
              ipv4_pseudo_sum(kA, kB, kProtoTCP, seg.size()));
    // write_tcp computed the checksum over the payload: that is the sender's work, but it
    // is small next to the receiver's, and it keeps the segment honest.
    b.input(kA, seg.data(), seg.size(), now);
    seq += static_cast<uint32_t>(payload);
    b.receive(cb, drain.data(), drain.size(), now);
  }
  state.counters["cycles/segment"] =
      benchmark::Counter(static_cast<double>(bench::tsc_now() - t0), benchmark::Counter::kAvgIterations);
  state.counters["segments/s"] = benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
  state.counters["acks_per_segment"] = static_cast<double>(wb.sent) / static_cast<double>(state.iterations());
  state.counters["state_B/conn"] = static_cast<double>(TcpEngine::connection_state_bytes());
}
BENCHMARK(BM_TcpReceiveDataSegments)->Arg(64)->Arg(512)->Arg(1460);

// One whole connection per iteration, both engines' work counted: SYN, SYN-ACK, ACK, a
// 40-byte request and 100-byte answer, FIN both ways, TIME_WAIT expiry.
void BM_TcpConnectionLifecycle(benchmark::State& state) {
  Wire wa, wb;
  uint64_t now = 1'000'000;
  TcpEngine a(config(kA), wa, now), b(config(kB), wb, now);
  b.listen(853);
  uint8_t request[40] = {}, answer[100] = {}, buf[256];
  const uint64_t t0 = bench::tsc_now();
  for (auto _ : state) {
    wb.accepted.clear();
    const TcpConn ca = a.connect(kB, 853, now);
    pump(a, wa, b, wb, now);
    const TcpConn cb = wb.accepted.at(0);
    a.send(ca, request, sizeof request, now);
    pump(a, wa, b, wb, now);
    b.receive(cb, buf, sizeof buf, now);
    b.send(cb, answer, sizeof answer, now);
    pump(a, wa, b, wb, now);
    a.receive(ca, buf, sizeof buf, now);
    a.close(ca, now);
    pump(a, wa, b, wb, now);
    b.close(cb, now);
    pump(a, wa, b, wb, now);
    now += 2000;  // past TIME_WAIT (1 ms here) and the delayed-ACK timer
    a.advance(now);
    b.advance(now);
    pump(a, wa, b, wb, now);
  }
  state.counters["cycles/conn"] =
      benchmark::Counter(static_cast<double>(bench::tsc_now() - t0), benchmark::Counter::kAvgIterations);
  state.counters["conns/s"] = benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
  state.counters["open_after"] = static_cast<double>(a.connections() + b.connections());
}
BENCHMARK(BM_TcpConnectionLifecycle);

size_t resident_bytes() {
  std::FILE* f = std::fopen("/proc/self/statm", "r");
  unsigned long total = 0, resident = 0;
  if (f != nullptr) {
    if (std::fscanf(f, "%lu %lu", &total, &resident) != 2) resident = 0;
    std::fclose(f);
  }
  return resident * static_cast<size_t>(sysconf(_SC_PAGESIZE));
}

// A full table of idle established connections (1 M by default; DOTGATE_BENCH_CONNECTIONS
// sets it) between two engines whose buffer pools hold far fewer buffers than connections:
// the configured memory (TcpEngine::memory_bytes) and what the process really grew by.
void BM_TcpIdleConnectionTable(benchmark::State& state) {
  const char* env = std::getenv("DOTGATE_BENCH_CONNECTIONS");
  const uint32_t conns = env ? static_cast<uint32_t>(std::strtoul(env, nullptr, 10)) : 1'000'000;
  for (auto _ : state) {
    const size_t rss0 = resident_bytes();
    Wire wa, wb;
    uint64_t now = 1'000'000;
    TcpConfig ca = config(kA), cb = config(kB);
    for (TcpConfig* c : {&ca, &cb}) {
      c->max_connections = conns;
      c->send_buffers = c->receive_buffers = 16384;  // 256 MiB each way per engine at 16 KiB
      c->send_buffer = c->receive_buffer = 16 * 1024;
    }
    ca.ephemeral_first = 1024;
    ca.ephemeral_last = 65535;
    auto a = std::make_unique<TcpEngine>(ca, wa, now);
    auto b = std::make_unique<TcpEngine>(cb, wb, now);
    const uint32_t per_port = 65535 - 1024 + 1;
    for (uint32_t i = 0; i < conns; ++i) {
      const uint16_t port = static_cast<uint16_t>(1000 + i / per_port);
      if (i % per_port == 0) b->listen(port);
      if (a->connect(kB, port, now) == kNoConn) break;
      pump(*a, wa, *b, wb, now);
    }
    const size_t grown = resident_bytes() - rss0;
    state.counters["connections"] = static_cast<double>(b->connections());
    state.counters["configured_B/conn"] =
        static_cast<double>(TcpEngine::memory_bytes(cb)) / static_cast<double>(conns);
    state.counters["resident_B/conn"] = static_cast<double>(grown) / 2.0 / static_cast<double>(conns);
    state.counters["configured_MiB"] = static_cast<double>(TcpEngine::memory_bytes(cb)) / (1 << 20);
  }
}
BENCHMARK(BM_TcpIdleConnectionTable)->Iterations(1)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
