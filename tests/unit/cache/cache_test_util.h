// Helpers for the cache tests: realistic upstream answers built as wire bytes (with
// compression pointers the way real servers write them), client queries, and a decoder for
// what the cache writes back.
#pragma once

#include <gtest/gtest.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "cache/cache.h"
#include "dns/builder.h"
#include "dns/message.h"
#include "dns/name.h"
#include "dns/query.h"
#include "dns/wire.h"

namespace dotgate::cache::test {

using Bytes = std::vector<uint8_t>;

// Uncompressed wire form of a presentation name ("www.example.com"), case preserved.
inline Bytes wire_name(std::string_view text) {
  uint8_t buf[dns::kMaxNameWire];
  size_t len = 0;
  if (!dns::name_from_text(text, buf, &len)) {
    ADD_FAILURE() << "bad test name: " << text;
    return Bytes{0};
  }
  return Bytes(buf, buf + len);
}

// A compression pointer to `off`.
inline Bytes ptr(size_t off) {
  return Bytes{static_cast<uint8_t>(0xc0 | (off >> 8)), static_cast<uint8_t>(off & 0xff)};
}

// Labels followed by a compression pointer: labels_then("ns1", 16) is "\3ns1" + ptr(16).
inline Bytes labels_then(std::string_view labels, size_t off) {
  Bytes w = wire_name(labels);
  w.pop_back();  // drop the root label
  const Bytes p = ptr(off);
  w.insert(w.end(), p.begin(), p.end());
  return w;
}

inline Bytes ipv4(uint8_t a, uint8_t b, uint8_t c, uint8_t d) { return Bytes{a, b, c, d}; }

// 2001:db8::<hi>:<lo>
inline Bytes ipv6(uint16_t hi, uint16_t lo) {
  Bytes v(16, 0);
  v[0] = 0x20;
  v[1] = 0x01;
  v[2] = 0x0d;
  v[3] = 0xb8;
  v[12] = static_cast<uint8_t>(hi >> 8);
  v[13] = static_cast<uint8_t>(hi);
  v[14] = static_cast<uint8_t>(lo >> 8);
  v[15] = static_cast<uint8_t>(lo);
  return v;
}

inline void put16(Bytes& b, uint16_t v) {
  b.push_back(static_cast<uint8_t>(v >> 8));
  b.push_back(static_cast<uint8_t>(v));
}
inline void put32(Bytes& b, uint32_t v) {
  put16(b, static_cast<uint16_t>(v >> 16));
  put16(b, static_cast<uint16_t>(v));
}

// Builds an upstream response: header, one question (name at offset 12, as written by the
// server, so it may use a different case than the query), then records in section order.
class ResponseBuilder {
 public:
  static constexpr size_t kQname = dns::kHeaderSize;

  ResponseBuilder(std::string_view qname, uint16_t qtype, uint16_t qclass = dns::kClassIN,
                  uint16_t flags = dns::kFlagQR | dns::kFlagRD | dns::kFlagRA, uint16_t id = 0x4242) {
    put16(b_, id);
    put16(b_, static_cast<uint16_t>(flags | dns::kFlagQR));
    put16(b_, 1);
    put16(b_, 0);
    put16(b_, 0);
    put16(b_, 0);
    qname_ = wire_name(qname);
    b_.insert(b_.end(), qname_.begin(), qname_.end());
    put16(b_, qtype);
    put16(b_, qclass);
  }

  // Offset of the question name's suffix after skipping `labels` labels (for pointers to
  // the parent zone: suffix(1) of www.example.com is example.com).
  size_t suffix(size_t labels) const {
    size_t pos = 0;
    for (size_t i = 0; i < labels && qname_[pos] != 0; ++i) pos += 1 + qname_[pos];
    return kQname + pos;
  }
  size_t qname_ptr_target() const { return kQname; }

  ResponseBuilder& rcode(uint16_t rc) {
    const uint16_t f = dns::load_u16(b_.data() + dns::kOffFlags);
    dns::store_u16(b_.data() + dns::kOffFlags, static_cast<uint16_t>((f & ~dns::kRcodeMask) | (rc & 0xf)));
    return *this;
  }
  ResponseBuilder& set_flags(uint16_t bits) {
    const uint16_t f = dns::load_u16(b_.data() + dns::kOffFlags);
    dns::store_u16(b_.data() + dns::kOffFlags, static_cast<uint16_t>(f | bits));
    return *this;
  }
  ResponseBuilder& clear_flags(uint16_t bits) {
    const uint16_t f = dns::load_u16(b_.data() + dns::kOffFlags);
    dns::store_u16(b_.data() + dns::kOffFlags, static_cast<uint16_t>(f & ~bits));
    return *this;
  }

  // Appends a record; returns the offset of its RDATA (for later compression pointers).
  size_t rr(dns::Section s, const Bytes& owner, uint16_t type, uint32_t ttl, const Bytes& rdata,
            uint16_t rclass = dns::kClassIN) {
    const int sec = static_cast<int>(s);
    if (sec < section_) ADD_FAILURE() << "records must be added in section order";
    section_ = sec;
    b_.insert(b_.end(), owner.begin(), owner.end());
    put16(b_, type);
    put16(b_, rclass);
    put32(b_, ttl);
    put16(b_, static_cast<uint16_t>(rdata.size()));
    const size_t rdata_off = b_.size();
    b_.insert(b_.end(), rdata.begin(), rdata.end());
    const size_t count_at = dns::kOffAncount + 2 * static_cast<size_t>(sec);
    dns::store_u16(b_.data() + count_at, static_cast<uint16_t>(dns::load_u16(b_.data() + count_at) + 1));
    return rdata_off;
  }

  // Owner defaults to a pointer to the question name.
  size_t a(uint32_t ttl, const Bytes& addr) { return rr(dns::Section::kAnswer, ptr(kQname), dns::kTypeA, ttl, addr); }
  size_t aaaa(uint32_t ttl, const Bytes& addr) {
    return rr(dns::Section::kAnswer, ptr(kQname), dns::kTypeAAAA, ttl, addr);
  }

  // SOA in the authority section, owned by the zone (a pointer into the question name) with
  // MNAME ns1.<zone> and RNAME hostmaster.<zone>, both compressed.
  size_t soa(uint32_t ttl, uint32_t minimum, size_t zone_labels_skipped = 1) {
    const size_t zone = suffix(zone_labels_skipped);
    Bytes rd = labels_then("ns1", zone);
    const Bytes rname = labels_then("hostmaster", zone);
    rd.insert(rd.end(), rname.begin(), rname.end());
    put32(rd, 2024010101);  // serial
    put32(rd, 7200);        // refresh
    put32(rd, 3600);        // retry
    put32(rd, 1209600);     // expire
    put32(rd, minimum);
    return rr(dns::Section::kAuthority, ptr(zone), dns::kTypeSOA, ttl, rd);
  }

  // OPT in the additional section.
  ResponseBuilder& opt(uint16_t udp = 4096, bool do_bit = false, const Bytes& options = {},
                       uint8_t ext_rcode = 0) {
    Bytes root{0};
    rr(dns::Section::kAdditional, root, dns::kTypeOPT,
       (uint32_t{ext_rcode} << 24) | (do_bit ? dns::kEdnsDoBit : 0), options, udp);
    return *this;
  }

  const Bytes& bytes() const { return b_; }
  size_t size() const { return b_.size(); }

 private:
  Bytes b_;
  Bytes qname_;
  int section_ = 0;
};

// An upstream answer parsed the way the upstream layer does before Cache::insert.
struct Parsed {
  Bytes msg;
  dns::Response r;
  std::vector<uint16_t> ttl_offsets = std::vector<uint16_t>(1024);
  dns::ParseError err = dns::ParseError::kOk;
};

inline Parsed parse_upstream(const Bytes& msg) {
  Parsed p;
  p.msg = msg;
  p.err = dns::parse_response(p.msg.data(), p.msg.size(), &p.r, p.ttl_offsets.data(), p.ttl_offsets.size());
  return p;
}

// A client query as the cache sees it.
struct Client {
  Bytes msg;
  dns::Query q;
  dns::ParseError err = dns::ParseError::kOk;
  const dns::CacheKey& key() const { return q.key; }
};

// Fluent client query builder.
class Q {
 public:
  Q(std::string_view name, uint16_t qtype) : name_(name), qtype_(qtype) {}
  Q& id(uint16_t v) { id_ = v; return *this; }
  Q& rd(bool on) { flags_ = on ? (flags_ | dns::kFlagRD) : (flags_ & ~dns::kFlagRD); return *this; }
  Q& cd() { flags_ |= dns::kFlagCD; return *this; }
  Q& ad() { flags_ |= dns::kFlagAD; return *this; }
  Q& cls(uint16_t c) { qclass_ = c; return *this; }
  Q& edns(uint16_t udp = 1232) { edns_ = true; udp_ = udp; return *this; }
  Q& dnssec(uint16_t udp = 1232) { edns_ = true; udp_ = udp; do_ = true; return *this; }

  Client build(uint64_t seed) const {
    Client c;
    c.msg.resize(512);
    const Bytes n = wire_name(name_);
    dns::EdnsParams e;
    e.udp_size = udp_;
    e.do_bit = do_;
    const size_t len = dns::build_query(c.msg.data(), c.msg.size(), id_, flags_, n.data(), n.size(), qtype_,
                                        qclass_, edns_ ? &e : nullptr);
    EXPECT_NE(len, 0u);
    c.msg.resize(len);
    c.err = dns::parse_query(c.msg.data(), c.msg.size(), &c.q);
    EXPECT_EQ(c.err, dns::ParseError::kOk) << name_;
    dns::finalize_key(c.q.key, seed);
    return c;
  }

 private:
  std::string name_;
  uint16_t qtype_;
  uint16_t qclass_ = dns::kClassIN;
  uint16_t id_ = 0x1111;
  uint16_t flags_ = dns::kFlagRD;
  bool edns_ = false;
  bool do_ = false;
  uint16_t udp_ = 1232;
};

// A resource record decoded from an answer the cache wrote.
struct Rr {
  dns::Section section = dns::Section::kAnswer;
  std::string owner;  // decompressed, presentation form, case preserved
  uint16_t type = 0;
  uint16_t rclass = 0;
  uint32_t ttl = 0;
  Bytes rdata;         // raw
  std::string target;  // CNAME/NS/PTR target or SOA MNAME, decompressed
  std::string rname;   // SOA RNAME
  uint32_t soa_minimum = 0;
};

struct Decoded {
  dns::ParseError err = dns::ParseError::kOk;
  dns::Response r;
  size_t len = 0;
  uint16_t id = 0;
  uint16_t flags = 0;
  std::string qname;  // the question name exactly as written
  std::vector<Rr> rrs;  // every record, OPT included
  int opt_count = 0;
  uint16_t opt_udp = 0;
  uint32_t opt_ttl = 0;
  std::vector<std::pair<uint16_t, Bytes>> opt_options;

  std::vector<Rr> records(dns::Section s, uint16_t type = 0) const {
    std::vector<Rr> out;
    for (const Rr& rr : rrs) {
      if (rr.section == s && rr.type != dns::kTypeOPT && (type == 0 || rr.type == type)) out.push_back(rr);
    }
    return out;
  }
  std::vector<Rr> answers(uint16_t type = 0) const { return records(dns::Section::kAnswer, type); }
  bool opt_do() const { return (opt_ttl & dns::kEdnsDoBit) != 0; }
};

inline std::string decompress(const uint8_t* msg, size_t len, size_t off, size_t* end = nullptr) {
  uint8_t buf[dns::kMaxNameWire];
  size_t out_len = 0;
  size_t e = 0;
  if (dns::read_name(msg, len, off, &e, buf, &out_len) != dns::ParseError::kOk) return "<bad name>";
  if (end != nullptr) *end = e;
  return dns::name_to_text(buf, out_len);
}

inline Decoded decode(const uint8_t* msg, size_t len) {
  Decoded d;
  d.len = len;
  std::vector<uint16_t> offs(1024);
  d.err = dns::parse_response(msg, len, &d.r, offs.data(), offs.size());
  if (d.err != dns::ParseError::kOk) return d;
  d.id = d.r.id;
  d.flags = d.r.flags;
  if (d.r.qdcount == 1) d.qname = decompress(msg, len, dns::kHeaderSize);
  dns::RecordReader reader(msg, len);
  dns::Record rec;
  while (reader.next(&rec)) {
    Rr rr;
    rr.section = rec.section;
    rr.owner = decompress(msg, len, rec.name_offset);
    rr.type = rec.type;
    rr.rclass = rec.rclass;
    rr.ttl = rec.ttl;
    rr.rdata.assign(msg + rec.rdata_offset, msg + rec.rdata_offset + rec.rdlength);
    const size_t rd_end = size_t{rec.rdata_offset} + rec.rdlength;
    if (rec.type == dns::kTypeCNAME || rec.type == dns::kTypeNS || rec.type == dns::kTypePTR) {
      rr.target = decompress(msg, rd_end, rec.rdata_offset);
    } else if (rec.type == dns::kTypeSOA) {
      size_t e1 = 0;
      size_t e2 = 0;
      rr.target = decompress(msg, rd_end, rec.rdata_offset, &e1);
      rr.rname = decompress(msg, rd_end, e1, &e2);
      if (e2 + 20 <= rd_end) rr.soa_minimum = dns::load_u32(msg + e2 + 16);
    } else if (rec.type == dns::kTypeOPT) {
      ++d.opt_count;
      d.opt_udp = rec.rclass;
      d.opt_ttl = rec.ttl;
      size_t pos = rec.rdata_offset;
      while (pos + 4 <= rd_end) {
        const uint16_t code = dns::load_u16(msg + pos);
        const uint16_t olen = dns::load_u16(msg + pos + 2);
        d.opt_options.emplace_back(code, Bytes(msg + pos + 4, msg + pos + 4 + olen));
        pos += 4 + olen;
      }
    }
    d.rrs.push_back(std::move(rr));
  }
  return d;
}

}  // namespace dotgate::cache::test
