// IPv6 addresses (RFC 4291) as 16 bytes in network order, with the classes the stack
// cares about.
#pragma once

#include <cstdint>
#include <cstring>

namespace dotgate::net {

struct Ipv6Addr {
  uint8_t b[16] = {};

  friend bool operator==(const Ipv6Addr& x, const Ipv6Addr& y) noexcept {
    return std::memcmp(x.b, y.b, 16) == 0;
  }
  bool is_unspecified() const noexcept { return *this == Ipv6Addr{}; }
  bool is_multicast() const noexcept { return b[0] == 0xff; }
  bool is_link_local() const noexcept { return b[0] == 0xfe && (b[1] & 0xc0) == 0x80; }
  bool is_loopback() const noexcept {
    static constexpr Ipv6Addr kLoopback{{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}};
    return *this == kLoopback;
  }
  // ff02::1:ffXX:XXXX, the solicited-node multicast group of this address (RFC 4291 2.7.1).
  Ipv6Addr solicited_node() const noexcept {
    return Ipv6Addr{{0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0xff, b[13], b[14], b[15]}};
  }
  static constexpr Ipv6Addr all_nodes() { return Ipv6Addr{{0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}}; }
};

// True if the first `prefix_len` bits of a and b agree.
inline bool same_prefix(const Ipv6Addr& a, const Ipv6Addr& b, unsigned prefix_len) noexcept {
  if (prefix_len > 128) prefix_len = 128;
  const unsigned whole = prefix_len / 8;
  if (std::memcmp(a.b, b.b, whole) != 0) return false;
  const unsigned rest = prefix_len % 8;
  if (rest == 0) return true;
  const uint8_t mask = static_cast<uint8_t>(0xff << (8 - rest));
  return (a.b[whole] & mask) == (b.b[whole] & mask);
}

}  // namespace dotgate::net
