// libFuzzer target: received frames on arbitrary bytes, through the IPv4 and IPv6 hosts
// (Ethernet, ARP, IPv4, ICMP, IPv6 with extension headers, ICMPv6 / neighbour discovery,
// UDP), with neighbour tables that live across inputs. Checks that every reported offset
// stays in the frame and that every reply written in place parses and verifies.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "fuzz_check.h"
#include "net/arp.h"
#include "net/ethernet.h"
#include "net/flow_steering.h"
#include "net/icmp.h"
#include "net/icmpv6.h"
#include "net/ipv4_host.h"
#include "net/ipv6_host.h"
#include "net/udp.h"

using namespace dotgate::net;


namespace {

// The seeds address 192.0.2.1 / 2001:db8::1 at 02:00:00:00:00:01.
Ipv4HostConfig v4_config() {
  Ipv4HostConfig c;
  c.mac = MacAddr{{2, 0, 0, 0, 0, 1}};
  c.address = 0xc0000201;
  c.gateway = 0xc00002fe;
  return c;
}
Ipv6HostConfig v6_config() {
  Ipv6HostConfig c;
  c.mac = MacAddr{{2, 0, 0, 0, 0, 1}};
  c.address = Ipv6Addr{{0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}};
  return c;
}

void check_reply_v4(const uint8_t* f, size_t len) {
  EthFrame eth;
  CHECK(parse_ethernet(f, len, &eth) == Drop::kNone);
  if (eth.ethertype == kEtherARP) {
    ArpPacket arp;
    CHECK(parse_arp(f + eth.l3_offset, len - eth.l3_offset, &arp) == Drop::kNone && arp.op == kArpReply);
    return;
  }
  Ipv4Packet ip;
  CHECK(parse_ipv4(f + eth.l3_offset, len - eth.l3_offset, &ip) == Drop::kNone);
  IcmpMessage m;
  CHECK(parse_icmp(f + eth.l3_offset + ip.header_len, ip.payload_len(), &m) == Drop::kNone);
  CHECK(m.type == kIcmpEchoReply);
}

void check_reply_v6(const uint8_t* f, size_t len) {
  EthFrame eth;
  CHECK(parse_ethernet(f, len, &eth) == Drop::kNone);
  Ipv6Packet ip;
  CHECK(parse_ipv6(f + eth.l3_offset, len - eth.l3_offset, &ip) == Drop::kNone);
  Icmpv6Message m;
  CHECK(parse_icmpv6(f + eth.l3_offset + ip.l4_offset, ip.l4_len, ip, &m) == Drop::kNone);
  CHECK(m.type == kIcmp6EchoReply || m.type == kNdNeighborAdvert);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static Ipv4Host host4(v4_config());
  static Ipv6Host host6(v6_config());
  static NeighborTable neighbors4{NeighborConfig{}};
  static NeighborTable6 neighbors6{NeighborConfig{}};
  static NeighborActions actions4;
  static NeighborActions6 actions6;
  static uint64_t now_ms = 0;
  static uint8_t frame[65536 + Ipv6Host::kMinFrameRoom];
  if (size > 65536) return 0;
  now_ms += 10;
  actions4.clear();
  actions6.clear();
  neighbors4.tick(now_ms, actions4);
  neighbors6.tick(now_ms, actions6);

  // Which worker owns the frame, when three share the port: reads only frame[0, size), and
  // names a worker that exists.
  static const FlowSteering steering(3, 128);
  const Steering st = steering.steer(data, size);
  CHECK(st.owner != FrameOwner::kWorker || st.worker < 3);

  std::memcpy(frame, data, size);
  const RxResult r4 = host4.receive(frame, size, now_ms, neighbors4, actions4);
  switch (r4.kind) {
    case RxKind::kReplyInPlace:
      check_reply_v4(frame, r4.reply_len);
      break;
    case RxKind::kUdp:
      CHECK(size_t{r4.payload_offset} + r4.payload_len <= size);
      break;
    case RxKind::kTcp:
    case RxKind::kIcmpError:
      CHECK(size_t{r4.l4_offset} + r4.l4_len <= size);
      break;
    default:
      break;
  }
  std::memcpy(frame, data, size);
  const Rx6Result r6 = host6.receive(frame, size, now_ms, neighbors6, actions6);
  switch (r6.kind) {
    case RxKind::kReplyInPlace:
      check_reply_v6(frame, r6.reply_len);
      break;
    case RxKind::kUdp:
      CHECK(size_t{r6.payload_offset} + r6.payload_len <= size);
      break;
    case RxKind::kTcp:
    case RxKind::kIcmpError:
      CHECK(size_t{r6.l4_offset} + r6.l4_len <= size);
      break;
    default:
      break;
  }
  return 0;
}
