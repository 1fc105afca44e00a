#include "port.h"

#include <rte_errno.h>
#include <rte_lcore.h>

#include <algorithm>

#include "eal_args.h"

namespace dotgate::dataplane {

namespace {

// Entry i of the device's redirection table names queue i % queues.
bool program_reta(uint16_t id, uint16_t reta_size, uint16_t queues) {
  std::vector<rte_eth_rss_reta_entry64> reta((reta_size + RTE_ETH_RETA_GROUP_SIZE - 1) / RTE_ETH_RETA_GROUP_SIZE);
  for (uint16_t i = 0; i < reta_size; ++i) {
    rte_eth_rss_reta_entry64& g = reta[i / RTE_ETH_RETA_GROUP_SIZE];
    g.mask |= uint64_t{1} << (i % RTE_ETH_RETA_GROUP_SIZE);
    g.reta[i % RTE_ETH_RETA_GROUP_SIZE] = static_cast<uint16_t>(i % queues);
  }
  return rte_eth_dev_rss_reta_update(id, reta.data(), reta_size) == 0;
}

}  // namespace

std::string open_port(const config::Port& p, uint16_t queues, const std::vector<uint8_t>& rss_key, OpenPort* out) {
  const std::string what = "port " + p.name + " (" + p.device + "): ";
  const std::string dev = device_name(p.device);
  uint16_t id = 0;
  if (rte_eth_dev_get_port_by_name(dev.c_str(), &id) != 0) {
    return what + "no such device; a NIC must be bound to vfio-pci (dpdk-devbind.py), a virtual " +
           "device's name must start with net_ and its driver be installed";
  }
  rte_eth_dev_info info{};
  if (const int rc = rte_eth_dev_info_get(id, &info); rc != 0) {
    return what + "cannot read device information: " + rte_strerror(-rc);
  }
  if (queues > info.max_rx_queues || queues > info.max_tx_queues) {
    return what + std::to_string(queues) + " workers need " + std::to_string(queues) +
           " RX and TX queues; the device offers " + std::to_string(info.max_rx_queues) + " / " +
           std::to_string(info.max_tx_queues) + " (for net_af_packet add qpairs=N to the device)";
  }
  const int socket = rte_eth_dev_socket_id(id) < 0 ? static_cast<int>(rte_socket_id()) : rte_eth_dev_socket_id(id);
  const std::string pool_name = "mb_" + p.name;
  const unsigned cache = std::min(256u, p.mbuf_pool_size / 2);
  rte_mempool* pool = rte_pktmbuf_pool_create(pool_name.c_str(), p.mbuf_pool_size, cache, 0,
                                              RTE_MBUF_DEFAULT_BUF_SIZE, socket);
  if (pool == nullptr) {
    return what + "cannot allocate " + std::to_string(p.mbuf_pool_size) + " mbufs: " + rte_strerror(rte_errno) +
           " (no hugepages? reserve some in /proc/sys/vm/nr_hugepages, or add --in-memory --no-huge)";
  }
  rte_eth_conf conf{};
  // RSS only where the device hashes the TCP tuple: hashing addresses alone would put
  // every connection to one upstream on one queue, whatever local port it took.
  const uint64_t rss = info.flow_type_rss_offloads & (RTE_ETH_RSS_IP | RTE_ETH_RSS_TCP | RTE_ETH_RSS_UDP);
  out->rss = queues > 1 && (rss & RTE_ETH_RSS_NONFRAG_IPV4_TCP) != 0;
  std::vector<uint8_t> key = rss_key;
  if (out->rss) {
    conf.rxmode.mq_mode = RTE_ETH_MQ_RX_RSS;
    conf.rx_adv_conf.rss_conf.rss_hf = rss;
    // A device that takes a key of its own length gets ours, padded (the hash of a 4-tuple
    // reads only its first 40 bytes).
    if (info.hash_key_size >= rss_key.size()) {
      key.resize(info.hash_key_size, 0x5a);
      conf.rx_adv_conf.rss_conf.rss_key = key.data();
      conf.rx_adv_conf.rss_conf.rss_key_len = static_cast<uint8_t>(key.size());
    }
  }
  constexpr uint64_t kTxSums =
      RTE_ETH_TX_OFFLOAD_IPV4_CKSUM | RTE_ETH_TX_OFFLOAD_UDP_CKSUM | RTE_ETH_TX_OFFLOAD_TCP_CKSUM;
  constexpr uint64_t kRxSums = RTE_ETH_RX_OFFLOAD_IPV4_CKSUM | RTE_ETH_RX_OFFLOAD_UDP_CKSUM | RTE_ETH_RX_OFFLOAD_TCP_CKSUM;
  out->tx_checksum = (info.tx_offload_capa & kTxSums) == kTxSums;
  out->rx_checksum = (info.rx_offload_capa & kRxSums) == kRxSums;
  if (out->tx_checksum) conf.txmode.offloads |= kTxSums;
  if (out->rx_checksum) conf.rxmode.offloads |= kRxSums;
  if (const int rc = rte_eth_dev_configure(id, queues, queues, &conf); rc != 0) {
    rte_mempool_free(pool);
    return what + "configure failed: " + rte_strerror(-rc);
  }
  const int mtu = rte_eth_dev_set_mtu(id, static_cast<uint16_t>(p.mtu));
  if (mtu != 0 && mtu != -ENOTSUP) {
    rte_mempool_free(pool);
    return what + "cannot set MTU " + std::to_string(p.mtu) + ": " + rte_strerror(-mtu);
  }
  uint16_t rx_desc = static_cast<uint16_t>(p.rx_descriptors), tx_desc = static_cast<uint16_t>(p.tx_descriptors);
  rte_eth_dev_adjust_nb_rx_tx_desc(id, &rx_desc, &tx_desc);
  for (uint16_t q = 0; q < queues; ++q) {
    if (const int rc = rte_eth_rx_queue_setup(id, q, rx_desc, static_cast<unsigned>(socket), nullptr, pool); rc != 0) {
      rte_mempool_free(pool);
      return what + "RX queue " + std::to_string(q) + ": " + rte_strerror(-rc);
    }
    if (const int rc = rte_eth_tx_queue_setup(id, q, tx_desc, static_cast<unsigned>(socket), nullptr); rc != 0) {
      rte_mempool_free(pool);
      return what + "TX queue " + std::to_string(q) + ": " + rte_strerror(-rc);
    }
  }
  if (const int rc = rte_eth_dev_start(id); rc != 0) {
    rte_mempool_free(pool);
    return what + "start failed: " + rte_strerror(-rc);
  }
  if (out->rss) {
    out->rss_programmed = conf.rx_adv_conf.rss_conf.rss_key != nullptr && info.reta_size >= queues &&
                          (info.reta_size & (info.reta_size - 1)) == 0 && program_reta(id, info.reta_size, queues);
    if (out->rss_programmed) out->reta_size = info.reta_size;
  }
  rte_eth_promiscuous_enable(id);  // best effort: a virtual device may not have it
  rte_eth_macaddr_get(id, &out->mac);
  out->id = id;
  out->pool = pool;
  out->driver = info.driver_name != nullptr ? info.driver_name : "";
  return {};
}

void close_port(const OpenPort& port) {
  rte_eth_dev_stop(port.id);
  rte_eth_dev_close(port.id);
}

}  // namespace dotgate::dataplane
