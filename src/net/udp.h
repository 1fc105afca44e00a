// UDP (RFC 768) over IPv4 and IPv6: datagram validation with checksum, and the header we
// send.
#pragma once

#include <cstddef>
#include <cstdint>

#include "net/checksum.h"
#include "net/drops.h"
#include "net/ipv4.h"
#include "net/ipv6.h"
#include "util/byte_order.h"

namespace dotgate::net {

inline constexpr size_t kUdpHeader = 8;

// The UDP ports an interface serves (up to four; 0 is unused).
struct UdpPorts {
  uint16_t ports[4] = {53, 0, 0, 0};
  bool contains(uint16_t port) const noexcept {
    for (uint16_t p : ports) {
      if (p != 0 && p == port) return true;
    }
    return false;
  }
};

struct UdpDatagram {
  uint16_t src_port = 0;
  uint16_t dst_port = 0;
  uint16_t length = 0;  // header + payload, from the header
  uint16_t payload_len() const noexcept { return static_cast<uint16_t>(length - kUdpHeader); }
};

namespace detail {
// Shared by both families; `pseudo(length)` gives the pseudo-header sum.
template <class PseudoSum>
Drop parse_udp(const uint8_t* p, size_t len, UdpDatagram* out, bool verify_checksum, bool zero_allowed,
               PseudoSum pseudo) noexcept {
  if (len < kUdpHeader) return Drop::kUdpTooShort;
  const size_t length = util::load_be16(p + 4);
  if (length < kUdpHeader || length > len) return Drop::kUdpBadLength;
  const uint16_t sent = util::load_be16(p + 6);
  if (sent == 0 && !zero_allowed) return Drop::kUdpBadChecksum;
  if (verify_checksum && sent != 0 && csum_finish(csum_partial(p, length, pseudo(length))) != 0) {
    return Drop::kUdpBadChecksum;
  }
  out->src_port = util::load_be16(p);
  out->dst_port = util::load_be16(p + 2);
  out->length = static_cast<uint16_t>(length);
  return Drop::kNone;
}

inline size_t write_udp(uint8_t* out, uint16_t src_port, uint16_t dst_port, size_t payload_len,
                        uint64_t pseudo, bool checksum_offload) noexcept {
  const size_t length = kUdpHeader + payload_len;
  util::store_be16(out, src_port);
  util::store_be16(out + 2, dst_port);
  util::store_be16(out + 4, static_cast<uint16_t>(length));
  if (checksum_offload) {  // the NIC completes it
    util::store_be16(out + 6, csum_fold(pseudo));
    return kUdpHeader;
  }
  util::store_be16(out + 6, 0);
  uint16_t sum = csum_finish(csum_partial(out, length, pseudo));
  if (sum == 0) sum = 0xffff;  // RFC 768: a computed zero is sent as all ones
  util::store_be16(out + 6, sum);
  return kUdpHeader;
}
}  // namespace detail

// Validates the UDP datagram at p[0, len) (len: the IP payload length) carried over IPv4
// from src to dst. A zero checksum means none was computed (allowed over IPv4 only).
inline Drop parse_udp_v4(const uint8_t* p, size_t len, uint32_t src, uint32_t dst, UdpDatagram* out,
                         bool verify_checksum = true) noexcept {
  return detail::parse_udp(p, len, out, verify_checksum, true,
                           [&](size_t length) { return ipv4_pseudo_sum(src, dst, kProtoUDP, length); });
}

// The same over IPv6, where the checksum is mandatory (RFC 8200 8.1).
inline Drop parse_udp_v6(const uint8_t* p, size_t len, const Ipv6Addr& src, const Ipv6Addr& dst,
                         UdpDatagram* out, bool verify_checksum = true) noexcept {
  return detail::parse_udp(p, len, out, verify_checksum, false,
                           [&](size_t length) { return ipv6_pseudo_sum(src, dst, kProtoUDP, length); });
}

// Writes the UDP header in front of a payload of payload_len bytes that already sits at
// out + 8, computing the checksum over both (with checksum_offload, only the pseudo-header's
// part: the NIC completes it). Returns 8.
inline size_t write_udp_v4(uint8_t* out, uint32_t src, uint32_t dst, uint16_t src_port, uint16_t dst_port,
                           size_t payload_len, bool checksum_offload = false) noexcept {
  return detail::write_udp(out, src_port, dst_port, payload_len,
                           ipv4_pseudo_sum(src, dst, kProtoUDP, kUdpHeader + payload_len), checksum_offload);
}

inline size_t write_udp_v6(uint8_t* out, const Ipv6Addr& src, const Ipv6Addr& dst, uint16_t src_port,
                           uint16_t dst_port, size_t payload_len, bool checksum_offload = false) noexcept {
  return detail::write_udp(out, src_port, dst_port, payload_len,
                           ipv6_pseudo_sum(src, dst, kProtoUDP, kUdpHeader + payload_len), checksum_offload);
}

}  // namespace dotgate::net
