// A synthetic but realistic DNS workload for the microbenchmarks: a population of distinct
// names shaped like real traffic (one to four labels under a mix of TLDs), queried with
// Zipf-distributed popularity, answered with the record mixes a forwarder really sees.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace dotgate::bench {

struct Message {
  std::vector<uint8_t> bytes;
};

struct Workload {
  std::vector<std::string> names;    // presentation form, distinct
  std::vector<Message> queries;      // one query per name (mixed case, half with EDNS)
  std::vector<Message> answers;      // one upstream answer per name, with OPT
  std::vector<uint32_t> popularity;  // a long sequence of name indexes drawn from Zipf(s)
};

// `names` distinct names; `draws` query indexes from Zipf with exponent `zipf_s`.
Workload make_workload(size_t names, size_t draws, double zipf_s, uint64_t seed);

// Number of names for the benchmarks: DOTGATE_BENCH_NAMES if set (the smoke test makes it
// small), else `fallback`.
size_t bench_names(size_t fallback);

// Reads the time-stamp counter (constant-rate on this machine's CPUs).
uint64_t tsc_now();

}  // namespace dotgate::bench
