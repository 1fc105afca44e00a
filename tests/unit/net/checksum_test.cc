// Tests for net/checksum.h against a plain RFC 1071 reference.
#include "net/checksum.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <vector>

namespace dotgate::net {
namespace {

// RFC 1071 as written: sum big-endian 16-bit words, pad an odd byte with zero, fold,
// complement.
uint16_t reference(const std::vector<uint8_t>& b) {
  uint32_t sum = 0;
  for (size_t i = 0; i < b.size(); i += 2) {
    const uint16_t word = static_cast<uint16_t>((b[i] << 8) | (i + 1 < b.size() ? b[i + 1] : 0));
    sum += word;
    sum = (sum & 0xffff) + (sum >> 16);
  }
  return static_cast<uint16_t>(~sum);
}

TEST(Checksum, KnownIpv4Header) {
  // The classic example header; its checksum field (b861) is zeroed for computing.
  std::vector<uint8_t> h = {0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11,
                            0x00, 0x00, 0xc0, 0xa8, 0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7};
  EXPECT_EQ(csum_finish(csum_partial(h.data(), h.size())), 0xb861);
  h[10] = 0xb8;
  h[11] = 0x61;
  EXPECT_EQ(csum_finish(csum_partial(h.data(), h.size())), 0);  // verifies
}

TEST(Checksum, MatchesReferenceForEveryLengthAndRandomData) {
  std::mt19937 rng(7);
  for (size_t len = 0; len <= 300; ++len) {
    for (int rep = 0; rep < 8; ++rep) {
      std::vector<uint8_t> b(len);
      for (auto& x : b) x = static_cast<uint8_t>(rng());
      if (rep == 0) std::fill(b.begin(), b.end(), 0xff);  // worst case for carries
      ASSERT_EQ(csum_finish(csum_partial(b.data(), b.size())), reference(b)) << len;
    }
  }
}

TEST(Checksum, ChainingAtEvenOffsets) {
  std::mt19937 rng(9);
  std::vector<uint8_t> b(1001);
  for (auto& x : b) x = static_cast<uint8_t>(rng());
  for (size_t cut = 0; cut <= b.size(); cut += 2) {
    const uint64_t s = csum_partial(b.data() + cut, b.size() - cut, csum_partial(b.data(), cut));
    ASSERT_EQ(csum_finish(s), reference(b)) << cut;
  }
}

TEST(Checksum, Add16EqualsBytes) {
  const std::vector<uint8_t> b = {0x12, 0x34, 0xab, 0xcd};
  uint64_t s = csum_add16(0, 0x1234);
  s = csum_add16(s, 0xabcd);
  EXPECT_EQ(csum_finish(s), reference(b));
}

TEST(Checksum, LargeBufferDoesNotOverflow) {
  std::vector<uint8_t> b(65535, 0xff);
  EXPECT_EQ(csum_finish(csum_partial(b.data(), b.size())), reference(b));
}

TEST(Checksum, IncrementalReplaceMatchesRecompute) {
  std::mt19937 rng(11);
  for (int rep = 0; rep < 2000; ++rep) {
    std::vector<uint8_t> b(40);
    for (auto& x : b) x = static_cast<uint8_t>(rng());
    const uint16_t before = reference(b);
    const size_t at = 2 * (rng() % 20);
    const uint16_t old_value = static_cast<uint16_t>((b[at] << 8) | b[at + 1]);
    const uint16_t new_value = static_cast<uint16_t>(rng());
    b[at] = static_cast<uint8_t>(new_value >> 8);
    b[at + 1] = static_cast<uint8_t>(new_value);
    const uint16_t updated = csum_replace16(before, old_value, new_value);
    // RFC 1624: equal as one's-complement numbers (0x0000 and 0xffff are both zero).
    const uint16_t expected = reference(b);
    ASSERT_TRUE(updated == expected || (updated == 0xffff && expected == 0) || (updated == 0 && expected == 0xffff))
        << rep;
  }
}

}  // namespace
}  // namespace dotgate::net
