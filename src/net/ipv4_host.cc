#include "net/ipv4_host.h"

#include <cstring>

#include "net/icmp.h"

namespace dotgate::net {

namespace {
RxResult dropped(Drop d) {
  RxResult r;
  r.kind = RxKind::kDropped;
  r.drop = d;
  return r;
}
uint32_t prefix_mask(uint8_t len) { return len == 0 ? 0 : ~uint32_t{0} << (32 - (len > 32 ? 32 : len)); }
}  // namespace

bool Ipv4Host::on_link(uint32_t ip) const noexcept {
  const uint32_t mask = prefix_mask(config_.prefix_len);
  return (ip & mask) == (config_.address & mask);
}

uint32_t Ipv4Host::next_hop(uint32_t dst) const noexcept { return on_link(dst) ? dst : config_.gateway; }

RxResult Ipv4Host::receive(uint8_t* frame, size_t len, uint64_t now_ms, NeighborTable& neighbors,
                           NeighborActions& actions, bool checksums_verified) noexcept {
  const bool verify = config_.verify_checksums && !checksums_verified;
  EthFrame eth;
  Drop d = parse_ethernet(frame, len, &eth);
  if (d != Drop::kNone) return dropped(d);
  if (!accepts_destination(eth.dst, config_.mac)) return dropped(Drop::kEthNotForUs);
  if (eth.ethertype == kEtherARP) return receive_arp(frame, eth, len, now_ms, neighbors, actions);
  if (eth.ethertype != kEtherIPv4) return dropped(Drop::kEthUnknownType);

  uint8_t* ip_start = frame + eth.l3_offset;
  Ipv4Packet ip;
  d = parse_ipv4(ip_start, len - eth.l3_offset, &ip, verify);
  if (d != Drop::kNone) return dropped(d);
  if (ip.dst != config_.address) return dropped(Drop::kIpv4NotForUs);
  uint8_t* l4 = ip_start + ip.header_len;
  const size_t l4_len = ip.payload_len();
  RxResult r;
  r.src_ip = ip.src;
  r.dst_ip = ip.dst;
  r.l4_offset = static_cast<uint16_t>(l4 - frame);
  r.l4_len = static_cast<uint16_t>(l4_len);

  switch (ip.protocol) {
    case kProtoUDP: {
      UdpDatagram u;
      d = parse_udp_v4(l4, l4_len, ip.src, ip.dst, &u, verify);
      if (d != Drop::kNone) return dropped(d);
      if (!config_.udp_ports.contains(u.dst_port)) return dropped(Drop::kUdpNoListener);
      r.kind = RxKind::kUdp;
      r.src_port = u.src_port;
      r.dst_port = u.dst_port;
      r.payload_offset = static_cast<uint16_t>(r.l4_offset + kUdpHeader);
      r.payload_len = u.payload_len();
      return r;
    }
    case kProtoTCP:
      r.kind = RxKind::kTcp;  // the TCP engine validates the segment and its checksum
      return r;
    case kProtoICMP: {
      IcmpMessage m;
      d = parse_icmp(l4, l4_len, &m);
      if (d != Drop::kNone) return dropped(d);
      if (m.type == kIcmpEchoRequest) {
        // Reply in place: swap the addresses at each layer, keep ID, sequence and data.
        echo_request_to_reply(l4);
        write_ethernet(frame, eth.src, config_.mac, eth.vlan_tci, kEtherIPv4);
        if (ip.header_len != kIpv4Header) {  // drop options: they are not echoed
          std::memmove(ip_start + kIpv4Header, l4, l4_len);
        }
        write_ipv4(ip_start, config_.address, ip.src, kProtoICMP, l4_len, ip.id);
        r.kind = RxKind::kReplyInPlace;
        r.reply_len = static_cast<uint16_t>(eth.l3_offset + kIpv4Header + l4_len);
        return r;
      }
      if (m.type == kIcmpUnreachable || m.type == kIcmpTimeExceeded) {
        r.kind = RxKind::kIcmpError;
        r.mtu = (m.type == kIcmpUnreachable && m.code == kIcmpFragNeeded) ? m.next_hop_mtu : 0;
        return r;
      }
      return dropped(Drop::kIcmpIgnoredType);
    }
    default:
      return dropped(Drop::kIpv4UnknownProtocol);
  }
}

RxResult Ipv4Host::receive_arp(uint8_t* frame, const EthFrame& eth, size_t len, uint64_t now_ms,
                               NeighborTable& neighbors, NeighborActions& actions) noexcept {
  ArpPacket arp;
  const Drop d = parse_arp(frame + eth.l3_offset, len - eth.l3_offset, &arp);
  if (d != Drop::kNone) return dropped(d);
  const bool for_us = arp.target_ip == config_.address;
  // RFC 826 merge: refresh a known sender always; learn a new one only when it is talking
  // to us (it will likely be talked to next). Gratuitous ARP refreshes known entries.
  if (arp.sender_ip != 0 && arp.sender_ip != config_.address) {
    neighbors.learn(arp.sender_ip, arp.sender_mac, now_ms, for_us, actions);
  }
  if (!for_us) return dropped(Drop::kArpNotForUs);
  RxResult r;
  if (arp.op != kArpRequest) {
    r.kind = RxKind::kConsumed;
    return r;
  }
  const size_t l2 = write_ethernet(frame, arp.sender_mac, config_.mac, eth.vlan_tci, kEtherARP);
  write_arp(frame + l2, kArpReply, config_.mac, config_.address, arp.sender_mac, arp.sender_ip);
  r.kind = RxKind::kReplyInPlace;
  r.reply_len = static_cast<uint16_t>(l2 + kArpPacket);
  return r;
}

size_t Ipv4Host::build_arp_request(uint8_t* out, uint32_t target_ip) const noexcept {
  const size_t l2 = write_ethernet(out, MacAddr::broadcast(), config_.mac, config_.vlan_tci, kEtherARP);
  return l2 + write_arp(out + l2, kArpRequest, config_.mac, config_.address, MacAddr{}, target_ip);
}

size_t Ipv4Host::build_gratuitous_arp(uint8_t* out) const noexcept {
  // RFC 5227 3: an ARP request announcing our own address as sender and target.
  const size_t l2 = write_ethernet(out, MacAddr::broadcast(), config_.mac, config_.vlan_tci, kEtherARP);
  return l2 + write_arp(out + l2, kArpRequest, config_.mac, config_.address, MacAddr{}, config_.address);
}

size_t Ipv4Host::build_udp(uint8_t* out, const MacAddr& dst_mac, uint32_t dst_ip, uint16_t src_port,
                           uint16_t dst_port, size_t payload_len, uint16_t ip_id) const noexcept {
  const size_t l2 = write_ethernet(out, dst_mac, config_.mac, config_.vlan_tci, kEtherIPv4);
  write_udp_v4(out + l2 + kIpv4Header, config_.address, dst_ip, src_port, dst_port, payload_len,
               config_.tx_checksum_offload);
  write_ipv4(out + l2, config_.address, dst_ip, kProtoUDP, kUdpHeader + payload_len, ip_id, kDefaultTtl, 0,
             config_.tx_checksum_offload);
  return l2 + kIpv4Header + kUdpHeader + payload_len;
}

}  // namespace dotgate::net
