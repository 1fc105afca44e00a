// Tests for util/histogram.h.
#include "util/histogram.h"

#include <gtest/gtest.h>

#include <random>

namespace dotgate::util {
namespace {

TEST(LatencyHistogram, BucketsAreContiguousAndAtMostAQuarterWide) {
  for (uint64_t v = 0; v < 1'000'000; v += (v < 5000 ? 1 : 997)) {
    const size_t b = LatencyHistogram::bucket_of(v);
    EXPECT_LE(v, LatencyHistogram::upper_bound(b)) << v;
    if (b > 0) {
      EXPECT_GT(v, LatencyHistogram::upper_bound(b - 1)) << v;
    }
    if (v >= 4) {
      EXPECT_LE(LatencyHistogram::upper_bound(b), v + v / 4) << v;
    }
  }
  EXPECT_EQ(LatencyHistogram::bucket_of(UINT64_MAX), LatencyHistogram::kBuckets - 1);
}

TEST(LatencyHistogram, QuantilesFollowTheData) {
  LatencyHistogram h;
  EXPECT_EQ(h.quantile(0.5), 0u);
  std::mt19937_64 rng(3);
  for (int i = 0; i < 9000; ++i) h.record(100 + rng() % 100);     // 100-199 µs
  for (int i = 0; i < 1000; ++i) h.record(10'000 + rng() % 1000);  // a slow tenth, ~10 ms
  EXPECT_EQ(h.count(), 10'000u);
  EXPECT_GE(h.quantile(0.5), 140u);
  EXPECT_LE(h.quantile(0.5), 200u);
  EXPECT_LE(h.quantile(0.89), 250u);
  EXPECT_GE(h.quantile(0.95), 10'000u);
  EXPECT_LE(h.quantile(0.999), 13'000u);
  LatencyHistogram g;
  g.record(5);
  g.merge(h);
  EXPECT_EQ(g.count(), 10'001u);
  EXPECT_EQ(g.quantile(0.0), 5u);
}

}  // namespace
}  // namespace dotgate::util
