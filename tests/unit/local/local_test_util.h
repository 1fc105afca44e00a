// Helpers for the local-data tests: zones built as the config loader builds them, client
// queries written byte by byte (tests/unit/dns/dns_test_util.h, independent of the
// builders under test), and a decoder of the answers that goes through dns::parse_response
// and dns::RecordReader, names decompressed.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "config/config.h"
#include "config/local_record.h"
#include "dns/message.h"
#include "dns/name.h"
#include "dns/query.h"
#include "local/local_data.h"
#include "unit/dns/dns_test_util.h"

namespace dotgate::local::test {

using Bytes = std::vector<uint8_t>;
using config::LocalZoneType;
using dns::testutil::Msg;

inline constexpr uint64_t kSeed = 0x8badf00ddeadbeefULL;
inline constexpr uint16_t kOurPayload = 1232;

// A zone as load_config makes it: the name canonical, records parsed by the loader's own
// parser (TTL `ttl` where a record gives none).
inline config::LocalZone zone(std::string_view name, LocalZoneType type, std::initializer_list<const char*> records = {},
                              uint32_t ttl = 3600) {
  config::LocalZone z;
  uint8_t wire[dns::kMaxNameWire];
  size_t len = 0;
  EXPECT_TRUE(dns::name_from_text(name, wire, &len)) << name;
  dns::ascii_lower(wire, len);
  z.wire.assign(wire, wire + len);
  z.name = dns::name_to_text(wire, len);
  z.type = type;
  for (const char* text : records) {
    auto r = config::parse_local_record(text, z, ttl);
    if (auto* err = std::get_if<config::UnitError>(&r)) {
      ADD_FAILURE() << text << ": " << err->message;
      continue;
    }
    z.records.push_back(std::get<config::LocalRecord>(r));
  }
  return z;
}

struct QueryOptions {
  uint16_t id = 0x4242;
  uint16_t flags = dns::kFlagRD;
  uint16_t qclass = dns::kClassIN;
  bool edns = false;
  bool do_bit = false;
  uint16_t udp_size = 4096;
};

inline Bytes query(std::string_view name, uint16_t type, const QueryOptions& o = {}) {
  Msg m;
  m.header(o.id, o.flags, 1, 0, 0, o.edns ? 1 : 0).question(name, type, o.qclass);
  if (o.edns) m.opt(o.udp_size, o.do_bit ? dns::kEdnsDoBit : 0);
  return m.b;
}

struct Rec {
  dns::Section section;
  std::string owner;  // presentation, as written (compression followed)
  uint16_t type;
  uint32_t ttl;
  Bytes rdata;        // raw
  std::string target;  // CNAME / PTR: the name in the rdata; SOA: MNAME
};

// What answer() gave, decoded.
struct Answer {
  Result result;
  Bytes msg;
  dns::Response r;
  std::vector<Rec> records;
  bool parsed = false;

  size_t count(dns::Section s) const {
    size_t n = 0;
    for (const Rec& rec : records) n += rec.section == s;
    return n;
  }
};

inline std::string name_at(const Bytes& msg, size_t off) {
  uint8_t name[dns::kMaxNameWire];
  size_t name_len = 0, end = 0;
  if (dns::read_name(msg.data(), msg.size(), off, &end, name, &name_len) != dns::ParseError::kOk) return "<bad>";
  return dns::name_to_text(name, name_len);
}

// Parses the query, asks `data`, and decodes the answer (if any) with the project's own
// response parser, which must accept it.
inline Answer ask(const LocalData& data, const Bytes& q_bytes, size_t limit = 65535, size_t cap = 65535) {
  Answer a;
  dns::Query q;
  EXPECT_EQ(dns::parse_query(q_bytes.data(), q_bytes.size(), &q), dns::ParseError::kOk);
  a.msg.assign(cap, 0xee);
  a.result = data.answer(q_bytes.data(), q, a.msg.data(), cap, limit);
  a.msg.resize(a.result.action == Action::kAnswer ? a.result.len : 0);
  if (a.msg.empty()) return a;
  uint16_t ttls[512];
  const dns::ParseError e = dns::parse_response(a.msg.data(), a.msg.size(), &a.r, ttls, 512);
  EXPECT_EQ(e, dns::ParseError::kOk) << dns::to_string(e);
  if (e != dns::ParseError::kOk) return a;
  a.parsed = true;
  dns::RecordReader reader(a.msg.data(), a.msg.size());
  dns::Record rec;
  while (reader.next(&rec)) {
    if (rec.type == dns::kTypeOPT) continue;
    Rec out{rec.section, name_at(a.msg, rec.name_offset), rec.type, rec.ttl,
            Bytes(a.msg.begin() + rec.rdata_offset, a.msg.begin() + rec.rdata_offset + rec.rdlength), ""};
    if (rec.type == dns::kTypeCNAME || rec.type == dns::kTypePTR || rec.type == dns::kTypeSOA) {
      out.target = name_at(a.msg, rec.rdata_offset);
    }
    a.records.push_back(out);
  }
  EXPECT_EQ(reader.error(), dns::ParseError::kOk);
  return a;
}

}  // namespace dotgate::local::test
