#include "upstream/pool.h"

#include <algorithm>
#include <cstring>
#include <stdexcept>

#include "dns/builder.h"
#include "dns/wire.h"
#include "util/byte_order.h"
#include "util/hash.h"

namespace dotgate::upstream {

namespace {

// A forwarded query: header, a name of at most 255 bytes, type and class, an OPT record
// and padding to the next 128-byte block.
constexpr size_t kMaxQuery = 512;
constexpr uint32_t kNone = UINT32_MAX;
constexpr size_t kMaxUpstreams = 64;  // the per-query "tried" set is one 64-bit mask
constexpr size_t kMaxTtlOffsets = 256;  // the cache stores answers of at most 255 records

uint64_t tick_of(uint64_t us) { return us / 1000; }  // the timer wheel runs in ms

enum class ConnState : uint8_t { kClosed, kConnecting, kReady };

}  // namespace

struct UpstreamPool::Upstream {
  UpstreamSpec spec;
  bool fallback = false;
  uint32_t consecutive_failures = 0;
  uint64_t retry_at_us = 0;  // no new connection before this (backoff after a failure)
  uint32_t backoff_us = 0;
  bool plaintext = false;     // opportunistic mode: its TLS failed, plaintext until...
  uint64_t plaintext_until_us = 0;
  uint32_t srtt_us = 0;
  uint32_t outstanding = 0;
  uint32_t idle_timeout_us = 0;  // from its edns-tcp-keepalive; 0: the configured one
  uint64_t last_answer_us = 0;
  util::LatencyHistogram latency;
  uint64_t queries = 0, answers = 0, timeouts = 0, connects = 0, connect_failures = 0, handshake_failures = 0,
           plaintext_queries = 0;
};

struct UpstreamPool::Conn {
  uint32_t upstream = 0;
  ConnState state = ConnState::kClosed;
  bool plaintext = false;
  uint32_t outstanding = 0;  // slots in use
  uint32_t unanswered = 0;   // attempts on it that timed out in a row
  uint32_t next_slot = 0;
  uint32_t waiting = 0;      // entries in its wait list (some may be stale)
  uint64_t last_answer_us = 0;
};

struct UpstreamPool::Slot {
  bool used = false;
  uint16_t id = 0;
  uint32_t pending = kNone;
  uint32_t gen = 0;
  uint64_t sent_us = 0;
};

struct UpstreamPool::Pending {
  bool live = false;
  uint32_t gen = 0;
  uint64_t token = 0;
  uint64_t deadline_us = 0;  // the end of the budget
  uint64_t tried = 0;        // a bit per upstream already tried
  uint64_t attempt_us = 0;   // when the current attempt was dispatched
  uint32_t conn = kNone;     // the current attempt's connection
  uint32_t slot = kNone;     // ... and slot there; kNone while waiting for it to connect
  bool in_backlog = false;   // waiting for any connection to have room
  uint32_t backlog_seq = 0;  // names its current backlog entry; older ones are stale
  uint16_t len = 0;
  uint16_t qname_len = 0;
  uint8_t query[kMaxQuery];
};

// A query waiting for its connection to finish connecting; stale once the query moved on.
struct UpstreamPool::Wait {
  uint32_t pending = kNone;
  uint32_t gen = 0;
};

UpstreamPool::UpstreamPool(const PoolConfig& config, Transport& transport, AnswerSink& sink, uint64_t now_us)
    : config_(config),
      transport_(transport),
      sink_(sink),
      timers_(config.max_pending + static_cast<uint32_t>((config.upstreams.size() + config.fallback.size()) *
                                                         std::max<uint32_t>(config.connections_per_upstream, 1)),
              1024, tick_of(now_us)),
      rng_(util::mix64(config.seed, 0x5eed5eed5eedULL) | 1) {
  const size_t total = config.upstreams.size() + config.fallback.size();
  if (config.upstreams.empty()) throw std::invalid_argument("an upstream pool needs at least one upstream");
  if (total > kMaxUpstreams) throw std::invalid_argument("an upstream pool holds at most 64 upstreams");
  if (config.max_outstanding == 0 || config.max_outstanding > 16384) {
    throw std::invalid_argument("max_outstanding must be 1..16384");
  }
  if (config.max_pending == 0) throw std::invalid_argument("max_pending must be at least 1");
  config_.connections_per_upstream = std::max<uint32_t>(config.connections_per_upstream, 1);
  upstreams_.resize(total);
  for (size_t i = 0; i < total; ++i) {
    const bool fallback = i >= config.upstreams.size();
    upstreams_[i].spec = fallback ? config.fallback[i - config.upstreams.size()] : config.upstreams[i];
    upstreams_[i].fallback = fallback;
  }
  conns_.resize(total * config_.connections_per_upstream);
  for (size_t i = 0; i < conns_.size(); ++i) conns_[i].upstream = static_cast<uint32_t>(i / config_.connections_per_upstream);
  // Twice the pipelining depth, so a free slot is found quickly and an ID's low bits name it.
  slots_per_conn_ = 2;
  while (slots_per_conn_ < 2 * config.max_outstanding) slots_per_conn_ <<= 1;
  slots_.resize(conns_.size() * slots_per_conn_);
  waits_.resize(conns_.size() * config.max_outstanding);
  moved_.reserve(slots_per_conn_ + config.max_outstanding);
  pending_.resize(config.max_pending);
  backlog_.resize(config.max_pending);
  free_pending_.reserve(config.max_pending);
  for (uint32_t i = config.max_pending; i-- > 0;) free_pending_.push_back(i);
}

UpstreamPool::~UpstreamPool() = default;

uint64_t UpstreamPool::next_random() noexcept {
  rng_ ^= rng_ << 13;
  rng_ ^= rng_ >> 7;
  rng_ ^= rng_ << 17;
  return rng_;
}

size_t UpstreamPool::connection_upstream(ConnId conn) const noexcept { return conns_[conn].upstream; }
uint32_t UpstreamPool::connection_outstanding(ConnId conn) const noexcept { return conns_[conn].outstanding; }
size_t UpstreamPool::upstream_count() const noexcept { return upstreams_.size(); }
size_t UpstreamPool::connection_count() const noexcept { return conns_.size(); }

bool UpstreamPool::submit(const Question& q, uint64_t token, uint64_t now_us) {
  if (free_pending_.empty()) {
    ++stats_.shed;
    return false;
  }
  const uint32_t p = free_pending_.back();
  Pending& x = pending_[p];
  dns::EdnsParams edns;
  edns.udp_size = config_.edns_udp_size;
  edns.do_bit = q.do_bit;
  const uint16_t flags = static_cast<uint16_t>(dns::kFlagRD | (q.cd_bit ? dns::kFlagCD : 0));
  const size_t len = dns::build_query(x.query, sizeof x.query, 0, flags, q.name, q.name_len, q.qtype, q.qclass,
                                      &edns, config_.pad_block);
  if (len == 0) return false;  // not a name a query can carry
  free_pending_.pop_back();
  x.live = true;
  x.token = token;
  x.deadline_us = now_us + config_.total_budget_us;
  x.tried = 0;
  x.conn = x.slot = kNone;
  x.len = static_cast<uint16_t>(len);
  x.qname_len = static_cast<uint16_t>(q.name_len);
  ++in_flight_;
  ++stats_.submitted;
  if (!dispatch(p, now_us)) {
    ++stats_.failed_no_upstream;
    finish(p);
    return false;
  }
  return true;
}

bool UpstreamPool::healthy(const Upstream& u, uint64_t now_us) const noexcept {
  // A down upstream gets another chance (a probe) once its backoff has run out.
  return u.consecutive_failures < config_.failures_to_down || now_us >= u.retry_at_us;
}

bool UpstreamPool::has_open_room(uint32_t ui) const noexcept {
  const uint32_t first = ui * config_.connections_per_upstream;
  for (uint32_t k = first; k < first + config_.connections_per_upstream; ++k) {
    const Conn& c = conns_[k];
    if ((c.state == ConnState::kReady && c.outstanding < config_.max_outstanding) ||
        (c.state == ConnState::kConnecting && c.waiting < config_.max_outstanding)) {
      return true;
    }
  }
  return false;
}

bool UpstreamPool::available(uint32_t ui, uint64_t now_us) const noexcept {
  const Upstream& u = upstreams_[ui];
  if (!healthy(u, now_us)) return false;
  const uint32_t first = ui * config_.connections_per_upstream;
  for (uint32_t k = first; k < first + config_.connections_per_upstream; ++k) {
    const Conn& c = conns_[k];
    switch (c.state) {
      case ConnState::kReady:
        if (c.outstanding < config_.max_outstanding) return true;
        break;
      case ConnState::kConnecting:
        if (c.waiting < config_.max_outstanding) return true;
        break;
      case ConnState::kClosed:
        if (now_us >= u.retry_at_us) return true;
        break;
    }
  }
  return false;
}

int UpstreamPool::choose_upstream(const Pending& x, uint64_t now_us) {
  const uint32_t primaries = static_cast<uint32_t>(config_.upstreams.size());
  const uint32_t total = static_cast<uint32_t>(upstreams_.size());
  // The fallback list only while no primary can take the query.
  uint32_t begin = 0, end = primaries;
  bool any = false;
  for (uint32_t u = 0; u < primaries && !any; ++u) any = available(u, now_us);
  if (!any) {
    begin = primaries;
    end = total;
  }
  uint32_t candidates[kMaxUpstreams];
  uint32_t n = 0;
  for (int pass = 0; pass < 2 && n == 0; ++pass) {  // untried ones first, then any
    for (uint32_t u = begin; u < end; ++u) {
      if ((pass == 0 && (x.tried >> u & 1)) || !available(u, now_us)) continue;
      candidates[n++] = u;
    }
  }
  if (n == 0) {
    // Everything is down: rather than fail the query, use a connection still open to one
    // of them (the probe that may prove it alive). No new connection before its backoff.
    for (uint32_t u = 0; u < total; ++u) {
      if (has_open_room(u)) candidates[n++] = u;
    }
  }
  if (n == 0) return -1;
  switch (config_.policy) {
    case Policy::kOrdered:
      return static_cast<int>(candidates[0]);
    case Policy::kRoundRobin:
      return static_cast<int>(candidates[rr_cursor_++ % n]);
    case Policy::kLeastOutstanding: {
      // Ties go round the candidates, so an idle pool spreads its queries.
      const uint32_t start = rr_cursor_++ % n;
      uint32_t best = candidates[start];
      for (uint32_t i = 1; i < n; ++i) {
        const uint32_t u = candidates[(start + i) % n];
        if (upstreams_[u].outstanding < upstreams_[best].outstanding) best = u;
      }
      return static_cast<int>(best);
    }
    case Policy::kLowestLatency: {
      // A share of queries explores, so a recovered or newly fast upstream is noticed; an
      // upstream without a sample yet counts as fastest, so each gets measured.
      if (n > 1 && next_random() % 1000 < config_.explore_per_mille) {
        return static_cast<int>(candidates[next_random() % n]);
      }
      uint32_t best = candidates[0];
      for (uint32_t i = 1; i < n; ++i) {
        if (upstreams_[candidates[i]].srtt_us < upstreams_[best].srtt_us) best = candidates[i];
      }
      return static_cast<int>(best);
    }
  }
  return -1;
}

void UpstreamPool::open(uint32_t k, uint64_t now_us) {
  Conn& c = conns_[k];
  Upstream& u = upstreams_[c.upstream];
  c.state = ConnState::kConnecting;
  c.outstanding = c.unanswered = c.waiting = 0;
  c.plaintext = config_.privacy == Privacy::kOpportunistic && u.plaintext && now_us < u.plaintext_until_us;
  ++u.connects;
  transport_.open(k, u.spec, !c.plaintext);
}

UpstreamPool::Conn* UpstreamPool::choose_connection(uint32_t ui, uint64_t now_us) {
  const Upstream& u = upstreams_[ui];
  const uint32_t first = ui * config_.connections_per_upstream;
  Conn* ready = nullptr;
  Conn* connecting = nullptr;
  uint32_t closed = kNone;
  for (uint32_t k = first; k < first + config_.connections_per_upstream; ++k) {
    Conn& c = conns_[k];
    if (c.state == ConnState::kReady && c.outstanding < config_.max_outstanding &&
        (ready == nullptr || c.outstanding < ready->outstanding)) {
      ready = &c;
    } else if (c.state == ConnState::kConnecting && c.waiting < config_.max_outstanding &&
               (connecting == nullptr || c.waiting < connecting->waiting)) {
      connecting = &c;
    } else if (c.state == ConnState::kClosed && closed == kNone) {
      closed = k;
    }
  }
  const bool may_open = closed != kNone && now_us >= u.retry_at_us;
  // A busy ready connection still takes the query, while another one opens beside it: the
  // pool grows to its N connections under load without making anyone wait.
  if (ready != nullptr) {
    if (ready->outstanding > 0 && may_open && connecting == nullptr) open(closed, now_us);
    return ready;
  }
  if (connecting != nullptr) return connecting;
  if (may_open) {
    open(closed, now_us);
    return &conns_[closed];
  }
  return nullptr;
}

bool UpstreamPool::dispatch(uint32_t p, uint64_t now_us) {
  Pending& x = pending_[p];
  x.attempt_us = now_us;
  if (!place(p, now_us)) {
    // Every connection that could take it is full: it waits in the backlog for the first
    // free place, unless nothing at all can be reached.
    if (!reachable(now_us)) return false;
    if (!x.in_backlog) {
      x.in_backlog = true;
      backlog_[(backlog_head_ + backlog_size_++) % backlog_.size()] = Wait{p, ++x.backlog_seq};
      ++stats_.backlogged;
    }
  }
  timers_.schedule(p, tick_of(std::min(now_us + config_.query_timeout_us, x.deadline_us)) + 1);
  return true;
}

bool UpstreamPool::reachable(uint64_t now_us) const noexcept {
  for (uint32_t ui = 0; ui < upstreams_.size(); ++ui) {
    const Upstream& u = upstreams_[ui];
    if (!healthy(u, now_us)) continue;
    if (now_us >= u.retry_at_us) return true;
    const uint32_t first = ui * config_.connections_per_upstream;
    for (uint32_t k = first; k < first + config_.connections_per_upstream; ++k) {
      if (conns_[k].state != ConnState::kClosed) return true;
    }
  }
  return false;
}

void UpstreamPool::drain_backlog(uint64_t now_us) {
  while (backlog_size_ != 0) {
    const Wait w = backlog_[backlog_head_];
    Pending& x = pending_[w.pending];
    if (x.live && x.in_backlog && x.backlog_seq == w.gen && !place(w.pending, now_us)) return;
    backlog_head_ = (backlog_head_ + 1) % backlog_.size();
    --backlog_size_;
  }
}

bool UpstreamPool::place(uint32_t p, uint64_t now_us) {
  Pending& x = pending_[p];
  const int ui = choose_upstream(x, now_us);
  if (ui < 0) return false;
  Conn* c = choose_connection(static_cast<uint32_t>(ui), now_us);
  if (c == nullptr) return false;  // available() promised one; defensive
  x.in_backlog = false;
  x.tried |= uint64_t{1} << ui;
  const uint32_t k = static_cast<uint32_t>(c - conns_.data());
  if (c->state == ConnState::kReady) {
    transmit(k, p, now_us);
  } else {
    x.conn = k;
    x.slot = kNone;
    waits_[size_t{k} * config_.max_outstanding + c->waiting++] = Wait{p, x.gen};
  }
  return true;
}

void UpstreamPool::transmit(uint32_t k, uint32_t p, uint64_t now_us) {
  Conn& c = conns_[k];
  Upstream& u = upstreams_[c.upstream];
  Pending& x = pending_[p];
  const uint32_t mask = slots_per_conn_ - 1;
  Slot* base = &slots_[size_t{k} * slots_per_conn_];
  uint32_t si = c.next_slot & mask;
  while (base[si].used) si = (si + 1) & mask;  // outstanding < slots / 2: one is near
  c.next_slot = si + 1;
  // The low bits name the slot; the rest are random, so IDs do not repeat in order.
  const uint16_t id = static_cast<uint16_t>((next_random() & ~uint64_t{mask}) | si);
  base[si] = Slot{true, id, p, x.gen, now_us};
  util::store_be16(x.query, id);
  x.conn = k;
  x.slot = si;
  ++c.outstanding;
  ++u.outstanding;
  ++u.queries;
  if (c.plaintext) ++u.plaintext_queries;
  timers_.cancel(config_.max_pending + k);  // not idle any more
  transport_.send(k, x.query, x.len);
}

void UpstreamPool::release_slot(uint32_t k, uint32_t si) {
  Conn& c = conns_[k];
  slots_[size_t{k} * slots_per_conn_ + si].used = false;
  --c.outstanding;
  --upstreams_[c.upstream].outstanding;
}

void UpstreamPool::finish(uint32_t p) {
  Pending& x = pending_[p];
  x.live = false;
  x.in_backlog = false;
  ++x.gen;
  timers_.cancel(p);
  free_pending_.push_back(p);
  --in_flight_;
}

void UpstreamPool::fail(uint32_t p, Failure why) {
  const uint64_t token = pending_[p].token;
  finish(p);
  (why == Failure::kTimeout ? stats_.failed_timeout : stats_.failed_no_upstream)++;
  sink_.on_failure(token, why);
}

void UpstreamPool::retry_or_fail(uint32_t p, uint64_t now_us) {
  Pending& x = pending_[p];
  if (!x.live) return;
  x.conn = x.slot = kNone;
  if (now_us >= x.deadline_us) {
    fail(p, Failure::kTimeout);
    return;
  }
  ++stats_.retries;
  if (!dispatch(p, now_us)) fail(p, Failure::kNoUpstream);
}

void UpstreamPool::note_failure(Upstream& u, uint64_t now_us) {
  ++u.consecutive_failures;
  u.backoff_us = u.backoff_us == 0 ? config_.backoff_min_us : std::min(u.backoff_us * 2, config_.backoff_max_us);
  // +-25 % jitter, so workers and appliances do not reconnect in step.
  const uint64_t jitter = u.backoff_us / 2 == 0 ? 0 : next_random() % (u.backoff_us / 2);
  u.retry_at_us = now_us + u.backoff_us - u.backoff_us / 4 + jitter;
}

void UpstreamPool::compact_waits(uint32_t k) {
  Conn& c = conns_[k];
  Wait* w = &waits_[size_t{k} * config_.max_outstanding];
  uint32_t kept = 0;
  for (uint32_t i = 0; i < c.waiting; ++i) {
    const Pending& x = pending_[w[i].pending];
    if (x.live && x.gen == w[i].gen && x.conn == k && x.slot == kNone) w[kept++] = w[i];
  }
  c.waiting = kept;
}

void UpstreamPool::on_connected(ConnId k, uint64_t now_us) {
  Conn& c = conns_[k];
  if (c.state != ConnState::kConnecting) return;
  Upstream& u = upstreams_[c.upstream];
  c.state = ConnState::kReady;
  u.consecutive_failures = 0;
  u.backoff_us = 0;
  const Wait* w = &waits_[size_t{k} * config_.max_outstanding];
  const uint32_t n = c.waiting;
  c.waiting = 0;
  for (uint32_t i = 0; i < n; ++i) {
    const Pending& x = pending_[w[i].pending];
    if (x.live && x.gen == w[i].gen && x.conn == k && x.slot == kNone) transmit(k, w[i].pending, now_us);
  }
  drain_backlog(now_us);
  if (c.outstanding == 0) arm_idle(k, now_us);
}

void UpstreamPool::on_connect_failed(ConnId k, bool tls_failure, uint64_t now_us) {
  Conn& c = conns_[k];
  if (c.state != ConnState::kConnecting) return;
  Upstream& u = upstreams_[c.upstream];
  if (tls_failure) {
    ++u.handshake_failures;
  } else {
    ++u.connect_failures;
  }
  if (tls_failure && config_.privacy == Privacy::kOpportunistic && !c.plaintext) {
    // RFC 7858 opportunistic profile: plaintext to the same upstream, for a while; TLS is
    // tried again after the longest backoff.
    u.plaintext = true;
    u.plaintext_until_us = now_us + config_.backoff_max_us;
  } else {
    note_failure(u, now_us);
  }
  connection_lost(k, now_us);
}

void UpstreamPool::on_closed(ConnId k, uint64_t now_us) {
  Conn& c = conns_[k];
  if (c.state == ConnState::kConnecting) {
    on_connect_failed(k, false, now_us);
    return;
  }
  connection_lost(k, now_us);
}

void UpstreamPool::connection_lost(uint32_t k, uint64_t now_us) {
  Conn& c = conns_[k];
  if (c.state == ConnState::kClosed) return;
  c.state = ConnState::kClosed;
  timers_.cancel(config_.max_pending + k);
  // Queries whose current attempt was on it move elsewhere, within their budget, once the
  // connection is wholly released (a retry may reopen this very connection).
  moved_.clear();
  Slot* base = &slots_[size_t{k} * slots_per_conn_];
  for (uint32_t si = 0; si < slots_per_conn_; ++si) {
    if (!base[si].used) continue;
    const Slot s = base[si];
    release_slot(k, si);
    const Pending& x = pending_[s.pending];
    if (x.live && x.gen == s.gen && x.conn == k && x.slot == si) moved_.push_back(Wait{s.pending, s.gen});
  }
  // A query may sit in the wait list more than once (its attempt timed out and was queued
  // on this connection again): taking it off the connection makes it move only once.
  const Wait* w = &waits_[size_t{k} * config_.max_outstanding];
  for (uint32_t i = 0; i < c.waiting; ++i) {
    Pending& x = pending_[w[i].pending];
    if (x.live && x.gen == w[i].gen && x.conn == k && x.slot == kNone) {
      x.conn = kNone;
      moved_.push_back(w[i]);
    }
  }
  c.waiting = 0;
  // Copied out: a retry that fails reaches the sink, which may submit again (and reuse a
  // pending entry: the generation tells the queries apart).
  Wait local[64];
  while (!moved_.empty()) {
    const size_t n = std::min(moved_.size(), std::size(local));
    std::copy(moved_.end() - static_cast<std::ptrdiff_t>(n), moved_.end(), local);
    moved_.resize(moved_.size() - n);
    for (size_t i = 0; i < n; ++i) {
      if (pending_[local[i].pending].gen == local[i].gen) retry_or_fail(local[i].pending, now_us);
    }
  }
}

void UpstreamPool::arm_idle(uint32_t k, uint64_t now_us) {
  const Upstream& u = upstreams_[conns_[k].upstream];
  const uint32_t timeout = u.idle_timeout_us != 0 ? std::min(u.idle_timeout_us, config_.idle_timeout_us)
                                                  : config_.idle_timeout_us;
  timers_.schedule(config_.max_pending + k, tick_of(now_us + timeout) + 1);
}

void UpstreamPool::on_message(ConnId k, const uint8_t* msg, size_t len, uint64_t now_us) {
  Conn& c = conns_[k];
  if (c.state != ConnState::kReady) {
    ++stats_.unmatched_answers;
    return;
  }
  dns::Response r;
  uint16_t ttl_offsets[kMaxTtlOffsets];
  if (dns::parse_response(msg, len, &r, ttl_offsets, kMaxTtlOffsets) != dns::ParseError::kOk) {
    ++stats_.malformed_answers;
    return;
  }
  const uint32_t si = r.id & (slots_per_conn_ - 1);
  Slot& s = slots_[size_t{k} * slots_per_conn_ + si];
  if (!s.used || s.id != r.id) {
    ++stats_.unmatched_answers;
    return;
  }
  Upstream& u = upstreams_[c.upstream];
  if (r.has_keepalive) {
    // RFC 7828: the upstream's idle timeout, in units of 100 ms.
    u.idle_timeout_us = std::max<uint32_t>(uint32_t{r.keepalive_timeout} * 100'000, 1000);
  }
  const uint32_t p = s.pending;
  Pending& x = pending_[p];
  if (!x.live || x.gen != s.gen) {  // answered already (by another attempt) or given up
    ++stats_.late_answers;
    release_slot(k, si);
    drain_backlog(now_us);
    if (c.state == ConnState::kReady && c.outstanding == 0) arm_idle(k, now_us);
    return;
  }
  // RFC 7766 7: the question must be the one asked, byte for byte as it was sent.
  const size_t qend = dns::kHeaderSize + x.qname_len + 4;
  if (r.qdcount != 1 || r.question_end != qend ||
      std::memcmp(msg + dns::kHeaderSize, x.query + dns::kHeaderSize, x.qname_len + 4) != 0) {
    ++stats_.mismatched_answers;
    return;
  }
  const uint32_t rtt = static_cast<uint32_t>(std::min<uint64_t>(now_us - s.sent_us, UINT32_MAX));
  u.srtt_us = u.srtt_us == 0 ? rtt : u.srtt_us - u.srtt_us / 8 + rtt / 8;
  u.latency.record(rtt);
  ++u.answers;
  u.consecutive_failures = 0;
  u.last_answer_us = c.last_answer_us = now_us;
  c.unanswered = 0;
  release_slot(k, si);
  const uint64_t token = x.token;
  finish(p);
  ++stats_.answered;
  drain_backlog(now_us);
  if (c.state == ConnState::kReady && c.outstanding == 0) arm_idle(k, now_us);
  sink_.on_answer(token, msg, len, r, ttl_offsets);
}

void UpstreamPool::advance(uint64_t now_us) {
  timers_.advance(tick_of(now_us), [&](uint32_t id) {
    if (id < config_.max_pending) {
      on_attempt_timeout(id, now_us);
      return;
    }
    const uint32_t k = id - config_.max_pending;
    Conn& c = conns_[k];
    if (c.state == ConnState::kReady && c.outstanding == 0) {  // idle: close it cleanly
      c.state = ConnState::kClosed;
      transport_.close(k);
    }
  });
}

void UpstreamPool::on_attempt_timeout(uint32_t p, uint64_t now_us) {
  Pending& x = pending_[p];
  if (!x.live) return;
  const uint32_t k = x.conn;
  if (k != kNone && x.slot == kNone) {
    // It never left: its connection is still connecting (a lost SYN costs a second). That
    // is the connection's delay, not the upstream's silence; the connect reports its own
    // failure. Try elsewhere, and take it off the wait list so the list keeps its room.
    x.conn = kNone;
    compact_waits(k);
    retry_or_fail(p, now_us);
    return;
  }
  if (k != kNone) {
    Conn& c = conns_[k];
    Upstream& u = upstreams_[c.upstream];
    ++u.timeouts;
    u.srtt_us = std::max(u.srtt_us, config_.query_timeout_us);  // a silent upstream loses preference
    // Only silence counts against health: an upstream (or connection) that answered other
    // queries since this one left is alive, and this timeout is one lost query or a TCP
    // stream waiting on a retransmission, whose queries all time out together.
    const bool upstream_silent = u.last_answer_us <= x.attempt_us;
    const bool conn_silent = c.last_answer_us <= x.attempt_us;
    if (upstream_silent) note_failure(u, now_us);
    retry_or_fail(p, now_us);
    // A connection that answers nothing is retired (its other queries move on), like a
    // stuck TCP stream or an upstream that stopped reading.
    if (c.state == ConnState::kReady && conn_silent && ++c.unanswered >= config_.timeouts_to_recycle) {
      transport_.close(k);
      connection_lost(k, now_us);
    }
    return;
  }
  retry_or_fail(p, now_us);
}

const util::LatencyHistogram& UpstreamPool::latency(size_t i) const { return upstreams_.at(i).latency; }

UpstreamStatus UpstreamPool::status(size_t i) const {
  const Upstream& u = upstreams_[i];
  UpstreamStatus s;
  s.spec = u.spec;
  s.fallback = u.fallback;
  s.down = u.consecutive_failures >= config_.failures_to_down;
  s.plaintext = u.plaintext;
  s.consecutive_failures = u.consecutive_failures;
  const uint32_t first = static_cast<uint32_t>(i) * config_.connections_per_upstream;
  for (uint32_t k = first; k < first + config_.connections_per_upstream; ++k) {
    if (conns_[k].state != ConnState::kClosed) ++s.connections_open;
  }
  s.outstanding = u.outstanding;
  s.srtt_us = u.srtt_us;
  s.queries = u.queries;
  s.answers = u.answers;
  s.timeouts = u.timeouts;
  s.connects = u.connects;
  s.connect_failures = u.connect_failures;
  s.handshake_failures = u.handshake_failures;
  s.plaintext_queries = u.plaintext_queries;
  return s;
}

}  // namespace dotgate::upstream
