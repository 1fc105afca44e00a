// Tests for dns/message.h: RecordReader and parse_response.
#include "dns/message.h"

#include <gtest/gtest.h>

#include "dns_test_util.h"

#include <cstddef>
#include <cstdint>
#include <ostream>
#include <string_view>
#include <vector>

#include "dns/errors.h"
#include "dns/wire.h"

namespace dotgate::dns {
namespace {

using namespace testutil;  // Bytes, Msg, wire_name, pointer, cat, be32, option

constexpr uint16_t kResp = kFlagQR | kFlagRD | kFlagRA;
constexpr size_t kQEnd = 12 + 17 + 4;  // after "www.example.com" A IN
constexpr size_t kExampleCom = 16;     // "example.com" inside the question name

// SOA RDATA: MNAME, RNAME, SERIAL, REFRESH, RETRY, EXPIRE, MINIMUM.
Bytes soa_rdata(const Bytes& mname, const Bytes& rname, uint32_t minimum) {
  return cat({mname, rname, be32(2024010101), be32(7200), be32(3600), be32(1209600),
              be32(minimum)});
}

// A response with records in every section:
//   answer:     www CNAME web.example.com (300), web A 192.0.2.1 (60)
//   authority:  example.com NS ns1.example.com (86400)
//   additional: OPT (1232, DO), ns1 A 192.0.2.53 (TTL 2^31 -> read as 0)
struct Sample {
  Msg m;
  size_t rr_start[5];
  size_t rdata[5];
};

Sample sample_response() {
  Sample s;
  Msg& m = s.m;
  m.header(0xabcd, kResp, 1, 2, 1, 2).question("www.example.com", kTypeA);
  s.rr_start[0] = m.size();
  s.rdata[0] = m.size() + 12;
  m.rr(pointer(12), kTypeCNAME, kClassIN, 300, cat({{3, 'w', 'e', 'b'}, pointer(kExampleCom)}));
  s.rr_start[1] = m.size();
  s.rdata[1] = m.size() + 12;
  m.rr(pointer(s.rdata[0]), kTypeA, kClassIN, 60, {192, 0, 2, 1});
  s.rr_start[2] = m.size();
  s.rdata[2] = m.size() + 12;
  m.rr(pointer(kExampleCom), kTypeNS, kClassIN, 86400,
       cat({{3, 'n', 's', '1'}, pointer(kExampleCom)}));
  s.rr_start[3] = m.size();
  s.rdata[3] = m.size() + 11;
  m.opt(1232, kEdnsDoBit);
  s.rr_start[4] = m.size();
  s.rdata[4] = m.size() + 12;
  m.rr(pointer(s.rdata[2]), kTypeA, kClassIN, 0x80000000u, {192, 0, 2, 53});
  return s;
}

ParseError parse(const Bytes& msg, Response* r, uint16_t* offs = nullptr, size_t max = 0,
                 size_t len = SIZE_MAX) {
  if (len == SIZE_MAX) len = msg.size();
  const Bytes copy(msg.begin(), msg.begin() + static_cast<std::ptrdiff_t>(len));
  return parse_response(copy.data(), copy.size(), r, offs, max);
}

// ---------------------------------------------------------------------------------------
// RecordReader

TEST(RecordReader, IteratesAllSections) {
  const Sample s = sample_response();
  const Bytes& msg = s.m.b;
  RecordReader reader(msg.data(), msg.size());
  ASSERT_EQ(reader.error(), ParseError::kOk);
  EXPECT_EQ(reader.question_end(), kQEnd);
  EXPECT_EQ(reader.position(), kQEnd);

  struct Want {
    Section section;
    uint16_t type;
    uint16_t rclass;
    uint32_t ttl;
    uint16_t rdlength;
  };
  const Want want[] = {
      {Section::kAnswer, kTypeCNAME, kClassIN, 300, 6},
      {Section::kAnswer, kTypeA, kClassIN, 60, 4},
      {Section::kAuthority, kTypeNS, kClassIN, 86400, 6},
      {Section::kAdditional, kTypeOPT, 1232, kEdnsDoBit, 0},
      {Section::kAdditional, kTypeA, kClassIN, 0x80000000u, 4},
  };
  Record rr;
  for (size_t i = 0; i < 5; ++i) {
    SCOPED_TRACE(i);
    ASSERT_TRUE(reader.next(&rr));
    EXPECT_EQ(rr.section, want[i].section);
    EXPECT_EQ(rr.type, want[i].type);
    EXPECT_EQ(rr.rclass, want[i].rclass);
    EXPECT_EQ(rr.ttl, want[i].ttl);
    EXPECT_EQ(rr.rdlength, want[i].rdlength);
    EXPECT_EQ(rr.name_offset, s.rr_start[i]);
    EXPECT_EQ(rr.rdata_offset, s.rdata[i]);
    EXPECT_EQ(rr.ttl_offset, rr.rdata_offset - 6);
    EXPECT_EQ(load_u32(msg.data() + rr.ttl_offset), want[i].ttl);
    EXPECT_EQ(load_u16(msg.data() + rr.rdata_offset - 2), want[i].rdlength);
    EXPECT_EQ(reader.position(), size_t{rr.rdata_offset} + rr.rdlength);
  }
  EXPECT_EQ(msg[s.rdata[1]], 192);
  EXPECT_FALSE(reader.next(&rr));
  EXPECT_EQ(reader.error(), ParseError::kOk);
  EXPECT_EQ(reader.position(), msg.size());
  EXPECT_FALSE(reader.next(&rr));
  EXPECT_EQ(reader.error(), ParseError::kOk);
}

TEST(RecordReader, EmptySectionsSkipped) {
  Msg m;
  m.header(1, kResp, 1, 0, 0, 1).question("www.example.com", kTypeA).opt(512, 0);
  RecordReader reader(m.b.data(), m.size());
  Record rr;
  ASSERT_TRUE(reader.next(&rr));
  EXPECT_EQ(rr.section, Section::kAdditional);
  EXPECT_EQ(rr.type, kTypeOPT);
  EXPECT_FALSE(reader.next(&rr));
  EXPECT_EQ(reader.error(), ParseError::kOk);

  Msg auth;
  auth.header(1, kResp, 1, 0, 1, 0)
      .question("www.example.com", kTypeA)
      .rr(pointer(kExampleCom), kTypeNS, kClassIN, 5, wire_name("ns.example"));
  RecordReader r2(auth.b.data(), auth.size());
  ASSERT_TRUE(r2.next(&rr));
  EXPECT_EQ(rr.section, Section::kAuthority);
  EXPECT_EQ(rr.ttl, 5u);
  EXPECT_FALSE(r2.next(&rr));
  EXPECT_EQ(r2.error(), ParseError::kOk);
}

TEST(RecordReader, NoQuestionAndMultipleQuestions) {
  Msg none;
  none.header(1, kResp, 0, 1, 0, 0).rr(wire_name("a"), kTypeA, kClassIN, 1, {1, 2, 3, 4});
  RecordReader r0(none.b.data(), none.size());
  EXPECT_EQ(r0.question_end(), kHeaderSize);
  Record rr;
  ASSERT_TRUE(r0.next(&rr));
  EXPECT_EQ(rr.name_offset, kHeaderSize);

  Msg two;
  two.header(1, kResp, 2, 0, 0, 0).question("a.example", kTypeA).question("b.example", kTypeAAAA);
  RecordReader r2(two.b.data(), two.size());
  EXPECT_EQ(r2.error(), ParseError::kOk);
  EXPECT_EQ(r2.question_end(), two.size());
  EXPECT_FALSE(r2.next(&rr));
}

TEST(RecordReader, ConstructorErrors) {
  Record rr;
  {
    const Bytes shorty(11, 0);
    RecordReader r(shorty.data(), shorty.size());
    EXPECT_EQ(r.error(), ParseError::kTooShort);
    EXPECT_FALSE(r.next(&rr));
  }
  {
    Msg m;
    m.header(1, kResp, 1, 0, 0, 0).raw(wire_name("example.com")).u16(kTypeA).u8(0);
    RecordReader r(m.b.data(), m.size());
    EXPECT_EQ(r.error(), ParseError::kTruncatedQuestion);
    EXPECT_FALSE(r.next(&rr));
    EXPECT_EQ(r.error(), ParseError::kTruncatedQuestion);
  }
  {
    Msg m;
    m.header(1, kResp, 1, 0, 0, 0).raw({7, 'e', 'x'});
    RecordReader r(m.b.data(), m.size());
    EXPECT_EQ(r.error(), ParseError::kTruncatedName);
  }
  {
    Bytes big(kMaxMessage + 1, 0);
    RecordReader r(big.data(), big.size());
    EXPECT_EQ(r.error(), ParseError::kTrailingData);
  }
}

TEST(RecordReader, StickyError) {
  Msg m;
  m.header(1, kResp, 1, 3, 0, 0)
      .question("www.example.com", kTypeA)
      .rr(pointer(12), kTypeA, kClassIN, 1, {1, 2, 3, 4})
      .raw(pointer(12))
      .u16(kTypeA)
      .u16(kClassIN)
      .u32(1)
      .u16(10)
      .raw({1, 2, 3});  // RDLENGTH 10, 3 bytes present
  RecordReader reader(m.b.data(), m.size());
  Record rr;
  ASSERT_TRUE(reader.next(&rr));
  const size_t pos = reader.position();
  EXPECT_FALSE(reader.next(&rr));
  EXPECT_EQ(reader.error(), ParseError::kTruncatedRecord);
  EXPECT_EQ(reader.position(), pos);
  EXPECT_FALSE(reader.next(&rr));
  EXPECT_EQ(reader.error(), ParseError::kTruncatedRecord);
}

TEST(RecordReader, BadOwnerNameAndTruncatedFixedPart) {
  Record rr;
  {
    Msg m;
    m.header(1, kResp, 1, 1, 0, 0).question("www.example.com", kTypeA);
    m.raw(pointer(kQEnd + 4)).u16(kTypeA).u16(1).u32(0).u16(0);  // forward pointer
    RecordReader reader(m.b.data(), m.size());
    EXPECT_FALSE(reader.next(&rr));
    EXPECT_EQ(reader.error(), ParseError::kBadPointer);
  }
  {
    Msg m;
    m.header(1, kResp, 1, 1, 0, 0).question("www.example.com", kTypeA);
    m.rr(pointer(12), kTypeA, kClassIN, 1, {1, 2, 3, 4});
    for (size_t len = kQEnd; len < m.size(); ++len) {
      const Bytes copy(m.b.begin(), m.b.begin() + static_cast<std::ptrdiff_t>(len));
      RecordReader reader(copy.data(), copy.size());
      EXPECT_FALSE(reader.next(&rr)) << len;
      EXPECT_EQ(reader.error(), len < kQEnd + 2 ? ParseError::kTruncatedName
                                                : ParseError::kTruncatedRecord)
          << len;
    }
  }
}

// ---------------------------------------------------------------------------------------
// parse_response

TEST(ParseResponse, SampleFields) {
  const Sample s = sample_response();
  Response r;
  uint16_t offs[8];
  ASSERT_EQ(parse(s.m.b, &r, offs, 8), ParseError::kOk);
  EXPECT_EQ(r.id, 0xabcd);
  EXPECT_EQ(r.flags, kResp);
  EXPECT_EQ(r.rcode, 0);
  EXPECT_EQ(r.qdcount, 1);
  EXPECT_EQ(r.ancount, 2);
  EXPECT_EQ(r.nscount, 1);
  EXPECT_EQ(r.arcount, 2);
  EXPECT_EQ(r.qname_len, 17);
  EXPECT_EQ(r.qtype, kTypeA);
  EXPECT_EQ(r.qclass, kClassIN);
  EXPECT_EQ(r.question_end, kQEnd);
  EXPECT_TRUE(r.has_edns);
  EXPECT_TRUE(r.do_bit);
  EXPECT_EQ(r.udp_size, 1232);
  EXPECT_EQ(r.opt_offset, s.rr_start[3]);
  EXPECT_EQ(r.opt_length, 11);
  EXPECT_FALSE(r.has_keepalive);
  EXPECT_EQ(r.min_ttl, 0u);  // the glue's TTL 2^31 is read as 0
  EXPECT_FALSE(r.has_soa);
  EXPECT_TRUE(r.answer_has_qtype);
  EXPECT_EQ(r.ttl_count, 4);  // not the OPT
  EXPECT_FALSE(r.ttl_overflow);
  EXPECT_EQ(offs[0], s.rdata[0] - 6);
  EXPECT_EQ(offs[1], s.rdata[1] - 6);
  EXPECT_EQ(offs[2], s.rdata[2] - 6);
  EXPECT_EQ(offs[3], s.rdata[4] - 6);
}

TEST(ParseResponse, MinTtl) {
  Msg m;
  m.header(1, kResp, 1, 3, 0, 0)
      .question("www.example.com", kTypeA)
      .rr(pointer(12), kTypeA, kClassIN, 3600, {1, 1, 1, 1})
      .rr(pointer(12), kTypeA, kClassIN, 120, {2, 2, 2, 2})
      .rr(pointer(12), kTypeA, kClassIN, 0x7fffffffu, {3, 3, 3, 3});
  Response r;
  uint16_t offs[3];
  ASSERT_EQ(parse(m.b, &r, offs, 3), ParseError::kOk);
  EXPECT_EQ(r.min_ttl, 120u);
  EXPECT_EQ(r.ttl_count, 3);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(offs[i], kQEnd + 6 + 16 * i) << i;
}

TEST(ParseResponse, TtlWithHighBitReadAsZero) {
  for (uint32_t ttl : {0x80000000u, 0xffffffffu, 0x80000001u}) {
    Msg m;
    m.header(1, kResp, 1, 2, 0, 0)
        .question("www.example.com", kTypeA)
        .rr(pointer(12), kTypeA, kClassIN, 500, {1, 1, 1, 1})
        .rr(pointer(12), kTypeA, kClassIN, ttl, {2, 2, 2, 2});
    Response r;
    uint16_t offs[2];
    ASSERT_EQ(parse(m.b, &r, offs, 2), ParseError::kOk);
    EXPECT_EQ(r.min_ttl, 0u) << ttl;
  }
  EXPECT_EQ(sane_ttl(0x7fffffffu), 0x7fffffffu);
  EXPECT_EQ(sane_ttl(0x80000000u), 0u);
  EXPECT_EQ(sane_ttl(0), 0u);
}

TEST(ParseResponse, OptTtlIgnoredForMinTtl) {
  Msg m;
  m.header(1, kResp, 1, 1, 0, 1)
      .question("www.example.com", kTypeA)
      .rr(pointer(12), kTypeA, kClassIN, 900, {1, 1, 1, 1})
      .opt(1232, 0);  // OPT TTL 0 must not pull min_ttl down
  Response r;
  uint16_t offs[4];
  ASSERT_EQ(parse(m.b, &r, offs, 4), ParseError::kOk);
  EXPECT_EQ(r.min_ttl, 900u);
  EXPECT_EQ(r.ttl_count, 1);
}

TEST(ParseResponse, NoRecords) {
  Msg m;
  m.header(7, kResp | kServFail, 1, 0, 0, 0).question("www.example.com", kTypeA);
  Response r;
  ASSERT_EQ(parse(m.b, &r), ParseError::kOk);
  EXPECT_EQ(r.min_ttl, UINT32_MAX);
  EXPECT_EQ(r.ttl_count, 0);
  EXPECT_EQ(r.rcode, kServFail);
  EXPECT_FALSE(r.answer_has_qtype);
  EXPECT_FALSE(r.has_edns);
}

TEST(ParseResponse, NoQuestion) {
  Msg m;
  m.header(7, kResp | kFormErr, 0, 0, 0, 1).opt(1232, 0);
  Response r;
  ASSERT_EQ(parse(m.b, &r), ParseError::kOk);
  EXPECT_EQ(r.qdcount, 0);
  EXPECT_EQ(r.question_end, kHeaderSize);
  EXPECT_EQ(r.qname_len, 0);
  EXPECT_EQ(r.rcode, kFormErr);
  EXPECT_TRUE(r.has_edns);
}

TEST(ParseResponse, ResetsOutputBetweenCalls) {
  Response r;
  uint16_t offs[8];
  ASSERT_EQ(parse(sample_response().m.b, &r, offs, 8), ParseError::kOk);
  Msg m;
  m.header(2, kResp, 1, 0, 0, 0).question("www.example.com", kTypeA);
  ASSERT_EQ(parse(m.b, &r, offs, 8), ParseError::kOk);
  EXPECT_FALSE(r.has_edns);
  EXPECT_FALSE(r.do_bit);
  EXPECT_EQ(r.ttl_count, 0);
  EXPECT_EQ(r.min_ttl, UINT32_MAX);
  EXPECT_FALSE(r.answer_has_qtype);
}

TEST(ParseResponse, QrClearRejected) {
  const Sample s = sample_response();
  Bytes msg = s.m.b;
  msg[2] &= 0x7f;
  Response r;
  uint16_t offs[8];
  EXPECT_EQ(parse(msg, &r, offs, 8), ParseError::kQrClear);
}

TEST(ParseResponse, TwoQuestionsRejected) {
  Msg m;
  m.header(1, kResp, 2, 0, 0, 0).question("a.example", kTypeA).question("b.example", kTypeA);
  Response r;
  EXPECT_EQ(parse(m.b, &r), ParseError::kQdcountNotOne);
}

TEST(ParseResponse, TooShortAndTruncatedAtEveryByte) {
  const Sample s = sample_response();
  Response r;
  uint16_t offs[8];
  for (size_t len = 0; len < s.m.size(); ++len) {
    const ParseError e = parse(s.m.b, &r, offs, 8, len);
    EXPECT_NE(e, ParseError::kOk) << len;
    if (len < kHeaderSize) {
      EXPECT_EQ(e, ParseError::kTooShort) << len;
    }
  }
}

// SOA in the authority section of a negative answer, MNAME/RNAME compressed.
Msg negative_response(uint32_t soa_ttl, uint32_t minimum, uint16_t rcode = kNxDomain) {
  Msg m;
  m.header(1, static_cast<uint16_t>(kResp | rcode), 1, 0, 1, 0).question("www.example.com", kTypeA);
  const Bytes mname = cat({{3, 'n', 's', '1'}, pointer(kExampleCom)});
  const Bytes rname =
      cat({{10, 'h', 'o', 's', 't', 'm', 'a', 's', 't', 'e', 'r'}, pointer(kExampleCom)});
  m.rr(pointer(kExampleCom), kTypeSOA, kClassIN, soa_ttl, soa_rdata(mname, rname, minimum));
  return m;
}

TEST(ParseResponse, SoaNegativeTtlIsMinOfTtlAndMinimum) {
  struct Case {
    uint32_t ttl, minimum, want;
  };
  const Case cases[] = {
      {3600, 300, 300},
      {60, 300, 60},
      {300, 300, 300},
      {0, 300, 0},
      {3600, 0, 0},
      {0x80000000u, 300, 0},  // TTL >= 2^31 reads as 0
      {500, 0xffffffffu, 500},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.ttl);
    SCOPED_TRACE(c.minimum);
    const Msg m = negative_response(c.ttl, c.minimum);
    Response r;
    uint16_t offs[2];
    ASSERT_EQ(parse(m.b, &r, offs, 2), ParseError::kOk);
    EXPECT_TRUE(r.has_soa);
    EXPECT_EQ(r.negative_ttl, c.want);
    EXPECT_EQ(r.rcode, kNxDomain);
    EXPECT_FALSE(r.answer_has_qtype);
    EXPECT_EQ(r.ttl_count, 1);
    EXPECT_EQ(offs[0], kQEnd + 6);
  }
}

TEST(ParseResponse, SoaWithUncompressedNames) {
  Msg m;
  m.header(1, kResp, 1, 0, 1, 0).question("www.example.com", kTypeA);
  m.rr(wire_name("example.com"), kTypeSOA, kClassIN, 1000,
       soa_rdata(wire_name("ns1.example.com"), wire_name("root.example.com"), 42));
  Response r;
  ASSERT_EQ(parse(m.b, &r), ParseError::kOk);
  EXPECT_TRUE(r.has_soa);
  EXPECT_EQ(r.negative_ttl, 42u);
}

TEST(ParseResponse, SoaOnlyCountsInAuthority) {
  Msg m;
  m.header(1, kResp, 1, 1, 0, 0).question("example.com", kTypeSOA);
  m.rr(pointer(12), kTypeSOA, kClassIN, 1000,
       soa_rdata(wire_name("ns1.example.com"), wire_name("root.example.com"), 42));
  Response r;
  ASSERT_EQ(parse(m.b, &r), ParseError::kOk);
  EXPECT_FALSE(r.has_soa);
  EXPECT_EQ(r.negative_ttl, 0u);
  EXPECT_TRUE(r.answer_has_qtype);
}

TEST(ParseResponse, FirstSoaWins) {
  Msg m;
  m.header(1, kResp, 1, 0, 2, 0).question("www.example.com", kTypeA);
  m.rr(pointer(kExampleCom), kTypeSOA, kClassIN, 1000, soa_rdata({0}, {0}, 100));
  m.rr(pointer(kExampleCom), kTypeSOA, kClassIN, 1000, soa_rdata({0}, {0}, 5));
  Response r;
  ASSERT_EQ(parse(m.b, &r), ParseError::kOk);
  EXPECT_EQ(r.negative_ttl, 100u);
}

TEST(ParseResponse, BadSoaRdata) {
  const Bytes good_names = cat({wire_name("ns1.example.com"), wire_name("root.example.com")});
  const Bytes fixed = cat({be32(1), be32(2), be32(3), be32(4), be32(5)});
  const Bytes bad[] = {
      cat({good_names, Bytes(fixed.begin(), fixed.end() - 1)}),  // 19 fixed bytes
      cat({good_names, fixed, {0}}),                             // 21 fixed bytes
      Bytes{},                                                   // empty
      wire_name("ns1.example.com"),                              // no RNAME
      cat({{3, 'n', 's'}}),                                      // MNAME runs past RDATA
      cat({pointer(0x3fff), wire_name("r"), fixed}),             // forward pointer
      cat({{0x40, 'x'}, wire_name("r"), fixed}),                 // bad label type
  };
  for (size_t i = 0; i < std::size(bad); ++i) {
    Msg m;
    m.header(1, kResp, 1, 0, 1, 0).question("www.example.com", kTypeA);
    m.rr(pointer(kExampleCom), kTypeSOA, kClassIN, 1000, bad[i]);
    Response r;
    EXPECT_EQ(parse(m.b, &r), ParseError::kBadRdata) << i;
  }
}

TEST(ParseResponse, SoaNameMayNotRunIntoNextRecord) {
  // The RNAME's root label is outside the SOA's RDATA (in the next record's bytes).
  Msg m;
  m.header(1, kResp, 1, 0, 1, 1).question("www.example.com", kTypeA);
  const Bytes rdata = cat({{0}, {1, 'r'}});  // MNAME root, RNAME "r" without its root label
  m.rr(pointer(kExampleCom), kTypeSOA, kClassIN, 1000, rdata);
  m.opt(1232, 0);  // starts with a 0 byte
  Response r;
  EXPECT_EQ(parse(m.b, &r), ParseError::kBadRdata);
}

TEST(ParseResponse, SoaRdataEndingMidNameAtEndOfMessage) {
  // The SOA is the last record and its RDATA (= the message) ends inside RNAME: the name
  // walk must stop at the RDATA end (ASan run: an exactly-sized buffer).
  Msg m;
  m.header(1, kResp, 1, 0, 1, 0).question("www.example.com", kTypeA);
  m.rr(pointer(kExampleCom), kTypeSOA, kClassIN, 1000, {0, 3, 'a', 'b', 'c'});
  Response r;
  EXPECT_EQ(parse(m.b, &r), ParseError::kBadRdata);
}

TEST(ParseResponse, OptFields) {
  Msg m;
  m.header(1, kResp | kNxDomain, 1, 0, 0, 1)
      .question("www.example.com", kTypeA)
      .opt(4096, 0x12000000u | kEdnsDoBit, option(kOptTcpKeepalive, {0x01, 0x2c}));
  Response r;
  ASSERT_EQ(parse(m.b, &r), ParseError::kOk);
  EXPECT_TRUE(r.has_edns);
  EXPECT_TRUE(r.do_bit);
  EXPECT_EQ(r.udp_size, 4096);
  EXPECT_EQ(r.rcode, 0x123);  // ext 0x12 << 4 | header 3
  EXPECT_TRUE(r.has_keepalive);
  EXPECT_EQ(r.keepalive_timeout, 300);
  EXPECT_EQ(r.opt_offset, kQEnd);
  EXPECT_EQ(r.opt_length, 11 + 6);
  EXPECT_EQ(r.ttl_count, 0);
  EXPECT_EQ(r.min_ttl, UINT32_MAX);
}

TEST(ParseResponse, BadversRcode) {
  Msg m;
  m.header(1, kResp, 1, 0, 0, 1).question("www.example.com", kTypeA).opt(1232, 0x01000000u);
  Response r;
  ASSERT_EQ(parse(m.b, &r), ParseError::kOk);
  EXPECT_EQ(r.rcode, kBadVers);
  EXPECT_FALSE(r.do_bit);
}

TEST(ParseResponse, KeepaliveVariants) {
  {
    Msg m;
    m.header(1, kResp, 1, 0, 0, 1)
        .question("www.example.com", kTypeA)
        .opt(1232, 0, cat({option(kOptPadding, {0, 0, 0}), option(kOptTcpKeepalive, {})}));
    Response r;
    ASSERT_EQ(parse(m.b, &r), ParseError::kOk);
    EXPECT_TRUE(r.has_keepalive);
    EXPECT_EQ(r.keepalive_timeout, 0);
  }
  for (const Bytes& data : {Bytes{1}, Bytes{0, 1, 2}, Bytes{0, 0, 0, 0}}) {
    Msg m;
    m.header(1, kResp, 1, 0, 0, 1)
        .question("www.example.com", kTypeA)
        .opt(1232, 0, option(kOptTcpKeepalive, data));
    Response r;
    EXPECT_EQ(parse(m.b, &r), ParseError::kBadEdnsOption) << data.size();
  }
}

TEST(ParseResponse, BadOptionLengths) {
  for (const Bytes& rdata : {Bytes{0}, Bytes{0, 10, 0}, Bytes{0, 10, 0, 5, 1, 2, 3, 4},
                             cat({option(kOptCookie, Bytes(8, 1)), {0, 12}})}) {
    Msg m;
    m.header(1, kResp, 1, 0, 0, 1).question("www.example.com", kTypeA).opt(1232, 0, rdata);
    Response r;
    EXPECT_EQ(parse(m.b, &r), ParseError::kBadEdnsOption) << rdata.size();
  }
}

TEST(ParseResponse, OptOutsideAdditionalRejected) {
  {
    Msg m;
    m.header(1, kResp, 1, 1, 0, 0).question("www.example.com", kTypeA).opt(1232, 0);
    Response r;
    EXPECT_EQ(parse(m.b, &r), ParseError::kOptOutsideAdditional);
  }
  {
    Msg m;
    m.header(1, kResp, 1, 0, 1, 0).question("www.example.com", kTypeA).opt(1232, 0);
    Response r;
    EXPECT_EQ(parse(m.b, &r), ParseError::kOptOutsideAdditional);
  }
}

TEST(ParseResponse, TwoOptsRejected) {
  Msg m;
  m.header(1, kResp, 1, 0, 0, 2).question("www.example.com", kTypeA).opt(1232, 0).opt(512, 0);
  Response r;
  EXPECT_EQ(parse(m.b, &r), ParseError::kMultipleOpt);
}

TEST(ParseResponse, OptNotRootRejected) {
  Msg m;
  m.header(1, kResp, 1, 0, 0, 1)
      .question("www.example.com", kTypeA)
      .rr(pointer(12), kTypeOPT, 1232, 0, {});
  Response r;
  EXPECT_EQ(parse(m.b, &r), ParseError::kOptNotRoot);
}

TEST(ParseResponse, AnswerHasQtype) {
  auto has_qtype = [](uint16_t qtype, std::initializer_list<uint16_t> answer_types,
                      uint16_t authority_type = 0) {
    Msg m;
    m.header(1, kResp, 1, static_cast<uint16_t>(answer_types.size()), authority_type ? 1 : 0, 0)
        .question("www.example.com", qtype);
    for (uint16_t t : answer_types) {
      m.rr(pointer(12), t, kClassIN, 60, t == kTypeCNAME ? Bytes{1, 'x', 0} : Bytes{1, 2, 3, 4});
    }
    if (authority_type) m.rr(pointer(12), authority_type, kClassIN, 60, {1, 2, 3, 4});
    Response r;
    EXPECT_EQ(parse(m.b, &r), ParseError::kOk);
    return r.answer_has_qtype;
  };
  EXPECT_TRUE(has_qtype(kTypeA, {kTypeA}));
  EXPECT_TRUE(has_qtype(kTypeA, {kTypeCNAME, kTypeA}));
  EXPECT_FALSE(has_qtype(kTypeA, {kTypeCNAME}));
  EXPECT_FALSE(has_qtype(kTypeAAAA, {kTypeA}));
  EXPECT_FALSE(has_qtype(kTypeA, {}, kTypeA));  // only in authority
  EXPECT_TRUE(has_qtype(kTypeANY, {kTypeTXT}));
  EXPECT_FALSE(has_qtype(kTypeANY, {}));
}

TEST(ParseResponse, TtlOffsetOverflow) {
  Msg m;
  m.header(1, kResp, 1, 3, 0, 1).question("www.example.com", kTypeA);
  for (int i = 0; i < 4; ++i) m.rr(pointer(12), kTypeA, kClassIN, 100u + i, {1, 2, 3, 4});
  Response r;
  uint16_t offs[4] = {0, 0, 0, 0};
  ASSERT_EQ(parse(m.b, &r, offs, 2), ParseError::kOk);
  EXPECT_EQ(r.ttl_count, 2);
  EXPECT_TRUE(r.ttl_overflow);
  EXPECT_EQ(offs[0], kQEnd + 6);
  EXPECT_EQ(offs[1], kQEnd + 22);
  EXPECT_EQ(offs[2], 0);  // untouched
  EXPECT_EQ(r.min_ttl, 100u);  // still computed over every record

  ASSERT_EQ(parse(m.b, &r, offs, 4), ParseError::kOk);
  EXPECT_EQ(r.ttl_count, 4);
  EXPECT_FALSE(r.ttl_overflow);

  ASSERT_EQ(parse(m.b, &r, nullptr, 0), ParseError::kOk);
  EXPECT_EQ(r.ttl_count, 0);
  EXPECT_TRUE(r.ttl_overflow);
}

TEST(ParseResponse, TrailingDataRejected) {
  Bytes msg = sample_response().m.b;
  msg.push_back(0);
  Response r;
  uint16_t offs[8];
  EXPECT_EQ(parse(msg, &r, offs, 8), ParseError::kTrailingData);
}

TEST(ParseResponse, RecordErrorsPropagate) {
  Msg m;
  m.header(1, kResp, 1, 2, 0, 0)
      .question("www.example.com", kTypeA)
      .rr(pointer(12), kTypeA, kClassIN, 1, {1, 2, 3, 4});
  Response r;
  EXPECT_EQ(parse(m.b, &r), ParseError::kTruncatedName);
  m.raw(pointer(12)).u16(kTypeA).u16(kClassIN).u32(1).u16(4).raw({1, 2});
  EXPECT_EQ(parse(m.b, &r), ParseError::kTruncatedRecord);
}

TEST(ParseResponse, CompressedQuestionRejected) {
  struct Case {
    uint16_t id;
    Bytes qname;
  };
  // Pointers back into the header. The last byte of the pointer can be 0 (offset 0), which
  // must not be mistaken for a root label. A question name has nothing before it but the
  // header, so every pointer in it is a bad pointer.
  const Case cases[] = {
      {0x1200, pointer(1)},                        // -> ID low byte 0x00: root
      {0x00ab, pointer(0)},                        // -> ID high byte 0x00: root
      {0x00ab, cat({{1, 'a'}, pointer(0)})},       // "a" + root via offset 0
      {0x0000, cat({{3, 'w', 'w', 'w'}, pointer(1)})},
  };
  for (size_t i = 0; i < std::size(cases); ++i) {
    Msg m;
    m.header(cases[i].id, kResp, 1, 0, 0, 0).raw(cases[i].qname).u16(kTypeA).u16(kClassIN);
    Response r;
    EXPECT_EQ(parse(m.b, &r), ParseError::kBadPointer) << i;
  }
}

TEST(ParseResponse, OversizedRejected) {
  Bytes big(kMaxMessage + 1, 0);
  big[2] = 0x80;
  Response r;
  EXPECT_EQ(parse(big, &r), ParseError::kTrailingData);
}

}  // namespace
}  // namespace dotgate::dns

namespace dotgate::dns {
namespace {

// A name may not be spelled with the bytes of a record's TYPE..RDLENGTH: the cache ages
// TTLs in place, which would silently change such a name (found by fuzz_cache_path).
TEST(ParseResponse, PointerThroughFixedFieldsRejected) {
  for (size_t into : {size_t{0}, size_t{4}, size_t{9}}) {  // TYPE, TTL, RDLENGTH
    Msg m;
    m.header(1, kResp, 1, 2, 0, 0).question("www.example.com", kTypeA);
    const size_t first = m.size();
    m.rr(pointer(12), kTypeA, kClassIN, 300, {192, 0, 2, 1});
    const size_t fixed = first + 2;  // after the 2-byte owner pointer
    m.rr(pointer(fixed + into), kTypeA, kClassIN, 300, {192, 0, 2, 2});
    Response r;
    EXPECT_EQ(parse(m.b, &r), ParseError::kBadPointer) << into;
  }
}

TEST(ParseResponse, LabelRunningIntoFixedFieldsRejected) {
  // RDATA "\x03web" followed by a 20-byte label that would swallow the next record's TTL.
  Msg m;
  m.header(1, kResp, 1, 3, 0, 0).question("www.example.com", kTypeA);
  const size_t cname_rdata = m.size() + 12;
  m.rr(pointer(12), kTypeTXT, kClassIN, 300, {3, 'w', 'e', 'b', 0x14, 0});
  m.rr(Bytes{0}, kTypeA, kClassIN, 0x3c, {192, 0, 2, 1});
  m.rr(pointer(cname_rdata), kTypeA, kClassIN, 300, {192, 0, 2, 2});
  Response r;
  EXPECT_EQ(parse(m.b, &r), ParseError::kBadPointer);
}

TEST(ParseResponse, QuestionPointingIntoItselfRejected) {
  // A label whose content byte is 0, then a pointer to that byte, which reads as the root
  // label: a valid walk through an earlier part of the same name (found by fuzz_cache_path).
  Msg m;
  m.header(1, kResp, 1, 0, 0, 0).raw({1, 'a', 1, 0}).raw(pointer(15)).u16(kTypeA).u16(kClassIN);
  Response r;
  EXPECT_EQ(parse(m.b, &r), ParseError::kCompressedQuestion);
}

TEST(ParseResponse, PointerIntoTheMiddleOfAQuestionLabelRejected) {
  // The cache rewrites the question name's spelling, so only its label boundaries are
  // stable targets: offset 13 is the 'w' of "www", read as a length octet of 0x77.
  for (size_t target : {size_t{13}, size_t{14}, size_t{17}}) {
    Msg m;
    m.header(1, kResp, 1, 1, 0, 0).question("www.example.com", kTypeA);
    m.rr(pointer(target), kTypeA, kClassIN, 300, {192, 0, 2, 1});
    Response r;
    EXPECT_EQ(parse(m.b, &r), ParseError::kBadPointer) << target;
  }
  for (size_t target : {size_t{12}, size_t{16}, size_t{24}, size_t{28}}) {  // label starts, root
    Msg m;
    m.header(1, kResp, 1, 1, 0, 0).question("www.example.com", kTypeA);
    m.rr(pointer(target), kTypeA, kClassIN, 300, {192, 0, 2, 1});
    Response r;
    EXPECT_EQ(parse(m.b, &r), ParseError::kOk) << target;
  }
}

TEST(ParseResponse, CompressedNameRunningPastItsPointerRejected) {
  // An owner pointer aims 2 bytes back; the 6-byte label found there runs over the pointer
  // and into the record's own TYPE/CLASS (found by fuzz_cache_path).
  Msg m;
  m.header(1, kResp, 1, 2, 0, 0).question("www.example.com", kTypeA);
  const size_t rdata = m.size() + 12;
  m.rr(pointer(12), kTypeTXT, kClassIN, 300, {1, 'e', 6, 0x10});
  m.rr(pointer(rdata + 2), kTypeA, kClassIN, 60, {192, 0, 2, 1});
  Response r;
  EXPECT_EQ(parse(m.b, &r), ParseError::kBadPointer);
}

TEST(ParseResponse, NamesInsideRdataAreCheckedToo) {
  // A CNAME whose target points at its own TTL (bytes 00 01 00 00 read as a name today,
  // as a pointer once the TTL is aged): refused (found in review).
  {
    Msg m;
    m.header(1, kResp, 1, 1, 0, 0).question("www.example.com", kTypeA);
    const size_t ttl_at = m.size() + 2 + 4;
    m.rr(pointer(12), kTypeCNAME, kClassIN, 65536, pointer(ttl_at + 2));
    Response r;
    EXPECT_EQ(parse(m.b, &r), ParseError::kBadRdata);
  }
  // MX: preference then a (compressed) exchange name, nothing after it.
  {
    Msg m;
    m.header(1, kResp, 1, 1, 0, 0).question("example.com", 15);
    m.rr(pointer(12), 15, kClassIN, 300, cat({{0, 10, 4, 'm', 'a', 'i', 'l'}, pointer(12)}));
    Response r;
    EXPECT_EQ(parse(m.b, &r), ParseError::kOk);
    Msg bad;
    bad.header(1, kResp, 1, 1, 0, 0).question("example.com", 15);
    bad.rr(pointer(12), 15, kClassIN, 300, cat({{0, 10}, pointer(12), {0}}));
    EXPECT_EQ(parse(bad.b, &r), ParseError::kBadRdata);  // a byte after the name
    Msg short_mx;
    short_mx.header(1, kResp, 1, 1, 0, 0).question("example.com", 15);
    short_mx.rr(pointer(12), 15, kClassIN, 300, {0});
    EXPECT_EQ(parse(short_mx.b, &r), ParseError::kBadRdata);
  }
  // Other types' RDATA is opaque: TXT bytes that look like a bad name are fine.
  {
    Msg m;
    m.header(1, kResp, 1, 1, 0, 0).question("example.com", kTypeTXT);
    m.rr(pointer(12), kTypeTXT, kClassIN, 300, {0xc0, 0xff, 0x7f});
    Response r;
    EXPECT_EQ(parse(m.b, &r), ParseError::kOk);
  }
}

TEST(ParseResponse, PointerIntoRdataNamesStillAccepted) {
  Sample s = sample_response();
  Response r;
  uint16_t offs[8];
  EXPECT_EQ(parse(s.m.b, &r, offs, 8), ParseError::kOk);
}

}  // namespace
}  // namespace dotgate::dns
