// ICMPv6 (RFC 4443) and the Neighbor Discovery messages a host needs (RFC 4861): echo,
// packet too big (for path MTU), neighbour solicitation and advertisement.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "net/checksum.h"
#include "net/drops.h"
#include "net/ethernet.h"
#include "net/ipv6.h"
#include "util/byte_order.h"

namespace dotgate::net {

enum Icmpv6Type : uint8_t {
  kIcmp6Unreachable = 1,
  kIcmp6PacketTooBig = 2,
  kIcmp6TimeExceeded = 3,
  kIcmp6EchoRequest = 128,
  kIcmp6EchoReply = 129,
  kNdNeighborSolicit = 135,
  kNdNeighborAdvert = 136,
};

inline constexpr size_t kNdMessage = 24;           // type..target, before options
inline constexpr uint8_t kNdHopLimit = 255;        // RFC 4861: proves the sender is on-link
inline constexpr uint8_t kNdOptSourceLinkAddr = 1;
inline constexpr uint8_t kNdOptTargetLinkAddr = 2;
inline constexpr uint32_t kNaRouter = 0x80000000u;
inline constexpr uint32_t kNaSolicited = 0x40000000u;
inline constexpr uint32_t kNaOverride = 0x20000000u;

struct Icmpv6Message {
  uint8_t type = 0;
  uint8_t code = 0;
  uint32_t mtu = 0;       // kIcmp6PacketTooBig
  // Neighbour solicitation / advertisement
  Ipv6Addr target;
  uint32_t na_flags = 0;  // kNa* bits
  bool has_link_addr = false;  // source (NS) or target (NA) link-layer address option
  MacAddr link_addr;
};

inline uint16_t icmpv6_checksum(const uint8_t* p, size_t len, const Ipv6Addr& src, const Ipv6Addr& dst) noexcept {
  return csum_finish(csum_partial(p, len, ipv6_pseudo_sum(src, dst, kProtoICMPv6, len)));
}

// Validates the ICMPv6 message p[0, len) of the IPv6 packet `ip`, including the RFC 4861
// 7.1 checks for NS and NA (hop limit 255, code 0, length, no multicast target, options
// of non-zero length, the DAD and multicast rules).
inline Drop parse_icmpv6(const uint8_t* p, size_t len, const Ipv6Packet& ip, Icmpv6Message* out) noexcept {
  if (len < 8) return Drop::kIcmpTooShort;
  if (icmpv6_checksum(p, len, ip.src, ip.dst) != 0) return Drop::kIcmpBadChecksum;
  out->type = p[0];
  out->code = p[1];
  out->has_link_addr = false;
  if (out->type == kIcmp6PacketTooBig) out->mtu = util::load_be32(p + 4);
  if (out->type != kNdNeighborSolicit && out->type != kNdNeighborAdvert) return Drop::kNone;

  if (ip.hop_limit != kNdHopLimit || out->code != 0 || len < kNdMessage) return Drop::kNdMalformed;
  std::memcpy(out->target.b, p + 8, 16);
  if (out->target.is_multicast()) return Drop::kNdMalformed;
  out->na_flags = out->type == kNdNeighborAdvert ? (util::load_be32(p + 4) & 0xe0000000u) : 0;
  const uint8_t wanted = out->type == kNdNeighborSolicit ? kNdOptSourceLinkAddr : kNdOptTargetLinkAddr;
  for (size_t off = kNdMessage; off < len;) {
    if (off + 2 > len) return Drop::kNdMalformed;
    const size_t opt_len = size_t{p[off + 1]} * 8;
    if (opt_len == 0 || off + opt_len > len) return Drop::kNdMalformed;
    if (p[off] == wanted && opt_len >= 8) {
      out->has_link_addr = true;
      std::memcpy(out->link_addr.b, p + off + 2, 6);
    }
    off += opt_len;
  }
  if (out->type == kNdNeighborSolicit && ip.src.is_unspecified()) {
    // Duplicate address detection: to a solicited-node group, without a source address.
    if (!(ip.dst.b[0] == 0xff && ip.dst.b[1] == 0x02) || out->has_link_addr) return Drop::kNdMalformed;
  }
  if (out->type == kNdNeighborAdvert && ip.dst.is_multicast() && (out->na_flags & kNaSolicited)) {
    return Drop::kNdMalformed;
  }
  return Drop::kNone;
}

// Writes a neighbour solicitation (with our link-layer address) or advertisement (with
// `flags` and our link-layer address) for `target` at out; the checksum covers the IPv6
// pseudo-header of src -> dst. Returns 32 (24 + one 8-byte option).
inline size_t write_nd(uint8_t* out, uint8_t type, uint32_t flags, const Ipv6Addr& target, const MacAddr& our_mac,
                       const Ipv6Addr& src, const Ipv6Addr& dst) noexcept {
  out[0] = type;
  out[1] = 0;
  util::store_be16(out + 2, 0);
  util::store_be32(out + 4, type == kNdNeighborAdvert ? flags : 0);
  std::memcpy(out + 8, target.b, 16);
  out[24] = type == kNdNeighborSolicit ? kNdOptSourceLinkAddr : kNdOptTargetLinkAddr;
  out[25] = 1;  // in units of 8 bytes
  std::memcpy(out + 26, our_mac.b, 6);
  util::store_be16(out + 2, icmpv6_checksum(out, 32, src, dst));
  return 32;
}

// The Ethernet address of an IPv6 multicast group (RFC 2464 7): 33:33 + its last 32 bits.
inline MacAddr multicast_mac(const Ipv6Addr& group) noexcept {
  return MacAddr{{0x33, 0x33, group.b[12], group.b[13], group.b[14], group.b[15]}};
}

// A link-local address from a MAC (modified EUI-64, RFC 4291 2.5.1 and appendix A).
inline Ipv6Addr link_local_from_mac(const MacAddr& mac) noexcept {
  return Ipv6Addr{{0xfe, 0x80, 0, 0, 0, 0, 0, 0, static_cast<uint8_t>(mac.b[0] ^ 0x02), mac.b[1], mac.b[2], 0xff,
                   0xfe, mac.b[3], mac.b[4], mac.b[5]}};
}

}  // namespace dotgate::net
