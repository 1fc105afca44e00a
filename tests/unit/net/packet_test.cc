// Tests for the frame codecs: net/ethernet.h, arp.h, ipv4.h, udp.h, icmp.h.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <vector>

#include "net/arp.h"
#include "net/ethernet.h"
#include "net/icmp.h"
#include "net/ipv4.h"
#include "net/udp.h"

namespace dotgate::net {
namespace {

constexpr MacAddr kOurMac{{0x02, 0, 0, 0, 0, 0x01}};
constexpr MacAddr kPeerMac{{0x02, 0, 0, 0, 0, 0x02}};
constexpr uint32_t kOurIp = 0xc0000201;   // 192.0.2.1
constexpr uint32_t kPeerIp = 0xc0000202;  // 192.0.2.2

using Bytes = std::vector<uint8_t>;

// An Ethernet + IPv4 + UDP frame carrying `payload`, built with the writers under test.
Bytes udp_frame(const Bytes& payload, uint16_t vlan = kNoVlan) {
  Bytes f(18 + 20 + 8 + payload.size());
  const size_t eth = write_ethernet(f.data(), kOurMac, kPeerMac, vlan, kEtherIPv4);
  f.resize(eth + 20 + 8 + payload.size());
  if (!payload.empty()) std::memcpy(f.data() + eth + 28, payload.data(), payload.size());
  write_udp_v4(f.data() + eth + 20, kPeerIp, kOurIp, 5353, 53, payload.size());
  write_ipv4(f.data() + eth, kPeerIp, kOurIp, kProtoUDP, 8 + payload.size(), 7);
  return f;
}

TEST(Ethernet, UntaggedAndTagged) {
  for (uint16_t vlan : {kNoVlan, uint16_t{0x2064}}) {
    const Bytes f = udp_frame({1, 2, 3}, vlan);
    EthFrame e;
    ASSERT_EQ(parse_ethernet(f.data(), f.size(), &e), Drop::kNone);
    EXPECT_EQ(e.dst, kOurMac);
    EXPECT_EQ(e.src, kPeerMac);
    EXPECT_EQ(e.ethertype, kEtherIPv4);
    EXPECT_EQ(e.vlan_tci, vlan);
    EXPECT_EQ(e.l3_offset, vlan == kNoVlan ? 14 : 18);
    if (vlan != kNoVlan) {
      EXPECT_EQ(e.vlan_id(), 0x064);
    }
  }
}

TEST(Ethernet, ShortAndStackedTagsRefused) {
  Bytes f = udp_frame({});
  EthFrame e;
  EXPECT_EQ(parse_ethernet(f.data(), 13, &e), Drop::kEthTooShort);
  Bytes tagged = udp_frame({}, 5);
  EXPECT_EQ(parse_ethernet(tagged.data(), 17, &e), Drop::kEthTooShort);
  util::store_be16(tagged.data() + 16, kEtherVLAN);  // a second 802.1Q tag
  EXPECT_EQ(parse_ethernet(tagged.data(), tagged.size(), &e), Drop::kEthStackedVlan);
  util::store_be16(f.data() + 12, kEtherQinQ);
  EXPECT_EQ(parse_ethernet(f.data(), f.size(), &e), Drop::kEthStackedVlan);
}

TEST(Ethernet, DestinationFilter) {
  EXPECT_TRUE(accepts_destination(kOurMac, kOurMac));
  EXPECT_TRUE(accepts_destination(MacAddr::broadcast(), kOurMac));
  EXPECT_TRUE(accepts_destination(MacAddr{{0x33, 0x33, 0xff, 0, 0, 1}}, kOurMac));  // IPv6 multicast
  EXPECT_FALSE(accepts_destination(kPeerMac, kOurMac));
}

TEST(Arp, RoundTripAndRefusals) {
  uint8_t b[kArpPacket];
  ASSERT_EQ(write_arp(b, kArpRequest, kPeerMac, kPeerIp, MacAddr{}, kOurIp), kArpPacket);
  ArpPacket a;
  ASSERT_EQ(parse_arp(b, sizeof b, &a), Drop::kNone);
  EXPECT_EQ(a.op, kArpRequest);
  EXPECT_EQ(a.sender_mac, kPeerMac);
  EXPECT_EQ(a.sender_ip, kPeerIp);
  EXPECT_TRUE(a.target_mac.is_zero());
  EXPECT_EQ(a.target_ip, kOurIp);
  EXPECT_EQ(parse_arp(b, kArpPacket - 1, &a), Drop::kArpMalformed);
  uint8_t bad[kArpPacket];
  for (size_t field : {size_t{1}, size_t{3}, size_t{4}, size_t{5}, size_t{7}}) {
    std::memcpy(bad, b, sizeof b);
    bad[field] ^= 0x40;
    EXPECT_EQ(parse_arp(bad, sizeof bad, &a), Drop::kArpMalformed) << field;
  }
}

TEST(Ipv4, ParsesWhatWeWrite) {
  const Bytes f = udp_frame({9, 9, 9, 9, 9});
  Ipv4Packet ip;
  ASSERT_EQ(parse_ipv4(f.data() + 14, f.size() - 14, &ip), Drop::kNone);
  EXPECT_EQ(ip.src, kPeerIp);
  EXPECT_EQ(ip.dst, kOurIp);
  EXPECT_EQ(ip.protocol, kProtoUDP);
  EXPECT_EQ(ip.ttl, kDefaultTtl);
  EXPECT_EQ(ip.id, 7);
  EXPECT_EQ(ip.header_len, 20);
  EXPECT_EQ(ip.payload_len(), 13);
}

TEST(Ipv4, EthernetPaddingIgnored) {
  Bytes f = udp_frame({1});
  f.resize(60, 0);  // minimum Ethernet frame: padding past the IP total length
  Ipv4Packet ip;
  ASSERT_EQ(parse_ipv4(f.data() + 14, f.size() - 14, &ip), Drop::kNone);
  EXPECT_EQ(ip.total_len, 29);
}

TEST(Ipv4, OptionsSkipped) {
  Bytes h(24 + 8, 0);
  write_ipv4(h.data(), kPeerIp, kOurIp, kProtoUDP, 8, 1);
  h[0] = 0x46;  // IHL 6: one word of options (all zero = end of options)
  util::store_be16(h.data() + 2, 32);
  util::store_be16(h.data() + 10, 0);
  util::store_be16(h.data() + 10, csum_finish(csum_partial(h.data(), 24)));
  Ipv4Packet ip;
  ASSERT_EQ(parse_ipv4(h.data(), h.size(), &ip), Drop::kNone);
  EXPECT_EQ(ip.header_len, 24);
  EXPECT_EQ(ip.payload_len(), 8);
}

TEST(Ipv4, EveryDefectHasItsReason) {
  const Bytes good = udp_frame({1, 2});
  const size_t n = good.size() - 14;
  auto check = [&](auto mutate, Drop want, size_t len) {
    Bytes f(good.begin() + 14, good.end());
    mutate(f.data());
    Ipv4Packet ip;
    EXPECT_EQ(parse_ipv4(f.data(), len, &ip), want);
  };
  auto fix = [](uint8_t* p) {
    util::store_be16(p + 10, 0);
    util::store_be16(p + 10, csum_finish(csum_partial(p, size_t{p[0] & 0xfu} * 4)));
  };
  check([](uint8_t*) {}, Drop::kIpv4TooShort, 19);
  check([&](uint8_t* p) { p[0] = 0x65; fix(p); }, Drop::kIpv4BadVersion, n);
  check([&](uint8_t* p) { p[0] = 0x44; }, Drop::kIpv4BadHeaderLength, n);
  check([&](uint8_t* p) { p[0] = 0x4f; }, Drop::kIpv4BadHeaderLength, n);  // 60 > what is left
  check([&](uint8_t* p) { util::store_be16(p + 2, static_cast<uint16_t>(n + 1)); fix(p); }, Drop::kIpv4BadTotalLength, n);
  check([&](uint8_t* p) { util::store_be16(p + 2, 19); fix(p); }, Drop::kIpv4BadTotalLength, n);
  check([&](uint8_t* p) { p[8] ^= 1; }, Drop::kIpv4BadChecksum, n);
  check([&](uint8_t* p) { util::store_be16(p + 6, 0x2000); fix(p); }, Drop::kIpv4Fragment, n);  // MF
  check([&](uint8_t* p) { util::store_be16(p + 6, 0x0001); fix(p); }, Drop::kIpv4Fragment, n);  // offset
  check([&](uint8_t* p) { util::store_be32(p + 12, 0xe0000001); fix(p); }, Drop::kIpv4BadSource, n);
  check([&](uint8_t* p) { util::store_be32(p + 12, 0xffffffff); fix(p); }, Drop::kIpv4BadSource, n);
  check([&](uint8_t* p) { util::store_be32(p + 12, 0x7f000001); fix(p); }, Drop::kIpv4BadSource, n);
  check([&](uint8_t* p) { util::store_be32(p + 12, 0); fix(p); }, Drop::kIpv4BadSource, n);
  // A corrupt checksum passes when the NIC already checked it.
  Bytes f(good.begin() + 14, good.end());
  f[10] ^= 0xff;
  Ipv4Packet ip;
  EXPECT_EQ(parse_ipv4(f.data(), n, &ip, false), Drop::kNone);
}

TEST(Udp, ParsesWhatWeWriteAndChecksKnownChecksum) {
  const Bytes payload = {'d', 'o', 't', 'g', 'a', 't', 'e'};  // odd length
  const Bytes f = udp_frame(payload);
  UdpDatagram u;
  ASSERT_EQ(parse_udp_v4(f.data() + 34, f.size() - 34, kPeerIp, kOurIp, &u), Drop::kNone);
  EXPECT_EQ(u.src_port, 5353);
  EXPECT_EQ(u.dst_port, 53);
  EXPECT_EQ(u.payload_len(), payload.size());
  EXPECT_NE(util::load_be16(f.data() + 34 + 6), 0);
  // The same datagram from another source fails: the pseudo-header is covered.
  EXPECT_EQ(parse_udp_v4(f.data() + 34, f.size() - 34, kPeerIp + 1, kOurIp, &u), Drop::kUdpBadChecksum);
}

TEST(Udp, Defects) {
  Bytes f = udp_frame({1, 2, 3, 4});
  uint8_t* p = f.data() + 34;
  const size_t n = f.size() - 34;
  UdpDatagram u;
  EXPECT_EQ(parse_udp_v4(p, 7, kPeerIp, kOurIp, &u), Drop::kUdpTooShort);
  util::store_be16(p + 4, static_cast<uint16_t>(n + 1));
  EXPECT_EQ(parse_udp_v4(p, n, kPeerIp, kOurIp, &u), Drop::kUdpBadLength);
  util::store_be16(p + 4, 7);
  EXPECT_EQ(parse_udp_v4(p, n, kPeerIp, kOurIp, &u), Drop::kUdpBadLength);
  util::store_be16(p + 4, static_cast<uint16_t>(n));
  p[9] ^= 0x10;
  EXPECT_EQ(parse_udp_v4(p, n, kPeerIp, kOurIp, &u), Drop::kUdpBadChecksum);
  util::store_be16(p + 6, 0);  // no checksum: accepted over IPv4
  EXPECT_EQ(parse_udp_v4(p, n, kPeerIp, kOurIp, &u), Drop::kNone);
}

TEST(Udp, ComputedZeroIsSentAsAllOnes) {
  // Search payloads until one whose checksum computes to zero: it must go out as 0xffff
  // and still verify.
  for (uint32_t v = 0; v < 200000; ++v) {
    Bytes f = udp_frame({static_cast<uint8_t>(v >> 8), static_cast<uint8_t>(v)});
    if (util::load_be16(f.data() + 40) != 0xffff) continue;
    UdpDatagram u;
    EXPECT_EQ(parse_udp_v4(f.data() + 34, f.size() - 34, kPeerIp, kOurIp, &u), Drop::kNone);
    return;
  }
  FAIL() << "no payload produced a zero checksum";
}

TEST(Icmp, EchoReplyInPlaceVerifies) {
  Bytes m = {kIcmpEchoRequest, 0, 0, 0, 0x12, 0x34, 0x00, 0x01, 'p', 'i', 'n', 'g', '!'};
  util::store_be16(m.data() + 2, csum_finish(csum_partial(m.data(), m.size())));
  IcmpMessage msg;
  ASSERT_EQ(parse_icmp(m.data(), m.size(), &msg), Drop::kNone);
  EXPECT_EQ(msg.type, kIcmpEchoRequest);
  echo_request_to_reply(m.data());
  ASSERT_EQ(parse_icmp(m.data(), m.size(), &msg), Drop::kNone);
  EXPECT_EQ(msg.type, kIcmpEchoReply);
  EXPECT_EQ(util::load_be16(m.data() + 4), 0x1234);
}

TEST(Icmp, FragNeededCarriesMtuAndBadChecksumRefused) {
  Bytes m = {kIcmpUnreachable, kIcmpFragNeeded, 0, 0, 0, 0, 0x05, 0xdc};
  m.resize(8 + 28, 0x45);
  util::store_be16(m.data() + 2, csum_finish(csum_partial(m.data(), m.size())));
  IcmpMessage msg;
  ASSERT_EQ(parse_icmp(m.data(), m.size(), &msg), Drop::kNone);
  EXPECT_EQ(msg.next_hop_mtu, 1500);
  EXPECT_EQ(msg.quoted_offset, 8);
  m[20] ^= 1;
  EXPECT_EQ(parse_icmp(m.data(), m.size(), &msg), Drop::kIcmpBadChecksum);
  EXPECT_EQ(parse_icmp(m.data(), 7, &msg), Drop::kIcmpTooShort);
}

TEST(Drops, TableNamesAreUnique) {
  std::vector<std::string_view> names;
  for (size_t i = 0; i < kDropCount; ++i) {
    const auto name = to_string(static_cast<Drop>(i));
    for (auto seen : names) EXPECT_NE(seen, name);
    names.push_back(name);
  }
  EXPECT_EQ(to_string(Drop::kUdpNoListener), "udp_no_listener");
}

}  // namespace
}  // namespace dotgate::net
