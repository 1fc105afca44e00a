// Parsing a client query into what the fast path needs: the question, the EDNS state and
// the canonical cache key, in one bounds-checked pass over the bytes.
#pragma once

#include <cstddef>
#include <cstdint>

#include "dns/errors.h"
#include "dns/wire.h"

namespace dotgate::dns {

// Bits of CacheKey::bits.
inline constexpr uint8_t kKeyDO = 0x01;  // client set EDNS DO: wants DNSSEC records
inline constexpr uint8_t kKeyCD = 0x02;  // client set CD: checking disabled

// The identity of a cacheable answer: (lower-cased qname, qtype, qclass, DO, CD).
// `hash` is filled by finalize_key() with a keyed hash so tables can use it directly.
struct CacheKey {
  uint64_t hash = 0;
  uint16_t qtype = 0;
  uint16_t qclass = 0;
  uint8_t bits = 0;
  uint8_t name_len = 0;  // wire length including the root label, 1..255
  // Lower-cased wire name. One byte of slack past the 255-byte maximum lets the hash read
  // the tail as a whole word.
  uint8_t name[kMaxNameWire + 1];
};

// Computes key.hash from the name, qtype, qclass and bits with the table's secret seed.
void finalize_key(CacheKey& key, uint64_t seed) noexcept;

bool operator==(const CacheKey& a, const CacheKey& b) noexcept;

// Presence bits for EDNS options seen in a query (Query::edns_options).
inline constexpr uint8_t kSawClientSubnet = 0x01;
inline constexpr uint8_t kSawCookie = 0x02;
inline constexpr uint8_t kSawKeepalive = 0x04;
inline constexpr uint8_t kSawPadding = 0x08;

struct Query {
  uint16_t msg_len = 0;
  uint16_t id = 0;
  uint16_t flags = 0;
  uint16_t qtype = 0;
  uint16_t qclass = 0;
  uint16_t qname_len = 0;     // the qname starts at kHeaderSize; wire length with root
  uint16_t question_end = 0;  // offset after QTYPE/QCLASS; 0 if the question is unusable
  // EDNS (RFC 6891); all zero when the query has no OPT record.
  bool has_edns = false;
  bool do_bit = false;
  uint8_t edns_version = 0;
  uint8_t edns_options = 0;  // kSaw* bits
  uint16_t udp_size = 0;     // requester's payload size as sent (not clamped)
  uint16_t opt_offset = 0;   // the OPT record's first byte
  uint16_t opt_length = 0;   // the whole OPT record
  CacheKey key;              // filled except `hash`; see finalize_key()

  bool rd() const noexcept { return flags & kFlagRD; }
  bool cd() const noexcept { return flags & kFlagCD; }
  // The largest UDP response this requester accepts, capped at `our_max` (RFC 6891 6.2.5:
  // values below 512 mean 512; no EDNS means 512).
  uint16_t udp_limit(uint16_t our_max) const noexcept {
    if (!has_edns) return kMinUdpPayload;
    uint16_t v = udp_size < kMinUdpPayload ? kMinUdpPayload : udp_size;
    if (our_max < kMinUdpPayload) our_max = kMinUdpPayload;
    return v < our_max ? v : our_max;
  }
};

// Parses and validates a query in msg[0, len). On success fills *q (and q->key without its
// hash). On failure returns the first defect; q->id, q->flags and q->msg_len are valid
// whenever len >= 12, and q->question_end is non-zero if the question itself was sound, so
// an error response can echo it. Accepts exactly one question, no answer or authority
// records, at most one OPT (owner root), and no bytes after the last record.
ParseError parse_query(const uint8_t* msg, size_t len, Query* q) noexcept;

}  // namespace dotgate::dns
