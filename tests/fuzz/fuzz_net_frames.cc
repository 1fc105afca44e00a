// libFuzzer target: the frame codecs of src/net on arbitrary bytes, as a worker would run
// them on a received frame: Ethernet, then ARP or IPv4, then ICMP or UDP. Checks that what
// parses stays inside the frame and that replies built from it verify.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "net/arp.h"
#include "net/ethernet.h"
#include "net/icmp.h"
#include "net/ipv4.h"
#include "net/udp.h"

using namespace dotgate::net;

#define CHECK(cond)                                                                      \
  do {                                                                                   \
    if (!(cond)) {                                                                       \
      std::fprintf(stderr, "invariant failed: %s (%s:%d)\n", #cond, __FILE__, __LINE__); \
      std::abort();                                                                      \
    }                                                                                    \
  } while (0)

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static uint8_t frame[65536];
  if (size > sizeof frame) return 0;
  std::memcpy(frame, data, size);  // a private copy: the echo reply is built in place
  EthFrame eth;
  if (parse_ethernet(frame, size, &eth) != Drop::kNone) return 0;
  CHECK(eth.l3_offset <= size);
  uint8_t* l3 = frame + eth.l3_offset;
  const size_t l3_len = size - eth.l3_offset;
  if (eth.ethertype == kEtherARP) {
    ArpPacket arp;
    if (parse_arp(l3, l3_len, &arp) == Drop::kNone) {
      uint8_t reply[kArpPacket];
      write_arp(reply, kArpReply, MacAddr{{2, 0, 0, 0, 0, 1}}, arp.target_ip, arp.sender_mac, arp.sender_ip);
      ArpPacket back;
      CHECK(parse_arp(reply, sizeof reply, &back) == Drop::kNone && back.target_ip == arp.sender_ip);
    }
    return 0;
  }
  if (eth.ethertype != kEtherIPv4) return 0;
  Ipv4Packet ip;
  if (parse_ipv4(l3, l3_len, &ip) != Drop::kNone) return 0;
  CHECK(ip.header_len >= kIpv4Header && ip.total_len <= l3_len && ip.header_len <= ip.total_len);
  uint8_t* l4 = l3 + ip.header_len;
  const size_t l4_len = ip.payload_len();
  if (ip.protocol == kProtoICMP) {
    IcmpMessage m;
    if (parse_icmp(l4, l4_len, &m) == Drop::kNone && m.type == kIcmpEchoRequest) {
      echo_request_to_reply(l4);
      CHECK(parse_icmp(l4, l4_len, &m) == Drop::kNone && m.type == kIcmpEchoReply);
    }
  } else if (ip.protocol == kProtoUDP) {
    UdpDatagram u;
    if (parse_udp_v4(l4, l4_len, ip.src, ip.dst, &u) == Drop::kNone) {
      CHECK(u.length <= l4_len);
      // Answer by swapping ends, as the DNS path does, and check the result verifies.
      static uint8_t out[65536];
      std::memcpy(out + kIpv4Header + kUdpHeader, l4 + kUdpHeader, u.payload_len());
      write_udp_v4(out + kIpv4Header, ip.dst, ip.src, u.dst_port, u.src_port, u.payload_len());
      write_ipv4(out, ip.dst, ip.src, kProtoUDP, u.length, 1);
      Ipv4Packet ip2;
      UdpDatagram u2;
      CHECK(parse_ipv4(out, kIpv4Header + u.length, &ip2) == Drop::kNone);
      CHECK(parse_udp_v4(out + kIpv4Header, u.length, ip2.src, ip2.dst, &u2) == Drop::kNone);
      CHECK(u2.dst_port == u.src_port && u2.length == u.length);
    }
  }
  return 0;
}
