// Tests for local/local_data.h: every zone type, NODATA versus NXDOMAIN, CNAMEs, the hosts
// file's names, case, EDNS and truncation. Every answer is read back with the project's
// own dns::parse_response / RecordReader.
#include "local/local_data.h"

#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <stdexcept>
#include <string>

#include "local_test_util.h"

namespace dotgate::local {
namespace {

using namespace test;
using dns::Section;

config::Local lab_config(uint32_t ttl = 3600) {
  config::Local l;
  l.ttl = ttl;
  l.zones.push_back(zone("lab.corp.example", LocalZoneType::kStatic,
                         {"printer.lab.corp.example. 300 IN A 10.1.0.5",
                          "printer.lab.corp.example AAAA fd00:1::5",
                          "multi.lab.corp.example A 10.1.0.6",
                          "multi.lab.corp.example A 10.1.0.7",
                          "@ MX 10 mail.corp.example.",
                          "_ipp._tcp.lab.corp.example. SRV 0 0 631 printer.lab.corp.example.",
                          "alias.lab.corp.example CNAME printer.lab.corp.example.",
                          "away.lab.corp.example CNAME www.example.org.",
                          "loop1.lab.corp.example CNAME loop2.lab.corp.example.",
                          "loop2.lab.corp.example CNAME loop1.lab.corp.example."},
                         ttl));
  l.zones.push_back(zone("intranet.example", LocalZoneType::kTransparent,
                         {"www.intranet.example CNAME printer.lab.corp.example.",
                          "wiki.intranet.example A 10.2.0.1"},
                         ttl));
  l.zones.push_back(zone("use-application-dns.net", LocalZoneType::kNxdomain));
  l.zones.push_back(zone("ads.example", LocalZoneType::kDrop));
  l.zones.push_back(zone("refused.example", LocalZoneType::kRefuse));
  return l;
}

class LocalDataTest : public ::testing::Test {
 protected:
  LocalData data{lab_config(), nullptr, kOurPayload, kSeed};
};

Bytes a_rdata(uint8_t a, uint8_t b, uint8_t c, uint8_t d) { return Bytes{a, b, c, d}; }

TEST_F(LocalDataTest, StaticRecordsAnsweredWithConfiguredTtlAndFlags) {
  QueryOptions o;
  o.id = 0xbeef;
  const Answer a = ask(data, query("printer.lab.corp.example", dns::kTypeA, o));
  ASSERT_EQ(a.result.action, Action::kAnswer);
  ASSERT_TRUE(a.parsed);
  EXPECT_EQ(a.r.id, 0xbeef);
  EXPECT_EQ(a.r.rcode, dns::kNoError);
  EXPECT_TRUE(a.r.flags & dns::kFlagQR);
  EXPECT_TRUE(a.r.flags & dns::kFlagAA);
  EXPECT_TRUE(a.r.flags & dns::kFlagRA);
  EXPECT_TRUE(a.r.flags & dns::kFlagRD);
  ASSERT_EQ(a.records.size(), 1u);
  EXPECT_EQ(a.records[0].section, Section::kAnswer);
  EXPECT_EQ(a.records[0].owner, "printer.lab.corp.example.");
  EXPECT_EQ(a.records[0].type, dns::kTypeA);
  EXPECT_EQ(a.records[0].ttl, 300u);
  EXPECT_EQ(a.records[0].rdata, a_rdata(10, 1, 0, 5));
  EXPECT_FALSE(a.r.has_edns);
}

TEST_F(LocalDataTest, OwnerIsCompressedToTheQuestion) {
  const Bytes q = query("printer.lab.corp.example", dns::kTypeAAAA);
  const Answer a = ask(data, q);
  ASSERT_EQ(a.records.size(), 1u);
  // The record right after the question starts with a pointer to offset 12.
  EXPECT_EQ(a.msg[q.size()], 0xc0);
  EXPECT_EQ(a.msg[q.size() + 1], 12);
  EXPECT_EQ(a.msg.size(), q.size() + 2 + 10 + 16);
}

TEST_F(LocalDataTest, RdClearedWhenTheClientClearedIt) {
  QueryOptions o;
  o.flags = dns::kFlagCD;
  const Answer a = ask(data, query("printer.lab.corp.example", dns::kTypeA, o));
  EXPECT_FALSE(a.r.flags & dns::kFlagRD);
  EXPECT_TRUE(a.r.flags & dns::kFlagCD);
}

TEST_F(LocalDataTest, WholeRrsetIsAnswered) {
  const Answer a = ask(data, query("multi.lab.corp.example", dns::kTypeA));
  ASSERT_EQ(a.records.size(), 2u);
  EXPECT_EQ(a.records[0].rdata, a_rdata(10, 1, 0, 6));
  EXPECT_EQ(a.records[1].rdata, a_rdata(10, 1, 0, 7));
  EXPECT_EQ(a.records[1].ttl, 3600u);  // the zone's default
}

TEST_F(LocalDataTest, NamesMatchInAnyCaseAndTheClientsSpellingIsEchoed) {
  const Bytes q = query("PrInTeR.LAB.Corp.EXAMPLE", dns::kTypeA);
  const Answer a = ask(data, q);
  ASSERT_EQ(a.r.ancount, 1);
  EXPECT_EQ(std::memcmp(a.msg.data() + 12, q.data() + 12, q.size() - 12), 0);
  EXPECT_EQ(a.records[0].owner, "PrInTeR.LAB.Corp.EXAMPLE.");
}

TEST_F(LocalDataTest, OtherTypeAtAnOwnerIsNodataWithTheZonesSoa) {
  const Answer a = ask(data, query("multi.lab.corp.example", dns::kTypeTXT));
  ASSERT_EQ(a.result.action, Action::kAnswer);
  EXPECT_EQ(a.r.rcode, dns::kNoError);
  EXPECT_EQ(a.r.ancount, 0);
  ASSERT_EQ(a.count(Section::kAuthority), 1u);
  const Rec& soa = a.records[0];
  EXPECT_EQ(soa.type, dns::kTypeSOA);
  EXPECT_EQ(soa.owner, "lab.corp.example.");
  EXPECT_EQ(soa.target, "lab.corp.example.");
  EXPECT_EQ(soa.ttl, 3600u);
  EXPECT_TRUE(a.r.has_soa);
  EXPECT_EQ(a.r.negative_ttl, 3600u);
}

TEST(LocalData, NegativeTtlIsCappedAtAnHour) {
  const LocalData long_ttl(lab_config(86400), nullptr, kOurPayload, kSeed);
  EXPECT_EQ(ask(long_ttl, query("nothing.lab.corp.example", dns::kTypeA)).r.negative_ttl, 3600u);
  const LocalData short_ttl(lab_config(60), nullptr, kOurPayload, kSeed);
  const Answer a = ask(short_ttl, query("nothing.lab.corp.example", dns::kTypeA));
  EXPECT_EQ(a.r.negative_ttl, 60u);
  ASSERT_EQ(a.records.size(), 1u);
  EXPECT_EQ(a.records[0].ttl, 60u);
}

TEST_F(LocalDataTest, MissingNameBelowStaticZoneIsNxdomainWithSoa) {
  const Answer a = ask(data, query("Nothing.Here.lab.corp.example", dns::kTypeA));
  ASSERT_EQ(a.result.action, Action::kAnswer);
  EXPECT_EQ(a.r.rcode, dns::kNxDomain);
  EXPECT_TRUE(a.r.flags & dns::kFlagAA);
  EXPECT_EQ(a.r.ancount, 0);
  ASSERT_EQ(a.records.size(), 1u);
  EXPECT_EQ(a.records[0].section, Section::kAuthority);
  // Owned by the zone's suffix of the question, as the client spelled it.
  EXPECT_EQ(a.records[0].owner, "lab.corp.example.");
  EXPECT_TRUE(a.r.has_soa);
}

TEST_F(LocalDataTest, EmptyNonTerminalIsNodataNotNxdomain) {
  // _ipp._tcp.lab.corp.example has an SRV record, so _tcp.lab.corp.example exists (RFC 8020).
  const Answer ent = ask(data, query("_tcp.lab.corp.example", dns::kTypeA));
  EXPECT_EQ(ent.r.rcode, dns::kNoError);
  EXPECT_EQ(ent.r.ancount, 0);
  EXPECT_TRUE(ent.r.has_soa);
  const Answer srv = ask(data, query("_ipp._tcp.lab.corp.example", 33));
  ASSERT_EQ(srv.r.ancount, 1);
  EXPECT_EQ(srv.records[0].type, 33);
  EXPECT_EQ(ask(data, query("_udp.lab.corp.example", dns::kTypeA)).r.rcode, dns::kNxDomain);
}

TEST_F(LocalDataTest, StaticApexAnswersSoaAndItsRecords) {
  const Answer soa = ask(data, query("lab.corp.example", dns::kTypeSOA));
  ASSERT_EQ(soa.r.ancount, 1);
  EXPECT_EQ(soa.records[0].type, dns::kTypeSOA);
  EXPECT_EQ(soa.records[0].section, Section::kAnswer);
  const Answer mx = ask(data, query("lab.corp.example", dns::kTypeMX));
  ASSERT_EQ(mx.r.ancount, 1);
  EXPECT_EQ(mx.records[0].type, dns::kTypeMX);
  const Answer a = ask(data, query("lab.corp.example", dns::kTypeA));
  EXPECT_EQ(a.r.rcode, dns::kNoError);
  EXPECT_EQ(a.r.ancount, 0);
  EXPECT_EQ(a.r.nscount, 1);
}

TEST_F(LocalDataTest, AnyGivesEveryRrsetOfTheOwner) {
  const Answer a = ask(data, query("printer.lab.corp.example", dns::kTypeANY));
  ASSERT_EQ(a.r.ancount, 2);
  EXPECT_EQ(a.records[0].type, dns::kTypeA);
  EXPECT_EQ(a.records[1].type, dns::kTypeAAAA);
}

TEST_F(LocalDataTest, ZoneTransfersAreRefused) {
  EXPECT_EQ(ask(data, query("lab.corp.example", dns::kTypeAXFR)).r.rcode, dns::kRefused);
  EXPECT_EQ(ask(data, query("lab.corp.example", dns::kTypeIXFR)).r.rcode, dns::kRefused);
}

TEST_F(LocalDataTest, CnameAnswersEveryTypeAndIsFollowedThroughLocalData) {
  const Answer a = ask(data, query("ALIAS.lab.corp.example", dns::kTypeAAAA));
  ASSERT_EQ(a.r.ancount, 2);
  EXPECT_EQ(a.records[0].type, dns::kTypeCNAME);
  EXPECT_EQ(a.records[0].owner, "ALIAS.lab.corp.example.");
  EXPECT_EQ(a.records[0].target, "printer.lab.corp.example.");
  EXPECT_EQ(a.records[1].type, dns::kTypeAAAA);
  EXPECT_EQ(a.records[1].owner, "printer.lab.corp.example.");  // a pointer into the CNAME's data

  // The target has no TXT: the CNAME alone, NOERROR.
  const Answer txt = ask(data, query("alias.lab.corp.example", dns::kTypeTXT));
  ASSERT_EQ(txt.r.ancount, 1);
  EXPECT_EQ(txt.r.rcode, dns::kNoError);
  EXPECT_EQ(txt.records[0].type, dns::kTypeCNAME);

  // Asked for the CNAME itself: only the CNAME.
  const Answer cname = ask(data, query("alias.lab.corp.example", dns::kTypeCNAME));
  ASSERT_EQ(cname.r.ancount, 1);
  EXPECT_EQ(cname.records[0].type, dns::kTypeCNAME);
}

TEST_F(LocalDataTest, CnameToANameElsewhereStopsAtTheCname) {
  const Answer a = ask(data, query("away.lab.corp.example", dns::kTypeA));
  ASSERT_EQ(a.r.ancount, 1);
  EXPECT_EQ(a.records[0].target, "www.example.org.");
}

TEST_F(LocalDataTest, CnameLoopIsBounded) {
  const Answer a = ask(data, query("loop1.lab.corp.example", dns::kTypeA));
  ASSERT_EQ(a.result.action, Action::kAnswer);
  EXPECT_EQ(a.r.ancount, 8);
  for (const Rec& r : a.records) EXPECT_EQ(r.type, dns::kTypeCNAME);
}

TEST_F(LocalDataTest, TransparentZoneAnswersItsNamesAndForwardsTheRest) {
  const Answer wiki = ask(data, query("wiki.intranet.example", dns::kTypeA));
  ASSERT_EQ(wiki.r.ancount, 1);
  EXPECT_EQ(wiki.records[0].rdata, a_rdata(10, 2, 0, 1));
  // A CNAME into another zone's data is followed there.
  const Answer www = ask(data, query("www.intranet.example", dns::kTypeA));
  ASSERT_EQ(www.r.ancount, 2);
  EXPECT_EQ(www.records[1].rdata, a_rdata(10, 1, 0, 5));
  // An owner without the type: NODATA with the zone's SOA.
  const Answer nodata = ask(data, query("wiki.intranet.example", dns::kTypeAAAA));
  EXPECT_EQ(nodata.r.rcode, dns::kNoError);
  EXPECT_EQ(nodata.r.ancount, 0);
  ASSERT_EQ(nodata.records.size(), 1u);
  EXPECT_EQ(nodata.records[0].owner, "intranet.example.");
  // Other names, the apex included: not ours.
  EXPECT_EQ(ask(data, query("mail.intranet.example", dns::kTypeA)).result.action, Action::kNotLocal);
  EXPECT_EQ(ask(data, query("intranet.example", dns::kTypeA)).result.action, Action::kNotLocal);
}

TEST_F(LocalDataTest, NxdomainZoneAnswersNxdomainForItselfAndBelow) {
  for (const std::string name : {"use-application-dns.net", "a.b.USE-application-dns.net"}) {
    const Answer a = ask(data, query(name, dns::kTypeA));
    ASSERT_EQ(a.result.action, Action::kAnswer) << name;
    EXPECT_EQ(a.r.rcode, dns::kNxDomain) << name;
    EXPECT_TRUE(a.r.has_soa) << name;
    ASSERT_EQ(a.records.size(), 1u);
    // The zone's suffix of the question, spelled as the client spelled it.
    EXPECT_EQ(a.records[0].owner, name.substr(name.size() - 23) + ".") << name;
  }
}

TEST_F(LocalDataTest, RefuseZoneAnswersRefused) {
  for (const char* name : {"refused.example", "x.refused.example"}) {
    QueryOptions o;
    o.edns = true;
    const Answer a = ask(data, query(name, dns::kTypeA, o));
    ASSERT_EQ(a.result.action, Action::kAnswer) << name;
    EXPECT_EQ(a.r.rcode, dns::kRefused) << name;
    EXPECT_EQ(a.r.ancount, 0);
    EXPECT_TRUE(a.r.has_edns);
  }
}

TEST_F(LocalDataTest, DropZoneSendsNothing) {
  for (const char* name : {"ads.example", "tracker.ads.example"}) {
    const Answer a = ask(data, query(name, dns::kTypeA));
    EXPECT_EQ(a.result.action, Action::kDrop) << name;
  }
}

TEST_F(LocalDataTest, NamesOutsideEveryZoneAndOtherClassesAreNotLocal) {
  EXPECT_EQ(ask(data, query("www.example.com", dns::kTypeA)).result.action, Action::kNotLocal);
  EXPECT_EQ(ask(data, query(".", dns::kTypeNS)).result.action, Action::kNotLocal);
  EXPECT_EQ(ask(data, query("example", dns::kTypeA)).result.action, Action::kNotLocal);
  EXPECT_EQ(ask(data, query("corp.example", dns::kTypeA)).result.action, Action::kNotLocal);
  QueryOptions chaos;
  chaos.qclass = dns::kClassCH;
  EXPECT_EQ(ask(data, query("printer.lab.corp.example", dns::kTypeA, chaos)).result.action, Action::kNotLocal);
}

TEST(LocalData, LongestZoneWins) {
  config::Local l;
  l.zones.push_back(zone("corp.example", LocalZoneType::kStatic,
                         {"a.ads.corp.example A 192.0.2.1", "host.corp.example A 192.0.2.2"}));
  l.zones.push_back(zone("ads.corp.example", LocalZoneType::kRefuse));
  l.zones.push_back(zone("pub.corp.example", LocalZoneType::kTransparent, {"www.pub.corp.example A 192.0.2.3"}));
  l.zones.push_back(zone("gone.pub.corp.example", LocalZoneType::kNxdomain));
  l.zones.push_back(zone(".", LocalZoneType::kTransparent, {"localhost A 127.0.0.1"}));
  const LocalData data(l, nullptr, kOurPayload, kSeed);
  EXPECT_EQ(ask(data, query("host.corp.example", dns::kTypeA)).r.ancount, 1);
  EXPECT_EQ(ask(data, query("other.corp.example", dns::kTypeA)).r.rcode, dns::kNxDomain);
  // The refuse zone is longer than the static zone whose record lies in it.
  EXPECT_EQ(ask(data, query("a.ads.corp.example", dns::kTypeA)).r.rcode, dns::kRefused);
  EXPECT_EQ(ask(data, query("www.pub.corp.example", dns::kTypeA)).r.ancount, 1);
  EXPECT_EQ(ask(data, query("other.pub.corp.example", dns::kTypeA)).result.action, Action::kNotLocal);
  EXPECT_EQ(ask(data, query("x.gone.pub.corp.example", dns::kTypeA)).r.rcode, dns::kNxDomain);
  // A root zone: its records are answered, everything else forwarded.
  EXPECT_EQ(ask(data, query("LOCALHOST", dns::kTypeA)).r.ancount, 1);
  EXPECT_EQ(ask(data, query("www.example.com", dns::kTypeA)).result.action, Action::kNotLocal);
}

TEST(LocalData, NxdomainSoaAtTheRootZoneIsOwnedByTheRoot) {
  config::Local l;
  l.zones.push_back(zone(".", LocalZoneType::kStatic, {"localhost A 127.0.0.1"}));
  const LocalData data(l, nullptr, kOurPayload, kSeed);
  const Answer a = ask(data, query("nowhere", dns::kTypeA));
  EXPECT_EQ(a.r.rcode, dns::kNxDomain);
  ASSERT_EQ(a.records.size(), 1u);
  EXPECT_EQ(a.records[0].owner, ".");
}

TEST_F(LocalDataTest, EdnsIsMirroredWithOurPayloadAndTheDoBit) {
  QueryOptions o;
  o.edns = true;
  o.do_bit = true;
  o.udp_size = 4096;
  const Answer a = ask(data, query("printer.lab.corp.example", dns::kTypeA, o));
  ASSERT_TRUE(a.parsed);
  EXPECT_TRUE(a.r.has_edns);
  EXPECT_TRUE(a.r.do_bit);
  EXPECT_EQ(a.r.udp_size, kOurPayload);
  EXPECT_EQ(a.r.ancount, 1);
  EXPECT_EQ(a.r.arcount, 1);
  o.do_bit = false;
  const Answer nx = ask(data, query("none.lab.corp.example", dns::kTypeA, o));
  EXPECT_TRUE(nx.r.has_edns);
  EXPECT_FALSE(nx.r.do_bit);
  EXPECT_EQ(nx.r.rcode, dns::kNxDomain);
}

config::Local big_config() {
  config::Local l;
  std::vector<std::string> texts;
  for (int i = 0; i < 60; ++i) texts.push_back("big.example A 192.0.2." + std::to_string(i + 1));
  config::LocalZone z = zone("example", LocalZoneType::kStatic);
  for (const std::string& t : texts) z.records.push_back(std::get<config::LocalRecord>(config::parse_local_record(t, z, 3600)));
  l.zones.push_back(z);
  return l;
}

TEST(LocalData, TruncatedWithTcOverTheClientsLimit) {
  const LocalData data(big_config(), nullptr, kOurPayload, kSeed);
  // 60 A records: 12 + 17 + 60 * 16 = 989 bytes.
  const Answer full = ask(data, query("big.example", dns::kTypeA), 1232);
  EXPECT_EQ(full.r.ancount, 60);
  EXPECT_FALSE(full.r.flags & dns::kFlagTC);
  EXPECT_EQ(full.msg.size(), 989u);

  const Bytes q = query("big.example", dns::kTypeA);
  const Answer tc = ask(data, q, 512);
  ASSERT_TRUE(tc.parsed);
  EXPECT_TRUE(tc.r.flags & dns::kFlagTC);
  EXPECT_EQ(tc.r.ancount, 0);
  EXPECT_EQ(tc.r.rcode, dns::kNoError);
  EXPECT_EQ(tc.msg.size(), q.size());  // header and question only

  QueryOptions o;
  o.edns = true;
  const Answer tc_edns = ask(data, query("big.example", dns::kTypeA, o), 512);
  EXPECT_TRUE(tc_edns.r.flags & dns::kFlagTC);
  EXPECT_TRUE(tc_edns.r.has_edns);
  EXPECT_LE(tc_edns.msg.size(), 512u);
  // The OPT counts towards the limit: 989 + 11 bytes does not fit 990.
  EXPECT_TRUE(ask(data, query("big.example", dns::kTypeA, o), 990).r.flags & dns::kFlagTC);
  EXPECT_FALSE(ask(data, query("big.example", dns::kTypeA, o), 1000).r.flags & dns::kFlagTC);
}

TEST(LocalData, AnswerLargerThanTheBufferIsTruncatedAndATinyBufferGivesZero) {
  const LocalData data(big_config(), nullptr, kOurPayload, kSeed);
  const Bytes q = query("big.example", dns::kTypeA);
  const Answer cut = ask(data, q, 65535, 600);
  EXPECT_TRUE(cut.r.flags & dns::kFlagTC);
  const Answer none = ask(data, q, 65535, q.size() - 1);
  EXPECT_EQ(none.result.action, Action::kAnswer);
  EXPECT_EQ(none.result.len, 0u);
}

TEST_F(LocalDataTest, AnsweringInPlaceGivesTheSameBytes) {
  for (const char* name : {"alias.lab.corp.example", "none.lab.corp.example", "printer.lab.corp.example",
                           "refused.example"}) {
    QueryOptions o;
    o.edns = true;
    const Bytes q = query(name, dns::kTypeA, o);
    const Answer separate = ask(data, q);
    Bytes buf(1232, 0);
    std::memcpy(buf.data(), q.data(), q.size());
    dns::Query parsed;
    ASSERT_EQ(dns::parse_query(buf.data(), q.size(), &parsed), dns::ParseError::kOk);
    const Result r = data.answer(buf.data(), parsed, buf.data(), buf.size(), 1232);
    ASSERT_EQ(r.len, separate.msg.size()) << name;
    EXPECT_EQ(Bytes(buf.begin(), buf.begin() + static_cast<ptrdiff_t>(r.len)), separate.msg) << name;
  }
}

TEST(LocalData, EmptyConfigIsNeverLocal) {
  const LocalData data(config::Local{}, nullptr, kOurPayload, kSeed);
  EXPECT_TRUE(data.empty());
  EXPECT_EQ(ask(data, query("localhost", dns::kTypeA)).result.action, Action::kNotLocal);
}

TEST(LocalData, ConflictingCnameAcrossNestedZonesIsAnError) {
  config::Local l;
  l.zones.push_back(zone("corp.example", LocalZoneType::kStatic, {"x.sub.corp.example A 192.0.2.1"}));
  l.zones.push_back(zone("sub.corp.example", LocalZoneType::kStatic, {"x.sub.corp.example CNAME y.corp.example"}));
  try {
    LocalData data(l, nullptr, kOurPayload, kSeed);
    FAIL() << "no error";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("x.sub.corp.example. has a CNAME and other data"), std::string::npos)
        << e.what();
  }
}

// ---- the hosts file -----------------------------------------------------------------

constexpr const char* kHosts =
    "# The usual head\n"
    "127.0.0.1\tlocalhost\n"
    "::1 localhost ip6-localhost   # trailing comment\n"
    "\n"
    "10.0.0.1  nas.home.arpa  NAS  backup.home.arpa\n"
    "10.0.0.2  nas.home.arpa\n"
    "2001:db8::1  nas.home.arpa\n"
    "0.0.0.0 blocked.example\n"
    "not-an-address nas2.home.arpa\n";

TEST(HostsData, ParseErrorsStopTheBuildWithFileAndLine) {
  const HostsFile hosts = parse_hosts(kHosts, "/etc/dotgate/hosts");
  ASSERT_EQ(hosts.errors.size(), 1u);
  EXPECT_EQ(hosts.errors[0].rfind("/etc/dotgate/hosts:9: ", 0), 0u) << hosts.errors[0];
  try {
    LocalData data(config::Local{}, &hosts, kOurPayload, kSeed);
    FAIL() << "no error";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("/etc/dotgate/hosts:9: "), std::string::npos) << e.what();
  }
}

class HostsDataTest : public ::testing::Test {
 protected:
  static config::Local with_ttl(uint32_t ttl) {
    config::Local l = lab_config();
    l.ttl = ttl;
    return l;
  }
  HostsFile hosts = [] {
    std::string text = kHosts;
    text.erase(text.rfind("not-an-address"));  // without the bad line
    return parse_hosts(text, "hosts");
  }();
  LocalData data{with_ttl(120), &hosts, kOurPayload, kSeed};
};

TEST_F(HostsDataTest, Ipv4AndIpv6AddressesWithTheConfiguredTtl) {
  const Answer a = ask(data, query("nas.home.arpa", dns::kTypeA));
  ASSERT_EQ(a.r.ancount, 2);
  EXPECT_EQ(a.records[0].rdata, a_rdata(10, 0, 0, 1));
  EXPECT_EQ(a.records[1].rdata, a_rdata(10, 0, 0, 2));
  EXPECT_EQ(a.records[0].ttl, 120u);
  const Answer aaaa = ask(data, query("nas.home.arpa", dns::kTypeAAAA));
  ASSERT_EQ(aaaa.r.ancount, 1);
  const Bytes v6 = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
  EXPECT_EQ(aaaa.records[0].rdata, v6);
  const Answer lo6 = ask(data, query("ip6-localhost", dns::kTypeAAAA));
  ASSERT_EQ(lo6.r.ancount, 1);
  EXPECT_EQ(lo6.records[0].rdata.back(), 1);
}

TEST_F(HostsDataTest, EveryNameOfALineAndAnyCase) {
  EXPECT_EQ(ask(data, query("nas", dns::kTypeA)).r.ancount, 1);
  EXPECT_EQ(ask(data, query("Backup.Home.ARPA", dns::kTypeA)).r.ancount, 1);
  EXPECT_EQ(ask(data, query("LocalHost", dns::kTypeA)).records.at(0).rdata, a_rdata(127, 0, 0, 1));
}

TEST_F(HostsDataTest, ReverseNamesGivePtrToEveryNameOfTheLine) {
  const Answer a = ask(data, query("1.0.0.10.in-addr.arpa", dns::kTypePTR));
  ASSERT_EQ(a.r.ancount, 3);
  EXPECT_EQ(a.records[0].target, "nas.home.arpa.");
  EXPECT_EQ(a.records[1].target, "nas.");
  EXPECT_EQ(a.records[2].target, "backup.home.arpa.");
  EXPECT_EQ(a.records[0].ttl, 120u);
  const Answer v6 = ask(
      data, query("1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.IP6.ARPA", dns::kTypePTR));
  ASSERT_EQ(v6.r.ancount, 1);
  EXPECT_EQ(v6.records[0].target, "nas.home.arpa.");
  const Answer lo = ask(data, query("1.0.0.127.in-addr.arpa", dns::kTypePTR));
  ASSERT_EQ(lo.r.ancount, 1);
  EXPECT_EQ(lo.records[0].target, "localhost.");
  EXPECT_EQ(ask(data, query("3.0.0.10.in-addr.arpa", dns::kTypePTR)).result.action, Action::kNotLocal);
}

TEST_F(HostsDataTest, MissingFamilyOrOtherTypeIsNodataWithTheNamesOwnSoa) {
  const Answer a = ask(data, query("Backup.home.arpa", dns::kTypeAAAA));
  EXPECT_EQ(a.r.rcode, dns::kNoError);
  EXPECT_EQ(a.r.ancount, 0);
  ASSERT_EQ(a.records.size(), 1u);
  EXPECT_EQ(a.records[0].type, dns::kTypeSOA);
  EXPECT_EQ(a.records[0].owner, "Backup.home.arpa.");
  EXPECT_EQ(a.records[0].target, "Backup.home.arpa.");
  EXPECT_EQ(a.r.negative_ttl, 120u);
}

TEST_F(HostsDataTest, NullAddressNamesExistWithoutAddresses) {
  for (uint16_t type : {dns::kTypeA, dns::kTypeAAAA}) {
    const Answer a = ask(data, query("blocked.example", type));
    EXPECT_EQ(a.r.rcode, dns::kNoError);
    EXPECT_EQ(a.r.ancount, 0);
    EXPECT_TRUE(a.r.has_soa);
  }
  EXPECT_EQ(ask(data, query("0.0.0.0.in-addr.arpa", dns::kTypePTR)).result.action, Action::kNotLocal);
}

TEST_F(HostsDataTest, NamesBelowAHostsNameAreForwarded) {
  EXPECT_EQ(ask(data, query("www.nas.home.arpa", dns::kTypeA)).result.action, Action::kNotLocal);
  EXPECT_EQ(ask(data, query("home.arpa", dns::kTypeA)).result.action, Action::kNotLocal);
}

TEST(HostsData, NamesInsideZonesFollowTheZone) {
  config::Local l = lab_config();
  const HostsFile hosts = parse_hosts("10.1.0.9 scanner.lab.corp.example\n10.9.9.9 x.ads.example\n"
                                      "10.1.0.10 a.b.lab.corp.example\n",
                                      "hosts");
  const LocalData data(l, &hosts, kOurPayload, kSeed);
  const Answer a = ask(data, query("scanner.lab.corp.example", dns::kTypeA));
  ASSERT_EQ(a.r.ancount, 1);
  const Answer nodata = ask(data, query("scanner.lab.corp.example", dns::kTypeTXT));
  ASSERT_EQ(nodata.records.size(), 1u);
  EXPECT_EQ(nodata.records[0].owner, "lab.corp.example.");  // the zone's SOA
  // b.lab.corp.example now exists (empty non-terminal): NODATA, not NXDOMAIN.
  EXPECT_EQ(ask(data, query("b.lab.corp.example", dns::kTypeA)).r.rcode, dns::kNoError);
  // A drop zone wins over the hosts file.
  EXPECT_EQ(ask(data, query("x.ads.example", dns::kTypeA)).result.action, Action::kDrop);
}

TEST(HostsData, BlockListsMapManyNamesToOneAddress) {
  std::string text;
  for (int i = 0; i < 20000; ++i) text += "127.0.0.1 ads" + std::to_string(i) + ".example\n";
  const HostsFile hosts = parse_hosts(text, "blocklist");
  const LocalData data(config::Local{}, &hosts, kOurPayload, kSeed);
  const Answer a = ask(data, query("ads19999.example", dns::kTypeA));
  ASSERT_EQ(a.r.ancount, 1);
  EXPECT_EQ(a.records[0].rdata, a_rdata(127, 0, 0, 1));
  // The reverse name points at the first 16 names only.
  const Answer ptr = ask(data, query("1.0.0.127.in-addr.arpa", dns::kTypePTR));
  ASSERT_EQ(ptr.r.ancount, 16);
  EXPECT_EQ(ptr.records[0].target, "ads0.example.");
  EXPECT_EQ(ptr.records[15].target, "ads15.example.");
  EXPECT_EQ(data.stats().owners, 20001u);
}

TEST(HostsData, ClashWithZoneRecordsIsAnErrorNamingTheLineAndZone) {
  const HostsFile hosts = parse_hosts("# head\n10.1.0.99 printer.lab.corp.example\n10.1.0.98 alias.lab.corp.example\n",
                                      "/etc/hosts");
  try {
    LocalData data(lab_config(), &hosts, kOurPayload, kSeed);
    FAIL() << "no error";
  } catch (const std::runtime_error& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("/etc/hosts:2: printer.lab.corp.example. already has A records in zone \"lab.corp.example.\""),
              std::string::npos)
        << m;
    EXPECT_NE(m.find("/etc/hosts:3: alias.lab.corp.example. is a CNAME in zone \"lab.corp.example.\""),
              std::string::npos)
        << m;
  }
}

TEST(HostsData, FromConfigReadsTheFileAndReportsAnUnreadableOne) {
  config::Local l;
  l.hosts_file = "/nonexistent/dotgate-test/hosts";
  try {
    LocalData::from_config(l, kOurPayload, kSeed);
    FAIL() << "no error";
  } catch (const std::runtime_error& e) {
    EXPECT_EQ(std::string(e.what()), "/nonexistent/dotgate-test/hosts: cannot read: No such file or directory");
  }
  l.hosts_file = "/etc/hosts";  // present on every Linux machine; its content varies
  try {
    const LocalData data = LocalData::from_config(l, kOurPayload, kSeed);
    EXPECT_FALSE(data.empty());
  } catch (const std::runtime_error& e) {
    // A machine's /etc/hosts may hold a line we refuse; then the message names it.
    EXPECT_NE(std::string(e.what()).find("/etc/hosts:"), std::string::npos) << e.what();
  }
}

// ---- property: any query the parser accepts ---------------------------------------

// Random names (often below the configured zones and hosts names, in random case, with
// random label bytes), random types, classes, EDNS, limits and buffer sizes. Whatever
// answer() decides, an answer must parse, echo the question and ID, respect the limits,
// and agree with a second call made in place.
TEST(LocalDataProperty, AnyParsedQueryGetsAWellFormedAnswer) {
  config::Local l = lab_config();
  const HostsFile hosts = parse_hosts("10.0.0.1 nas.home.arpa nas\n2001:db8::1 nas.home.arpa\n0.0.0.0 blocked\n", "h");
  const LocalData data(l, &hosts, kOurPayload, kSeed);
  const std::vector<std::string> suffixes = {"lab.corp.example", "intranet.example", "use-application-dns.net",
                                             "ads.example", "refused.example", "home.arpa", "in-addr.arpa",
                                             "example", ""};
  const std::vector<std::string> labels = {"printer", "multi", "alias", "away", "loop1", "_ipp", "_tcp",
                                           "www", "wiki", "nas", "1", "0", "10", "PRINTER", "Nas"};
  const uint16_t types[] = {dns::kTypeA, dns::kTypeAAAA, dns::kTypeCNAME, dns::kTypeSOA, dns::kTypePTR,
                            dns::kTypeMX, dns::kTypeTXT, 33, dns::kTypeANY, dns::kTypeAXFR, dns::kTypeIXFR,
                            0, 65535, dns::kTypeOPT, dns::kTypeNS};
  std::mt19937_64 rng(12345);
  size_t answered = 0, dropped = 0, not_local = 0;
  for (int iter = 0; iter < 30000; ++iter) {
    // The name, as wire bytes, leftmost label first.
    Bytes name;
    const int n_labels = static_cast<int>(rng() % 5);
    for (int i = 0; i < n_labels; ++i) {
      if (rng() % 4 == 0) {  // arbitrary bytes, any length
        const size_t len = 1 + rng() % 63;
        name.push_back(static_cast<uint8_t>(len));
        for (size_t k = 0; k < len; ++k) name.push_back(static_cast<uint8_t>(rng()));
      } else {
        const std::string& lab = labels[rng() % labels.size()];
        name.push_back(static_cast<uint8_t>(lab.size()));
        name.insert(name.end(), lab.begin(), lab.end());
      }
    }
    const std::string& suffix = suffixes[rng() % suffixes.size()];
    const Bytes tail = dns::testutil::wire_name(suffix.empty() ? "." : suffix);
    name.insert(name.end(), tail.begin(), tail.end());
    if (name.size() > dns::kMaxNameWire) continue;
    for (uint8_t& c : name) {
      if (c >= 'a' && c <= 'z' && rng() % 3 == 0) c = static_cast<uint8_t>(c - 32);
    }

    Msg m;
    const bool edns = rng() % 2;
    const uint16_t qclass = rng() % 8 == 0 ? dns::kClassCH : dns::kClassIN;
    const uint16_t type = rng() % 5 == 0 ? static_cast<uint16_t>(rng()) : types[rng() % std::size(types)];
    m.header(static_cast<uint16_t>(rng()), static_cast<uint16_t>(rng() & (dns::kFlagRD | dns::kFlagCD | dns::kFlagAD)),
             1, 0, 0, edns ? 1 : 0)
        .raw(name)
        .u16(type)
        .u16(qclass);
    if (edns) m.opt(static_cast<uint16_t>(rng()), rng() % 2 ? dns::kEdnsDoBit : 0);
    dns::Query q;
    if (dns::parse_query(m.b.data(), m.b.size(), &q) != dns::ParseError::kOk) continue;

    const size_t cap = rng() % 4 == 0 ? 1 + rng() % 600 : 65535;
    const size_t limit = rng() % 2 ? q.udp_limit(kOurPayload) : 65535;
    Bytes out(cap, 0xee);
    const Result r = data.answer(m.b.data(), q, out.data(), cap, limit);
    if (r.action == Action::kNotLocal) {
      ++not_local;
      continue;
    }
    if (r.action == Action::kDrop) {
      ++dropped;
      continue;
    }
    ++answered;
    ASSERT_LE(r.len, cap);
    if (r.len == 0) {
      ASSERT_LT(cap, q.question_end + (edns ? 11u : 0u));
      continue;
    }
    ASSERT_LE(r.len, std::max<size_t>(std::min(cap, limit), q.question_end + (edns ? 11u : 0u)));
    dns::Response resp;
    uint16_t ttls[600];
    ASSERT_EQ(dns::parse_response(out.data(), r.len, &resp, ttls, 600), dns::ParseError::kOk)
        << dns::name_to_text(name.data(), name.size()) << " type " << type;
    ASSERT_EQ(resp.id, q.id);
    ASSERT_EQ(resp.qdcount, 1);
    ASSERT_EQ(std::memcmp(out.data() + 12, m.b.data() + 12, q.question_end - 12), 0);
    ASSERT_EQ(resp.has_edns, edns);
    ASSERT_EQ(qclass, dns::kClassIN);  // other classes are never local

    // The same query answered in place gives the same bytes.
    Bytes in_place(std::max(cap, m.b.size()), 0);
    std::memcpy(in_place.data(), m.b.data(), m.b.size());
    dns::Query q2;
    ASSERT_EQ(dns::parse_query(in_place.data(), m.b.size(), &q2), dns::ParseError::kOk);
    const Result r2 = data.answer(in_place.data(), q2, in_place.data(), cap, limit);
    ASSERT_EQ(r2.len, r.len);
    ASSERT_EQ(std::memcmp(in_place.data(), out.data(), r.len), 0);
  }
  // The generator reaches every outcome.
  EXPECT_GT(answered, 1000u);
  EXPECT_GT(dropped, 100u);
  EXPECT_GT(not_local, 1000u);
}

}  // namespace
}  // namespace dotgate::local
