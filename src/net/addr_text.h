// IP addresses and prefixes in presentation form (RFC 4291 2.2 / RFC 5952 for IPv6,
// dotted quad for IPv4), for configuration, the control plane and logs. Not on the packet
// path. Parsing is strict: no leading zeros in IPv4 octets (ambiguous with octal), no
// zone IDs, no surrounding spaces.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "net/ipv6_addr.h"

namespace dotgate::net {

std::optional<uint32_t> parse_ipv4(std::string_view text) noexcept;
std::optional<Ipv6Addr> parse_ipv6(std::string_view text) noexcept;
std::string format_ipv4(uint32_t addr);
std::string format_ipv6(const Ipv6Addr& addr);  // RFC 5952 canonical form

// Either family, as written in a config file.
struct IpAddr {
  bool v6 = false;
  uint32_t v4 = 0;
  Ipv6Addr v6addr;
  friend bool operator==(const IpAddr& a, const IpAddr& b) noexcept {
    return a.v6 == b.v6 && (a.v6 ? a.v6addr == b.v6addr : a.v4 == b.v4);
  }
};
std::optional<IpAddr> parse_ip(std::string_view text) noexcept;
std::string format_ip(const IpAddr& a);

// "192.0.2.0/24", "2001:db8::/32"; a bare address is a host prefix (/32, /128). Host bits
// below the prefix must be zero, so a typo like 192.0.2.1/24 is caught, not rounded.
struct IpPrefix {
  IpAddr addr;
  uint8_t len = 0;
  bool contains(const IpAddr& a) const noexcept;
};
std::optional<IpPrefix> parse_prefix(std::string_view text) noexcept;
std::string format_prefix(const IpPrefix& p);

}  // namespace dotgate::net
