// Tests for src/config: the shipped example files, every default, sizes and durations,
// local records, and every class of error with its exact "file:line:col: key: message".
//
// Most cases append to or prepend to kBase, a smallest valid file of 13 lines, so the
// line of an appended key is 14 plus its line in the addition.
#include "config/load.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "config/local_record.h"
#include "config/units.h"
#include "dns/name.h"

#ifndef DOTGATE_SOURCE_DIR
#error "tests/meson.build defines DOTGATE_SOURCE_DIR, the source tree with config/"
#endif

namespace dotgate::config {
namespace {

constexpr const char* kBase = R"([dataplane]
[[dataplane.ports]]
name = "p0"
device = "net_null0"
ipv4 = "192.0.2.2/24"
ipv6 = "2001:db8::2/64"

[[listener]]
address = "192.0.2.2"
allow = ["198.51.100.0/24"]

[pools.default]
upstreams = ["1.1.1.1#cloudflare-dns.com"]
)";

Config ok(const std::string& text) {
  auto r = parse_config(text, "t.toml");
  if (auto* errors = std::get_if<std::vector<ConfigError>>(&r)) {
    for (const ConfigError& e : *errors) ADD_FAILURE() << e.to_string();
    return Config{};
  }
  return std::get<Config>(r);
}

// Every error of `text`, formatted.
std::vector<std::string> errors(const std::string& text) {
  auto r = parse_config(text, "t.toml");
  std::vector<std::string> out;
  if (std::holds_alternative<Config>(r)) return out;
  for (const ConfigError& e : std::get<std::vector<ConfigError>>(r)) out.push_back(e.to_string());
  return out;
}

// The one error of `text`.
std::string error(const std::string& text) {
  const auto all = errors(text);
  if (all.size() != 1) {
    std::string list;
    for (const auto& e : all) list += "\n  " + e;
    ADD_FAILURE() << "expected one error, got " << all.size() << ":" << list;
    return all.empty() ? "" : all[0];
  }
  return all[0];
}

std::string with(const std::string& extra) { return std::string(kBase) + extra; }

// ---- the shipped files --------------------------------------------------------------

TEST(ConfigFiles, ProductionExampleParses) {
  auto r = load_config(DOTGATE_SOURCE_DIR "/config/dotgate.toml");
  if (auto* errs = std::get_if<std::vector<ConfigError>>(&r)) {
    for (const auto& e : *errs) ADD_FAILURE() << e.to_string();
    return;
  }
  const Config& c = std::get<Config>(r);
  EXPECT_EQ(c.privacy, Privacy::kStrict);
  EXPECT_EQ(c.dataplane.workers, 4u);
  EXPECT_EQ(c.dataplane.lcores, (std::vector<uint32_t>{2, 3, 4, 5}));
  ASSERT_EQ(c.dataplane.ports.size(), 1u);
  EXPECT_EQ(c.dataplane.ports[0].device, "0000:03:00.0");
  ASSERT_TRUE(c.dataplane.ports[0].gateway6);
  EXPECT_EQ(net::format_ip(*c.dataplane.ports[0].gateway6), "fe80::1");
  ASSERT_EQ(c.listeners.size(), 3u);
  EXPECT_EQ(c.listeners[2].transports, std::vector<Transport>{Transport::kDot});
  EXPECT_EQ(c.listeners[2].port, 853);
  EXPECT_EQ(c.listeners[2].deny_action, DenyAction::kDrop);
  ASSERT_EQ(c.pools.size(), 2u);
  EXPECT_EQ(c.pools[0].name, "corp");  // sorted by name
  EXPECT_EQ(c.pools[0].zones, (std::vector<std::string>{"corp.example.", "10.in-addr.arpa."}));
  const Pool& d = c.pools[1];
  ASSERT_EQ(d.upstreams.size(), 3u);
  EXPECT_EQ(upstream::format_upstream(d.upstreams[1].spec), "[2606:4700:4700::1111]:853#cloudflare-dns.com");
  EXPECT_EQ(d.upstreams[2].pins.size(), 1u);
  EXPECT_EQ(d.fallback.size(), 1u);
  EXPECT_EQ(c.cache.size, uint64_t{4} << 30);
  EXPECT_EQ(c.limits.client_burst, 400u);
  ASSERT_EQ(c.local.zones.size(), 4u);
  EXPECT_EQ(c.local.hosts_file, "/etc/dotgate/hosts");
}

TEST(ConfigFiles, LabParses) {
  auto r = load_config(DOTGATE_SOURCE_DIR "/config/lab.toml");
  if (auto* errs = std::get_if<std::vector<ConfigError>>(&r)) {
    for (const auto& e : *errs) ADD_FAILURE() << e.to_string();
    return;
  }
  const Config& c = std::get<Config>(r);
  EXPECT_EQ(c.dataplane.file_prefix, "dotgate-lab");
  EXPECT_EQ(c.dataplane.ports[0].device, "net_af_packet0,iface=dg-dp0,blocksz=4096,framesz=2048,framecnt=512");
  EXPECT_EQ(c.tls.min_version, TlsVersion::k1_3);
  EXPECT_EQ(c.tls.ca_bundle, "/run/dotgate-lab/ca/ca.pem");
  EXPECT_EQ(c.pools[0].query_timeout_ms, 500u);
  EXPECT_EQ(c.control.log_level, LogLevel::kDebug);
}

TEST(ConfigFiles, UnreadableFile) {
  auto r = load_config("/nonexistent/dotgate.toml");
  ASSERT_TRUE(std::holds_alternative<std::vector<ConfigError>>(r));
  const auto& e = std::get<std::vector<ConfigError>>(r);
  ASSERT_EQ(e.size(), 1u);
  EXPECT_EQ(e[0].line, 0u);
  EXPECT_EQ(e[0].to_string(), "/nonexistent/dotgate.toml: cannot read: No such file or directory");
  r = load_config(DOTGATE_SOURCE_DIR "/config");
  ASSERT_TRUE(std::holds_alternative<std::vector<ConfigError>>(r));
  EXPECT_EQ(std::get<std::vector<ConfigError>>(r)[0].to_string(),
            DOTGATE_SOURCE_DIR "/config: cannot read: Is a directory");
}

// ---- defaults -----------------------------------------------------------------------

TEST(ConfigDefaults, EveryKey) {
  const Config c = ok(kBase);
  EXPECT_EQ(c.privacy, Privacy::kStrict);
  EXPECT_EQ(c.padding_block, 128u);
  EXPECT_TRUE(c.strip_ecs);

  EXPECT_TRUE(c.dataplane.eal_args.empty());
  EXPECT_EQ(c.dataplane.workers, 1u);
  EXPECT_TRUE(c.dataplane.lcores.empty());
  EXPECT_EQ(c.dataplane.main_lcore, 0u);
  EXPECT_EQ(c.dataplane.file_prefix, "dotgate");
  ASSERT_EQ(c.dataplane.ports.size(), 1u);
  const Port& p = c.dataplane.ports[0];
  EXPECT_EQ(p.name, "p0");
  EXPECT_EQ(net::format_ip(p.ipv4->addr), "192.0.2.2");
  EXPECT_EQ(p.ipv4->prefix_len, 24);
  EXPECT_EQ(p.ipv6->prefix_len, 64);
  EXPECT_FALSE(p.gateway4);
  EXPECT_FALSE(p.gateway6);
  EXPECT_EQ(p.mtu, 1500u);
  EXPECT_EQ(p.rx_descriptors, 1024u);
  EXPECT_EQ(p.tx_descriptors, 1024u);
  EXPECT_EQ(p.mbuf_pool_size, 16383u);

  ASSERT_EQ(c.listeners.size(), 1u);
  const Listener& l = c.listeners[0];
  EXPECT_FALSE(l.wildcard);
  EXPECT_EQ(l.port, 53);
  EXPECT_EQ(l.transports, (std::vector<Transport>{Transport::kUdp, Transport::kTcp}));
  ASSERT_EQ(l.allow.size(), 1u);
  EXPECT_EQ(net::format_prefix(l.allow[0]), "198.51.100.0/24");
  EXPECT_EQ(l.deny_action, DenyAction::kRefuse);
  EXPECT_TRUE(l.pool.empty());
  EXPECT_TRUE(l.tls_cert.empty());
  EXPECT_TRUE(l.tls_key.empty());
  EXPECT_EQ(l.idle_timeout_ms, 10'000u);
  EXPECT_EQ(l.max_connections, 10'000u);

  EXPECT_EQ(c.tls.ca_bundle, "/etc/ssl/certs/ca-certificates.crt");
  EXPECT_EQ(c.tls.min_version, TlsVersion::k1_2);
  EXPECT_EQ(c.tls.max_version, TlsVersion::k1_3);
  EXPECT_EQ(c.tls.ciphers, "ECDHE+AESGCM:ECDHE+CHACHA20");
  EXPECT_EQ(c.tls.ciphersuites, "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256");
  EXPECT_TRUE(c.tls.session_resumption);
  EXPECT_EQ(c.tls.record_layer, RecordLayer::kIpsecMb);
  EXPECT_EQ(c.tls.key_update_records, uint64_t{1} << 23);

  ASSERT_EQ(c.pools.size(), 1u);
  const Pool& d = c.pools[0];
  EXPECT_EQ(d.name, "default");
  ASSERT_EQ(d.upstreams.size(), 1u);
  EXPECT_EQ(upstream::format_upstream(d.upstreams[0].spec), "1.1.1.1:853#cloudflare-dns.com");
  EXPECT_TRUE(d.upstreams[0].pins.empty());
  EXPECT_TRUE(d.fallback.empty());
  EXPECT_EQ(d.zones, std::vector<std::string>{"."});
  EXPECT_EQ(d.policy, LbPolicy::kLeastOutstanding);
  EXPECT_EQ(d.connections, 1u);
  EXPECT_EQ(d.max_outstanding, 128u);
  EXPECT_EQ(d.query_timeout_ms, 1500u);
  EXPECT_EQ(d.retry_budget_ms, 4000u);
  EXPECT_EQ(d.connect_backoff_min_ms, 250u);
  EXPECT_EQ(d.connect_backoff_max_ms, 30'000u);

  EXPECT_EQ(c.cache.size, uint64_t{64} << 20);
  EXPECT_EQ(c.cache.min_ttl, 0u);
  EXPECT_EQ(c.cache.max_ttl, 86400u);
  EXPECT_EQ(c.cache.max_negative_ttl, 3600u);
  EXPECT_EQ(c.cache.servfail_ttl, 5u);
  EXPECT_TRUE(c.cache.serve_stale);
  EXPECT_EQ(c.cache.stale_max_age, 86400u);
  EXPECT_EQ(c.cache.stale_answer_ttl, 30u);
  EXPECT_TRUE(c.cache.prefetch);

  EXPECT_EQ(c.limits.client_qps, 0u);
  EXPECT_EQ(c.limits.client_burst, 0u);
  EXPECT_EQ(c.limits.max_tcp_connections, 100'000u);
  EXPECT_EQ(c.limits.tcp_buffer, 16u << 10);
  EXPECT_EQ(c.limits.upstream_buffer, 256u << 10);
  EXPECT_EQ(c.limits.edns_buffer_size, 1232);

  EXPECT_TRUE(c.local.hosts_file.empty());
  EXPECT_EQ(c.local.ttl, 3600u);
  EXPECT_TRUE(c.local.zones.empty());

  EXPECT_EQ(c.control.socket, "/run/dotgate/control.sock");
  EXPECT_EQ(c.control.log_level, LogLevel::kInfo);
}

TEST(ConfigDefaults, DotListenerPortAndWildcards) {
  const Config c = ok(with(R"(
[[listener]]
address = "0.0.0.0"
transport = "dot"
tls_cert = "/c.pem"
tls_key = "/k.pem"

[[listener]]
address = "::"
transport = ["udp"]
)"));
  ASSERT_EQ(c.listeners.size(), 3u);
  EXPECT_EQ(c.listeners[1].port, 853);
  EXPECT_TRUE(c.listeners[1].wildcard);
  EXPECT_EQ(c.listeners[2].port, 53);
  EXPECT_TRUE(c.listeners[2].wildcard);
  EXPECT_TRUE(c.listeners[2].address.v6);
}

TEST(ConfigDefaults, ListenerConnectionCapFollowsTheGlobalOne) {
  const Config c = ok(with("[limits]\nmax_tcp_connections = 500\n"));
  EXPECT_EQ(c.listeners[0].max_connections, 500u);
  EXPECT_EQ(ok(with("[limits]\nmax_tcp_connections = 50000\n")).listeners[0].max_connections, 10'000u);
}

TEST(ConfigDefaults, PoolsOtherThanDefaultServeOnlyTheirZones) {
  const Config c = ok(with(R"(
[pools.corp]
upstreams = [{ address = "10.0.0.1#ns.corp.example", pins = ["AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="] }]
zones = ["Corp.Example", "10.IN-ADDR.ARPA."]
)"));
  ASSERT_EQ(c.pools.size(), 2u);
  EXPECT_EQ(c.pools[0].zones, (std::vector<std::string>{"corp.example.", "10.in-addr.arpa."}));
  ASSERT_EQ(c.pools[0].upstreams[0].pins.size(), 1u);
  EXPECT_EQ(c.pools[0].upstreams[0].pins[0][31], 0x1f);
}

TEST(ConfigDefaults, LcoresSetWorkersAndAcceptBothForms) {
  EXPECT_EQ(ok(std::string(kBase) + "").dataplane.workers, 1u);
  std::string text = kBase;
  text.insert(text.find('\n') + 1, "lcores = [3, 1, 2]\nmain_lcore = 0\n");
  const Config c = ok(text);
  EXPECT_EQ(c.dataplane.lcores, (std::vector<uint32_t>{3, 1, 2}));
  EXPECT_EQ(c.dataplane.workers, 3u);
  text = kBase;
  text.insert(text.find('\n') + 1, "workers = 2\nlcores = \"6-7\"\n");
  EXPECT_EQ(ok(text).dataplane.lcores, (std::vector<uint32_t>{6, 7}));
  text = kBase;
  text.insert(text.find('\n') + 1, "lcores = \"1-3\"\ncpus = \"0-1\"\n");
  EXPECT_EQ(ok(text).dataplane.cpus, (std::vector<uint32_t>{0, 1}));
}

// ---- sizes and durations -----------------------------------------------------------

uint64_t size_of(std::string_view s) {
  auto r = parse_size(s);
  if (auto* e = std::get_if<UnitError>(&r)) ADD_FAILURE() << e->message;
  return std::holds_alternative<uint64_t>(r) ? std::get<uint64_t>(r) : 0;
}

uint64_t ms_of(std::string_view s) {
  auto r = parse_duration(s);
  if (auto* e = std::get_if<UnitError>(&r)) ADD_FAILURE() << e->message;
  return std::holds_alternative<uint64_t>(r) ? std::get<uint64_t>(r) : 0;
}

std::string size_error(std::string_view s) {
  auto r = parse_size(s);
  return std::holds_alternative<UnitError>(r) ? std::get<UnitError>(r).message : "accepted";
}

std::string duration_error(std::string_view s) {
  auto r = parse_duration(s);
  return std::holds_alternative<UnitError>(r) ? std::get<UnitError>(r).message : "accepted";
}

TEST(Units, Sizes) {
  EXPECT_EQ(size_of("512MiB"), uint64_t{512} << 20);
  EXPECT_EQ(size_of("512 MiB"), uint64_t{512} << 20);
  EXPECT_EQ(size_of("512M"), uint64_t{512} << 20);
  EXPECT_EQ(size_of("64k"), uint64_t{64} << 10);
  EXPECT_EQ(size_of("64KiB"), uint64_t{64} << 10);
  EXPECT_EQ(size_of("2GiB"), uint64_t{2} << 30);
  EXPECT_EQ(size_of("1TiB"), uint64_t{1} << 40);
  EXPECT_EQ(size_of("1500"), 1500u);
  EXPECT_EQ(size_of("1500B"), 1500u);
  EXPECT_EQ(size_of("0"), 0u);
  EXPECT_EQ(size_error("512MB"), "\"512MB\" is ambiguous: write MiB for 1024-based units, or the number of bytes");
  EXPECT_EQ(size_error("1kB"), "\"1kB\" is ambiguous: write KiB for 1024-based units, or the number of bytes");
  EXPECT_EQ(size_error("5 furlongs"), "\"5 furlongs\" has an unknown unit 'furlongs' (use B, KiB, MiB, GiB or TiB)");
  EXPECT_EQ(size_error("MiB"), "\"MiB\" is not a size (write bytes, or a number with a unit: 64KiB, 512MiB, 2GiB)");
  EXPECT_EQ(size_error("-1"), "\"-1\" is not a size (write bytes, or a number with a unit: 64KiB, 512MiB, 2GiB)");
  EXPECT_EQ(size_error("16777216TiB"), "\"16777216TiB\" is too large");
  EXPECT_EQ(size_error("99999999999999999999"), "\"99999999999999999999\" is too large");
  EXPECT_EQ(size_error("1.5GiB"), "\"1.5GiB\" has an unknown unit '.5GiB' (use B, KiB, MiB, GiB or TiB)");
  EXPECT_EQ(format_size(uint64_t{512} << 20), "512MiB");
  EXPECT_EQ(format_size(1500), "1500B");
  EXPECT_EQ(format_size(0), "0B");
}

TEST(Units, Durations) {
  EXPECT_EQ(ms_of("30s"), 30'000u);
  EXPECT_EQ(ms_of("500ms"), 500u);
  EXPECT_EQ(ms_of("5m"), 300'000u);
  EXPECT_EQ(ms_of("5min"), 300'000u);
  EXPECT_EQ(ms_of("1h30m"), 5'400'000u);
  EXPECT_EQ(ms_of("1m30s500ms"), 90'500u);
  EXPECT_EQ(ms_of("2d"), 172'800'000u);
  EXPECT_EQ(ms_of("45"), 45'000u);  // a bare number is seconds
  EXPECT_EQ(ms_of("0s"), 0u);
  EXPECT_EQ(duration_error("30"
                           "x"),
            "\"30x\" has an unknown unit 'x' (use ms, s, m, h or d)");
  EXPECT_EQ(duration_error("30m1h"),
            "\"30m1h\" is not a duration: units must go from largest to smallest, each once (1h30m, not 30m1h)");
  EXPECT_EQ(duration_error("1s1s"),
            "\"1s1s\" is not a duration: units must go from largest to smallest, each once (1h30m, not 30m1h)");
  EXPECT_EQ(duration_error("1h30"), "\"1h30\" is not a duration: the last number has no unit");
  EXPECT_EQ(duration_error("s"), "\"s\" is not a duration (write a number with a unit: 500ms, 30s, 5m, 1h, 1d)");
  EXPECT_EQ(duration_error(""), "\"\" is not a duration (write a number with a unit: 500ms, 30s, 5m, 1h, 1d)");
  EXPECT_EQ(duration_error("1h 30m"), "\"1h 30m\" is not a duration: expected a number before ' 30m'");
  EXPECT_EQ(duration_error("999999999999d"), "\"999999999999d\" is too long");
  EXPECT_EQ(format_duration(90'500), "1m30s500ms");
  EXPECT_EQ(format_duration(0), "0s");
  EXPECT_EQ(format_duration(86'400'000), "1d");
}

TEST(Units, InTheFile) {
  const Config c = ok(with(R"(
[cache]
size = "512MiB"
stale_max_age = "2h"
max_ttl = 3600
[limits]
tcp_buffer = 4096
upstream_buffer = "1MiB"
[[listener]]
address = "2001:db8::2"
idle_timeout = "1m30s"
)"));
  EXPECT_EQ(c.cache.size, uint64_t{512} << 20);
  EXPECT_EQ(c.cache.stale_max_age, 7200u);
  EXPECT_EQ(c.cache.max_ttl, 3600u);
  EXPECT_EQ(c.limits.tcp_buffer, 4096u);
  EXPECT_EQ(c.limits.upstream_buffer, 1u << 20);
  EXPECT_EQ(c.listeners[1].idle_timeout_ms, 90'000u);
  EXPECT_EQ(error(with("[cache]\nsize = \"512MB\"\n")),
            "t.toml:15:8: cache.size: \"512MB\" is ambiguous: write MiB for 1024-based units, or the number of bytes");
  EXPECT_EQ(error(with("[cache]\nmax_ttl = \"1500ms\"\n")),
            "t.toml:15:11: cache.max_ttl: 1s500ms is not a whole number of seconds");
  EXPECT_EQ(error(with("[cache]\nsize = 1.5\n")),
            "t.toml:15:8: cache.size: expected a size (\"512MiB\" or a number of bytes), found a float");
  EXPECT_EQ(error(with("[cache]\nsize = \"512KiB\"\n")), "t.toml:15:8: cache.size: 512KiB is out of range (1MiB-1TiB)");
  EXPECT_EQ(error(with("[cache]\nsize = -5\n")), "t.toml:15:8: cache.size: a size cannot be negative");
}

// ---- local records ------------------------------------------------------------------

LocalZone zone(std::string_view name) {
  LocalZone z;
  uint8_t wire[255];
  size_t len = 0;
  EXPECT_TRUE(dns::name_from_text(name, wire, &len));
  z.wire.assign(wire, wire + len);
  z.name = dns::name_to_text(wire, len);
  return z;
}

LocalRecord record(std::string_view text) {
  auto r = parse_local_record(text, zone("corp.example"), 3600);
  if (auto* e = std::get_if<UnitError>(&r)) ADD_FAILURE() << text << ": " << e->message;
  return std::holds_alternative<LocalRecord>(r) ? std::get<LocalRecord>(r) : LocalRecord{};
}

std::string record_error(std::string_view text) {
  auto r = parse_local_record(text, zone("corp.example"), 3600);
  return std::holds_alternative<UnitError>(r) ? std::get<UnitError>(r).message : "accepted";
}

using Bytes = std::vector<uint8_t>;

TEST(LocalRecords, WireForms) {
  LocalRecord r = record("Printer.Corp.Example. 300 IN A 10.1.0.5");
  EXPECT_EQ(dns::name_to_text(r.owner.data(), r.owner.size()), "printer.corp.example.");
  EXPECT_EQ(r.type, 1);
  EXPECT_EQ(r.ttl, 300u);
  EXPECT_EQ(r.rdata, (Bytes{10, 1, 0, 5}));
  r = record("printer.corp.example AAAA fd00::5");
  EXPECT_EQ(r.ttl, 3600u);
  EXPECT_EQ(r.rdata, (Bytes{0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 5}));
  r = record("@ MX 10 mail.corp.example.");
  EXPECT_EQ(r.owner, (Bytes{4, 'c', 'o', 'r', 'p', 7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 0}));
  EXPECT_EQ(r.rdata,
            (Bytes{0, 10, 4, 'm', 'a', 'i', 'l', 4, 'c', 'o', 'r', 'p', 7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 0}));
  r = record("_ldap._tcp.corp.example SRV 0 5 389 @");
  EXPECT_EQ(r.type, 33);
  EXPECT_EQ(Bytes(r.rdata.begin(), r.rdata.begin() + 6), (Bytes{0, 0, 0, 5, 1, 0x85}));
  r = record("corp.example TXT \"v=spf1 -all\" two \"q\\\"\\065\"");
  EXPECT_EQ(r.rdata,
            (Bytes{11, 'v', '=', 's', 'p', 'f', '1', ' ', '-', 'a', 'l', 'l', 3, 't', 'w', 'o', 3, 'q', '"', 'A'}));
  r = record("www.corp.example CNAME web.corp.example.");
  EXPECT_EQ(r.type, 5);
  r = record("5.0.1.corp.example PTR printer.corp.example.");
  EXPECT_EQ(r.type, 12);
  r = record("corp.example NS ns1.corp.example.");
  EXPECT_EQ(r.type, 2);
}

TEST(LocalRecords, Errors) {
  EXPECT_EQ(record_error("www.other.example A 10.0.0.1"), "'www.other.example' is not in zone 'corp.example.'");
  EXPECT_EQ(record_error("www.corp.example"), "missing record type (expected \"NAME [TTL] [IN] TYPE DATA\")");
  EXPECT_EQ(record_error(""), "empty record (expected \"NAME [TTL] [IN] TYPE DATA\")");
  EXPECT_EQ(record_error("www.corp.example HINFO a b"),
            "unsupported record type 'HINFO' (A, AAAA, CNAME, NS, PTR, MX, SRV and TXT; class IN only)");
  EXPECT_EQ(record_error("www.corp.example CH A 10.0.0.1"),
            "unsupported record type 'CH' (A, AAAA, CNAME, NS, PTR, MX, SRV and TXT; class IN only)");
  EXPECT_EQ(record_error("www.corp.example A 10.0.0.300"), "'10.0.0.300' is not an IPv4 address");
  EXPECT_EQ(record_error("www.corp.example A 10.0.0.1 10.0.0.2"), "A data must be one IPv4 address");
  EXPECT_EQ(record_error("www.corp.example AAAA 10.0.0.1"), "'10.0.0.1' is not an IPv6 address");
  EXPECT_EQ(record_error("www.corp.example 99999999999 A 10.0.0.1"), "'99999999999' is not a TTL (seconds)");
  EXPECT_EQ(record_error("www.corp.example MX mail.corp.example"), "MX data must be a preference and a name");
  EXPECT_EQ(record_error("www.corp.example MX 70000 mail.corp.example"), "'70000' is not a preference");
  EXPECT_EQ(record_error("x.corp.example SRV 0 0 65536 t.corp.example"), "'65536' is not a 16-bit number");
  EXPECT_EQ(record_error("www.corp.example TXT \"open"), "unterminated '\"' in TXT data");
  EXPECT_EQ(record_error("www.corp.example TXT"), "TXT needs at least one string");
  EXPECT_EQ(record_error("www.corp.example TXT " + std::string(256, 'a')), "a TXT string is longer than 255 bytes");
  EXPECT_EQ(record_error("a..corp.example A 10.0.0.1"), "'a..corp.example' is not a valid name");
}

// ---- errors, one class at a time ------------------------------------------------------

TEST(ConfigErrors, TomlSyntax) {
  EXPECT_EQ(error("privacy = \n"), "t.toml:1:11: Error while parsing key-value pair: expected value, saw '\\n'");
  EXPECT_EQ(error(with("[pools.default]\n")),
            "t.toml:14:1: Error while parsing table header: cannot redefine existing table 'pools.default'");
}

TEST(ConfigErrors, UnknownKeysWithSuggestions) {
  EXPECT_EQ(error(with("[cache]\nmin-ttl = 5\n")), "t.toml:15:1: cache.min-ttl: unknown key; did you mean 'min_ttl'?");
  EXPECT_EQ(error(with("[cache]\nsize_bytes = 5\n")), "t.toml:15:1: cache.size_bytes: unknown key");
  EXPECT_EQ(error(with("[pools.default.x]\n")), "t.toml:14:16: pools.default.x: unknown key");
  EXPECT_EQ(error(with("[[listeners]]\n")), "t.toml:14:3: listeners: unknown key; did you mean 'listener'?");
  EXPECT_EQ(error(with("[control]\nprivacy = \"strict\"\n")),
            "t.toml:15:1: control.privacy: unknown key; privacy is a top-level key: move it above the first [table] "
            "header");
  EXPECT_EQ(error(with("[local.zones]\n\"x.example\" = { type = \"static\", record = [] }\n")),
            "t.toml:15:34: local.zones.\"x.example\".record: unknown key; did you mean 'records'?");
  EXPECT_EQ(errors(with("[pools.q]\nupstreams = [{ adress = \"9.9.9.9\" }]\nzones = [\"q.example\"]\n")),
            (std::vector<std::string>{
                "t.toml:15:14: pools.q.upstreams[0].address: missing: \"IP[:port][#auth-name]\"",
                "t.toml:15:16: pools.q.upstreams[0].adress: unknown key; did you mean 'address'?"}));
}

TEST(ConfigErrors, Types) {
  EXPECT_EQ(error("privacy = true\n" + std::string(kBase)),
            "t.toml:1:11: privacy: expected a string (\"strict\" or \"opportunistic\"), found a boolean");
  EXPECT_EQ(error("strip_ecs = \"yes\"\n" + std::string(kBase)),
            "t.toml:1:13: strip_ecs: expected a boolean, found a string");
  EXPECT_EQ(error(with("[tls]\nmin_version = 1.2\n")),
            "t.toml:15:15: tls.min_version: write the version as a string: \"1.2\" or \"1.3\"");
  EXPECT_EQ(error(with("[limits]\nclient_qps = \"100\"\n")),
            "t.toml:15:14: limits.client_qps: expected an integer, found a string");
  EXPECT_EQ(error("cache = 5\n" + std::string(kBase)), "t.toml:1:9: cache: expected a table, found an integer");
  std::string text = kBase;
  text.replace(text.find("[[listener]]"), 12, "[listener]");
  EXPECT_EQ(error(text), "t.toml:8:1: listener: expected an array of tables: write [[listener]], not [listener]");
}

TEST(ConfigErrors, Ranges) {
  EXPECT_EQ(error("padding_block = 2000\n" + std::string(kBase)), "t.toml:1:17: padding_block: 2000 is out of range "
                                                                    "(0-1024)");
  EXPECT_EQ(error(with("[pools.default.connections]\n")),
            "t.toml:14:1: pools.default.connections: expected an integer, found a table");
  EXPECT_EQ(error(with("[limits]\nedns_buffer_size = 65000\n")),
            "t.toml:15:20: limits.edns_buffer_size: 65000 is out of range (512-4096)");
  EXPECT_EQ(error(with("[limits]\nupstream_buffer = \"64KiB\"\n")),
            "t.toml:15:19: limits.upstream_buffer: 64KiB is out of range (65537B-64MiB)");
  EXPECT_EQ(error(with("[[listener]]\naddress = \"192.0.2.2\"\nport = 0\ntransport = \"tcp\"\n")),
            "t.toml:16:8: listener[1].port: 0 is out of range (1-65535)");
  EXPECT_EQ(error(with("[[listener]]\naddress = \"2001:db8::2\"\nidle_timeout = \"2h\"\n")),
            "t.toml:16:16: listener[1].idle_timeout: 2h is out of range (100ms-1h)");
  std::string text = kBase;
  text.insert(text.find("[[listener]]"), "mtu = 1000\n");
  EXPECT_EQ(error(text), "t.toml:8:7: dataplane.ports[0].mtu: IPv6 needs an MTU of at least 1280 (RFC 8200)");
  text = kBase;
  text.insert(text.find("[[listener]]"), "rx_descriptors = 1000\n");
  EXPECT_EQ(error(text), "t.toml:8:18: dataplane.ports[0].rx_descriptors: 1000 is not a power of two");
}

TEST(ConfigErrors, Upstreams) {
  std::string text = kBase;
  text.replace(text.find("upstreams = ["), std::string::npos,
               "upstreams = [\"1.1.1.1#cloudflare-dns.com\", \"1.1.1.1:99999\"]\n");
  EXPECT_EQ(error(text), "t.toml:13:44: pools.default.upstreams[1]: \"1.1.1.1:99999\" is not a valid upstream: "
                         "'99999' is not a port (1-65535)");
  text = kBase;
  text.replace(text.find("upstreams = ["), std::string::npos, "upstreams = [\"dns.google\"]\n");
  EXPECT_EQ(error(text), "t.toml:13:14: pools.default.upstreams[0]: \"dns.google\" is not a valid upstream: "
                         "'dns.google' is not an IP address (upstreams are given by address; put the certificate "
                         "name after '#')");
  text = kBase;
  text.replace(text.find("upstreams = ["), std::string::npos, "upstreams = []\n");
  EXPECT_EQ(error(text), "t.toml:13:13: pools.default.upstreams: is empty: a pool needs at least one upstream");
  text = kBase;
  text.replace(text.find("upstreams = ["), std::string::npos, "policy = \"random\"\n");
  EXPECT_EQ(errors(text), (std::vector<std::string>{
                              "t.toml:12:1: pools.default.upstreams: missing: a pool needs at least one upstream "
                              "(\"1.1.1.1#cloudflare-dns.com\")",
                              "t.toml:13:10: pools.default.policy: \"random\" is not one of \"round-robin\", "
                              "\"least-outstanding\", \"lowest-latency\" or \"ordered\""}));
  EXPECT_EQ(error(with("[pools.q]\nzones = [\"q.example\"]\nupstreams = [{ address = \"9.9.9.9\", pins = "
                       "[\"AAEC\"] }]\n")),
            "t.toml:16:45: pools.q.upstreams[0].pins[0]: not an SPKI pin: an SPKI pin is a SHA-256 digest (32 bytes, "
            "44 base64 characters); this one has 3 bytes");
  EXPECT_EQ(error(with("[pools.q]\nzones = [\"q..example\"]\nupstreams = [\"9.9.9.9\"]\n")),
            "t.toml:15:10: pools.q.zones[0]: \"q..example\" is not a valid domain name");
  EXPECT_EQ(error(with("[pools.\"a b\"]\nzones = [\"q.example\"]\nupstreams = [\"9.9.9.9\"]\n")),
            "t.toml:14:8: pools.\"a b\": \"a b\" is not a pool name (letters, digits, '-' and '_', at most 63)");
}

TEST(ConfigErrors, Addresses) {
  std::string text = kBase;
  text.replace(text.find("192.0.2.2/24"), 12, "192.0.2.2");
  EXPECT_EQ(error(text),
            "t.toml:5:8: dataplane.ports[0].ipv4: \"192.0.2.2\" needs a prefix length (\"192.0.2.10/24\")");
  text = kBase;
  text.replace(text.find("192.0.2.2/24"), 12, "2001:db8::9/64");
  EXPECT_EQ(error(text), "t.toml:5:8: dataplane.ports[0].ipv4: \"2001:db8::9/64\" is not an IPv4 address with a "
                         "prefix length (\"192.0.2.10/24\")");
  text = kBase;
  text.replace(text.find("192.0.2.2/24"), 12, "192.0.2.2/33");
  EXPECT_EQ(error(text), "t.toml:5:8: dataplane.ports[0].ipv4: \"192.0.2.2/33\": the prefix length must be 1-32");
  text = kBase;
  text.insert(text.find("[[listener]]"), "gateway4 = \"198.51.100.1\"\n");
  EXPECT_EQ(error(text), "t.toml:8:12: dataplane.ports[0].gateway4: 198.51.100.1 is not on the port's link "
                         "(192.0.2.2/24)");
  text = kBase;
  text.insert(text.find("[[listener]]"), "gateway6 = \"2001:db9::1\"\n");
  EXPECT_EQ(error(text), "t.toml:8:12: dataplane.ports[0].gateway6: 2001:db9::1 is neither link-local nor on the "
                         "port's link (2001:db8::2/64)");
  text = kBase;
  text.replace(text.find("198.51.100.0/24"), 15, "198.51.100.1/24");
  EXPECT_EQ(error(text), "t.toml:10:10: listener[0].allow[0]: \"198.51.100.1/24\" is not an address prefix "
                         "(\"192.0.2.0/24\", \"2001:db8::/32\"; host bits must be zero)");
  text = kBase;
  text.replace(text.find("net_null0"), 9, "eth0");
  EXPECT_EQ(error(text), "t.toml:4:10: dataplane.ports[0].device: \"eth0\" is neither a PCI address "
                         "(\"0000:03:00.0\") nor a DPDK virtual device (\"net_af_packet0,iface=veth0\")");
  for (const char* device : {"0000:03:00.0", "03:00.1", "net_af_packet0,iface=veth0,qpairs=2", "net_tap0"}) {
    text = kBase;
    text.replace(text.find("net_null0"), 9, device);
    ok(text);
  }
  text = kBase;
  text.replace(text.find("name = \"p0\"\n"), 12, "");
  EXPECT_EQ(error(text), "t.toml:2:1: dataplane.ports[0].name: missing: every port needs a name (\"wan0\")");
  text = kBase;
  text.replace(text.find("ipv4 = "), text.find("[[listener]]") - text.find("ipv4 = "), "");
  EXPECT_EQ(error(text), "t.toml:2:1: dataplane.ports[0]: a port needs an address: set ipv4, ipv6 or both");
}

TEST(ConfigErrors, Dataplane) {
  std::string text = kBase;
  text.insert(text.find('\n') + 1, "workers = 2\nlcores = \"1-3\"\n");
  EXPECT_EQ(error(text), "t.toml:3:10: dataplane.lcores: lists 3 lcores but workers = 2 (set one of them)");
  text = kBase;
  text.insert(text.find('\n') + 1, "lcores = \"0-1\"\n");
  EXPECT_EQ(error(text), "t.toml:2:10: dataplane.lcores: lcore 0 is the main lcore (main_lcore) and cannot also be a "
                         "worker");
  text = kBase;
  text.insert(text.find('\n') + 1, "lcores = \"3-1\"\n");
  EXPECT_EQ(error(text), "t.toml:2:10: dataplane.lcores: \"3-1\" is not a range of lcores 0-127");
  text = kBase;
  text.insert(text.find('\n') + 1, "cpus = \"0-x\"\n");
  EXPECT_EQ(error(text), "t.toml:2:8: dataplane.cpus: \"0-x\" is not an lcore or a range of lcores (\"1-3,5\")");
  text = kBase;
  text.insert(text.find('\n') + 1, "lcores = [1, 1]\n");
  EXPECT_EQ(error(text), "t.toml:2:10: dataplane.lcores: names an lcore twice");
  text = kBase;
  text.insert(text.find('\n') + 1, "eal_args = [\"--in-memory\", \"--file-prefix=x\"]\n");
  EXPECT_EQ(error(text), "t.toml:2:28: dataplane.eal_args[1]: \"--file-prefix=x\" is set from dataplane.file_prefix; "
                         "set that instead");
  text = kBase;
  text.insert(text.find('\n') + 1, "eal_args = [\"-l1-3\"]\n");
  EXPECT_EQ(error(text),
            "t.toml:2:13: dataplane.eal_args[0]: \"-l1-3\" is set from dataplane.lcores; set that instead");
  text = kBase;
  text.insert(text.find('\n') + 1, "workers = 8\n");
  EXPECT_EQ(error(text), "t.toml:3:1: dataplane.ports[0].mbuf_pool_size: 16383 mbufs cannot fill 8 worker(s) x (1024 "
                         "RX + 1024 TX descriptors) = 16384");
  text = kBase;
  text.insert(text.find('\n') + 1, "workers = 2\n");
  EXPECT_EQ(error(text + "[cache]\nsize = \"1MiB\"\n"),
            "t.toml:16:8: cache.size: gives each of the 2 workers less than 1MiB (the cache is split evenly between "
            "them)");
  text = kBase;
  text.replace(text.find("[[listener]]"), 0, "[[dataplane.ports]]\nname = \"p0\"\ndevice = \"net_null0\"\n"
                                             "ipv4 = \"192.0.2.2/24\"\n\n");
  EXPECT_EQ(errors(text), (std::vector<std::string>{
                              "t.toml:9:8: dataplane.ports[1].name: port name \"p0\" is already used "
                              "(dataplane.ports[0].name, line 3)",
                              "t.toml:10:10: dataplane.ports[1].device: device \"net_null0\" is already used "
                              "(dataplane.ports[0].device, line 4)",
                              "t.toml:11:8: dataplane.ports[1].ipv4: 192.0.2.2 is already the address of port "
                              "\"p0\" (dataplane.ports[0].ipv4, line 5)"}));
  EXPECT_EQ(errors("[control]\nsocket = \"/run/x\"\n"),
            (std::vector<std::string>{
                "t.toml:1:1: dataplane.ports: missing: the dataplane needs at least one [[dataplane.ports]]",
                "t.toml:1:1: listener: missing: at least one [[listener]] (clients have nowhere to send queries)",
                "t.toml:1:1: pools: no pool serves \".\" (every name not in another zone): define [pools.default] or "
                "add \".\" to a pool's zones"}));
}

TEST(ConfigErrors, Listeners) {
  // DoT without certificate and key.
  EXPECT_EQ(errors(with("[[listener]]\naddress = \"192.0.2.2\"\ntransport = \"dot\"\n")),
            (std::vector<std::string>{
                "t.toml:14:1: listener[1].tls_cert: missing: a \"dot\" listener needs its certificate chain (PEM)",
                "t.toml:14:1: listener[1].tls_key: missing: a \"dot\" listener needs its private key (PEM)"}));
  EXPECT_EQ(error(with("[[listener]]\naddress = \"192.0.2.2\"\ntransport = \"dot\"\ntls_cert = \"c.pem\"\n"
                       "tls_key = \"/k.pem\"\n")),
            "t.toml:17:12: listener[1].tls_cert: \"c.pem\" is not an absolute path");
  // A certificate where it means nothing.
  std::string text = kBase;
  text.insert(text.find("[pools"), "tls_key = \"/k.pem\"\n");
  EXPECT_EQ(error(text), "t.toml:12:11: listener[0].tls_key: only a \"dot\" listener has a certificate and key");
  text = kBase;
  text.insert(text.find("[pools"), "transport = \"udp\"\nmax_connections = 5\n");
  EXPECT_EQ(error(text), "t.toml:13:19: listener[0].max_connections: applies to \"tcp\" and \"dot\" listeners only");
  EXPECT_EQ(error(with("[[listener]]\naddress = \"192.0.2.2\"\ntransport = [\"dot\", \"udp\"]\nport = 853\n"
                       "tls_cert = \"/c\"\ntls_key = \"/k\"\n")),
            "t.toml:16:13: listener[1].transport: \"dot\" needs a listener of its own (port 853), without \"udp\" or "
            "\"tcp\"");
  EXPECT_EQ(error(with("[[listener]]\naddress = \"192.0.2.2\"\ntransport = [\"tcp\", \"tcp\"]\nport = 54\n")),
            "t.toml:16:21: listener[1].transport[1]: \"tcp\" is listed twice");
  // Duplicates and overlaps, per layer-4 protocol.
  EXPECT_EQ(error(with("[[listener]]\naddress = \"192.0.2.2\"\ntransport = \"tcp\"\n")),
            "t.toml:15:11: listener[1].address: 192.0.2.2:53/tcp is already taken by listener[0] (192.0.2.2:53/tcp, "
            "line 8)");
  EXPECT_EQ(error(with("[[listener]]\naddress = \"0.0.0.0\"\ntransport = \"udp\"\n")),
            "t.toml:15:11: listener[1].address: 0.0.0.0:53/udp overlaps listener[0] (192.0.2.2:53/udp, line 8)");
  EXPECT_EQ(error(with("[[listener]]\naddress = \"192.0.2.2\"\ntransport = \"dot\"\nport = 53\ntls_cert = \"/c\"\n"
                       "tls_key = \"/k\"\n")),
            "t.toml:15:11: listener[1].address: 192.0.2.2:53/dot is already taken by listener[0] (192.0.2.2:53/tcp, "
            "line 8)");
  ok(with("[[listener]]\naddress = \"192.0.2.2\"\nport = 5353\n"));
  ok(with("[[listener]]\naddress = \"::\"\n"));
  // Addresses the dataplane does not have, prefixes that never match, pools that do not exist.
  EXPECT_EQ(error(with("[[listener]]\naddress = \"192.0.2.3\"\n")),
            "t.toml:15:11: listener[1].address: 192.0.2.3 is not the address of any port (dataplane.ports[].ipv4 / "
            "ipv6)");
  EXPECT_EQ(error(with("[[listener]]\naddress = \"2001:db8::2\"\nallow = [\"::/0\", \"0.0.0.0/0\"]\n")),
            "t.toml:16:18: listener[1].allow[1]: \"0.0.0.0/0\" never matches: the listener is IPv6");
  EXPECT_EQ(error(with("[[listener]]\naddress = \"2001:db8::2\"\npool = \"defualt\"\n")),
            "t.toml:16:8: listener[1].pool: pool \"defualt\" is not defined; did you mean \"default\"?");
  EXPECT_EQ(error(with("[[listener]]\naddress = \"2001:db8::2\"\npool = \"\"\n")),
            "t.toml:16:8: listener[1].pool: \"\" is not a pool name (letters, digits, '-' and '_', at most 63)");
  EXPECT_EQ(error(with("[[listener]]\naddress = \"2001:db8::2\"\nmax_connections = 200\n[limits]\n"
                       "max_tcp_connections = 100\n")),
            "t.toml:16:19: listener[1].max_connections: 200 is above limits.max_tcp_connections (100)");
  EXPECT_EQ(error(with("[[listener]]\n")),
            "t.toml:14:1: listener[1].address: missing: the address clients send to (an address of a port, or "
            "0.0.0.0 / :: for all)");
}

TEST(ConfigErrors, Tls) {
  EXPECT_EQ(error(with("[tls]\nmin_version = \"1.3\"\nmax_version = \"1.2\"\n")),
            "t.toml:15:15: tls.min_version: \"1.3\" is above max_version \"1.2\"");
  EXPECT_EQ(error(with("[tls]\nmin_version = \"1.1\"\n")),
            "t.toml:15:15: tls.min_version: \"1.1\" is not one of \"1.2\" or \"1.3\"");
  EXPECT_EQ(error(with("[tls]\nciphersuites = \"TLS_AES_128_GCM_SHA256:TLS_RC4\"\n")),
            "t.toml:15:16: tls.ciphersuites: \"TLS_RC4\" is not a TLS 1.3 ciphersuite (TLS_AES_128_GCM_SHA256, "
            "TLS_AES_256_GCM_SHA384, TLS_CHACHA20_POLY1305_SHA256, TLS_AES_128_CCM_SHA256, TLS_AES_128_CCM_8_SHA256)");
  EXPECT_EQ(error(with("[tls]\nciphers = \"ECDHE AESGCM\"\n")),
            "t.toml:15:11: tls.ciphers: \"ECDHE AESGCM\" is not an OpenSSL cipher list (\"ECDHE+AESGCM\")");
  EXPECT_EQ(error(with("[tls]\nca_bundle = \"\"\n")), "t.toml:15:13: tls.ca_bundle: \"\" is not an absolute path");
  EXPECT_EQ(error(with("[tls]\nrecord_layer = \"gnutls\"\n")),
            "t.toml:15:16: tls.record_layer: \"gnutls\" is not one of \"ipsec-mb\" or \"openssl\"");
  EXPECT_EQ(error(with("[tls]\nkey_update_records = 100\n")),
            "t.toml:15:22: tls.key_update_records: 100 is out of range (1000-16777216)");
  const Config c = ok(with("[tls]\nrecord_layer = \"openssl\"\nkey_update_records = 5000\n"));
  EXPECT_EQ(c.tls.record_layer, RecordLayer::kOpenSsl);
  EXPECT_EQ(c.tls.key_update_records, 5000u);
}

TEST(ConfigErrors, Pools) {
  // A zone in two pools: the later one is the mistake.
  EXPECT_EQ(error(with("[pools.a]\nupstreams = [\"9.9.9.9\"]\nzones = [\"corp.example\"]\n[pools.b]\n"
                       "upstreams = [\"8.8.8.8\"]\nzones = [\"x.example\", \"Corp.Example.\"]\n")),
            "t.toml:19:23: pools.b.zones[1]: zone \"corp.example.\" is already served by pool \"a\" (pools.a.zones[0], "
            "line 16)");
  EXPECT_EQ(error(with("[pools.a]\nupstreams = [\"9.9.9.9\"]\nzones = [\"a.example\", \"a.example\"]\n")),
            "t.toml:16:23: pools.a.zones[1]: zone \"a.example.\" is already served by this pool (pools.a.zones[0], "
            "line 16)");
  EXPECT_EQ(error(with("[pools.a]\nupstreams = [\"9.9.9.9\"]\nzones = [\".\"]\n")),
            "t.toml:16:10: pools.a.zones[0]: zone \".\" is already served by pool \"default\" (pools.default, "
            "line 12)");
  // No pool for ".".
  std::string text = kBase;
  text.replace(text.find("[pools.default]"), 15, "[pools.main]\nzones = [\"example\"]");
  EXPECT_EQ(error(text), "t.toml:12:1: pools: no pool serves \".\" (every name not in another zone): define "
                         "[pools.default] or add \".\" to a pool's zones");
  // A pool nothing uses.
  EXPECT_EQ(error(with("[pools.idle]\nupstreams = [\"9.9.9.9\"]\n")),
            "t.toml:14:1: pools.idle: pool \"idle\" serves no zone and no listener names it: add zones = [...]");
  ok(with("[pools.guest]\nupstreams = [\"9.9.9.9\"]\n[[listener]]\naddress = \"2001:db8::2\"\npool = \"guest\"\n"));
  // Fallbacks that are primaries, upstreams listed twice.
  text = kBase;
  text += "fallback = [\"8.8.8.8\", \"1.1.1.1@853#one.one.one.one\"]\n";
  EXPECT_EQ(error(text), "t.toml:14:24: pools.default.fallback[1]: \"1.1.1.1:853#one.one.one.one\" is also a primary "
                         "upstream (pools.default.upstreams[0], line 13); a fallback is used only when every primary "
                         "is down");
  text = kBase;
  text.replace(text.find("upstreams = ["), std::string::npos,
               "upstreams = [\"1.1.1.1\", \"1.0.0.1\", \"1.1.1.1:853\"]\n");
  EXPECT_EQ(error(text), "t.toml:13:36: pools.default.upstreams[2]: \"1.1.1.1:853\" is listed twice "
                         "(pools.default.upstreams[0], line 13)");
  // Timers that contradict each other.
  EXPECT_EQ(error(with("query_timeout = \"5s\"\n")),
            "t.toml:12:1: pools.default.retry_budget: is shorter than query_timeout: not even one attempt fits");
  EXPECT_EQ(error(with("connect_backoff_min = \"1m\"\nconnect_backoff_max = \"30s\"\n")),
            "t.toml:14:23: pools.default.connect_backoff_min: is above connect_backoff_max");
}

TEST(ConfigErrors, CacheLimitsControl) {
  EXPECT_EQ(error(with("[cache]\nmin_ttl = 600\nmax_ttl = \"5m\"\n")),
            "t.toml:15:11: cache.min_ttl: is above max_ttl (300 s)");
  EXPECT_EQ(error(with("[limits]\nclient_burst = 10\n")),
            "t.toml:15:16: limits.client_burst: a burst needs a rate: set client_qps too");
  EXPECT_EQ(error(with("[control]\nsocket = \"/run/" + std::string(120, 'x') + "\"\n")),
            "t.toml:15:10: control.socket: path is 125 bytes long; at most 107");
  EXPECT_EQ(error(with("[control]\nlog_level = \"verbose\"\n")),
            "t.toml:15:13: control.log_level: \"verbose\" is not one of \"error\", \"warning\", \"notice\", \"info\" "
            "or \"debug\"");
}

TEST(ConfigErrors, LocalZones) {
  EXPECT_EQ(error(with("[local.zones]\n\"corp.example\" = [\"www.other.example A 10.0.0.1\"]\n")),
            "t.toml:15:19: local.zones.\"corp.example\"[0]: 'www.other.example' is not in zone 'corp.example.'");
  EXPECT_EQ(error(with("[local.zones]\n\"corp.example\" = [\"www.corp.example A 10.0.0.1\", "
                       "\"www.corp.example CNAME x.example\"]\n")),
            "t.toml:15:50: local.zones.\"corp.example\"[1]: www.corp.example. has a CNAME and other data (RFC 1034 "
            "3.6.2)");
  EXPECT_EQ(error(with("[local.zones]\n\"corp.example\" = \"static\"\n")),
            "t.toml:15:18: local.zones.\"corp.example\": a \"static\" zone needs records: write { type = \"static\", "
            "records = [...] }");
  EXPECT_EQ(error(with("[local.zones]\n\"corp.example\" = { type = \"refuse\", records = [] }\n")),
            "t.toml:15:47: local.zones.\"corp.example\".records: a \"refuse\" zone has no records");
  EXPECT_EQ(error(with("[local.zones]\n\"corp.example\" = \"deny\"\n")),
            "t.toml:15:18: local.zones.\"corp.example\": \"deny\" is not one of \"static\", \"transparent\", "
            "\"refuse\", \"nxdomain\" or \"drop\"");
  EXPECT_EQ(error(with("[local.zones]\n\"corp.example\" = \"refuse\"\n\"Corp.Example.\" = \"drop\"\n")),
            "t.toml:16:19: local.zones.\"Corp.Example.\": zone \"corp.example.\" is already defined "
            "(local.zones.\"corp.example\", line 15)");
  const Config c = ok(with("[local]\nttl = 60\n[local.zones]\n\"corp.example\" = [\"a.corp.example A 10.0.0.1\"]\n"
                           "\"b.example\" = { type = \"transparent\", records = [\"b.example 5 TXT x\"] }\n"));
  ASSERT_EQ(c.local.zones.size(), 2u);
  EXPECT_EQ(c.local.zones[0].name, "corp.example.");
  EXPECT_EQ(c.local.zones[0].type, LocalZoneType::kStatic);
  EXPECT_EQ(c.local.zones[0].records[0].ttl, 60u);
  EXPECT_EQ(c.local.zones[1].type, LocalZoneType::kTransparent);
  EXPECT_EQ(c.local.zones[1].records[0].ttl, 5u);
}

TEST(ConfigErrors, AllCollectedInFileOrder) {
  const std::string text = "privacy = \"paranoid\"\n" + with("[cache]\nmax_ttl = -1\nprefech = true\n[limits]\n"
                                                             "client_qps = 1.5\n");
  EXPECT_EQ(errors(text), (std::vector<std::string>{
                              "t.toml:1:11: privacy: \"paranoid\" is not one of \"strict\" or \"opportunistic\"",
                              "t.toml:16:11: cache.max_ttl: -1 is not a duration in seconds",
                              "t.toml:17:1: cache.prefech: unknown key; did you mean 'prefetch'?",
                              "t.toml:19:14: limits.client_qps: expected an integer, found a float"}));
  // The checks across sections wait until every value reads cleanly.
  EXPECT_EQ(errors(with("[tls]\nmin_version = \"1.3\"\nmax_version = \"1.2\"\n[cache]\nmin_ttl = \"x\"\n")),
            (std::vector<std::string>{"t.toml:18:11: cache.min_ttl: \"x\" is not a duration (write a number with a "
                                      "unit: 500ms, 30s, 5m, 1h, 1d)"}));
}

}  // namespace
}  // namespace dotgate::config
