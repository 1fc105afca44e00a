// One IPv6 interface of the dataplane, the counterpart of Ipv4Host: answers neighbour
// solicitations and pings in place, learns neighbours, hands UDP datagrams, TCP segments
// and ICMPv6 errors up, and builds the frames it sends (neighbour solicitations, UDP).
#pragma once

#include <cstddef>
#include <cstdint>

#include "net/drops.h"
#include "net/ethernet.h"
#include "net/ipv4_host.h"
#include "net/ipv6.h"
#include "net/neighbors.h"
#include "net/udp.h"

namespace dotgate::net {

struct Ipv6HostConfig {
  MacAddr mac;
  Ipv6Addr address;          // global (or unique-local) address
  uint8_t prefix_len = 64;   // the directly connected prefix
  Ipv6Addr link_local;       // unset: derived from the MAC (modified EUI-64)
  Ipv6Addr gateway;          // default router, usually link-local; unset = none
  uint16_t vlan_tci = kNoVlan;
  bool verify_checksums = true;  // false: never verified here (see receive's checksums_verified)
  bool tx_checksum_offload = false;  // the NIC completes UDP checksums
  UdpPorts udp_ports;  // ports with a listener
};

struct Rx6Result {
  RxKind kind = RxKind::kDropped;
  Drop drop = Drop::kNone;
  uint16_t reply_len = 0;
  Ipv6Addr src;
  Ipv6Addr dst;
  uint16_t l4_offset = 0;
  uint16_t l4_len = 0;
  uint16_t src_port = 0;
  uint16_t dst_port = 0;
  uint16_t payload_offset = 0;
  uint16_t payload_len = 0;
  uint32_t mtu = 0;  // kIcmpError from "packet too big"
};

class Ipv6Host {
 public:
  explicit Ipv6Host(const Ipv6HostConfig& config);

  const Ipv6HostConfig& config() const noexcept { return config_; }

  // Classifies frame[0, len). Replies are written over the frame, which must have room
  // for kMinFrameRoom bytes (an advertisement can be longer than the solicitation).
  // `checksums_verified`: the NIC checked the UDP/TCP checksum (rx offload).
  Rx6Result receive(uint8_t* frame, size_t len, uint64_t now_ms, NeighborTable6& neighbors,
                    NeighborActions6& actions, bool checksums_verified = false) noexcept;
  static constexpr size_t kMinFrameRoom = 128;

  bool on_link(const Ipv6Addr& ip) const noexcept;
  // The next hop for dst: itself when on-link or link-local, else the gateway.
  Ipv6Addr next_hop(const Ipv6Addr& dst) const noexcept;
  bool is_ours(const Ipv6Addr& ip) const noexcept { return ip == config_.address || ip == config_.link_local; }

  size_t build_neighbor_solicit(uint8_t* out, const Ipv6Addr& target) const noexcept;
  size_t build_udp(uint8_t* out, const MacAddr& dst_mac, const Ipv6Addr& dst_ip, uint16_t src_port,
                   uint16_t dst_port, size_t payload_len) const noexcept;
  size_t udp_payload_offset() const noexcept { return l2_len() + kIpv6Header + 8; }
  size_t l2_len() const noexcept { return config_.vlan_tci == kNoVlan ? kEthHeader : kEthHeader + kVlanTag; }

 private:
  bool accepts_dst(const Ipv6Addr& dst) const noexcept;

  Ipv6HostConfig config_;
};

}  // namespace dotgate::net
