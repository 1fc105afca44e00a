// Tests for upstream/upstream_spec.h: the upstream forms operators write.
#include "upstream/upstream_spec.h"

#include <gtest/gtest.h>

namespace dotgate::upstream {
namespace {

UpstreamSpec ok(std::string_view text) {
  auto r = parse_upstream(text);
  if (auto* e = std::get_if<SpecError>(&r)) ADD_FAILURE() << text << ": " << e->message;
  return std::get_if<UpstreamSpec>(&r) ? std::get<UpstreamSpec>(r) : UpstreamSpec{};
}

std::string fails(std::string_view text) {
  auto r = parse_upstream(text);
  if (std::holds_alternative<UpstreamSpec>(r)) {
    ADD_FAILURE() << text << " was accepted";
    return "";
  }
  return std::get<SpecError>(r).message;
}

TEST(UpstreamSpec, EveryFormOperatorsWrite) {
  EXPECT_EQ(format_upstream(ok("1.1.1.1")), "1.1.1.1:853");
  EXPECT_EQ(format_upstream(ok("1.1.1.1#cloudflare-dns.com")), "1.1.1.1:853#cloudflare-dns.com");
  EXPECT_EQ(format_upstream(ok("9.9.9.9:8853#dns.quad9.net")), "9.9.9.9:8853#dns.quad9.net");
  EXPECT_EQ(format_upstream(ok("9.9.9.9@853#dns.quad9.net")), "9.9.9.9:853#dns.quad9.net");  // unbound
  EXPECT_EQ(format_upstream(ok("[2606:4700:4700::1111]:853#cloudflare-dns.com")),
            "[2606:4700:4700::1111]:853#cloudflare-dns.com");
  EXPECT_EQ(format_upstream(ok("2606:4700:4700::1111#cloudflare-dns.com")),
            "[2606:4700:4700::1111]:853#cloudflare-dns.com");
  EXPECT_EQ(ok("1.1.1.1#cloudflare-dns.com.").auth_name, "cloudflare-dns.com");
  const UpstreamSpec u = ok("[2001:db8::53]@8853");
  EXPECT_TRUE(u.address.v6);
  EXPECT_EQ(u.port, 8853);
  EXPECT_TRUE(u.auth_name.empty());
}

TEST(UpstreamSpec, ClearErrors) {
  EXPECT_NE(fails("dns.google").find("not an IP address"), std::string::npos);
  EXPECT_NE(fails("dns.google#dns.google").find("put the certificate name after '#'"), std::string::npos);
  EXPECT_NE(fails("1.1.1.1#").find("empty authentication name"), std::string::npos);
  EXPECT_NE(fails("1.1.1.1#bad..name").find("not a valid authentication name"), std::string::npos);
  EXPECT_NE(fails("1.1.1.1:0").find("not a port"), std::string::npos);
  EXPECT_NE(fails("1.1.1.1:65536").find("not a port"), std::string::npos);
  EXPECT_NE(fails("1.1.1.1:").find("missing port"), std::string::npos);
  EXPECT_NE(fails("[2001:db8::1").find("missing ']'"), std::string::npos);
  EXPECT_NE(fails("[2001:db8::1]853").find("expected ':PORT'"), std::string::npos);
  EXPECT_NE(fails("#name").find("missing address"), std::string::npos);
  fails("300.1.1.1");
  fails("");
}

TEST(SpkiPin, Base64Sha256) {
  // 32 bytes of 0x00..0x1f in base64.
  const auto r = parse_spki_pin("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=");
  ASSERT_TRUE(std::holds_alternative<SpkiPin>(r));
  const SpkiPin& pin = std::get<SpkiPin>(r);
  for (size_t i = 0; i < 32; ++i) EXPECT_EQ(pin[i], i);
  EXPECT_NE(std::get<SpecError>(parse_spki_pin("AAEC")).message.find("3 bytes"), std::string::npos);
  EXPECT_TRUE(std::holds_alternative<SpecError>(parse_spki_pin("not base64!")));
  EXPECT_TRUE(std::holds_alternative<SpecError>(parse_spki_pin("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8")));
  // Non-canonical padding bits are refused.
  EXPECT_TRUE(std::holds_alternative<SpecError>(parse_spki_pin("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh9=")));
}

}  // namespace
}  // namespace dotgate::upstream
