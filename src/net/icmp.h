// ICMP for IPv4 (RFC 792): echo replies and the errors the TCP layer listens to
// (destination unreachable, including "fragmentation needed" for path MTU, RFC 1191).
#pragma once

#include <cstddef>
#include <cstdint>

#include "net/checksum.h"
#include "net/drops.h"
#include "util/byte_order.h"

namespace dotgate::net {

inline constexpr size_t kIcmpHeader = 8;
enum IcmpType : uint8_t { kIcmpEchoReply = 0, kIcmpUnreachable = 3, kIcmpEchoRequest = 8, kIcmpTimeExceeded = 11 };
inline constexpr uint8_t kIcmpFragNeeded = 4;  // code of kIcmpUnreachable

struct IcmpMessage {
  uint8_t type = 0;
  uint8_t code = 0;
  uint16_t next_hop_mtu = 0;  // for kIcmpUnreachable / kIcmpFragNeeded (RFC 1191)
  uint16_t quoted_offset = 0; // for errors: where the quoted IP header starts
};

// Validates the ICMP message at p[0, len) (len: the IP payload length), checksum included.
inline Drop parse_icmp(const uint8_t* p, size_t len, IcmpMessage* out) noexcept {
  if (len < kIcmpHeader) return Drop::kIcmpTooShort;
  if (csum_finish(csum_partial(p, len)) != 0) return Drop::kIcmpBadChecksum;
  out->type = p[0];
  out->code = p[1];
  out->next_hop_mtu = util::load_be16(p + 6);
  out->quoted_offset = kIcmpHeader;
  return Drop::kNone;
}

// Turns the echo request at p[0, len) into its reply in place (same identifier, sequence
// and data), fixing the checksum incrementally (RFC 1624).
inline void echo_request_to_reply(uint8_t* p) noexcept {
  const uint16_t old_word = util::load_be16(p);
  p[0] = kIcmpEchoReply;
  const uint16_t new_word = util::load_be16(p);
  util::store_be16(p + 2, csum_replace16(util::load_be16(p + 2), old_word, new_word));
}

}  // namespace dotgate::net
