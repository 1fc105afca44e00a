// Tests for dns/builder.h: queries, error responses, OPT records and options, padding,
// truncation and TTL rewriting. Output is checked by parsing it back with parse_query /
// parse_response and by looking at the bytes.
#include "dns/builder.h"

#include <gtest/gtest.h>

#include "dns_test_util.h"

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <ostream>
#include <string_view>
#include <vector>

#include "dns/errors.h"
#include "dns/message.h"
#include "dns/query.h"
#include "dns/wire.h"

namespace dotgate::dns {
namespace {

using namespace testutil;  // Bytes, wire_name, pointer



// Appends a resource record to a message in `buf` at `len`, bumping the given count.
size_t add_rr(uint8_t* buf, size_t len, size_t count_off, const Bytes& owner, uint16_t type,
              uint32_t ttl, const Bytes& rdata) {
  std::memcpy(buf + len, owner.data(), owner.size());
  len += owner.size();
  store_u16(buf + len, type);
  store_u16(buf + len + 2, kClassIN);
  store_u32(buf + len + 4, ttl);
  store_u16(buf + len + 8, static_cast<uint16_t>(rdata.size()));
  len += 10;
  if (!rdata.empty()) std::memcpy(buf + len, rdata.data(), rdata.size());
  store_u16(buf + count_off, static_cast<uint16_t>(load_u16(buf + count_off) + 1));
  return len + rdata.size();
}

const Bytes kName = wire_name("www.example.com");
constexpr size_t kQEnd = 12 + 17 + 4;

// ---------------------------------------------------------------------------------------
// build_query

TEST(BuildQuery, WithoutEdnsRoundTrips) {
  uint8_t buf[512];
  const size_t len = build_query(buf, sizeof buf, 0x5151, kFlagRD | kFlagCD, kName.data(),
                                 kName.size(), kTypeAAAA, kClassIN, nullptr);
  ASSERT_EQ(len, kQEnd);
  Query q;
  ASSERT_EQ(parse_query(buf, len, &q), ParseError::kOk);
  EXPECT_EQ(q.id, 0x5151);
  EXPECT_EQ(q.flags, kFlagRD | kFlagCD);
  EXPECT_EQ(q.qtype, kTypeAAAA);
  EXPECT_EQ(q.qclass, kClassIN);
  EXPECT_EQ(q.question_end, kQEnd);
  EXPECT_FALSE(q.has_edns);
  EXPECT_EQ(Bytes(buf + 12, buf + 12 + kName.size()), kName);
  const HeaderView h{buf};
  EXPECT_EQ(h.qdcount(), 1);
  EXPECT_EQ(h.ancount(), 0);
  EXPECT_EQ(h.nscount(), 0);
  EXPECT_EQ(h.arcount(), 0);
}

TEST(BuildQuery, QrBitStripped) {
  uint8_t buf[512];
  const size_t len = build_query(buf, sizeof buf, 1, kFlagQR | kFlagRD, kName.data(),
                                 kName.size(), kTypeA, kClassIN, nullptr);
  ASSERT_NE(len, 0u);
  Query q;
  ASSERT_EQ(parse_query(buf, len, &q), ParseError::kOk);
  EXPECT_EQ(q.flags, kFlagRD);
}

TEST(BuildQuery, WithEdnsRoundTrips) {
  uint8_t buf[512];
  EdnsParams e;
  e.udp_size = 1400;
  e.do_bit = true;
  const size_t len = build_query(buf, sizeof buf, 9, kFlagRD, kName.data(), kName.size(),
                                 kTypeA, kClassIN, &e);
  ASSERT_EQ(len, kQEnd + 11);
  Query q;
  ASSERT_EQ(parse_query(buf, len, &q), ParseError::kOk);
  EXPECT_TRUE(q.has_edns);
  EXPECT_TRUE(q.do_bit);
  EXPECT_EQ(q.udp_size, 1400);
  EXPECT_EQ(q.edns_version, 0);
  EXPECT_EQ(q.opt_offset, kQEnd);
  EXPECT_EQ(q.opt_length, 11);
  EXPECT_EQ(q.key.bits, kKeyDO);
  EXPECT_EQ(HeaderView{buf}.arcount(), 1);

  e.do_bit = false;
  const size_t len2 = build_query(buf, sizeof buf, 9, kFlagRD, kName.data(), kName.size(),
                                  kTypeA, kClassIN, &e);
  ASSERT_EQ(parse_query(buf, len2, &q), ParseError::kOk);
  EXPECT_FALSE(q.do_bit);
}

TEST(BuildQuery, PaddedToBlock) {
  for (size_t name_len_target : {1u, 17u, 100u, 255u}) {
    // Build a name of the requested wire length out of short labels.
    Bytes name;
    while (name.size() + 1 < name_len_target) {
      const size_t room = name_len_target - 1 - name.size();
      const size_t label = std::min<size_t>(room - 1, 63);
      if (room < 2) break;
      name.push_back(static_cast<uint8_t>(label));
      name.insert(name.end(), label, 'p');
    }
    name.push_back(0);
    SCOPED_TRACE(name.size());
    uint8_t buf[1024];
    std::memset(buf, 0xaa, sizeof buf);  // so unwritten padding would show
    EdnsParams e;
    const size_t len = build_query(buf, sizeof buf, 3, kFlagRD, name.data(), name.size(), kTypeA,
                                   kClassIN, &e, 128);
    ASSERT_NE(len, 0u);
    EXPECT_EQ(len % 128, 0u);
    EXPECT_GE(len, 12 + name.size() + 4 + 11 + 4);
    EXPECT_LT(len, 12 + name.size() + 4 + 11 + 4 + 128);
    Query q;
    ASSERT_EQ(parse_query(buf, len, &q), ParseError::kOk);
    EXPECT_EQ(q.edns_options, kSawPadding);
    EXPECT_EQ(q.opt_length, len - q.question_end);
    // The option itself: code 12, length, zero bytes.
    const size_t opt_rdata = q.opt_offset + 11;
    EXPECT_EQ(load_u16(buf + q.opt_offset + 9), len - opt_rdata);
    EXPECT_EQ(load_u16(buf + opt_rdata), kOptPadding);
    const size_t pad = load_u16(buf + opt_rdata + 2);
    EXPECT_EQ(opt_rdata + 4 + pad, len);
    for (size_t i = opt_rdata + 4; i < len; ++i) EXPECT_EQ(buf[i], 0) << i;
  }
}

TEST(BuildQuery, PaddingStopsAtCap) {
  uint8_t buf[100];
  EdnsParams e;
  const size_t len = build_query(buf, sizeof buf, 3, kFlagRD, kName.data(), kName.size(), kTypeA,
                                 kClassIN, &e, 128);
  ASSERT_EQ(len, 100u);  // the next block (128) does not fit: pad to cap
  Query q;
  ASSERT_EQ(parse_query(buf, len, &q), ParseError::kOk);
  EXPECT_EQ(q.edns_options, kSawPadding);
}

TEST(BuildQuery, PaddingSkippedWhenOptionHeaderDoesNotFit) {
  uint8_t buf[kQEnd + 11 + 3];
  EdnsParams e;
  const size_t len = build_query(buf, sizeof buf, 3, kFlagRD, kName.data(), kName.size(), kTypeA,
                                 kClassIN, &e, 128);
  ASSERT_EQ(len, kQEnd + 11);  // unpadded but valid
  Query q;
  ASSERT_EQ(parse_query(buf, len, &q), ParseError::kOk);
  EXPECT_EQ(q.edns_options, 0);
}

TEST(BuildQuery, DoesNotFitOrBadName) {
  uint8_t buf[600];
  EdnsParams e;
  EXPECT_EQ(build_query(buf, kQEnd - 1, 1, 0, kName.data(), kName.size(), kTypeA, kClassIN,
                        nullptr),
            0u);
  EXPECT_EQ(build_query(buf, kQEnd, 1, 0, kName.data(), kName.size(), kTypeA, kClassIN, nullptr),
            kQEnd);
  EXPECT_EQ(build_query(buf, kQEnd + 10, 1, 0, kName.data(), kName.size(), kTypeA, kClassIN, &e),
            0u);
  EXPECT_EQ(build_query(buf, kQEnd + 11, 1, 0, kName.data(), kName.size(), kTypeA, kClassIN, &e),
            kQEnd + 11);
  EXPECT_EQ(build_query(buf, sizeof buf, 1, 0, kName.data(), 0, kTypeA, kClassIN, nullptr), 0u);
  const Bytes huge(256, 1);
  EXPECT_EQ(build_query(buf, sizeof buf, 1, 0, huge.data(), huge.size(), kTypeA, kClassIN,
                        nullptr),
            0u);
}

// ---------------------------------------------------------------------------------------
// build_error_response

struct ParsedQuery {
  Bytes wire;
  Query q;
  ParseError err;
};

ParsedQuery make_query(uint16_t flags, bool edns, bool do_bit, uint32_t opt_ttl_extra = 0) {
  ParsedQuery p;
  uint8_t buf[512];
  EdnsParams e;
  e.udp_size = 4096;
  e.do_bit = do_bit;
  size_t len = build_query(buf, sizeof buf, 0xbeef, flags, kName.data(), kName.size(),
                           kTypeMX, kClassIN, edns ? &e : nullptr);
  if (opt_ttl_extra != 0) {
    const size_t ttl_at = kQEnd + 5;
    store_u32(buf + ttl_at, load_u32(buf + ttl_at) | opt_ttl_extra);
  }
  p.wire.assign(buf, buf + len);
  p.err = parse_query(p.wire.data(), p.wire.size(), &p.q);
  return p;
}

struct Built {
  Bytes wire;
  Response r;
  ParseError err;
};

Built respond(const ParsedQuery& p, uint16_t rcode, uint16_t our_udp = 1232, size_t cap = 512) {
  Built b;
  b.wire.assign(cap, 0xcc);
  const size_t len = build_error_response(p.wire.data(), p.q, rcode, b.wire.data(), cap, our_udp);
  b.wire.resize(len);
  b.err = len ? parse_response(b.wire.data(), len, &b.r, nullptr, 0) : ParseError::kTooShort;
  return b;
}

TEST(BuildErrorResponse, EchoesQuestionForEachRcode) {
  for (uint16_t rcode : {kServFail, kRefused, kFormErr, kNotImp, kNxDomain, kNoError}) {
    SCOPED_TRACE(rcode);
    const ParsedQuery p = make_query(kFlagRD | kFlagCD, true, true);
    ASSERT_EQ(p.err, ParseError::kOk);
    const Built b = respond(p, rcode, 1232);
    ASSERT_EQ(b.err, ParseError::kOk);
    ASSERT_EQ(b.wire.size(), kQEnd + 11);
    EXPECT_EQ(b.r.id, 0xbeef);
    EXPECT_EQ(b.r.flags, kFlagQR | kFlagRD | kFlagCD | kFlagRA | rcode);
    EXPECT_EQ(b.r.rcode, rcode);
    EXPECT_EQ(b.r.qdcount, 1);
    EXPECT_EQ(b.r.ancount, 0);
    EXPECT_EQ(b.r.nscount, 0);
    EXPECT_EQ(b.r.arcount, 1);
    EXPECT_EQ(b.r.qtype, kTypeMX);
    EXPECT_EQ(b.r.qclass, kClassIN);
    EXPECT_EQ(Bytes(b.wire.begin() + 12, b.wire.begin() + kQEnd),
              Bytes(p.wire.begin() + 12, p.wire.begin() + kQEnd));
    EXPECT_TRUE(b.r.has_edns);
    EXPECT_TRUE(b.r.do_bit);
    EXPECT_EQ(b.r.udp_size, 1232);  // ours, not the requester's 4096
  }
}

// Found in review: a failed build must leave the buffer (often the query itself) untouched.
TEST(BuildErrorResponse, TooSmallLeavesBufferUntouched) {
  const ParsedQuery p = make_query(kFlagRD, true, false);
  ASSERT_EQ(p.err, ParseError::kOk);
  Bytes in_place = p.wire;
  EXPECT_EQ(build_error_response(in_place.data(), p.q, kServFail, in_place.data(), kQEnd + 10), 0u);
  EXPECT_EQ(in_place, p.wire);
  uint8_t out[64];
  std::memset(out, 0xcc, sizeof out);
  uint8_t name[] = {1, 'a', 0};
  EdnsParams e;
  EXPECT_EQ(build_query(out, kHeaderSize + sizeof name + 4 + 10, 1, 0, name, sizeof name, kTypeA, kClassIN, &e), 0u);
  for (uint8_t b : out) EXPECT_EQ(b, 0xcc);
}

TEST(BuildErrorResponse, FlagsCopiedSelectively) {
  // AD, TC and AA from the query are not copied; RD/CD only when set.
  const ParsedQuery p = make_query(kFlagAD | kFlagTC | kFlagAA, false, false);
  ASSERT_EQ(p.err, ParseError::kOk);
  const Built b = respond(p, kServFail);
  ASSERT_EQ(b.err, ParseError::kOk);
  EXPECT_EQ(b.r.flags, kFlagQR | kFlagRA | kServFail);
}

TEST(BuildErrorResponse, NoEdnsNoOpt) {
  const ParsedQuery p = make_query(kFlagRD, false, false);
  ASSERT_EQ(p.err, ParseError::kOk);
  const Built b = respond(p, kRefused);
  ASSERT_EQ(b.err, ParseError::kOk);
  EXPECT_EQ(b.wire.size(), kQEnd);
  EXPECT_FALSE(b.r.has_edns);
  EXPECT_EQ(b.r.arcount, 0);
  EXPECT_EQ(b.r.rcode, kRefused);
}

TEST(BuildErrorResponse, EdnsWithoutDo) {
  const ParsedQuery p = make_query(kFlagRD, true, false);
  const Built b = respond(p, kServFail, 4000);
  ASSERT_EQ(b.err, ParseError::kOk);
  EXPECT_TRUE(b.r.has_edns);
  EXPECT_FALSE(b.r.do_bit);
  EXPECT_EQ(b.r.udp_size, 4000);
}

TEST(BuildErrorResponse, BadVersPutsExtendedRcodeInOpt) {
  const ParsedQuery p = make_query(kFlagRD, true, true, 0x00010000u);  // EDNS version 1
  ASSERT_EQ(p.err, ParseError::kBadEdnsVersion);
  ASSERT_NE(p.q.question_end, 0);
  const Built b = respond(p, kBadVers);
  ASSERT_EQ(b.err, ParseError::kOk);
  EXPECT_EQ(rcode_of(b.r.flags), 0);  // low four bits of 16
  EXPECT_EQ(b.r.rcode, kBadVers);
  EXPECT_TRUE(b.r.do_bit);
  EXPECT_EQ(b.r.qdcount, 1);
  // OPT TTL: ext-rcode 1, version 0, DO.
  EXPECT_EQ(load_u32(b.wire.data() + b.r.opt_offset + 5), 0x01000000u | kEdnsDoBit);
}

TEST(BuildErrorResponse, ExtendedRcodeForcesOptEvenWithoutEdns) {
  const ParsedQuery p = make_query(kFlagRD, false, false);
  const Built b = respond(p, kBadVers);
  ASSERT_EQ(b.err, ParseError::kOk);
  EXPECT_TRUE(b.r.has_edns);
  EXPECT_FALSE(b.r.do_bit);
  EXPECT_EQ(b.r.rcode, kBadVers);
}

TEST(BuildErrorResponse, HeaderOnlyWhenQuestionUnusable) {
  // Two questions: kQdcountNotOne before the question is read, so question_end == 0.
  Bytes wire(kQEnd * 2, 0);
  const size_t l1 = build_query(wire.data(), wire.size(), 0x4321, kFlagRD, kName.data(),
                                kName.size(), kTypeA, kClassIN, nullptr);
  ASSERT_EQ(l1, kQEnd);
  store_u16(wire.data() + kOffQdcount, 2);
  std::memcpy(wire.data() + kQEnd, wire.data() + 12, kQEnd - 12);
  wire.resize(kQEnd + kQEnd - 12);
  ParsedQuery p;
  p.wire = wire;
  p.err = parse_query(p.wire.data(), p.wire.size(), &p.q);
  ASSERT_EQ(p.err, ParseError::kQdcountNotOne);
  ASSERT_EQ(p.q.question_end, 0);
  const Built b = respond(p, kFormErr);
  ASSERT_EQ(b.err, ParseError::kOk);
  EXPECT_EQ(b.wire.size(), kHeaderSize);
  EXPECT_EQ(b.r.id, 0x4321);
  EXPECT_EQ(b.r.qdcount, 0);
  EXPECT_EQ(b.r.rcode, kFormErr);
  EXPECT_EQ(b.r.flags, kFlagQR | kFlagRD | kFlagRA | kFormErr);
}

TEST(BuildErrorResponse, NotImpCopiesOpcode) {
  ParsedQuery p = make_query(kFlagRD, true, false);
  store_u16(p.wire.data() + kOffFlags, static_cast<uint16_t>(kFlagRD | (kOpNotify << 11)));
  p.err = parse_query(p.wire.data(), p.wire.size(), &p.q);
  ASSERT_EQ(p.err, ParseError::kOpcodeNotQuery);
  ASSERT_EQ(p.q.question_end, 0);
  const Built b = respond(p, kNotImp);
  ASSERT_EQ(b.err, ParseError::kOk);
  EXPECT_EQ(b.wire.size(), kHeaderSize);  // EDNS not parsed, so no OPT either
  EXPECT_EQ(opcode_of(b.r.flags), kOpNotify);
  EXPECT_EQ(b.r.rcode, kNotImp);
  EXPECT_EQ(b.r.id, 0xbeef);
}

TEST(BuildErrorResponse, FormErrAfterQuestionEchoesIt) {
  ParsedQuery p = make_query(kFlagRD, true, true);
  p.wire.push_back(0);  // trailing byte
  p.err = parse_query(p.wire.data(), p.wire.size(), &p.q);
  ASSERT_EQ(p.err, ParseError::kTrailingData);
  const Built b = respond(p, kFormErr);
  ASSERT_EQ(b.err, ParseError::kOk);
  EXPECT_EQ(b.r.qdcount, 1);
  EXPECT_EQ(b.r.question_end, kQEnd);
  EXPECT_TRUE(b.r.has_edns);
}

TEST(BuildErrorResponse, InPlace) {
  ParsedQuery p = make_query(kFlagRD | kFlagCD, true, true);
  ASSERT_EQ(p.err, ParseError::kOk);
  const Bytes original = p.wire;
  p.wire.resize(512);
  const size_t len =
      build_error_response(p.wire.data(), p.q, kServFail, p.wire.data(), p.wire.size(), 1232);
  ASSERT_EQ(len, kQEnd + 11);
  Response r;
  ASSERT_EQ(parse_response(p.wire.data(), len, &r, nullptr, 0), ParseError::kOk);
  EXPECT_EQ(r.rcode, kServFail);
  EXPECT_EQ(r.id, 0xbeef);
  EXPECT_EQ(Bytes(p.wire.begin() + 12, p.wire.begin() + kQEnd),
            Bytes(original.begin() + 12, original.begin() + kQEnd));
}

TEST(BuildErrorResponse, CapacityLimits) {
  const ParsedQuery p = make_query(kFlagRD, true, true);
  ASSERT_EQ(p.err, ParseError::kOk);
  uint8_t out[512];
  EXPECT_EQ(build_error_response(p.wire.data(), p.q, kServFail, out, 11), 0u);
  EXPECT_EQ(build_error_response(p.wire.data(), p.q, kServFail, out, kQEnd - 1), 0u);
  EXPECT_EQ(build_error_response(p.wire.data(), p.q, kServFail, out, kQEnd + 10), 0u);
  EXPECT_EQ(build_error_response(p.wire.data(), p.q, kServFail, out, kQEnd + 11), kQEnd + 11);
}

// ---------------------------------------------------------------------------------------
// A full response to edit: question, two answers, one authority, OPT last.

struct Resp {
  uint8_t buf[1024];
  size_t len;
  size_t opt_offset;
  uint16_t ttl_offs[3];
};

void make_response(Resp* r) {
  std::memset(r->buf, 0xee, sizeof r->buf);
  r->len = build_query(r->buf, sizeof r->buf, 0x0a0b, kFlagRD, kName.data(), kName.size(),
                       kTypeA, kClassIN, nullptr);
  store_u16(r->buf + kOffFlags, kFlagQR | kFlagRD | kFlagRA);
  r->ttl_offs[0] = static_cast<uint16_t>(r->len + 6);
  r->len = add_rr(r->buf, r->len, kOffAncount, pointer(12), kTypeA, 300, {192, 0, 2, 1});
  r->ttl_offs[1] = static_cast<uint16_t>(r->len + 6);
  r->len = add_rr(r->buf, r->len, kOffAncount, pointer(12), kTypeA, 20, {192, 0, 2, 2});
  r->ttl_offs[2] = static_cast<uint16_t>(r->len + 6);
  r->len = add_rr(r->buf, r->len, kOffNscount, pointer(16), kTypeNS, 86400, wire_name("ns.x"));
  r->opt_offset = r->len;
  EdnsParams e;
  e.udp_size = 1232;
  r->len = append_opt(r->buf, r->len, sizeof r->buf, e);
}

TEST(AppendOpt, WritesRecordAndCountsIt) {
  Resp r;
  make_response(&r);
  ASSERT_EQ(r.len, r.opt_offset + 11);
  const uint8_t* o = r.buf + r.opt_offset;
  EXPECT_EQ(o[0], 0);
  EXPECT_EQ(load_u16(o + 1), kTypeOPT);
  EXPECT_EQ(load_u16(o + 3), 1232);
  EXPECT_EQ(load_u32(o + 5), 0u);
  EXPECT_EQ(load_u16(o + 9), 0);
  EXPECT_EQ(HeaderView{r.buf}.arcount(), 1);
  Response pr;
  uint16_t offs[4];
  ASSERT_EQ(parse_response(r.buf, r.len, &pr, offs, 4), ParseError::kOk);
  EXPECT_EQ(pr.ttl_count, 3);
  EXPECT_EQ(offs[0], r.ttl_offs[0]);
  EXPECT_EQ(offs[1], r.ttl_offs[1]);
  EXPECT_EQ(offs[2], r.ttl_offs[2]);

  EdnsParams e;
  e.ext_rcode = 0xab;
  e.do_bit = true;
  e.udp_size = 512;
  uint8_t small[40] = {};
  EXPECT_EQ(append_opt(small, 30, 40, e), 0u);  // 30 + 11 > 40
  EXPECT_EQ(load_u16(small + kOffArcount), 0);
  EXPECT_EQ(append_opt(small, 29, 40, e), 40u);
  EXPECT_EQ(load_u32(small + 29 + 5), 0xab000000u | kEdnsDoBit);
  EXPECT_EQ(load_u16(small + kOffArcount), 1);
}

TEST(AppendEdnsOption, KeepaliveRoundTrips) {
  Resp r;
  make_response(&r);
  const uint8_t timeout[2] = {0x00, 0x64};  // 100 * 100 ms
  const size_t len = append_edns_option(r.buf, r.len, sizeof r.buf, r.opt_offset,
                                        kOptTcpKeepalive, timeout, 2);
  ASSERT_EQ(len, r.len + 6);
  EXPECT_EQ(load_u16(r.buf + r.opt_offset + 9), 6);
  Response pr;
  uint16_t offs[4];
  ASSERT_EQ(parse_response(r.buf, len, &pr, offs, 4), ParseError::kOk);
  EXPECT_TRUE(pr.has_keepalive);
  EXPECT_EQ(pr.keepalive_timeout, 100);
  EXPECT_EQ(pr.opt_length, 17);

  // A second option extends the same OPT.
  const uint8_t cookie[8] = {1, 2, 3, 4, 5, 6, 7, 8};
  const size_t len2 =
      append_edns_option(r.buf, len, sizeof r.buf, r.opt_offset, kOptCookie, cookie, 8);
  ASSERT_EQ(len2, len + 12);
  EXPECT_EQ(load_u16(r.buf + r.opt_offset + 9), 18);
  ASSERT_EQ(parse_response(r.buf, len2, &pr, offs, 4), ParseError::kOk);
  EXPECT_EQ(pr.keepalive_timeout, 100);
  EXPECT_EQ(Bytes(r.buf + len + 4, r.buf + len2), Bytes(cookie, cookie + 8));
}

TEST(AppendEdnsOption, EmptyDataAndNoRoom) {
  Resp r;
  make_response(&r);
  const size_t len = append_edns_option(r.buf, r.len, r.len + 4, r.opt_offset, kOptTcpKeepalive,
                                        nullptr, 0);
  ASSERT_EQ(len, r.len + 4);
  Response pr;
  ASSERT_EQ(parse_response(r.buf, len, &pr, nullptr, 0), ParseError::kOk);
  EXPECT_TRUE(pr.has_keepalive);
  EXPECT_EQ(pr.keepalive_timeout, 0);

  const uint8_t two[2] = {0, 1};
  EXPECT_EQ(append_edns_option(r.buf, len, len + 5, r.opt_offset, kOptTcpKeepalive, two, 2), 0u);
  EXPECT_EQ(load_u16(r.buf + r.opt_offset + 9), 4);  // unchanged
}

TEST(AppendEdnsOption, RdlengthOverflowRefused) {
  std::vector<uint8_t> big(70000, 0);
  uint8_t* buf = big.data();
  size_t len = build_query(buf, big.size(), 1, 0, kName.data(), kName.size(), kTypeA, kClassIN,
                           nullptr);
  const size_t opt = len;
  EdnsParams e;
  len = append_opt(buf, len, big.size(), e);
  const std::vector<uint8_t> data(65530, 0);
  EXPECT_EQ(append_edns_option(buf, len, big.size(), opt, 100, data.data(),
                               static_cast<uint16_t>(data.size())),
            len + 4 + data.size());
  len += 4 + data.size();
  EXPECT_EQ(append_edns_option(buf, len, big.size(), opt, 100, data.data(), 2), 0u);
}

// ---------------------------------------------------------------------------------------
// pad_to_block

TEST(PadToBlock, PadsToMultipleWithZeros) {
  for (size_t block : {128u, 468u}) {
    Resp r;
    make_response(&r);
    const size_t len = pad_to_block(r.buf, r.len, sizeof r.buf, r.opt_offset, block);
    SCOPED_TRACE(block);
    ASSERT_NE(len, 0u);
    EXPECT_EQ(len % block, 0u);
    EXPECT_GE(len, r.len + 4);
    EXPECT_LT(len, r.len + 4 + block);
    EXPECT_EQ(load_u16(r.buf + r.len), kOptPadding);
    EXPECT_EQ(load_u16(r.buf + r.len + 2), len - r.len - 4);
    EXPECT_EQ(load_u16(r.buf + r.opt_offset + 9), len - r.len);
    for (size_t i = r.len + 4; i < len; ++i) ASSERT_EQ(r.buf[i], 0) << i;
    Response pr;
    uint16_t offs[4];
    ASSERT_EQ(parse_response(r.buf, len, &pr, offs, 4), ParseError::kOk);
    EXPECT_EQ(pr.opt_length, len - r.opt_offset);
  }
}

TEST(PadToBlock, ExactMultipleStillAddsAWholeOption) {
  Resp r;
  make_response(&r);
  // Block = len + 4: the option header alone reaches the boundary, zero padding bytes.
  const size_t len = pad_to_block(r.buf, r.len, sizeof r.buf, r.opt_offset, r.len + 4);
  EXPECT_EQ(len, r.len + 4);
  EXPECT_EQ(load_u16(r.buf + r.len + 2), 0);
}

TEST(PadToBlock, PadsToCapWhenNextBlockDoesNotFit) {
  Resp r;
  make_response(&r);
  const size_t cap = r.len + 20;  // well below the next multiple of 468
  const size_t len = pad_to_block(r.buf, r.len, cap, r.opt_offset, 468);
  EXPECT_EQ(len, cap);
  EXPECT_EQ(load_u16(r.buf + r.len + 2), 16);
  EXPECT_EQ(r.buf[cap], 0xee);  // nothing written past cap
  Response pr;
  ASSERT_EQ(parse_response(r.buf, len, &pr, nullptr, 0), ParseError::kOk);
}

TEST(PadToBlock, NoRoomForOptionHeader) {
  Resp r;
  make_response(&r);
  Bytes before(r.buf, r.buf + sizeof r.buf);
  EXPECT_EQ(pad_to_block(r.buf, r.len, r.len + 3, r.opt_offset, 128), 0u);
  EXPECT_EQ(pad_to_block(r.buf, r.len, r.len, r.opt_offset, 128), 0u);
  EXPECT_EQ(Bytes(r.buf, r.buf + sizeof r.buf), before);  // unchanged
  EXPECT_EQ(pad_to_block(r.buf, r.len, r.len + 4, r.opt_offset, 128), r.len + 4);
}

TEST(PadToBlock, ZeroBlockRefused) {
  Resp r;
  make_response(&r);
  EXPECT_EQ(pad_to_block(r.buf, r.len, sizeof r.buf, r.opt_offset, 0), 0u);
}

// ---------------------------------------------------------------------------------------
// truncate_response

TEST(TruncateResponse, WithEdns) {
  Resp r;
  make_response(&r);
  store_u16(r.buf + kOffFlags, kFlagQR | kFlagRD | kFlagRA | kFlagAD | kNxDomain);
  EdnsParams e;
  e.udp_size = 1232;
  e.do_bit = true;
  const size_t len = truncate_response(r.buf, sizeof r.buf, kQEnd, &e);
  ASSERT_EQ(len, kQEnd + 11);
  Response pr;
  ASSERT_EQ(parse_response(r.buf, len, &pr, nullptr, 0), ParseError::kOk);
  EXPECT_TRUE(pr.flags & kFlagTC);
  EXPECT_EQ(pr.flags, kFlagQR | kFlagTC | kFlagRD | kFlagRA | kFlagAD | kNxDomain);
  EXPECT_EQ(pr.id, 0x0a0b);
  EXPECT_EQ(pr.qdcount, 1);
  EXPECT_EQ(pr.ancount, 0);
  EXPECT_EQ(pr.nscount, 0);
  EXPECT_EQ(pr.arcount, 1);
  EXPECT_TRUE(pr.has_edns);
  EXPECT_TRUE(pr.do_bit);
  EXPECT_EQ(pr.udp_size, 1232);
  EXPECT_EQ(pr.opt_offset, kQEnd);
  EXPECT_EQ(Bytes(r.buf + 12, r.buf + 12 + kName.size()), kName);
}

TEST(TruncateResponse, WithoutEdns) {
  Resp r;
  make_response(&r);
  const size_t len = truncate_response(r.buf, sizeof r.buf, kQEnd, nullptr);
  ASSERT_EQ(len, kQEnd);
  Response pr;
  ASSERT_EQ(parse_response(r.buf, len, &pr, nullptr, 0), ParseError::kOk);
  EXPECT_TRUE(pr.flags & kFlagTC);
  EXPECT_EQ(pr.ancount + pr.nscount + pr.arcount, 0);
  EXPECT_FALSE(pr.has_edns);
  EXPECT_EQ(pr.qtype, kTypeA);
}

TEST(TruncateResponse, RefusesWhenTheOptDoesNotFit) {
  Resp r;
  make_response(&r);
  const uint16_t flags_before = load_u16(r.buf + kOffFlags);
  EdnsParams e;
  EXPECT_EQ(truncate_response(r.buf, kQEnd + 10, kQEnd, &e), 0u);
  EXPECT_EQ(load_u16(r.buf + kOffFlags), flags_before);  // untouched
  EXPECT_EQ(truncate_response(r.buf, kQEnd, kQEnd, nullptr), kQEnd);
}

// ---------------------------------------------------------------------------------------
// age_ttls / clamp_ttls

Bytes ttl_block(std::initializer_list<uint32_t> ttls, std::vector<uint16_t>* offs) {
  Bytes b(3 + 6 * ttls.size(), 0x5a);  // guard bytes around each TTL
  size_t at = 3;
  for (uint32_t t : ttls) {
    store_u32(b.data() + at, t);
    offs->push_back(static_cast<uint16_t>(at));
    at += 6;
  }
  return b;
}

std::vector<uint32_t> ttls_at(const Bytes& b, const std::vector<uint16_t>& offs) {
  std::vector<uint32_t> out;
  for (uint16_t o : offs) out.push_back(load_u32(b.data() + o));
  return out;
}

void expect_guards_intact(const Bytes& b, const std::vector<uint16_t>& offs) {
  std::vector<bool> ttl_byte(b.size(), false);
  for (uint16_t o : offs) {
    for (int i = 0; i < 4; ++i) ttl_byte[o + i] = true;
  }
  for (size_t i = 0; i < b.size(); ++i) {
    if (!ttl_byte[i]) {
      EXPECT_EQ(b[i], 0x5a) << i;
    }
  }
}

TEST(AgeTtls, SubtractsAndFloorsAtZero) {
  std::vector<uint16_t> offs;
  Bytes b = ttl_block({300, 10, 9, 0, 11, 0x7fffffffu}, &offs);
  age_ttls(b.data(), offs.data(), offs.size(), 10);
  EXPECT_EQ(ttls_at(b, offs), (std::vector<uint32_t>{290, 0, 0, 0, 1, 0x7ffffff5u}));
  expect_guards_intact(b, offs);
  age_ttls(b.data(), offs.data(), offs.size(), 0xffffffffu);
  EXPECT_EQ(ttls_at(b, offs), (std::vector<uint32_t>(6, 0)));
}

TEST(AgeTtls, OnlyGivenOffsets) {
  std::vector<uint16_t> offs;
  Bytes b = ttl_block({100, 200, 300}, &offs);
  age_ttls(b.data(), offs.data(), 2, 50);  // n = 2: the third stays
  EXPECT_EQ(ttls_at(b, offs), (std::vector<uint32_t>{50, 150, 300}));
  age_ttls(b.data(), offs.data(), 0, 50);
  EXPECT_EQ(ttls_at(b, offs), (std::vector<uint32_t>{50, 150, 300}));
}

TEST(AgeTtls, OnParsedResponse) {
  Resp r;
  make_response(&r);
  age_ttls(r.buf, r.ttl_offs, 3, 30);
  Response pr;
  uint16_t offs[4];
  ASSERT_EQ(parse_response(r.buf, r.len, &pr, offs, 4), ParseError::kOk);
  EXPECT_EQ(pr.min_ttl, 0u);  // 20 - 30 -> 0
  EXPECT_EQ(load_u32(r.buf + r.ttl_offs[0]), 270u);
  EXPECT_EQ(load_u32(r.buf + r.ttl_offs[2]), 86370u);
}

TEST(ClampTtls, IntoRange) {
  std::vector<uint16_t> offs;
  Bytes b = ttl_block({0, 30, 60, 3600, 86400, 100000, 0x7fffffffu, 0x80000000u, 0xffffffffu},
                      &offs);
  clamp_ttls(b.data(), offs.data(), offs.size(), 60, 86400);
  EXPECT_EQ(ttls_at(b, offs),
            (std::vector<uint32_t>{60, 60, 60, 3600, 86400, 86400, 86400, 60, 60}));
  expect_guards_intact(b, offs);
}

TEST(ClampTtls, HighBitTtlsBecomeZeroBeforeClamping) {
  std::vector<uint16_t> offs;
  Bytes b = ttl_block({0x80000000u, 0xfffffffeu, 5}, &offs);
  clamp_ttls(b.data(), offs.data(), offs.size(), 0, 0xffffffffu);
  EXPECT_EQ(ttls_at(b, offs), (std::vector<uint32_t>{0, 0, 5}));
}

}  // namespace
}  // namespace dotgate::dns
