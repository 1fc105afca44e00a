// PacketIo over DPDK mbufs for one worker's queue pair: a handle is the mbuf pointer;
// frames to send gather in a burst that goes out with one rte_eth_tx_burst when it is full
// and at the end of every loop iteration (flush). What the queue does not take is freed
// and counted: a full TX ring sheds load, it does not block the worker.
//
// For tests and the lab, an impairment stage (src/net/impairment.h: delay, jitter,
// reordering, duplication, loss; seeded) may sit on the TX path: frames are copied into it
// and leave when due, since this kernel has no netem.
#pragma once

#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <netinet/in.h>

#include <cstdint>
#include <cstring>
#include <memory>

#include "net/impairment.h"
#include "worker/packet_io.h"

namespace dotgate::dataplane {

class MbufIo final : public worker::PacketIo {
 public:
  static constexpr uint16_t kBurst = 32;

  MbufIo(uint16_t port, uint16_t queue, rte_mempool* pool, const net::ImpairmentConfig* impair = nullptr,
         bool tx_checksum = false, bool rx_checksum = false)
      : port_(port), queue_(queue), pool_(pool), tx_checksum_(tx_checksum), rx_checksum_(rx_checksum) {
    if (impair != nullptr && impair->enabled()) impairment_ = std::make_unique<net::Impairment>(*impair);
  }
  void set_time(uint64_t now_us) noexcept { now_us_ = now_us; }
  ~MbufIo() override { flush(); }

  uint64_t alloc(uint8_t** data, size_t* capacity) override {
    rte_mbuf* m = rte_pktmbuf_alloc(pool_);
    if (m == nullptr) return 0;
    *data = rte_pktmbuf_mtod(m, uint8_t*);
    *capacity = rte_pktmbuf_tailroom(m);
    return reinterpret_cast<uint64_t>(m);
  }
  uint8_t* data(uint64_t h) override { return rte_pktmbuf_mtod(mbuf(h), uint8_t*); }
  size_t length(uint64_t h) override { return rte_pktmbuf_data_len(mbuf(h)); }
  void set_length(uint64_t h, size_t len) override {
    rte_mbuf* m = mbuf(h);
    m->data_len = static_cast<uint16_t>(len);
    m->pkt_len = static_cast<uint32_t>(len);
  }
  void transmit(uint64_t h) override {
    if (impairment_) {
      impairment_->offer(data(h), length(h), now_us_);
      release(h);
      return;
    }
    queue(mbuf(h));
  }
  void release(uint64_t h) override { rte_pktmbuf_free(mbuf(h)); }
  bool tx_checksum_offload() const override { return tx_checksum_; }
  RxChecksums rx_checksums(uint64_t h) override {
    if (!rx_checksum_) return {};
    const uint64_t f = mbuf(h)->ol_flags;
    return {(f & RTE_MBUF_F_RX_IP_CKSUM_MASK) == RTE_MBUF_F_RX_IP_CKSUM_GOOD,
            (f & RTE_MBUF_F_RX_L4_CKSUM_MASK) == RTE_MBUF_F_RX_L4_CKSUM_GOOD};
  }

  void flush() {
    if (impairment_) {
      impairment_->release(now_us_, [&](const uint8_t* f, size_t n) {
        uint8_t* d;
        size_t cap;
        const uint64_t h = alloc(&d, &cap);
        if (h == 0 || n > cap) {
          if (h != 0) release(h);
          ++tx_dropped_;
          return;
        }
        std::memcpy(d, f, n);
        set_length(h, n);
        queue(mbuf(h));
      });
    }
    send_burst();
  }
  uint64_t tx_packets() const noexcept { return tx_packets_; }
  uint64_t tx_dropped() const noexcept { return tx_dropped_; }

 private:
  static rte_mbuf* mbuf(uint64_t h) { return reinterpret_cast<rte_mbuf*>(h); }
  void queue(rte_mbuf* m) {
    if (tx_checksum_) mark_checksums(m);
    tx_[tx_count_++] = m;
    if (tx_count_ == kBurst) send_burst();
  }
  void send_burst() {
    if (tx_count_ == 0) return;
    const uint16_t sent = rte_eth_tx_burst(port_, queue_, tx_, tx_count_);
    tx_packets_ += sent;
    for (uint16_t i = sent; i < tx_count_; ++i) rte_pktmbuf_free(tx_[i]);
    tx_dropped_ += tx_count_ - sent;
    tx_count_ = 0;
  }

  // The offload flags and header lengths the device needs to complete the checksums of a
  // UDP or TCP frame the worker wrote with only the pseudo-header sums (and no IPv4 header
  // checksum). Other frames (ARP, ICMP) carry their checksums already.
  static void mark_checksums(rte_mbuf* m) {
    const uint8_t* d = rte_pktmbuf_mtod(m, const uint8_t*);
    const size_t len = rte_pktmbuf_data_len(m);
    size_t l2 = 14;
    if (len < l2) return;
    uint16_t type = static_cast<uint16_t>(d[12] << 8 | d[13]);
    if (type == RTE_ETHER_TYPE_VLAN && len >= 18) {
      type = static_cast<uint16_t>(d[16] << 8 | d[17]);
      l2 = 18;
    }
    uint64_t flags = 0;
    uint8_t proto = 0;
    size_t l3 = 0;
    if (type == RTE_ETHER_TYPE_IPV4 && len >= l2 + 20) {
      l3 = static_cast<size_t>(d[l2] & 0x0f) * 4;
      proto = d[l2 + 9];
      flags = RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_IP_CKSUM;
    } else if (type == RTE_ETHER_TYPE_IPV6 && len >= l2 + 40) {
      l3 = 40;
      proto = d[l2 + 6];
      flags = RTE_MBUF_F_TX_IPV6;
    }
    if (proto == IPPROTO_TCP) {
      flags |= RTE_MBUF_F_TX_TCP_CKSUM;
    } else if (proto == IPPROTO_UDP) {
      flags |= RTE_MBUF_F_TX_UDP_CKSUM;
    } else {
      return;
    }
    m->l2_len = static_cast<uint16_t>(l2) & 0x7f;
    m->l3_len = static_cast<uint16_t>(l3) & 0x1ff;
    m->ol_flags |= flags;
  }

  uint16_t port_;
  uint16_t queue_;
  rte_mempool* pool_;
  bool tx_checksum_;
  bool rx_checksum_;
  std::unique_ptr<net::Impairment> impairment_;
  uint64_t now_us_ = 0;
  rte_mbuf* tx_[kBurst];
  uint16_t tx_count_ = 0;
  uint64_t tx_packets_ = 0;
  uint64_t tx_dropped_ = 0;
};

}  // namespace dotgate::dataplane
