#include "dns/query.h"

#include <cstring>

#include "dns/name.h"
#include "util/hash.h"

namespace dotgate::dns {

void finalize_key(CacheKey& key, uint64_t seed) noexcept {
  const uint64_t tail = (uint64_t{key.qtype} << 24) | (uint64_t{key.qclass} << 8) | key.bits;
  key.hash = util::hash_bytes_padded(key.name, key.name_len, seed ^ util::mix64(tail, 0x2545f4914f6cdd1dULL));
}

bool operator==(const CacheKey& a, const CacheKey& b) noexcept {
  return a.qtype == b.qtype && a.qclass == b.qclass && a.bits == b.bits &&
         a.name_len == b.name_len && std::memcmp(a.name, b.name, a.name_len) == 0;
}

namespace {

// Parses the OPT record's RDATA (a sequence of {code, length, data}) into q.
ParseError parse_edns_options(const uint8_t* p, size_t rdlen, Query* q) noexcept {
  size_t pos = 0;
  while (pos < rdlen) {
    if (pos + 4 > rdlen) return ParseError::kBadEdnsOption;
    const uint16_t code = load_u16(p + pos);
    const uint16_t olen = load_u16(p + pos + 2);
    if (pos + 4 + olen > rdlen) return ParseError::kBadEdnsOption;
    switch (code) {
      case kOptClientSubnet: q->edns_options |= kSawClientSubnet; break;
      case kOptCookie: q->edns_options |= kSawCookie; break;
      case kOptTcpKeepalive:
        // RFC 7828 3.2.1: a client sends it with no timeout value.
        if (olen != 0) return ParseError::kBadEdnsOption;
        q->edns_options |= kSawKeepalive;
        break;
      case kOptPadding: q->edns_options |= kSawPadding; break;
      default: break;
    }
    pos += 4 + olen;
  }
  return ParseError::kOk;
}

}  // namespace

ParseError parse_query(const uint8_t* msg, size_t len, Query* q) noexcept {
  q->msg_len = static_cast<uint16_t>(len > kMaxMessage ? kMaxMessage : len);
  q->question_end = 0;
  q->has_edns = false;
  q->do_bit = false;
  q->edns_version = 0;
  q->edns_options = 0;
  q->udp_size = 0;
  q->opt_offset = 0;
  q->opt_length = 0;
  if (len < kHeaderSize) return ParseError::kTooShort;
  const HeaderView h{msg};
  q->id = h.id();
  q->flags = h.flags();
  if (len > kMaxMessage) return ParseError::kTrailingData;
  if (q->flags & kFlagQR) return ParseError::kQrSet;
  if (opcode_of(q->flags) != kOpQuery) return ParseError::kOpcodeNotQuery;
  if (h.qdcount() != 1) return ParseError::kQdcountNotOne;
  if (h.ancount() != 0 || h.nscount() != 0) return ParseError::kRecordsInQuery;

  // Question name: validated label by label, then copied lower-cased into the key in one
  // pass. A query's name has nothing before it to point at, so a compression pointer here
  // is always malformed.
  size_t pos = kHeaderSize;
  for (;;) {
    if (pos >= len) return ParseError::kTruncatedName;
    const size_t label = msg[pos];
    if (label > kMaxLabel) {
      return (label & 0xc0) == 0xc0 ? ParseError::kCompressedQuestion : ParseError::kBadLabelType;
    }
    pos += 1 + label;
    if (pos - kHeaderSize > kMaxNameWire) return ParseError::kNameTooLong;
    if (label == 0) break;
  }
  if (pos + 4 > len) return ParseError::kTruncatedQuestion;
  const size_t wire = pos - kHeaderSize;
  copy_lower(q->key.name, msg + kHeaderSize, wire);
  q->qname_len = static_cast<uint16_t>(wire);
  q->qtype = load_u16(msg + pos);
  q->qclass = load_u16(msg + pos + 2);
  pos += 4;
  q->question_end = static_cast<uint16_t>(pos);
  q->key.name_len = static_cast<uint8_t>(wire);
  q->key.qtype = q->qtype;
  q->key.qclass = q->qclass;
  q->key.bits = (q->flags & kFlagCD) ? kKeyCD : 0;

  // Additional section: the OPT record, and anything else (TSIG, SIG(0)) skipped intact.
  const unsigned arcount = h.arcount();
  for (unsigned i = 0; i < arcount; ++i) {
    const size_t rr_start = pos;
    size_t after_name = pos + 1;
    if (pos >= len || msg[pos] != 0) {  // the OPT's root owner is the common case: skip the walk
      const ParseError ne = read_name(msg, len, pos, &after_name);
      if (ne != ParseError::kOk) return ne;
    }
    pos = after_name;
    if (pos + 10 > len) return ParseError::kTruncatedRecord;
    const uint16_t type = load_u16(msg + pos);
    const uint16_t rclass = load_u16(msg + pos + 2);
    const uint32_t ttl = load_u32(msg + pos + 4);
    const uint16_t rdlen = load_u16(msg + pos + 8);
    pos += 10;
    if (pos + rdlen > len) return ParseError::kTruncatedRecord;
    if (type == kTypeOPT) {
      if (q->has_edns) return ParseError::kMultipleOpt;
      if (after_name != rr_start + 1 || msg[rr_start] != 0) return ParseError::kOptNotRoot;
      q->has_edns = true;
      q->udp_size = rclass;
      q->edns_version = static_cast<uint8_t>(ttl >> 16);
      q->do_bit = (ttl & kEdnsDoBit) != 0;
      q->opt_offset = static_cast<uint16_t>(rr_start);
      q->opt_length = static_cast<uint16_t>(pos + rdlen - rr_start);
      const ParseError oe = parse_edns_options(msg + pos, rdlen, q);
      if (oe != ParseError::kOk) return oe;
    }
    pos += rdlen;
  }
  if (pos != len) return ParseError::kTrailingData;
  if (q->do_bit) q->key.bits |= kKeyDO;
  // RFC 6891 6.1.3: a version we do not implement is answered BADVERS (checked last so that
  // a structurally broken message is reported as such).
  if (q->has_edns && q->edns_version != 0) return ParseError::kBadEdnsVersion;
  return ParseError::kOk;
}

}  // namespace dotgate::dns
