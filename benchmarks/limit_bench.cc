// Microbenchmarks of the per-client rate limiter: the cost of one allow() per query.
//
// One million distinct clients (three in four IPv4, the rest IPv6 from distinct /64s) ask
// in a random order, so nearly every allow() touches a slot no recent query touched, as
// on a busy resolver; the addresses arrive back to back as in an rx ring (read
// sequentially, as a worker reads packet headers); the simulated clock moves 1 µs per
// query. Two table sizes: room for
// all (2^21 slots, 64 MiB, load 0.5) and a small one (2^16 slots) where clients keep
// evicting each other. Each one query at a time (allow) and in bursts of 32 (allow_burst,
// table lines prefetched). Reported per query: time (items_per_second), TSC cycles, the
// share of queries limited and evictions.
// Run (figures in the README):
//   build/release/benchmarks/limit_bench --benchmark_repetitions=5
//       --benchmark_report_aggregates_only=true  (one command line)
#include <benchmark/benchmark.h>

#include <cstdint>
#include <memory>
#include <vector>

#include "limit/rate_limiter.h"
#include "util/hash.h"
#include "workload.h"

using namespace dotgate;

namespace {

constexpr size_t kDefaultClients = 1'000'000;
constexpr size_t kDraws = size_t{1} << 21;  // the arrival stream, cycled

struct Clients {
  std::vector<net::IpAddr> addrs;
  std::vector<net::IpAddr> stream;  // addrs drawn uniformly at random, in arrival order

  Clients() {
    const size_t n = bench::bench_names(kDefaultClients);
    addrs.resize(n);
    for (size_t i = 0; i < n; ++i) {
      const uint64_t r = util::mix64(i + 1, 0x9e3779b97f4a7c15ULL);
      net::IpAddr& a = addrs[i];
      if (i % 4 != 3) {
        a.v4 = static_cast<uint32_t>(0x0a000000u + i);  // distinct, from 10.0.0.0/8 upwards
      } else {
        a.v6 = true;
        a.v6addr.b[0] = 0x20;
        a.v6addr.b[1] = 0x01;
        a.v6addr.b[2] = 0x0d;
        a.v6addr.b[3] = 0xb8;
        for (int k = 0; k < 4; ++k) a.v6addr.b[4 + k] = static_cast<uint8_t>(i >> (8 * (3 - k)));  // the /64
        for (int k = 0; k < 8; ++k) a.v6addr.b[8 + k] = static_cast<uint8_t>(r >> (8 * k));  // any host in it
      }
    }
    stream.resize(kDraws);
    uint64_t x = 0x5eed;
    for (size_t i = 0; i < kDraws; ++i) {
      x = x * 6364136223846793005ULL + 1442695040888963407ULL;
      stream[i] = addrs[(x >> 32) % n];
    }
  }
};

const Clients& clients() {
  static Clients instance;
  return instance;
}

void run(benchmark::State& state, size_t slots, bool bursts) {
  const Clients& c = clients();
  limit::RateLimiterConfig config;
  config.qps = 200;  // config/dotgate.toml's example
  config.burst = 400;
  config.slots = slots;
  limit::RateLimiter rl(config, 0x243f6a8885a308d3ULL);
  uint64_t now = 1'000'000;
  // Warm up: every client seen once, so the timed loop measures a table in steady state.
  for (const net::IpAddr& a : c.addrs) rl.allow(a, now++);
  const uint64_t limited_before = rl.stats().limited;
  const uint64_t evictions_before = rl.stats().evictions;
  size_t i = 0;
  uint64_t passed = 0;
  const uint64_t t0 = bench::tsc_now();
  if (bursts) {
    // One iteration is a burst of 32 queries (the rx burst), reported per query.
    bool allowed[limit::RateLimiter::kBurst];
    for (auto _ : state) {
      rl.allow_burst(&c.stream[i], limit::RateLimiter::kBurst, now, allowed);
      now += limit::RateLimiter::kBurst;
      passed += allowed[0];
      i = (i + limit::RateLimiter::kBurst) & (kDraws - 1);
    }
    state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(limit::RateLimiter::kBurst));
  } else {
    for (auto _ : state) {
      passed += rl.allow(c.stream[i], now++);
      i = (i + 1) & (kDraws - 1);
    }
    state.SetItemsProcessed(state.iterations());
  }
  const uint64_t cycles = bench::tsc_now() - t0;
  const double queries = static_cast<double>(state.items_processed());
  benchmark::DoNotOptimize(passed);
  state.counters["cycles/q"] = static_cast<double>(cycles) / queries;
  state.counters["limited_%"] = 100.0 * static_cast<double>(rl.stats().limited - limited_before) / queries;
  state.counters["evictions/q"] = static_cast<double>(rl.stats().evictions - evictions_before) / queries;
  state.counters["clients"] = static_cast<double>(c.addrs.size());
}

// Room for every client: 2^21 slots at 1 M clients (fewer for the smoke run's clients).
void BM_AllowManyClients(benchmark::State& state) {
  size_t slots = 1;
  while (slots < 2 * clients().addrs.size()) slots <<= 1;
  run(state, slots, state.range(0) != 0);
}
BENCHMARK(BM_AllowManyClients)->Arg(0)->Arg(1)->ArgName("burst32");

// A table 16x too small for 1 M clients: most allow() calls evict someone.
void BM_AllowManyClientsSmallTable(benchmark::State& state) { run(state, size_t{1} << 16, state.range(0) != 0); }
BENCHMARK(BM_AllowManyClientsSmallTable)->Arg(0)->Arg(1)->ArgName("burst32");

// One client over and over: the cost with everything in L1.
void BM_AllowOneClient(benchmark::State& state) {
  limit::RateLimiterConfig config;
  config.qps = 200;
  config.burst = 400;
  limit::RateLimiter rl(config, 0x243f6a8885a308d3ULL);
  const net::IpAddr a = *net::parse_ip("192.0.2.1");
  uint64_t now = 1'000'000;
  uint64_t passed = 0;
  const uint64_t t0 = bench::tsc_now();
  for (auto _ : state) passed += rl.allow(a, now++);
  benchmark::DoNotOptimize(passed);
  state.counters["cycles/q"] =
      benchmark::Counter(static_cast<double>(bench::tsc_now() - t0), benchmark::Counter::kAvgIterations);
}
BENCHMARK(BM_AllowOneClient);

}  // namespace

BENCHMARK_MAIN();
