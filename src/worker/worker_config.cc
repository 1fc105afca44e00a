#include "worker/worker_config.h"

#include <algorithm>

namespace dotgate::worker {

namespace {

upstream::Policy policy_of(config::LbPolicy p) {
  switch (p) {
    case config::LbPolicy::kRoundRobin: return upstream::Policy::kRoundRobin;
    case config::LbPolicy::kLeastOutstanding: return upstream::Policy::kLeastOutstanding;
    case config::LbPolicy::kLowestLatency: return upstream::Policy::kLowestLatency;
    case config::LbPolicy::kOrdered: return upstream::Policy::kOrdered;
  }
  return upstream::Policy::kLeastOutstanding;
}

tls::TlsVersion version_of(config::TlsVersion v) {
  return v == config::TlsVersion::k1_3 ? tls::TlsVersion::kTls13 : tls::TlsVersion::kTls12;
}

}  // namespace

namespace {

PortConfig port_config(const config::Port& port, const net::MacAddr& mac) {
  PortConfig p;
  if (port.ipv4) {
    p.has_ipv4 = true;
    p.ipv4.mac = mac;
    p.ipv4.address = port.ipv4->addr.v4;
    p.ipv4.prefix_len = port.ipv4->prefix_len;
    if (port.gateway4) p.ipv4.gateway = port.gateway4->v4;
  }
  if (port.ipv6) {
    p.has_ipv6 = true;
    p.ipv6.mac = mac;
    p.ipv6.address = port.ipv6->addr.v6addr;
    p.ipv6.prefix_len = port.ipv6->prefix_len;
    if (port.gateway6) p.ipv6.gateway = port.gateway6->v6addr;
  }
  p.mtu = static_cast<uint16_t>(port.mtu);
  return p;
}

bool on_port(const config::Listener& l, const config::Port& port) {
  return l.wildcard || (l.address.v6 ? port.ipv6 && port.ipv6->addr == l.address
                                     : port.ipv4 && port.ipv4->addr == l.address);
}

}  // namespace

WorkerConfig make_worker_config(const config::Config& c, size_t port_index, const net::MacAddr& mac,
                                uint32_t workers, uint64_t secret) {
  return make_worker_config(c, std::vector<size_t>{port_index}, std::vector<net::MacAddr>{mac}, workers, secret);
}

WorkerConfig make_worker_config(const config::Config& c, const std::vector<size_t>& ports,
                                const std::vector<net::MacAddr>& macs, uint32_t workers, uint64_t secret) {
  if (ports.empty() || ports.size() != macs.size()) {
    throw std::invalid_argument("a worker needs at least one port, and a MAC address for each");
  }
  workers = std::max<uint32_t>(workers, 1);
  WorkerConfig w;
  w.secret = secret;
  static_cast<PortConfig&>(w) = port_config(c.dataplane.ports.at(ports[0]), macs[0]);
  for (size_t i = 1; i < ports.size(); ++i) w.more_ports.push_back(port_config(c.dataplane.ports.at(ports[i]), macs[i]));

  for (const config::Listener& l : c.listeners) {
    const bool ours = std::any_of(ports.begin(), ports.end(), [&](size_t i) { return on_port(l, c.dataplane.ports[i]); });
    if (!ours) continue;
    ListenerConfig out;
    out.address = l.address;
    out.wildcard = l.wildcard;
    out.port = l.port;
    for (config::Transport t : l.transports) {
      out.udp |= t == config::Transport::kUdp;
      out.tcp |= t == config::Transport::kTcp;
      out.dot |= t == config::Transport::kDot;
    }
    out.allow = l.allow;
    out.refuse_denied = l.deny_action == config::DenyAction::kRefuse;
    out.idle_timeout_ms = l.idle_timeout_ms;
    const std::string& pool = l.pool.empty() ? std::string() : l.pool;
    out.pool = 0;
    for (size_t i = 0; i < c.pools.size(); ++i) {
      const bool root = std::find(c.pools[i].zones.begin(), c.pools[i].zones.end(), ".") != c.pools[i].zones.end();
      if (pool.empty() ? root : c.pools[i].name == pool) out.pool = static_cast<uint32_t>(i);
    }
    if (out.dot) {
      if (!w.dot_certificate_file.empty() &&
          (w.dot_certificate_file != l.tls_cert || w.dot_key_file != l.tls_key)) {
        throw std::invalid_argument("DoT listeners must share one certificate and key for now");
      }
      w.dot_certificate_file = l.tls_cert;
      w.dot_key_file = l.tls_key;
    }
    w.listeners.push_back(out);
  }

  w.cache.memory_bytes = std::max<size_t>(c.cache.size / workers, size_t{1} << 20);
  w.cache.min_ttl = c.cache.min_ttl;
  w.cache.max_ttl = c.cache.max_ttl;
  w.cache.negative_max_ttl = c.cache.max_negative_ttl;
  w.cache.servfail_ttl = c.cache.servfail_ttl;
  w.cache.stale_window = c.cache.serve_stale ? c.cache.stale_max_age : 0;
  w.cache.stale_answer_ttl = c.cache.stale_answer_ttl;
  w.cache.prefetch_percent = c.cache.prefetch ? w.cache.prefetch_percent : 0;
  w.cache.our_udp_payload = c.limits.edns_buffer_size;
  w.edns_buffer_size = c.limits.edns_buffer_size;

  w.tls_client.ca_file = c.tls.ca_bundle;
  w.tls_client.protocol.min_version = version_of(c.tls.min_version);
  w.tls_client.protocol.max_version = version_of(c.tls.max_version);
  w.tls_client.protocol.tls12_ciphers = c.tls.ciphers;
  w.tls_client.protocol.tls13_ciphersuites = c.tls.ciphersuites;
  w.tls_client.protocol.own_record_layer = c.tls.record_layer == config::RecordLayer::kIpsecMb;
  w.tls_client.protocol.key_update_after_records = c.tls.key_update_records;
  w.tls_client.session_resumption = c.tls.session_resumption;

  for (const config::Pool& p : c.pools) {
    PoolSetup setup;
    upstream::PoolConfig& pc = setup.pool;
    for (const config::Upstream& u : p.upstreams) {
      pc.upstreams.push_back(u.spec);
      setup.pins.push_back({u.pins.begin(), u.pins.end()});
    }
    for (const config::Upstream& u : p.fallback) {
      pc.fallback.push_back(u.spec);
      setup.pins.push_back({u.pins.begin(), u.pins.end()});
    }
    pc.policy = policy_of(p.policy);
    pc.privacy = c.privacy == config::Privacy::kOpportunistic ? upstream::Privacy::kOpportunistic
                                                             : upstream::Privacy::kStrict;
    pc.connections_per_upstream = p.connections;
    pc.max_outstanding = p.max_outstanding;
    pc.query_timeout_us = p.query_timeout_ms * 1000;
    pc.total_budget_us = p.retry_budget_ms * 1000;
    pc.backoff_min_us = p.connect_backoff_min_ms * 1000;
    pc.backoff_max_us = p.connect_backoff_max_ms * 1000;
    pc.pad_block = static_cast<uint16_t>(c.padding_block);
    pc.edns_udp_size = c.limits.edns_buffer_size;
    setup.zones = p.zones;
    w.pools.push_back(std::move(setup));
  }

  w.local = c.local;
  // Each worker keeps its own buckets, so each enforces its share: a client whose queries
  // spread over the workers (RSS by 4-tuple, a new source port per query) gets the
  // configured rate in all; one that keeps to a single flow, its share.
  if (c.limits.client_qps != 0) {
    w.client_qps = std::max<uint32_t>(c.limits.client_qps / workers, 1);
    const uint32_t burst = c.limits.client_burst != 0 ? c.limits.client_burst : c.limits.client_qps;
    w.client_burst = std::max<uint32_t>(burst / workers, 1);
  }
  w.tcp_connections = std::max<uint32_t>(c.limits.max_tcp_connections / workers, 64);
  w.client_tcp_buffer = c.limits.tcp_buffer;
  w.upstream_tcp_buffer = c.limits.upstream_buffer;
  return w;
}

}  // namespace dotgate::worker
