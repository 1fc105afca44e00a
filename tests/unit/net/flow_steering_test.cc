// Tests for net/flow_steering.h: the Toeplitz hash against the RSS specification's own
// verification vectors, and who owns which frame.
#include "net/flow_steering.h"

#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <vector>

#include "net/addr_text.h"
#include "net/arp.h"
#include "net/ethernet.h"
#include "net/icmp.h"
#include "net/icmpv6.h"
#include "net/ipv4.h"
#include "net/ipv6.h"
#include "net/tcp_segment.h"
#include "net/udp.h"
#include "util/byte_order.h"

namespace dotgate::net {
namespace {

uint32_t v4(const char* text) { return parse_ipv4(text).value(); }
Ipv6Addr v6(const char* text) { return parse_ipv6(text).value(); }

// Microsoft's "Verifying the RSS Hash Calculation" table: destination, source, and the
// hash over the addresses only and over the TCP 4-tuple, under the default key.
struct Vector4 {
  const char* dst;
  uint16_t dst_port;
  const char* src;
  uint16_t src_port;
  uint32_t ip_only, with_tcp;
};
constexpr Vector4 kVectors4[] = {
    {"161.142.100.80", 1766, "66.9.149.187", 2794, 0x323e8fc2, 0x51ccc178},
    {"65.69.140.83", 4739, "199.92.111.2", 14230, 0xd718262a, 0xc626b0ea},
    {"12.22.207.184", 38024, "24.19.198.95", 12898, 0xd2d0a5de, 0x5c2b394a},
    {"209.142.163.6", 2217, "38.27.205.30", 48228, 0x82989176, 0xafc7327f},
    {"202.188.127.2", 1303, "153.39.163.191", 44251, 0x5d1809c5, 0x10e828a2},
};
struct Vector6 {
  const char* dst;
  uint16_t dst_port;
  const char* src;
  uint16_t src_port;
  uint32_t ip_only, with_tcp;
};
constexpr Vector6 kVectors6[] = {
    {"3ffe:2501:200:3::1", 1766, "3ffe:2501:200:1fff::7", 2794, 0x2cc18cd5, 0x40207d3d},
    {"ff02::1", 4739, "3ffe:501:8::260:97ff:fe40:efab", 14230, 0x0f0c461c, 0xdde51bbf},
    {"fe80::200:f8ff:fe21:67cf", 38024, "3ffe:1900:4545:3:200:f8ff:fe21:67cf", 44251, 0x4b61e985, 0x02d1feef},
};

TEST(Toeplitz, MatchesTheRssSpecificationVectorsForIpv4) {
  const FlowSteering s(1, 128);
  for (const Vector4& v : kVectors4) {
    uint8_t in[8];
    util::store_be32(in, v4(v.src));
    util::store_be32(in + 4, v4(v.dst));
    EXPECT_EQ(toeplitz_hash(kDefaultRssKey.data(), kDefaultRssKey.size(), in, 8), v.ip_only) << v.dst;
    EXPECT_EQ(s.hash4(v4(v.src), v4(v.dst), v.src_port, v.dst_port), v.with_tcp) << v.dst;
  }
}

TEST(Toeplitz, MatchesTheRssSpecificationVectorsForIpv6) {
  const FlowSteering s(1, 128);
  for (const Vector6& v : kVectors6) {
    uint8_t in[32];
    std::memcpy(in, v6(v.src).b, 16);
    std::memcpy(in + 16, v6(v.dst).b, 16);
    EXPECT_EQ(toeplitz_hash(kDefaultRssKey.data(), kDefaultRssKey.size(), in, 32), v.ip_only) << v.dst;
    EXPECT_EQ(s.hash6(v6(v.src), v6(v.dst), v.src_port, v.dst_port), v.with_tcp) << v.dst;
  }
}

TEST(Toeplitz, TheTableDrivenHashEqualsTheBitwiseOneUnderAnyKey) {
  std::mt19937 rng(7);
  uint8_t key[40];
  for (uint8_t& b : key) b = static_cast<uint8_t>(rng());
  const FlowSteering s(3, 64, key, sizeof key);
  for (int i = 0; i < 2000; ++i) {
    const uint32_t src = rng(), dst = rng();
    const uint16_t sp = static_cast<uint16_t>(rng()), dp = static_cast<uint16_t>(rng());
    uint8_t in[12];
    util::store_be32(in, src);
    util::store_be32(in + 4, dst);
    util::store_be16(in + 8, sp);
    util::store_be16(in + 10, dp);
    ASSERT_EQ(s.hash4(src, dst, sp, dp), toeplitz_hash(key, sizeof key, in, sizeof in));
  }
}

TEST(FlowSteering, RefusesAShapeNoNicHas) {
  EXPECT_THROW(FlowSteering(0, 128), std::invalid_argument);
  EXPECT_THROW(FlowSteering(2, 100), std::invalid_argument);
  EXPECT_THROW(FlowSteering(4, 2), std::invalid_argument);
}

TEST(FlowSteering, TheRedirectionTableSpreadsQueuesEvenly) {
  const FlowSteering s(3, 128);
  const std::vector<uint16_t> r = s.reta();
  ASSERT_EQ(r.size(), 128u);
  for (uint32_t i = 0; i < 128; ++i) EXPECT_EQ(r[i], i % 3);
  for (uint32_t h : {0u, 1u, 2u, 127u, 128u, 0xdeadbeefu}) EXPECT_EQ(s.worker_of_hash(h), r[h & 127]);
}

const MacAddr kUs{{0x02, 0, 0, 0, 0, 1}};
const MacAddr kPeer{{0x02, 0, 0, 0, 0, 2}};
constexpr uint32_t kOurs = 0xc0000201, kUpstream = 0xc6336401;  // 192.0.2.1, 198.51.100.1

// An Ethernet + IPv4 + TCP frame from src to dst.
std::vector<uint8_t> tcp4_frame(uint32_t src, uint32_t dst, uint16_t sport, uint16_t dport,
                                uint16_t vlan = kNoVlan) {
  std::vector<uint8_t> f(128, 0);
  size_t n = write_ethernet(f.data(), kUs, kPeer, vlan, kEtherIPv4);
  n += write_ipv4(f.data() + n, src, dst, kProtoTCP, kTcpHeader, 1);
  n += write_tcp(f.data() + n, sport, dport, 1, 0, kTcpSyn, 1000, TcpSendOptions{}, 0, 0);
  f.resize(n);
  return f;
}
std::vector<uint8_t> tcp6_frame(const Ipv6Addr& src, const Ipv6Addr& dst, uint16_t sport, uint16_t dport) {
  std::vector<uint8_t> f(160, 0);
  size_t n = write_ethernet(f.data(), kUs, kPeer, kNoVlan, kEtherIPv6);
  n += write_ipv6(f.data() + n, src, dst, kProtoTCP, kTcpHeader);
  n += write_tcp(f.data() + n, sport, dport, 1, 0, kTcpSyn, 1000, TcpSendOptions{}, 0, 0);
  f.resize(n);
  return f;
}

TEST(FlowSteering, ATcpSegmentBelongsToTheWorkerItsHashNames) {
  const FlowSteering s(4, 128);
  int seen[4] = {};
  for (uint16_t port = 40000; port < 40400; ++port) {
    const std::vector<uint8_t> f = tcp4_frame(kUpstream, kOurs, 853, port);
    const Steering st = s.steer(f.data(), f.size());
    ASSERT_EQ(st.owner, FrameOwner::kWorker);
    EXPECT_EQ(st.worker, s.worker_of_hash(s.hash4(kUpstream, kOurs, 853, port)));
    ++seen[st.worker];
    const std::vector<uint8_t> tagged = tcp4_frame(kUpstream, kOurs, 853, port, 0x0064);
    EXPECT_EQ(s.steer(tagged.data(), tagged.size()).worker, st.worker);
  }
  for (int w : seen) EXPECT_GT(w, 50);  // every worker gets a fair share
  const Ipv6Addr up6 = v6("2001:db8::53"), ours6 = v6("2001:db8::1");
  const std::vector<uint8_t> f6 = tcp6_frame(up6, ours6, 853, 40001);
  const Steering st6 = s.steer(f6.data(), f6.size());
  ASSERT_EQ(st6.owner, FrameOwner::kWorker);
  EXPECT_EQ(st6.worker, s.worker_of_hash(s.hash6(up6, ours6, 853, 40001)));
}

TEST(FlowSteering, AnIpv6SegmentBehindExtensionHeadersBelongsToItsConnectionsOwner) {
  const FlowSteering s(4, 128);
  const Ipv6Addr up6 = v6("2001:db8::53"), ours6 = v6("2001:db8::1");
  for (uint16_t port = 41000; port < 41040; ++port) {
    const std::vector<uint8_t> plain = tcp6_frame(up6, ours6, 853, port);
    // The same segment behind a hop-by-hop and a destination options header (8 bytes each).
    std::vector<uint8_t> f(plain.begin(), plain.begin() + kEthHeader + kIpv6Header);
    const uint8_t hop_by_hop[8] = {60, 0, 1, 4, 0, 0, 0, 0};   // next: dest options; PadN
    const uint8_t dest_opts[8] = {kProtoTCP, 0, 1, 4, 0, 0, 0, 0};
    f.insert(f.end(), hop_by_hop, hop_by_hop + 8);
    f.insert(f.end(), dest_opts, dest_opts + 8);
    f.insert(f.end(), plain.begin() + kEthHeader + kIpv6Header, plain.end());
    f[kEthHeader + 6] = 0;  // next header: hop-by-hop
    util::store_be16(f.data() + kEthHeader + 4, static_cast<uint16_t>(f.size() - kEthHeader - kIpv6Header));
    const Steering a = s.steer(plain.data(), plain.size()), b = s.steer(f.data(), f.size());
    ASSERT_EQ(b.owner, FrameOwner::kWorker);
    EXPECT_EQ(b.worker, a.worker);
  }
}

TEST(FlowSteering, PortsChosenForAWorkerBringTheirRepliesToIt) {
  const FlowSteering s(3, 128);
  const Ipv6Addr up6 = v6("2001:db8::53"), ours6 = v6("2001:db8::1");
  for (uint32_t w = 0; w < 3; ++w) {
    int chosen = 0;
    for (uint16_t port = 32768; port < 33768; ++port) {
      if (s.owns_reply4(w, kUpstream, 853, kOurs, port)) {
        ++chosen;
        const std::vector<uint8_t> reply = tcp4_frame(kUpstream, kOurs, 853, port);
        const Steering st = s.steer(reply.data(), reply.size());
        EXPECT_EQ(st.owner, FrameOwner::kWorker);
        EXPECT_EQ(st.worker, w);
      }
      if (s.owns_reply6(w, up6, 853, ours6, port)) {
        const std::vector<uint8_t> reply = tcp6_frame(up6, ours6, 853, port);
        EXPECT_EQ(s.steer(reply.data(), reply.size()).worker, w);
      }
    }
    EXPECT_GT(chosen, 200);  // about a third of the ports
  }
}

TEST(FlowSteering, AnIcmpErrorGoesToTheOwnerOfTheConnectionItQuotes) {
  const FlowSteering s(4, 128);
  for (uint16_t port = 50000; port < 50050; ++port) {
    // What we sent: from us to the upstream; the ICMP error quotes it.
    const std::vector<uint8_t> sent = tcp4_frame(kOurs, kUpstream, port, 853);
    std::vector<uint8_t> f(256, 0);
    size_t n = write_ethernet(f.data(), kUs, kPeer, kNoVlan, kEtherIPv4);
    const size_t quoted = sent.size() - kEthHeader;
    n += write_ipv4(f.data() + n, 0xc0000202, kOurs, kProtoICMP, 8 + quoted, 9);
    f[n] = kIcmpUnreachable;
    f[n + 1] = 4;  // fragmentation needed
    std::memcpy(f.data() + n + 8, sent.data() + kEthHeader, quoted);
    f.resize(n + 8 + quoted);
    const Steering st = s.steer(f.data(), f.size());
    ASSERT_EQ(st.owner, FrameOwner::kWorker);
    const std::vector<uint8_t> reply = tcp4_frame(kUpstream, kOurs, 853, port);
    EXPECT_EQ(st.worker, s.steer(reply.data(), reply.size()).worker);
  }
  // IPv6: packet too big quoting our segment.
  const Ipv6Addr up6 = v6("2001:db8::53"), ours6 = v6("2001:db8::1");
  const std::vector<uint8_t> sent6 = tcp6_frame(ours6, up6, 41000, 853);
  std::vector<uint8_t> f(256, 0);
  size_t n = write_ethernet(f.data(), kUs, kPeer, kNoVlan, kEtherIPv6);
  const size_t quoted = sent6.size() - kEthHeader;
  n += write_ipv6(f.data() + n, v6("2001:db8::fe"), ours6, kProtoICMPv6, 8 + quoted);
  f[n] = kIcmp6PacketTooBig;
  std::memcpy(f.data() + n + 8, sent6.data() + kEthHeader, quoted);
  f.resize(n + 8 + quoted);
  const std::vector<uint8_t> reply6 = tcp6_frame(up6, ours6, 853, 41000);
  EXPECT_EQ(s.steer(f.data(), f.size()).worker, s.steer(reply6.data(), reply6.size()).worker);
  EXPECT_EQ(s.steer(f.data(), f.size()).owner, FrameOwner::kWorker);
}

TEST(FlowSteering, NeighbourAnswersGoToEveryoneAndQuestionsStayWithTheReceiver) {
  const FlowSteering s(2, 128);
  std::vector<uint8_t> f(128, 0);
  size_t n = write_ethernet(f.data(), kUs, kPeer, kNoVlan, kEtherARP);
  n += write_arp(f.data() + n, kArpReply, kPeer, 0xc0000202, kUs, kOurs);
  EXPECT_EQ(s.steer(f.data(), n).owner, FrameOwner::kEveryone);
  n = write_ethernet(f.data(), MacAddr::broadcast(), kPeer, kNoVlan, kEtherARP);
  n += write_arp(f.data() + n, kArpRequest, kPeer, 0xc0000202, MacAddr{}, kOurs);
  EXPECT_EQ(s.steer(f.data(), n).owner, FrameOwner::kReceiver);

  const Ipv6Addr peer6 = v6("2001:db8::2"), ours6 = v6("2001:db8::1");
  n = write_ethernet(f.data(), kUs, kPeer, kNoVlan, kEtherIPv6);
  const size_t nd = write_nd(f.data() + n + kIpv6Header, kNdNeighborAdvert, kNaSolicited, peer6, kPeer, peer6, ours6);
  n += write_ipv6(f.data() + n, peer6, ours6, kProtoICMPv6, nd, kNdHopLimit) + nd;
  EXPECT_EQ(s.steer(f.data(), n).owner, FrameOwner::kEveryone);
  n = write_ethernet(f.data(), kUs, kPeer, kNoVlan, kEtherIPv6);
  const size_t ns = write_nd(f.data() + n + kIpv6Header, kNdNeighborSolicit, 0, ours6, kPeer, peer6, ours6);
  n += write_ipv6(f.data() + n, peer6, ours6, kProtoICMPv6, ns, kNdHopLimit) + ns;
  EXPECT_EQ(s.steer(f.data(), n).owner, FrameOwner::kReceiver);
}

TEST(FlowSteering, UdpShortAndStrangeFramesStayWithTheReceiver) {
  const FlowSteering s(2, 128);
  std::vector<uint8_t> f(128, 0);
  size_t n = write_ethernet(f.data(), kUs, kPeer, kNoVlan, kEtherIPv4);
  n += write_ipv4(f.data() + n, 0xc0000202, kOurs, kProtoUDP, kUdpHeader + 12, 3);
  n += write_udp_v4(f.data() + n, 0xc0000202, kOurs, 5353, 53, 12) + 12;
  EXPECT_EQ(s.steer(f.data(), n).owner, FrameOwner::kReceiver);
  const std::vector<uint8_t> tcp = tcp4_frame(kUpstream, kOurs, 853, 40000);
  for (size_t cut = 0; cut < kEthHeader + kIpv4Header + 4; ++cut) {
    EXPECT_EQ(s.steer(tcp.data(), cut).owner, FrameOwner::kReceiver) << cut;
  }
  std::vector<uint8_t> fragment = tcp;  // a later fragment carries no ports
  util::store_be16(fragment.data() + kEthHeader + 6, 0x0010);
  EXPECT_EQ(s.steer(fragment.data(), fragment.size()).owner, FrameOwner::kReceiver);
  const FlowSteering one(1, 128);
  EXPECT_EQ(one.steer(tcp.data(), tcp.size()).owner, FrameOwner::kReceiver);
}

}  // namespace
}  // namespace dotgate::net
