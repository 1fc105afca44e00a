// One worker core's whole service, as pure C++ over packet buffers: frames in, frames out.
// The dataplane runs one per lcore over its RX/TX queue pair; the tests run it over a TAP
// device or an in-process link. It owns, for its port:
//   - the IPv4 and IPv6 hosts (ARP/ND, ping) and their neighbour tables;
//   - the TCP engines (client DNS over TCP and DoT, and the upstream connections);
//   - the response cache shard;
//   - the upstream pools, their DoT sessions, and the forward zones that choose a pool;
//   - the clients waiting for an upstream answer.
// The query path: validate (src/dns), access control per listener (REFUSED or silence for
// clients outside its prefixes: never an open resolver), the per-client rate limit, local
// data (zones and the hosts file), cache, then the pool for the name's forward zone; the answer goes into the cache and back to the client, truncated (TC=1) to
// a UDP client's EDNS size. Upstream failure: a stale answer if the cache has one
// (RFC 8767), else SERVFAIL.
//
// Nothing here locks; after construction the packet path allocates only when a connection
// opens (its TLS session). Times are microseconds on one monotonic clock.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "cache/cache.h"
#include "config/config.h"
#include "net/addr_text.h"
#include "net/drops.h"
#include "net/flow_steering.h"
#include "net/ipv4_host.h"
#include "net/ipv6_host.h"
#include "net/tcp.h"
#include "tls/tls_context.h"
#include "upstream/forward_zones.h"
#include "upstream/pool.h"
#include "util/histogram.h"
#include "worker/packet_io.h"

namespace dotgate::worker {

struct ListenerConfig {
  net::IpAddr address;    // one of the port's addresses, unless wildcard
  bool wildcard = false;  // every address of address.v6's family
  uint16_t port = 53;
  bool udp = false;
  bool tcp = false;
  bool dot = false;
  std::vector<net::IpPrefix> allow;  // clients served; empty: nobody
  bool refuse_denied = true;         // others get REFUSED (true) or nothing (false)
  uint32_t pool = 0;                 // for names no forward zone claims
  uint32_t idle_timeout_ms = 10'000; // TCP and DoT clients (RFC 7766 6.2.3)
};

// One pool: the pool's own config, the zones it serves, and per upstream (primaries, then
// fallback) the SPKI pins its certificate chain must match.
struct PoolSetup {
  upstream::PoolConfig pool;
  std::vector<std::string> zones;
  std::vector<std::vector<tls::SpkiSha256>> pins;
};

// One port of the worker: its addresses (and routes), its MTU, and, when several workers
// share it, the steering they share (the caller's, outliving the worker): connections we
// open take local ports whose replies the steering, and a NIC's RSS programmed alike,
// brings back to this worker. Null: the port's only worker.
struct PortConfig {
  bool has_ipv4 = false;
  net::Ipv4HostConfig ipv4;
  bool has_ipv6 = false;
  net::Ipv6HostConfig ipv6;
  uint16_t mtu = 1500;  // TCP's MSS follows from it
  const net::FlowSteering* steering = nullptr;
};

// The worker's first port is the config itself (it is a PortConfig); further ports are in
// more_ports. Upstreams are reached through the first port on whose prefix they are, else
// through the first port with a gateway of their family.
struct WorkerConfig : PortConfig {
  std::vector<PortConfig> more_ports;
  uint32_t worker_index = 0;  // this worker's queue on its ports (the steering's worker)
  std::vector<ListenerConfig> listeners;
  cache::CacheConfig cache;
  uint64_t secret = 0;  // seeds the cache hash, TCP ISNs and query IDs: random per start
  std::vector<PoolSetup> pools;
  tls::ClientConfig tls_client;
  std::string dot_certificate_file;  // for DoT listeners
  std::string dot_key_file;
  // The DoT server's session ticket keys come from this secret, the same for every worker
  // of the process, so a client resumes on whichever worker its next connection reaches.
  // Empty: each worker's own random keys.
  std::vector<uint8_t> ticket_secret;
  uint32_t tcp_connections = 4096;        // per family: clients and upstream connections
  uint32_t client_tcp_buffer = 16 << 10;  // bytes each way
  uint32_t upstream_tcp_buffer = 64 << 10;
  uint32_t max_waiting = 16384;           // clients waiting for upstream answers
  config::Local local;                    // zones and the hosts file, answered before the cache
  uint32_t client_qps = 0;                // per client address (IPv6: its /64); 0: no limit
  uint32_t client_burst = 0;              // bucket depth; 0: client_qps
  uint16_t edns_buffer_size = 1232;       // our UDP payload size (RFC 9715 / DNS flag day 2020)
};

// Counters of one worker: every query, answer and drop has one.
struct WorkerStats {
  uint64_t frames_in = 0;
  uint64_t frames_out = 0;
  uint64_t frames_dropped = 0;    // by the hosts and TCP engines; by reason in drops
  uint64_t drops[net::kDropCount] = {};  // indexed by net::Drop (src/net/drops.h)
  uint64_t tx_no_buffer = 0;      // a reply or segment lost for want of a buffer
  uint64_t queries_udp = 0;
  uint64_t queries_tcp = 0;
  uint64_t queries_dot = 0;
  uint64_t refused_acl = 0;
  uint64_t dropped_acl = 0;
  uint64_t rate_limited = 0;      // dropped: over the client's rate
  uint64_t local_answers = 0;     // answered (or dropped) from local data
  uint64_t malformed = 0;         // dropped or answered FORMERR/NOTIMP/BADVERS
  uint64_t cache_hits = 0;
  uint64_t cache_misses = 0;
  uint64_t stale_answers = 0;
  uint64_t forwarded = 0;
  uint64_t upstream_answers = 0;
  uint64_t servfail = 0;
  uint64_t waiting_full = 0;      // shed: too many clients waiting
  uint64_t truncated = 0;         // UDP answers cut to TC=1
  uint64_t rcode[16] = {};        // answers sent, by RCODE
  // TLS sessions that moved onto the own record layer after their handshake (src/tls).
  uint64_t tls_own_records_upstream = 0;
  uint64_t tls_own_records_clients = 0;
  // What those sessions did, counted when they end: KeyUpdates (the peer's, and ours every
  // [tls] key_update_records records or in reply) and tickets after the switch (dropped).
  uint64_t tls_key_updates_sent = 0;
  uint64_t tls_key_updates_received = 0;
  uint64_t tls_late_tickets = 0;
};

class Worker {
 public:
  // Builds everything; throws std::runtime_error naming what failed (a TLS file, ...).
  // `io` has one PacketIo per port (the first for the config's own, then more_ports').
  Worker(const WorkerConfig& config, const std::vector<PacketIo*>& io, uint64_t now_us);
  Worker(const WorkerConfig& config, PacketIo& io, uint64_t now_us) : Worker(config, std::vector{&io}, now_us) {}
  ~Worker();
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  // A frame received on port `port` (the worker owns `handle` from here on).
  void receive(uint64_t handle, uint64_t now_us, size_t port = 0);
  // Timers (TCP, upstream timeouts, neighbours) and coalesced upstream writes; call after
  // every receive burst and when idle.
  void poll(uint64_t now_us);
  // Announces the addresses (gratuitous ARP); call once the port is up.
  void announce(uint64_t now_us);

  const WorkerStats& stats() const noexcept { return stats_; }
  // Client-visible time of forwarded queries: from the query's arrival to the answer (or
  // SERVFAIL) going out, in microseconds.
  const util::LatencyHistogram& forwarded_latency() const noexcept;
  const cache::Cache& cache() const noexcept;
  size_t pool_count() const noexcept;
  const upstream::UpstreamPool& pool(size_t i) const;
  // TLS facts of an upstream's open connection, for status ("TLSv1.3", cipher, verified
  // name); empty strings when it has none open.
  struct UpstreamTlsInfo {
    std::string version, cipher, verified_name;
    std::string record_layer;  // "ipsec-mb" or "openssl"
    uint64_t key_updates_sent = 0;  // by that connection so far (own record layer)
    bool resumed = false;
    std::string last_failure;  // why its last TLS handshake failed, OpenSSL's words; "" if none did
  };
  UpstreamTlsInfo upstream_tls(size_t pool, size_t upstream) const;
  // Summed over the worker's ports.
  net::TcpStats tcp_stats(bool v6) const noexcept;

  class Impl;

 private:
  std::unique_ptr<Impl> impl_;
  WorkerStats& stats_;
};

}  // namespace dotgate::worker
