// Tests for limit/rate_limiter.h: the per-client token buckets. Time is passed in, so every
// case runs on a simulated clock; nothing depends on how fast the machine is.
#include "limit/rate_limiter.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <memory>
#include <stdexcept>
#include <vector>

namespace dotgate::limit {
namespace {

constexpr uint64_t kSecond = 1'000'000;  // microseconds
constexpr uint64_t kStart = 1'000 * kSecond;
constexpr uint64_t kSeed = 0x0123456789abcdefULL;

net::IpAddr ip(const char* text) { return *net::parse_ip(text); }

RateLimiterConfig config(uint32_t qps, uint32_t burst, size_t slots = 1024) {
  RateLimiterConfig c;
  c.qps = qps;
  c.burst = burst;
  c.slots = slots;
  return c;
}

// Queries sent at `n` evenly spaced instants over [from, from + span): how many pass.
int passed(RateLimiter& rl, const net::IpAddr& a, uint64_t from, uint64_t span, int n) {
  int ok = 0;
  for (int i = 0; i < n; ++i) ok += rl.allow(a, from + span * static_cast<uint64_t>(i) / static_cast<uint64_t>(n));
  return ok;
}

TEST(RateLimiter, OffWhenQpsIsZero) {
  RateLimiter rl(config(0, 0), kSeed);
  EXPECT_FALSE(rl.enabled());
  const auto a = ip("192.0.2.1");
  for (int i = 0; i < 100'000; ++i) ASSERT_TRUE(rl.allow(a, kStart));
  EXPECT_EQ(rl.stats().allowed, 100'000u);
  EXPECT_EQ(rl.stats().limited, 0u);
  EXPECT_EQ(rl.memory_bytes(), 0u);  // no table when off
}

TEST(RateLimiter, SteadyRateAtTheLimitPasses) {
  RateLimiter rl(config(100, 100), kSeed);
  const auto a = ip("192.0.2.1");
  // 100 q/s exactly, for 10 s: every query has its token.
  for (int i = 0; i < 1000; ++i) ASSERT_TRUE(rl.allow(a, kStart + static_cast<uint64_t>(i) * kSecond / 100)) << i;
  EXPECT_EQ(rl.stats().allowed, 1000u);
  EXPECT_EQ(rl.stats().limited, 0u);
}

TEST(RateLimiter, BurstIsClippedToTheBucketDepth) {
  RateLimiter rl(config(10, 50), kSeed);
  const auto a = ip("192.0.2.1");
  int ok = 0;
  for (int i = 0; i < 200; ++i) ok += rl.allow(a, kStart);  // all at one instant
  EXPECT_EQ(ok, 50);
  EXPECT_EQ(rl.stats().limited, 150u);
}

TEST(RateLimiter, BurstDefaultsToQps) {
  RateLimiter rl(config(20, 0), kSeed);
  const auto a = ip("2001:db8::1");
  EXPECT_EQ(passed(rl, a, kStart, 0, 100), 20);
}

TEST(RateLimiter, OverTheRateOnlyTheRatePassesAfterTheBurst) {
  RateLimiter rl(config(100, 10), kSeed);
  const auto a = ip("192.0.2.1");
  // 1000 q/s for 10 s: the first 10 from the bucket, then 100 per second.
  const int ok = passed(rl, a, kStart, 10 * kSecond, 10'000);
  EXPECT_GE(ok, 10 + 1000 - 1);
  EXPECT_LE(ok, 10 + 1000 + 1);
}

TEST(RateLimiter, RefillsOverTime) {
  RateLimiter rl(config(10, 10), kSeed);
  const auto a = ip("192.0.2.1");
  EXPECT_EQ(passed(rl, a, kStart, 0, 10), 10);
  EXPECT_FALSE(rl.allow(a, kStart));
  // 100 ms later exactly one token is back, 99 ms later none.
  EXPECT_FALSE(rl.allow(a, kStart + 99'000));
  EXPECT_TRUE(rl.allow(a, kStart + 100'000));
  EXPECT_FALSE(rl.allow(a, kStart + 100'000));
  // Half a second later: five.
  EXPECT_EQ(passed(rl, a, kStart + 600'000, 0, 20), 5);
  // A long pause fills the bucket, never beyond its depth.
  EXPECT_EQ(passed(rl, a, kStart + 3600 * kSecond, 0, 100), 10);
}

TEST(RateLimiter, FractionalRefillIsNotLost) {
  // 3 q/s: a token every 333 333.3 µs. Asking every 100 ms must still pass 3 a second on
  // average; rounding each refill down to whole tokens would pass none. (A depth of 2 so
  // the bucket can hold the 1.2 tokens the fourth query finds; at depth 1 the excess
  // spills, as it should, and 2.5 a second pass.)
  RateLimiter rl(config(3, 2), kSeed);
  const auto a = ip("192.0.2.1");
  int ok = 0;
  for (int i = 1; i <= 600; ++i) ok += rl.allow(a, kStart + static_cast<uint64_t>(i) * 100'000);
  EXPECT_GE(ok, 179);
  EXPECT_LE(ok, 181);
}

TEST(RateLimiter, ClientsAreIndependent) {
  RateLimiter rl(config(5, 5), kSeed);
  const auto a = ip("192.0.2.1");
  const auto b = ip("192.0.2.2");
  EXPECT_EQ(passed(rl, a, kStart, 0, 50), 5);
  EXPECT_EQ(passed(rl, b, kStart, 0, 50), 5);  // a's flood costs b nothing
  EXPECT_FALSE(rl.allow(a, kStart));
}

TEST(RateLimiter, Ipv6ClientsAreGroupedByTheirSlash64) {
  RateLimiter rl(config(5, 5), kSeed);
  // Five queries from five addresses of one /64 empty its bucket.
  EXPECT_TRUE(rl.allow(ip("2001:db8:1:2::1"), kStart));
  EXPECT_TRUE(rl.allow(ip("2001:db8:1:2::2"), kStart));
  EXPECT_TRUE(rl.allow(ip("2001:db8:1:2:aaaa:bbbb:cccc:dddd"), kStart));
  EXPECT_TRUE(rl.allow(ip("2001:db8:1:2:ffff:ffff:ffff:ffff"), kStart));
  EXPECT_TRUE(rl.allow(ip("2001:db8:1:2::5"), kStart));
  EXPECT_FALSE(rl.allow(ip("2001:db8:1:2::6"), kStart));
  // The next /64 is another client.
  EXPECT_TRUE(rl.allow(ip("2001:db8:1:3::1"), kStart));
  EXPECT_EQ(rl.stats().new_clients, 2u);
}

TEST(RateLimiter, PrefixLengthsAreConfigurable) {
  RateLimiterConfig c = config(1, 1);
  c.ipv4_prefix = 24;
  c.ipv6_prefix = 128;
  RateLimiter rl(c, kSeed);
  EXPECT_TRUE(rl.allow(ip("198.51.100.1"), kStart));
  EXPECT_FALSE(rl.allow(ip("198.51.100.200"), kStart));  // same /24
  EXPECT_TRUE(rl.allow(ip("198.51.101.1"), kStart));
  EXPECT_TRUE(rl.allow(ip("2001:db8::1"), kStart));
  EXPECT_TRUE(rl.allow(ip("2001:db8::2"), kStart));  // /128: every address its own
  EXPECT_FALSE(rl.allow(ip("2001:db8::1"), kStart));
}

TEST(RateLimiter, Ipv4AndOtherIpv6AddressesDoNotShareBuckets) {
  RateLimiterConfig c = config(1, 1);
  c.ipv6_prefix = 128;
  RateLimiter rl(c, kSeed);
  EXPECT_TRUE(rl.allow(ip("0.0.0.1"), kStart));
  EXPECT_TRUE(rl.allow(ip("::1"), kStart));
  EXPECT_TRUE(rl.allow(ip("::1:0:0:1"), kStart));
  // The IPv4-mapped form of an IPv4 client is that client.
  EXPECT_FALSE(rl.allow(ip("::ffff:0.0.0.1"), kStart));
}

TEST(RateLimiter, FullTableEvictsTheStalestAndCounts) {
  RateLimiterConfig c = config(1, 1, 8);
  c.probe_window = 8;  // the whole table: every client competes for the same 8 slots
  RateLimiter rl(c, kSeed);
  // Eight clients fill the table, each spending its one token; client i at time i.
  for (uint32_t i = 0; i < 8; ++i) {
    net::IpAddr a;
    a.v4 = 0x0a000000 + i;
    ASSERT_TRUE(rl.allow(a, kStart + i));
  }
  EXPECT_EQ(rl.stats().evictions, 0u);
  // A ninth takes the slot of the stalest, client 0.
  net::IpAddr ninth;
  ninth.v4 = 0x0a0000ff;
  EXPECT_TRUE(rl.allow(ninth, kStart + 10));
  EXPECT_EQ(rl.stats().evictions, 1u);
  // Client 1 is still known (its bucket is empty); client 0 was forgotten, comes back full.
  net::IpAddr c1;
  c1.v4 = 0x0a000001;
  EXPECT_FALSE(rl.allow(c1, kStart + 11));
  net::IpAddr c0;
  c0.v4 = 0x0a000000;
  EXPECT_TRUE(rl.allow(c0, kStart + 12));
  EXPECT_EQ(rl.stats().evictions, 2u);  // and evicted client 2 to get back in
  EXPECT_EQ(rl.stats().new_clients, 10u);
}

TEST(RateLimiter, ManyMoreClientsThanSlotsNeverLimitsAnHonestClient) {
  // Eviction forgets buckets; a forgotten client comes back full. A client within its rate
  // keeps passing however many others churn through the table.
  RateLimiter rl(config(10, 10, 64), kSeed);
  const auto honest = ip("203.0.113.7");
  uint64_t t = kStart;
  for (int round = 0; round < 200; ++round) {
    for (uint32_t i = 0; i < 100; ++i) {
      net::IpAddr other;
      other.v4 = 0x0b000000 + static_cast<uint32_t>(round) * 100 + i;
      rl.allow(other, t);
    }
    ASSERT_TRUE(rl.allow(honest, t)) << round;
    t += kSecond / 10;
  }
  EXPECT_GT(rl.stats().evictions, 0u);
}

TEST(RateLimiter, TimeGoingBackwardsGivesNoTokens) {
  RateLimiter rl(config(10, 2), kSeed);
  const auto a = ip("192.0.2.1");
  EXPECT_EQ(passed(rl, a, kStart, 0, 5), 2);
  EXPECT_FALSE(rl.allow(a, kStart - kSecond));
  EXPECT_FALSE(rl.allow(a, kStart));
  EXPECT_TRUE(rl.allow(a, kStart + kSecond / 10));
}

TEST(RateLimiter, LargeRatesAndLongIdleDoNotOverflow) {
  RateLimiter rl(config(10'000'000, 10'000'000), kSeed);
  const auto a = ip("192.0.2.1");
  EXPECT_TRUE(rl.allow(a, 1));
  EXPECT_TRUE(rl.allow(a, UINT64_MAX / 2));
  EXPECT_EQ(rl.stats().limited, 0u);
}

TEST(RateLimiter, BurstsDecideAsOneAtATime) {
  // Two limiters with the same seed, one fed bursts, one fed single calls: the same
  // decisions and counters, whatever the burst length (the tail past 32 included).
  RateLimiterConfig c = config(50, 20, 64);
  c.probe_window = 4;
  RateLimiter burst(c, kSeed), single(c, kSeed);
  uint64_t x = 7;
  uint64_t t = kStart;
  for (size_t n : {0, 1, 3, 4, 5, 31, 32, 33, 64, 65, 100, 250}) {
    for (int round = 0; round < 20; ++round) {
      std::vector<net::IpAddr> clients(n);
      for (net::IpAddr& a : clients) {
        x = x * 6364136223846793005ULL + 1442695040888963407ULL;
        a.v6 = (x >> 60) & 1;
        // 72 clients for 64 slots: buckets that run dry and evictions both happen.
        a.v4 = 0x0a000000u + static_cast<uint32_t>((x >> 33) % 40);
        a.v6addr.b[0] = 0x20;
        a.v6addr.b[7] = static_cast<uint8_t>((x >> 40) % 32);
      }
      std::unique_ptr<bool[]> got(new bool[n + 1]);
      burst.allow_burst(clients.data(), n, t, got.get());
      for (size_t i = 0; i < n; ++i) ASSERT_EQ(got[i], single.allow(clients[i], t)) << n << " " << i;
      t += 7'000;
    }
  }
  EXPECT_EQ(burst.stats().allowed, single.stats().allowed);
  EXPECT_EQ(burst.stats().limited, single.stats().limited);
  EXPECT_EQ(burst.stats().evictions, single.stats().evictions);
  EXPECT_GT(burst.stats().limited, 0u);
  EXPECT_GT(burst.stats().evictions, 0u);

  RateLimiter off(config(0, 0), kSeed);
  const net::IpAddr a = ip("192.0.2.1");
  const net::IpAddr many[3] = {a, a, a};
  bool got[3] = {false, false, false};
  off.allow_burst(many, 3, kStart, got);
  EXPECT_TRUE(got[0] && got[1] && got[2]);
  EXPECT_EQ(off.stats().allowed, 3u);
}

TEST(RateLimiter, RejectsBadConfig) {
  EXPECT_THROW(RateLimiter(config(10, 10, 1000), kSeed), std::invalid_argument);
  EXPECT_THROW(RateLimiter(config(10, 10, 0), kSeed), std::invalid_argument);
  RateLimiterConfig c = config(10, 10);
  c.ipv6_prefix = 0;
  EXPECT_THROW(RateLimiter(c, kSeed), std::invalid_argument);
  c = config(10, 10);
  c.ipv4_prefix = 33;
  EXPECT_THROW(RateLimiter(c, kSeed), std::invalid_argument);
  c = config(10, 10, 4);
  c.probe_window = 5;
  EXPECT_THROW(RateLimiter(c, kSeed), std::invalid_argument);
}

}  // namespace
}  // namespace dotgate::limit
