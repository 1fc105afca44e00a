#include "net/flow_steering.h"

#include <cstring>
#include <stdexcept>

#include "net/arp.h"
#include "net/ethernet.h"
#include "net/icmp.h"
#include "net/icmpv6.h"
#include "net/ipv4.h"
#include "net/ipv6.h"
#include "util/byte_order.h"

namespace dotgate::net {
namespace {

// The 32 key bits starting at bit `bit` (0 = the key's most significant bit).
uint32_t key_window(const uint8_t* key, size_t key_len, size_t bit) noexcept {
  uint64_t v = 0;
  const size_t byte = bit / 8;
  for (size_t i = 0; i < 5; ++i) v = v << 8 | (byte + i < key_len ? key[byte + i] : 0);
  return static_cast<uint32_t>(v >> (8 - bit % 8));
}

}  // namespace

uint32_t toeplitz_hash(const uint8_t* key, size_t key_len, const uint8_t* input, size_t len) noexcept {
  uint32_t h = 0;
  for (size_t i = 0; i < len; ++i) {
    for (int b = 0; b < 8; ++b) {
      if (input[i] & (0x80 >> b)) h ^= key_window(key, key_len, i * 8 + static_cast<size_t>(b));
    }
  }
  return h;
}

FlowSteering::FlowSteering(uint32_t workers, uint32_t reta_size, const uint8_t* key, size_t key_len)
    : workers_(workers), reta_size_(reta_size), table_(kMaxInput) {
  if (workers == 0 || reta_size == 0 || (reta_size & (reta_size - 1)) != 0 || reta_size < workers) {
    throw std::invalid_argument("flow steering: workers >= 1 and a power-of-two redirection table at least that big");
  }
  if (key_len < kMaxInput + 4) throw std::invalid_argument("flow steering: the RSS key must have 40 bytes");
  for (size_t pos = 0; pos < kMaxInput; ++pos) {
    for (uint32_t v = 0; v < 256; ++v) {
      uint32_t h = 0;
      for (int b = 0; b < 8; ++b) {
        if (v & (0x80u >> b)) h ^= key_window(key, key_len, pos * 8 + static_cast<size_t>(b));
      }
      table_[pos][v] = h;
    }
  }
}

std::vector<uint16_t> FlowSteering::reta() const {
  std::vector<uint16_t> r(reta_size_);
  for (uint32_t i = 0; i < reta_size_; ++i) r[i] = static_cast<uint16_t>(i % workers_);
  return r;
}

uint32_t FlowSteering::hash(const uint8_t* input, size_t len) const noexcept {
  uint32_t h = 0;
  for (size_t i = 0; i < len; ++i) h ^= table_[i][input[i]];
  return h;
}

uint32_t FlowSteering::hash4(uint32_t src, uint32_t dst, uint16_t src_port, uint16_t dst_port) const noexcept {
  uint8_t in[12];
  util::store_be32(in, src);
  util::store_be32(in + 4, dst);
  util::store_be16(in + 8, src_port);
  util::store_be16(in + 10, dst_port);
  return hash(in, sizeof in);
}

uint32_t FlowSteering::hash6(const Ipv6Addr& src, const Ipv6Addr& dst, uint16_t src_port,
                             uint16_t dst_port) const noexcept {
  uint8_t in[36];
  std::memcpy(in, src.b, 16);
  std::memcpy(in + 16, dst.b, 16);
  util::store_be16(in + 32, src_port);
  util::store_be16(in + 34, dst_port);
  return hash(in, sizeof in);
}

// The owner of the TCP segment in the IPv4 packet ip[0, len), or, when `quoted` (the packet
// an ICMP error quotes, which we sent), of the connection it belongs to.
Steering FlowSteering::tcp_owner4(const uint8_t* ip, size_t len, bool quoted) const noexcept {
  if (len < kIpv4Header || (ip[0] >> 4) != 4) return {};
  const size_t ihl = static_cast<size_t>(ip[0] & 0x0f) * 4;
  if (ihl < kIpv4Header || len < ihl + 4 || ip[9] != kProtoTCP) return {};
  if ((util::load_be16(ip + 6) & 0x1fff) != 0) return {};  // a later fragment: no ports
  const uint32_t src = util::load_be32(ip + 12), dst = util::load_be32(ip + 16);
  const uint16_t sport = util::load_be16(ip + ihl), dport = util::load_be16(ip + ihl + 2);
  const uint32_t h = quoted ? hash4(dst, src, dport, sport) : hash4(src, dst, sport, dport);
  return {FrameOwner::kWorker, worker_of_hash(h)};
}

Steering FlowSteering::tcp_owner6(const uint8_t* ip, size_t len, bool quoted) const noexcept {
  if (len < kIpv6Header + 4 || (ip[0] >> 4) != 6 || ip[6] != kProtoTCP) return {};
  Ipv6Addr src, dst;
  std::memcpy(src.b, ip + 8, 16);
  std::memcpy(dst.b, ip + 24, 16);
  const uint16_t sport = util::load_be16(ip + kIpv6Header), dport = util::load_be16(ip + kIpv6Header + 2);
  const uint32_t h = quoted ? hash6(dst, src, dport, sport) : hash6(src, dst, sport, dport);
  return {FrameOwner::kWorker, worker_of_hash(h)};
}

Steering FlowSteering::steer(const uint8_t* frame, size_t len) const noexcept {
  if (workers_ == 1) return {};
  EthFrame eth;
  if (parse_ethernet(frame, len, &eth) != Drop::kNone) return {};
  const uint8_t* l3 = frame + eth.l3_offset;
  const size_t l3_len = len - eth.l3_offset;
  switch (eth.ethertype) {
    case kEtherARP:
      if (l3_len >= kArpPacket && util::load_be16(l3 + 6) == kArpReply) return {FrameOwner::kEveryone, 0};
      return {};
    case kEtherIPv4: {
      if (l3_len < kIpv4Header || (l3[0] >> 4) != 4) return {};
      const size_t ihl = static_cast<size_t>(l3[0] & 0x0f) * 4;
      if (l3[9] == kProtoTCP) return tcp_owner4(l3, l3_len, false);
      if (l3[9] != kProtoICMP || ihl < kIpv4Header || l3_len < ihl + 8) return {};
      const uint8_t type = l3[ihl];
      if (type != kIcmpUnreachable && type != kIcmpTimeExceeded) return {};
      return tcp_owner4(l3 + ihl + 8, l3_len - ihl - 8, true);
    }
    case kEtherIPv6: {
      // The upper layer after any extension headers, as our IPv6 host will find it.
      Ipv6Packet ip;
      if (parse_ipv6(l3, l3_len, &ip) != Drop::kNone) return {};
      const uint8_t* l4 = l3 + ip.l4_offset;
      if (ip.next_header == kProtoTCP) {
        if (ip.l4_len < 4) return {};
        const uint32_t h = hash6(ip.src, ip.dst, util::load_be16(l4), util::load_be16(l4 + 2));
        return {FrameOwner::kWorker, worker_of_hash(h)};
      }
      if (ip.next_header != kProtoICMPv6 || ip.l4_len < 8) return {};
      const uint8_t type = l4[0];
      if (type == kNdNeighborAdvert) return {FrameOwner::kEveryone, 0};
      if (type != kIcmp6Unreachable && type != kIcmp6PacketTooBig && type != kIcmp6TimeExceeded) return {};
      return tcp_owner6(l4 + 8, ip.l4_len - 8, true);
    }
    default:
      return {};
  }
}

}  // namespace dotgate::net
