// Tests for util/hash.h: the keyed byte hash used by the cache index.
#include "util/hash.h"

#include <gtest/gtest.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <set>
#include <vector>

namespace dotgate::util {
namespace {

constexpr size_t kMaxLen = 64;

// Deterministic, byte-varied test data.
std::vector<uint8_t> pattern(size_t n, uint32_t salt = 0) {
  std::vector<uint8_t> v(n);
  uint32_t x = 0x12345678u ^ salt;
  for (size_t i = 0; i < n; ++i) {
    x = x * 1664525u + 1013904223u;
    v[i] = static_cast<uint8_t>(x >> 24);
  }
  return v;
}

// An exactly-sized heap copy: under ASan any read past `n` is reported.
std::unique_ptr<uint8_t[]> exact_copy(const std::vector<uint8_t>& v) {
  std::unique_ptr<uint8_t[]> p(new uint8_t[v.size()]);
  if (!v.empty()) std::memcpy(p.get(), v.data(), v.size());
  return p;
}

TEST(HashBytes, Deterministic) {
  for (size_t n = 0; n <= kMaxLen; ++n) {
    const auto a = pattern(n);
    const auto b = exact_copy(a);
    EXPECT_EQ(hash_bytes(a.data(), n, 7), hash_bytes(b.get(), n, 7)) << n;
    EXPECT_EQ(hash_bytes(a.data(), n, 7), hash_bytes(a.data(), n, 7)) << n;
  }
}

TEST(HashBytes, KnownValuesAreStable) {
  // Not a specification of the values: only that they do not depend on alignment or on
  // the bytes around the input.
  std::vector<uint8_t> big(kMaxLen + 32, 0xa5);
  const auto data = pattern(kMaxLen);
  for (size_t n = 0; n <= kMaxLen; ++n) {
    const uint64_t want = hash_bytes(data.data(), n, 99);
    for (size_t shift = 0; shift < 16; ++shift) {
      std::fill(big.begin(), big.end(), static_cast<uint8_t>(shift * 17));
      std::memcpy(big.data() + shift, data.data(), n);
      ASSERT_EQ(hash_bytes(big.data() + shift, n, 99), want) << n << " at " << shift;
    }
  }
}

TEST(HashBytes, EveryBitOfEveryByteMatters) {
  for (size_t n = 1; n <= kMaxLen; ++n) {
    auto data = pattern(n, static_cast<uint32_t>(n));
    const uint64_t base = hash_bytes(data.data(), n, 0x5eed);
    for (size_t i = 0; i < n; ++i) {
      for (int bit = 0; bit < 8; ++bit) {
        data[i] ^= static_cast<uint8_t>(1u << bit);
        const auto copy = exact_copy(data);
        EXPECT_NE(hash_bytes(copy.get(), n, 0x5eed), base) << "len " << n << " byte " << i
                                                           << " bit " << bit;
        data[i] ^= static_cast<uint8_t>(1u << bit);
      }
      data[i] = static_cast<uint8_t>(~data[i]);
      EXPECT_NE(hash_bytes(data.data(), n, 0x5eed), base) << "len " << n << " byte " << i;
      data[i] = static_cast<uint8_t>(~data[i]);
    }
    EXPECT_EQ(hash_bytes(data.data(), n, 0x5eed), base);
  }
}

TEST(HashBytes, ZeroBytesStillCount) {
  // All-zero inputs of different lengths must not collide (the tail is zero-extended, so
  // only the length keeps them apart).
  const std::vector<uint8_t> zeros(kMaxLen, 0);
  std::set<uint64_t> seen;
  for (size_t n = 0; n <= kMaxLen; ++n) seen.insert(hash_bytes(zeros.data(), n, 1));
  EXPECT_EQ(seen.size(), kMaxLen + 1);
  // Likewise a trailing zero byte vs none.
  const uint8_t a[] = {'a', 'b', 'c', 0};
  EXPECT_NE(hash_bytes(a, 3, 1), hash_bytes(a, 4, 1));
}

TEST(HashBytes, DependsOnSeed) {
  for (size_t n = 0; n <= kMaxLen; ++n) {
    const auto data = pattern(n);
    std::set<uint64_t> seen;
    const uint64_t seeds[] = {0, 1, 2, 0x8000000000000000ULL, 0xffffffffffffffffULL,
                              0x0123456789abcdefULL};
    for (uint64_t s : seeds) seen.insert(hash_bytes(data.data(), n, s));
    EXPECT_EQ(seen.size(), std::size(seeds)) << n;
  }
}

TEST(HashBytes, FewCollisionsAcrossManyInputs) {
  // 64-bit hashes of 20k distinct short inputs: any collision means a weak mixer.
  std::set<uint64_t> seen;
  size_t count = 0;
  for (uint32_t i = 0; i < 20000; ++i) {
    uint8_t buf[4];
    std::memcpy(buf, &i, 4);
    const size_t n = 1 + i % 4;
    if (n < 4 && (i >> (8 * n)) != 0) continue;  // not distinct at that length
    seen.insert(hash_bytes(buf, n, 3));
    ++count;
  }
  EXPECT_EQ(seen.size(), count);
}

TEST(HashBytes, LowAndHighBitsBothVary) {
  // Tables use the low bits for the bucket and the high bits as a tag.
  std::set<uint64_t> low, high;
  for (uint32_t i = 0; i < 4096; ++i) {
    uint8_t buf[4];
    std::memcpy(buf, &i, 4);
    const uint64_t h = hash_bytes(buf, 4, 11);
    low.insert(h & 0xff);
    high.insert(h >> 56);
  }
  EXPECT_GT(low.size(), 240u);
  EXPECT_GT(high.size(), 240u);
}

TEST(HashBytes, ReadsOnlyInBounds) {
  // Exactly-sized heap buffers at every length; ASan reports any over-read.
  for (size_t n = 0; n <= kMaxLen; ++n) {
    const auto data = pattern(n, 77);
    const auto buf = exact_copy(data);
    EXPECT_EQ(hash_bytes(buf.get(), n, 5), hash_bytes(data.data(), n, 5)) << n;
  }
  // And the empty input does not touch memory at all.
  EXPECT_EQ(hash_bytes(nullptr, 0, 5), hash_bytes(reinterpret_cast<const uint8_t*>(""), 0, 5));
}

// Seed-independent collisions: for a 32-byte input whose second words are chosen so the
// multiplier is a power of two, the block step becomes a rotation, and pairs built from it
// would collide for every seed. A keyed hash must not allow that.
TEST(HashBytes, NoSeedIndependentCollisions) {
  constexpr uint64_t k1 = 0xd6e8feb86659fd93ULL;
  for (unsigned shift = 1; shift < 64; ++shift) {
    const uint64_t magic = k1 ^ (uint64_t{1} << shift);
    uint8_t a[32];
    std::memset(a, 0x30, sizeof a);
    std::memcpy(a + 8, &magic, 8);
    std::memcpy(a + 24, &magic, 8);
    uint8_t b[32];
    std::memcpy(b, a, sizeof b);
    const uint64_t delta = 0x0100;
    const uint64_t rot = (delta << shift) | (delta >> (64 - shift));
    uint64_t w;
    std::memcpy(&w, b, 8);
    w ^= delta;
    std::memcpy(b, &w, 8);
    std::memcpy(&w, b + 16, 8);
    w ^= rot;
    std::memcpy(b + 16, &w, 8);
    int same = 0;
    for (uint64_t seed : {0x0123456789abcdefULL, 0xfedcba9876543210ULL, 0x5555aaaa5555aaaaULL}) {
      same += hash_bytes(a, 32, seed) == hash_bytes(b, 32, seed);
    }
    EXPECT_EQ(same, 0) << "shift " << shift;
  }
}

// hash_bytes_padded may read up to the next multiple of 8 past `len` and must give the
// same value as hash_bytes whatever those slack bytes hold.
TEST(HashBytesPadded, SameAsHashBytesWithGarbageSlack) {
  for (size_t n = 0; n <= 256; ++n) {
    const auto data = pattern(n, 3);
    const size_t padded = (n + 7) / 8 * 8;
    for (uint8_t fill : {uint8_t{0}, uint8_t{0xff}, uint8_t{0x5a}}) {
      // Exactly `padded` bytes on the heap: ASan reports a read beyond the slack.
      std::unique_ptr<uint8_t[]> buf(new uint8_t[padded == 0 ? 1 : padded]);
      std::memset(buf.get(), fill, padded == 0 ? 1 : padded);
      if (n) std::memcpy(buf.get(), data.data(), n);
      for (uint64_t seed : {uint64_t{0}, uint64_t{0xabcdef}}) {
        ASSERT_EQ(hash_bytes_padded(buf.get(), n, seed), hash_bytes(data.data(), n, seed))
            << "len " << n << " fill " << int{fill};
      }
    }
  }
}

TEST(Mix64, FoldsBothHalves) {
  EXPECT_EQ(mix64(0, 0x123456789ULL), 0u);
  EXPECT_EQ(mix64(5, 1), 5u);
  EXPECT_EQ(mix64(1ULL << 63, 2), 1u);  // product 2^64: high half 1, low half 0
  EXPECT_EQ(mix64(0xffffffffffffffffULL, 0xffffffffffffffffULL),
            0x0000000000000001ULL ^ 0xfffffffffffffffeULL);
  EXPECT_EQ(mix64(3, 7), mix64(7, 3));
}

TEST(LoadU64Le, LittleEndianUnaligned) {
  const uint8_t b[9] = {0xff, 1, 2, 3, 4, 5, 6, 7, 8};
  EXPECT_EQ(load_u64_le(b + 1), 0x0807060504030201ULL);
}

}  // namespace
}  // namespace dotgate::util
