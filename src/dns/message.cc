#include "dns/message.h"

#include "dns/name.h"

namespace dotgate::dns {

RecordReader::RecordReader(const uint8_t* msg, size_t len) noexcept : msg_(msg), len_(len) {
  if (len < kHeaderSize) {
    error_ = ParseError::kTooShort;
    return;
  }
  if (len > kMaxMessage) {
    error_ = ParseError::kTrailingData;
    return;
  }
  const HeaderView h{msg};
  size_t pos = kHeaderSize;
  for (unsigned i = 0; i < h.qdcount(); ++i) {
    size_t end;
    const ParseError e = read_name(msg, len, pos, &end);
    if (e != ParseError::kOk) {
      error_ = e;
      return;
    }
    if (end + 4 > len) {
      error_ = ParseError::kTruncatedQuestion;
      return;
    }
    if (i == 0) note_question_labels(msg, end);
    pos = end + 4;
  }
  pos_ = question_end_ = pos;
  remaining_[0] = h.ancount();
  remaining_[1] = h.nscount();
  remaining_[2] = h.arcount();
}

void RecordReader::note_question_labels(const uint8_t* msg, size_t end) noexcept {
  size_t p = kHeaderSize;
  while (p < end && msg[p] != 0 && msg[p] <= kMaxLabel) {
    qname_labels_[(p - kHeaderSize) / 64] |= uint64_t{1} << ((p - kHeaderSize) % 64);
    p += 1 + msg[p];
  }
  if (p < end && msg[p] == 0) qname_labels_[(p - kHeaderSize) / 64] |= uint64_t{1} << ((p - kHeaderSize) % 64);
  qname_end_ = end;
}

bool RecordReader::next(Record* out) noexcept {
  if (error_ != ParseError::kOk) return false;
  while (section_ < 3 && remaining_[section_] == 0) ++section_;
  if (section_ == 3) return false;
  --remaining_[section_];
  size_t end;
  const NameGuard guard_now = guard();
  const ParseError e = read_name(msg_, len_, pos_, &end, nullptr, nullptr, &guard_now);
  if (e != ParseError::kOk) {
    error_ = e;
    return false;
  }
  if (end + 10 > len_) {
    error_ = ParseError::kTruncatedRecord;
    return false;
  }
  const uint16_t rdlen = load_u16(msg_ + end + 8);
  if (end + 10 + rdlen > len_) {
    error_ = ParseError::kTruncatedRecord;
    return false;
  }
  out->name_offset = static_cast<uint16_t>(pos_);
  out->type = load_u16(msg_ + end);
  out->rclass = load_u16(msg_ + end + 2);
  out->ttl = load_u32(msg_ + end + 4);
  out->ttl_offset = static_cast<uint16_t>(end + 4);
  out->rdata_offset = static_cast<uint16_t>(end + 10);
  out->rdlength = rdlen;
  out->section = static_cast<Section>(section_);
  if (fixed_count_ < kTrackedRecords) fixed_[fixed_count_++] = static_cast<uint16_t>(end);
  pos_ = end + 10 + rdlen;
  return true;
}

namespace {

// SOA RDATA: MNAME, RNAME, then SERIAL REFRESH RETRY EXPIRE MINIMUM (RFC 1035 3.3.13).
ParseError soa_minimum(const uint8_t* msg, const Record& rr, const NameGuard& guard, uint32_t* minimum) {
  const size_t rd_end = size_t{rr.rdata_offset} + rr.rdlength;
  size_t pos = rr.rdata_offset;
  for (int i = 0; i < 2; ++i) {
    size_t end;
    const ParseError e = read_name(msg, rd_end, pos, &end, nullptr, nullptr, &guard);
    if (e != ParseError::kOk) return ParseError::kBadRdata;
    pos = end;
  }
  if (pos + 20 != rd_end) return ParseError::kBadRdata;
  *minimum = load_u32(msg + pos + 16);
  return ParseError::kOk;
}

// The RDATA of the RFC 1035 types that may carry compressed names (RFC 3597 4) must be
// exactly those names (after MX's preference), each spelled only with stable bytes: the
// cache rewrites TTLs and the question's spelling in place.
ParseError check_rdata_names(const uint8_t* msg, const Record& rr, const NameGuard& guard) {
  size_t names = 0;
  size_t skip = 0;
  switch (rr.type) {
    case 2: case 3: case 4: case 5: case 7: case 8: case 9: case 12:  // NS MD MF CNAME MB MG MR PTR
      names = 1;
      break;
    case 14:  // MINFO
      names = 2;
      break;
    case 15:  // MX: PREFERENCE, EXCHANGE
      names = 1;
      skip = 2;
      break;
    default:
      return ParseError::kOk;
  }
  const size_t rd_end = size_t{rr.rdata_offset} + rr.rdlength;
  size_t pos = rr.rdata_offset + skip;
  if (pos > rd_end) return ParseError::kBadRdata;
  for (size_t i = 0; i < names; ++i) {
    size_t end;
    if (read_name(msg, rd_end, pos, &end, nullptr, nullptr, &guard) != ParseError::kOk) return ParseError::kBadRdata;
    pos = end;
  }
  return pos == rd_end ? ParseError::kOk : ParseError::kBadRdata;
}

}  // namespace

ParseError parse_response(const uint8_t* msg, size_t len, Response* r, uint16_t* ttl_offsets,
                          size_t max_ttls) noexcept {
  *r = Response{};
  RecordReader reader(msg, len);
  if (reader.error() != ParseError::kOk) return reader.error();
  const HeaderView h{msg};
  r->id = h.id();
  r->flags = h.flags();
  r->rcode = h.rcode();
  r->qdcount = h.qdcount();
  r->ancount = h.ancount();
  r->nscount = h.nscount();
  r->arcount = h.arcount();
  if (!(r->flags & kFlagQR)) return ParseError::kQrClear;
  if (r->qdcount > 1) return ParseError::kQdcountNotOne;
  if (r->qdcount == 1) {
    size_t end;
    read_name(msg, len, kHeaderSize, &end);  // validated by the reader
    r->qname_len = static_cast<uint16_t>(end - kHeaderSize);
    // A compressed question name has no sensible meaning; reject rather than guess. (Its
    // pointer can still aim at an earlier label of the same name, so walk the labels.)
    size_t p = kHeaderSize;
    while (msg[p] != 0 && msg[p] <= kMaxLabel) p += 1 + msg[p];
    if (msg[p] != 0) return ParseError::kCompressedQuestion;
    r->qtype = load_u16(msg + end);
    r->qclass = load_u16(msg + end + 2);
  }
  r->question_end = static_cast<uint16_t>(reader.question_end());

  Record rr;
  while (reader.next(&rr)) {
    if (rr.type == kTypeOPT) {
      if (rr.section != Section::kAdditional) return ParseError::kOptOutsideAdditional;
      if (r->has_edns) return ParseError::kMultipleOpt;
      if (msg[rr.name_offset] != 0) return ParseError::kOptNotRoot;
      r->has_edns = true;
      r->udp_size = rr.rclass;
      r->do_bit = (rr.ttl & kEdnsDoBit) != 0;
      r->rcode = static_cast<uint16_t>(r->rcode | ((rr.ttl >> 24) << 4));
      r->opt_offset = rr.name_offset;
      r->opt_length = static_cast<uint16_t>(rr.rdata_offset + rr.rdlength - rr.name_offset);
      size_t pos = rr.rdata_offset;
      const size_t end = pos + rr.rdlength;
      while (pos < end) {
        if (pos + 4 > end) return ParseError::kBadEdnsOption;
        const uint16_t code = load_u16(msg + pos);
        const uint16_t olen = load_u16(msg + pos + 2);
        if (pos + 4 + olen > end) return ParseError::kBadEdnsOption;
        if (code == kOptTcpKeepalive) {
          if (olen != 0 && olen != 2) return ParseError::kBadEdnsOption;
          r->has_keepalive = true;
          r->keepalive_timeout = olen == 2 ? load_u16(msg + pos + 4) : 0;
        }
        pos += 4 + olen;
      }
      continue;
    }
    if (const ParseError e = check_rdata_names(msg, rr, reader.guard()); e != ParseError::kOk) return e;
    const uint32_t ttl = sane_ttl(rr.ttl);
    if (ttl < r->min_ttl) r->min_ttl = ttl;
    if (r->ttl_count < max_ttls) {
      ttl_offsets[r->ttl_count++] = rr.ttl_offset;
    } else {
      r->ttl_overflow = true;
    }
    if (rr.section == Section::kAnswer && (rr.type == r->qtype || r->qtype == kTypeANY)) {
      r->answer_has_qtype = true;
    }
    if (rr.section == Section::kAuthority && rr.type == kTypeSOA && !r->has_soa) {
      uint32_t minimum;
      const ParseError e = soa_minimum(msg, rr, reader.guard(), &minimum);
      if (e != ParseError::kOk) return e;
      r->has_soa = true;
      r->negative_ttl = ttl < minimum ? ttl : minimum;
    }
  }
  if (reader.error() != ParseError::kOk) return reader.error();
  if (reader.position() != len) return ParseError::kTrailingData;
  return ParseError::kOk;
}

}  // namespace dotgate::dns
