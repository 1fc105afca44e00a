// Tests for net/impairment.h.
#include "net/impairment.h"

#include <gtest/gtest.h>

#include <vector>

namespace dotgate::net {
namespace {

// Offers frames 0..n-1 (one byte each: the index) at 1 us intervals and returns the order
// they come out in, releasing until everything is out.
std::vector<int> run(const ImpairmentConfig& c, int n, ImpairmentStats* stats = nullptr) {
  Impairment imp(c);
  std::vector<int> out;
  uint64_t now = 0;
  for (int i = 0; i < n; ++i) {
    const uint8_t b = static_cast<uint8_t>(i);
    imp.offer(&b, 1, now);
    imp.release(now, [&](const uint8_t* f, size_t len) {
      EXPECT_EQ(len, 1u);
      out.push_back(f[0]);
    });
    ++now;
  }
  imp.release(UINT64_MAX, [&](const uint8_t* f, size_t) { out.push_back(f[0]); });
  if (stats) *stats = imp.stats();
  EXPECT_EQ(imp.held(), 0u);
  return out;
}

TEST(Impairment, OffPassesEverythingInOrder) {
  const auto out = run(ImpairmentConfig{}, 200);
  ASSERT_EQ(out.size(), 200u);
  for (int i = 0; i < 200; ++i) EXPECT_EQ(out[i], i % 256);
}

TEST(Impairment, DelayHoldsFramesUntilDue) {
  ImpairmentConfig c;
  c.delay_us = 100;
  Impairment imp(c);
  const uint8_t b = 7;
  imp.offer(&b, 1, 1000);
  EXPECT_EQ(imp.next_due(), 1100u);
  int got = 0;
  EXPECT_EQ(imp.release(1099, [&](const uint8_t*, size_t) { ++got; }), 0u);
  EXPECT_EQ(imp.release(1100, [&](const uint8_t*, size_t) { ++got; }), 1u);
  EXPECT_EQ(got, 1);
}

TEST(Impairment, LossIsAboutTheConfiguredRateAndDeterministic) {
  ImpairmentConfig c;
  c.loss_ppm = 50'000;  // 5 %
  ImpairmentStats s;
  const auto out = run(c, 20000, &s);
  EXPECT_EQ(out.size() + s.lost, 20000u);
  EXPECT_GT(s.lost, 800u);
  EXPECT_LT(s.lost, 1200u);
  EXPECT_EQ(run(c, 20000), out);  // same seed, same result
  c.seed = 2;
  EXPECT_NE(run(c, 20000), out);
}

TEST(Impairment, DuplicatesAndReordersButLosesNothing) {
  ImpairmentConfig c;
  c.duplicate_ppm = 100'000;
  c.reorder_ppm = 100'000;
  c.reorder_us = 50;
  ImpairmentStats s;
  const auto out = run(c, 5000, &s);
  EXPECT_EQ(out.size(), 5000u + s.duplicated);
  EXPECT_GT(s.duplicated, 0u);
  EXPECT_GT(s.reordered, 0u);
  size_t inversions = 0;
  for (size_t i = 1; i < out.size(); ++i) inversions += out[i] < out[i - 1] && out[i - 1] - out[i] < 128;
  EXPECT_GT(inversions, 0u);
  std::vector<int> seen(256, 0);
  for (int v : out) ++seen[v];
  for (int v = 0; v < 256; ++v) EXPECT_GE(seen[v], 5000 / 256) << v;
}

TEST(Impairment, FullPoolAndOversizeFramesOverflow) {
  ImpairmentConfig c;
  c.delay_us = 1000;
  c.capacity = 4;
  c.max_frame = 8;
  Impairment imp(c);
  uint8_t f[16] = {};
  for (int i = 0; i < 6; ++i) imp.offer(f, 4, 0);
  imp.offer(f, 9, 0);
  EXPECT_EQ(imp.held(), 4u);
  EXPECT_EQ(imp.stats().overflow, 3u);
}

}  // namespace
}  // namespace dotgate::net
