#include "dns/builder.h"

#include <cstring>

namespace dotgate::dns {

size_t append_opt(uint8_t* msg, size_t len, size_t cap, const EdnsParams& edns) noexcept {
  if (len + 11 > cap) return 0;
  uint8_t* p = msg + len;
  p[0] = 0;  // root owner
  store_u16(p + 1, kTypeOPT);
  store_u16(p + 3, edns.udp_size);
  store_u32(p + 5, (uint32_t{edns.ext_rcode} << 24) | (edns.do_bit ? kEdnsDoBit : 0));
  store_u16(p + 9, 0);
  store_u16(msg + kOffArcount, static_cast<uint16_t>(load_u16(msg + kOffArcount) + 1));
  return len + 11;
}

size_t append_edns_option(uint8_t* msg, size_t len, size_t cap, size_t opt_offset,
                          uint16_t code, const uint8_t* data, uint16_t data_len) noexcept {
  const size_t rdlen_at = opt_offset + 9;
  const size_t rdlen = load_u16(msg + rdlen_at);
  if (rdlen + 4 + data_len > 0xffff || len + 4 + data_len > cap) return 0;
  store_u16(msg + len, code);
  store_u16(msg + len + 2, data_len);
  if (data_len) std::memcpy(msg + len + 4, data, data_len);
  store_u16(msg + rdlen_at, static_cast<uint16_t>(rdlen + 4 + data_len));
  return len + 4 + data_len;
}

size_t pad_to_block(uint8_t* msg, size_t len, size_t cap, size_t opt_offset,
                    size_t block) noexcept {
  if (block == 0 || len + 4 > cap) return 0;
  size_t target = (len + 4 + block - 1) / block * block;
  if (target > cap) target = cap;
  const size_t pad = target - len - 4;
  const size_t rdlen_at = opt_offset + 9;
  const size_t rdlen = load_u16(msg + rdlen_at);
  if (rdlen + 4 + pad > 0xffff) return 0;
  store_u16(msg + len, kOptPadding);
  store_u16(msg + len + 2, static_cast<uint16_t>(pad));
  std::memset(msg + len + 4, 0, pad);  // RFC 7830 4: padding octets are zero
  store_u16(msg + rdlen_at, static_cast<uint16_t>(rdlen + 4 + pad));
  return target;
}

size_t build_query(uint8_t* out, size_t cap, uint16_t id, uint16_t flags, const uint8_t* qname,
                   size_t qname_len, uint16_t qtype, uint16_t qclass, const EdnsParams* edns,
                   size_t pad_block) noexcept {
  const size_t question_end = kHeaderSize + qname_len + 4;
  // Check the room first: a failed build leaves `out` untouched.
  if (question_end + (edns != nullptr ? 11 : 0) > cap || qname_len == 0 || qname_len > kMaxNameWire) return 0;
  store_u16(out + kOffId, id);
  store_u16(out + kOffFlags, static_cast<uint16_t>(flags & ~kFlagQR));
  store_u16(out + kOffQdcount, 1);
  store_u16(out + kOffAncount, 0);
  store_u16(out + kOffNscount, 0);
  store_u16(out + kOffArcount, 0);
  std::memcpy(out + kHeaderSize, qname, qname_len);
  store_u16(out + kHeaderSize + qname_len, qtype);
  store_u16(out + kHeaderSize + qname_len + 2, qclass);
  size_t len = question_end;
  if (edns != nullptr) {
    len = append_opt(out, len, cap, *edns);
    if (len == 0) return 0;
    if (pad_block > 0) {
      const size_t padded = pad_to_block(out, len, cap, question_end, pad_block);
      if (padded != 0) len = padded;
    }
  }
  return len;
}

size_t build_error_response(const uint8_t* query, const Query& q, uint16_t rcode, uint8_t* out,
                            size_t cap, uint16_t our_udp_size) noexcept {
  const bool echo_question = q.question_end != 0;
  const size_t question_end = echo_question ? q.question_end : kHeaderSize;
  const bool with_opt = q.has_edns || rcode > kRcodeMask;
  // Check the room first: a failed build leaves `out` (possibly the query) untouched.
  if (question_end + (with_opt ? 11 : 0) > cap) return 0;
  if (out != query) std::memmove(out + kHeaderSize, query + kHeaderSize, question_end - kHeaderSize);
  const uint16_t flags = static_cast<uint16_t>(kFlagQR | (q.flags & (kOpcodeMask | kFlagRD | kFlagCD)) |
                                               kFlagRA | (rcode & kRcodeMask));
  store_u16(out + kOffId, q.id);
  store_u16(out + kOffFlags, flags);
  store_u16(out + kOffQdcount, echo_question ? 1 : 0);
  store_u16(out + kOffAncount, 0);
  store_u16(out + kOffNscount, 0);
  store_u16(out + kOffArcount, 0);
  size_t len = question_end;
  if (with_opt) {
    EdnsParams e;
    e.udp_size = our_udp_size;
    e.ext_rcode = static_cast<uint8_t>(rcode >> 4);
    e.do_bit = q.do_bit;
    len = append_opt(out, len, cap, e);
  }
  return len;
}

size_t truncate_response(uint8_t* msg, size_t cap, size_t question_end,
                         const EdnsParams* edns) noexcept {
  if (question_end + (edns != nullptr ? 11 : 0) > cap) return 0;
  store_u16(msg + kOffFlags, static_cast<uint16_t>(load_u16(msg + kOffFlags) | kFlagTC));
  store_u16(msg + kOffAncount, 0);
  store_u16(msg + kOffNscount, 0);
  store_u16(msg + kOffArcount, 0);
  size_t len = question_end;
  if (edns != nullptr) len = append_opt(msg, len, cap, *edns);
  return len;
}

void age_ttls(uint8_t* msg, const uint16_t* ttl_offsets, size_t n, uint32_t age) noexcept {
  for (size_t i = 0; i < n; ++i) {
    uint8_t* p = msg + ttl_offsets[i];
    const uint32_t ttl = load_u32(p);
    store_u32(p, ttl > age ? ttl - age : 0);
  }
}

void clamp_ttls(uint8_t* msg, const uint16_t* ttl_offsets, size_t n, uint32_t min_ttl,
                uint32_t max_ttl) noexcept {
  for (size_t i = 0; i < n; ++i) {
    uint8_t* p = msg + ttl_offsets[i];
    uint32_t ttl = load_u32(p);
    if (ttl & 0x80000000u) ttl = 0;  // RFC 2181 8
    if (ttl < min_ttl) ttl = min_ttl;
    if (ttl > max_ttl) ttl = max_ttl;
    store_u32(p, ttl);
  }
}

}  // namespace dotgate::dns
