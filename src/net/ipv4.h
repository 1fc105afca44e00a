// IPv4 (RFC 791) headers for a host, not a router: validation of what arrives, and the
// header of what we send. Addresses are uint32_t in host order (192.0.2.1 == 0xc0000201).
#pragma once

#include <cstddef>
#include <cstdint>

#include "net/checksum.h"
#include "net/drops.h"
#include "util/byte_order.h"

namespace dotgate::net {

inline constexpr size_t kIpv4Header = 20;  // without options
inline constexpr uint8_t kDefaultTtl = 64;

enum IpProtocol : uint8_t { kProtoICMP = 1, kProtoTCP = 6, kProtoUDP = 17, kProtoICMPv6 = 58 };

struct Ipv4Packet {
  uint32_t src = 0;
  uint32_t dst = 0;
  uint8_t protocol = 0;
  uint8_t ttl = 0;
  uint8_t tos = 0;
  uint16_t id = 0;
  uint16_t header_len = 0;  // bytes, options included
  uint16_t total_len = 0;   // bytes, from the header; frame padding beyond it is ignored
  uint16_t payload_len() const noexcept { return static_cast<uint16_t>(total_len - header_len); }
};

inline bool ipv4_is_multicast(uint32_t a) noexcept { return (a >> 28) == 0xe; }
inline bool ipv4_is_loopback(uint32_t a) noexcept { return (a >> 24) == 127; }

// Validates the IPv4 header at p[0, len) (len: bytes left in the frame). Options are
// skipped, not interpreted. Fragments are refused: nothing dotgate serves needs them, and
// reassembly is a memory-exhaustion target. `verify_checksum` is false when the NIC has
// already verified it.
inline Drop parse_ipv4(const uint8_t* p, size_t len, Ipv4Packet* out, bool verify_checksum = true) noexcept {
  if (len < kIpv4Header) return Drop::kIpv4TooShort;
  if ((p[0] >> 4) != 4) return Drop::kIpv4BadVersion;
  const size_t header_len = size_t{p[0] & 0x0fu} * 4;
  if (header_len < kIpv4Header || header_len > len) return Drop::kIpv4BadHeaderLength;
  const size_t total = util::load_be16(p + 2);
  if (total < header_len || total > len) return Drop::kIpv4BadTotalLength;
  if (verify_checksum && csum_finish(csum_partial(p, header_len)) != 0) return Drop::kIpv4BadChecksum;
  const uint16_t frag = util::load_be16(p + 6);
  if (frag & 0x3fff) return Drop::kIpv4Fragment;  // MF set or a non-zero offset
  out->tos = p[1];
  out->total_len = static_cast<uint16_t>(total);
  out->header_len = static_cast<uint16_t>(header_len);
  out->id = util::load_be16(p + 4);
  out->ttl = p[8];
  out->protocol = p[9];
  out->src = util::load_be32(p + 12);
  out->dst = util::load_be32(p + 16);
  // 0.0.0.0 is only a source while a host is configuring itself (DHCP), never for us.
  if (ipv4_is_multicast(out->src) || out->src == 0xffffffffu || ipv4_is_loopback(out->src) || out->src == 0) {
    return Drop::kIpv4BadSource;
  }
  return Drop::kNone;
}

// Writes a 20-byte IPv4 header with DF set and its checksum (0 with checksum_offload: the
// NIC fills it in). Returns 20.
inline size_t write_ipv4(uint8_t* out, uint32_t src, uint32_t dst, uint8_t protocol, size_t payload_len,
                         uint16_t id, uint8_t ttl = kDefaultTtl, uint8_t tos = 0,
                         bool checksum_offload = false) noexcept {
  out[0] = 0x45;
  out[1] = tos;
  util::store_be16(out + 2, static_cast<uint16_t>(kIpv4Header + payload_len));
  util::store_be16(out + 4, id);
  util::store_be16(out + 6, 0x4000);  // DF: we do path MTU discovery, never fragment
  out[8] = ttl;
  out[9] = protocol;
  util::store_be16(out + 10, 0);
  util::store_be32(out + 12, src);
  util::store_be32(out + 16, dst);
  if (!checksum_offload) util::store_be16(out + 10, csum_finish(csum_partial(out, kIpv4Header)));
  return kIpv4Header;
}

// The pseudo-header partial sum for UDP/TCP checksums over IPv4 (RFC 768, RFC 9293 3.1).
inline uint64_t ipv4_pseudo_sum(uint32_t src, uint32_t dst, uint8_t protocol, size_t l4_len) noexcept {
  uint64_t sum = 0;
  sum = csum_add16(sum, static_cast<uint16_t>(src >> 16));
  sum = csum_add16(sum, static_cast<uint16_t>(src));
  sum = csum_add16(sum, static_cast<uint16_t>(dst >> 16));
  sum = csum_add16(sum, static_cast<uint16_t>(dst));
  sum = csum_add16(sum, protocol);
  sum = csum_add16(sum, static_cast<uint16_t>(l4_len));
  return sum;
}

}  // namespace dotgate::net
