// Tests for IPv6: net/ipv6.h, net/icmpv6.h, UDP over IPv6 and net/ipv6_host.h.
#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "net/icmpv6.h"
#include "net/ipv6.h"
#include "net/ipv6_host.h"
#include "net/udp.h"

namespace dotgate::net {
namespace {

using Bytes = std::vector<uint8_t>;

Ipv6Addr addr(uint8_t last) {
  return Ipv6Addr{{0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, last}};  // 2001:db8::last
}

Ipv6HostConfig host_config(uint8_t last) {
  Ipv6HostConfig c;
  c.mac = MacAddr{{0x02, 0, 0, 0, 0, last}};
  c.address = addr(last);
  c.prefix_len = 64;
  c.gateway = link_local_from_mac(MacAddr{{0x02, 0, 0, 0, 0, 1}});
  return c;
}

struct Pair6 : ::testing::Test {
  Ipv6Host us{host_config(10)};
  Ipv6Host peer{host_config(20)};
  NeighborTable6 neighbors{NeighborConfig{}};
  NeighborActions6 actions;
  Bytes frame = Bytes(2048, 0);
};

TEST(Ipv6Addr, DerivedAddresses) {
  const Ipv6Addr ll = link_local_from_mac(MacAddr{{0x02, 0x11, 0x22, 0x33, 0x44, 0x55}});
  const Ipv6Addr want{{0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0x00, 0x11, 0x22, 0xff, 0xfe, 0x33, 0x44, 0x55}};
  EXPECT_EQ(ll, want);
  EXPECT_TRUE(ll.is_link_local());
  const Ipv6Addr sn = addr(0xab).solicited_node();
  const Ipv6Addr want_sn{{0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0xff, 0, 0, 0xab}};
  EXPECT_EQ(sn, want_sn);
  EXPECT_EQ(multicast_mac(sn), (MacAddr{{0x33, 0x33, 0xff, 0, 0, 0xab}}));
  EXPECT_TRUE(same_prefix(addr(1), addr(2), 64));
  EXPECT_TRUE(same_prefix(addr(1), addr(2), 120));
  EXPECT_FALSE(same_prefix(addr(1), addr(2), 127));
}

TEST_F(Pair6, SolicitationForOurAddressIsAdvertisedInPlace) {
  const size_t n = peer.build_neighbor_solicit(frame.data(), us.config().address);
  const Rx6Result r = us.receive(frame.data(), n, 0, neighbors, actions);
  ASSERT_EQ(r.kind, RxKind::kReplyInPlace) << to_string(r.drop);
  EthFrame eth;
  ASSERT_EQ(parse_ethernet(frame.data(), r.reply_len, &eth), Drop::kNone);
  EXPECT_EQ(eth.dst, peer.config().mac);
  Ipv6Packet ip;
  ASSERT_EQ(parse_ipv6(frame.data() + 14, r.reply_len - 14, &ip), Drop::kNone);
  EXPECT_EQ(ip.src, us.config().address);
  EXPECT_EQ(ip.dst, peer.config().address);
  EXPECT_EQ(ip.hop_limit, kNdHopLimit);
  Icmpv6Message m;
  ASSERT_EQ(parse_icmpv6(frame.data() + 14 + ip.l4_offset, ip.l4_len, ip, &m), Drop::kNone);
  EXPECT_EQ(m.type, kNdNeighborAdvert);
  EXPECT_EQ(m.target, us.config().address);
  EXPECT_EQ(m.na_flags, kNaSolicited | kNaOverride);
  EXPECT_TRUE(m.has_link_addr);
  EXPECT_EQ(m.link_addr, us.config().mac);
  // The asker's address was learned from its source link-layer option.
  ASSERT_NE(neighbors.find(peer.config().address, 0), nullptr);
}

TEST_F(Pair6, AdvertisementReleasesHeldPackets) {
  MacAddr mac;
  ASSERT_EQ(neighbors.resolve(peer.config().address, 5, 0, &mac, actions), NeighborTable6::Result::kQueued);
  ASSERT_EQ(actions.requests.size(), 1u);
  size_t n = us.build_neighbor_solicit(frame.data(), actions.requests[0]);
  NeighborTable6 peer_neighbors{NeighborConfig{}};
  NeighborActions6 peer_actions;
  const Rx6Result at_peer = peer.receive(frame.data(), n, 0, peer_neighbors, peer_actions);
  ASSERT_EQ(at_peer.kind, RxKind::kReplyInPlace);
  actions.clear();
  EXPECT_EQ(us.receive(frame.data(), at_peer.reply_len, 1, neighbors, actions).kind, RxKind::kConsumed);
  ASSERT_EQ(actions.transmit.size(), 1u);
  EXPECT_EQ(actions.transmit[0].handle, 5u);
  EXPECT_EQ(actions.transmit[0].mac, peer.config().mac);
}

TEST_F(Pair6, DuplicateAddressDetectionIsAnsweredToAllNodes) {
  const size_t l2 = write_ethernet(frame.data(), multicast_mac(us.config().address.solicited_node()),
                                   peer.config().mac, kNoVlan, kEtherIPv6);
  // A DAD probe: unspecified source, no link-layer option (24 bytes of ICMPv6).
  uint8_t* icmp = frame.data() + l2 + kIpv6Header;
  write_nd(icmp, kNdNeighborSolicit, 0, us.config().address, peer.config().mac, Ipv6Addr{},
           us.config().address.solicited_node());
  util::store_be16(icmp + 2, 0);
  util::store_be16(icmp + 2, icmpv6_checksum(icmp, 24, Ipv6Addr{}, us.config().address.solicited_node()));
  write_ipv6(frame.data() + l2, Ipv6Addr{}, us.config().address.solicited_node(), kProtoICMPv6, 24, 255);
  const Rx6Result r = us.receive(frame.data(), l2 + kIpv6Header + 24, 0, neighbors, actions);
  ASSERT_EQ(r.kind, RxKind::kReplyInPlace) << to_string(r.drop);
  Ipv6Packet ip;
  ASSERT_EQ(parse_ipv6(frame.data() + 14, r.reply_len - 14, &ip), Drop::kNone);
  EXPECT_EQ(ip.dst, Ipv6Addr::all_nodes());
  Icmpv6Message m;
  ASSERT_EQ(parse_icmpv6(frame.data() + 14 + ip.l4_offset, ip.l4_len, ip, &m), Drop::kNone);
  EXPECT_EQ(m.na_flags, kNaOverride);  // not solicited: it goes to a multicast group
}

TEST_F(Pair6, NdWithWrongHopLimitOrForOthersIsDropped) {
  size_t n = peer.build_neighbor_solicit(frame.data(), us.config().address);
  frame[14 + 7] = 64;  // hop limit: a router forwarded it, so it is not from our link
  EXPECT_EQ(us.receive(frame.data(), n, 0, neighbors, actions).drop, Drop::kNdMalformed);
  n = peer.build_neighbor_solicit(frame.data(), addr(99));
  EXPECT_EQ(us.receive(frame.data(), n, 0, neighbors, actions).drop, Drop::kIpv6NotForUs);  // other group
}

TEST_F(Pair6, UdpDeliveredAndZeroChecksumRefused) {
  const char msg[] = "query";
  std::memcpy(frame.data() + peer.udp_payload_offset(), msg, sizeof msg);
  const size_t n = peer.build_udp(frame.data(), us.config().mac, us.config().address, 4444, 53, sizeof msg);
  Rx6Result r = us.receive(frame.data(), n, 0, neighbors, actions);
  ASSERT_EQ(r.kind, RxKind::kUdp) << to_string(r.drop);
  EXPECT_EQ(r.src, peer.config().address);
  EXPECT_EQ(r.src_port, 4444);
  EXPECT_EQ(r.payload_len, sizeof msg);
  EXPECT_EQ(std::memcmp(frame.data() + r.payload_offset, msg, sizeof msg), 0);
  util::store_be16(frame.data() + 14 + 40 + 6, 0);
  EXPECT_EQ(us.receive(frame.data(), n, 0, neighbors, actions).drop, Drop::kUdpBadChecksum);
}

TEST_F(Pair6, PingAnsweredInPlace) {
  const size_t l2 = write_ethernet(frame.data(), us.config().mac, peer.config().mac, kNoVlan, kEtherIPv6);
  uint8_t* icmp = frame.data() + l2 + kIpv6Header;
  const uint8_t body[] = {kIcmp6EchoRequest, 0, 0, 0, 0, 9, 0, 1, 'h', 'i'};
  std::memcpy(icmp, body, sizeof body);
  util::store_be16(icmp + 2, icmpv6_checksum(icmp, sizeof body, peer.config().address, us.config().address));
  write_ipv6(frame.data() + l2, peer.config().address, us.config().address, kProtoICMPv6, sizeof body);
  const Rx6Result r = us.receive(frame.data(), l2 + kIpv6Header + sizeof body, 0, neighbors, actions);
  ASSERT_EQ(r.kind, RxKind::kReplyInPlace) << to_string(r.drop);
  Ipv6Packet ip;
  ASSERT_EQ(parse_ipv6(frame.data() + 14, r.reply_len - 14, &ip), Drop::kNone);
  EXPECT_EQ(ip.dst, peer.config().address);
  Icmpv6Message m;
  ASSERT_EQ(parse_icmpv6(frame.data() + 54, ip.l4_len, ip, &m), Drop::kNone);
  EXPECT_EQ(m.type, kIcmp6EchoReply);
  EXPECT_EQ(frame[54 + 9], 'i');
}

// Found in review: the unspecified source is for duplicate address detection only.
TEST_F(Pair6, UnspecifiedSourceOnlyForDad) {
  const size_t l2 = write_ethernet(frame.data(), us.config().mac, peer.config().mac, kNoVlan, kEtherIPv6);
  uint8_t* icmp = frame.data() + l2 + kIpv6Header;
  const uint8_t body[] = {kIcmp6EchoRequest, 0, 0, 0, 0, 9, 0, 1};
  std::memcpy(icmp, body, sizeof body);
  util::store_be16(icmp + 2, icmpv6_checksum(icmp, sizeof body, Ipv6Addr{}, us.config().address));
  write_ipv6(frame.data() + l2, Ipv6Addr{}, us.config().address, kProtoICMPv6, sizeof body);
  EXPECT_EQ(us.receive(frame.data(), l2 + kIpv6Header + sizeof body, 0, neighbors, actions).drop,
            Drop::kIpv6BadSource);
  const size_t n = peer.build_udp(frame.data(), us.config().mac, us.config().address, 1, 53, 0);
  std::memset(frame.data() + 14 + 8, 0, 16);  // source ::
  EXPECT_EQ(us.receive(frame.data(), n, 0, neighbors, actions).drop, Drop::kIpv6BadSource);
}

// An IPv6 packet with the given extension headers in front of an 8-byte UDP header.
Bytes with_extensions(const std::vector<Bytes>& exts, uint8_t first_next) {
  Bytes p(kIpv6Header);
  size_t payload = 8;
  for (const Bytes& e : exts) payload += e.size();
  write_ipv6(p.data(), addr(20), addr(10), first_next, payload);
  for (const Bytes& e : exts) p.insert(p.end(), e.begin(), e.end());
  p.resize(p.size() + 8, 0);
  return p;
}

TEST(Ipv6, ExtensionHeadersWalkedAndBounded) {
  const Bytes hbh = {kNextDestOptions, 0, 1, 4, 0, 0, 0, 0};  // next: dest options
  const Bytes dst = {kProtoUDP, 0, 1, 4, 0, 0, 0, 0};
  Ipv6Packet ip;
  Bytes p = with_extensions({hbh, dst}, kNextHopByHop);
  ASSERT_EQ(parse_ipv6(p.data(), p.size(), &ip), Drop::kNone);
  EXPECT_EQ(ip.next_header, kProtoUDP);
  EXPECT_EQ(ip.l4_offset, kIpv6Header + 16);
  EXPECT_EQ(ip.l4_len, 8);

  const Bytes frag = {kProtoUDP, 0, 0, 0, 0, 0, 0, 1};
  p = with_extensions({frag}, kNextFragment);
  EXPECT_EQ(parse_ipv6(p.data(), p.size(), &ip), Drop::kIpv6Fragment);
  const Bytes routing_left = {kProtoUDP, 0, 0, 1, 0, 0, 0, 0};  // segments left = 1
  p = with_extensions({routing_left}, kNextRouting);
  EXPECT_EQ(parse_ipv6(p.data(), p.size(), &ip), Drop::kIpv6BadExtension);
  const Bytes dst_then_hbh = {kNextHopByHop, 0, 1, 4, 0, 0, 0, 0};
  const Bytes hbh_last = {kProtoUDP, 0, 1, 4, 0, 0, 0, 0};
  p = with_extensions({dst_then_hbh, hbh_last}, kNextDestOptions);
  EXPECT_EQ(parse_ipv6(p.data(), p.size(), &ip), Drop::kIpv6BadExtension);  // hop-by-hop not first
  const Bytes loop = {kNextDestOptions, 0, 1, 4, 0, 0, 0, 0};
  p = with_extensions({loop, loop, loop, loop, loop}, kNextDestOptions);
  EXPECT_EQ(parse_ipv6(p.data(), p.size(), &ip), Drop::kIpv6BadExtension);  // too many
  const Bytes long_ext = {kProtoUDP, 9, 0, 0, 0, 0, 0, 0};  // claims 80 bytes
  p = with_extensions({long_ext}, kNextDestOptions);
  EXPECT_EQ(parse_ipv6(p.data(), p.size(), &ip), Drop::kIpv6BadExtension);
}

TEST(Ipv6, HeaderDefects) {
  Bytes p(kIpv6Header + 8, 0);
  write_ipv6(p.data(), addr(20), addr(10), kProtoUDP, 8);
  Ipv6Packet ip;
  EXPECT_EQ(parse_ipv6(p.data(), 39, &ip), Drop::kIpv6TooShort);
  EXPECT_EQ(parse_ipv6(p.data(), p.size() - 1, &ip), Drop::kIpv6BadPayloadLength);
  Bytes v = p;
  v[0] = 0x40;
  EXPECT_EQ(parse_ipv6(v.data(), v.size(), &ip), Drop::kIpv6BadVersion);
  write_ipv6(v.data(), Ipv6Addr::all_nodes(), addr(10), kProtoUDP, 8);
  EXPECT_EQ(parse_ipv6(v.data(), v.size(), &ip), Drop::kIpv6BadSource);
}

TEST(Ipv6Host, NextHop) {
  Ipv6Host h(host_config(10));
  EXPECT_EQ(h.next_hop(addr(77)), addr(77));  // on-link
  const Ipv6Addr remote{{0x20, 0x01, 0x0d, 0xb9, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}};
  EXPECT_EQ(h.next_hop(remote), h.config().gateway);
  EXPECT_EQ(h.config().link_local, link_local_from_mac(h.config().mac));
}

}  // namespace
}  // namespace dotgate::net
