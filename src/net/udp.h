// UDP (RFC 768) over IPv4: datagram validation with checksum, and the header we send.
#pragma once

#include <cstddef>
#include <cstdint>

#include "net/checksum.h"
#include "net/drops.h"
#include "net/ipv4.h"
#include "util/byte_order.h"

namespace dotgate::net {

inline constexpr size_t kUdpHeader = 8;

struct UdpDatagram {
  uint16_t src_port = 0;
  uint16_t dst_port = 0;
  uint16_t length = 0;  // header + payload, from the header
  uint16_t payload_len() const noexcept { return static_cast<uint16_t>(length - kUdpHeader); }
};

// Validates the UDP datagram at p[0, len) (len: the IP payload length) carried over IPv4
// from src to dst. A zero checksum means none was computed (allowed over IPv4 only).
inline Drop parse_udp_v4(const uint8_t* p, size_t len, uint32_t src, uint32_t dst, UdpDatagram* out,
                         bool verify_checksum = true) noexcept {
  if (len < kUdpHeader) return Drop::kUdpTooShort;
  const size_t length = util::load_be16(p + 4);
  if (length < kUdpHeader || length > len) return Drop::kUdpBadLength;
  if (verify_checksum && util::load_be16(p + 6) != 0 &&
      csum_finish(csum_partial(p, length, ipv4_pseudo_sum(src, dst, kProtoUDP, length))) != 0) {
    return Drop::kUdpBadChecksum;
  }
  out->src_port = util::load_be16(p);
  out->dst_port = util::load_be16(p + 2);
  out->length = static_cast<uint16_t>(length);
  return Drop::kNone;
}

// Writes the UDP header in front of a payload of payload_len bytes that already sits at
// out + 8, computing the checksum over both. Returns 8.
inline size_t write_udp_v4(uint8_t* out, uint32_t src, uint32_t dst, uint16_t src_port, uint16_t dst_port,
                           size_t payload_len) noexcept {
  const size_t length = kUdpHeader + payload_len;
  util::store_be16(out, src_port);
  util::store_be16(out + 2, dst_port);
  util::store_be16(out + 4, static_cast<uint16_t>(length));
  util::store_be16(out + 6, 0);
  uint16_t sum = csum_finish(csum_partial(out, length, ipv4_pseudo_sum(src, dst, kProtoUDP, length)));
  if (sum == 0) sum = 0xffff;  // RFC 768: a computed zero is sent as all ones
  util::store_be16(out + 6, sum);
  return kUdpHeader;
}

}  // namespace dotgate::net
