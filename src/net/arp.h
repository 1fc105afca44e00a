// ARP for Ethernet and IPv4 (RFC 826): the packet codec. The neighbour table that uses it
// lives in net/neighbors.h.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "net/drops.h"
#include "net/ethernet.h"
#include "util/byte_order.h"

namespace dotgate::net {

inline constexpr size_t kArpPacket = 28;
enum ArpOp : uint16_t { kArpRequest = 1, kArpReply = 2 };

struct ArpPacket {
  uint16_t op = 0;
  MacAddr sender_mac;
  uint32_t sender_ip = 0;  // host order
  MacAddr target_mac;
  uint32_t target_ip = 0;
};

inline Drop parse_arp(const uint8_t* p, size_t len, ArpPacket* out) noexcept {
  if (len < kArpPacket) return Drop::kArpMalformed;
  // Hardware Ethernet (1), protocol IPv4, address lengths 6 and 4.
  if (util::load_be16(p) != 1 || util::load_be16(p + 2) != kEtherIPv4 || p[4] != 6 || p[5] != 4) {
    return Drop::kArpMalformed;
  }
  out->op = util::load_be16(p + 6);
  if (out->op != kArpRequest && out->op != kArpReply) return Drop::kArpMalformed;
  std::memcpy(out->sender_mac.b, p + 8, 6);
  out->sender_ip = util::load_be32(p + 14);
  std::memcpy(out->target_mac.b, p + 18, 6);
  out->target_ip = util::load_be32(p + 24);
  return Drop::kNone;
}

inline size_t write_arp(uint8_t* out, uint16_t op, const MacAddr& sender_mac, uint32_t sender_ip,
                        const MacAddr& target_mac, uint32_t target_ip) noexcept {
  util::store_be16(out, 1);
  util::store_be16(out + 2, kEtherIPv4);
  out[4] = 6;
  out[5] = 4;
  util::store_be16(out + 6, op);
  std::memcpy(out + 8, sender_mac.b, 6);
  util::store_be32(out + 14, sender_ip);
  std::memcpy(out + 18, target_mac.b, 6);
  util::store_be32(out + 24, target_ip);
  return kArpPacket;
}

}  // namespace dotgate::net
