// A latency histogram in microseconds with log-linear buckets: four per power of two, so a
// bucket is at most 25 % wide, from 1 µs to about two minutes. Recording is a count-leading-
// zeros and an increment: cheap enough for every query on the packet path, no allocation.
// Percentiles are read off bucket bounds (the upper bound of the bucket holding the value).
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>

namespace dotgate::util {

class LatencyHistogram {
 public:
  static constexpr size_t kBuckets = 4 * 27;  // the last one holds everything from ~100 s

  static size_t bucket_of(uint64_t us) noexcept {
    if (us < 4) return static_cast<size_t>(us);
    const unsigned e = 63u - static_cast<unsigned>(std::countl_zero(us));  // >= 2
    const size_t i = 4 * (e - 1) + ((us >> (e - 2)) & 3);
    return i < kBuckets ? i : kBuckets - 1;
  }
  // The largest value a bucket holds.
  static uint64_t upper_bound(size_t i) noexcept {
    if (i < 4) return i;
    const unsigned e = static_cast<unsigned>(i / 4 + 1);
    const uint64_t lower = uint64_t{4 + i % 4} << (e - 2);
    return lower + (uint64_t{1} << (e - 2)) - 1;
  }

  void record(uint64_t us) noexcept {
    ++counts_[bucket_of(us)];
    ++total_;
  }
  void merge(const LatencyHistogram& o) noexcept {
    for (size_t i = 0; i < kBuckets; ++i) counts_[i] += o.counts_[i];
    total_ += o.total_;
  }
  uint64_t count() const noexcept { return total_; }
  uint64_t bucket(size_t i) const noexcept { return counts_[i]; }
  // The value below which a fraction `q` (0..1) of the recorded values lie; 0 when empty.
  uint64_t quantile(double q) const noexcept {
    if (total_ == 0) return 0;
    uint64_t rank = static_cast<uint64_t>(q * static_cast<double>(total_));
    if (rank >= total_) rank = total_ - 1;
    uint64_t seen = 0;
    for (size_t i = 0; i < kBuckets; ++i) {
      seen += counts_[i];
      if (seen > rank) return upper_bound(i);
    }
    return upper_bound(kBuckets - 1);
  }

 private:
  uint64_t counts_[kBuckets] = {};
  uint64_t total_ = 0;
};

}  // namespace dotgate::util
