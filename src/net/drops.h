// Why the network stack dropped a frame. One table gives every reason its counter name, so
// parsers, the dataplane's per-worker counters and the telemetry never drift apart.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace dotgate::net {

#define DOTGATE_NET_DROPS(X)                                                     \
  X(kNone, "none")                                                               \
  X(kEthTooShort, "eth_too_short")                                               \
  X(kEthNotForUs, "eth_not_for_us")             /* unicast to another MAC */     \
  X(kEthStackedVlan, "eth_stacked_vlan")        /* QinQ is not supported */      \
  X(kEthUnknownType, "eth_unknown_ethertype")                                    \
  X(kArpMalformed, "arp_malformed")             /* not Ethernet/IPv4, or short */ \
  X(kArpNotForUs, "arp_not_for_us")                                              \
  X(kIpv4TooShort, "ipv4_too_short")                                             \
  X(kIpv4BadVersion, "ipv4_bad_version")                                         \
  X(kIpv4BadHeaderLength, "ipv4_bad_header_length")                             \
  X(kIpv4BadTotalLength, "ipv4_bad_total_length")                               \
  X(kIpv4BadChecksum, "ipv4_bad_checksum")                                       \
  X(kIpv4Fragment, "ipv4_fragment")             /* DNS here never needs them */  \
  X(kIpv4BadSource, "ipv4_bad_source")          /* multicast, broadcast, loopback, 0 */ \
  X(kIpv4NotForUs, "ipv4_not_for_us")                                            \
  X(kIpv4UnknownProtocol, "ipv4_unknown_protocol")                               \
  X(kIpv6TooShort, "ipv6_too_short")                                             \
  X(kIpv6BadVersion, "ipv6_bad_version")                                         \
  X(kIpv6BadPayloadLength, "ipv6_bad_payload_length")                           \
  X(kIpv6BadSource, "ipv6_bad_source")          /* multicast or loopback */      \
  X(kIpv6NotForUs, "ipv6_not_for_us")                                            \
  X(kIpv6Fragment, "ipv6_fragment")                                              \
  X(kIpv6BadExtension, "ipv6_bad_extension")    /* truncated, too many, routing */ \
  X(kIpv6UnknownNextHeader, "ipv6_unknown_next_header")                         \
  X(kNdMalformed, "nd_malformed")               /* RFC 4861 7.1 validity checks */ \
  X(kNdNotForUs, "nd_not_for_us")                                                \
  X(kIcmpTooShort, "icmp_too_short")                                             \
  X(kIcmpBadChecksum, "icmp_bad_checksum")                                       \
  X(kIcmpIgnoredType, "icmp_ignored_type")                                       \
  X(kTcpTooShort, "tcp_too_short")                                               \
  X(kTcpBadHeaderLength, "tcp_bad_header_length")                               \
  X(kTcpBadChecksum, "tcp_bad_checksum")                                         \
  X(kTcpBadOption, "tcp_bad_option")            /* malformed option lengths */   \
  X(kTcpBadFlags, "tcp_bad_flags")              /* SYN+FIN, SYN+RST, no flags... */ \
  X(kUdpTooShort, "udp_too_short")                                               \
  X(kUdpBadLength, "udp_bad_length")                                             \
  X(kUdpBadChecksum, "udp_bad_checksum")                                         \
  X(kUdpNoListener, "udp_no_listener")

enum class Drop : uint8_t {
#define DOTGATE_X(name, text) name,
  DOTGATE_NET_DROPS(DOTGATE_X)
#undef DOTGATE_X
};

inline constexpr size_t kDropCount = 0
#define DOTGATE_X(name, text) +1
    DOTGATE_NET_DROPS(DOTGATE_X)
#undef DOTGATE_X
    ;

constexpr std::string_view to_string(Drop d) noexcept {
  switch (d) {
#define DOTGATE_X(name, text) \
  case Drop::name:            \
    return text;
    DOTGATE_NET_DROPS(DOTGATE_X)
#undef DOTGATE_X
  }
  return "unknown";
}

}  // namespace dotgate::net
