// One IPv4 interface of the dataplane: classifies received frames, answers ARP and ping
// itself (in place, in the received frame), and hands UDP datagrams and TCP segments
// addressed to it up to the DNS and TCP layers. Also builds the frames it sends.
//
// Pure logic: frames in, frames and events out; one instance per worker core. Neighbour
// resolution state lives in the NeighborTable the owner passes in.
#pragma once

#include <cstddef>
#include <cstdint>

#include "net/arp.h"
#include "net/drops.h"
#include "net/ethernet.h"
#include "net/ipv4.h"
#include "net/neighbors.h"
#include "net/udp.h"

namespace dotgate::net {

struct Ipv4HostConfig {
  MacAddr mac;
  uint32_t address = 0;     // host order
  uint8_t prefix_len = 24;  // the directly connected prefix
  uint32_t gateway = 0;     // default route; 0 = none (on-link destinations only)
  uint16_t vlan_tci = kNoVlan;
  bool verify_checksums = true;  // false: never verified here (see receive's checksums_verified)
  bool tx_checksum_offload = false;  // the NIC completes UDP and IPv4 header checksums
  UdpPorts udp_ports;  // ports with a listener
};

enum class RxKind : uint8_t {
  kDropped,        // see RxResult::drop
  kReplyInPlace,   // the frame was turned into a reply (ARP, ICMP echo): send it back
  kConsumed,       // used and nothing to send (an ARP reply, a gratuitous ARP)
  kUdp,            // a datagram for one of our ports
  kTcp,            // a segment for the TCP engine
  kIcmpError,      // an ICMP error quoting one of our packets (for TCP's PMTU/errors)
};

struct RxResult {
  RxKind kind = RxKind::kDropped;
  Drop drop = Drop::kNone;
  uint16_t reply_len = 0;  // kReplyInPlace: bytes of the reply frame
  // kUdp / kTcp / kIcmpError: where things are in the frame
  uint32_t src_ip = 0;
  uint32_t dst_ip = 0;
  uint16_t l4_offset = 0;  // UDP/TCP/ICMP header
  uint16_t l4_len = 0;     // bytes of it, up to the end of the IP payload
  uint16_t src_port = 0;   // kUdp
  uint16_t dst_port = 0;   // kUdp
  uint16_t payload_offset = 0;  // kUdp: the DNS message
  uint16_t payload_len = 0;
  uint16_t mtu = 0;  // kIcmpError with "fragmentation needed"
};

class Ipv4Host {
 public:
  explicit Ipv4Host(const Ipv4HostConfig& config) : config_(config) {}

  const Ipv4HostConfig& config() const noexcept { return config_; }

  // Classifies frame[0, len). ARP traffic updates `neighbors` (any resulting transmissions
  // or drops of held packets are appended to `actions`). `checksums_verified`: the NIC
  // checked the IPv4 header's and the UDP/TCP checksum (rx offload): not done again.
  RxResult receive(uint8_t* frame, size_t len, uint64_t now_ms, NeighborTable& neighbors,
                   NeighborActions& actions, bool checksums_verified = false) noexcept;

  // The next hop for a destination: itself when on-link, else the gateway (0 if none).
  uint32_t next_hop(uint32_t dst) const noexcept;
  bool on_link(uint32_t ip) const noexcept;

  // Frame builders. `out` needs room for the whole frame; each returns its length.
  size_t build_arp_request(uint8_t* out, uint32_t target_ip) const noexcept;
  size_t build_gratuitous_arp(uint8_t* out) const noexcept;
  // A UDP datagram whose payload_len bytes already sit at out + udp_payload_offset().
  size_t build_udp(uint8_t* out, const MacAddr& dst_mac, uint32_t dst_ip, uint16_t src_port, uint16_t dst_port,
                   size_t payload_len, uint16_t ip_id) const noexcept;
  size_t udp_payload_offset() const noexcept { return l2_len() + kIpv4Header + kUdpHeader; }
  size_t l2_len() const noexcept { return config_.vlan_tci == kNoVlan ? kEthHeader : kEthHeader + kVlanTag; }

 private:
  RxResult receive_arp(uint8_t* frame, const EthFrame& eth, size_t len, uint64_t now_ms, NeighborTable& neighbors,
                       NeighborActions& actions) noexcept;

  Ipv4HostConfig config_;
};

}  // namespace dotgate::net
