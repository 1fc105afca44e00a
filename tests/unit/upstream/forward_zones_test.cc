// Tests for upstream/forward_zones.h.
#include "upstream/forward_zones.h"

#include <gtest/gtest.h>

#include "unit/dns/dns_test_util.h"

namespace dotgate::upstream {
namespace {

using dns::testutil::wire_name;

uint32_t route(const ForwardZones& z, const char* name) {
  const auto w = wire_name(name);
  return z.route(w.data(), w.size());
}

TEST(ForwardZones, LongestZoneWinsAndTheRootCatchesTheRest) {
  ForwardZones z;
  ASSERT_TRUE(z.add(".", 0));
  ASSERT_TRUE(z.add("corp.example", 1));
  ASSERT_TRUE(z.add("lab.corp.example.", 2));
  ASSERT_TRUE(z.add("10.in-addr.arpa", 3));
  EXPECT_EQ(route(z, "www.example.com"), 0u);
  EXPECT_EQ(route(z, "corp.example"), 1u);
  EXPECT_EQ(route(z, "HOST.Corp.Example"), 1u);
  EXPECT_EQ(route(z, "a.b.lab.corp.example"), 2u);
  EXPECT_EQ(route(z, "4.3.2.10.in-addr.arpa"), 3u);
  // Label-aligned: notcorp.example is not below corp.example.
  EXPECT_EQ(route(z, "notcorp.example"), 0u);
  EXPECT_EQ(route(z, "."), 0u);
}

TEST(ForwardZones, WithoutARootUnroutedNamesSaySo) {
  ForwardZones z;
  ASSERT_TRUE(z.add("corp.example", 1));
  EXPECT_EQ(route(z, "www.example.com"), ForwardZones::kNoPool);
  EXPECT_EQ(route(z, "x.corp.example"), 1u);
}

TEST(ForwardZones, DuplicatesAndBadNamesAreRefused) {
  ForwardZones z;
  ASSERT_TRUE(z.add("corp.example", 1));
  EXPECT_FALSE(z.add("CORP.example.", 2));
  EXPECT_FALSE(z.add("bad..name", 2));
  EXPECT_EQ(z.size(), 1u);
}

}  // namespace
}  // namespace dotgate::upstream
