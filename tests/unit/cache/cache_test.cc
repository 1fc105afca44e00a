// Unit tests for the per-worker response cache (src/cache/cache.*).
//
// Upstream answers are built as wire bytes (tests/unit/cache/cache_test_util.h), parsed with
// dns::parse_response and inserted with Cache::insert under keys from dns::parse_query +
// dns::finalize_key, exactly as the data path does. Time is explicit (seconds).
#include "cache/cache.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <tuple>
#include <vector>

#include "cache_test_util.h"
#include "dns/builder.h"
#include "dns/message.h"
#include "dns/name.h"
#include "dns/query.h"

namespace dotgate::cache {
namespace {

using test::Bytes;
using test::Client;
using test::Decoded;
using test::Parsed;
using test::Q;
using test::ResponseBuilder;
using test::Rr;
using ::testing::ElementsAre;
using ::testing::SizeIs;

constexpr uint64_t kSeed = 0x5eed1234abcd0001ULL;
constexpr uint32_t kT0 = 100000;  // an arbitrary monotonic "now" to start from

// ---- canned upstream answers ---------------------------------------------------------------

// `n` A records for qname (owners compressed to the question), each with `ttl`.
Bytes a_answer(std::string_view qname, uint32_t ttl, int n = 1, uint8_t last_octet = 1) {
  ResponseBuilder b(qname, dns::kTypeA);
  for (int i = 0; i < n; ++i) b.a(ttl, test::ipv4(192, 0, 2, static_cast<uint8_t>(last_octet + i)));
  return b.bytes();
}

Bytes aaaa_answer(std::string_view qname, uint32_t ttl, uint16_t lo = 1) {
  ResponseBuilder b(qname, dns::kTypeAAAA);
  b.aaaa(ttl, test::ipv6(0, lo));
  return b.bytes();
}

// www.example.com CNAME web.example.com (compressed into the question), web.example.com A.
Bytes cname_chain(std::string_view qname, uint32_t cname_ttl, uint32_t a_ttl) {
  ResponseBuilder b(qname, dns::kTypeA);
  const size_t target = b.rr(dns::Section::kAnswer, test::ptr(ResponseBuilder::kQname), dns::kTypeCNAME, cname_ttl,
                             test::labels_then("web", b.suffix(1)));
  b.rr(dns::Section::kAnswer, test::ptr(target), dns::kTypeA, a_ttl, test::ipv4(198, 51, 100, 7));
  return b.bytes();
}

Bytes nxdomain(std::string_view qname, uint16_t qtype, uint32_t soa_ttl, uint32_t minimum) {
  ResponseBuilder b(qname, qtype);
  b.rcode(dns::kNxDomain);
  b.soa(soa_ttl, minimum);
  return b.bytes();
}

Bytes nodata(std::string_view qname, uint16_t qtype, uint32_t soa_ttl, uint32_t minimum) {
  ResponseBuilder b(qname, qtype);
  b.soa(soa_ttl, minimum);
  return b.bytes();
}

Bytes with_opt(Bytes msg, uint16_t udp = 4096, bool do_bit = false, const Bytes& options = {}) {
  // Append an OPT to an already built message: patch ARCOUNT.
  msg.push_back(0);
  test::put16(msg, dns::kTypeOPT);
  test::put16(msg, udp);
  test::put32(msg, do_bit ? dns::kEdnsDoBit : 0);
  test::put16(msg, static_cast<uint16_t>(options.size()));
  msg.insert(msg.end(), options.begin(), options.end());
  dns::store_u16(msg.data() + dns::kOffArcount, static_cast<uint16_t>(dns::load_u16(msg.data() + dns::kOffArcount) + 1));
  return msg;
}

// ---- fixture -------------------------------------------------------------------------------

CacheConfig small_config() {
  CacheConfig c;
  c.memory_bytes = size_t{4} << 20;
  return c;
}

class CacheTest : public ::testing::Test {
 protected:
  void SetUp() override { make(small_config()); }

  void make(const CacheConfig& cfg, uint64_t seed = kSeed) { cache_ = std::make_unique<Cache>(cfg, seed); }
  Cache& cache() { return *cache_; }

  Client q(const Q& b) const { return b.build(cache_->hash_seed()); }

  StoreResult store(const Client& c, const Bytes& resp, uint32_t now) {
    Parsed p = test::parse_upstream(resp);
    EXPECT_EQ(p.err, dns::ParseError::kOk) << "test built a malformed upstream answer";
    return cache_->insert(c.key(), p.msg.data(), p.msg.size(), p.r, p.ttl_offsets.data(), now);
  }
  CacheHit find(const Client& c, uint32_t now) { return cache_->lookup(c.key(), now); }

  // Writes the answer for a hit and decodes it (asserting it parses).
  Decoded answer(const Client& c, const CacheHit& hit, uint32_t now, size_t limit = 65535) {
    Bytes out(65535);
    const size_t n = cache_->write_answer(hit, c.msg.data(), c.q, out.data(), out.size(), limit, now);
    EXPECT_NE(n, 0u);
    Decoded d = test::decode(out.data(), n);
    EXPECT_EQ(d.err, dns::ParseError::kOk) << "cache wrote an unparsable answer";
    return d;
  }

  // Lookup + write in one go; expects a hit of the given status.
  Decoded hit_answer(const Client& c, uint32_t now, LookupStatus want = LookupStatus::kFresh, size_t limit = 65535) {
    const CacheHit h = find(c, now);
    EXPECT_EQ(h.status, want);
    if (h.status == LookupStatus::kMiss) return Decoded{};
    return answer(c, h, now, limit);
  }

  std::unique_ptr<Cache> cache_;
};

std::string nm(int i) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "n%06d.example.com", i);
  return buf;
}

// ---- basic hit / miss ----------------------------------------------------------------------

TEST_F(CacheTest, MissOnEmptyCache) {
  const Client c = q(Q("www.example.com", dns::kTypeA));
  EXPECT_EQ(find(c, kT0).status, LookupStatus::kMiss);
  const CacheStats s = cache().stats();
  EXPECT_EQ(s.entries, 0u);
  EXPECT_EQ(s.lookups_miss, 1u);
  EXPECT_EQ(s.arena_used_bytes, 0u);
  EXPECT_GT(s.arena_bytes, 0u);
  EXPECT_GE(s.index_slots, 64u);
  EXPECT_EQ(cache().hash_seed(), kSeed);
}

TEST_F(CacheTest, HitAfterInsert) {
  const Client c = q(Q("www.example.com", dns::kTypeA));
  ASSERT_EQ(store(c, a_answer("www.example.com", 300, 2), kT0), StoreResult::kStored);
  const CacheHit h = find(c, kT0);
  EXPECT_EQ(h.status, LookupStatus::kFresh);
  EXPECT_NE(h.record, nullptr);
  EXPECT_FALSE(h.prefetch);
  const Decoded d = answer(c, h, kT0);
  EXPECT_EQ(d.r.rcode, dns::kNoError);
  EXPECT_EQ(d.qname, "www.example.com.");
  EXPECT_EQ(d.r.qtype, dns::kTypeA);
  EXPECT_EQ(d.r.qclass, dns::kClassIN);
  ASSERT_THAT(d.answers(dns::kTypeA), SizeIs(2));
  EXPECT_EQ(d.answers().at(0).rdata, test::ipv4(192, 0, 2, 1));
  EXPECT_EQ(d.answers().at(1).rdata, test::ipv4(192, 0, 2, 2));
  EXPECT_EQ(d.answers().at(0).owner, "www.example.com.");
  EXPECT_EQ(d.answers().at(0).ttl, 300u);
  EXPECT_TRUE(d.flags & dns::kFlagQR);
  EXPECT_TRUE(d.flags & dns::kFlagRA);
  EXPECT_FALSE(d.flags & dns::kFlagTC);
  const CacheStats s = cache().stats();
  EXPECT_EQ(s.entries, 1u);
  EXPECT_EQ(s.inserts, 1u);
  EXPECT_EQ(s.lookups_fresh, 1u);
  EXPECT_GT(s.arena_used_bytes, 0u);
  EXPECT_EQ(s.stored_wire_bytes, a_answer("www.example.com", 300, 2).size());
}

TEST_F(CacheTest, MissForDifferentQtypeQclassDoCdOrName) {
  const Client base = q(Q("www.example.com", dns::kTypeA));
  ASSERT_EQ(store(base, a_answer("www.example.com", 300), kT0), StoreResult::kStored);
  EXPECT_EQ(find(base, kT0).status, LookupStatus::kFresh);
  EXPECT_EQ(find(q(Q("www.example.com", dns::kTypeAAAA)), kT0).status, LookupStatus::kMiss);
  EXPECT_EQ(find(q(Q("www.example.com", dns::kTypeA).cls(dns::kClassCH)), kT0).status, LookupStatus::kMiss);
  EXPECT_EQ(find(q(Q("www.example.com", dns::kTypeA).dnssec()), kT0).status, LookupStatus::kMiss);
  EXPECT_EQ(find(q(Q("www.example.com", dns::kTypeA).cd()), kT0).status, LookupStatus::kMiss);
  EXPECT_EQ(find(q(Q("www.example.org", dns::kTypeA)), kT0).status, LookupStatus::kMiss);
  EXPECT_EQ(find(q(Q("ww.example.com", dns::kTypeA)), kT0).status, LookupStatus::kMiss);
  EXPECT_EQ(find(q(Q("example.com", dns::kTypeA)), kT0).status, LookupStatus::kMiss);
  EXPECT_EQ(find(q(Q("www.example.com.example.com", dns::kTypeA)), kT0).status, LookupStatus::kMiss);
  // EDNS without DO and a different ID/RD are the same key.
  EXPECT_EQ(find(q(Q("www.example.com", dns::kTypeA).edns(4096)), kT0).status, LookupStatus::kFresh);
  EXPECT_EQ(find(q(Q("www.example.com", dns::kTypeA).id(7).rd(false)), kT0).status, LookupStatus::kFresh);
}

TEST_F(CacheTest, DoAndCdVariantsAreSeparateEntries) {
  const Client plain = q(Q("www.example.com", dns::kTypeA));
  const Client dnssec = q(Q("www.example.com", dns::kTypeA).dnssec());
  const Client cd = q(Q("www.example.com", dns::kTypeA).cd());
  const Client both = q(Q("www.example.com", dns::kTypeA).cd().dnssec());
  ASSERT_EQ(store(plain, a_answer("www.example.com", 300, 1, 1), kT0), StoreResult::kStored);
  ASSERT_EQ(store(dnssec, a_answer("www.example.com", 300, 1, 2), kT0), StoreResult::kStored);
  ASSERT_EQ(store(cd, a_answer("www.example.com", 300, 1, 3), kT0), StoreResult::kStored);
  ASSERT_EQ(store(both, a_answer("www.example.com", 300, 1, 4), kT0), StoreResult::kStored);
  EXPECT_EQ(cache().stats().entries, 4u);
  EXPECT_EQ(cache().stats().replaced, 0u);
  EXPECT_EQ(hit_answer(plain, kT0).answers().at(0).rdata, test::ipv4(192, 0, 2, 1));
  EXPECT_EQ(hit_answer(dnssec, kT0).answers().at(0).rdata, test::ipv4(192, 0, 2, 2));
  EXPECT_EQ(hit_answer(cd, kT0).answers().at(0).rdata, test::ipv4(192, 0, 2, 3));
  EXPECT_EQ(hit_answer(both, kT0).answers().at(0).rdata, test::ipv4(192, 0, 2, 4));
}

TEST_F(CacheTest, CaseInsensitiveLookupEchoesClientSpellingIdAndRd) {
  // The upstream answered in yet another case (0x20 randomisation).
  const Client ins = q(Q("www.example.com", dns::kTypeA));
  ASSERT_EQ(store(ins, a_answer("WWW.example.COM", 300), kT0), StoreResult::kStored);

  const Client c = q(Q("WwW.ExAmple.COM", dns::kTypeA).id(0xbeef).rd(false));
  const Decoded d = hit_answer(c, kT0 + 10);
  EXPECT_EQ(d.qname, "WwW.ExAmple.COM.");
  EXPECT_EQ(d.id, 0xbeef);
  EXPECT_FALSE(d.flags & dns::kFlagRD);
  ASSERT_THAT(d.answers(), SizeIs(1));
  // The owner is a pointer to the question, so it carries the client's spelling too.
  EXPECT_EQ(d.answers().at(0).owner, "WwW.ExAmple.COM.");
  EXPECT_EQ(d.answers().at(0).ttl, 290u);

  const Client c2 = q(Q("WWW.EXAMPLE.COM", dns::kTypeA).id(0x0102).rd(true));
  const Decoded d2 = hit_answer(c2, kT0 + 10);
  EXPECT_EQ(d2.qname, "WWW.EXAMPLE.COM.");
  EXPECT_EQ(d2.id, 0x0102);
  EXPECT_TRUE(d2.flags & dns::kFlagRD);
  // A different client spelling does not leak into the next answer.
  const Decoded d3 = hit_answer(q(Q("www.example.com", dns::kTypeA)), kT0 + 10);
  EXPECT_EQ(d3.qname, "www.example.com.");
  EXPECT_EQ(d3.answers().at(0).owner, "www.example.com.");
}

TEST_F(CacheTest, InsertUnderMixedCaseKeyFoundByLowerCase) {
  const Client ins = q(Q("MiXeD.Example.Com", dns::kTypeAAAA));
  ASSERT_EQ(store(ins, aaaa_answer("MiXeD.Example.Com", 600, 0x99), kT0), StoreResult::kStored);
  const Decoded d = hit_answer(q(Q("mixed.example.com", dns::kTypeAAAA)), kT0);
  EXPECT_EQ(d.qname, "mixed.example.com.");
  ASSERT_THAT(d.answers(dns::kTypeAAAA), SizeIs(1));
  EXPECT_EQ(d.answers().at(0).rdata, test::ipv6(0, 0x99));
}

TEST_F(CacheTest, CnameChainWithCompression) {
  const Client c = q(Q("www.example.com", dns::kTypeA));
  ASSERT_EQ(store(c, cname_chain("www.example.com", 3600, 120), kT0), StoreResult::kStored);
  const Decoded d = hit_answer(q(Q("Www.Example.Com", dns::kTypeA)), kT0 + 20);
  ASSERT_THAT(d.answers(), SizeIs(2));
  EXPECT_EQ(d.answers().at(0).type, dns::kTypeCNAME);
  EXPECT_EQ(d.answers().at(0).owner, "Www.Example.Com.");
  // The target was compressed into the question's "example.com": it follows the client spelling.
  EXPECT_EQ(d.answers().at(0).target, "web.Example.Com.");
  EXPECT_EQ(d.answers().at(0).ttl, 3580u);
  EXPECT_EQ(d.answers().at(1).type, dns::kTypeA);
  EXPECT_EQ(d.answers().at(1).owner, "web.Example.Com.");
  EXPECT_EQ(d.answers().at(1).ttl, 100u);
  EXPECT_EQ(d.answers().at(1).rdata, test::ipv4(198, 51, 100, 7));
  // Entry lifetime is the minimum TTL of the chain.
  EXPECT_EQ(find(c, kT0 + 119).status, LookupStatus::kFresh);
  EXPECT_EQ(find(c, kT0 + 120).status, LookupStatus::kStale);
}

TEST_F(CacheTest, AdFlagOnlyForDoOrAdClients) {
  ResponseBuilder rb("secure.example", dns::kTypeA);
  rb.set_flags(dns::kFlagAD);
  rb.a(300, test::ipv4(192, 0, 2, 53));
  const Client plain = q(Q("secure.example", dns::kTypeA));
  const Client dnssec = q(Q("secure.example", dns::kTypeA).dnssec());
  ASSERT_EQ(store(plain, rb.bytes(), kT0), StoreResult::kStored);
  ASSERT_EQ(store(dnssec, with_opt(rb.bytes(), 4096, true), kT0), StoreResult::kStored);

  EXPECT_FALSE(hit_answer(plain, kT0).flags & dns::kFlagAD);
  // A client that set AD itself gets it (RFC 6840 5.8); same key as the plain client.
  EXPECT_TRUE(hit_answer(q(Q("secure.example", dns::kTypeA).ad()), kT0).flags & dns::kFlagAD);
  // EDNS without DO and without AD: cleared.
  EXPECT_FALSE(hit_answer(q(Q("secure.example", dns::kTypeA).edns()), kT0).flags & dns::kFlagAD);
  const Decoded d = hit_answer(dnssec, kT0);
  EXPECT_TRUE(d.flags & dns::kFlagAD);
  EXPECT_EQ(d.opt_count, 1);
  EXPECT_TRUE(d.opt_do());
}

// The dataplane answers in the query's own buffer (out == query): same bytes as answering
// into a separate buffer, for fresh, stale, truncated, EDNS and non-EDNS clients.
TEST_F(CacheTest, WriteAnswerInPlaceMatchesSeparateBuffer) {
  const Client ins = q(Q("www.example.com", dns::kTypeA));
  ASSERT_EQ(store(ins, with_opt(cname_chain("www.example.com", 600, 100)), kT0), StoreResult::kStored);
  const Client big_ins = q(Q("big.example.com", dns::kTypeA));
  ASSERT_EQ(store(big_ins, a_answer("big.example.com", 300, 40), kT0), StoreResult::kStored);
  const std::vector<Client> clients = {
      q(Q("WwW.ExAmple.COM", dns::kTypeA).id(0x1234).rd(false)),
      q(Q("www.EXAMPLE.com", dns::kTypeA).id(0x4321).edns(4096)),
      q(Q("www.example.com", dns::kTypeA).id(0x0001).edns(512).ad()),
      q(Q("BIG.example.com", dns::kTypeA).id(0x7777)),
      q(Q("big.example.COM", dns::kTypeA).id(0x7778).edns(512)),
      q(Q("big.example.com", dns::kTypeA).id(0x7779).edns(1232)),
  };
  for (uint32_t now : {kT0 + 5, kT0 + 150, kT0 + 400}) {
    for (const Client& c : clients) {
      const CacheHit h = find(c, now);
      ASSERT_NE(h.status, LookupStatus::kMiss);
      const size_t limit = c.q.udp_limit(1232);
      Bytes sep(4096);
      const size_t ls = cache().write_answer(h, c.msg.data(), c.q, sep.data(), sep.size(), limit, now);
      ASSERT_NE(ls, 0u);
      sep.resize(ls);
      Bytes inplace = c.msg;
      inplace.resize(4096, 0xee);
      const size_t li = cache().write_answer(h, inplace.data(), c.q, inplace.data(), inplace.size(), limit, now);
      ASSERT_EQ(li, ls);
      inplace.resize(li);
      EXPECT_EQ(inplace, sep) << test::decompress(c.msg.data(), c.msg.size(), dns::kHeaderSize) << " at " << now;
      const Decoded d = test::decode(inplace.data(), inplace.size());
      ASSERT_EQ(d.err, dns::ParseError::kOk);
      EXPECT_EQ(d.qname, test::decompress(c.msg.data(), c.msg.size(), dns::kHeaderSize));
      EXPECT_EQ(d.id, c.q.id);
      EXPECT_LE(d.len, limit);
    }
  }
}

TEST_F(CacheTest, WriteAnswerNeedsRoom) {
  const Client c = q(Q("www.example.com", dns::kTypeA));
  ASSERT_EQ(store(c, a_answer("www.example.com", 300), kT0), StoreResult::kStored);
  const CacheHit h = find(c, kT0);
  ASSERT_EQ(h.status, LookupStatus::kFresh);
  Bytes out(20);
  // Not even the header + question + OPT fit.
  EXPECT_EQ(cache().write_answer(h, c.msg.data(), c.q, out.data(), out.size(), 512, kT0), 0u);
}

// ---- TTLs, expiry and serve-stale ----------------------------------------------------------

TEST_F(CacheTest, TtlsDecayWithElapsedTime) {
  const Client c = q(Q("www.example.com", dns::kTypeA));
  ResponseBuilder b("www.example.com", dns::kTypeA);
  b.a(300, test::ipv4(192, 0, 2, 1));
  b.a(200, test::ipv4(192, 0, 2, 2));
  ASSERT_EQ(store(c, b.bytes(), kT0), StoreResult::kStored);
  for (uint32_t age : {0u, 1u, 50u, 150u, 199u}) {
    const Decoded d = hit_answer(c, kT0 + age);
    ASSERT_THAT(d.answers(), SizeIs(2));
    EXPECT_EQ(d.answers().at(0).ttl, 300 - age) << age;
    EXPECT_EQ(d.answers().at(1).ttl, 200 - age) << age;
  }
  // The entry lives as long as its shortest TTL.
  EXPECT_EQ(find(c, kT0 + 200).status, LookupStatus::kStale);
}

TEST_F(CacheTest, TtlNeverBelowZeroWhenWrittenLate) {
  const Client c = q(Q("www.example.com", dns::kTypeA));
  ResponseBuilder b("www.example.com", dns::kTypeA);
  b.a(300, test::ipv4(192, 0, 2, 1));
  b.a(20, test::ipv4(192, 0, 2, 2));
  ASSERT_EQ(store(c, b.bytes(), kT0), StoreResult::kStored);
  const CacheHit h = find(c, kT0 + 19);
  ASSERT_EQ(h.status, LookupStatus::kFresh);
  // Written long after the lookup (a slow path): TTLs saturate at zero, never wrap.
  const Decoded d = answer(c, h, kT0 + 100);
  ASSERT_THAT(d.answers(), SizeIs(2));
  EXPECT_EQ(d.answers().at(0).ttl, 200u);
  EXPECT_EQ(d.answers().at(1).ttl, 0u);
  const Decoded d2 = answer(c, h, kT0 + 100000);
  EXPECT_EQ(d2.answers().at(0).ttl, 0u);
  EXPECT_EQ(d2.answers().at(1).ttl, 0u);
}

TEST_F(CacheTest, MinTtlRaisesShortTtls) {
  CacheConfig cfg = small_config();
  cfg.min_ttl = 60;
  make(cfg);
  const Client c = q(Q("short.example", dns::kTypeA));
  ResponseBuilder b("short.example", dns::kTypeA);
  b.a(5, test::ipv4(192, 0, 2, 1));
  b.a(600, test::ipv4(192, 0, 2, 2));
  ASSERT_EQ(store(c, b.bytes(), kT0), StoreResult::kStored);
  const Decoded d = hit_answer(c, kT0 + 10);
  ASSERT_THAT(d.answers(), SizeIs(2));
  EXPECT_EQ(d.answers().at(0).ttl, 50u);
  EXPECT_EQ(d.answers().at(1).ttl, 590u);
  EXPECT_EQ(find(c, kT0 + 59).status, LookupStatus::kFresh);
  EXPECT_EQ(find(c, kT0 + 60).status, LookupStatus::kStale);
}

TEST_F(CacheTest, MinTtlRescuesZeroTtl) {
  CacheConfig cfg = small_config();
  cfg.min_ttl = 10;
  make(cfg);
  const Client c = q(Q("zero.example", dns::kTypeA));
  ASSERT_EQ(store(c, a_answer("zero.example", 0), kT0), StoreResult::kStored);
  EXPECT_EQ(hit_answer(c, kT0).answers().at(0).ttl, 10u);
}

TEST_F(CacheTest, MaxTtlCapsLongTtls) {
  CacheConfig cfg = small_config();
  cfg.max_ttl = 3600;
  make(cfg);
  const Client c = q(Q("long.example", dns::kTypeA));
  ResponseBuilder b("long.example", dns::kTypeA);
  b.a(604800, test::ipv4(192, 0, 2, 1));
  b.a(1800, test::ipv4(192, 0, 2, 2));
  ASSERT_EQ(store(c, b.bytes(), kT0), StoreResult::kStored);
  const Decoded d = hit_answer(c, kT0);
  EXPECT_EQ(d.answers().at(0).ttl, 3600u);
  EXPECT_EQ(d.answers().at(1).ttl, 1800u);
  EXPECT_EQ(find(c, kT0 + 1799).status, LookupStatus::kFresh);
  EXPECT_EQ(find(c, kT0 + 1800).status, LookupStatus::kStale);

  // A single huge TTL is capped and so is the entry's lifetime.
  const Client c2 = q(Q("huge.example", dns::kTypeA));
  ASSERT_EQ(store(c2, a_answer("huge.example", 0x7fffffff), kT0), StoreResult::kStored);
  EXPECT_EQ(hit_answer(c2, kT0 + 100).answers().at(0).ttl, 3500u);
  EXPECT_EQ(find(c2, kT0 + 3599).status, LookupStatus::kFresh);
  EXPECT_EQ(find(c2, kT0 + 3600).status, LookupStatus::kStale);
}

TEST_F(CacheTest, TtlWithHighBitIsZero) {
  // RFC 2181 8: a TTL with the top bit set means zero.
  const Client c = q(Q("weird.example", dns::kTypeA));
  EXPECT_EQ(store(c, a_answer("weird.example", 0x80000010u), kT0), StoreResult::kZeroTtl);
  EXPECT_EQ(find(c, kT0).status, LookupStatus::kMiss);
}

TEST_F(CacheTest, ExpiresAtMinimumRecordTtl) {
  const Client c = q(Q("www.example.com", dns::kTypeA));
  ResponseBuilder b("www.example.com", dns::kTypeA);
  b.a(300, test::ipv4(192, 0, 2, 1));
  b.rr(dns::Section::kAuthority, test::ptr(b.suffix(1)), dns::kTypeNS, 172800, test::labels_then("ns1", b.suffix(1)));
  b.rr(dns::Section::kAdditional, test::labels_then("ns1", b.suffix(1)), dns::kTypeA, 45, test::ipv4(192, 0, 2, 53));
  ASSERT_EQ(store(c, b.bytes(), kT0), StoreResult::kStored);
  EXPECT_EQ(find(c, kT0 + 44).status, LookupStatus::kFresh);
  EXPECT_EQ(find(c, kT0 + 45).status, LookupStatus::kStale);
}

TEST_F(CacheTest, StaleAnswerWithinWindowCarriesEde) {
  CacheConfig cfg = small_config();
  cfg.stale_window = 1000;
  cfg.stale_answer_ttl = 30;
  make(cfg);
  const Client plain = q(Q("www.example.com", dns::kTypeA));
  ASSERT_EQ(store(plain, cname_chain("www.example.com", 600, 100), kT0), StoreResult::kStored);

  // Client without EDNS: stale TTLs, no OPT.
  const Decoded d = hit_answer(plain, kT0 + 100, LookupStatus::kStale);
  ASSERT_THAT(d.answers(), SizeIs(2));
  for (const Rr& rr : d.answers()) EXPECT_EQ(rr.ttl, 30u);
  EXPECT_EQ(d.opt_count, 0);
  EXPECT_EQ(d.r.arcount, 0u);

  // Client with EDNS: one OPT carrying EDE 15 "Stale Answer" (INFO-CODE 3).
  const Client edns = q(Q("www.example.com", dns::kTypeA).edns());
  const Decoded e = hit_answer(edns, kT0 + 1099, LookupStatus::kStale);
  ASSERT_THAT(e.answers(), SizeIs(2));
  for (const Rr& rr : e.answers()) EXPECT_EQ(rr.ttl, 30u);
  EXPECT_EQ(e.opt_count, 1);
  EXPECT_THAT(e.opt_options, ElementsAre(std::make_pair(uint16_t{15}, Bytes{0, 3})));
  EXPECT_EQ(cache().stats().lookups_stale, 2u);

  // A fresh answer to the EDNS client has no EDE.
  const Client ins2 = q(Q("fresh.example.com", dns::kTypeA).edns());
  ASSERT_EQ(store(ins2, a_answer("fresh.example.com", 300), kT0), StoreResult::kStored);
  EXPECT_TRUE(hit_answer(ins2, kT0 + 1).opt_options.empty());

  // Past the stale window: a miss, and the entry is gone.
  const uint64_t entries = cache().stats().entries;
  EXPECT_EQ(find(plain, kT0 + 1100).status, LookupStatus::kMiss);
  EXPECT_EQ(cache().stats().entries, entries - 1);
  EXPECT_EQ(cache().stats().expired, 1u);
  EXPECT_EQ(find(plain, kT0 + 1100).status, LookupStatus::kMiss);
  EXPECT_EQ(find(plain, kT0).status, LookupStatus::kMiss) << "dropped, not just hidden";
}

TEST_F(CacheTest, StaleWindowZeroMissesRightAfterExpiry) {
  CacheConfig cfg = small_config();
  cfg.stale_window = 0;
  make(cfg);
  const Client c = q(Q("www.example.com", dns::kTypeA));
  ASSERT_EQ(store(c, a_answer("www.example.com", 60), kT0), StoreResult::kStored);
  EXPECT_EQ(find(c, kT0 + 59).status, LookupStatus::kFresh);
  EXPECT_EQ(find(c, kT0 + 60).status, LookupStatus::kMiss);
  EXPECT_EQ(cache().stats().entries, 0u);
  EXPECT_EQ(cache().stats().expired, 1u);
}

TEST_F(CacheTest, StaleTtlIsConfigurable) {
  CacheConfig cfg = small_config();
  cfg.stale_answer_ttl = 7;
  make(cfg);
  const Client c = q(Q("www.example.com", dns::kTypeA).dnssec());
  ASSERT_EQ(store(c, a_answer("www.example.com", 60), kT0), StoreResult::kStored);
  const Decoded d = hit_answer(c, kT0 + 5000, LookupStatus::kStale);
  EXPECT_EQ(d.answers().at(0).ttl, 7u);
  EXPECT_TRUE(d.opt_do());
}

// ---- negative caching and what is not stored -------------------------------------------------

TEST_F(CacheTest, NxdomainUsesSoaMinimum) {
  const Client c = q(Q("nope.example.com", dns::kTypeA));
  ASSERT_EQ(store(c, nxdomain("nope.example.com", dns::kTypeA, 3600, 300), kT0), StoreResult::kStored);
  const Decoded d = hit_answer(q(Q("NOPE.example.com", dns::kTypeA)), kT0 + 100);
  EXPECT_EQ(d.r.rcode, dns::kNxDomain);
  EXPECT_TRUE(d.answers().empty());
  const auto soa = d.records(dns::Section::kAuthority, dns::kTypeSOA);
  ASSERT_THAT(soa, SizeIs(1));
  EXPECT_EQ(soa.at(0).owner, "example.com.");
  EXPECT_EQ(soa.at(0).target, "ns1.example.com.");
  EXPECT_EQ(soa.at(0).rname, "hostmaster.example.com.");
  EXPECT_EQ(soa.at(0).soa_minimum, 300u);
  EXPECT_EQ(soa.at(0).ttl, 200u);  // min(3600, 300) - 100
  EXPECT_EQ(find(c, kT0 + 299).status, LookupStatus::kFresh);
  EXPECT_EQ(find(c, kT0 + 300).status, LookupStatus::kStale);
}

TEST_F(CacheTest, NxdomainUsesSoaTtlWhenSmaller) {
  const Client c = q(Q("nope.example.com", dns::kTypeA));
  ASSERT_EQ(store(c, nxdomain("nope.example.com", dns::kTypeA, 120, 900), kT0), StoreResult::kStored);
  EXPECT_EQ(hit_answer(c, kT0).records(dns::Section::kAuthority).at(0).ttl, 120u);
  EXPECT_EQ(find(c, kT0 + 119).status, LookupStatus::kFresh);
  EXPECT_EQ(find(c, kT0 + 120).status, LookupStatus::kStale);
}

TEST_F(CacheTest, NegativeTtlCappedByNegativeMaxTtl) {
  CacheConfig cfg = small_config();
  cfg.negative_max_ttl = 60;
  make(cfg);
  const Client nx = q(Q("nope.example.com", dns::kTypeA));
  const Client nd = q(Q("www.example.com", dns::kTypeAAAA));
  ASSERT_EQ(store(nx, nxdomain("nope.example.com", dns::kTypeA, 86400, 3600), kT0), StoreResult::kStored);
  ASSERT_EQ(store(nd, nodata("www.example.com", dns::kTypeAAAA, 86400, 3600), kT0), StoreResult::kStored);
  EXPECT_EQ(hit_answer(nx, kT0).records(dns::Section::kAuthority).at(0).ttl, 60u);
  EXPECT_EQ(hit_answer(nd, kT0 + 30).records(dns::Section::kAuthority).at(0).ttl, 30u);
  EXPECT_EQ(find(nx, kT0 + 59).status, LookupStatus::kFresh);
  EXPECT_EQ(find(nx, kT0 + 60).status, LookupStatus::kStale);
  EXPECT_EQ(find(nd, kT0 + 60).status, LookupStatus::kStale);
}

TEST_F(CacheTest, NodataCachedWithSoa) {
  const Client c = q(Q("www.example.com", dns::kTypeAAAA));
  ASSERT_EQ(store(c, nodata("www.example.com", dns::kTypeAAAA, 900, 600), kT0), StoreResult::kStored);
  const Decoded d = hit_answer(c, kT0 + 1);
  EXPECT_EQ(d.r.rcode, dns::kNoError);
  EXPECT_TRUE(d.answers().empty());
  EXPECT_EQ(d.records(dns::Section::kAuthority, dns::kTypeSOA).at(0).ttl, 599u);
  EXPECT_EQ(find(c, kT0 + 600).status, LookupStatus::kStale);
  // The A record for the same name is a different entry.
  EXPECT_EQ(find(q(Q("www.example.com", dns::kTypeA)), kT0).status, LookupStatus::kMiss);
}

TEST_F(CacheTest, NxdomainAfterCnameNeedsSoa) {
  const Client c = q(Q("alias.example.com", dns::kTypeA));
  ResponseBuilder b("alias.example.com", dns::kTypeA);
  b.rcode(dns::kNxDomain);
  b.rr(dns::Section::kAnswer, test::ptr(ResponseBuilder::kQname), dns::kTypeCNAME, 3600,
       test::labels_then("gone", b.suffix(1)));
  EXPECT_EQ(store(c, b.bytes(), kT0), StoreResult::kNegativeNoSoa);
  b.soa(600, 60);
  ASSERT_EQ(store(c, b.bytes(), kT0), StoreResult::kStored);
  const Decoded d = hit_answer(c, kT0 + 10);
  EXPECT_EQ(d.r.rcode, dns::kNxDomain);
  ASSERT_THAT(d.answers(dns::kTypeCNAME), SizeIs(1));
  // Every TTL in a negative answer is bounded by the negative TTL.
  EXPECT_EQ(d.answers().at(0).ttl, 50u);
  EXPECT_EQ(find(c, kT0 + 60).status, LookupStatus::kStale);
}

TEST_F(CacheTest, NegativeWithoutSoaNotStored) {
  const Client c = q(Q("nope.example.com", dns::kTypeA));
  ResponseBuilder nx("nope.example.com", dns::kTypeA);
  nx.rcode(dns::kNxDomain);
  EXPECT_EQ(store(c, nx.bytes(), kT0), StoreResult::kNegativeNoSoa);
  ResponseBuilder nd("nope.example.com", dns::kTypeA);
  EXPECT_EQ(store(c, nd.bytes(), kT0), StoreResult::kNegativeNoSoa);
  // An NS in the authority section is no substitute for the SOA.
  ResponseBuilder ns("nope.example.com", dns::kTypeA);
  ns.rr(dns::Section::kAuthority, test::ptr(ns.suffix(1)), dns::kTypeNS, 3600, test::labels_then("ns1", ns.suffix(1)));
  EXPECT_EQ(store(c, ns.bytes(), kT0), StoreResult::kNegativeNoSoa);
  EXPECT_EQ(find(c, kT0).status, LookupStatus::kMiss);
  EXPECT_EQ(cache().stats().entries, 0u);
  EXPECT_EQ(cache().stats().not_stored, 3u);
}

TEST_F(CacheTest, NegativeWithZeroTtlNotStored) {
  const Client c = q(Q("nope.example.com", dns::kTypeA));
  EXPECT_EQ(store(c, nxdomain("nope.example.com", dns::kTypeA, 0, 300), kT0), StoreResult::kZeroTtl);
  EXPECT_EQ(store(c, nxdomain("nope.example.com", dns::kTypeA, 300, 0), kT0), StoreResult::kZeroTtl);
  EXPECT_EQ(store(c, a_answer("nope.example.com", 0), kT0), StoreResult::kZeroTtl);
  EXPECT_EQ(find(c, kT0).status, LookupStatus::kMiss);
  EXPECT_EQ(cache().stats().entries, 0u);
}

TEST_F(CacheTest, ServfailKeptForServfailTtlOnly) {
  CacheConfig cfg = small_config();
  cfg.servfail_ttl = 5;
  make(cfg);
  const Client c = q(Q("broken.example", dns::kTypeA).edns());
  const Bytes sf = with_opt(ResponseBuilder("broken.example", dns::kTypeA).rcode(dns::kServFail).bytes());
  ASSERT_EQ(store(c, sf, kT0), StoreResult::kStored);
  const Decoded d = hit_answer(c, kT0 + 4);
  EXPECT_EQ(d.r.rcode, dns::kServFail);
  EXPECT_EQ(d.opt_count, 1);
  // Expired: a SERVFAIL is never served stale, whatever the stale window.
  EXPECT_EQ(find(c, kT0 + 5).status, LookupStatus::kMiss);

  // Records in a SERVFAIL (unusual, but seen) are capped at servfail_ttl too.
  ResponseBuilder b("broken2.example", dns::kTypeA);
  b.rcode(dns::kServFail);
  b.a(3600, test::ipv4(192, 0, 2, 1));
  const Client c2 = q(Q("broken2.example", dns::kTypeA));
  ASSERT_EQ(store(c2, b.bytes(), kT0), StoreResult::kStored);
  EXPECT_EQ(hit_answer(c2, kT0 + 1).answers().at(0).ttl, 4u);
  EXPECT_NE(find(c2, kT0 + 5).status, LookupStatus::kFresh);
}

TEST_F(CacheTest, ServfailNotStoredWithZeroTtl) {
  CacheConfig cfg = small_config();
  cfg.servfail_ttl = 0;
  make(cfg);
  const Client c = q(Q("broken.example", dns::kTypeA));
  EXPECT_EQ(store(c, ResponseBuilder("broken.example", dns::kTypeA).rcode(dns::kServFail).bytes(), kT0),
            StoreResult::kRcodeNotCached);
  EXPECT_EQ(find(c, kT0).status, LookupStatus::kMiss);
}

TEST_F(CacheTest, RefusedFormerrNotimpNotStored) {
  const Client c = q(Q("www.example.com", dns::kTypeA));
  for (uint16_t rc : {uint16_t{dns::kRefused}, uint16_t{dns::kFormErr}, uint16_t{dns::kNotImp}, uint16_t{6}}) {
    EXPECT_EQ(store(c, ResponseBuilder("www.example.com", dns::kTypeA).rcode(rc).bytes(), kT0),
              StoreResult::kRcodeNotCached)
        << rc;
  }
  // BADVERS: extended RCODE in the OPT.
  EXPECT_EQ(store(c, ResponseBuilder("www.example.com", dns::kTypeA).opt(4096, false, {}, 1).bytes(), kT0),
            StoreResult::kRcodeNotCached);
  // A REFUSED that carries records is still not stored.
  ResponseBuilder b("www.example.com", dns::kTypeA);
  b.rcode(dns::kRefused);
  b.a(300, test::ipv4(192, 0, 2, 1));
  EXPECT_EQ(store(c, b.bytes(), kT0), StoreResult::kRcodeNotCached);
  EXPECT_EQ(find(c, kT0).status, LookupStatus::kMiss);
  EXPECT_EQ(cache().stats().not_stored, 6u);
  EXPECT_EQ(cache().stats().entries, 0u);
}

TEST_F(CacheTest, TruncatedNotStored) {
  const Client c = q(Q("www.example.com", dns::kTypeA));
  ResponseBuilder b("www.example.com", dns::kTypeA);
  b.set_flags(dns::kFlagTC);
  b.a(300, test::ipv4(192, 0, 2, 1));
  EXPECT_EQ(store(c, b.bytes(), kT0), StoreResult::kTruncated);
  EXPECT_EQ(find(c, kT0).status, LookupStatus::kMiss);
}

TEST_F(CacheTest, QuestionMismatchNotStored) {
  const Client c = q(Q("www.example.com", dns::kTypeA));
  EXPECT_EQ(store(c, a_answer("www.example.org", 300), kT0), StoreResult::kQuestionMismatch);
  EXPECT_EQ(store(c, a_answer("ww.example.com", 300), kT0), StoreResult::kQuestionMismatch);
  EXPECT_EQ(store(c, aaaa_answer("www.example.com", 300), kT0), StoreResult::kQuestionMismatch);
  ResponseBuilder ch("www.example.com", dns::kTypeA, dns::kClassCH);
  ch.a(300, test::ipv4(192, 0, 2, 1));
  EXPECT_EQ(store(c, ch.bytes(), kT0), StoreResult::kQuestionMismatch);
  // No question at all.
  Bytes noq = a_answer("www.example.com", 300, 0);
  noq.resize(dns::kHeaderSize);
  dns::store_u16(noq.data() + dns::kOffQdcount, 0);
  EXPECT_EQ(store(c, noq, kT0), StoreResult::kQuestionMismatch);
  EXPECT_EQ(find(c, kT0).status, LookupStatus::kMiss);
  // Only the upstream's case differs: that is the same question.
  EXPECT_EQ(store(c, a_answer("wWw.eXaMpLe.CoM", 300), kT0), StoreResult::kStored);
}

TEST_F(CacheTest, OptNotLastNotStored) {
  const Client c = q(Q("www.example.com", dns::kTypeA));
  ResponseBuilder b("www.example.com", dns::kTypeA);
  b.a(300, test::ipv4(192, 0, 2, 1));
  b.opt(4096);
  b.rr(dns::Section::kAdditional, test::labels_then("ns1", b.suffix(1)), dns::kTypeA, 300, test::ipv4(192, 0, 2, 53));
  EXPECT_EQ(store(c, b.bytes(), kT0), StoreResult::kOptNotLast);
  EXPECT_EQ(find(c, kT0).status, LookupStatus::kMiss);
}

TEST_F(CacheTest, TooManyRecordsNotStored) {
  const Client c = q(Q("many.example", dns::kTypeA));
  const Bytes resp = a_answer("many.example", 300, 256);
  EXPECT_EQ(store(c, resp, kT0), StoreResult::kTooManyRecords);
  // 255 is fine.
  EXPECT_EQ(store(c, a_answer("many.example", 300, 255), kT0), StoreResult::kStored);
  const Decoded d = hit_answer(c, kT0 + 1, LookupStatus::kFresh, 65535);
  EXPECT_THAT(d.answers(), SizeIs(255));
  for (const Rr& rr : d.answers()) EXPECT_EQ(rr.ttl, 299u);
  // Offsets that did not fit the caller's buffer.
  Parsed p = test::parse_upstream(a_answer("many.example", 300, 20));
  Parsed small;
  small.msg = p.msg;
  small.err = dns::parse_response(small.msg.data(), small.msg.size(), &small.r, small.ttl_offsets.data(), 10);
  ASSERT_EQ(small.err, dns::ParseError::kOk);
  ASSERT_TRUE(small.r.ttl_overflow);
  EXPECT_EQ(cache().insert(c.key(), small.msg.data(), small.msg.size(), small.r, small.ttl_offsets.data(), kT0),
            StoreResult::kTooManyRecords);
}

TEST_F(CacheTest, TooLargeForArenaNotStored) {
  CacheConfig cfg;
  cfg.memory_bytes = 64 << 10;
  cfg.index_slots = 64;
  make(cfg);
  const Client c = q(Q("big.example", dns::kTypeTXT));
  ResponseBuilder b("big.example", dns::kTypeTXT);
  Bytes txt;
  for (int i = 0; i < 4; ++i) {
    txt.push_back(255);
    txt.insert(txt.end(), 255, 'x');
  }
  for (int i = 0; i < 20; ++i) b.rr(dns::Section::kAnswer, test::ptr(ResponseBuilder::kQname), dns::kTypeTXT, 300, txt);
  ASSERT_GT(b.size(), cache().stats().arena_bytes / 4);
  EXPECT_EQ(store(c, b.bytes(), kT0), StoreResult::kTooLarge);
  EXPECT_EQ(find(c, kT0).status, LookupStatus::kMiss);
  EXPECT_EQ(cache().stats().entries, 0u);
}

// ---- EDNS ----------------------------------------------------------------------------------

TEST_F(CacheTest, UpstreamOptStrippedClientEdnsMirrored) {
  CacheConfig cfg = small_config();
  cfg.our_udp_payload = 1400;
  make(cfg);
  const Client ins = q(Q("www.example.com", dns::kTypeA).edns());
  // Upstream OPT with a big payload and options (cookie, padding) that must not be echoed.
  Bytes opts;
  test::put16(opts, dns::kOptCookie);
  test::put16(opts, 16);
  opts.insert(opts.end(), 16, 0xab);
  test::put16(opts, dns::kOptPadding);
  test::put16(opts, 8);
  opts.insert(opts.end(), 8, 0);
  const Bytes plain_resp = a_answer("www.example.com", 300, 2);
  ASSERT_EQ(store(ins, with_opt(plain_resp, 4096, false, opts), kT0), StoreResult::kStored);
  EXPECT_EQ(cache().stats().stored_wire_bytes, plain_resp.size());

  // EDNS client: exactly one OPT, ours, no options.
  const Decoded e = hit_answer(q(Q("www.example.com", dns::kTypeA).edns(4096)), kT0);
  EXPECT_EQ(e.opt_count, 1);
  EXPECT_EQ(e.opt_udp, 1400);
  EXPECT_FALSE(e.opt_do());
  EXPECT_TRUE(e.opt_options.empty());
  EXPECT_EQ(e.r.arcount, 1u);
  EXPECT_EQ(e.len, plain_resp.size() + 11);
  EXPECT_THAT(e.answers(), SizeIs(2));

  // Non-EDNS client: no OPT at all.
  const Decoded n = hit_answer(q(Q("www.example.com", dns::kTypeA)), kT0);
  EXPECT_EQ(n.opt_count, 0);
  EXPECT_EQ(n.r.arcount, 0u);
  EXPECT_EQ(n.len, plain_resp.size());
  EXPECT_THAT(n.answers(), SizeIs(2));

  // DO client (its own entry): DO mirrored.
  const Client dnssec = q(Q("www.example.com", dns::kTypeA).dnssec());
  ASSERT_EQ(store(dnssec, with_opt(plain_resp, 1232, true), kT0), StoreResult::kStored);
  const Decoded d = hit_answer(dnssec, kT0);
  EXPECT_EQ(d.opt_count, 1);
  EXPECT_TRUE(d.opt_do());
  EXPECT_EQ(d.opt_udp, 1400);
}

TEST_F(CacheTest, OptStrippedKeepsOtherAdditionalRecords) {
  const Client c = q(Q("example.com", dns::kTypeNS));
  ResponseBuilder b("example.com", dns::kTypeNS);
  const size_t ns1 = b.rr(dns::Section::kAnswer, test::ptr(ResponseBuilder::kQname), dns::kTypeNS, 3600,
                          test::labels_then("ns1", ResponseBuilder::kQname));
  b.rr(dns::Section::kAdditional, test::ptr(ns1), dns::kTypeA, 3600, test::ipv4(192, 0, 2, 53));
  b.rr(dns::Section::kAdditional, test::ptr(ns1), dns::kTypeAAAA, 3600, test::ipv6(0, 53));
  b.opt(1232, false);
  ASSERT_EQ(store(c, b.bytes(), kT0), StoreResult::kStored);
  const Decoded n = hit_answer(q(Q("EXAMPLE.com", dns::kTypeNS)), kT0 + 1);
  EXPECT_EQ(n.r.arcount, 2u);
  EXPECT_EQ(n.opt_count, 0);
  ASSERT_THAT(n.answers(dns::kTypeNS), SizeIs(1));
  EXPECT_EQ(n.answers().at(0).target, "ns1.EXAMPLE.com.");
  const auto glue = n.records(dns::Section::kAdditional);
  ASSERT_THAT(glue, SizeIs(2));
  EXPECT_EQ(glue.at(0).owner, "ns1.EXAMPLE.com.");
  EXPECT_EQ(glue.at(0).ttl, 3599u);
  EXPECT_EQ(glue.at(1).type, dns::kTypeAAAA);
  const Decoded e = hit_answer(q(Q("example.com", dns::kTypeNS).edns()), kT0 + 1);
  EXPECT_EQ(e.r.arcount, 3u);
  EXPECT_EQ(e.opt_count, 1);
}

TEST_F(CacheTest, TruncatesToQuestionWhenAnswerExceedsLimit) {
  CacheConfig cfg = small_config();
  cfg.our_udp_payload = 1232;
  make(cfg);
  const Client ins = q(Q("big.example.com", dns::kTypeA));
  const Bytes resp = a_answer("big.example.com", 300, 40);  // 12 + 21 + 40*16 = 673 bytes
  ASSERT_GT(resp.size(), 512u);
  ASSERT_EQ(store(ins, with_opt(resp), kT0), StoreResult::kStored);

  // Plain UDP client: 512 bytes at most -> header + question with TC, no OPT.
  const Client plain = q(Q("Big.Example.Com", dns::kTypeA).id(77));
  const Decoded t = hit_answer(plain, kT0, LookupStatus::kFresh, plain.q.udp_limit(1232));
  EXPECT_TRUE(t.flags & dns::kFlagTC);
  EXPECT_EQ(t.id, 77);
  EXPECT_EQ(t.qname, "Big.Example.Com.");
  EXPECT_EQ(t.r.ancount + t.r.nscount + t.r.arcount, 0);
  EXPECT_EQ(t.len, dns::kHeaderSize + 17 + 4);
  EXPECT_EQ(t.r.rcode, dns::kNoError);

  // EDNS client advertising 512: header + question + OPT, TC set.
  const Client small = q(Q("big.example.com", dns::kTypeA).edns(512));
  const Decoded te = hit_answer(small, kT0, LookupStatus::kFresh, small.q.udp_limit(1232));
  EXPECT_TRUE(te.flags & dns::kFlagTC);
  EXPECT_EQ(te.r.ancount, 0);
  EXPECT_EQ(te.opt_count, 1);
  EXPECT_EQ(te.r.arcount, 1);
  EXPECT_EQ(te.opt_udp, 1232);
  EXPECT_EQ(te.len, dns::kHeaderSize + 17 + 4 + 11);

  // A large enough limit: the whole answer, no TC.
  const Client big = q(Q("big.example.com", dns::kTypeA).edns(4096));
  const Decoded full = hit_answer(big, kT0, LookupStatus::kFresh, big.q.udp_limit(1232));
  EXPECT_FALSE(full.flags & dns::kFlagTC);
  EXPECT_THAT(full.answers(), SizeIs(40));

  // Exactly at the limit (answer + OPT == limit) fits; one byte less truncates.
  const Decoded exact = hit_answer(big, kT0, LookupStatus::kFresh, resp.size() + 11);
  EXPECT_FALSE(exact.flags & dns::kFlagTC);
  EXPECT_EQ(exact.len, resp.size() + 11);
  const Decoded under = hit_answer(big, kT0, LookupStatus::kFresh, resp.size() + 10);
  EXPECT_TRUE(under.flags & dns::kFlagTC);

  // Stale answers need 6 more bytes for the EDE.
  const Decoded stale_exact = hit_answer(big, kT0 + 300, LookupStatus::kStale, resp.size() + 17);
  EXPECT_FALSE(stale_exact.flags & dns::kFlagTC);
  EXPECT_EQ(stale_exact.len, resp.size() + 17);
  const Decoded stale_under = hit_answer(big, kT0 + 300, LookupStatus::kStale, resp.size() + 16);
  EXPECT_TRUE(stale_under.flags & dns::kFlagTC);
  EXPECT_EQ(stale_under.r.ancount, 0);

  // The stored entry is untouched by truncation.
  EXPECT_THAT(hit_answer(big, kT0 + 1).answers(), SizeIs(40));
}

// ---- replacement ---------------------------------------------------------------------------

TEST_F(CacheTest, ReplaceSameKey) {
  const Client c = q(Q("www.example.com", dns::kTypeA));
  ASSERT_EQ(store(c, a_answer("www.example.com", 300, 1, 1), kT0), StoreResult::kStored);
  ASSERT_EQ(store(c, a_answer("www.example.com", 60, 3, 10), kT0 + 100), StoreResult::kStored);
  CacheStats s = cache().stats();
  EXPECT_EQ(s.replaced, 1u);
  EXPECT_EQ(s.entries, 1u);
  EXPECT_EQ(s.inserts, 2u);
  EXPECT_EQ(s.stored_wire_bytes, a_answer("www.example.com", 60, 3, 10).size());
  const Decoded d = hit_answer(c, kT0 + 110);
  ASSERT_THAT(d.answers(), SizeIs(3));
  EXPECT_EQ(d.answers().at(0).rdata, test::ipv4(192, 0, 2, 10));
  EXPECT_EQ(d.answers().at(0).ttl, 50u);
  // The new entry's lifetime starts at its own insert.
  EXPECT_EQ(find(c, kT0 + 159).status, LookupStatus::kFresh);
  EXPECT_EQ(find(c, kT0 + 160).status, LookupStatus::kStale);
  // Replacing via a differently-cased key replaces the same entry.
  ASSERT_EQ(store(q(Q("WWW.EXAMPLE.COM", dns::kTypeA)), a_answer("WWW.EXAMPLE.COM", 300, 1, 20), kT0 + 200),
            StoreResult::kStored);
  s = cache().stats();
  EXPECT_EQ(s.replaced, 2u);
  EXPECT_EQ(s.entries, 1u);
  EXPECT_EQ(hit_answer(c, kT0 + 200).answers().at(0).rdata, test::ipv4(192, 0, 2, 20));
  // A failed store does not remove the existing entry.
  EXPECT_EQ(store(c, ResponseBuilder("www.example.com", dns::kTypeA).rcode(dns::kRefused).bytes(), kT0 + 200),
            StoreResult::kRcodeNotCached);
  EXPECT_EQ(hit_answer(c, kT0 + 200).answers().at(0).rdata, test::ipv4(192, 0, 2, 20));
}

TEST_F(CacheTest, ReplaceManyTimesDoesNotGrowEntries) {
  const Client c = q(Q("www.example.com", dns::kTypeA));
  for (int i = 0; i < 5000; ++i) {
    ASSERT_EQ(store(c, a_answer("www.example.com", 300, 1 + i % 4, static_cast<uint8_t>(i)), kT0 + i),
              StoreResult::kStored);
  }
  const CacheStats s = cache().stats();
  EXPECT_EQ(s.entries, 1u);
  EXPECT_EQ(s.replaced, 4999u);
  EXPECT_EQ(s.evicted, 0u);
  EXPECT_LE(s.arena_used_bytes, s.arena_bytes);
  const Decoded d = hit_answer(c, kT0 + 4999);
  EXPECT_THAT(d.answers(), SizeIs(1 + 4999 % 4));
  EXPECT_EQ(d.answers().at(0).rdata, test::ipv4(192, 0, 2, static_cast<uint8_t>(4999)));
}

// ---- prefetch ------------------------------------------------------------------------------

TEST_F(CacheTest, PrefetchOnlyForPopularEntriesNearExpiryOnce) {
  CacheConfig cfg = small_config();
  cfg.prefetch_percent = 10;
  cfg.prefetch_min_hits = 3;
  make(cfg);
  const Client hot = q(Q("hot.example", dns::kTypeA));
  const Client cold = q(Q("cold.example", dns::kTypeA));
  ASSERT_EQ(store(hot, a_answer("hot.example", 100), kT0), StoreResult::kStored);
  ASSERT_EQ(store(cold, a_answer("cold.example", 100), kT0), StoreResult::kStored);

  // Popular, but not yet in the last 10%.
  for (uint32_t t : {0u, 10u, 50u, 89u}) EXPECT_FALSE(find(hot, kT0 + t).prefetch) << t;
  // Last 10% (remaining 10 of 100): signalled once.
  CacheHit h = find(hot, kT0 + 90);
  EXPECT_EQ(h.status, LookupStatus::kFresh);
  EXPECT_TRUE(h.prefetch);
  EXPECT_FALSE(find(hot, kT0 + 91).prefetch);
  EXPECT_FALSE(find(hot, kT0 + 99).prefetch);
  // Stale hits never signal.
  EXPECT_FALSE(find(hot, kT0 + 100).prefetch);

  // Near expiry but not popular enough: the third hit is the one that signals.
  EXPECT_FALSE(find(cold, kT0 + 95).prefetch);
  EXPECT_FALSE(find(cold, kT0 + 96).prefetch);
  EXPECT_TRUE(find(cold, kT0 + 97).prefetch);
  EXPECT_FALSE(find(cold, kT0 + 98).prefetch);
  EXPECT_EQ(cache().stats().prefetch_signals, 2u);

  // A refreshed (replaced) entry can signal again.
  ASSERT_EQ(store(hot, a_answer("hot.example", 100), kT0 + 100), StoreResult::kStored);
  for (uint32_t t : {100u, 101u, 102u}) EXPECT_FALSE(find(hot, kT0 + t).prefetch);
  EXPECT_TRUE(find(hot, kT0 + 195).prefetch);
  EXPECT_EQ(cache().stats().prefetch_signals, 3u);
}

TEST_F(CacheTest, PrefetchDisabledWithZeroPercent) {
  CacheConfig cfg = small_config();
  cfg.prefetch_percent = 0;
  make(cfg);
  const Client c = q(Q("hot.example", dns::kTypeA));
  ASSERT_EQ(store(c, a_answer("hot.example", 100), kT0), StoreResult::kStored);
  for (uint32_t t = 0; t < 100; ++t) EXPECT_FALSE(find(c, kT0 + t).prefetch);
  EXPECT_EQ(cache().stats().prefetch_signals, 0u);
}

TEST_F(CacheTest, PrefetchDefaultsTwoHitsTenPercent) {
  const Client c = q(Q("hot.example", dns::kTypeA));
  ASSERT_EQ(store(c, a_answer("hot.example", 1000), kT0), StoreResult::kStored);
  EXPECT_FALSE(find(c, kT0 + 899).prefetch);  // 1st hit, not yet in the window
  EXPECT_TRUE(find(c, kT0 + 900).prefetch);   // 2nd hit, remaining 100 = 10%
  EXPECT_FALSE(find(c, kT0 + 950).prefetch);
}

// ---- eviction ------------------------------------------------------------------------------

CacheConfig tiny_config() {
  CacheConfig c;
  c.memory_bytes = 256 << 10;
  c.max_ttl = 86400;
  return c;
}

TEST_F(CacheTest, EvictionKeepsMemoryBoundedAndRecentNamesPresent) {
  make(tiny_config());
  const CacheStats s0 = cache().stats();
  const uint64_t max_entries = s0.index_slots * 4 / 5;
  constexpr int kNames = 20000;
  std::vector<Client> clients;
  clients.reserve(kNames);
  for (int i = 0; i < kNames; ++i) {
    clients.push_back(q(Q(nm(i), dns::kTypeA)));
    ASSERT_EQ(store(clients.back(), a_answer(nm(i), 3600, 1 + i % 3), kT0), StoreResult::kStored) << i;
    if (i % 997 == 0) {
      const CacheStats s = cache().stats();
      ASSERT_LE(s.arena_used_bytes, s.arena_bytes);
      ASSERT_LE(s.entries, max_entries);
    }
  }
  const CacheStats s = cache().stats();
  EXPECT_LE(s.arena_used_bytes, s.arena_bytes);
  EXPECT_LE(s.entries, max_entries);
  EXPECT_GT(s.entries, 100u);
  EXPECT_GT(s.evicted, 0u);
  EXPECT_EQ(s.inserts, static_cast<uint64_t>(kNames));
  EXPECT_EQ(s.evicted + s.entries, static_cast<uint64_t>(kNames));
  EXPECT_EQ(s.expired, 0u);
  // The most recent names are all there, with their own data.
  for (int i = kNames - 200; i < kNames; ++i) {
    const Decoded d = hit_answer(clients[i], kT0 + 1);
    ASSERT_EQ(d.qname, nm(i) + ".");
    ASSERT_THAT(d.answers(), SizeIs(1 + i % 3));
  }
  // The oldest are gone.
  for (int i = 0; i < 200; ++i) EXPECT_EQ(find(clients[i], kT0 + 1).status, LookupStatus::kMiss) << i;
  // Every hit answers its own question; the number of hits is the entry count.
  uint64_t found = 0;
  for (int i = 0; i < kNames; ++i) {
    const CacheHit h = find(clients[i], kT0 + 2);
    if (h.status == LookupStatus::kMiss) continue;
    ++found;
    const Decoded d = answer(clients[i], h, kT0 + 2);
    ASSERT_EQ(d.qname, nm(i) + ".");
  }
  EXPECT_EQ(found, cache().stats().entries);
}

TEST_F(CacheTest, ClockSecondChanceKeepsHotNames) {
  make(tiny_config());
  // Same-size names for hot, cold and the stream, so only the reference bit differs.
  const Client hot = q(Q("hot0000.example.com", dns::kTypeA));
  const Client cold = q(Q("cld0000.example.com", dns::kTypeA));
  ASSERT_EQ(nm(1).size(), std::string("hot0000.example.com").size());
  ASSERT_EQ(store(hot, a_answer("hot0000.example.com", 3600), kT0), StoreResult::kStored);
  ASSERT_EQ(store(cold, a_answer("cld0000.example.com", 3600), kT0), StoreResult::kStored);
  ASSERT_EQ(find(hot, kT0).status, LookupStatus::kFresh);

  // Stream many times the cache's capacity through it, looking up the hot name now and then.
  constexpr int kStream = 30000;
  int hot_lost_at = -1;
  uint64_t capacity = 0;
  for (int i = 0; i < kStream; ++i) {
    ASSERT_EQ(store(q(Q(nm(i), dns::kTypeA)), a_answer(nm(i), 3600), kT0 + 1), StoreResult::kStored);
    capacity = std::max(capacity, cache().stats().entries);
    if (i % 64 == 0 && find(hot, kT0 + 1).status == LookupStatus::kMiss) {
      hot_lost_at = i;
      break;
    }
  }
  const CacheStats s = cache().stats();
  EXPECT_EQ(hot_lost_at, -1) << "hot name evicted after " << hot_lost_at << " inserts (capacity about "
                             << capacity << ", evicted " << s.evicted << ", reinserted " << s.reinserted << ")";
  EXPECT_GT(s.reinserted, 0u);
  EXPECT_GT(s.evicted, 2 * capacity) << "the stream must wrap the arena several times";
  // The cold name, inserted at the same time, went with the first wrap.
  EXPECT_EQ(find(cold, kT0 + 1).status, LookupStatus::kMiss);
  EXPECT_LE(s.arena_used_bytes, s.arena_bytes);
  const Decoded d = hit_answer(hot, kT0 + 2);
  EXPECT_EQ(d.qname, "hot0000.example.com.");
  EXPECT_EQ(d.answers().at(0).ttl, 3598u);
}

TEST_F(CacheTest, ClockSecondChanceWithVariedSizes) {
  make(tiny_config());
  const Client hot = q(Q("hot.example.com", dns::kTypeA));
  ASSERT_EQ(store(hot, a_answer("hot.example.com", 3600, 2), kT0), StoreResult::kStored);
  std::mt19937 rng(7);
  for (int i = 0; i < 20000; ++i) {
    const int n = 1 + static_cast<int>(rng() % 6);
    ASSERT_EQ(store(q(Q(nm(i), dns::kTypeA)), a_answer(nm(i), 3600, n), kT0), StoreResult::kStored);
    if (i % 50 == 0) {
      ASSERT_NE(find(hot, kT0).status, LookupStatus::kMiss) << "hot name lost after " << i;
    }
  }
  EXPECT_GT(cache().stats().reinserted, 0u);
  EXPECT_THAT(hit_answer(hot, kT0).answers(), SizeIs(2));
}

// Records of exactly 64 bytes in a 32 KiB arena: the arena fills to the last byte, so a hot
// record reaching the head is "moved" onto itself (and later copies overlap their source).
TEST_F(CacheTest, ClockSecondChanceInExactlyFullArena) {
  CacheConfig cfg;
  cfg.memory_bytes = 64 << 10;
  cfg.index_slots = 4096;  // 32 KiB of index, leaving 32 KiB of arena
  make(cfg);
  ASSERT_EQ(cache().stats().arena_bytes, 32768u);
  auto name = [](int i) {
    const char* digits = "0123456789abcdefghijklmnopqrstuvwxyz";
    std::string s = "x...";
    s[1] = digits[(i / 1296) % 36];
    s[2] = digits[(i / 36) % 36];
    s[3] = digits[i % 36];
    return s + ".com";
  };
  ASSERT_EQ(a_answer(name(0), 60).size(), 42u);  // + 20 header + 2 TTL offset = 64 bytes
  const Client hot = q(Q("hhhh.com", dns::kTypeA));
  const Client hot2 = q(Q("gggg.com", dns::kTypeA));
  ASSERT_EQ(store(hot, a_answer("hhhh.com", 3600, 1, 1), kT0), StoreResult::kStored);
  ASSERT_EQ(store(hot2, a_answer("gggg.com", 3600, 1, 2), kT0), StoreResult::kStored);
  std::vector<Client> stream;
  for (int i = 0; i < 5000; ++i) {
    stream.push_back(q(Q(name(i), dns::kTypeA)));
    ASSERT_EQ(store(stream.back(), a_answer(name(i), 3600, 1, static_cast<uint8_t>(i)), kT0), StoreResult::kStored);
    for (const Client* c : {&hot, &hot2}) {
      const Decoded d = hit_answer(*c, kT0 + 1);
      ASSERT_EQ(d.qname, c == &hot ? "hhhh.com." : "gggg.com.") << i;
      ASSERT_EQ(d.answers().at(0).rdata, test::ipv4(192, 0, 2, c == &hot ? 1 : 2)) << i;
    }
    ASSERT_LE(cache().stats().arena_used_bytes, 32768u);
  }
  const CacheStats s = cache().stats();
  EXPECT_EQ(s.arena_used_bytes, 32768u);
  EXPECT_GT(s.reinserted, 0u);
  EXPECT_EQ(s.entries, 512u);
  // The stream's survivors are intact and counted right.
  uint64_t found = 0;
  for (int i = 0; i < 5000; ++i) {
    const CacheHit h = find(stream[i], kT0 + 1);
    if (h.status == LookupStatus::kMiss) continue;
    ++found;
    const Decoded d = answer(stream[i], h, kT0 + 1);
    ASSERT_EQ(d.qname, name(i) + ".");
    ASSERT_EQ(d.answers().at(0).rdata, test::ipv4(192, 0, 2, static_cast<uint8_t>(i)));
  }
  EXPECT_EQ(found + 2, cache().stats().entries);
  EXPECT_EQ(found, 510u);
}

TEST_F(CacheTest, IndexBoundEvictionAtMaxEntries) {
  CacheConfig cfg;
  cfg.memory_bytes = 256 << 10;
  cfg.index_slots = 64;
  make(cfg);
  const CacheStats s0 = cache().stats();
  ASSERT_EQ(s0.index_slots, 64u);
  const uint64_t max_entries = 64 * 4 / 5;
  std::vector<Client> clients;
  for (int i = 0; i < 500; ++i) {
    clients.push_back(q(Q(nm(i), dns::kTypeA)));
    ASSERT_EQ(store(clients.back(), a_answer(nm(i), 3600), kT0), StoreResult::kStored);
    ASSERT_LE(cache().stats().entries, max_entries) << i;
  }
  const CacheStats s = cache().stats();
  EXPECT_EQ(s.entries, max_entries);
  EXPECT_EQ(s.evicted, 500 - max_entries);
  EXPECT_LT(s.arena_used_bytes, s.arena_bytes / 4) << "the index, not the arena, bounded this cache";
  for (int i = 500 - static_cast<int>(max_entries); i < 500; ++i) {
    EXPECT_EQ(hit_answer(clients[i], kT0).qname, nm(i) + ".");
  }
  for (int i = 0; i < 500 - static_cast<int>(max_entries); ++i) {
    EXPECT_EQ(find(clients[i], kT0).status, LookupStatus::kMiss);
  }

  // With the index full, a referenced entry gets its second chance.
  const Client hot = clients[499];
  for (int i = 500; i < 1500; ++i) {
    ASSERT_EQ(store(q(Q(nm(i), dns::kTypeA)), a_answer(nm(i), 3600), kT0), StoreResult::kStored);
    ASSERT_EQ(find(hot, kT0).status, LookupStatus::kFresh) << i;
    ASSERT_LE(cache().stats().entries, max_entries);
  }
  EXPECT_GT(cache().stats().reinserted, 0u);
}

TEST_F(CacheTest, ExpiredEntriesCountedAsExpiredNotEvicted) {
  CacheConfig cfg;
  cfg.memory_bytes = 256 << 10;
  cfg.index_slots = 64;
  cfg.stale_window = 10;
  make(cfg);
  for (int i = 0; i < 51; ++i) {
    ASSERT_EQ(store(q(Q(nm(i), dns::kTypeA)), a_answer(nm(i), 5), kT0), StoreResult::kStored);
  }
  // All of them are past their stale window: making room counts them as expired.
  for (int i = 100; i < 151; ++i) {
    ASSERT_EQ(store(q(Q(nm(i), dns::kTypeA)), a_answer(nm(i), 5), kT0 + 100), StoreResult::kStored);
  }
  const CacheStats s = cache().stats();
  EXPECT_EQ(s.evicted, 0u);
  EXPECT_EQ(s.expired, 51u);
  EXPECT_EQ(s.entries, 51u);
}

// ---- lookup_batch --------------------------------------------------------------------------

TEST_F(CacheTest, LookupBatchMatchesIndividualLookups) {
  CacheConfig cfg = small_config();
  cfg.stale_window = 50;
  // Two identical caches: one looked up in batches, the other key by key.
  Cache batch(cfg, kSeed);
  Cache single(cfg, kSeed);
  std::vector<Client> clients;
  for (int i = 0; i < 80; ++i) {
    clients.push_back(Q(nm(i), i % 5 == 0 ? dns::kTypeAAAA : dns::kTypeA).build(kSeed));
  }
  for (int i = 0; i < 80; ++i) {
    if (i % 3 == 2) continue;  // never inserted: misses
    const Client& c = clients[i];
    // TTLs vary so that at the lookup time some are fresh, some stale, some past the window.
    const uint32_t ttl = 10 + static_cast<uint32_t>(i % 7) * 20;
    const Bytes resp = c.q.qtype == dns::kTypeA ? a_answer(nm(i), ttl) : aaaa_answer(nm(i), ttl);
    Parsed p = test::parse_upstream(resp);
    ASSERT_EQ(p.err, dns::ParseError::kOk);
    ASSERT_EQ(batch.insert(c.key(), p.msg.data(), p.msg.size(), p.r, p.ttl_offsets.data(), kT0), StoreResult::kStored);
    ASSERT_EQ(single.insert(c.key(), p.msg.data(), p.msg.size(), p.r, p.ttl_offsets.data(), kT0), StoreResult::kStored);
  }
  std::mt19937 rng(42);
  uint32_t now = kT0;
  for (size_t n : {0u, 1u, 3u, 4u, 5u, 31u, 32u, 33u, 5u, 33u, 1u, 32u}) {
    std::vector<const dns::CacheKey*> keys;
    std::vector<const Client*> who;
    for (size_t k = 0; k < n; ++k) {
      const Client& c = clients[rng() % clients.size()];
      keys.push_back(&c.key());
      who.push_back(&c);
    }
    std::vector<CacheHit> out(n + 1);
    out[n].status = LookupStatus::kFresh;  // canary: must not be written
    batch.lookup_batch(keys.data(), n, now, out.data());
    EXPECT_EQ(out[n].status, LookupStatus::kFresh);
    for (size_t k = 0; k < n; ++k) {
      const CacheHit one = single.lookup(*keys[k], now);
      ASSERT_EQ(out[k].status, one.status) << "n=" << n << " k=" << k;
      EXPECT_EQ(out[k].prefetch, one.prefetch);
      EXPECT_EQ(out[k].record == nullptr, one.record == nullptr);
      if (one.status == LookupStatus::kMiss) continue;
      Bytes a(4096);
      Bytes b(4096);
      const size_t la = batch.write_answer(out[k], who[k]->msg.data(), who[k]->q, a.data(), a.size(), 4096, now);
      const size_t lb = single.write_answer(one, who[k]->msg.data(), who[k]->q, b.data(), b.size(), 4096, now);
      ASSERT_EQ(la, lb);
      a.resize(la);
      b.resize(lb);
      EXPECT_EQ(a, b);
      const Decoded d = test::decode(a.data(), a.size());
      ASSERT_EQ(d.err, dns::ParseError::kOk);
      EXPECT_TRUE(dns::name_equal_ci(a.data() + dns::kHeaderSize, who[k]->q.qname_len, who[k]->key().name,
                                     who[k]->key().name_len));
      EXPECT_EQ(d.r.qtype, who[k]->key().qtype);
    }
    const CacheStats sa = batch.stats();
    const CacheStats sb = single.stats();
    EXPECT_EQ(sa.lookups_fresh, sb.lookups_fresh);
    EXPECT_EQ(sa.lookups_stale, sb.lookups_stale);
    EXPECT_EQ(sa.lookups_miss, sb.lookups_miss);
    EXPECT_EQ(sa.entries, sb.entries);
    EXPECT_EQ(sa.expired, sb.expired);
    EXPECT_EQ(sa.prefetch_signals, sb.prefetch_signals);
    now += 17;
  }
  EXPECT_GT(batch.stats().lookups_fresh, 0u);
  EXPECT_GT(batch.stats().lookups_stale, 0u);
  EXPECT_GT(batch.stats().lookups_miss, 0u);
}

TEST_F(CacheTest, LookupBatchWithDuplicateKeys) {
  const Client c = q(Q("www.example.com", dns::kTypeA));
  const Client m = q(Q("missing.example.com", dns::kTypeA));
  ASSERT_EQ(store(c, a_answer("www.example.com", 100), kT0), StoreResult::kStored);
  std::vector<const dns::CacheKey*> keys{&c.key(), &m.key(), &c.key(), &c.key(), &m.key()};
  std::vector<CacheHit> out(keys.size());
  cache().lookup_batch(keys.data(), keys.size(), kT0 + 95, out.data());
  EXPECT_EQ(out[0].status, LookupStatus::kFresh);
  EXPECT_EQ(out[1].status, LookupStatus::kMiss);
  EXPECT_EQ(out[2].status, LookupStatus::kFresh);
  EXPECT_EQ(out[3].status, LookupStatus::kFresh);
  EXPECT_EQ(out[4].status, LookupStatus::kMiss);
  // Same as sequential lookups: the second hit signals prefetch, once.
  EXPECT_FALSE(out[0].prefetch);
  EXPECT_TRUE(out[2].prefetch);
  EXPECT_FALSE(out[3].prefetch);
  EXPECT_EQ(out[0].record, out[2].record);
}

// ---- flushing ------------------------------------------------------------------------------

TEST_F(CacheTest, FlushAll) {
  std::vector<Client> clients;
  for (int i = 0; i < 100; ++i) {
    clients.push_back(q(Q(nm(i), dns::kTypeA)));
    ASSERT_EQ(store(clients.back(), a_answer(nm(i), 300), kT0), StoreResult::kStored);
  }
  EXPECT_EQ(cache().stats().entries, 100u);
  cache().flush_all();
  CacheStats s = cache().stats();
  EXPECT_EQ(s.entries, 0u);
  EXPECT_EQ(s.arena_used_bytes, 0u);
  EXPECT_EQ(s.stored_wire_bytes, 0u);
  for (const Client& c : clients) EXPECT_EQ(find(c, kT0).status, LookupStatus::kMiss);
  // Usable afterwards, and old records do not resurface.
  ASSERT_EQ(store(clients[5], a_answer(nm(5), 300, 1, 99), kT0), StoreResult::kStored);
  EXPECT_EQ(hit_answer(clients[5], kT0).answers().at(0).rdata, test::ipv4(192, 0, 2, 99));
  EXPECT_EQ(find(clients[6], kT0).status, LookupStatus::kMiss);
  EXPECT_EQ(cache().stats().entries, 1u);
  EXPECT_EQ(cache().flush_name(test::wire_name("example.com").data(), test::wire_name("example.com").size(), true),
            1u);
}

TEST_F(CacheTest, FlushNameExactVsSubtree) {
  const std::vector<std::tuple<std::string, uint16_t>> entries = {
      {"www.example.com", dns::kTypeA},     {"www.example.com", dns::kTypeAAAA}, {"Www.Example.Com", dns::kTypeMX},
      {"example.com", dns::kTypeA},         {"a.b.www.example.com", dns::kTypeA}, {"mail.example.com", dns::kTypeA},
      {"badexample.com", dns::kTypeA},      {"example.org", dns::kTypeA},         {"www.example.com.org", dns::kTypeA},
      {"com", dns::kTypeNS},
  };
  auto fill = [&] {
    cache().flush_all();
    for (const auto& [name, type] : entries) {
      const Client c = q(Q(name, type));
      const Bytes resp = type == dns::kTypeAAAA ? aaaa_answer(name, 300) : nodata(name, type, 300, 300);
      ASSERT_EQ(store(c, type == dns::kTypeA ? a_answer(name, 300) : resp, kT0), StoreResult::kStored) << name;
    }
    ASSERT_EQ(cache().stats().entries, entries.size());
  };
  auto present = [&](const std::string& name, uint16_t type) {
    return find(q(Q(name, type)), kT0).status != LookupStatus::kMiss;
  };

  fill();
  const Bytes www = test::wire_name("WWW.example.COM");
  EXPECT_EQ(cache().flush_name(www.data(), www.size(), false), 3u);
  EXPECT_FALSE(present("www.example.com", dns::kTypeA));
  EXPECT_FALSE(present("www.example.com", dns::kTypeAAAA));
  EXPECT_FALSE(present("www.example.com", dns::kTypeMX));
  EXPECT_TRUE(present("example.com", dns::kTypeA));
  EXPECT_TRUE(present("a.b.www.example.com", dns::kTypeA));
  EXPECT_TRUE(present("mail.example.com", dns::kTypeA));
  EXPECT_TRUE(present("badexample.com", dns::kTypeA));
  EXPECT_EQ(cache().stats().entries, entries.size() - 3);
  // Flushing again finds nothing.
  EXPECT_EQ(cache().flush_name(www.data(), www.size(), false), 0u);

  fill();
  const Bytes zone = test::wire_name("example.com");
  EXPECT_EQ(cache().flush_name(zone.data(), zone.size(), true), 6u);
  EXPECT_FALSE(present("www.example.com", dns::kTypeA));
  EXPECT_FALSE(present("www.example.com", dns::kTypeAAAA));
  EXPECT_FALSE(present("www.example.com", dns::kTypeMX));
  EXPECT_FALSE(present("example.com", dns::kTypeA));
  EXPECT_FALSE(present("a.b.www.example.com", dns::kTypeA));
  EXPECT_FALSE(present("mail.example.com", dns::kTypeA));
  EXPECT_TRUE(present("badexample.com", dns::kTypeA));
  EXPECT_TRUE(present("example.org", dns::kTypeA));
  EXPECT_TRUE(present("www.example.com.org", dns::kTypeA));
  EXPECT_TRUE(present("com", dns::kTypeNS));
  EXPECT_EQ(cache().stats().entries, 4u);

  fill();
  const Bytes sub = test::wire_name("www.example.com");
  EXPECT_EQ(cache().flush_name(sub.data(), sub.size(), true), 4u);
  EXPECT_TRUE(present("example.com", dns::kTypeA));
  EXPECT_FALSE(present("a.b.www.example.com", dns::kTypeA));

  fill();
  const Bytes none = test::wire_name("nothing.example.net");
  EXPECT_EQ(cache().flush_name(none.data(), none.size(), true), 0u);
  EXPECT_EQ(cache().stats().entries, entries.size());

  // The root contains everything.
  const Bytes root{0};
  EXPECT_EQ(cache().flush_name(root.data(), root.size(), true), entries.size());
  EXPECT_EQ(cache().stats().entries, 0u);
}

TEST_F(CacheTest, FlushNameAfterWrapAround) {
  make(tiny_config());
  // Wrap the arena a few times so records straddle the padding at its end.
  for (int i = 0; i < 12000; ++i) {
    ASSERT_EQ(store(q(Q(nm(i), dns::kTypeA)), a_answer(nm(i), 3600, 1 + i % 5), kT0), StoreResult::kStored);
  }
  const uint64_t before = cache().stats().entries;
  ASSERT_GT(cache().stats().evicted, 0u);
  const Bytes target = test::wire_name(nm(11999));
  EXPECT_EQ(cache().flush_name(target.data(), target.size(), false), 1u);
  EXPECT_EQ(cache().stats().entries, before - 1);
  const Bytes zone = test::wire_name("example.com");
  EXPECT_EQ(cache().flush_name(zone.data(), zone.size(), true), before - 1);
  EXPECT_EQ(cache().stats().entries, 0u);
  EXPECT_EQ(cache().stats().stored_wire_bytes, 0u);
  // Still works afterwards.
  for (int i = 0; i < 12000; ++i) {
    ASSERT_EQ(store(q(Q(nm(i), dns::kTypeA)), a_answer(nm(i), 3600), kT0), StoreResult::kStored);
  }
  EXPECT_EQ(hit_answer(q(Q(nm(11999), dns::kTypeA)), kT0).qname, nm(11999) + ".");
}

TEST_F(CacheTest, ConstructorClampsTinyMemory) {
  CacheConfig cfg;
  cfg.memory_bytes = 1;
  make(cfg);
  const CacheStats s = cache().stats();
  EXPECT_GE(s.arena_bytes, 32u << 10);
  EXPECT_GE(s.index_slots, 64u);
  EXPECT_EQ(s.index_slots & (s.index_slots - 1), 0u);
  const Client c = q(Q("www.example.com", dns::kTypeA));
  ASSERT_EQ(store(c, a_answer("www.example.com", 300), kT0), StoreResult::kStored);
  EXPECT_EQ(find(c, kT0).status, LookupStatus::kFresh);
  CacheConfig odd;
  odd.memory_bytes = 1 << 20;
  odd.index_slots = 100;
  make(odd);
  EXPECT_EQ(cache().stats().index_slots, 128u);
}

// ---- randomized consistency against a model ----------------------------------------------------

enum class Kind : uint8_t { kPositive, kNxDomain, kNoData };

struct ModelEntry {
  uint32_t version = 0;
  uint32_t expires = 0;
  Kind kind = Kind::kPositive;
  uint64_t evicted_at_insert = 0;  // stats().evicted right after this entry was stored
  size_t wire_len = 0;             // stored bytes (upstream answer without OPT)
};

struct RandomParams {
  size_t memory;
  size_t index_slots;
  bool expect_no_eviction;
  uint32_t seed;
  uint32_t max_ttl;  // upstream TTLs are drawn from [1, max_ttl]
};

class CacheRandomTest : public ::testing::TestWithParam<RandomParams> {};

TEST_P(CacheRandomTest, MatchesModel) {
  const RandomParams prm = GetParam();
  CacheConfig cfg;
  cfg.memory_bytes = prm.memory;
  cfg.index_slots = prm.index_slots;
  cfg.stale_window = 40;
  cfg.negative_max_ttl = 25;
  cfg.prefetch_percent = 20;
  Cache cache(cfg, 0x1234567800000000ULL ^ prm.seed);
  const uint64_t seed = cache.hash_seed();
  std::mt19937 rng(prm.seed);

  // The key universe: 4 zones x 60 names x {A, AAAA} x {plain, DO}.
  struct K {
    std::string name;
    Bytes wire;
    uint16_t qtype;
    bool dnssec;
  };
  std::vector<K> universe;
  for (int z = 0; z < 4; ++z) {
    for (int i = 0; i < 60; ++i) {
      char buf[64];
      std::snprintf(buf, sizeof buf, "h%d%s.zone%d.test", i, i % 5 == 0 ? ".sub" : "", z);
      const std::string name = buf;
      for (uint16_t t : {uint16_t{dns::kTypeA}, uint16_t{dns::kTypeAAAA}}) {
        for (bool d : {false, true}) universe.push_back({name, test::wire_name(name), t, d});
      }
    }
  }
  auto random_case = [&](std::string s) {
    for (char& ch : s) {
      if (ch >= 'a' && ch <= 'z' && (rng() & 1)) ch = static_cast<char>(ch - 32);
    }
    return s;
  };
  auto client = [&](size_t k, bool mixed_case) {
    const K& u = universe[k];
    Q b(mixed_case ? random_case(u.name) : u.name, u.qtype);
    b.id(static_cast<uint16_t>(rng()));
    if (u.dnssec) {
      b.dnssec();
    } else if (rng() % 3 == 0) {
      b.edns();
    }
    return b.build(seed);
  };
  // A few keys are much more popular than the rest.
  auto pick = [&]() -> size_t { return rng() % 3 == 0 ? rng() % 40 : rng() % universe.size(); };
  auto address = [](size_t k, uint32_t v) {
    return k % 4 < 2 ? test::ipv4(10, static_cast<uint8_t>(v >> 16), static_cast<uint8_t>(v >> 8),
                                  static_cast<uint8_t>(v))
                     : test::ipv6(static_cast<uint16_t>(v >> 16), static_cast<uint16_t>(v));
  };

  std::map<size_t, ModelEntry> model;
  uint32_t now = kT0;
  uint32_t version = 0;
  size_t hits = 0;
  size_t lost = 0;

  // Checks one lookup result against the model (and updates the model the way the cache
  // must have updated itself). Sets *wire_len to the entry's size on a hit.
  auto verify = [&](size_t k, const Client& c, const CacheHit& h, size_t* wire_len) {
    auto it = model.find(k);
    if (it != model.end() && uint64_t{now} >= uint64_t{it->second.expires} + cfg.stale_window) {
      model.erase(it);  // past its stale window: a miss, and dropped
      it = model.end();
    }
    if (it == model.end()) {
      ASSERT_EQ(h.status, LookupStatus::kMiss) << "hit for a key the model does not hold: " << universe[k].name;
      return;
    }
    const ModelEntry m = it->second;
    if (h.status == LookupStatus::kMiss) {
      // Only eviction may lose a live entry.
      ASSERT_FALSE(prm.expect_no_eviction) << "lost " << universe[k].name;
      ASSERT_GT(cache.stats().evicted, m.evicted_at_insert) << "lost without any eviction: " << universe[k].name;
      ++lost;
      model.erase(it);
      return;
    }
    ++hits;
    *wire_len = m.wire_len;
    ASSERT_EQ(h.status, now < m.expires ? LookupStatus::kFresh : LookupStatus::kStale);
    Bytes out(4096);
    const size_t len = cache.write_answer(h, c.msg.data(), c.q, out.data(), out.size(), 4096, now);
    ASSERT_NE(len, 0u);
    const Decoded d = test::decode(out.data(), len);
    ASSERT_EQ(d.err, dns::ParseError::kOk);
    // Never a wrong answer: the question is the key, spelled as the client did.
    ASSERT_EQ(d.r.qdcount, 1);
    ASSERT_EQ(d.r.qname_len, c.q.qname_len);
    ASSERT_EQ(0, std::memcmp(out.data() + dns::kHeaderSize, c.msg.data() + dns::kHeaderSize, c.q.qname_len));
    ASSERT_EQ(d.r.qtype, universe[k].qtype);
    ASSERT_EQ(d.r.qclass, dns::kClassIN);
    ASSERT_EQ(d.id, c.q.id);
    ASSERT_EQ(d.opt_count, c.q.has_edns ? 1 : 0);
    if (c.q.has_edns) {
      ASSERT_EQ(d.opt_do(), universe[k].dnssec);
    }
    const uint32_t want_ttl = h.status == LookupStatus::kFresh ? m.expires - now : cfg.stale_answer_ttl;
    if (m.kind == Kind::kPositive) {
      ASSERT_EQ(d.r.rcode, dns::kNoError);
      const auto ans = d.answers(universe[k].qtype);
      ASSERT_THAT(ans, SizeIs(1));
      ASSERT_EQ(ans.at(0).rdata, address(k, m.version)) << "old data served for " << universe[k].name;
      ASSERT_EQ(ans.at(0).ttl, want_ttl);
    } else {
      ASSERT_EQ(d.r.rcode, m.kind == Kind::kNxDomain ? dns::kNxDomain : dns::kNoError);
      ASSERT_TRUE(d.answers().empty());
      const auto soa = d.records(dns::Section::kAuthority, dns::kTypeSOA);
      ASSERT_THAT(soa, SizeIs(1));
      ASSERT_EQ(soa.at(0).ttl, want_ttl);
    }
  };

  // Looks up every key once: the hits are exactly the cache's entries.
  auto sweep = [&]() {
    uint64_t found = 0;
    uint64_t wire = 0;
    for (size_t k = 0; k < universe.size(); ++k) {
      const Client c = client(k, false);
      const CacheHit h = cache.lookup(c.key(), now);
      size_t wl = 0;
      verify(k, c, h, &wl);
      if (::testing::Test::HasFatalFailure()) return;
      if (h.status != LookupStatus::kMiss) {
        ++found;
        wire += wl;
      }
    }
    const CacheStats s = cache.stats();
    ASSERT_EQ(found, s.entries);
    ASSERT_EQ(wire, s.stored_wire_bytes);
    ASSERT_LE(s.arena_used_bytes, s.arena_bytes);
    ASSERT_LE(s.entries, s.index_slots * 4 / 5);
  };

  constexpr int kOps = 40000;
  for (int op = 0; op < kOps; ++op) {
    const unsigned r = rng() % 1000;
    if (r < 450) {
      // Insert a new version of a key (positive, NXDOMAIN or NODATA; sometimes with an OPT).
      const size_t k = pick();
      const K& u = universe[k];
      const Client c = client(k, rng() % 4 == 0);
      ++version;
      const uint32_t ttl = 1 + rng() % prm.max_ttl;
      ResponseBuilder b(rng() % 2 ? random_case(u.name) : u.name, u.qtype);
      ModelEntry m;
      m.version = version;
      uint32_t eff_ttl = ttl;
      if (rng() % 8 == 0) {
        m.kind = rng() % 2 ? Kind::kNxDomain : Kind::kNoData;
        if (m.kind == Kind::kNxDomain) b.rcode(dns::kNxDomain);
        const uint32_t minimum = 1 + rng() % 60;
        b.soa(ttl, minimum, 1);
        eff_ttl = std::min({ttl, minimum, cfg.negative_max_ttl});
      } else if (u.qtype == dns::kTypeA) {
        b.a(ttl, address(k, version));
      } else {
        b.aaaa(ttl, address(k, version));
      }
      m.wire_len = b.size();
      if (rng() % 3 == 0) b.opt(4096, u.dnssec);
      Parsed p = test::parse_upstream(b.bytes());
      ASSERT_EQ(p.err, dns::ParseError::kOk);
      ASSERT_EQ(cache.insert(c.key(), p.msg.data(), p.msg.size(), p.r, p.ttl_offsets.data(), now),
                StoreResult::kStored);
      m.expires = now + eff_ttl;
      m.evicted_at_insert = cache.stats().evicted;
      model[k] = m;
    } else if (r < 800) {
      const size_t k = pick();
      const Client c = client(k, true);
      const CacheHit h = cache.lookup(c.key(), now);
      size_t wl = 0;
      verify(k, c, h, &wl);
      if (HasFatalFailure()) return;
    } else if (r < 870) {
      // A batch of 0..40 keys (duplicates allowed) behaves like the same lookups in order.
      const size_t n = rng() % 41;
      std::vector<size_t> ks;
      std::vector<Client> cs;
      for (size_t i = 0; i < n; ++i) {
        ks.push_back(pick());
        cs.push_back(client(ks.back(), true));
      }
      std::vector<const dns::CacheKey*> keys;
      for (const Client& c : cs) keys.push_back(&c.key());
      std::vector<CacheHit> out(n);
      cache.lookup_batch(keys.data(), n, now, out.data());
      for (size_t i = 0; i < n; ++i) {
        size_t wl = 0;
        verify(ks[i], cs[i], out[i], &wl);
        if (HasFatalFailure()) return;
      }
    } else if (r < 960) {
      now += rng() % 4;
    } else if (r < 966) {
      // Flush one name exactly, or its parent as a subtree.
      const K& u = universe[pick()];
      const bool subtree = rng() % 2;
      std::string target = u.name;
      if (subtree) target = target.substr(target.find('.') + 1);
      const Bytes w = test::wire_name(random_case(target));
      size_t want = 0;
      for (auto it = model.begin(); it != model.end();) {
        const Bytes& n = universe[it->first].wire;
        const bool match = subtree ? dns::name_in_zone(n.data(), n.size(), w.data(), w.size())
                                   : dns::name_equal_ci(n.data(), n.size(), w.data(), w.size());
        if (match) {
          ++want;
          it = model.erase(it);
        } else {
          ++it;
        }
      }
      const size_t got = cache.flush_name(w.data(), w.size(), subtree);
      // The model may still hold entries the cache evicted or reclaimed after expiry.
      ASSERT_LE(got, want);
    } else if (r == 966 && rng() % 4 == 0) {
      cache.flush_all();
      model.clear();
      ASSERT_EQ(cache.stats().entries, 0u);
    } else if (r >= 997) {
      now += 30 + rng() % 60;  // a long pause: many entries go stale or past the window
    }
    if (op % 10000 == 9999) {
      sweep();
      if (HasFatalFailure()) return;
    }
  }
  sweep();
  if (HasFatalFailure()) return;

  const CacheStats s = cache.stats();
  EXPECT_GT(hits, prm.expect_no_eviction ? 2000u : 300u);
  EXPECT_GT(s.lookups_stale, 0u);
  EXPECT_GT(s.expired, 0u);
  if (prm.expect_no_eviction) {
    EXPECT_EQ(s.evicted, 0u);
    EXPECT_EQ(lost, 0u);
  } else {
    EXPECT_GT(s.evicted, 0u);
  }
}

INSTANTIATE_TEST_SUITE_P(Seeds, CacheRandomTest,
                         ::testing::Values(RandomParams{size_t{4} << 20, 0, true, 1, 60},
                                           RandomParams{size_t{4} << 20, 0, true, 2, 60},
                                           // index-bound: 51 entries
                                           RandomParams{size_t{64} << 10, 64, false, 3, 60},
                                           RandomParams{size_t{64} << 10, 64, false, 4, 600},
                                           RandomParams{size_t{64} << 10, 256, false, 5, 3000},
                                           // arena-bound: 32 KiB of records, index mostly empty
                                           RandomParams{size_t{64} << 10, 4096, false, 6, 3000},
                                           RandomParams{size_t{64} << 10, 4096, false, 7, 3000}));

}  // namespace
}  // namespace dotgate::cache

namespace dotgate::cache {
namespace {

// Found in review: a CNAME served with an NXDOMAIN must not outlive its own TTL.
TEST_F(CacheTest, NxdomainBehindCnameLivesNoLongerThanTheCname) {
  ResponseBuilder b("alias.example.com", dns::kTypeA);
  b.rcode(dns::kNxDomain);
  b.rr(dns::Section::kAnswer, test::ptr(ResponseBuilder::kQname), dns::kTypeCNAME, 5,
       test::labels_then("gone", b.suffix(1)));
  b.soa(300, 300);
  const Client c = q(Q("alias.example.com", dns::kTypeA));
  ASSERT_EQ(store(c, b.bytes(), kT0), StoreResult::kStored);
  EXPECT_EQ(find(c, kT0 + 4).status, LookupStatus::kFresh);
  EXPECT_NE(find(c, kT0 + 5).status, LookupStatus::kFresh);
}

// Found in review: NODATA behind a CNAME is negative (RFC 2308 2.2), bounded by the SOA.
TEST_F(CacheTest, NodataBehindCnameIsNegative) {
  ResponseBuilder b("alias.example.com", dns::kTypeAAAA);
  b.rr(dns::Section::kAnswer, test::ptr(ResponseBuilder::kQname), dns::kTypeCNAME, 3600,
       test::labels_then("v4only", b.suffix(1)));
  b.soa(3600, 60);
  const Client c = q(Q("alias.example.com", dns::kTypeAAAA));
  ASSERT_EQ(store(c, b.bytes(), kT0), StoreResult::kStored);
  EXPECT_EQ(find(c, kT0 + 59).status, LookupStatus::kFresh);
  EXPECT_NE(find(c, kT0 + 60).status, LookupStatus::kFresh);
  // Without the SOA it is not cacheable at all.
  ResponseBuilder no_soa("alias2.example.com", dns::kTypeAAAA);
  no_soa.rr(dns::Section::kAnswer, test::ptr(ResponseBuilder::kQname), dns::kTypeCNAME, 3600,
            test::labels_then("v4only", no_soa.suffix(1)));
  EXPECT_EQ(store(q(Q("alias2.example.com", dns::kTypeAAAA)), no_soa.bytes(), kT0), StoreResult::kNegativeNoSoa);
}

// RFC 8914: a stale NXDOMAIN is "Stale NXDomain Answer" (19), not "Stale Answer" (3).
TEST_F(CacheTest, StaleNxdomainCarriesEde19) {
  CacheConfig cfg = small_config();
  cfg.stale_window = 1000;
  make(cfg);
  const Client c = q(Q("nope.example.com", dns::kTypeA).edns());
  ASSERT_EQ(store(c, nxdomain("nope.example.com", dns::kTypeA, 60, 60), kT0), StoreResult::kStored);
  const Decoded d = hit_answer(c, kT0 + 100, LookupStatus::kStale);
  EXPECT_THAT(d.opt_options, ElementsAre(std::make_pair(uint16_t{15}, Bytes{0, 19})));
}

}  // namespace
}  // namespace dotgate::cache
