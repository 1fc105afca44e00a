// TCP segments (RFC 9293 3.1): header and option parsing with checksum verification, and
// the header we send. Options understood: MSS (RFC 9293 3.7.1), window scale and
// timestamps (RFC 7323), SACK-permitted (RFC 2018; SACK blocks are accepted and ignored).
#pragma once

#include <cstddef>
#include <cstdint>

#include "net/checksum.h"
#include "net/drops.h"
#include "util/byte_order.h"

namespace dotgate::net {

inline constexpr size_t kTcpHeader = 20;
inline constexpr size_t kTcpMaxHeader = 60;

enum TcpFlag : uint8_t {
  kTcpFin = 0x01,
  kTcpSyn = 0x02,
  kTcpRst = 0x04,
  kTcpPsh = 0x08,
  kTcpAck = 0x10,
  kTcpUrg = 0x20,
};

enum TcpOption : uint8_t {
  kOptEnd = 0,
  kOptNop = 1,
  kOptMss = 2,
  kOptWindowScale = 3,
  kOptSackPermitted = 4,
  kOptSack = 5,
  kOptTimestamps = 8,
};

inline constexpr uint8_t kMaxWindowScale = 14;  // RFC 7323 2.3

struct TcpOptions {
  bool has_mss = false;
  bool has_window_scale = false;
  bool sack_permitted = false;
  bool has_timestamps = false;
  uint16_t mss = 0;
  uint8_t window_scale = 0;  // clamped to kMaxWindowScale
  uint32_t ts_value = 0;
  uint32_t ts_echo = 0;
};

struct TcpSegment {
  uint16_t src_port = 0;
  uint16_t dst_port = 0;
  uint32_t seq = 0;
  uint32_t ack = 0;
  uint8_t flags = 0;
  uint16_t window = 0;  // as sent, before scaling
  uint16_t header_len = 0;
  uint16_t payload_len = 0;
  TcpOptions options;
  // Sequence space the segment occupies: payload plus one each for SYN and FIN.
  uint32_t seq_len() const noexcept {
    return payload_len + ((flags & kTcpSyn) ? 1u : 0u) + ((flags & kTcpFin) ? 1u : 0u);
  }
};

// Parses the options area p[0, len). Unknown options are skipped by their length; a
// length that is short or runs past the area is malformed.
inline Drop parse_tcp_options(const uint8_t* p, size_t len, TcpOptions* out) noexcept {
  size_t i = 0;
  while (i < len) {
    const uint8_t kind = p[i];
    if (kind == kOptEnd) break;
    if (kind == kOptNop) {
      ++i;
      continue;
    }
    if (i + 2 > len) return Drop::kTcpBadOption;
    const size_t olen = p[i + 1];
    if (olen < 2 || i + olen > len) return Drop::kTcpBadOption;
    switch (kind) {
      case kOptMss:
        if (olen != 4) return Drop::kTcpBadOption;
        out->has_mss = true;
        out->mss = util::load_be16(p + i + 2);
        break;
      case kOptWindowScale:
        if (olen != 3) return Drop::kTcpBadOption;
        out->has_window_scale = true;
        out->window_scale = p[i + 2] > kMaxWindowScale ? kMaxWindowScale : p[i + 2];
        break;
      case kOptSackPermitted:
        if (olen != 2) return Drop::kTcpBadOption;
        out->sack_permitted = true;
        break;
      case kOptTimestamps:
        if (olen != 10) return Drop::kTcpBadOption;
        out->has_timestamps = true;
        out->ts_value = util::load_be32(p + i + 2);
        out->ts_echo = util::load_be32(p + i + 6);
        break;
      default:
        break;
    }
    i += olen;
  }
  return Drop::kNone;
}

// Validates the segment p[0, len) (len: the IP payload length). `pseudo` is the IP
// pseudo-header sum for `len` bytes (ipv4_pseudo_sum / ipv6_pseudo_sum with kProtoTCP).
// Refuses flag combinations no valid segment carries (SYN with FIN or RST, none at all
// but URG/PSH). Options are parsed on every segment.
inline Drop parse_tcp(const uint8_t* p, size_t len, uint64_t pseudo, TcpSegment* out,
                      bool verify_checksum = true) noexcept {
  if (len < kTcpHeader) return Drop::kTcpTooShort;
  const size_t header_len = static_cast<size_t>(p[12] >> 4) * 4;
  if (header_len < kTcpHeader || header_len > len) return Drop::kTcpBadHeaderLength;
  if (verify_checksum && csum_finish(csum_partial(p, len, pseudo)) != 0) return Drop::kTcpBadChecksum;
  out->flags = p[13] & 0x3f;
  const uint8_t f = out->flags;
  if ((f & kTcpSyn) && (f & (kTcpFin | kTcpRst))) return Drop::kTcpBadFlags;
  if (!(f & (kTcpSyn | kTcpFin | kTcpRst | kTcpAck))) return Drop::kTcpBadFlags;
  out->src_port = util::load_be16(p);
  out->dst_port = util::load_be16(p + 2);
  out->seq = util::load_be32(p + 4);
  out->ack = util::load_be32(p + 8);
  out->window = util::load_be16(p + 14);
  out->header_len = static_cast<uint16_t>(header_len);
  out->payload_len = static_cast<uint16_t>(len - header_len);
  out->options = TcpOptions{};
  return parse_tcp_options(p + kTcpHeader, header_len - kTcpHeader, &out->options);
}

// What to put in the options of a segment we send.
struct TcpSendOptions {
  uint16_t mss = 0;              // 0: none (only on SYNs)
  int8_t window_scale = -1;      // -1: none (only on SYNs)
  bool sack_permitted = false;   // only on SYNs
  bool timestamps = false;
  uint32_t ts_value = 0;
  uint32_t ts_echo = 0;
};

// Writes a TCP header with options (NOP-padded to a 4-byte boundary) in front of a payload
// of payload_len bytes already at out + tcp_header_size(opts), and fills in the checksum
// with `pseudo` = the pseudo-header sum for the whole segment's length; with
// `checksum_offload`, only the pseudo-header's part (the NIC completes it). Returns the
// header length.
inline size_t tcp_header_size(const TcpSendOptions& o) noexcept {
  size_t n = kTcpHeader;
  if (o.mss) n += 4;
  if (o.window_scale >= 0) n += 4;  // NOP + 3
  if (o.sack_permitted) n += 4;     // NOP NOP + 2 (or folded before timestamps)
  if (o.timestamps) n += 12;        // NOP NOP + 10
  return n;
}

inline size_t write_tcp(uint8_t* out, uint16_t src_port, uint16_t dst_port, uint32_t seq, uint32_t ack,
                        uint8_t flags, uint16_t window, const TcpSendOptions& o, size_t payload_len,
                        uint64_t pseudo, bool checksum_offload = false) noexcept {
  const size_t header_len = tcp_header_size(o);
  util::store_be16(out, src_port);
  util::store_be16(out + 2, dst_port);
  util::store_be32(out + 4, seq);
  util::store_be32(out + 8, ack);
  out[12] = static_cast<uint8_t>((header_len / 4) << 4);
  out[13] = flags;
  util::store_be16(out + 14, window);
  util::store_be16(out + 16, 0);
  util::store_be16(out + 18, 0);
  uint8_t* q = out + kTcpHeader;
  if (o.mss) {
    q[0] = kOptMss;
    q[1] = 4;
    util::store_be16(q + 2, o.mss);
    q += 4;
  }
  if (o.window_scale >= 0) {
    q[0] = kOptNop;
    q[1] = kOptWindowScale;
    q[2] = 3;
    q[3] = static_cast<uint8_t>(o.window_scale);
    q += 4;
  }
  if (o.sack_permitted) {
    q[0] = kOptNop;
    q[1] = kOptNop;
    q[2] = kOptSackPermitted;
    q[3] = 2;
    q += 4;
  }
  if (o.timestamps) {
    q[0] = kOptNop;
    q[1] = kOptNop;
    q[2] = kOptTimestamps;
    q[3] = 10;
    util::store_be32(q + 4, o.ts_value);
    util::store_be32(q + 8, o.ts_echo);
    q += 12;
  }
  util::store_be16(out + 16, checksum_offload ? csum_fold(pseudo)
                                              : csum_finish(csum_partial(out, header_len + payload_len, pseudo)));
  return header_len;
}

}  // namespace dotgate::net
