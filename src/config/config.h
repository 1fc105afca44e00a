// The configuration model: everything dotgate-dataplane and dotgate-control read from the
// TOML file (config/dotgate.toml documents every key and its default). Plain values, no
// toml++ and no DPDK types, so both processes and the tests use it directly; load.h turns a
// file into one of these, validated.
//
// A Config that load_config / parse_config returned has passed every check listed there:
// values are in range, names and addresses parsed, cross-references resolved (every pool
// a listener names exists, exactly one pool serves the root zone, ...). The defaults below
// are the file's defaults; a default-constructed Config is not a valid one (it has no
// ports, listeners or pools).
//
// Units are written beside each field; durations are stored in milliseconds or seconds
// (TTLs), sizes in bytes.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "net/addr_text.h"
#include "upstream/upstream_spec.h"

namespace dotgate::config {

// An interface address with its on-link prefix length ("192.0.2.10/24"): unlike
// net::IpPrefix, host bits are the point.
struct InterfaceAddr {
  net::IpAddr addr;
  uint8_t prefix_len = 0;
};

// [dataplane.ports]: one DPDK port.
struct Port {
  std::string name;    // for logs, telemetry and dotgatectl; unique
  std::string device;  // PCI address ("0000:03:00.0") or vdev ("net_af_packet0,iface=veth0")
  std::optional<InterfaceAddr> ipv4;
  std::optional<InterfaceAddr> ipv6;
  std::optional<net::IpAddr> gateway4;  // default route, on-link
  std::optional<net::IpAddr> gateway6;  // default route, link-local or on-link
  uint32_t mtu = 1500;                  // bytes of IP packet
  uint32_t rx_descriptors = 1024;       // per RX queue (one queue per worker)
  uint32_t tx_descriptors = 1024;       // per TX queue (one queue per worker)
  uint32_t mbuf_pool_size = 16383;      // mbufs in this port's pool (2^n - 1 is best)
};

// [dataplane]: the DPDK process.
struct Dataplane {
  std::vector<std::string> eal_args;  // passed to rte_eal_init after the ones derived here
  uint32_t workers = 1;               // worker lcores; equals lcores.size() when lcores is set
  std::vector<uint32_t> lcores;       // worker lcore ids; empty: the first `workers` after main
  uint32_t main_lcore = 0;
  // CPUs the lcores' threads may run on, together (EAL --lcores '(LCORES)@(CPUS)'); empty:
  // lcore N is pinned to CPU N. For test machines with fewer CPUs than lcores.
  std::vector<uint32_t> cpus;
  std::string file_prefix = "dotgate";  // EAL --file-prefix: secondary processes attach by it
  std::vector<Port> ports;
};

enum class Transport : uint8_t { kUdp, kTcp, kDot };
enum class DenyAction : uint8_t { kRefuse, kDrop };

// [[listener]]: where clients reach the appliance.
struct Listener {
  net::IpAddr address;   // an address of a port, or 0.0.0.0 / :: for all of that family
  bool wildcard = false;  // address is 0.0.0.0 or ::
  uint16_t port = 53;     // 853 by default for DoT
  std::vector<Transport> transports;  // distinct; kDot never shares a listener with kTcp
  std::vector<net::IpPrefix> allow;   // clients allowed; empty: nobody (not an open resolver)
  DenyAction deny_action = DenyAction::kRefuse;  // what clients outside `allow` get
  std::string pool;       // pool for names no pool's zones claim; empty: the "." pool
  std::string tls_cert;   // DoT only: certificate chain (PEM), absolute path
  std::string tls_key;    // DoT only: private key (PEM), absolute path
  uint32_t idle_timeout_ms = 10'000;  // TCP and DoT: close idle client connections (RFC 7766)
  uint32_t max_connections = 10'000;  // TCP and DoT: open connections here (default capped by
                                      // limits.max_tcp_connections)
};

enum class TlsVersion : uint8_t { k1_2, k1_3 };
// Who protects application data once a TLS 1.3 AES-GCM handshake is done (src/tls).
enum class RecordLayer : uint8_t { kIpsecMb, kOpenSsl };

// [tls]: how the appliance speaks TLS to upstreams.
struct TlsClient {
  std::string ca_bundle = "/etc/ssl/certs/ca-certificates.crt";
  TlsVersion min_version = TlsVersion::k1_2;
  TlsVersion max_version = TlsVersion::k1_3;
  std::string ciphers = "ECDHE+AESGCM:ECDHE+CHACHA20";  // TLS 1.2, OpenSSL cipher-list syntax
  std::string ciphersuites = "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256";
  bool session_resumption = true;
  // Upstream connections and DoT clients alike.
  RecordLayer record_layer = RecordLayer::kIpsecMb;
  uint64_t key_update_records = uint64_t{1} << 23;  // own record layer: records per sending key
};

// One upstream of a pool: its address, port and authentication name, and optional SPKI
// pins of which at least one must match a certificate in its chain.
struct Upstream {
  upstream::UpstreamSpec spec;
  std::vector<upstream::SpkiPin> pins;
};

enum class LbPolicy : uint8_t { kRoundRobin, kLeastOutstanding, kLowestLatency, kOrdered };

// [pools.NAME]: upstreams that serve a set of zones.
struct Pool {
  std::string name;
  std::vector<Upstream> upstreams;  // at least one
  std::vector<Upstream> fallback;   // used only while every upstream above is down
  // Zones forwarded to this pool, lower-case presentation form with the trailing dot
  // ("corp.example.", "." for the root). The pool named "default" serves "." unless it
  // lists zones itself.
  std::vector<std::string> zones;
  LbPolicy policy = LbPolicy::kLeastOutstanding;
  uint32_t connections = 1;          // per upstream, per worker
  uint32_t max_outstanding = 128;    // queries in flight per connection
  uint32_t query_timeout_ms = 1500;  // per attempt
  uint32_t retry_budget_ms = 4000;   // all attempts of one query, then SERVFAIL or stale
  uint32_t connect_backoff_min_ms = 250;
  uint32_t connect_backoff_max_ms = 30'000;
};

enum class Privacy : uint8_t { kStrict, kOpportunistic };

// [cache]
struct Cache {
  uint64_t size = uint64_t{64} << 20;  // bytes in all, split evenly between the workers
  uint32_t min_ttl = 0;                // seconds
  uint32_t max_ttl = 86400;            // seconds
  uint32_t max_negative_ttl = 3600;    // seconds; NXDOMAIN / NODATA (RFC 2308)
  uint32_t servfail_ttl = 5;           // seconds; 0: never cached
  bool serve_stale = true;             // RFC 8767
  uint32_t stale_max_age = 86400;      // seconds past expiry an answer may be served stale
  uint32_t stale_answer_ttl = 30;      // seconds; TTL on stale answers
  bool prefetch = true;                // refresh popular entries before they expire
};

// [limits]
struct Limits {
  uint32_t client_qps = 0;              // per client address; 0: no limit
  uint32_t client_burst = 0;            // bucket depth; 0: same as client_qps
  uint32_t max_tcp_connections = 100'000;  // client TCP + DoT connections, all listeners
  uint32_t tcp_buffer = 16 << 10;       // bytes, each direction, per client connection
  uint32_t upstream_buffer = 256 << 10;  // bytes, each direction, per upstream connection
  uint16_t edns_buffer_size = 1232;     // bytes; UDP payload size advertised to clients
};

enum class LocalZoneType : uint8_t {
  kStatic,       // answer from records; other names below it: NXDOMAIN / NODATA
  kTransparent,  // answer from records; other names are forwarded
  kRefuse,       // REFUSED for everything below it
  kNxdomain,     // NXDOMAIN for everything below it
  kDrop,         // no answer at all
};

// One record of a local zone, already in wire form.
struct LocalRecord {
  std::vector<uint8_t> owner;  // uncompressed wire name, lower-case
  uint16_t type = 0;
  uint32_t ttl = 0;            // seconds
  std::vector<uint8_t> rdata;  // wire form, names uncompressed
};

struct LocalZone {
  std::string name;            // lower-case presentation form with the trailing dot
  std::vector<uint8_t> wire;   // the same, uncompressed wire name
  LocalZoneType type = LocalZoneType::kStatic;
  std::vector<LocalRecord> records;
};

// [local]: data answered before the cache.
struct Local {
  std::string hosts_file;  // /etc/hosts format, absolute path; empty: none
  uint32_t ttl = 3600;     // seconds; for hosts-file answers and records without a TTL
  std::vector<LocalZone> zones;
};

enum class LogLevel : uint8_t { kError, kWarning, kNotice, kInfo, kDebug };

// [control]
struct Control {
  std::string socket = "/run/dotgate/control.sock";  // dotgatectl <-> control <-> dataplane
  LogLevel log_level = LogLevel::kInfo;
};

struct Config {
  Privacy privacy = Privacy::kStrict;
  uint32_t padding_block = 128;  // bytes; pad upstream queries to a multiple (RFC 8467); 0: off
  bool strip_ecs = true;         // remove edns-client-subnet before forwarding (RFC 7871)
  Dataplane dataplane;
  std::vector<Listener> listeners;
  TlsClient tls;
  std::vector<Pool> pools;       // sorted by name
  Cache cache;
  Limits limits;
  Local local;
  Control control;
};

// The names the file uses, for logs, status and error messages.
const char* to_string(Transport t) noexcept;
const char* to_string(DenyAction a) noexcept;
const char* to_string(TlsVersion v) noexcept;
const char* to_string(LbPolicy p) noexcept;
const char* to_string(Privacy p) noexcept;
const char* to_string(LocalZoneType t) noexcept;
const char* to_string(LogLevel l) noexcept;

}  // namespace dotgate::config
