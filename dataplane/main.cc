// dotgate-dataplane: the DPDK process. Reads the config file, starts the EAL with the
// arguments derived from it, brings the port up, runs one worker per worker lcore (the
// pure C++ worker of src/worker over the port's queue pair: rx burst, answer or forward,
// tx burst, timers), serves telemetry under /dotgate/..., lets dpdk-dumpcap capture
// (rte_pdump), and on SIGTERM or SIGINT stops the workers and the port and exits 0.
//
//   dotgate-dataplane --config FILE [-- EXTRA_EAL_ARGS...]
//   dotgate-dataplane --check FILE      (validate the config file and exit)
#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_pdump.h>
#include <rte_ring.h>
#include <rte_telemetry.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "config/load.h"
#include "eal_args.h"
#include "mbuf_io.h"
#include "net/ethernet.h"
#include "net/flow_steering.h"
#include "port.h"
#include "snapshot.h"
#include "upstream/upstream_spec.h"
#include "worker/worker_config.h"

namespace dotgate::dataplane {
namespace {

std::atomic<bool> g_stop{false};
constexpr unsigned kInboxSize = 4096;  // frames waiting for a worker from the others
void on_signal(int) { g_stop.store(true, std::memory_order_relaxed); }

enum class WorkerState : int { kStarting, kRunning, kFailed, kStopped };

// Everything one worker lcore needs, and what it reports back.
// One port as the workers see it: the open device and the steering its workers share.
struct SharedPort {
  OpenPort open;
  std::unique_ptr<net::FlowSteering> steering;
};

struct WorkerContext {
  const config::Config* config = nullptr;
  const std::vector<SharedPort>* ports = nullptr;  // in the config's order
  const std::array<uint8_t, RTE_MAX_ETHPORTS>* port_index = nullptr;  // by ethdev id
  uint32_t lcore = 0;
  uint16_t queue = 0;  // on every port; also the worker's index
  uint32_t workers = 1;
  uint64_t secret = 0;
  const std::vector<uint8_t>* ticket_secret = nullptr;  // the same for every worker
  rte_ring* inbox = nullptr;                    // frames other workers pass to this one
  const std::vector<rte_ring*>* inboxes = nullptr;  // every worker's, by index
  const net::ImpairmentConfig* impairment = nullptr;  // on TX, for tests and the lab
  std::atomic<WorkerState> state{WorkerState::kStarting};
  std::string error;
  SnapshotSlot snapshot;
};

std::vector<std::unique_ptr<WorkerContext>> g_workers;

void fill_snapshot(const worker::Worker& w, const std::vector<std::unique_ptr<MbufIo>>& ios, WorkerSnapshot* s) {
  s->stats = w.stats();
  s->forwarded_latency = w.forwarded_latency();
  s->tcp4 = w.tcp_stats(false);
  s->tcp6 = w.tcp_stats(true);
  const cache::CacheStats cs = w.cache().stats();
  s->cache_entries = cs.entries;
  s->cache_bytes = cs.arena_used_bytes;
  s->tx_packets = s->tx_dropped = 0;
  for (const auto& io : ios) {
    s->tx_packets += io->tx_packets();
    s->tx_dropped += io->tx_dropped();
  }
  s->tsc_hz = rte_get_tsc_hz();
  uint32_t n = 0;
  for (size_t p = 0; p < w.pool_count(); ++p) {
    const upstream::UpstreamPool& pool = w.pool(p);
    for (size_t u = 0; u < pool.upstream_count() && n < WorkerSnapshot::kMaxUpstreams; ++u, ++n) {
      const upstream::UpstreamStatus st = pool.status(u);
      const worker::Worker::UpstreamTlsInfo tls = w.upstream_tls(p, u);
      UpstreamSnapshot& o = s->upstreams[n];
      std::snprintf(o.name, sizeof o.name, "%s", upstream::format_upstream(st.spec).c_str());
      std::snprintf(o.tls_version, sizeof o.tls_version, "%s", tls.version.c_str());
      std::snprintf(o.tls_cipher, sizeof o.tls_cipher, "%s", tls.cipher.c_str());
      std::snprintf(o.tls_record_layer, sizeof o.tls_record_layer, "%s", tls.record_layer.c_str());
      std::snprintf(o.verified_name, sizeof o.verified_name, "%s", tls.verified_name.c_str());
      std::snprintf(o.last_tls_failure, sizeof o.last_tls_failure, "%s", tls.last_failure.c_str());
      o.down = st.down;
      o.fallback = st.fallback;
      o.plaintext = st.plaintext;
      o.resumed = tls.resumed;
      o.connections_open = st.connections_open;
      o.outstanding = st.outstanding;
      o.srtt_us = st.srtt_us;
      o.queries = st.queries;
      o.answers = st.answers;
      o.timeouts = st.timeouts;
      o.connects = st.connects;
      o.connect_failures = st.connect_failures;
      o.handshake_failures = st.handshake_failures;
      o.plaintext_queries = st.plaintext_queries;
      o.latency = pool.latency(u);
    }
  }
  s->upstream_count = n;
}

// Sends each received frame where it belongs (net/flow_steering.h): its own go into `mine`;
// another worker's into that worker's inbox, a burst per worker; neighbour answers both.
class Steerer {
 public:
  explicit Steerer(WorkerContext& ctx) : ctx_(ctx), out_(ctx.workers), count_(ctx.workers, 0) {}

  // Frames received on port `port` (an index into ctx.ports).
  uint16_t sort(size_t port, rte_mbuf** pkts, uint16_t n, rte_mbuf** mine) {
    const SharedPort& p = (*ctx_.ports)[port];
    uint16_t keep = 0;
    for (uint16_t i = 0; i < n; ++i) {
      rte_mbuf* m = pkts[i];
      const net::Steering st = p.steering->steer(rte_pktmbuf_mtod(m, const uint8_t*), rte_pktmbuf_data_len(m));
      if (st.owner == net::FrameOwner::kWorker && st.worker != ctx_.queue) {
        pass(st.worker, m);
        ++stats.handed_off;
        continue;
      }
      if (st.owner == net::FrameOwner::kEveryone) {
        for (uint32_t w = 0; w < ctx_.workers; ++w) {
          if (w == ctx_.queue) continue;
          rte_mbuf* copy = rte_pktmbuf_copy(m, p.open.pool, 0, UINT32_MAX);
          if (copy == nullptr) {
            ++stats.no_mbuf;
            continue;
          }
          copy->port = m->port;  // the owner tells the port by it
          pass(w, copy);
          ++stats.copied;
        }
      }
      mine[keep++] = m;
    }
    for (uint32_t w = 0; w < ctx_.workers; ++w) flush(w);
    return keep;
  }

  HandoffStats stats;

 private:
  void pass(uint32_t w, rte_mbuf* m) {
    out_[w][count_[w]++] = m;
    if (count_[w] == MbufIo::kBurst) flush(w);
  }
  void flush(uint32_t w) {
    if (count_[w] == 0) return;
    const unsigned sent =
        rte_ring_mp_enqueue_burst((*ctx_.inboxes)[w], reinterpret_cast<void* const*>(out_[w].data()), count_[w], nullptr);
    for (unsigned i = sent; i < count_[w]; ++i) rte_pktmbuf_free(out_[w][i]);
    stats.ring_full += count_[w] - sent;
    count_[w] = 0;
  }

  WorkerContext& ctx_;
  std::vector<std::array<rte_mbuf*, MbufIo::kBurst>> out_;
  std::vector<uint16_t> count_;
};

// The run-to-completion loop of one worker lcore: its queue on every port.
int worker_main(void* arg) {
  WorkerContext& ctx = *static_cast<WorkerContext*>(arg);
  const std::vector<SharedPort>& ports = *ctx.ports;
  const uint64_t hz = rte_get_tsc_hz();
  const uint64_t start = rte_rdtsc();
  auto now_us = [&] { return (rte_rdtsc() - start) / (hz / 1'000'000) + 1'000'000; };
  std::vector<std::unique_ptr<MbufIo>> ios;
  std::vector<worker::PacketIo*> io_list;
  for (const SharedPort& p : ports) {
    ios.push_back(std::make_unique<MbufIo>(p.open.id, ctx.queue, p.open.pool, ctx.impairment, p.open.tx_checksum,
                                           p.open.rx_checksum));
    io_list.push_back(ios.back().get());
  }
  std::unique_ptr<worker::Worker> w;
  try {
    std::vector<size_t> indexes;
    std::vector<net::MacAddr> macs;
    for (size_t i = 0; i < ports.size(); ++i) {
      indexes.push_back(i);
      net::MacAddr mac;
      std::memcpy(mac.b, ports[i].open.mac.addr_bytes, 6);
      macs.push_back(mac);
    }
    worker::WorkerConfig wc = worker::make_worker_config(*ctx.config, indexes, macs, ctx.workers, ctx.secret);
    wc.worker_index = ctx.queue;
    wc.ticket_secret = *ctx.ticket_secret;
    wc.steering = ports[0].steering.get();
    for (size_t i = 1; i < ports.size(); ++i) wc.more_ports[i - 1].steering = ports[i].steering.get();
    w = std::make_unique<worker::Worker>(wc, io_list, now_us());
  } catch (const std::exception& e) {
    ctx.error = e.what();
    ctx.state.store(WorkerState::kFailed);
    return -1;
  }
  auto snapshot = std::make_unique<WorkerSnapshot>();
  if (ctx.queue == 0) w->announce(now_us());  // one gratuitous ARP per port, not one per worker
  for (auto& io : ios) io->flush();
  ctx.state.store(WorkerState::kRunning);
  Steerer steerer(ctx);
  const bool steering = ctx.workers > 1;
  uint64_t busy = 0, loops = 0, rx = 0, bursts = 0;
  uint64_t next_publish = 0;
  rte_mbuf* pkts[MbufIo::kBurst];
  rte_mbuf* taken_in[MbufIo::kBurst];
  auto receive = [&](rte_mbuf* m, size_t port, uint64_t now) {
    if (m->nb_segs != 1) {  // our frames fit one segment; a chained one is not ours
      rte_pktmbuf_free(m);
      return;
    }
    w->receive(reinterpret_cast<uint64_t>(m), now, port);
  };
  auto publish = [&] {
    fill_snapshot(*w, ios, snapshot.get());
    snapshot->busy_cycles = busy;
    snapshot->loops = loops;
    snapshot->rx_packets = rx;
    snapshot->rx_bursts = bursts;
    snapshot->handoff = steerer.stats;
    ctx.snapshot.publish(*snapshot);
  };
  while (!g_stop.load(std::memory_order_relaxed)) {
    uint64_t t0 = 0;
    uint32_t got = 0;
    uint64_t now = 0;
    for (size_t port = 0; port < ports.size(); ++port) {
      const uint16_t n = rte_eth_rx_burst(ports[port].open.id, ctx.queue, pkts, MbufIo::kBurst);
      if (n == 0) continue;
      if (got == 0) {
        t0 = rte_rdtsc();
        now = now_us();
        for (auto& io : ios) io->set_time(now);
      }
      got += n;
      const uint16_t mine = steering ? steerer.sort(port, pkts, n, pkts) : n;
      for (uint16_t i = 0; i < mine; ++i) receive(pkts[i], port, now);
    }
    if (steering) {
      // Frames other workers passed here (already steered): their port is in the mbuf.
      const unsigned k =
          rte_ring_sc_dequeue_burst(ctx.inbox, reinterpret_cast<void**>(taken_in), MbufIo::kBurst, nullptr);
      if (k != 0) {
        if (got == 0) {
          t0 = rte_rdtsc();
          now = now_us();
          for (auto& io : ios) io->set_time(now);
        }
        got += k;
        steerer.stats.taken_in += k;
        for (unsigned i = 0; i < k; ++i) receive(taken_in[i], (*ctx.port_index)[taken_in[i]->port], now);
      }
    }
    if (got == 0) {
      now = now_us();
      for (auto& io : ios) io->set_time(now);
    }
    w->poll(now);
    for (auto& io : ios) io->flush();
    ++loops;
    if (got != 0) {
      // Busy cycles: only iterations that had packets, so idle polling does not count.
      busy += rte_rdtsc() - t0;
      rx += got;
      ++bursts;
    }
    if (now >= next_publish) {
      publish();
      next_publish = now + 100'000;
    }
  }
  publish();
  w.reset();
  for (auto& io : ios) io->flush();
  ctx.state.store(WorkerState::kStopped);
  return 0;
}

// ---- telemetry: /dotgate/stats, /dotgate/upstreams --------------------------------------

bool read_all(std::vector<WorkerSnapshot>* out) {
  out->resize(g_workers.size());
  for (size_t i = 0; i < g_workers.size(); ++i) {
    if (!g_workers[i]->snapshot.read(&(*out)[i])) return false;
  }
  return true;
}

int telemetry_stats(const char*, const char*, rte_tel_data* d) {
  std::vector<WorkerSnapshot> ws;
  if (!read_all(&ws)) return -EAGAIN;
  rte_tel_data_start_dict(d);
  auto sum = [&](auto field) {
    uint64_t v = 0;
    for (const WorkerSnapshot& w : ws) v += field(w);
    return v;
  };
#define DOTGATE_STAT(name) \
  rte_tel_data_add_dict_u64(d, #name, sum([](const WorkerSnapshot& w) { return w.stats.name; }))
  DOTGATE_STAT(frames_in);
  DOTGATE_STAT(frames_out);
  DOTGATE_STAT(frames_dropped);
  DOTGATE_STAT(tx_no_buffer);
  DOTGATE_STAT(queries_udp);
  DOTGATE_STAT(queries_tcp);
  DOTGATE_STAT(queries_dot);
  DOTGATE_STAT(tls_own_records_upstream);
  DOTGATE_STAT(tls_own_records_clients);
  DOTGATE_STAT(tls_key_updates_sent);
  DOTGATE_STAT(tls_key_updates_received);
  DOTGATE_STAT(tls_late_tickets);
  DOTGATE_STAT(refused_acl);
  DOTGATE_STAT(dropped_acl);
  DOTGATE_STAT(rate_limited);
  DOTGATE_STAT(local_answers);
  DOTGATE_STAT(malformed);
  DOTGATE_STAT(cache_hits);
  DOTGATE_STAT(cache_misses);
  DOTGATE_STAT(stale_answers);
  DOTGATE_STAT(forwarded);
  DOTGATE_STAT(upstream_answers);
  DOTGATE_STAT(servfail);
  DOTGATE_STAT(waiting_full);
  DOTGATE_STAT(truncated);
#undef DOTGATE_STAT
  static const char* const kRcodes[16] = {"noerror", "formerr", "servfail", "nxdomain", "notimp", "refused",
                                          "yxdomain", "yxrrset", "nxrrset", "notauth", "notzone", "rcode11",
                                          "rcode12", "rcode13", "rcode14", "rcode15"};
  for (int r = 0; r < 16; ++r) {
    const std::string key = std::string("answers_") + kRcodes[r];
    rte_tel_data_add_dict_u64(d, key.c_str(), sum([r](const WorkerSnapshot& w) { return w.stats.rcode[r]; }));
  }
  // Drops by reason (src/net/drops.h names), those that happened.
  for (size_t r = 1; r < net::kDropCount; ++r) {
    const uint64_t n = sum([r](const WorkerSnapshot& w) { return w.stats.drops[r]; });
    if (n != 0) {
      rte_tel_data_add_dict_u64(d, ("drop_" + std::string(net::to_string(static_cast<net::Drop>(r)))).c_str(), n);
    }
  }
  rte_tel_data_add_dict_u64(d, "tcp_connections_opened",
                            sum([](const WorkerSnapshot& w) { return w.tcp4.opened + w.tcp6.opened; }));
  rte_tel_data_add_dict_u64(d, "tcp_retransmits",
                            sum([](const WorkerSnapshot& w) { return w.tcp4.retransmits + w.tcp6.retransmits; }));
  rte_tel_data_add_dict_u64(d, "tcp_syn_cookies_sent", sum([](const WorkerSnapshot& w) {
                              return w.tcp4.syn_cookies_sent + w.tcp6.syn_cookies_sent;
                            }));
  rte_tel_data_add_dict_u64(d, "cache_entries", sum([](const WorkerSnapshot& w) { return w.cache_entries; }));
  rte_tel_data_add_dict_u64(d, "rx_packets", sum([](const WorkerSnapshot& w) { return w.rx_packets; }));
  rte_tel_data_add_dict_u64(d, "tx_packets", sum([](const WorkerSnapshot& w) { return w.tx_packets; }));
  rte_tel_data_add_dict_u64(d, "tx_dropped", sum([](const WorkerSnapshot& w) { return w.tx_dropped; }));
  rte_tel_data_add_dict_u64(d, "busy_cycles", sum([](const WorkerSnapshot& w) { return w.busy_cycles; }));
  rte_tel_data_add_dict_u64(d, "handoff_passed", sum([](const WorkerSnapshot& w) { return w.handoff.handed_off; }));
  rte_tel_data_add_dict_u64(d, "handoff_copied", sum([](const WorkerSnapshot& w) { return w.handoff.copied; }));
  rte_tel_data_add_dict_u64(d, "handoff_ring_full", sum([](const WorkerSnapshot& w) { return w.handoff.ring_full; }));
  rte_tel_data_add_dict_u64(d, "handoff_no_mbuf", sum([](const WorkerSnapshot& w) { return w.handoff.no_mbuf; }));
  rte_tel_data_add_dict_u64(d, "tsc_hz", ws.empty() ? 0 : ws[0].tsc_hz);
  return 0;
}

int telemetry_upstreams(const char*, const char*, rte_tel_data* d) {
  std::vector<WorkerSnapshot> ws;
  if (!read_all(&ws) || ws.empty()) return -EAGAIN;
  rte_tel_data_start_dict(d);
  // Per upstream, summed over workers; the TLS facts of the first worker with a connection.
  for (uint32_t u = 0; u < ws[0].upstream_count; ++u) {
    rte_tel_data* o = rte_tel_data_alloc();
    if (o == nullptr) return -ENOMEM;
    rte_tel_data_start_dict(o);
    const UpstreamSnapshot* tls = nullptr;
    uint64_t queries = 0, answers = 0, timeouts = 0, connects = 0, cfail = 0, hfail = 0, plain = 0, open = 0;
    bool down = true;
    for (const WorkerSnapshot& w : ws) {
      const UpstreamSnapshot& s = w.upstreams[u];
      queries += s.queries;
      answers += s.answers;
      timeouts += s.timeouts;
      connects += s.connects;
      cfail += s.connect_failures;
      hfail += s.handshake_failures;
      plain += s.plaintext_queries;
      open += s.connections_open;
      down = down && s.down;
      if (tls == nullptr && s.tls_version[0] != 0) tls = &s;
    }
    rte_tel_data_add_dict_string(o, "upstream", ws[0].upstreams[u].name);
    rte_tel_data_add_dict_string(o, "state", down ? "down" : "up");
    rte_tel_data_add_dict_string(o, "role", ws[0].upstreams[u].fallback ? "fallback" : "primary");
    rte_tel_data_add_dict_string(o, "tls_version", tls ? tls->tls_version : "");
    rte_tel_data_add_dict_string(o, "tls_cipher", tls ? tls->tls_cipher : "");
    rte_tel_data_add_dict_string(o, "tls_record_layer", tls ? tls->tls_record_layer : "");
    rte_tel_data_add_dict_string(o, "verified_name", tls ? tls->verified_name : "");
    rte_tel_data_add_dict_u64(o, "resumed", tls && tls->resumed ? 1 : 0);
    rte_tel_data_add_dict_string(o, "last_tls_failure", ws[0].upstreams[u].last_tls_failure);
    rte_tel_data_add_dict_u64(o, "connections_open", open);
    rte_tel_data_add_dict_u64(o, "srtt_us", ws[0].upstreams[u].srtt_us);
    rte_tel_data_add_dict_u64(o, "queries", queries);
    rte_tel_data_add_dict_u64(o, "answers", answers);
    rte_tel_data_add_dict_u64(o, "timeouts", timeouts);
    rte_tel_data_add_dict_u64(o, "connects", connects);
    rte_tel_data_add_dict_u64(o, "connect_failures", cfail);
    rte_tel_data_add_dict_u64(o, "handshake_failures", hfail);
    rte_tel_data_add_dict_u64(o, "plaintext_queries", plain);
    // Telemetry keys allow letters, digits, '_', '-' and '.': the upstream's text goes in a field.
    const std::string key = "upstream" + std::to_string(u);
    rte_tel_data_add_dict_container(d, key.c_str(), o, 0);
  }
  return 0;
}

// Per worker: where it runs and what it did, to see the load spread and the hand-offs.
int telemetry_workers(const char*, const char*, rte_tel_data* d) {
  std::vector<WorkerSnapshot> ws;
  if (!read_all(&ws)) return -EAGAIN;
  rte_tel_data_start_dict(d);
  for (size_t i = 0; i < ws.size(); ++i) {
    const WorkerSnapshot& w = ws[i];
    rte_tel_data* o = rte_tel_data_alloc();
    if (o == nullptr) return -ENOMEM;
    rte_tel_data_start_dict(o);
    rte_tel_data_add_dict_u64(o, "lcore", g_workers[i]->lcore);
    rte_tel_data_add_dict_u64(o, "queue", g_workers[i]->queue);
    rte_tel_data_add_dict_u64(o, "rx_packets", w.rx_packets);
    rte_tel_data_add_dict_u64(o, "tx_packets", w.tx_packets);
    rte_tel_data_add_dict_u64(o, "busy_cycles", w.busy_cycles);
    rte_tel_data_add_dict_u64(o, "queries", w.stats.queries_udp + w.stats.queries_tcp + w.stats.queries_dot);
    rte_tel_data_add_dict_u64(o, "cache_hits", w.stats.cache_hits);
    rte_tel_data_add_dict_u64(o, "forwarded", w.stats.forwarded);
    rte_tel_data_add_dict_u64(o, "upstream_answers", w.stats.upstream_answers);
    rte_tel_data_add_dict_u64(o, "tcp_connections_opened", w.tcp4.opened + w.tcp6.opened);
    rte_tel_data_add_dict_u64(o, "handoff_passed", w.handoff.handed_off);
    rte_tel_data_add_dict_u64(o, "handoff_copied", w.handoff.copied);
    rte_tel_data_add_dict_u64(o, "handoff_taken_in", w.handoff.taken_in);
    rte_tel_data_add_dict_u64(o, "handoff_ring_full", w.handoff.ring_full);
    rte_tel_data_add_dict_u64(o, "handoff_no_mbuf", w.handoff.no_mbuf);
    rte_tel_data_add_dict_container(d, ("worker" + std::to_string(i)).c_str(), o, 0);
  }
  return 0;
}

void add_latency(rte_tel_data* d, const char* key, const util::LatencyHistogram& h) {
  rte_tel_data* o = rte_tel_data_alloc();
  if (o == nullptr) return;
  rte_tel_data_start_dict(o);
  rte_tel_data_add_dict_u64(o, "count", h.count());
  rte_tel_data_add_dict_u64(o, "p50_us", h.quantile(0.50));
  rte_tel_data_add_dict_u64(o, "p90_us", h.quantile(0.90));
  rte_tel_data_add_dict_u64(o, "p99_us", h.quantile(0.99));
  rte_tel_data_add_dict_u64(o, "p999_us", h.quantile(0.999));
  rte_tel_data_add_dict_container(d, key, o, 0);
}

// Client-visible latency of forwarded queries, and each upstream's response time.
int telemetry_latency(const char*, const char*, rte_tel_data* d) {
  std::vector<WorkerSnapshot> ws;
  if (!read_all(&ws) || ws.empty()) return -EAGAIN;
  rte_tel_data_start_dict(d);
  util::LatencyHistogram forwarded;
  for (const WorkerSnapshot& w : ws) forwarded.merge(w.forwarded_latency);
  add_latency(d, "forwarded", forwarded);
  for (uint32_t u = 0; u < ws[0].upstream_count; ++u) {
    util::LatencyHistogram h;
    for (const WorkerSnapshot& w : ws) h.merge(w.upstreams[u].latency);
    add_latency(d, ("upstream" + std::to_string(u)).c_str(), h);
  }
  return 0;
}

// DOTGATE_IMPAIRMENT="delay_ms=100,jitter_ms=10,reorder_pct=10,dup_pct=0,loss_pct=0,seed=1"
// puts the impairment stage on the TX path (tests and the lab; this kernel has no netem).
bool impairment_from_env(net::ImpairmentConfig* c, std::string* error) {
  const char* env = std::getenv("DOTGATE_IMPAIRMENT");
  if (env == nullptr || *env == 0) return false;
  std::string text = env;
  size_t at = 0;
  while (at <= text.size()) {
    const size_t end = std::min(text.find(',', at), text.size());
    const std::string item = text.substr(at, end - at);
    const size_t eq = item.find('=');
    const std::string key = item.substr(0, eq);
    char* rest = nullptr;
    const unsigned long v = eq == std::string::npos ? 0 : std::strtoul(item.c_str() + eq + 1, &rest, 10);
    if (eq == std::string::npos || rest == nullptr || *rest != 0) {
      *error = "DOTGATE_IMPAIRMENT: \"" + item + "\" is not key=number";
      return false;
    }
    if (key == "delay_ms") c->delay_us = static_cast<uint32_t>(v * 1000);
    else if (key == "jitter_ms") c->jitter_us = static_cast<uint32_t>(v * 1000);
    else if (key == "reorder_pct") c->reorder_ppm = static_cast<uint32_t>(v * 10'000);
    else if (key == "dup_pct") c->duplicate_ppm = static_cast<uint32_t>(v * 10'000);
    else if (key == "loss_pct") c->loss_ppm = static_cast<uint32_t>(v * 10'000);
    else if (key == "seed") c->seed = v;
    else {
      *error = "DOTGATE_IMPAIRMENT: unknown key \"" + key + "\"";
      return false;
    }
    at = end + 1;
  }
  c->reorder_us = std::max<uint32_t>(c->delay_us / 2, 5000);
  c->capacity = 16384;
  return true;
}

int usage(const char* program) {
  std::fprintf(stderr,
               "usage: %s --config FILE [-- EXTRA_EAL_ARGS...]\n"
               "       %s --check FILE\n",
               program, program);
  return 2;
}

int run(int argc, char** argv) {
  std::string config_path;
  bool check_only = false;
  std::vector<std::string> extra;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if ((a == "--config" || a == "--check") && i + 1 < argc) {
      config_path = argv[++i];
      check_only = a == "--check";
    } else if (a == "--") {
      extra.assign(argv + i + 1, argv + argc);
      break;
    } else {
      return usage(argv[0]);
    }
  }
  if (config_path.empty()) return usage(argv[0]);
  config::ConfigResult loaded = config::load_config(config_path);
  if (auto* errors = std::get_if<std::vector<config::ConfigError>>(&loaded)) {
    for (const config::ConfigError& e : *errors) std::fprintf(stderr, "%s\n", e.to_string().c_str());
    return 2;
  }
  const config::Config& c = std::get<config::Config>(loaded);
  if (check_only) {
    std::printf("%s: ok\n", config_path.c_str());
    return 0;
  }
  const std::vector<uint32_t> lcores = worker_lcores(c.dataplane);

  std::vector<std::string> eal = eal_arguments(c, argv[0], extra);
  std::vector<char*> eal_argv;
  for (std::string& s : eal) eal_argv.push_back(s.data());
  eal_argv.push_back(nullptr);
  if (rte_eal_init(static_cast<int>(eal.size()), eal_argv.data()) < 0) {
    std::fprintf(stderr,
                 "dotgate-dataplane: EAL initialisation failed: %s (hugepages reserved? another process with "
                 "file prefix \"%s\"? run as root)\n",
                 rte_strerror(rte_errno), c.dataplane.file_prefix.c_str());
    return 1;
  }
  std::signal(SIGTERM, on_signal);
  std::signal(SIGINT, on_signal);
  int status = 0;
  std::random_device rd;
  const uint32_t workers = static_cast<uint32_t>(lcores.size());
  // Every port, with a queue pair per worker; a random RSS key per port and start, so flows
  // cannot be crafted to pile onto one worker.
  static std::vector<SharedPort> ports(c.dataplane.ports.size());
  static std::array<uint8_t, RTE_MAX_ETHPORTS> port_index{};
  static std::vector<rte_ring*> inboxes;
  // DoT session tickets: one secret for all workers, new each start.
  static std::vector<uint8_t> ticket_secret(32);
  for (uint8_t& b : ticket_secret) b = static_cast<uint8_t>(rd());
  size_t opened = 0;
  auto fail = [&](const std::string& why, int code = 1) {
    std::fprintf(stderr, "dotgate-dataplane: %s\n", why.c_str());
    for (rte_ring* r : inboxes) rte_ring_free(r);
    for (size_t i = 0; i < opened; ++i) close_port(ports[i].open);
    rte_eal_cleanup();
    return code;
  };
  for (size_t i = 0; i < ports.size(); ++i) {
    std::vector<uint8_t> rss_key(net::kDefaultRssKey.size());
    for (uint8_t& b : rss_key) b = static_cast<uint8_t>(rd());
    if (const std::string err = open_port(c.dataplane.ports[i], static_cast<uint16_t>(workers), rss_key, &ports[i].open);
        !err.empty()) {
      return fail(err);
    }
    ++opened;
    ports[i].steering = std::make_unique<net::FlowSteering>(workers, ports[i].open.reta_size, rss_key.data(),
                                                            rss_key.size());
    port_index[ports[i].open.id] = static_cast<uint8_t>(i);
  }
  rte_pdump_init();

  static net::ImpairmentConfig impairment;
  std::string impairment_error;
  const bool impaired = impairment_from_env(&impairment, &impairment_error);
  if (!impairment_error.empty()) return fail(impairment_error, 2);
  if (impaired) {
    std::printf("dotgate-dataplane: impairment on TX: delay %u us, jitter %u us, reorder %u ppm, duplicate %u ppm, "
                "loss %u ppm\n",
                impairment.delay_us, impairment.jitter_us, impairment.reorder_ppm, impairment.duplicate_ppm,
                impairment.loss_ppm);
  }
  for (uint32_t i = 0; i < workers; ++i) {
    const uint32_t lcore = lcores[i];
    if (!rte_lcore_is_enabled(lcore) || lcore == rte_get_main_lcore()) {
      return fail("worker lcore " + std::to_string(lcore) + " is not an EAL worker lcore");
    }
    auto ctx = std::make_unique<WorkerContext>();
    ctx->config = &c;
    ctx->ports = &ports;
    ctx->port_index = &port_index;
    ctx->lcore = lcore;
    ctx->queue = static_cast<uint16_t>(i);
    ctx->workers = workers;
    ctx->secret = uint64_t{rd()} << 32 | rd();
    ctx->ticket_secret = &ticket_secret;
    ctx->impairment = impaired ? &impairment : nullptr;
    if (workers > 1) {
      // Multi-producer (any worker may pass a frame), single-consumer (its owner).
      const std::string name = "dg_inbox" + std::to_string(i);
      rte_ring* r = rte_ring_create(name.c_str(), kInboxSize, static_cast<int>(rte_lcore_to_socket_id(lcore)),
                                    RING_F_SC_DEQ);
      if (r == nullptr) return fail("cannot create the hand-off ring " + name + ": " + rte_strerror(rte_errno));
      inboxes.push_back(r);
      ctx->inbox = r;
    }
    ctx->inboxes = &inboxes;
    g_workers.push_back(std::move(ctx));
  }
  // The worker list is complete before telemetry (another thread) may read it.
  rte_telemetry_register_cmd("/dotgate/stats", telemetry_stats,
                             "Counters summed over the workers: queries, cache, answers by RCODE, drops. No parameters.");
  rte_telemetry_register_cmd("/dotgate/latency", telemetry_latency,
                             "Latency percentiles in microseconds: forwarded queries as clients see them, and each "
                             "upstream's response time. No parameters.");
  rte_telemetry_register_cmd("/dotgate/upstreams", telemetry_upstreams,
                             "Per upstream: state, counters, and the TLS version, cipher and verified name of its "
                             "open connection. No parameters.");
  rte_telemetry_register_cmd("/dotgate/workers", telemetry_workers,
                             "Per worker: lcore, queue, packets, busy cycles, queries, and frames handed to or taken "
                             "from other workers. No parameters.");
  for (const auto& ctx : g_workers) rte_eal_remote_launch(worker_main, ctx.get(), ctx->lcore);
  for (const auto& ctx : g_workers) {
    while (ctx->state.load() == WorkerState::kStarting) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    if (ctx->state.load() == WorkerState::kFailed) {
      std::fprintf(stderr, "dotgate-dataplane: worker on lcore %u: %s\n", ctx->lcore, ctx->error.c_str());
      status = 1;
    }
  }
  if (status == 0) {
    std::string where;
    for (const auto& ctx : g_workers) where += (where.empty() ? "" : ",") + std::to_string(ctx->lcore);
    for (size_t i = 0; i < ports.size(); ++i) {
      const OpenPort& port = ports[i].open;
      char mac[RTE_ETHER_ADDR_FMT_SIZE];
      rte_ether_format_addr(mac, sizeof mac, &port.mac);
      const char* spread = workers == 1            ? ""
                           : port.rss_programmed   ? ", RSS with our key and table"
                           : port.rss              ? ", RSS with the device's own key (hand-offs correct it)"
                                                   : ", no RSS: frames handed to their owner in software";
      const char* sums = port.tx_checksum && port.rx_checksum ? ", checksums offloaded both ways"
                         : port.tx_checksum                 ? ", checksums offloaded on transmit"
                         : port.rx_checksum                 ? ", checksums verified by the device on receive"
                                                            : "";
      std::printf("dotgate-dataplane: port %s (%s, %s) up, %u worker%s on lcore%s %s%s%s\n",
                  c.dataplane.ports[i].name.c_str(), port.driver.c_str(), mac, workers, workers == 1 ? "" : "s",
                  workers == 1 ? "" : "s", where.c_str(), spread, sums);
    }
    std::printf("dotgate-dataplane: ready\n");
    std::fflush(stdout);
    const auto all_running = [] {
      for (const auto& ctx : g_workers) {
        if (ctx->state.load() != WorkerState::kRunning) return false;
      }
      return true;
    };
    while (!g_stop.load() && all_running()) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  g_stop.store(true);
  rte_eal_mp_wait_lcore();
  std::vector<WorkerSnapshot> last;
  if (read_all(&last)) {
    worker::WorkerStats t;
    for (const WorkerSnapshot& w : last) {
      t.queries_udp += w.stats.queries_udp;
      t.queries_tcp += w.stats.queries_tcp;
      t.queries_dot += w.stats.queries_dot;
      t.cache_hits += w.stats.cache_hits;
      t.cache_misses += w.stats.cache_misses;
      t.servfail += w.stats.servfail;
    }
    std::printf("dotgate-dataplane: stopped; queries udp=%llu tcp=%llu dot=%llu, cache hits=%llu misses=%llu, "
                "servfail=%llu\n",
                static_cast<unsigned long long>(t.queries_udp), static_cast<unsigned long long>(t.queries_tcp),
                static_cast<unsigned long long>(t.queries_dot), static_cast<unsigned long long>(t.cache_hits),
                static_cast<unsigned long long>(t.cache_misses), static_cast<unsigned long long>(t.servfail));
  }
  // Frames still waiting in an inbox go back to the pool before the port closes.
  for (rte_ring* r : inboxes) {
    void* m = nullptr;
    while (rte_ring_dequeue(r, &m) == 0) rte_pktmbuf_free(static_cast<rte_mbuf*>(m));
    rte_ring_free(r);
  }
  rte_pdump_uninit();
  for (const SharedPort& p : ports) close_port(p.open);
  rte_eal_cleanup();
  return status;
}

}  // namespace
}  // namespace dotgate::dataplane

int main(int argc, char** argv) {
  try {
    return dotgate::dataplane::run(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "dotgate-dataplane: %s\n", e.what());
    return 1;
  }
}
