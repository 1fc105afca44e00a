// What the TCP engine needs to know about its address family: the address type, the
// pseudo-header sum, the IP header size (for MSS from a path MTU), the smallest MTU worth
// believing, and how to read the TCP segment an ICMP or ICMPv6 error quotes. The engine is
// one template over these, instantiated twice in tcp.cc: a worker runs one engine per family.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "net/icmpv6.h"
#include "net/ipv4.h"
#include "net/ipv6.h"
#include "util/byte_order.h"
#include "util/hash.h"

namespace dotgate::net {

// The part of one of our TCP segments an ICMP error quotes, and what the error says.
template <class Addr>
struct TcpIcmpQuote {
  Addr remote{};
  uint16_t remote_port = 0;
  uint16_t local_port = 0;
  uint32_t seq = 0;
  bool too_big = false;  // "fragmentation needed" / "packet too big"
  uint32_t mtu = 0;      // the reported path MTU, when too_big
};

struct TcpIpv4 {
  using Addr = uint32_t;
  using AddrArg = uint32_t;
  static constexpr size_t kIpHeader = kIpv4Header;
  static constexpr uint32_t kMinMtu = 576;  // RFC 1191 7: smaller reports are not believed

  static uint64_t pseudo_sum(AddrArg src, AddrArg dst, size_t len) noexcept {
    return ipv4_pseudo_sum(src, dst, kProtoTCP, len);
  }
  static uint64_t key(AddrArg a) noexcept { return a; }
  static bool parse_icmp_error(const uint8_t* icmp, size_t len, AddrArg local, TcpIcmpQuote<Addr>* q) noexcept {
    // ICMP header (8), the quoted IPv4 header (20+), the quoted TCP ports and sequence (8).
    if (len < 8 + kIpv4Header + 8 || icmp[0] != 3) return false;
    const uint8_t* ip = icmp + 8;
    const size_t ihl = static_cast<size_t>(ip[0] & 0x0f) * 4;
    if ((ip[0] >> 4) != 4 || ihl < kIpv4Header || 8 + ihl + 8 > len || ip[9] != kProtoTCP ||
        util::load_be32(ip + 12) != local) {
      return false;
    }
    const uint8_t* tcp = ip + ihl;
    q->remote = util::load_be32(ip + 16);
    q->local_port = util::load_be16(tcp);
    q->remote_port = util::load_be16(tcp + 2);
    q->seq = util::load_be32(tcp + 4);
    q->too_big = icmp[1] == 4;
    q->mtu = util::load_be16(icmp + 6);
    return true;
  }
};

struct TcpIpv6 {
  using Addr = Ipv6Addr;
  using AddrArg = const Ipv6Addr&;
  static constexpr size_t kIpHeader = kIpv6Header;
  static constexpr uint32_t kMinMtu = 1280;  // RFC 8200 5: every IPv6 link carries this

  static uint64_t pseudo_sum(AddrArg src, AddrArg dst, size_t len) noexcept {
    return ipv6_pseudo_sum(src, dst, kProtoTCP, len);
  }
  static uint64_t key(AddrArg a) noexcept {
    uint64_t hi, lo;
    std::memcpy(&hi, a.b, 8);
    std::memcpy(&lo, a.b + 8, 8);
    return util::mix64(hi, lo);
  }
  static bool parse_icmp_error(const uint8_t* icmp, size_t len, AddrArg local, TcpIcmpQuote<Addr>* q) noexcept {
    // ICMPv6 header (8), the quoted IPv6 header (40), the quoted TCP ports and sequence (8).
    // A quote whose TCP header sits behind extension headers is not ours: we send none.
    if (len < 8 + kIpv6Header + 8 || (icmp[0] != kIcmp6Unreachable && icmp[0] != kIcmp6PacketTooBig)) return false;
    const uint8_t* ip = icmp + 8;
    if ((ip[0] >> 4) != 6 || ip[6] != kProtoTCP || std::memcmp(ip + 8, local.b, 16) != 0) return false;
    const uint8_t* tcp = ip + kIpv6Header;
    std::memcpy(q->remote.b, ip + 24, 16);
    q->local_port = util::load_be16(tcp);
    q->remote_port = util::load_be16(tcp + 2);
    q->seq = util::load_be32(tcp + 4);
    q->too_big = icmp[0] == kIcmp6PacketTooBig;
    q->mtu = util::load_be32(icmp + 4);
    return true;
  }
};

}  // namespace dotgate::net
