// Ethernet II framing with an optional 802.1Q tag (IEEE 802.3, 802.1Q).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "net/drops.h"
#include "util/byte_order.h"

namespace dotgate::net {

struct MacAddr {
  uint8_t b[6] = {0, 0, 0, 0, 0, 0};

  static constexpr MacAddr broadcast() { return MacAddr{{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}}; }
  bool is_broadcast() const noexcept { return *this == broadcast(); }
  bool is_multicast() const noexcept { return b[0] & 1; }  // includes broadcast
  bool is_zero() const noexcept { return *this == MacAddr{}; }
  friend bool operator==(const MacAddr& x, const MacAddr& y) noexcept {
    return std::memcmp(x.b, y.b, 6) == 0;
  }
};

enum EtherType : uint16_t {
  kEtherIPv4 = 0x0800,
  kEtherARP = 0x0806,
  kEtherVLAN = 0x8100,
  kEtherIPv6 = 0x86dd,
  kEtherQinQ = 0x88a8,
};

inline constexpr size_t kEthHeader = 14;
inline constexpr size_t kVlanTag = 4;
inline constexpr uint16_t kNoVlan = 0xffff;  // EthFrame::vlan_tci when untagged

struct EthFrame {
  MacAddr dst;
  MacAddr src;
  uint16_t ethertype = 0;       // of the payload, after any VLAN tag
  uint16_t vlan_tci = kNoVlan;  // priority, DEI and VLAN ID as on the wire
  uint16_t l3_offset = 0;       // where the payload starts
  uint16_t vlan_id() const noexcept { return vlan_tci & 0x0fff; }
};

// Parses the Ethernet header of frame[0, len). Accepts one 802.1Q tag; a second tag
// (QinQ) is refused. Does not filter by destination: see accepts_destination().
inline Drop parse_ethernet(const uint8_t* frame, size_t len, EthFrame* out) noexcept {
  if (len < kEthHeader) return Drop::kEthTooShort;
  std::memcpy(out->dst.b, frame, 6);
  std::memcpy(out->src.b, frame + 6, 6);
  uint16_t type = util::load_be16(frame + 12);
  size_t off = kEthHeader;
  out->vlan_tci = kNoVlan;
  if (type == kEtherVLAN) {
    if (len < kEthHeader + kVlanTag) return Drop::kEthTooShort;
    out->vlan_tci = util::load_be16(frame + 14);
    type = util::load_be16(frame + 16);
    off += kVlanTag;
    if (type == kEtherVLAN || type == kEtherQinQ) return Drop::kEthStackedVlan;
  } else if (type == kEtherQinQ) {
    return Drop::kEthStackedVlan;
  }
  out->ethertype = type;
  out->l3_offset = static_cast<uint16_t>(off);
  return Drop::kNone;
}

// True if a frame to `dst` is for an interface whose address is `ours`: our unicast
// address, broadcast, or any multicast (IPv6 neighbour discovery needs solicited-node
// multicast; the IP layer filters further).
inline bool accepts_destination(const MacAddr& dst, const MacAddr& ours) noexcept {
  return dst == ours || dst.is_multicast();
}

// Writes an Ethernet header (with an 802.1Q tag unless vlan_tci == kNoVlan) and returns its
// length. `out` must have room for 18 bytes.
inline size_t write_ethernet(uint8_t* out, const MacAddr& dst, const MacAddr& src, uint16_t vlan_tci,
                             uint16_t ethertype) noexcept {
  std::memcpy(out, dst.b, 6);
  std::memcpy(out + 6, src.b, 6);
  if (vlan_tci == kNoVlan) {
    util::store_be16(out + 12, ethertype);
    return kEthHeader;
  }
  util::store_be16(out + 12, kEtherVLAN);
  util::store_be16(out + 14, vlan_tci);
  util::store_be16(out + 16, ethertype);
  return kEthHeader + kVlanTag;
}

}  // namespace dotgate::net
