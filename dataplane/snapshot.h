// What a worker publishes for the telemetry thread: its counters and its upstreams' state,
// copied every 100 ms into a slot guarded by a sequence number (the worker never waits;
// a reader retries while a copy is in progress). Plain data only, so the copy is a memcpy.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <thread>

#include "net/tcp.h"
#include "util/histogram.h"
#include "worker/worker.h"

namespace dotgate::dataplane {

struct UpstreamSnapshot {
  char name[80];           // as in the config: 10.53.3.10:853#upstream1.lab.dotgate.test
  char tls_version[16];    // of an open connection, "" when none
  char tls_cipher[48];
  char tls_record_layer[12];  // "ipsec-mb" once on the own record layer, else "openssl"
  char verified_name[80];
  char last_tls_failure[96];  // why its last handshake failed; "" if none did
  bool down, fallback, plaintext, resumed;
  uint32_t connections_open, outstanding, srtt_us;
  uint64_t queries, answers, timeouts, connects, connect_failures, handshake_failures, plaintext_queries;
  util::LatencyHistogram latency;
};

// A worker's hand-off counters: frames it received that belong to another, and back.
struct HandoffStats {
  uint64_t handed_off = 0;  // TCP segments and ICMP errors passed to their connection's owner
  uint64_t copied = 0;      // ARP replies and neighbour advertisements copied to every worker
  uint64_t taken_in = 0;    // frames other workers passed here
  uint64_t ring_full = 0;   // dropped: the owner's inbox was full (TCP resends)
  uint64_t no_mbuf = 0;     // a copy for another worker lost for want of an mbuf
};

struct WorkerSnapshot {
  static constexpr size_t kMaxUpstreams = 32;
  worker::WorkerStats stats;
  util::LatencyHistogram forwarded_latency;
  net::TcpStats tcp4, tcp6;
  uint64_t cache_entries, cache_bytes;
  uint64_t busy_cycles, loops, rx_packets, tx_packets, tx_dropped, rx_bursts;
  uint64_t tsc_hz;
  HandoffStats handoff;
  uint32_t upstream_count;
  UpstreamSnapshot upstreams[kMaxUpstreams];
};

class SnapshotSlot {
 public:
  void publish(const WorkerSnapshot& s) noexcept {
    const uint32_t seq = seq_.load(std::memory_order_relaxed);
    seq_.store(seq + 1, std::memory_order_relaxed);
    std::atomic_thread_fence(std::memory_order_release);
    std::memcpy(static_cast<void*>(&data_), &s, sizeof s);
    seq_.store(seq + 2, std::memory_order_release);
  }
  // On the telemetry thread: a worker preempted mid-copy (lcores sharing CPUs) keeps the
  // sequence odd for a scheduler slice, so the reader waits, up to about 200 ms, rather
  // than spin a few microseconds and give up.
  bool read(WorkerSnapshot* out) const noexcept {
    for (int tries = 0; tries < 4000; ++tries) {
      if (tries >= 16) std::this_thread::sleep_for(std::chrono::microseconds(50));
      const uint32_t before = seq_.load(std::memory_order_acquire);
      if (before & 1) continue;
      std::memcpy(static_cast<void*>(out), &data_, sizeof *out);
      std::atomic_thread_fence(std::memory_order_acquire);
      if (seq_.load(std::memory_order_relaxed) == before) return before != 0;
    }
    return false;
  }

 private:
  std::atomic<uint32_t> seq_{0};
  WorkerSnapshot data_{};
};

}  // namespace dotgate::dataplane
