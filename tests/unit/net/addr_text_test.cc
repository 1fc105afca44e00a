// Tests for net/addr_text.h.
#include "net/addr_text.h"

#include <gtest/gtest.h>

namespace dotgate::net {
namespace {

TEST(AddrText, Ipv4) {
  EXPECT_EQ(parse_ipv4("192.0.2.1"), 0xc0000201u);
  EXPECT_EQ(parse_ipv4("0.0.0.0"), 0u);
  EXPECT_EQ(parse_ipv4("255.255.255.255"), 0xffffffffu);
  for (const char* bad : {"", "1.2.3", "1.2.3.4.5", "256.0.0.1", "01.2.3.4", "1..2.3", "1.2.3.4 ", "a.b.c.d",
                          "1.2.3.-4", "1.2.3.4/24"}) {
    EXPECT_FALSE(parse_ipv4(bad)) << bad;
  }
  EXPECT_EQ(format_ipv4(0xc0000201), "192.0.2.1");
}

TEST(AddrText, Ipv6RoundTripsCanonically) {
  struct Case {
    const char* in;
    const char* canonical;
  };
  for (const Case& c : {Case{"2001:db8::1", "2001:db8::1"}, Case{"2001:0DB8:0:0:0:0:0:1", "2001:db8::1"},
                        Case{"::", "::"}, Case{"::1", "::1"}, Case{"1::", "1::"},
                        Case{"2606:4700:4700::1111", "2606:4700:4700::1111"},
                        Case{"1:0:0:2:0:0:0:3", "1:0:0:2::3"},      // longest run wins
                        Case{"1:0:0:2:0:0:3:4", "1::2:0:0:3:4"},    // first run when tied
                        Case{"1:2:3:4:5:6:0:8", "1:2:3:4:5:6:0:8"}, // a single zero is not compressed
                        Case{"::ffff:192.0.2.1", "::ffff:c000:201"}}) {
    const auto a = parse_ipv6(c.in);
    ASSERT_TRUE(a) << c.in;
    EXPECT_EQ(format_ipv6(*a), c.canonical) << c.in;
    EXPECT_EQ(parse_ipv6(format_ipv6(*a)), a) << c.in;
  }
  for (const char* bad : {"", ":", ":::", "1:2", "1::2::3", "1:2:3:4:5:6:7:8:9", "12345::", "g::1", "1:",
                          ":1", "::1.2.3", "1:2:3:4:5:6:7:1.2.3.4", "1:2:3:4:5:6:7:8::", "fe80::1%eth0"}) {
    EXPECT_FALSE(parse_ipv6(bad)) << bad;
  }
}

TEST(AddrText, Prefixes) {
  const auto p = parse_prefix("192.0.2.0/24");
  ASSERT_TRUE(p);
  EXPECT_TRUE(p->contains(*parse_ip("192.0.2.200")));
  EXPECT_FALSE(p->contains(*parse_ip("192.0.3.1")));
  EXPECT_FALSE(p->contains(*parse_ip("2001:db8::1")));
  EXPECT_EQ(format_prefix(*p), "192.0.2.0/24");
  EXPECT_FALSE(parse_prefix("192.0.2.1/24")) << "host bits set: a typo, not rounded";
  EXPECT_EQ(parse_prefix("192.0.2.1")->len, 32);
  EXPECT_TRUE(parse_prefix("0.0.0.0/0")->contains(*parse_ip("203.0.113.9")));
  const auto v6 = parse_prefix("2001:db8::/32");
  ASSERT_TRUE(v6);
  EXPECT_TRUE(v6->contains(*parse_ip("2001:db8:ffff::1")));
  EXPECT_FALSE(v6->contains(*parse_ip("2001:db9::1")));
  EXPECT_FALSE(parse_prefix("2001:db8::1/64"));
  EXPECT_TRUE(parse_prefix("2001:db8::/127"));
  for (const char* bad : {"192.0.2.0/33", "2001:db8::/129", "192.0.2.0/", "/24", "192.0.2.0/024", "x/8"}) {
    EXPECT_FALSE(parse_prefix(bad)) << bad;
  }
}

}  // namespace
}  // namespace dotgate::net
