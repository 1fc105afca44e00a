// IPv6 (RFC 8200) for a host: header validation with extension headers skipped, the
// header we send, and the pseudo-header sum for upper-layer checksums.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "net/checksum.h"
#include "net/drops.h"
#include "net/ipv4.h"
#include "net/ipv6_addr.h"
#include "util/byte_order.h"

namespace dotgate::net {

inline constexpr size_t kIpv6Header = 40;
inline constexpr uint8_t kDefaultHopLimit = 64;
inline constexpr unsigned kMaxExtensionHeaders = 4;  // bounds the work per packet

enum Ipv6NextHeader : uint8_t {
  kNextHopByHop = 0,
  kNextRouting = 43,
  kNextFragment = 44,
  kNextNone = 59,
  kNextDestOptions = 60,
};

struct Ipv6Packet {
  Ipv6Addr src;
  Ipv6Addr dst;
  uint8_t next_header = 0;  // of the upper layer, after extension headers
  uint8_t hop_limit = 0;
  uint16_t l4_offset = 0;   // from the start of the IPv6 header
  uint16_t l4_len = 0;
};

// Validates the IPv6 header at p[0, len) and walks its extension headers: hop-by-hop and
// destination options are skipped, a routing header is accepted only with no segments
// left, fragments are refused (as for IPv4), and at most kMaxExtensionHeaders are walked.
inline Drop parse_ipv6(const uint8_t* p, size_t len, Ipv6Packet* out) noexcept {
  if (len < kIpv6Header) return Drop::kIpv6TooShort;
  if ((p[0] >> 4) != 6) return Drop::kIpv6BadVersion;
  const size_t payload = util::load_be16(p + 4);
  if (kIpv6Header + payload > len) return Drop::kIpv6BadPayloadLength;
  std::memcpy(out->src.b, p + 8, 16);
  std::memcpy(out->dst.b, p + 24, 16);
  if (out->src.is_multicast() || out->src.is_loopback()) return Drop::kIpv6BadSource;
  out->hop_limit = p[7];
  uint8_t next = p[6];
  size_t off = kIpv6Header;
  const size_t end = kIpv6Header + payload;
  for (unsigned n = 0;; ++n) {
    if (next == kNextFragment) return Drop::kIpv6Fragment;
    if (next != kNextHopByHop && next != kNextRouting && next != kNextDestOptions) break;
    if (n == kMaxExtensionHeaders || off + 8 > end) return Drop::kIpv6BadExtension;
    if (next == kNextHopByHop && n != 0) return Drop::kIpv6BadExtension;  // first only
    if (next == kNextRouting && p[off + 3] != 0) return Drop::kIpv6BadExtension;  // we are no router
    const size_t ext_len = (size_t{p[off + 1]} + 1) * 8;
    if (off + ext_len > end) return Drop::kIpv6BadExtension;
    next = p[off];
    off += ext_len;
  }
  out->next_header = next;
  out->l4_offset = static_cast<uint16_t>(off);
  out->l4_len = static_cast<uint16_t>(end - off);
  return Drop::kNone;
}

// Writes a 40-byte IPv6 header. Returns 40.
inline size_t write_ipv6(uint8_t* out, const Ipv6Addr& src, const Ipv6Addr& dst, uint8_t next_header,
                         size_t payload_len, uint8_t hop_limit = kDefaultHopLimit) noexcept {
  util::store_be32(out, 0x60000000u);  // version 6, traffic class 0, flow label 0
  util::store_be16(out + 4, static_cast<uint16_t>(payload_len));
  out[6] = next_header;
  out[7] = hop_limit;
  std::memcpy(out + 8, src.b, 16);
  std::memcpy(out + 24, dst.b, 16);
  return kIpv6Header;
}

// RFC 8200 8.1 pseudo-header partial sum.
inline uint64_t ipv6_pseudo_sum(const Ipv6Addr& src, const Ipv6Addr& dst, uint8_t next_header,
                                size_t l4_len) noexcept {
  uint64_t sum = csum_partial(src.b, 16);
  sum = csum_partial(dst.b, 16, sum);
  sum = csum_add16(sum, static_cast<uint16_t>(l4_len >> 16));
  sum = csum_add16(sum, static_cast<uint16_t>(l4_len));
  sum = csum_add16(sum, next_header);
  return sum;
}

}  // namespace dotgate::net
