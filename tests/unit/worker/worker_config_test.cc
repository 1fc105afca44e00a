// Tests for worker/worker_config.h: the shipped lab file, through the config loader, into
// what a worker runs with.
#include "worker/worker_config.h"

#include <gtest/gtest.h>

#include "config/load.h"

namespace dotgate::worker {
namespace {

config::Config lab() {
  auto r = config::load_config(std::string(DOTGATE_SOURCE_DIR) + "/config/lab.toml");
  if (auto* errors = std::get_if<std::vector<config::ConfigError>>(&r)) {
    ADD_FAILURE() << errors->front().to_string();
    return {};
  }
  return std::get<config::Config>(r);
}

TEST(WorkerConfig, TheLabFileBecomesOneWorkersSetUp) {
  const config::Config c = lab();
  const net::MacAddr mac{{2, 0, 0, 0, 0, 9}};
  const WorkerConfig w = make_worker_config(c, 0, mac, 2, 42);
  ASSERT_TRUE(w.has_ipv4);
  EXPECT_EQ(net::format_ipv4(w.ipv4.address), "10.53.1.2");
  EXPECT_EQ(w.ipv4.prefix_len, 24);
  EXPECT_EQ(net::format_ipv4(w.ipv4.gateway), "10.53.1.1");
  EXPECT_EQ(w.ipv4.mac, mac);
  ASSERT_TRUE(w.has_ipv6);
  EXPECT_EQ(net::format_ipv6(w.ipv6.gateway), "fd00:53:1::1");
  ASSERT_EQ(w.listeners.size(), 3u);
  EXPECT_TRUE(w.listeners[0].udp && w.listeners[0].tcp && !w.listeners[0].dot);
  EXPECT_EQ(w.listeners[0].port, 53);
  EXPECT_TRUE(w.listeners[0].refuse_denied);
  ASSERT_EQ(w.listeners[0].allow.size(), 1u);
  EXPECT_EQ(net::format_prefix(w.listeners[0].allow[0]), "10.53.2.0/24");
  EXPECT_TRUE(w.listeners[2].dot);
  EXPECT_EQ(w.listeners[2].port, 853);
  EXPECT_EQ(w.dot_certificate_file, "/run/dotgate-lab/tls/dotgate.lab.pem");
  EXPECT_EQ(w.tls_client.ca_file, "/run/dotgate-lab/ca/ca.pem");
  EXPECT_EQ(w.tls_client.protocol.min_version, tls::TlsVersion::kTls13);
  ASSERT_EQ(w.pools.size(), 1u);
  const upstream::PoolConfig& p = w.pools[0].pool;
  ASSERT_EQ(p.upstreams.size(), 2u);
  EXPECT_EQ(upstream::format_upstream(p.upstreams[1]), "[fd00:53:3::11]:853#upstream2.lab.dotgate.test");
  EXPECT_EQ(p.query_timeout_us, 500'000u);
  EXPECT_EQ(p.total_budget_us, 2'000'000u);
  EXPECT_EQ(p.backoff_min_us, 100'000u);
  EXPECT_EQ(p.privacy, upstream::Privacy::kStrict);
  EXPECT_EQ(p.pad_block, 128);
  ASSERT_EQ(w.pools[0].zones.size(), 1u);
  EXPECT_EQ(w.pools[0].zones[0], ".");
  EXPECT_EQ(w.pools[0].pins.size(), 2u);
  EXPECT_EQ(w.cache.memory_bytes, size_t{32} << 20);  // 64 MiB over two workers
  EXPECT_EQ(w.tcp_connections, 5000u);
  EXPECT_EQ(w.secret, 42u);
  EXPECT_EQ(w.local.zones.size(), 2u);  // local.lab.dotgate.test and refused.lab.dotgate.test
}

TEST(WorkerConfig, AListenerOnAnotherPortsAddressIsNotThisPorts) {
  config::Config c = lab();
  c.listeners[0].address = *net::parse_ip("10.99.0.1");
  c.listeners[0].wildcard = false;
  const WorkerConfig w = make_worker_config(c, 0, net::MacAddr{}, 1, 1);
  EXPECT_EQ(w.listeners.size(), 2u);
}

TEST(WorkerConfig, AWorkerOnTwoPortsHasBothAndTheListenersOfEach) {
  config::Config c = lab();
  config::Port uplink = c.dataplane.ports[0];
  uplink.name = "uplink";
  uplink.ipv4->addr = *net::parse_ip("10.99.0.2");
  uplink.ipv6.reset();
  uplink.gateway6.reset();
  uplink.gateway4 = *net::parse_ip("10.99.0.1");
  c.dataplane.ports.push_back(uplink);
  c.listeners[0].address = *net::parse_ip("10.99.0.2");  // now on the second port
  c.listeners[0].wildcard = false;
  const net::MacAddr m0{{2, 0, 0, 0, 0, 1}}, m1{{2, 0, 0, 0, 0, 2}};
  const WorkerConfig w = make_worker_config(c, std::vector<size_t>{0, 1}, std::vector<net::MacAddr>{m0, m1}, 1, 1);
  EXPECT_EQ(net::format_ipv4(w.ipv4.address), "10.53.1.2");
  EXPECT_EQ(w.ipv4.mac, m0);
  ASSERT_EQ(w.more_ports.size(), 1u);
  EXPECT_EQ(net::format_ipv4(w.more_ports[0].ipv4.address), "10.99.0.2");
  EXPECT_EQ(net::format_ipv4(w.more_ports[0].ipv4.gateway), "10.99.0.1");
  EXPECT_EQ(w.more_ports[0].ipv4.mac, m1);
  EXPECT_FALSE(w.more_ports[0].has_ipv6);
  EXPECT_EQ(w.listeners.size(), 3u);  // the moved one too
  // The per-client rate limit is split between the workers, like the cache.
  c.limits.client_qps = 1000;
  c.limits.client_burst = 0;
  const WorkerConfig split = make_worker_config(c, 0, m0, 4, 1);
  EXPECT_EQ(split.client_qps, 250u);
  EXPECT_EQ(split.client_burst, 250u);
  c.limits.client_burst = 3000;
  EXPECT_EQ(make_worker_config(c, 0, m0, 4, 1).client_burst, 750u);
  c.limits.client_qps = 0;
  EXPECT_EQ(make_worker_config(c, 0, m0, 4, 1).client_qps, 0u);
  EXPECT_THROW(make_worker_config(c, std::vector<size_t>{0, 1}, std::vector<net::MacAddr>{m0}, 1, 1),
               std::invalid_argument);
}

}  // namespace
}  // namespace dotgate::worker
