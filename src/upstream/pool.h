// One pool of upstream resolvers, as one worker sees it: which upstream and which of its
// persistent connections each forwarded query takes, pipelining with query IDs rewritten to
// be unique per connection and answers matched out of order (RFC 7766 6.2.1.1), per-attempt
// timeouts retried elsewhere within a total budget, passive health with exponential
// backoff, a fallback list used only when every primary is down, and the privacy mode.
//
// No I/O and no TLS here: the pool tells a Transport what to open, send and close, and
// hears back through on_connected / on_connect_failed / on_closed / on_message, so the
// same logic runs over the dataplane's TCP + TLS, over kernel sockets in tools, and over a
// simulated upstream in tests. Answers and failures go to an AnswerSink with the caller's
// token. One instance per worker core and pool: no locks; memory fixed at construction.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "dns/message.h"
#include "net/timer_wheel.h"
#include "upstream/upstream_spec.h"
#include "util/histogram.h"

namespace dotgate::upstream {

enum class Policy : uint8_t {
  kRoundRobin,        // each healthy upstream in turn
  kLeastOutstanding,  // the one with the fewest queries in flight (dnsdist's default)
  kLowestLatency,     // smallest smoothed response time, with a share sent to explore
  kOrdered,           // the first healthy one in the configured order
};

enum class Privacy : uint8_t {
  kStrict,         // TLS or nothing: no plaintext DNS ever leaves for an upstream
  kOpportunistic,  // plaintext TCP to the same upstream when its TLS fails (counted)
};

struct PoolConfig {
  std::vector<UpstreamSpec> upstreams;
  std::vector<UpstreamSpec> fallback;  // used only while every primary is down
  Policy policy = Policy::kLeastOutstanding;
  Privacy privacy = Privacy::kStrict;
  uint32_t connections_per_upstream = 2;
  uint32_t max_outstanding = 128;          // pipelined queries per connection
  uint32_t max_pending = 16384;            // queries in flight in this pool
  uint32_t query_timeout_us = 1'000'000;   // one attempt
  uint32_t total_budget_us = 3'000'000;    // every attempt together, then failure
  uint32_t idle_timeout_us = 30'000'000;   // unless the upstream's edns-tcp-keepalive says less
  uint32_t backoff_min_us = 250'000;       // reconnect delay after a failure, doubling...
  uint32_t backoff_max_us = 30'000'000;    // ...up to this, with +-25 % jitter
  uint32_t failures_to_down = 3;           // consecutive failures that mark an upstream down
  uint32_t timeouts_to_recycle = 3;        // unanswered queries in a row that retire a connection
  uint32_t explore_per_mille = 50;         // lowest-latency: queries sent to another upstream
  uint16_t pad_block = 128;                // RFC 8467 block padding of every query
  uint16_t edns_udp_size = 1232;
  uint64_t seed = 1;
};

using ConnId = uint32_t;

// What the pool asks of the layer that owns the sockets (or the TCP engine and TLS). None
// of these may call back into the pool; outcomes are reported on a later event.
class Transport {
 public:
  virtual ~Transport() = default;
  // Start connecting `conn` to `u`: TCP, then TLS verified against u's name and pins, unless
  // `tls` is false (opportunistic mode after TLS failed). Report the outcome with
  // on_connected / on_connect_failed.
  virtual void open(ConnId conn, const UpstreamSpec& u, bool tls) = 0;
  // One DNS message for an open connection; the transport adds the 2-byte length and may
  // hold it to coalesce a burst into one TLS record.
  virtual void send(ConnId conn, const uint8_t* msg, size_t len) = 0;
  // Close cleanly (close_notify, FIN). Final: no more events for this ConnId until the pool
  // opens it again.
  virtual void close(ConnId conn) = 0;
};

enum class Failure : uint8_t {
  kTimeout,     // every attempt within the budget went unanswered
  kNoUpstream,  // nothing could be reached (all down and in backoff)
  kOverloaded,  // too many queries in flight: shed
};

class AnswerSink {
 public:
  virtual ~AnswerSink() = default;
  // The upstream's answer, question matched; its ID is the pool's, not the client's. `r`
  // and `ttl_offsets` are its parse_response() results (r.ttl_count offsets), ready for
  // Cache::insert.
  virtual void on_answer(uint64_t token, const uint8_t* msg, size_t len, const dns::Response& r,
                         const uint16_t* ttl_offsets) = 0;
  virtual void on_failure(uint64_t token, Failure why) = 0;
};

// What the pool knows of one upstream, for status and metrics.
struct UpstreamStatus {
  UpstreamSpec spec;
  bool fallback = false;
  bool down = false;
  bool plaintext = false;          // opportunistic mode fell back to plaintext for it
  uint32_t consecutive_failures = 0;
  uint32_t connections_open = 0;   // connecting or ready
  uint32_t outstanding = 0;
  uint32_t srtt_us = 0;            // smoothed response time; 0: no sample yet
  uint64_t queries = 0;            // sent, retries included
  uint64_t answers = 0;
  uint64_t timeouts = 0;
  uint64_t connects = 0;           // opens asked of the transport
  uint64_t connect_failures = 0;   // TCP refused or timed out
  uint64_t handshake_failures = 0; // TLS failed (certificate, name, pin, protocol)
  uint64_t plaintext_queries = 0;
};

struct PoolStats {
  uint64_t submitted = 0;
  uint64_t answered = 0;
  uint64_t retries = 0;
  uint64_t backlogged = 0;         // waited for room on a connection
  uint64_t failed_timeout = 0;
  uint64_t failed_no_upstream = 0;
  uint64_t shed = 0;
  uint64_t malformed_answers = 0;  // not a DNS response
  uint64_t unmatched_answers = 0;  // an ID we have nothing in flight for
  uint64_t mismatched_answers = 0; // the right ID with another question: dropped
  uint64_t late_answers = 0;       // for a query already answered or failed
};

// The question to forward: a wire name (any case; it is sent as given), type, class, and
// the client's DO and CD bits. No ECS or other client option is ever forwarded.
struct Question {
  const uint8_t* name = nullptr;
  size_t name_len = 0;
  uint16_t qtype = 0;
  uint16_t qclass = 1;
  bool do_bit = false;
  bool cd_bit = false;
};

class UpstreamPool {
 public:
  UpstreamPool(const PoolConfig& config, Transport& transport, AnswerSink& sink, uint64_t now_us);
  ~UpstreamPool();
  UpstreamPool(const UpstreamPool&) = delete;
  UpstreamPool& operator=(const UpstreamPool&) = delete;

  // Forwards a question; its answer or failure reaches the sink later, with `token`. False
  // (and counted) when it is not forwarded at all: too many in flight, or no upstream can
  // be tried now; the caller answers SERVFAIL (or stale) itself.
  bool submit(const Question& q, uint64_t token, uint64_t now_us);

  void on_connected(ConnId conn, uint64_t now_us);
  // tls_failure: TCP connected but the TLS handshake or verification failed.
  void on_connect_failed(ConnId conn, bool tls_failure, uint64_t now_us);
  void on_closed(ConnId conn, uint64_t now_us);  // an open connection ended (either side)
  void on_message(ConnId conn, const uint8_t* msg, size_t len, uint64_t now_us);
  // Runs the timers due by now_us (attempt timeouts, idle connections).
  void advance(uint64_t now_us);

  size_t upstream_count() const noexcept;
  UpstreamStatus status(size_t upstream) const;
  // Its response times (query sent to answer matched), in microseconds.
  const util::LatencyHistogram& latency(size_t upstream) const;
  const PoolStats& stats() const noexcept { return stats_; }
  size_t in_flight() const noexcept { return in_flight_; }
  size_t connection_count() const noexcept;  // ConnIds: 0 .. count-1
  // The upstream a ConnId belongs to (fixed for the pool's life).
  size_t connection_upstream(ConnId conn) const noexcept;
  uint32_t connection_outstanding(ConnId conn) const noexcept;  // queries in flight on it

 private:
  struct Upstream;
  struct Conn;
  struct Pending;
  struct Slot;
  struct Wait;

  bool dispatch(uint32_t p, uint64_t now_us);
  bool place(uint32_t p, uint64_t now_us);
  bool reachable(uint64_t now_us) const noexcept;
  void drain_backlog(uint64_t now_us);
  int choose_upstream(const Pending& x, uint64_t now_us);
  bool healthy(const Upstream& u, uint64_t now_us) const noexcept;
  bool available(uint32_t upstream, uint64_t now_us) const noexcept;
  bool has_open_room(uint32_t upstream) const noexcept;
  Conn* choose_connection(uint32_t upstream, uint64_t now_us);
  void open(uint32_t conn, uint64_t now_us);
  void transmit(uint32_t conn, uint32_t p, uint64_t now_us);
  void release_slot(uint32_t conn, uint32_t slot);
  void finish(uint32_t p);
  void fail(uint32_t p, Failure why);
  void retry_or_fail(uint32_t p, uint64_t now_us);
  void on_attempt_timeout(uint32_t p, uint64_t now_us);
  void connection_lost(uint32_t conn, uint64_t now_us);
  void compact_waits(uint32_t conn);
  void note_failure(Upstream& u, uint64_t now_us);
  void arm_idle(uint32_t conn, uint64_t now_us);
  uint64_t next_random() noexcept;

  PoolConfig config_;
  Transport& transport_;
  AnswerSink& sink_;
  std::vector<Upstream> upstreams_;
  std::vector<Conn> conns_;
  std::vector<Pending> pending_;
  std::vector<uint32_t> free_pending_;
  std::vector<Slot> slots_;  // each connection's in-flight table, side by side
  std::vector<Wait> waits_;  // each connection's queries waiting for it to connect
  std::vector<Wait> moved_;      // scratch: queries a lost connection hands on
  std::vector<Wait> backlog_;    // ring: queries waiting for room on any connection
  size_t backlog_head_ = 0;
  size_t backlog_size_ = 0;
  uint32_t slots_per_conn_ = 0;
  net::TimerWheel timers_;   // ids: pending attempts, then connection idle timers
  uint32_t rr_cursor_ = 0;
  uint64_t rng_;
  size_t in_flight_ = 0;
  PoolStats stats_;
};

}  // namespace dotgate::upstream
