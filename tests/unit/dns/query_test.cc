// Tests for dns/query.h: parse_query, Query::udp_limit, the cache key and finalize_key, and
// the error table in dns/errors.h.
#include "dns/query.h"

#include <gtest/gtest.h>

#include "dns_test_util.h"

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <ostream>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "dns/builder.h"
#include "dns/errors.h"
#include "dns/name.h"
#include "dns/wire.h"

namespace dotgate::dns {
namespace {

using namespace testutil;  // Bytes, Msg, wire_name, pointer, option, cat

constexpr uint32_t kVersion1 = 0x00010000;

// Parses from an exactly-sized heap copy so ASan sees any read past the end.
ParseError parse(const Bytes& msg, Query* q, size_t len = SIZE_MAX) {
  if (len == SIZE_MAX) len = msg.size();
  const Bytes copy(msg.begin(), msg.begin() + static_cast<std::ptrdiff_t>(len));
  return parse_query(copy.data(), copy.size(), q);
}

Msg plain_query(uint16_t id = 0x1234, uint16_t flags = kFlagRD, uint16_t ar = 0) {
  Msg m;
  m.header(id, flags, 1, 0, 0, ar).question("www.example.com", kTypeA);
  return m;
}

constexpr size_t kPlainQuestionEnd = 12 + 17 + 4;  // 33

// ---------------------------------------------------------------------------------------
// Successful parses

TEST(ParseQuery, PlainQuery) {
  Msg m;
  m.header(0xbeef, kFlagRD | kFlagAD, 1, 0, 0, 0).question("WwW.ExAmPle.COM", kTypeAAAA, kClassCH);
  Query q;
  ASSERT_EQ(parse(m.b, &q), ParseError::kOk);
  EXPECT_EQ(q.msg_len, m.size());
  EXPECT_EQ(q.id, 0xbeef);
  EXPECT_EQ(q.flags, kFlagRD | kFlagAD);
  EXPECT_TRUE(q.rd());
  EXPECT_FALSE(q.cd());
  EXPECT_EQ(q.qtype, kTypeAAAA);
  EXPECT_EQ(q.qclass, kClassCH);
  EXPECT_EQ(q.qname_len, 17);
  EXPECT_EQ(q.question_end, kPlainQuestionEnd);
  EXPECT_FALSE(q.has_edns);
  EXPECT_FALSE(q.do_bit);
  EXPECT_EQ(q.edns_version, 0);
  EXPECT_EQ(q.edns_options, 0);
  EXPECT_EQ(q.udp_size, 0);
  EXPECT_EQ(q.opt_offset, 0);
  EXPECT_EQ(q.opt_length, 0);
  // The key: lower-cased name, type, class, no bits.
  const Bytes lower = wire_name("www.example.com");
  EXPECT_EQ(q.key.name_len, lower.size());
  EXPECT_EQ(Bytes(q.key.name, q.key.name + q.key.name_len), lower);
  EXPECT_EQ(q.key.qtype, kTypeAAAA);
  EXPECT_EQ(q.key.qclass, kClassCH);
  EXPECT_EQ(q.key.bits, 0);
  // The message itself is not modified: the name keeps its case on the wire.
  EXPECT_EQ(m.b[13], 'W');
}

TEST(ParseQuery, KeyLowerCasesEveryLetterAtEveryLength) {
  const std::string upper = "ABCDEFGHIJKLMNOPQRSTUVWXYZ@[`{";
  const std::string lower = "abcdefghijklmnopqrstuvwxyz@[`{";
  for (size_t n = 1; n <= 60; ++n) {
    for (size_t rot = 0; rot < upper.size(); rot += 5) {
      Bytes label_up, label_low;
      for (size_t i = 0; i < n; ++i) {
        label_up.push_back(static_cast<uint8_t>(upper[(i + rot) % upper.size()]));
        label_low.push_back(static_cast<uint8_t>(lower[(i + rot) % lower.size()]));
      }
      Msg m;
      m.header(1, 0, 1, 0, 0, 0).u8(static_cast<uint8_t>(n)).raw(label_up).u8(0).u16(1).u16(1);
      Query q;
      ASSERT_EQ(parse(m.b, &q), ParseError::kOk);
      Bytes want{static_cast<uint8_t>(n)};
      want.insert(want.end(), label_low.begin(), label_low.end());
      want.push_back(0);
      ASSERT_EQ(Bytes(q.key.name, q.key.name + q.key.name_len), want) << n << " " << rot;
    }
  }
}

TEST(ParseQuery, RootQuestion) {
  Msg m;
  m.header(1, 0, 1, 0, 0, 0).question(".", kTypeNS);
  Query q;
  ASSERT_EQ(parse(m.b, &q), ParseError::kOk);
  EXPECT_EQ(q.qname_len, 1);
  EXPECT_EQ(q.question_end, 12 + 1 + 4);
  EXPECT_EQ(q.key.name_len, 1);
  EXPECT_EQ(q.key.name[0], 0);
  EXPECT_FALSE(q.rd());
}

TEST(ParseQuery, MaximalQuestionName) {
  Msg m;
  m.header(1, 0, 1, 0, 0, 0);
  for (int i = 0; i < 3; ++i) m.u8(63).raw(Bytes(63, 'A'));
  m.u8(61).raw(Bytes(61, 'B')).u8(0).u16(kTypeA).u16(kClassIN);
  Query q;
  ASSERT_EQ(parse(m.b, &q), ParseError::kOk);
  EXPECT_EQ(q.qname_len, 255);
  EXPECT_EQ(q.key.name_len, 255);
  EXPECT_EQ(q.key.name[1], 'a');
  EXPECT_EQ(q.key.name[200], 'b');
  EXPECT_EQ(q.key.name[254], 0);
}

TEST(ParseQuery, CdBitGoesIntoKey) {
  Msg m = plain_query(7, kFlagRD | kFlagCD);
  Query q;
  ASSERT_EQ(parse(m.b, &q), ParseError::kOk);
  EXPECT_TRUE(q.cd());
  EXPECT_EQ(q.key.bits, kKeyCD);
}

TEST(ParseQuery, EdnsFields) {
  Msg m = plain_query(0x4242, kFlagRD, 1);
  m.opt(4096, kEdnsDoBit);
  Query q;
  ASSERT_EQ(parse(m.b, &q), ParseError::kOk);
  EXPECT_TRUE(q.has_edns);
  EXPECT_TRUE(q.do_bit);
  EXPECT_EQ(q.edns_version, 0);
  EXPECT_EQ(q.udp_size, 4096);
  EXPECT_EQ(q.opt_offset, kPlainQuestionEnd);
  EXPECT_EQ(q.opt_length, 11);
  EXPECT_EQ(q.edns_options, 0);
  EXPECT_EQ(q.question_end, kPlainQuestionEnd);
  EXPECT_EQ(q.key.bits, kKeyDO);
}

TEST(ParseQuery, EdnsWithoutDoAndBothBits) {
  {
    Msg m = plain_query(1, kFlagRD, 1);
    m.opt(1232, 0);
    Query q;
    ASSERT_EQ(parse(m.b, &q), ParseError::kOk);
    EXPECT_TRUE(q.has_edns);
    EXPECT_FALSE(q.do_bit);
    EXPECT_EQ(q.key.bits, 0);
  }
  {
    Msg m = plain_query(1, kFlagRD | kFlagCD, 1);
    m.opt(1232, kEdnsDoBit);
    Query q;
    ASSERT_EQ(parse(m.b, &q), ParseError::kOk);
    EXPECT_EQ(q.key.bits, kKeyDO | kKeyCD);
  }
}

TEST(ParseQuery, OtherOptTtlBitsDoNotMatter) {
  // Extended-rcode byte and the Z bits other than DO are ignored; version stays 0.
  Msg m = plain_query(1, kFlagRD, 1);
  m.opt(512, 0xab007fffu);
  Query q;
  ASSERT_EQ(parse(m.b, &q), ParseError::kOk);
  EXPECT_EQ(q.edns_version, 0);
  EXPECT_FALSE(q.do_bit);
}

TEST(ParseQuery, EdnsOptionFlags) {
  struct Case {
    Bytes rdata;
    uint8_t want;
  };
  const Bytes ecs{0, 1, 24, 0, 192, 0, 2};
  const Bytes cookie{1, 2, 3, 4, 5, 6, 7, 8};
  const Case cases[] = {
      {option(kOptClientSubnet, ecs), kSawClientSubnet},
      {option(kOptCookie, cookie), kSawCookie},
      {option(kOptTcpKeepalive, {}), kSawKeepalive},
      {option(kOptPadding, Bytes(17, 0)), kSawPadding},
      {option(kOptPadding, {}), kSawPadding},
      {option(3, {'n', 's'}), 0},  // NSID: not tracked, but accepted
      {cat({option(kOptCookie, cookie), option(kOptTcpKeepalive, {}),
            option(kOptClientSubnet, ecs), option(kOptPadding, Bytes(5, 0))}),
       kSawCookie | kSawKeepalive | kSawClientSubnet | kSawPadding},
  };
  for (const Case& c : cases) {
    Msg m = plain_query(9, kFlagRD, 1);
    m.opt(1232, 0, c.rdata);
    Query q;
    ASSERT_EQ(parse(m.b, &q), ParseError::kOk);
    EXPECT_EQ(q.edns_options, c.want);
    EXPECT_EQ(q.opt_length, 11 + c.rdata.size());
  }
}

TEST(ParseQuery, OtherAdditionalRecordsSkipped) {
  // A TSIG-like record before and an unknown record after the OPT are skipped intact.
  Msg m = plain_query(5, kFlagRD, 3);
  m.rr(pointer(12), kTypeA, kClassIN, 60, {1, 2, 3, 4});
  const size_t opt_at = m.size();
  m.opt(1400, 0);
  m.rr(wire_name("key.name"), kTypeTSIG, kClassANY, 0, Bytes(30, 0x5a));
  Query q;
  ASSERT_EQ(parse(m.b, &q), ParseError::kOk);
  EXPECT_TRUE(q.has_edns);
  EXPECT_EQ(q.opt_offset, opt_at);
  EXPECT_EQ(q.opt_length, 11);
  EXPECT_EQ(q.udp_size, 1400);
}

TEST(ParseQuery, ResetsEdnsStateBetweenCalls) {
  Msg with = plain_query(1, kFlagRD, 1);
  with.opt(4096, kEdnsDoBit, option(kOptCookie, Bytes(8, 1)));
  Query q;
  ASSERT_EQ(parse(with.b, &q), ParseError::kOk);
  ASSERT_TRUE(q.has_edns);
  ASSERT_EQ(parse(plain_query().b, &q), ParseError::kOk);
  EXPECT_FALSE(q.has_edns);
  EXPECT_FALSE(q.do_bit);
  EXPECT_EQ(q.edns_options, 0);
  EXPECT_EQ(q.udp_size, 0);
  EXPECT_EQ(q.opt_offset, 0);
  EXPECT_EQ(q.key.bits, 0);
}

// ---------------------------------------------------------------------------------------
// Errors before the question: question_end stays 0.

TEST(ParseQueryError, TooShort) {
  const Bytes full = plain_query().b;
  for (size_t len = 0; len < kHeaderSize; ++len) {
    Query q;
    q.question_end = 99;
    EXPECT_EQ(parse(full, &q, len), ParseError::kTooShort) << len;
    EXPECT_EQ(q.question_end, 0);
    EXPECT_EQ(q.msg_len, len);
  }
}

TEST(ParseQueryError, HeaderOnlyIsTruncatedName) {
  Msg m;
  m.header(3, 0, 1, 0, 0, 0);
  Query q;
  EXPECT_EQ(parse(m.b, &q), ParseError::kTruncatedName);
  EXPECT_EQ(q.id, 3);
  EXPECT_EQ(q.question_end, 0);
}

TEST(ParseQueryError, QrSet) {
  Msg m = plain_query(0x1111, kFlagQR | kFlagRD);
  Query q;
  EXPECT_EQ(parse(m.b, &q), ParseError::kQrSet);
  EXPECT_EQ(q.id, 0x1111);
  EXPECT_EQ(q.flags, kFlagQR | kFlagRD);
  EXPECT_EQ(q.question_end, 0);
  EXPECT_EQ(reaction_to(ParseError::kQrSet), Reaction::kDrop);
}

TEST(ParseQueryError, OpcodeNotQuery) {
  const std::initializer_list<uint16_t> opcodes{kOpIQuery, kOpStatus, kOpNotify, kOpUpdate, 15};
  for (uint16_t op : opcodes) {
    Msg m = plain_query(0x2222, static_cast<uint16_t>(kFlagRD | (op << 11)));
    Query q;
    EXPECT_EQ(parse(m.b, &q), ParseError::kOpcodeNotQuery) << op;
    EXPECT_EQ(opcode_of(q.flags), op);
    EXPECT_EQ(q.id, 0x2222);
    EXPECT_EQ(q.question_end, 0);
  }
  EXPECT_EQ(reaction_to(ParseError::kOpcodeNotQuery), Reaction::kNotImp);
}

TEST(ParseQueryError, QdcountZeroAndTwo) {
  {
    Msg m;
    m.header(1, 0, 0, 0, 0, 0);
    Query q;
    EXPECT_EQ(parse(m.b, &q), ParseError::kQdcountNotOne);
    EXPECT_EQ(q.question_end, 0);
  }
  {
    Msg m;
    m.header(1, 0, 2, 0, 0, 0).question("a.example", kTypeA).question("b.example", kTypeA);
    Query q;
    EXPECT_EQ(parse(m.b, &q), ParseError::kQdcountNotOne);
    EXPECT_EQ(q.question_end, 0);
  }
}

TEST(ParseQueryError, AnswerOrAuthorityRecordsInQuery) {
  for (int section = 0; section < 2; ++section) {
    Msg m;
    m.header(1, 0, 1, section == 0 ? 1 : 0, section == 1 ? 1 : 0, 0)
        .question("example.com", kTypeA)
        .rr(pointer(12), kTypeA, kClassIN, 60, {1, 2, 3, 4});
    Query q;
    EXPECT_EQ(parse(m.b, &q), ParseError::kRecordsInQuery) << section;
    EXPECT_EQ(q.question_end, 0);
  }
}

TEST(ParseQueryError, TruncatedQuestionAtEveryByte) {
  const Bytes full = plain_query().b;
  ASSERT_EQ(full.size(), kPlainQuestionEnd);
  const size_t name_end = 12 + 17;
  for (size_t len = kHeaderSize; len < full.size(); ++len) {
    Query q;
    const ParseError e = parse(full, &q, len);
    EXPECT_EQ(e, len < name_end ? ParseError::kTruncatedName : ParseError::kTruncatedQuestion)
        << len;
    EXPECT_EQ(q.question_end, 0) << len;
  }
}

TEST(ParseQueryError, CompressedQuestion) {
  {
    Msg m;
    m.header(1, 0, 1, 0, 0, 0).raw(pointer(0)).u16(kTypeA).u16(kClassIN);
    Query q;
    EXPECT_EQ(parse(m.b, &q), ParseError::kCompressedQuestion);
    EXPECT_EQ(q.question_end, 0);
  }
  {
    Msg m;
    m.header(1, 0, 1, 0, 0, 0).raw({3, 'w', 'w', 'w'}).raw(pointer(2)).u16(kTypeA).u16(kClassIN);
    Query q;
    EXPECT_EQ(parse(m.b, &q), ParseError::kCompressedQuestion);
    EXPECT_EQ(q.question_end, 0);
  }
}

TEST(ParseQueryError, BadLabelTypeInQuestion) {
  for (uint8_t b : {uint8_t{0x40}, uint8_t{0x7f}, uint8_t{0x80}, uint8_t{0xbf}}) {
    Msg m;
    m.header(1, 0, 1, 0, 0, 0).raw({1, 'a'}).u8(b).raw(Bytes(200, 'x')).u8(0).u16(1).u16(1);
    Query q;
    EXPECT_EQ(parse(m.b, &q), ParseError::kBadLabelType) << int{b};
    EXPECT_EQ(q.question_end, 0);
  }
}

TEST(ParseQueryError, QuestionNameTooLong) {
  Msg m;
  m.header(1, 0, 1, 0, 0, 0);
  for (int i = 0; i < 3; ++i) m.u8(63).raw(Bytes(63, 'a'));
  m.u8(62).raw(Bytes(62, 'b')).u8(0).u16(kTypeA).u16(kClassIN);  // 256 bytes
  Query q;
  EXPECT_EQ(parse(m.b, &q), ParseError::kNameTooLong);
  EXPECT_EQ(q.question_end, 0);
}

// ---------------------------------------------------------------------------------------
// Errors after the question: question_end is set so an error response can echo it.

void expect_after_question(const Msg& m, ParseError want) {
  Query q;
  EXPECT_EQ(parse(m.b, &q), want);
  EXPECT_EQ(q.question_end, kPlainQuestionEnd);
  EXPECT_EQ(q.qtype, kTypeA);
  EXPECT_EQ(q.qname_len, 17);
  EXPECT_EQ(q.id, 0x1234);
}

TEST(ParseQueryError, TwoOpts) {
  Msg m = plain_query(0x1234, kFlagRD, 2);
  m.opt(1232, 0).opt(4096, kEdnsDoBit);
  expect_after_question(m, ParseError::kMultipleOpt);
}

TEST(ParseQueryError, OptWithNonRootOwner) {
  {
    Msg m = plain_query(0x1234, kFlagRD, 1);
    m.rr(wire_name("a"), kTypeOPT, 1232, 0, {});
    expect_after_question(m, ParseError::kOptNotRoot);
  }
  {
    // A pointer to a root label is still not "owned by the root" in the required form.
    Msg m = plain_query(0x1234, kFlagRD, 1);
    m.rr(pointer(12 + 16), kTypeOPT, 1232, 0, {});
    expect_after_question(m, ParseError::kOptNotRoot);
  }
}

TEST(ParseQueryError, BadEdnsOptionLengths) {
  const Bytes bad[] = {
      {0},                                      // one stray byte
      {0, 10, 0},                               // option header cut short
      {0, 10, 0, 8, 1, 2, 3},                   // cookie claims 8 bytes, has 3
      cat({option(kOptPadding, {0, 0}), {0, 12, 0, 1}}),  // second option overruns
      option(kOptTcpKeepalive, {0, 100}),       // keepalive with a timeout from a client
      option(kOptTcpKeepalive, {1}),
  };
  for (const Bytes& rdata : bad) {
    Msg m = plain_query(0x1234, kFlagRD, 1);
    m.opt(1232, kEdnsDoBit, rdata);
    expect_after_question(m, ParseError::kBadEdnsOption);
  }
}

TEST(ParseQueryError, TruncatedOptAtEveryByte) {
  Msg m = plain_query(0x1234, kFlagRD, 1);
  m.opt(1232, 0, option(kOptCookie, Bytes(8, 7)));
  for (size_t len = kPlainQuestionEnd; len < m.size(); ++len) {
    Query q;
    const ParseError e = parse(m.b, &q, len);
    EXPECT_EQ(e, len == kPlainQuestionEnd ? ParseError::kTruncatedName
                                          : ParseError::kTruncatedRecord)
        << len;
    EXPECT_EQ(q.question_end, kPlainQuestionEnd) << len;
  }
}

TEST(ParseQueryError, BadNameInAdditionalRecord) {
  {
    Msg m = plain_query(0x1234, kFlagRD, 1);
    m.raw(pointer(kPlainQuestionEnd)).u16(kTypeA).u16(1).u32(0).u16(0);  // points at itself
    expect_after_question(m, ParseError::kBadPointer);
  }
  {
    Msg m = plain_query(0x1234, kFlagRD, 1);
    m.u8(0x80).u8(0).u16(kTypeA).u16(1).u32(0).u16(0);
    expect_after_question(m, ParseError::kBadLabelType);
  }
}

TEST(ParseQueryError, EdnsVersion1IsBadVersWithQuestion) {
  Msg m = plain_query(0x1234, kFlagRD | kFlagCD, 1);
  m.opt(4096, kVersion1 | kEdnsDoBit, option(kOptCookie, Bytes(8, 1)));
  Query q;
  EXPECT_EQ(parse(m.b, &q), ParseError::kBadEdnsVersion);
  EXPECT_EQ(q.question_end, kPlainQuestionEnd);
  EXPECT_TRUE(q.has_edns);
  EXPECT_EQ(q.edns_version, 1);
  EXPECT_TRUE(q.do_bit);  // mirrored in the BADVERS response
  EXPECT_EQ(q.udp_size, 4096);
  EXPECT_EQ(q.edns_options, kSawCookie);
  EXPECT_EQ(q.key.bits, kKeyDO | kKeyCD);
  EXPECT_EQ(reaction_to(ParseError::kBadEdnsVersion), Reaction::kBadVers);

  Msg v255 = plain_query(0x1234, kFlagRD, 1);
  v255.opt(4096, 0x00ff0000u);
  EXPECT_EQ(parse(v255.b, &q), ParseError::kBadEdnsVersion);
  EXPECT_EQ(q.edns_version, 255);
}

TEST(ParseQueryError, StructuralErrorsWinOverBadVersion) {
  Msg trailing = plain_query(0x1234, kFlagRD, 1);
  trailing.opt(4096, kVersion1).u8(0);
  expect_after_question(trailing, ParseError::kTrailingData);

  Msg bad_option = plain_query(0x1234, kFlagRD, 1);
  bad_option.opt(4096, kVersion1, {0, 1});
  expect_after_question(bad_option, ParseError::kBadEdnsOption);
}

TEST(ParseQueryError, TrailingData) {
  Msg m = plain_query();
  m.u8(0);
  expect_after_question(m, ParseError::kTrailingData);

  Msg with_opt = plain_query(0x1234, kFlagRD, 1);
  with_opt.opt(1232, 0).raw({1, 2, 3});
  expect_after_question(with_opt, ParseError::kTrailingData);
}

TEST(ParseQueryError, ArcountBeyondRecordsIsTruncated) {
  Msg m = plain_query(0x1234, kFlagRD, 2);
  m.opt(1232, 0);
  expect_after_question(m, ParseError::kTruncatedName);
}

TEST(ParseQueryError, OversizedMessageStillReportsHeader) {
  // More than 65535 bytes cannot be a DNS message; the header fields are still reported
  // (the contract: id, flags and msg_len are valid whenever len >= 12).
  Msg m = plain_query(0x7777, kFlagRD | kFlagCD);
  m.b.resize(kMaxMessage + 1, 0);
  Query q;
  q.id = 1;
  q.flags = 0;
  EXPECT_EQ(parse(m.b, &q), ParseError::kTrailingData);
  EXPECT_EQ(q.id, 0x7777);
  EXPECT_EQ(q.flags, kFlagRD | kFlagCD);
  EXPECT_EQ(q.msg_len, kMaxMessage);
  EXPECT_EQ(q.question_end, 0);
}

TEST(ParseQueryError, LargestMessageAccepted) {
  // Exactly 65535 bytes: pad the OPT so the message ends at the limit.
  Msg m = plain_query(0x1234, kFlagRD, 1);
  const size_t pad = kMaxMessage - kPlainQuestionEnd - 11 - 4;
  m.opt(1232, 0, option(kOptPadding, Bytes(pad, 0)));
  ASSERT_EQ(m.size(), kMaxMessage);
  Query q;
  EXPECT_EQ(parse(m.b, &q), ParseError::kOk);
  EXPECT_EQ(q.msg_len, kMaxMessage);
  EXPECT_EQ(q.opt_length, kMaxMessage - kPlainQuestionEnd);
}

// ---------------------------------------------------------------------------------------
// udp_limit

TEST(UdpLimit, NoEdnsIs512) {
  Query q;
  ASSERT_EQ(parse(plain_query().b, &q), ParseError::kOk);
  EXPECT_EQ(q.udp_limit(1232), 512);
  EXPECT_EQ(q.udp_limit(4096), 512);
  EXPECT_EQ(q.udp_limit(100), 512);
}

TEST(UdpLimit, EdnsValues) {
  auto limit = [](uint16_t udp, uint16_t our_max) {
    Msg m = plain_query(1, kFlagRD, 1);
    m.opt(udp, 0);
    Query q;
    EXPECT_EQ(parse(m.b, &q), ParseError::kOk);
    EXPECT_EQ(q.udp_size, udp);  // as sent
    return q.udp_limit(our_max);
  };
  EXPECT_EQ(limit(0, 1232), 512);
  EXPECT_EQ(limit(100, 1232), 512);
  EXPECT_EQ(limit(511, 1232), 512);
  EXPECT_EQ(limit(512, 1232), 512);
  EXPECT_EQ(limit(1000, 1232), 1000);
  EXPECT_EQ(limit(1232, 1232), 1232);
  EXPECT_EQ(limit(4096, 1232), 1232);
  EXPECT_EQ(limit(65535, 4096), 4096);
  EXPECT_EQ(limit(4096, 100), 512);  // our own maximum is never below 512
  EXPECT_EQ(limit(100, 100), 512);
}

// ---------------------------------------------------------------------------------------
// CacheKey / finalize_key

CacheKey key_of(const Msg& m, uint64_t seed = 0x0123456789abcdefULL) {
  Query q;
  EXPECT_EQ(parse(m.b, &q), ParseError::kOk);
  finalize_key(q.key, seed);
  return q.key;
}

Msg query_for(std::string_view name, uint16_t qtype = kTypeA, uint16_t qclass = kClassIN,
              bool do_bit = false, bool cd = false, uint16_t id = 1) {
  Msg m;
  m.header(id, static_cast<uint16_t>(kFlagRD | (cd ? kFlagCD : 0)), 1, 0, 0, 1)
      .question(name, qtype, qclass)
      .opt(1232, do_bit ? kEdnsDoBit : 0);
  return m;
}

TEST(CacheKey, SameQuerySameKeyAndHash) {
  const CacheKey a = key_of(query_for("www.example.com"));
  const CacheKey b = key_of(query_for("www.example.com", kTypeA, kClassIN, false, false, 999));
  EXPECT_TRUE(a == b);
  EXPECT_EQ(a.hash, b.hash);
  EXPECT_NE(a.hash, 0u);
}

TEST(CacheKey, CaseInsensitive) {
  const CacheKey a = key_of(query_for("www.example.com"));
  const CacheKey b = key_of(query_for("WWW.EXAMPLE.COM"));
  const CacheKey c = key_of(query_for("wWw.ExAmPlE.cOm"));
  EXPECT_TRUE(a == b);
  EXPECT_TRUE(a == c);
  EXPECT_EQ(a.hash, b.hash);
  EXPECT_EQ(a.hash, c.hash);
}

TEST(CacheKey, EdnsPresenceAloneDoesNotMatter) {
  // No EDNS vs EDNS without DO: same key.
  const CacheKey a = key_of(plain_query());
  Msg m = plain_query(0x1234, kFlagRD, 1);
  m.opt(4096, 0);
  const CacheKey b = key_of(m);
  EXPECT_TRUE(a == b);
  EXPECT_EQ(a.hash, b.hash);
}

TEST(CacheKey, EachComponentChangesKeyAndHash) {
  const CacheKey base = key_of(query_for("www.example.com"));
  const CacheKey variants[] = {
      key_of(query_for("www.example.org")),
      key_of(query_for("www.example.com.")),  // same: see below
      key_of(query_for("ww.example.com")),
      key_of(query_for("www.example.com", kTypeAAAA)),
      key_of(query_for("www.example.com", kTypeA, kClassCH)),
      key_of(query_for("www.example.com", kTypeA, kClassIN, true)),
      key_of(query_for("www.example.com", kTypeA, kClassIN, false, true)),
      key_of(query_for("www.example.com", kTypeA, kClassIN, true, true)),
  };
  std::set<uint64_t> hashes{base.hash};
  for (size_t i = 0; i < std::size(variants); ++i) {
    if (i == 1) {
      EXPECT_TRUE(variants[i] == base);  // the trailing dot is the same name
      continue;
    }
    EXPECT_FALSE(variants[i] == base) << i;
    EXPECT_NE(variants[i].hash, base.hash) << i;
    hashes.insert(variants[i].hash);
  }
  EXPECT_EQ(hashes.size(), std::size(variants));  // all distinct from each other too
}

TEST(CacheKey, TypeAndClassDoNotAlias) {
  // qtype/qclass/bits are packed into one word; make sure swaps don't collide.
  const CacheKey a = key_of(query_for("x.example", 1, 28));
  const CacheKey b = key_of(query_for("x.example", 28, 1));
  const CacheKey c = key_of(query_for("x.example", 256, 1));
  const CacheKey d = key_of(query_for("x.example", 1, 256));
  EXPECT_FALSE(a == b);
  EXPECT_NE(a.hash, b.hash);
  EXPECT_NE(c.hash, d.hash);
  EXPECT_NE(a.hash, c.hash);
}

TEST(CacheKey, SeedChangesHashNotKey) {
  const Msg m = query_for("www.example.com");
  const CacheKey a = key_of(m, 1);
  const CacheKey b = key_of(m, 2);
  const CacheKey c = key_of(m, 0xffffffffffffffffULL);
  EXPECT_TRUE(a == b);
  EXPECT_NE(a.hash, b.hash);
  EXPECT_NE(a.hash, c.hash);
  EXPECT_NE(b.hash, c.hash);
  EXPECT_EQ(key_of(m, 2).hash, b.hash);
}

TEST(CacheKey, EqualityIgnoresBytesPastNameLen) {
  CacheKey a = key_of(query_for("a.example"));
  CacheKey b = a;
  std::memset(b.name + b.name_len, 0xee, sizeof b.name - b.name_len);
  EXPECT_TRUE(a == b);
  finalize_key(b, 0x0123456789abcdefULL);
  EXPECT_EQ(a.hash, b.hash);
  b.name[0] ^= 1;
  EXPECT_FALSE(a == b);
  b = a;
  b.name_len = static_cast<uint8_t>(b.name_len - 1);
  EXPECT_FALSE(a == b);
}

// Two different single-label names whose 16-byte blocks are crafted so that the block mixer
// multiplies by a power of two (a plain rotation). If the hash lets the attacker pick the
// multiplier independently of the secret seed, the pair collides for *every* seed and an
// attacker can fill one cache bucket with as many names as it likes.
TEST(CacheKey, NoSeedIndependentCollisions) {
  constexpr uint64_t k1 = 0xd6e8feb86659fd93ULL;  // the mixer's odd constant
  // k1's third byte is 'Y'; these shifts turn it into a byte that lower-casing keeps.
  for (unsigned shift : {17u, 21u, 22u, 23u}) {
    const uint64_t magic = k1 ^ (uint64_t{1} << shift);
    Bytes label(40, '0');  // name: [40] label[40] [0] = 42 bytes
    Bytes wire_a;
    wire_a.push_back(40);
    wire_a.insert(wire_a.end(), label.begin(), label.end());
    wire_a.push_back(0);
    for (int i = 0; i < 8; ++i) {
      wire_a[8 + i] = static_cast<uint8_t>(magic >> (8 * i));
      wire_a[24 + i] = static_cast<uint8_t>(magic >> (8 * i));
    }
    Bytes wire_b = wire_a;
    const uint64_t delta = 0x0100;  // flips a bit of byte 1
    const uint64_t rot = (delta << shift) | (delta >> (64 - shift));
    for (int i = 0; i < 8; ++i) {
      wire_b[i] ^= static_cast<uint8_t>(delta >> (8 * i));
      wire_b[16 + i] ^= static_cast<uint8_t>(rot >> (8 * i));
    }
    ASSERT_NE(wire_a, wire_b);
    // No upper-case letters, so the keys hold exactly these bytes.
    for (size_t i = 0; i < wire_a.size(); ++i) {
      ASSERT_FALSE(wire_a[i] >= 'A' && wire_a[i] <= 'Z') << i;
      ASSERT_FALSE(wire_b[i] >= 'A' && wire_b[i] <= 'Z') << i;
    }
    SCOPED_TRACE(shift);
    for (uint64_t seed : {0x0123456789abcdefULL, 0xfedcba9876543210ULL, 42ULL}) {
      Msg ma;
      ma.header(1, 0, 1, 0, 0, 0).raw(wire_a).u16(kTypeA).u16(kClassIN);
      Msg mb;
      mb.header(1, 0, 1, 0, 0, 0).raw(wire_b).u16(kTypeA).u16(kClassIN);
      const CacheKey a = key_of(ma, seed);
      const CacheKey b = key_of(mb, seed);
      ASSERT_FALSE(a == b);
      EXPECT_NE(a.hash, b.hash) << "seed " << seed;
    }
  }
}

// ---------------------------------------------------------------------------------------
// The error table

TEST(ParseErrorTable, NamesAndReactions) {
  EXPECT_EQ(kParseErrorCount, 23u);
  EXPECT_EQ(to_string(ParseError::kOk), "ok");
  EXPECT_EQ(to_string(ParseError::kTooShort), "too_short");
  EXPECT_EQ(to_string(ParseError::kBadEdnsVersion), "bad_edns_version");
  EXPECT_EQ(to_string(ParseError::kBadRdata), "bad_rdata");
  EXPECT_EQ(to_string(static_cast<ParseError>(200)), "unknown");
  EXPECT_EQ(reaction_to(ParseError::kOk), Reaction::kNone);
  EXPECT_EQ(reaction_to(ParseError::kTooShort), Reaction::kDrop);
  EXPECT_EQ(reaction_to(ParseError::kTruncatedName), Reaction::kFormErr);
  EXPECT_EQ(reaction_to(ParseError::kTrailingData), Reaction::kFormErr);
  std::set<std::string_view> names;
  for (size_t i = 0; i < kParseErrorCount; ++i) {
    const std::string_view n = to_string(static_cast<ParseError>(i));
    EXPECT_NE(n, "unknown") << i;
    names.insert(n);
  }
  EXPECT_EQ(names.size(), kParseErrorCount);
}

}  // namespace
}  // namespace dotgate::dns
