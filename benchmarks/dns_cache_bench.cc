// Microbenchmarks of the query fast path: parse, cache lookup (hit and miss) and the whole
// hit path "parse -> key -> lookup -> answer written into the response buffer", at one
// million cached names with Zipf-distributed popularity.
//
// Each benchmark also reports TSC cycles per query ("cycles/q") and the cache's memory
// overhead per entry beyond the stored wire bytes. Run (figures in the README):
//   build/release/benchmarks/dns_cache_bench --benchmark_repetitions=5
//       --benchmark_report_aggregates_only=true  (one command line)
#include <benchmark/benchmark.h>

#include <cstring>
#include <memory>
#include <vector>

#include "cache/cache.h"
#include "dns/message.h"
#include "dns/query.h"
#include "workload.h"

using namespace dotgate;
using namespace dotgate::dns;

namespace {

constexpr size_t kDefaultNames = 1'000'000;
constexpr size_t kDraws = 1 << 20;
constexpr size_t kSlot = 128;  // bytes per query in the receive stream
constexpr double kZipf = 1.0;
constexpr uint32_t kNow = 100;

struct World {
  bench::Workload w;
  std::unique_ptr<cache::Cache> cache;
  std::vector<CacheKey> keys;       // parsed key per name, hashed with the cache's seed
  std::vector<CacheKey> miss_keys;  // same names, a type nobody cached
  // The queries in arrival (Zipf) order, back to back like packets in an rx ring, so a
  // benchmark touches a query's bytes the way a worker does: fresh and sequential.
  std::vector<uint8_t> stream;
  std::vector<uint16_t> stream_len;
  std::vector<CacheKey> hit_stream;   // keys in arrival order
  std::vector<CacheKey> miss_stream;
  double overhead_per_entry = 0;

  World() {
    const size_t names = bench::bench_names(kDefaultNames);
    w = bench::make_workload(names, kDraws, kZipf, 0x5eed);
    cache::CacheConfig config;
    config.memory_bytes = names * 200 + (size_t{1} << 20);
    config.index_slots = names * 2;  // load factor 0.5 once every name is in
    cache = std::make_unique<cache::Cache>(config, 0x9e3779b97f4a7c15ULL);
    keys.resize(names);
    miss_keys.resize(names);
    std::vector<uint16_t> offs(256);
    for (size_t i = 0; i < names; ++i) {
      Query q;
      const auto& qb = w.queries[i].bytes;
      parse_query(qb.data(), qb.size(), &q);
      finalize_key(q.key, cache->hash_seed());
      keys[i] = q.key;
      miss_keys[i] = q.key;
      miss_keys[i].qtype = kTypeTXT;
      finalize_key(miss_keys[i], cache->hash_seed());
      Response r;
      const auto& ab = w.answers[i].bytes;
      parse_response(ab.data(), ab.size(), &r, offs.data(), offs.size());
      cache->insert(q.key, ab.data(), ab.size(), r, offs.data(), kNow);
    }
    stream.resize(kDraws * kSlot);
    stream_len.resize(kDraws);
    hit_stream.resize(kDraws);
    miss_stream.resize(kDraws);
    for (size_t d = 0; d < kDraws; ++d) {
      const auto& qb = w.queries[w.popularity[d]].bytes;
      std::copy(qb.begin(), qb.end(), stream.begin() + static_cast<ptrdiff_t>(d * kSlot));
      stream_len[d] = static_cast<uint16_t>(qb.size());
      hit_stream[d] = keys[w.popularity[d]];
      miss_stream[d] = miss_keys[w.popularity[d]];
    }
    const cache::CacheStats s = cache->stats();
    const double index_bytes = static_cast<double>(s.index_slots) * 8;
    overhead_per_entry =
        (static_cast<double>(s.arena_used_bytes) + index_bytes - static_cast<double>(s.stored_wire_bytes)) /
        static_cast<double>(s.entries);
  }
};

World& world() {
  static World instance;
  return instance;
}

void report(benchmark::State& state, uint64_t cycles) {
  state.counters["cycles/q"] = benchmark::Counter(static_cast<double>(cycles), benchmark::Counter::kAvgIterations);
  state.counters["entries"] = static_cast<double>(world().cache->stats().entries);
  state.counters["overhead_B/entry"] = world().overhead_per_entry;
}

// Parse + key hash over the arrival stream, cycling through `window` queries (a power of
// two): the whole stream, or 256 queries that stay in L1.
void parse_queries(benchmark::State& state, size_t window) {
  World& g = world();
  size_t i = 0;
  const uint64_t seed = g.cache->hash_seed();
  const uint64_t t0 = bench::tsc_now();
  for (auto _ : state) {
    const size_t d = i++ & (window - 1);
    Query q;
    const ParseError e = parse_query(&g.stream[d * kSlot], g.stream_len[d], &q);
    finalize_key(q.key, seed);
    benchmark::DoNotOptimize(e);
    benchmark::DoNotOptimize(q.key.hash);
  }
  report(state, bench::tsc_now() - t0);
}

void BM_ParseQuery(benchmark::State& state) { parse_queries(state, kDraws); }
BENCHMARK(BM_ParseQuery);

// Parse cost alone, the queries being in L1: what a worker pays once a burst's packets
// have been prefetched.
void BM_ParseQueryHot(benchmark::State& state) { parse_queries(state, 256); }
BENCHMARK(BM_ParseQueryHot);

void BM_CacheLookupHit(benchmark::State& state) {
  World& g = world();
  size_t i = 0;
  const uint64_t t0 = bench::tsc_now();
  for (auto _ : state) {
    const cache::CacheHit hit = g.cache->lookup(g.hit_stream[i++ & (kDraws - 1)], kNow + 1);
    benchmark::DoNotOptimize(hit.record);
  }
  report(state, bench::tsc_now() - t0);
}
BENCHMARK(BM_CacheLookupHit);

void BM_CacheLookupMiss(benchmark::State& state) {
  World& g = world();
  size_t i = 0;
  const uint64_t t0 = bench::tsc_now();
  for (auto _ : state) {
    const cache::CacheHit hit = g.cache->lookup(g.miss_stream[i++ & (kDraws - 1)], kNow + 1);
    benchmark::DoNotOptimize(hit.record);
  }
  report(state, bench::tsc_now() - t0);
}
BENCHMARK(BM_CacheLookupMiss);

// The whole hit path for one query at a time.
void BM_HitPath(benchmark::State& state) {
  World& g = world();
  alignas(64) static uint8_t out[4096];
  size_t i = 0;
  const uint64_t seed = g.cache->hash_seed();
  const uint64_t t0 = bench::tsc_now();
  for (auto _ : state) {
    const size_t d = i++ & (kDraws - 1);
    const uint8_t* qb = &g.stream[d * kSlot];
    Query q;
    if (parse_query(qb, g.stream_len[d], &q) != ParseError::kOk) state.SkipWithError("parse");
    finalize_key(q.key, seed);
    const cache::CacheHit hit = g.cache->lookup(q.key, kNow + 1);
    const size_t n = g.cache->write_answer(hit, qb, q, out, sizeof out, q.udp_limit(1232), kNow + 1);
    benchmark::DoNotOptimize(n);
    benchmark::ClobberMemory();
  }
  report(state, bench::tsc_now() - t0);
}
BENCHMARK(BM_HitPath);

// The hit path the way a worker runs it: a burst of 32 queries lands in receive buffers
// (copied from the arrival stream, as the NIC's DMA would), and each answer is written in
// place over its query, index and record prefetches overlapped across the burst.
// Reported per query.
void BM_HitPathBurst(benchmark::State& state) {
  World& g = world();
  constexpr size_t kBurst = 32;
  constexpr size_t kRoom = 2048;  // an mbuf's data room
  alignas(64) static uint8_t rx[kBurst][kRoom];
  Query qs[kBurst];
  const CacheKey* kp[kBurst];
  cache::CacheHit hits[kBurst];
  size_t i = 0;
  const uint64_t seed = g.cache->hash_seed();
  const uint64_t t0 = bench::tsc_now();
  for (auto _ : state) {
    for (size_t k = 0; k < kBurst; ++k) {
      const size_t d = i++ & (kDraws - 1);
      std::memcpy(rx[k], &g.stream[d * kSlot], kSlot);
      parse_query(rx[k], g.stream_len[d], &qs[k]);
      finalize_key(qs[k].key, seed);
      kp[k] = &qs[k].key;
    }
    g.cache->lookup_batch(kp, kBurst, kNow + 1, hits);
    for (size_t k = 0; k < kBurst; ++k) {
      const size_t n = g.cache->write_answer(hits[k], rx[k], qs[k], rx[k], kRoom, qs[k].udp_limit(1232), kNow + 1);
      benchmark::DoNotOptimize(n);
    }
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * kBurst));
  state.counters["cycles/q"] = benchmark::Counter(static_cast<double>(bench::tsc_now() - t0) / kBurst,
                                                  benchmark::Counter::kAvgIterations);
  state.counters["ns/q"] = benchmark::Counter(static_cast<double>(kBurst),
                                              benchmark::Counter::kIsIterationInvariantRate |
                                                  benchmark::Counter::kInvert);
}
BENCHMARK(BM_HitPathBurst);

// The miss path's cache side at steady state: parse an upstream answer and store it in a
// full cache (16 MiB, so nearly every insert evicts), names in arrival order.
void BM_AnswerParseAndInsert(benchmark::State& state) {
  World& g = world();
  cache::CacheConfig config;
  config.memory_bytes = 16 << 20;
  cache::Cache small(config, 7);
  uint16_t offs[256];
  size_t i = 0;
  const uint64_t t0 = bench::tsc_now();
  for (auto _ : state) {
    const uint32_t name = g.w.popularity[i++ & (kDraws - 1)];
    const auto& ab = g.w.answers[name].bytes;
    Response r;
    parse_response(ab.data(), ab.size(), &r, offs, 256);
    CacheKey key = g.keys[name];
    key.hash = 0;
    finalize_key(key, small.hash_seed());
    benchmark::DoNotOptimize(small.insert(key, ab.data(), ab.size(), r, offs, kNow));
  }
  state.counters["cycles/q"] = benchmark::Counter(static_cast<double>(bench::tsc_now() - t0),
                                                  benchmark::Counter::kAvgIterations);
  state.counters["evicted"] = static_cast<double>(small.stats().evicted);
  state.counters["reinserted"] = static_cast<double>(small.stats().reinserted);
}
BENCHMARK(BM_AnswerParseAndInsert);

}  // namespace

BENCHMARK_MAIN();
