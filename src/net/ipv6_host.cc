#include "net/ipv6_host.h"

#include <cstring>

#include "net/icmpv6.h"
#include "net/udp.h"

namespace dotgate::net {

namespace {
Rx6Result dropped(Drop d) {
  Rx6Result r;
  r.kind = RxKind::kDropped;
  r.drop = d;
  return r;
}
}  // namespace

Ipv6Host::Ipv6Host(const Ipv6HostConfig& config) : config_(config) {
  if (config_.link_local.is_unspecified()) config_.link_local = link_local_from_mac(config_.mac);
}

bool Ipv6Host::on_link(const Ipv6Addr& ip) const noexcept {
  return ip.is_link_local() || same_prefix(ip, config_.address, config_.prefix_len);
}

Ipv6Addr Ipv6Host::next_hop(const Ipv6Addr& dst) const noexcept { return on_link(dst) ? dst : config_.gateway; }

bool Ipv6Host::accepts_dst(const Ipv6Addr& dst) const noexcept {
  return is_ours(dst) || dst == config_.address.solicited_node() || dst == config_.link_local.solicited_node() ||
         dst == Ipv6Addr::all_nodes();
}

Rx6Result Ipv6Host::receive(uint8_t* frame, size_t len, uint64_t now_ms, NeighborTable6& neighbors,
                            NeighborActions6& actions, bool checksums_verified) noexcept {
  EthFrame eth;
  Drop d = parse_ethernet(frame, len, &eth);
  if (d != Drop::kNone) return dropped(d);
  if (!accepts_destination(eth.dst, config_.mac)) return dropped(Drop::kEthNotForUs);
  if (eth.ethertype != kEtherIPv6) return dropped(Drop::kEthUnknownType);
  uint8_t* ip_start = frame + eth.l3_offset;
  Ipv6Packet ip;
  d = parse_ipv6(ip_start, len - eth.l3_offset, &ip);
  if (d != Drop::kNone) return dropped(d);
  if (!accepts_dst(ip.dst)) return dropped(Drop::kIpv6NotForUs);
  // The unspecified source is legal only in duplicate address detection (RFC 4291 2.5.2).
  if (ip.src.is_unspecified() && ip.next_header != kProtoICMPv6) return dropped(Drop::kIpv6BadSource);
  uint8_t* l4 = ip_start + ip.l4_offset;
  Rx6Result r;
  r.src = ip.src;
  r.dst = ip.dst;
  r.l4_offset = static_cast<uint16_t>(l4 - frame);
  r.l4_len = ip.l4_len;
  const bool unicast_to_us = is_ours(ip.dst);

  switch (ip.next_header) {
    case kProtoUDP: {
      if (!unicast_to_us) return dropped(Drop::kIpv6NotForUs);
      UdpDatagram u;
      d = parse_udp_v6(l4, ip.l4_len, ip.src, ip.dst, &u, config_.verify_checksums && !checksums_verified);
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
      if (!unicast_to_us) return dropped(Drop::kIpv6NotForUs);
      r.kind = RxKind::kTcp;
      return r;
    case kProtoICMPv6:
      break;
    default:
      return dropped(Drop::kIpv6UnknownNextHeader);
  }

  Icmpv6Message m;
  d = parse_icmpv6(l4, ip.l4_len, ip, &m);
  if (d != Drop::kNone) return dropped(d);
  if (ip.src.is_unspecified() && m.type != kNdNeighborSolicit) return dropped(Drop::kIpv6BadSource);
  switch (m.type) {
    case kIcmp6EchoRequest: {
      if (!unicast_to_us) return dropped(Drop::kIcmpIgnoredType);  // no replies to multicast pings
      const size_t icmp_len = ip.l4_len;
      if (ip.l4_offset != kIpv6Header) std::memmove(ip_start + kIpv6Header, l4, icmp_len);  // drop extensions
      uint8_t* icmp = ip_start + kIpv6Header;
      icmp[0] = kIcmp6EchoReply;
      util::store_be16(icmp + 2, 0);
      util::store_be16(icmp + 2, icmpv6_checksum(icmp, icmp_len, ip.dst, ip.src));
      write_ethernet(frame, eth.src, config_.mac, eth.vlan_tci, kEtherIPv6);
      write_ipv6(ip_start, ip.dst, ip.src, kProtoICMPv6, icmp_len);
      r.kind = RxKind::kReplyInPlace;
      r.reply_len = static_cast<uint16_t>(eth.l3_offset + kIpv6Header + icmp_len);
      return r;
    }
    case kNdNeighborSolicit: {
      if (!is_ours(m.target)) return dropped(Drop::kNdNotForUs);
      if (m.has_link_addr) neighbors.learn(ip.src, m.link_addr, now_ms, true, actions);  // RFC 4861 7.2.3
      // Answer: solicited (unless DAD) and override, to the asker or, for DAD, all nodes.
      const bool dad = ip.src.is_unspecified();
      const Ipv6Addr to = dad ? Ipv6Addr::all_nodes() : ip.src;
      const MacAddr to_mac = dad ? multicast_mac(to) : (m.has_link_addr ? m.link_addr : eth.src);
      const uint32_t flags = kNaOverride | (dad ? 0 : kNaSolicited);
      const size_t l2 = write_ethernet(frame, to_mac, config_.mac, eth.vlan_tci, kEtherIPv6);
      const size_t nd = write_nd(frame + l2 + kIpv6Header, kNdNeighborAdvert, flags, m.target, config_.mac,
                                 m.target, to);
      write_ipv6(frame + l2, m.target, to, kProtoICMPv6, nd, kNdHopLimit);
      r.kind = RxKind::kReplyInPlace;
      r.reply_len = static_cast<uint16_t>(l2 + kIpv6Header + nd);
      return r;
    }
    case kNdNeighborAdvert:
      // RFC 4861 7.2.5: update an entry we have (releasing held packets); never create.
      if (m.has_link_addr) neighbors.learn(m.target, m.link_addr, now_ms, false, actions);
      r.kind = RxKind::kConsumed;
      return r;
    case kIcmp6PacketTooBig:
    case kIcmp6Unreachable:
    case kIcmp6TimeExceeded:
      if (!unicast_to_us) return dropped(Drop::kIcmpIgnoredType);
      r.kind = RxKind::kIcmpError;
      r.mtu = m.type == kIcmp6PacketTooBig ? m.mtu : 0;
      return r;
    default:
      return dropped(Drop::kIcmpIgnoredType);
  }
}

size_t Ipv6Host::build_neighbor_solicit(uint8_t* out, const Ipv6Addr& target) const noexcept {
  const Ipv6Addr group = target.solicited_node();
  const Ipv6Addr& src = target.is_link_local() ? config_.link_local : config_.address;
  const size_t l2 = write_ethernet(out, multicast_mac(group), config_.mac, config_.vlan_tci, kEtherIPv6);
  const size_t nd = write_nd(out + l2 + kIpv6Header, kNdNeighborSolicit, 0, target, config_.mac, src, group);
  write_ipv6(out + l2, src, group, kProtoICMPv6, nd, kNdHopLimit);
  return l2 + kIpv6Header + nd;
}

size_t Ipv6Host::build_udp(uint8_t* out, const MacAddr& dst_mac, const Ipv6Addr& dst_ip, uint16_t src_port,
                           uint16_t dst_port, size_t payload_len) const noexcept {
  const Ipv6Addr& src = dst_ip.is_link_local() ? config_.link_local : config_.address;
  const size_t l2 = write_ethernet(out, dst_mac, config_.mac, config_.vlan_tci, kEtherIPv6);
  write_udp_v6(out + l2 + kIpv6Header, src, dst_ip, src_port, dst_port, payload_len, config_.tx_checksum_offload);
  write_ipv6(out + l2, src, dst_ip, kProtoUDP, kUdpHeader + payload_len);
  return l2 + kIpv6Header + kUdpHeader + payload_len;
}

}  // namespace dotgate::net
