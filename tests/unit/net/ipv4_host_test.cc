// Tests for net/ipv4_host.h: two hosts exchange real frames built by the code under test.
#include "net/ipv4_host.h"

#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "net/icmp.h"

namespace dotgate::net {
namespace {

using Bytes = std::vector<uint8_t>;

Ipv4HostConfig host_config(uint8_t last, uint16_t vlan = kNoVlan) {
  Ipv4HostConfig c;
  c.mac = MacAddr{{0x02, 0, 0, 0, 0, last}};
  c.address = 0xc0000200u | last;  // 192.0.2.<last>/24
  c.prefix_len = 24;
  c.gateway = 0xc0000201;
  c.vlan_tci = vlan;
  return c;
}

struct Pair : ::testing::Test {
  Ipv4Host us{host_config(10)};
  Ipv4Host peer{host_config(20)};
  NeighborTable neighbors{NeighborConfig{}};
  NeighborActions actions;
  Bytes frame = Bytes(2048, 0);
};

TEST_F(Pair, AnswersArpForItsAddressInPlaceAndLearnsTheAsker) {
  const size_t n = peer.build_arp_request(frame.data(), us.config().address);
  const RxResult r = us.receive(frame.data(), n, 0, neighbors, actions);
  ASSERT_EQ(r.kind, RxKind::kReplyInPlace);
  EthFrame eth;
  ASSERT_EQ(parse_ethernet(frame.data(), r.reply_len, &eth), Drop::kNone);
  EXPECT_EQ(eth.dst, peer.config().mac);
  EXPECT_EQ(eth.src, us.config().mac);
  ArpPacket arp;
  ASSERT_EQ(parse_arp(frame.data() + eth.l3_offset, r.reply_len - eth.l3_offset, &arp), Drop::kNone);
  EXPECT_EQ(arp.op, kArpReply);
  EXPECT_EQ(arp.sender_ip, us.config().address);
  EXPECT_EQ(arp.sender_mac, us.config().mac);
  EXPECT_EQ(arp.target_ip, peer.config().address);
  ASSERT_NE(neighbors.find(peer.config().address, 0), nullptr);
  EXPECT_EQ(*neighbors.find(peer.config().address, 0), peer.config().mac);
}

TEST_F(Pair, ArpForSomeoneElseLearnsNothingNew) {
  const size_t n = peer.build_arp_request(frame.data(), 0xc0000263);
  EXPECT_EQ(us.receive(frame.data(), n, 0, neighbors, actions).drop, Drop::kArpNotForUs);
  EXPECT_EQ(neighbors.find(peer.config().address, 0), nullptr);
}

TEST_F(Pair, ArpReplyReleasesHeldPackets) {
  MacAddr mac;
  ASSERT_EQ(neighbors.resolve(peer.config().address, 42, 0, &mac, actions), NeighborTable::Result::kQueued);
  ASSERT_EQ(actions.requests.size(), 1u);
  // The request we would send, answered by the peer (peer answers it in place).
  size_t n = us.build_arp_request(frame.data(), actions.requests[0]);
  NeighborTable peer_neighbors{NeighborConfig{}};
  NeighborActions peer_actions;
  const RxResult at_peer = peer.receive(frame.data(), n, 0, peer_neighbors, peer_actions);
  ASSERT_EQ(at_peer.kind, RxKind::kReplyInPlace);
  actions.clear();
  const RxResult r = us.receive(frame.data(), at_peer.reply_len, 5, neighbors, actions);
  EXPECT_EQ(r.kind, RxKind::kConsumed);
  ASSERT_EQ(actions.transmit.size(), 1u);
  EXPECT_EQ(actions.transmit[0].handle, 42u);
  EXPECT_EQ(actions.transmit[0].mac, peer.config().mac);
}

TEST_F(Pair, GratuitousArpRefreshesKnownNeighbourOnly) {
  const size_t n = peer.build_gratuitous_arp(frame.data());
  EXPECT_EQ(us.receive(frame.data(), n, 0, neighbors, actions).drop, Drop::kArpNotForUs);
  EXPECT_EQ(neighbors.find(peer.config().address, 0), nullptr);
  neighbors.learn(peer.config().address, MacAddr{{0x02, 9, 9, 9, 9, 9}}, 0, true, actions);
  const size_t m = peer.build_gratuitous_arp(frame.data());
  us.receive(frame.data(), m, 1, neighbors, actions);
  EXPECT_EQ(*neighbors.find(peer.config().address, 1), peer.config().mac);
}

// An ICMP echo request from the peer, built by hand (hosts never originate pings).
size_t echo_request(Bytes& f, const Ipv4Host& from, const Ipv4Host& to, size_t data_len) {
  const size_t l2 = write_ethernet(f.data(), to.config().mac, from.config().mac, kNoVlan, kEtherIPv4);
  uint8_t* icmp = f.data() + l2 + kIpv4Header;
  icmp[0] = kIcmpEchoRequest;
  icmp[1] = 0;
  util::store_be16(icmp + 2, 0);
  util::store_be16(icmp + 4, 0x77);
  util::store_be16(icmp + 6, 3);
  for (size_t i = 0; i < data_len; ++i) icmp[8 + i] = static_cast<uint8_t>(i);
  util::store_be16(icmp + 2, csum_finish(csum_partial(icmp, 8 + data_len)));
  write_ipv4(f.data() + l2, from.config().address, to.config().address, kProtoICMP, 8 + data_len, 99);
  return l2 + kIpv4Header + 8 + data_len;
}

TEST_F(Pair, AnswersPingInPlace) {
  const size_t n = echo_request(frame, peer, us, 33);
  const RxResult r = us.receive(frame.data(), n, 0, neighbors, actions);
  ASSERT_EQ(r.kind, RxKind::kReplyInPlace);
  EXPECT_EQ(r.reply_len, n);
  EthFrame eth;
  ASSERT_EQ(parse_ethernet(frame.data(), r.reply_len, &eth), Drop::kNone);
  EXPECT_EQ(eth.dst, peer.config().mac);
  Ipv4Packet ip;
  ASSERT_EQ(parse_ipv4(frame.data() + 14, r.reply_len - 14, &ip), Drop::kNone);
  EXPECT_EQ(ip.src, us.config().address);
  EXPECT_EQ(ip.dst, peer.config().address);
  IcmpMessage m;
  ASSERT_EQ(parse_icmp(frame.data() + 34, ip.payload_len(), &m), Drop::kNone);
  EXPECT_EQ(m.type, kIcmpEchoReply);
  EXPECT_EQ(util::load_be16(frame.data() + 34 + 4), 0x77);
  EXPECT_EQ(frame[34 + 8 + 32], 32);  // the data comes back
}

TEST_F(Pair, UdpToOurPortIsDeliveredWithOffsets) {
  const char msg[] = "dns-query";
  std::memcpy(frame.data() + peer.udp_payload_offset(), msg, sizeof msg);
  const size_t n = peer.build_udp(frame.data(), us.config().mac, us.config().address, 40000, 53, sizeof msg, 1);
  const RxResult r = us.receive(frame.data(), n, 0, neighbors, actions);
  ASSERT_EQ(r.kind, RxKind::kUdp);
  EXPECT_EQ(r.src_ip, peer.config().address);
  EXPECT_EQ(r.src_port, 40000);
  EXPECT_EQ(r.dst_port, 53);
  EXPECT_EQ(r.payload_len, sizeof msg);
  EXPECT_EQ(std::memcmp(frame.data() + r.payload_offset, msg, sizeof msg), 0);
}

TEST_F(Pair, DropsWhatIsNotOurs) {
  const size_t n = peer.build_udp(frame.data(), us.config().mac, us.config().address, 1, 54, 4, 1);
  EXPECT_EQ(us.receive(frame.data(), n, 0, neighbors, actions).drop, Drop::kUdpNoListener);
  const size_t m = peer.build_udp(frame.data(), us.config().mac, 0xc0000263, 1, 53, 4, 1);
  EXPECT_EQ(us.receive(frame.data(), m, 0, neighbors, actions).drop, Drop::kIpv4NotForUs);
  const size_t k = peer.build_udp(frame.data(), peer.config().mac, us.config().address, 1, 53, 4, 1);
  EXPECT_EQ(us.receive(frame.data(), k, 0, neighbors, actions).drop, Drop::kEthNotForUs);
  EXPECT_EQ(us.receive(frame.data(), 10, 0, neighbors, actions).drop, Drop::kEthTooShort);
  const size_t j = peer.build_udp(frame.data(), us.config().mac, us.config().address, 1, 53, 4, 1);
  frame[j - 1] ^= 0x5a;
  EXPECT_EQ(us.receive(frame.data(), j, 0, neighbors, actions).drop, Drop::kUdpBadChecksum);
}

TEST_F(Pair, TcpIsHandedUp) {
  const size_t l2 = write_ethernet(frame.data(), us.config().mac, peer.config().mac, kNoVlan, kEtherIPv4);
  write_ipv4(frame.data() + l2, peer.config().address, us.config().address, kProtoTCP, 20, 5);
  const RxResult r = us.receive(frame.data(), l2 + 40, 0, neighbors, actions);
  ASSERT_EQ(r.kind, RxKind::kTcp);
  EXPECT_EQ(r.l4_offset, 34);
  EXPECT_EQ(r.l4_len, 20);
}

TEST(Ipv4Host, NextHopAndVlan) {
  Ipv4Host h(host_config(10, 0x0005));
  EXPECT_EQ(h.next_hop(0xc0000214), 0xc0000214u);  // on-link
  EXPECT_EQ(h.next_hop(0x01010101), 0xc0000201u);  // via the gateway
  EXPECT_EQ(h.l2_len(), 18u);
  Bytes f(128);
  const size_t n = h.build_arp_request(f.data(), 0xc0000201);
  EthFrame eth;
  ASSERT_EQ(parse_ethernet(f.data(), n, &eth), Drop::kNone);
  EXPECT_EQ(eth.vlan_id(), 5);
  EXPECT_EQ(eth.ethertype, kEtherARP);
  EXPECT_TRUE(eth.dst.is_broadcast());
}

}  // namespace
}  // namespace dotgate::net
