// Checksum offload: what we send with tx offload, completed as a NIC completes it, verifies;
// what the NIC says it verified on receive is not checked again (and is when it did not).
#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "net/checksum.h"
#include "net/ipv4.h"
#include "net/ipv4_host.h"
#include "net/ipv6_host.h"
#include "net/tcp_segment.h"
#include "net/udp.h"
#include "util/byte_order.h"

namespace dotgate::net {
namespace {

// What a NIC does for a TCP/UDP checksum offload: the field holds the pseudo-header's sum;
// it sums the segment over it and stores the complement. (And the IPv4 header checksum.)
void nic_completes(uint8_t* l4, size_t l4_len, size_t field) {
  util::store_be16(l4 + field, csum_finish(csum_partial(l4, l4_len)));
}
void nic_completes_ipv4_header(uint8_t* ip) {
  util::store_be16(ip + 10, 0);
  util::store_be16(ip + 10, csum_finish(csum_partial(ip, kIpv4Header)));
}

TEST(ChecksumOffload, ATcpSegmentWithOnlyThePseudoSumVerifiesOnceTheNicCompletesIt) {
  uint8_t seg[64] = {};
  std::memcpy(seg + kTcpHeader + 12, "dotgate!", 8);
  TcpSendOptions o;
  o.timestamps = true;
  o.ts_value = 77;
  const size_t payload = 8;
  const size_t h = tcp_header_size(o);
  std::memmove(seg + h, seg + kTcpHeader + 12, payload);
  const uint64_t pseudo = ipv4_pseudo_sum(0xc0000202, 0xc0000235, kProtoTCP, h + payload);
  write_tcp(seg, 40000, 853, 1, 2, kTcpAck | kTcpPsh, 1000, o, payload, pseudo, true);
  TcpSegment s;
  EXPECT_EQ(parse_tcp(seg, h + payload, pseudo, &s), Drop::kTcpBadChecksum);  // not finished yet
  nic_completes(seg, h + payload, 16);
  EXPECT_EQ(parse_tcp(seg, h + payload, pseudo, &s), Drop::kNone);
  // And it is the checksum software would have written.
  uint8_t soft[64] = {};
  std::memcpy(soft + h, seg + h, payload);
  write_tcp(soft, 40000, 853, 1, 2, kTcpAck | kTcpPsh, 1000, o, payload, pseudo, false);
  EXPECT_EQ(std::memcmp(soft, seg, h + payload), 0);
}

TEST(ChecksumOffload, UdpOverIpv4AndIpv6FromAHostThatOffloads) {
  Ipv4HostConfig c4;
  c4.mac = MacAddr{{2, 0, 0, 0, 0, 1}};
  c4.address = 0xc0000202;
  c4.tx_checksum_offload = true;
  c4.udp_ports = UdpPorts{{53, 0, 0, 0}};
  const Ipv4Host host4(c4);
  uint8_t f[256] = {};
  std::memcpy(f + host4.udp_payload_offset(), "answer", 6);
  const size_t n = host4.build_udp(f, MacAddr{{2, 0, 0, 0, 0, 9}}, 0xc0000209, 53, 5300, 6, 1);
  uint8_t* ip = f + kEthHeader;
  EXPECT_EQ(util::load_be16(ip + 10), 0);  // left to the NIC
  Ipv4Packet p;
  EXPECT_EQ(parse_ipv4(ip, n - kEthHeader, &p), Drop::kIpv4BadChecksum);
  nic_completes_ipv4_header(ip);
  nic_completes(ip + kIpv4Header, kUdpHeader + 6, 6);
  ASSERT_EQ(parse_ipv4(ip, n - kEthHeader, &p), Drop::kNone);
  UdpDatagram u;
  EXPECT_EQ(parse_udp_v4(ip + kIpv4Header, kUdpHeader + 6, p.src, p.dst, &u), Drop::kNone);

  Ipv6HostConfig c6;
  c6.mac = c4.mac;
  c6.address.b[0] = 0x20, c6.address.b[1] = 0x01, c6.address.b[15] = 2;
  c6.tx_checksum_offload = true;
  const Ipv6Host host6(c6);
  Ipv6Addr peer = c6.address;
  peer.b[15] = 9;
  uint8_t g[256] = {};
  std::memcpy(g + host6.udp_payload_offset(), "answer", 6);
  host6.build_udp(g, MacAddr{{2, 0, 0, 0, 0, 9}}, peer, 53, 5300, 6);
  uint8_t* l4 = g + kEthHeader + kIpv6Header;
  nic_completes(l4, kUdpHeader + 6, 6);
  EXPECT_EQ(parse_udp_v6(l4, kUdpHeader + 6, c6.address, peer, &u), Drop::kNone);
}

TEST(ChecksumOffload, WhatTheNicVerifiedIsNotCheckedAgainAndWhatItDidNotIs) {
  Ipv4HostConfig c;
  c.mac = MacAddr{{2, 0, 0, 0, 0, 1}};
  c.address = 0xc0000202;
  c.udp_ports = UdpPorts{{53, 0, 0, 0}};
  Ipv4Host us(c);
  Ipv4HostConfig pc = c;
  pc.mac = MacAddr{{2, 0, 0, 0, 0, 9}};
  pc.address = 0xc0000209;
  const Ipv4Host peer(pc);
  NeighborTable neighbors{NeighborConfig{}};
  NeighborActions actions;
  uint8_t f[256] = {};
  std::memcpy(f + peer.udp_payload_offset(), "query", 5);
  const size_t n = peer.build_udp(f, c.mac, c.address, 5300, 53, 5, 1);
  f[n - 1] ^= 0xff;  // the payload changed after the checksum: software refuses it
  std::vector<uint8_t> copy(f, f + n);
  EXPECT_EQ(us.receive(copy.data(), n, 0, neighbors, actions, false).kind, RxKind::kDropped);
  copy.assign(f, f + n);
  // Told that the NIC verified it, the host does not check again (so the cost is not paid
  // twice): the same bytes are taken as they are.
  EXPECT_EQ(us.receive(copy.data(), n, 0, neighbors, actions, true).kind, RxKind::kUdp);
}

}  // namespace
}  // namespace dotgate::net
