#include "net/tcp.h"

#include <algorithm>
#include <cstring>
#include <new>

#include "util/byte_order.h"
#include "net/tcp_seq.h"
#include "util/hash.h"

namespace dotgate::net {

namespace {

// The time-wait timer doubles as the keepalive timer: a connection never needs both.
enum TimerKind : uint32_t { kTimerRetransmit = 0, kTimerDelayedAck = 1, kTimerTimeWait = 2, kTimersPerConn = 3 };
constexpr uint32_t kTimerKeepalive = kTimerTimeWait;
constexpr uint16_t kDefaultMss = 536;
constexpr uint64_t kChallengeAckIntervalUs = 100'000;  // RFC 9293 3.7.1, when the peer sends no MSS option

// SYN cookies (RFC 4987 3.6). The cookie is our ISN: a keyed hash of the 4-tuple, the
// peer's ISN and a 64 s period in the top 27 bits, the period's low 2 bits and an index
// into kCookieMss in the low 5. A cookie is good for the period it was made in and the
// next. With timestamps, the peer's window scale rides in the low 4 bits of our TSval,
// which the peer's ACK echoes; without them the cookie SYN-ACK offers no window scaling.
constexpr uint64_t kCookiePeriodUs = 64'000'000;
constexpr uint64_t kCookieRecentUs = 2 * kCookiePeriodUs;
constexpr uint16_t kCookieMss[8] = {256, 536, 1200, 1280, 1380, 1420, 1440, 1460};
constexpr uint32_t kCookieNoWindowScale = 15;

uint64_t tick_of(uint64_t now_us) { return now_us / 1000; }  // the timer wheel runs in ms

template <class F>
uint64_t key_hash(typename F::AddrArg remote, uint16_t remote_port, uint16_t local_port) {
  return util::mix64(F::key(remote) << 32 ^ F::key(remote) >> 32 ^ (uint64_t{remote_port} << 16 | local_port),
                     0x9e3779b97f4a7c15ULL);
}

}  // namespace

template <class F>
struct BasicTcpEngine<F>::Tcb {
  TcpState state = TcpState::kClosed;
  bool in_use = false;
  uint32_t index = 0;
  typename F::Addr remote{};
  uint16_t remote_port = 0;
  uint16_t local_port = 0;
  bool half_open = false;  // a passive open in SYN_RECEIVED, counted against the backlog
  // Send side (RFC 9293 3.3.1).
  uint32_t iss = 0, snd_una = 0, snd_nxt = 0, snd_max = 0, snd_wnd = 0, snd_wl1 = 0, snd_wl2 = 0;
  uint8_t snd_wscale = 0;  // the peer's shift
  uint8_t rcv_wscale = 0;  // ours, once negotiated
  uint16_t smss = kDefaultMss;
  // Receive side.
  uint32_t irs = 0, rcv_nxt = 0, rcv_adv = 0;  // rcv_adv: right edge of the window we advertised
  bool ts_ok = false;
  uint32_t ts_recent = 0;
  bool fin_pending = false;   // close() called: FIN after the queued data
  bool fin_sent = false;
  uint32_t fin_seq = 0;
  bool fin_received = false;
  unsigned unacked_segments = 0;  // in-order segments received since our last ACK
  uint32_t retries = 0;
  uint32_t keepalive_sent = 0;  // probes since the peer was last heard
  uint64_t last_challenge_us = 0;
  bool rtt_timing = false;
  uint32_t rtt_seq = 0;
  uint64_t rtt_start_us = 0;
  RtoEstimator rto;
  NewReno cc;
  ByteRing sndbuf;
  ByteRing rcvbuf;
  // Data received ahead of a hole, already in rcvbuf past its tail: sorted, disjoint
  // [begin, end) sequence ranges above rcv_nxt.
  static constexpr size_t kOooRanges = 4;
  uint32_t ooo_begin[kOooRanges] = {};
  uint32_t ooo_end[kOooRanges] = {};
  uint8_t ooo_count = 0;

  // Payload per segment: the MSS counts no options, so ours come off it (RFC 6691).
  uint32_t max_payload() const noexcept { return smss - (ts_ok ? 12u : 0u); }
  bool synchronized() const noexcept { return state != TcpState::kSynSent && state != TcpState::kSynReceived; }
  uint32_t data_end() const noexcept { return snd_una + static_cast<uint32_t>(sndbuf.size()); }
};

template <class F>
BasicTcpEngine<F>::BasicTcpEngine(const Config& config, Handler& handler, uint64_t now_us)
    : config_(config),
      handler_(handler),
      tcbs_(config.max_connections),
      send_pool_(std::make_unique<BufferPool>(config.send_buffers ? config.send_buffers : config.max_connections,
                                              config.send_buffer)),
      receive_pool_(std::make_unique<BufferPool>(
          config.receive_buffers ? config.receive_buffers : config.max_connections, config.receive_buffer)),
      timers_(config.max_connections * kTimersPerConn, 4096, tick_of(now_us)),
      // RFC 6056: not every engine walks the ports from the same first one.
      next_port_(static_cast<uint16_t>(
          config.ephemeral_first +
          config.isn_secret % (uint32_t{config.ephemeral_last} - config.ephemeral_first + 1))) {
  free_.reserve(config.max_connections);
  for (uint32_t i = config.max_connections; i-- > 0;) {
    tcbs_[i].index = i;
    free_.push_back(i);
  }
  size_t slots = 16;
  while (slots < size_t{config.max_connections} * 2) slots <<= 1;
  table_.assign(slots, 0);
}

template <class F>
BasicTcpEngine<F>::~BasicTcpEngine() = default;

// Fixed-size buffers carved from one allocation, lent to connections while they hold
// bytes. Pages never written stay unbacked, so a generous pool costs only what is used.
template <class F>
class BasicTcpEngine<F>::BufferPool {
 public:
  BufferPool(uint32_t count, uint32_t size)
      : size_(size), memory_(std::make_unique_for_overwrite<uint8_t[]>(size_t{count} * size)) {
    free_.reserve(count);
    for (uint32_t i = count; i-- > 0;) free_.push_back(i);
    count_ = count;
  }
  uint8_t* take() noexcept {
    if (free_.empty()) return nullptr;
    const uint32_t i = free_.back();
    free_.pop_back();
    return memory_.get() + size_t{i} * size_;
  }
  void give(uint8_t* p) noexcept { free_.push_back(static_cast<uint32_t>((p - memory_.get()) / size_)); }
  uint32_t size() const noexcept { return size_; }
  size_t in_use() const noexcept { return count_ - free_.size(); }

 private:
  uint32_t size_;
  uint32_t count_;
  std::unique_ptr<uint8_t[]> memory_;
  std::vector<uint32_t> free_;
};

template <class F>
bool BasicTcpEngine<F>::hold_send_buffer(Tcb& t) {
  if (t.sndbuf.capacity() != 0) return true;
  uint8_t* mem = send_pool_->take();
  if (mem == nullptr) {
    ++stats_.buffer_exhausted;
    return false;
  }
  t.sndbuf.attach(mem, send_pool_->size());
  return true;
}

template <class F>
bool BasicTcpEngine<F>::hold_receive_buffer(Tcb& t) {
  if (t.rcvbuf.capacity() != 0) return true;
  uint8_t* mem = receive_pool_->take();
  if (mem == nullptr) {
    ++stats_.buffer_exhausted;
    return false;
  }
  t.rcvbuf.attach(mem, receive_pool_->size());
  return true;
}

template <class F>
void BasicTcpEngine<F>::return_idle_buffers(Tcb& t) {
  if (t.sndbuf.capacity() != 0 && t.sndbuf.size() == 0) {
    send_pool_->give(t.sndbuf.memory());
    t.sndbuf.attach(nullptr, 0);
  }
  // Bytes queued past a hole live beyond the ring's tail: the buffer stays while any do.
  if (t.rcvbuf.capacity() != 0 && t.rcvbuf.size() == 0 && t.ooo_count == 0) {
    receive_pool_->give(t.rcvbuf.memory());
    t.rcvbuf.attach(nullptr, 0);
  }
}

template <class F>
size_t BasicTcpEngine<F>::buffers_in_use() const noexcept {
  return send_pool_->in_use() + receive_pool_->in_use();
}

template <class F>
uint32_t BasicTcpEngine<F>::receive_space(const Tcb& t) const noexcept {
  // A connection without a receive buffer can have one whenever data comes: its window is
  // the whole buffer. If the pool is empty then, the data is dropped and sent again.
  return t.rcvbuf.capacity() != 0 ? static_cast<uint32_t>(t.rcvbuf.space()) : config_.receive_buffer;
}

template <class F>
bool BasicTcpEngine<F>::listening_on(uint16_t port) const noexcept {
  return std::find(listening_.begin(), listening_.end(), port) != listening_.end();
}

template <class F>
void BasicTcpEngine<F>::listen(uint16_t port) {
  if (std::find(listening_.begin(), listening_.end(), port) == listening_.end()) listening_.push_back(port);
}

template <class F>
uint32_t BasicTcpEngine<F>::isn(AddrArg remote, uint16_t remote_port, uint16_t local_port, uint64_t now_us) const noexcept {
  // RFC 6528: a 4 µs clock plus a keyed hash of the connection identifiers.
  const uint64_t f = util::mix64(key_hash<F>(remote, remote_port, local_port) ^ F::key(config_.local_address),
                                 config_.isn_secret | 1);
  return static_cast<uint32_t>(now_us / 4 + f);
}

template <class F>
typename BasicTcpEngine<F>::Tcb* BasicTcpEngine<F>::find(AddrArg remote, uint16_t remote_port, uint16_t local_port) noexcept {
  const size_t mask = table_.size() - 1;
  for (size_t i = key_hash<F>(remote, remote_port, local_port) & mask;; i = (i + 1) & mask) {
    const uint32_t v = table_[i];
    if (v == 0) return nullptr;
    Tcb& t = tcbs_[v - 1];
    if (t.remote == remote && t.remote_port == remote_port && t.local_port == local_port) return &t;
  }
}

template <class F>
typename BasicTcpEngine<F>::Tcb* BasicTcpEngine<F>::allocate(AddrArg remote, uint16_t remote_port, uint16_t local_port, uint64_t now_us) {
  if (free_.empty()) {
    ++stats_.table_full;
    return nullptr;
  }
  const uint32_t idx = free_.back();
  free_.pop_back();
  Tcb& t = tcbs_[idx];
  t.~Tcb();
  new (&t) Tcb();
  t.index = idx;
  t.in_use = true;
  t.remote = remote;
  t.remote_port = remote_port;
  t.local_port = local_port;
  t.rto = RtoEstimator(config_.initial_rto_us, config_.min_rto_us);
  t.iss = isn(remote, remote_port, local_port, now_us);
  t.snd_una = t.snd_nxt = t.snd_max = t.iss;
  const size_t mask = table_.size() - 1;
  size_t i = key_hash<F>(remote, remote_port, local_port) & mask;
  while (table_[i] != 0) i = (i + 1) & mask;
  table_[i] = idx + 1;
  ++open_;
  ++stats_.opened;
  return &t;
}

template <class F>
void BasicTcpEngine<F>::release(Tcb& t, TcpCloseReason why, bool notify) {
  // Backward-shift deletion from the lookup table.
  const size_t mask = table_.size() - 1;
  size_t i = key_hash<F>(t.remote, t.remote_port, t.local_port) & mask;
  while (table_[i] != t.index + 1) i = (i + 1) & mask;
  table_[i] = 0;
  for (size_t j = (i + 1) & mask; table_[j] != 0; j = (j + 1) & mask) {
    const Tcb& o = tcbs_[table_[j] - 1];
    const size_t home = key_hash<F>(o.remote, o.remote_port, o.local_port) & mask;
    if (((j - home) & mask) >= ((j - i) & mask)) {
      table_[i] = table_[j];
      table_[j] = 0;
      i = j;
    }
  }
  for (uint32_t k = 0; k < kTimersPerConn; ++k) timers_.cancel(t.index * kTimersPerConn + k);
  if (t.half_open) --half_open_;
  t.half_open = false;
  t.sndbuf.clear();
  t.rcvbuf.clear();
  t.ooo_count = 0;
  return_idle_buffers(t);
  t.in_use = false;
  t.state = TcpState::kClosed;
  --open_;
  ++stats_.closed;
  free_.push_back(t.index);
  if (notify) handler_.on_closed(t.index, why);
}

template <class F>
TcpConn BasicTcpEngine<F>::connect(AddrArg remote, uint16_t remote_port, uint64_t now_us) {
  const uint32_t range = uint32_t{config_.ephemeral_last} - config_.ephemeral_first + 1;
  for (uint32_t tries = 0; tries < range; ++tries) {
    const uint16_t port = next_port_;
    next_port_ = next_port_ == config_.ephemeral_last ? config_.ephemeral_first : static_cast<uint16_t>(next_port_ + 1);
    if (find(remote, remote_port, port) != nullptr) continue;
    if (config_.local_port_filter != nullptr &&
        !config_.local_port_filter(config_.local_port_filter_context, remote, remote_port, port)) {
      continue;
    }
    Tcb* t = allocate(remote, remote_port, port, now_us);
    if (t == nullptr) return kNoConn;
    t->state = TcpState::kSynSent;
    t->rtt_start_us = now_us;
    send_control(*t, kTcpSyn, t->iss, now_us);
    t->snd_nxt = t->snd_max = t->iss + 1;
    arm_retransmit(*t, now_us);
    return t->index;
  }
  return kNoConn;
}

template <class F>
void BasicTcpEngine<F>::emit(AddrArg remote, size_t len) {
  ++stats_.segments_out;
  handler_.send_segment(remote, scratch_, len);
}

template <class F>
void BasicTcpEngine<F>::send_control(Tcb& t, uint8_t flags, uint32_t seq, uint64_t now_us) {
  TcpSendOptions o;
  const bool syn = flags & kTcpSyn;
  if (syn) {
    o.mss = config_.mss;
    // On our SYN we offer; on a SYN-ACK we answer only what the peer offered.
    const bool answer = t.state == TcpState::kSynReceived;
    if (!answer || t.rcv_wscale != 0 || t.snd_wscale != 0) o.window_scale = config_.window_scale;
    if (answer && !(t.rcv_wscale || t.snd_wscale)) o.window_scale = -1;
    o.timestamps = answer ? t.ts_ok : config_.timestamps;
  } else {
    o.timestamps = t.ts_ok;
  }
  o.ts_value = ts_now(now_us);
  o.ts_echo = t.ts_recent;
  const uint32_t win = receive_space(t);
  const uint16_t field = syn ? static_cast<uint16_t>(std::min<uint32_t>(win, 65535))
                             : static_cast<uint16_t>(std::min<uint32_t>(win >> t.rcv_wscale, 65535));
  const uint32_t ack = (flags & kTcpAck) ? t.rcv_nxt : 0;
  const size_t h = tcp_header_size(o);
  write_tcp(scratch_, t.local_port, t.remote_port, seq, ack, flags, field, o, 0,
            F::pseudo_sum(config_.local_address, t.remote, h), config_.tx_checksum_offload);
  if (flags & kTcpAck) {
    t.rcv_adv = t.rcv_nxt + win;
    t.unacked_segments = 0;
    timers_.cancel(t.index * kTimersPerConn + kTimerDelayedAck);
  }
  emit(t.remote, h);
}

template <class F>
void BasicTcpEngine<F>::send_ack_now(Tcb& t, uint64_t now_us) {
  // A bare ACK carries SND.MAX, not SND.NXT: after a timeout rewinds SND.NXT, the peer may
  // already hold those bytes (queued past a hole), and an ACK numbered below its RCV.NXT
  // would be dropped as old, with its acknowledgment unread (BSD does the same).
  send_control(t, kTcpAck, t.snd_max, now_us);
}

template <class F>
void BasicTcpEngine<F>::send_challenge_ack(Tcb& t, uint64_t now_us) {
  // RFC 5961 7: limited, so two confused ends cannot ping-pong ACKs forever and an attacker
  // cannot use us as an amplifier.
  if (t.last_challenge_us != 0 && now_us - t.last_challenge_us < kChallengeAckIntervalUs) return;
  t.last_challenge_us = now_us;
  ++stats_.challenge_acks;
  send_ack_now(t, now_us);
}

template <class F>
void BasicTcpEngine<F>::send_data(Tcb& t, uint32_t seq, size_t len, bool fin, uint64_t now_us) {
  TcpSendOptions o;
  o.timestamps = t.ts_ok;
  o.ts_value = ts_now(now_us);
  o.ts_echo = t.ts_recent;
  const size_t h = tcp_header_size(o);
  t.sndbuf.peek(seq - t.snd_una, scratch_ + h, len);
  const uint32_t win = receive_space(t);
  const uint8_t flags = static_cast<uint8_t>(kTcpAck | (len ? kTcpPsh : 0) | (fin ? kTcpFin : 0));
  write_tcp(scratch_, t.local_port, t.remote_port, seq, t.rcv_nxt, flags,
            static_cast<uint16_t>(std::min<uint32_t>(win >> t.rcv_wscale, 65535)), o, len,
            F::pseudo_sum(config_.local_address, t.remote, h + len), config_.tx_checksum_offload);
  t.rcv_adv = t.rcv_nxt + win;
  t.unacked_segments = 0;
  timers_.cancel(t.index * kTimersPerConn + kTimerDelayedAck);
  emit(t.remote, h + len);
}

template <class F>
void BasicTcpEngine<F>::send_reset(AddrArg remote, const TcpSegment& s) {
  // RFC 9293 3.10.7.1: no connection. Never answer a RST with a RST.
  if (s.flags & kTcpRst) return;
  const bool has_ack = s.flags & kTcpAck;
  const uint32_t seq = has_ack ? s.ack : 0;
  const uint32_t ack = has_ack ? 0 : s.seq + s.seq_len();
  const uint8_t flags = has_ack ? uint8_t{kTcpRst} : static_cast<uint8_t>(kTcpRst | kTcpAck);
  write_tcp(scratch_, s.dst_port, s.src_port, seq, ack, flags, 0, TcpSendOptions{}, 0,
            F::pseudo_sum(config_.local_address, remote, kTcpHeader), config_.tx_checksum_offload);
  ++stats_.resets_sent;
  emit(remote, kTcpHeader);
}

template <class F>
void BasicTcpEngine<F>::arm_retransmit(Tcb& t, uint64_t now_us) {
  timers_.schedule(t.index * kTimersPerConn + kTimerRetransmit, tick_of(now_us + t.rto.rto_us()) + 1);
}

template <class F>
void BasicTcpEngine<F>::output(Tcb& t, uint64_t now_us) {
  if (!t.synchronized()) return;
  for (;;) {
    const uint32_t in_flight = t.snd_nxt - t.snd_una;
    const uint32_t wnd = std::min(t.cc.cwnd(), t.snd_wnd);
    const uint32_t data_end = t.data_end();
    if (seq_lt(t.snd_nxt, data_end)) {
      const uint32_t usable = wnd > in_flight ? wnd - in_flight : 0;
      if (usable == 0) {
        // A zero window with nothing in flight: the retransmission timer doubles as the
        // persist timer and sends window probes (RFC 9293 3.8.6.1).
        if (!timers_.armed(t.index * kTimersPerConn + kTimerRetransmit)) arm_retransmit(t, now_us);
        return;
      }
      const uint32_t len = std::min({data_end - t.snd_nxt, usable, t.max_payload()});
      const bool fin = t.fin_pending && t.snd_nxt + len == data_end;
      if (!t.rtt_timing && !t.ts_ok && t.snd_nxt == t.snd_max) {
        t.rtt_timing = true;
        t.rtt_seq = t.snd_nxt + len;
        t.rtt_start_us = now_us;
      }
      send_data(t, t.snd_nxt, len, fin, now_us);
      t.snd_nxt += len;
      if (fin) {
        t.fin_sent = true;
        t.fin_seq = t.snd_nxt;
        t.snd_nxt += 1;
      }
      t.snd_max = seq_max(t.snd_max, t.snd_nxt);
      if (!timers_.armed(t.index * kTimersPerConn + kTimerRetransmit)) arm_retransmit(t, now_us);
      continue;
    }
    if (t.fin_pending && !t.fin_sent && t.snd_nxt == data_end) {
      send_control(t, kTcpFin | kTcpAck, t.snd_nxt, now_us);
      t.fin_sent = true;
      t.fin_seq = t.snd_nxt;
      t.snd_nxt += 1;
      t.snd_max = seq_max(t.snd_max, t.snd_nxt);
      if (!timers_.armed(t.index * kTimersPerConn + kTimerRetransmit)) arm_retransmit(t, now_us);
    }
    return;
  }
}

template <class F>
void BasicTcpEngine<F>::on_retransmit_timer(Tcb& t, uint64_t now_us) {
  if (t.state == TcpState::kSynSent || t.state == TcpState::kSynReceived) {
    if (++t.retries > config_.max_syn_retransmits) {
      release(t, TcpCloseReason::kTimeout, t.state == TcpState::kSynSent);
      return;
    }
    t.rto.backoff();
    ++stats_.retransmits;
    send_control(t, t.state == TcpState::kSynSent ? uint8_t{kTcpSyn} : static_cast<uint8_t>(kTcpSyn | kTcpAck), t.iss,
                 now_us);
    arm_retransmit(t, now_us);
    return;
  }
  if (t.snd_wnd == 0 && seq_lt(t.snd_una, t.data_end())) {
    // Persist (RFC 9293 3.8.6.1): probe the closed window with one byte, the first one not
    // yet acknowledged. A window closed by a slow reader is no failure: probes back off
    // but never abort the connection.
    const uint32_t probe = t.snd_max != t.snd_una ? t.snd_una : t.snd_nxt;
    t.rto.backoff();
    send_data(t, probe, 1, false, now_us);
    t.snd_max = seq_max(t.snd_max, probe + 1);  // so the ACK of an accepted probe is valid
    arm_retransmit(t, now_us);
    return;
  }
  const uint32_t in_flight = t.snd_max - t.snd_una;
  if (in_flight == 0) return;
  if (++t.retries > config_.max_retransmits) {
    release(t, TcpCloseReason::kTimeout, true);
    return;
  }
  ++stats_.timeouts;
  ++stats_.retransmits;
  t.cc.on_timeout(in_flight, t.snd_max);
  t.rto.backoff();
  t.rtt_timing = false;  // Karn: no samples from retransmitted data
  t.snd_nxt = t.snd_una;  // go back and resend from the first unacknowledged byte
  if (t.fin_sent && seq_le(t.snd_nxt, t.fin_seq)) t.fin_sent = false;
  arm_retransmit(t, now_us);
  output(t, now_us);
}

template <class F>
void BasicTcpEngine<F>::icmp_error(const uint8_t* icmp, size_t len, uint64_t now_us) {
  TcpIcmpQuote<Addr> q;
  if (!F::parse_icmp_error(icmp, len, config_.local_address, &q)) {
    ++stats_.icmp_ignored;
    return;
  }
  Tcb* t = find(q.remote, q.remote_port, q.local_port);
  if (t == nullptr || !seq_in(q.seq, t->snd_una, t->snd_max + 1) || !q.too_big) {
    ++stats_.icmp_ignored;
    return;
  }
  // An MTU below the family's floor is not believed (RFC 1191 7, RFC 8201 4).
  const uint32_t mtu = std::min<uint32_t>(std::max(q.mtu, F::kMinMtu), 65535);
  const uint16_t mss = static_cast<uint16_t>(mtu - F::kIpHeader - kTcpHeader);
  if (mss >= t->smss) return;
  t->smss = mss;
  ++stats_.pmtu_reductions;
  if (t->snd_max != t->snd_una) {  // what was in flight was too big: send it again, smaller
    t->snd_nxt = t->snd_una;
    if (t->fin_sent && seq_le(t->snd_nxt, t->fin_seq)) t->fin_sent = false;
    t->rtt_timing = false;
    output(*t, now_us);
  }
}

template <class F>
void BasicTcpEngine<F>::arm_keepalive(Tcb& t, uint64_t now_us) {
  if (config_.keepalive_idle_us == 0 || t.state == TcpState::kTimeWait) return;
  t.keepalive_sent = 0;
  timers_.schedule(t.index * kTimersPerConn + kTimerKeepalive, tick_of(now_us + config_.keepalive_idle_us) + 1);
}

template <class F>
void BasicTcpEngine<F>::on_keepalive_timer(Tcb& t, uint64_t now_us) {
  if (t.keepalive_sent >= config_.keepalive_probes) {
    release(t, TcpCloseReason::kTimeout, true);
    return;
  }
  // A probe is an ACK one byte below what the peer expects, which it must answer.
  ++t.keepalive_sent;
  ++stats_.keepalive_probes;
  send_control(t, kTcpAck, t.snd_una - 1, now_us);
  timers_.schedule(t.index * kTimersPerConn + kTimerKeepalive, tick_of(now_us + config_.keepalive_interval_us) + 1);
}

template <class F>
void BasicTcpEngine<F>::advance(uint64_t now_us) {
  timers_.advance(tick_of(now_us), [&](uint32_t id) {
    Tcb& t = tcbs_[id / kTimersPerConn];
    if (!t.in_use) return;
    switch (id % kTimersPerConn) {
      case kTimerRetransmit:
        on_retransmit_timer(t, now_us);
        break;
      case kTimerDelayedAck:
        if (t.unacked_segments) send_ack_now(t, now_us);
        break;
      case kTimerTimeWait:  // also kTimerKeepalive
        if (t.state == TcpState::kTimeWait) {
          release(t, TcpCloseReason::kNormal, true);
        } else {
          on_keepalive_timer(t, now_us);
        }
        break;
    }
  });
}

template <class F>
Drop BasicTcpEngine<F>::input(AddrArg remote, const uint8_t* segment, size_t len, uint64_t now_us, bool checksum_verified) {
  TcpSegment s;
  const Drop d = parse_tcp(segment, len, F::pseudo_sum(remote, config_.local_address, len), &s, !checksum_verified);
  if (d != Drop::kNone) return d;
  ++stats_.segments_in;
  const uint8_t* payload = segment + s.header_len;
  Tcb* t = find(remote, s.src_port, s.dst_port);
  if (t != nullptr) {
    process(*t, s, payload, now_us);
    return Drop::kNone;
  }
  if (!listening_on(s.dst_port)) {
    ++stats_.no_listener;
    send_reset(remote, s);
    return Drop::kNone;
  }
  const uint8_t kind = s.flags & (kTcpSyn | kTcpAck | kTcpRst);
  if (kind == kTcpSyn) {
    passive_open(remote, s, now_us);
    return Drop::kNone;
  }
  if (kind == kTcpAck && cookies_sent_ && now_us - last_cookie_us_ < kCookieRecentUs) {
    t = accept_syn_cookie(remote, s, now_us);
    if (t != nullptr) {
      process(*t, s, payload, now_us);
      return Drop::kNone;
    }
  }
  send_reset(remote, s);
  return Drop::kNone;
}

template <class F>
void BasicTcpEngine<F>::passive_open(AddrArg remote, const TcpSegment& s, uint64_t now_us) {
  // RFC 9293 3.10.7.2. Past the backlog (or with the table full) the SYN gets a cookie and
  // no state, so a SYN flood cannot take the table from real clients.
  if (config_.syn_cookies && (half_open_ >= config_.syn_backlog || free_.empty())) {
    send_syn_cookie(remote, s, now_us);
    return;
  }
  Tcb* t = allocate(remote, s.src_port, s.dst_port, now_us);
  if (t == nullptr) return;  // full: the SYN is dropped, the peer retries
  t->state = TcpState::kSynReceived;
  t->half_open = true;
  ++half_open_;
  t->irs = s.seq;
  t->rcv_nxt = s.seq + 1;
  t->smss = std::min<uint16_t>(s.options.has_mss ? s.options.mss : kDefaultMss, config_.mss);
  if (t->smss < 64) t->smss = 64;
  t->cc = NewReno(t->smss);
  if (s.options.has_window_scale) {
    t->snd_wscale = s.options.window_scale;
    t->rcv_wscale = config_.window_scale;
  }
  if (s.options.has_timestamps && config_.timestamps) {
    t->ts_ok = true;
    t->ts_recent = s.options.ts_value;
  }
  t->snd_wnd = s.window;  // never scaled in a SYN
  t->snd_wl1 = s.seq;
  t->rtt_start_us = now_us;
  send_control(*t, kTcpSyn | kTcpAck, t->iss, now_us);
  t->snd_nxt = t->snd_max = t->iss + 1;
  arm_retransmit(*t, now_us);
}

template <class F>
uint32_t BasicTcpEngine<F>::syn_cookie(AddrArg remote, const TcpSegment& s, uint32_t period,
                                       uint32_t mss_index) const noexcept {
  // s is the SYN, or the ACK completing it (whose seq is the SYN's plus one).
  const uint32_t peer_isn = (s.flags & kTcpSyn) ? s.seq : s.seq - 1;
  const uint64_t h = util::mix64(key_hash<F>(remote, s.src_port, s.dst_port) ^ (uint64_t{peer_isn} << 32 | period),
                                 config_.isn_secret ^ 0xc00c1e5eedULL);
  return (static_cast<uint32_t>(h >> 32) & ~0x1fu) | (period & 3u) << 3 | mss_index;
}

template <class F>
void BasicTcpEngine<F>::send_syn_cookie(AddrArg remote, const TcpSegment& s, uint64_t now_us) {
  const uint16_t peer_mss = s.options.has_mss ? s.options.mss : kDefaultMss;
  const uint16_t mss = std::min(peer_mss, config_.mss);
  uint32_t mss_index = 0;
  while (mss_index + 1 < std::size(kCookieMss) && kCookieMss[mss_index + 1] <= mss) ++mss_index;
  const uint32_t cookie = syn_cookie(remote, s, static_cast<uint32_t>(now_us / kCookiePeriodUs), mss_index);

  TcpSendOptions o;
  o.mss = config_.mss;
  o.timestamps = s.options.has_timestamps && config_.timestamps;
  if (o.timestamps) {
    // Window scaling needs the timestamp to carry the peer's shift back to us.
    const uint32_t now = ts_now(now_us);
    uint32_t v = (now & ~0xfu) | (s.options.has_window_scale ? s.options.window_scale : kCookieNoWindowScale);
    if (v > now) v -= 16;  // never ahead of our clock, or the peer's PAWS drops what follows
    o.ts_value = v;
    o.ts_echo = s.options.ts_value;
    if (s.options.has_window_scale) o.window_scale = static_cast<int8_t>(config_.window_scale);
  }
  const size_t h = tcp_header_size(o);
  write_tcp(scratch_, s.dst_port, s.src_port, cookie, s.seq + 1, kTcpSyn | kTcpAck,
            static_cast<uint16_t>(std::min<uint32_t>(config_.receive_buffer, 65535)), o, 0,
            F::pseudo_sum(config_.local_address, remote, h), config_.tx_checksum_offload);
  ++stats_.syn_cookies_sent;
  cookies_sent_ = true;
  last_cookie_us_ = now_us;
  emit(remote, h);
}

template <class F>
typename BasicTcpEngine<F>::Tcb* BasicTcpEngine<F>::accept_syn_cookie(AddrArg remote, const TcpSegment& s,
                                                                       uint64_t now_us) {
  const uint32_t cookie = s.ack - 1;
  const uint32_t now_period = static_cast<uint32_t>(now_us / kCookiePeriodUs);
  const uint32_t period = (now_period & 3u) == ((cookie >> 3) & 3u) ? now_period : now_period - 1;
  const uint32_t mss_index = cookie & 7u;
  if (((period ^ (cookie >> 3)) & 3u) != 0 || syn_cookie(remote, s, period, mss_index) != cookie) {
    ++stats_.syn_cookies_rejected;
    return nullptr;
  }
  Tcb* t = allocate(remote, s.src_port, s.dst_port, now_us);
  if (t == nullptr) return nullptr;
  ++stats_.syn_cookies_accepted;
  t->state = TcpState::kSynReceived;
  t->half_open = true;
  ++half_open_;
  t->iss = cookie;
  t->snd_una = cookie;
  t->snd_nxt = t->snd_max = cookie + 1;
  t->irs = s.seq - 1;
  t->rcv_nxt = s.seq;
  t->smss = std::min(kCookieMss[mss_index], config_.mss);
  t->cc = NewReno(t->smss);
  if (s.options.has_timestamps && config_.timestamps) {
    t->ts_ok = true;
    t->ts_recent = s.options.ts_value;
    const uint32_t shift = s.options.ts_echo & 0xfu;
    if (shift != kCookieNoWindowScale) {
      t->snd_wscale = static_cast<uint8_t>(std::min<uint32_t>(shift, 14));
      t->rcv_wscale = config_.window_scale;
    }
  }
  t->snd_wl1 = s.seq;
  t->retries = 1;  // no RTT sample: there was no timed SYN-ACK
  return t;
}

template <class F>
void BasicTcpEngine<F>::process(Tcb& t, const TcpSegment& s, const uint8_t* payload, uint64_t now_us) {
  if (t.state == TcpState::kSynSent) {
    // RFC 9293 3.10.7.3.
    const bool ack = s.flags & kTcpAck;
    if (ack && (seq_le(s.ack, t.iss) || seq_gt(s.ack, t.snd_max))) {
      send_reset(t.remote, s);
      return;
    }
    if (s.flags & kTcpRst) {
      if (ack) {
        ++stats_.resets_received;
        release(t, TcpCloseReason::kRefused, true);
      }
      return;
    }
    if (!(s.flags & kTcpSyn)) return;
    t.irs = s.seq;
    t.rcv_nxt = s.seq + 1;
    t.smss = std::min<uint16_t>(s.options.has_mss ? s.options.mss : kDefaultMss, config_.mss);
    if (t.smss < 64) t.smss = 64;
    t.cc = NewReno(t.smss);
    if (s.options.has_window_scale) {
      t.snd_wscale = s.options.window_scale;
      t.rcv_wscale = config_.window_scale;
    }
    if (s.options.has_timestamps && config_.timestamps) {
      t.ts_ok = true;
      t.ts_recent = s.options.ts_value;
    }
    if (!ack) {  // simultaneous open
      t.state = TcpState::kSynReceived;
      t.snd_wnd = s.window;
      send_control(t, kTcpSyn | kTcpAck, t.iss, now_us);
      return;
    }
    t.snd_una = s.ack;
    t.snd_wnd = s.window;  // unscaled in the SYN-ACK
    t.snd_wl1 = s.seq;
    t.snd_wl2 = s.ack;
    t.state = TcpState::kEstablished;
    if (t.retries == 0) t.rto.sample(static_cast<uint32_t>(now_us - t.rtt_start_us));  // Karn
    t.retries = 0;
    timers_.cancel(t.index * kTimersPerConn + kTimerRetransmit);
    send_ack_now(t, now_us);
    arm_keepalive(t, now_us);
    handler_.on_connected(t.index);
    if (t.in_use) output(t, now_us);
    return;
  }

  // RFC 9293 3.10.7.4, first: is the segment in the window?
  const uint32_t seg_len = s.seq_len();
  const uint32_t rcv_wnd = receive_space(t);
  bool acceptable;
  if (seg_len == 0) {
    acceptable = rcv_wnd == 0 ? s.seq == t.rcv_nxt : seq_in(s.seq, t.rcv_nxt, t.rcv_nxt + rcv_wnd);
  } else {
    acceptable = rcv_wnd != 0 && (seq_in(s.seq, t.rcv_nxt, t.rcv_nxt + rcv_wnd) ||
                                  seq_in(s.seq + seg_len - 1, t.rcv_nxt, t.rcv_nxt + rcv_wnd));
  }
  // An old duplicate (entirely below rcv_nxt) still deserves an ACK, e.g. a retransmitted
  // FIN in TIME_WAIT; PAWS (RFC 7323 5) catches wrapped old segments.
  if (acceptable && t.ts_ok && s.options.has_timestamps && !(s.flags & kTcpRst) &&
      seq_lt(s.options.ts_value, t.ts_recent)) {
    acceptable = false;
  }
  if (!acceptable) {
    ++stats_.out_of_window;
    if (!(s.flags & kTcpRst)) {
      send_ack_now(t, now_us);
      if (t.state == TcpState::kTimeWait) {
        timers_.schedule(t.index * kTimersPerConn + kTimerTimeWait, tick_of(now_us + config_.time_wait_us));
      }
    }
    return;
  }
  // Second: RST (RFC 5961 3.2): only an exact match resets; in-window ones get a challenge.
  if (s.flags & kTcpRst) {
    if (s.seq == t.rcv_nxt) {
      ++stats_.resets_received;
      const bool never_accepted = t.state == TcpState::kSynReceived;
      release(t, TcpCloseReason::kReset, !never_accepted);
    } else {
      send_challenge_ack(t, now_us);
    }
    return;
  }
  // Fourth: a SYN in a synchronized connection (RFC 5961 4): challenge ACK.
  if ((s.flags & kTcpSyn) && t.state != TcpState::kSynReceived) {
    send_challenge_ack(t, now_us);
    return;
  }
  if (!(s.flags & kTcpAck)) return;
  if (t.ts_ok && s.options.has_timestamps && seq_le(s.seq, t.rcv_nxt)) t.ts_recent = s.options.ts_value;
  if (t.state != TcpState::kTimeWait) arm_keepalive(t, now_us);  // the peer is alive

  process_ack(t, s, now_us);
  if (!t.in_use) return;

  if (s.payload_len && (t.state == TcpState::kEstablished || t.state == TcpState::kFinWait1 ||
                        t.state == TcpState::kFinWait2)) {
    process_data(t, s, payload, now_us);
  }
  if ((s.flags & kTcpFin) && !t.fin_received && s.seq + s.payload_len == t.rcv_nxt &&
      t.state != TcpState::kSynReceived) {
    t.fin_received = true;
    t.rcv_nxt += 1;
    switch (t.state) {
      case TcpState::kEstablished:
        t.state = TcpState::kCloseWait;
        break;
      case TcpState::kFinWait1:
        t.state = TcpState::kClosing;  // our FIN is not acknowledged yet
        break;
      case TcpState::kFinWait2:
        t.state = TcpState::kTimeWait;
        timers_.cancel(t.index * kTimersPerConn + kTimerRetransmit);
        timers_.schedule(t.index * kTimersPerConn + kTimerTimeWait, tick_of(now_us + config_.time_wait_us));
        break;
      default:
        break;
    }
    send_ack_now(t, now_us);
    handler_.on_readable(t.index);
    if (!t.in_use) return;
  }
  output(t, now_us);
}

template <class F>
void BasicTcpEngine<F>::process_ack(Tcb& t, const TcpSegment& s, uint64_t now_us) {
  if (t.state == TcpState::kSynReceived) {
    if (!(seq_gt(s.ack, t.snd_una) && seq_le(s.ack, t.snd_max))) {
      send_reset(t.remote, s);
      return;
    }
    t.state = TcpState::kEstablished;
    if (t.half_open) --half_open_;
    t.half_open = false;
    t.snd_una = s.ack;
    t.snd_wnd = uint32_t{s.window} << t.snd_wscale;
    t.snd_wl1 = s.seq;
    t.snd_wl2 = s.ack;
    if (t.retries == 0) t.rto.sample(static_cast<uint32_t>(now_us - t.rtt_start_us));  // Karn
    t.retries = 0;
    timers_.cancel(t.index * kTimersPerConn + kTimerRetransmit);
    handler_.on_accept(t.index);
    return;
  }
  if (seq_gt(s.ack, t.snd_max)) {
    // Acknowledges something never sent (RFC 9293; RFC 5961 5): ACK and drop.
    send_challenge_ack(t, now_us);
    return;
  }
  const uint32_t new_wnd = uint32_t{s.window} << t.snd_wscale;
  if (seq_gt(s.ack, t.snd_una)) {
    const uint32_t acked = s.ack - t.snd_una;
    uint32_t data_acked = acked;
    bool fin_acked = false;
    if (t.fin_sent && s.ack == t.fin_seq + 1) {
      fin_acked = true;
      data_acked -= 1;
    }
    t.sndbuf.consume(data_acked);
    return_idle_buffers(t);
    t.snd_una = s.ack;
    if (seq_lt(t.snd_nxt, t.snd_una)) t.snd_nxt = t.snd_una;
    if (t.ts_ok && s.options.has_timestamps && s.options.ts_echo != 0) {
      const uint32_t rtt_ms = ts_now(now_us) - s.options.ts_echo;
      if (rtt_ms < 60'000) t.rto.sample(rtt_ms * 1000 + 500);
    } else if (t.rtt_timing && seq_ge(s.ack, t.rtt_seq)) {
      t.rto.sample(static_cast<uint32_t>(now_us - t.rtt_start_us));
      t.rtt_timing = false;
    }
    t.retries = 0;
    if (t.cc.on_ack(acked, t.snd_una, t.snd_max - t.snd_una) == NewReno::Action::kRetransmit) {
      // A partial ACK in recovery: resend the next hole right away.
      const uint32_t len = std::min<uint32_t>(t.max_payload(), t.data_end() - t.snd_una);
      if (len) {
        ++stats_.retransmits;
        send_data(t, t.snd_una, len, false, now_us);
      }
    }
    if (t.snd_una == t.snd_max) {
      timers_.cancel(t.index * kTimersPerConn + kTimerRetransmit);
    } else {
      arm_retransmit(t, now_us);
    }
    if (fin_acked) {
      if (t.state == TcpState::kFinWait1) {
        t.state = TcpState::kFinWait2;
      } else if (t.state == TcpState::kClosing) {
        t.state = TcpState::kTimeWait;
        timers_.schedule(t.index * kTimersPerConn + kTimerTimeWait, tick_of(now_us + config_.time_wait_us));
      } else if (t.state == TcpState::kLastAck) {
        release(t, TcpCloseReason::kNormal, true);
        return;
      }
    }
    if (data_acked) {
      handler_.on_writable(t.index);
      if (!t.in_use) return;
    }
  } else if (s.ack == t.snd_una && s.payload_len == 0 && !(s.flags & (kTcpSyn | kTcpFin)) &&
             new_wnd == t.snd_wnd && t.snd_max != t.snd_una) {
    // A duplicate ACK (RFC 5681 2).
    if (t.cc.on_dupack(t.snd_max - t.snd_una, t.snd_una, t.snd_max) == NewReno::Action::kRetransmit) {
      const uint32_t len = std::min<uint32_t>(t.max_payload(), t.data_end() - t.snd_una);
      ++stats_.fast_retransmits;
      ++stats_.retransmits;
      t.rtt_timing = false;
      if (len) {
        send_data(t, t.snd_una, len, false, now_us);
      } else if (t.fin_sent) {
        send_control(t, kTcpFin | kTcpAck, t.fin_seq, now_us);
      }
    }
  }
  // Window update (RFC 9293 3.10.7.4, fifth check), only from newer segments.
  if (seq_lt(t.snd_wl1, s.seq) || (t.snd_wl1 == s.seq && seq_le(t.snd_wl2, s.ack))) {
    t.snd_wnd = new_wnd;
    t.snd_wl1 = s.seq;
    t.snd_wl2 = s.ack;
  }
}

template <class F>
void BasicTcpEngine<F>::process_data(Tcb& t, const TcpSegment& s, const uint8_t* payload, uint64_t now_us) {
  uint32_t offset = 0;
  if (seq_lt(s.seq, t.rcv_nxt)) offset = t.rcv_nxt - s.seq;  // partly old: skip what we have
  if (offset >= s.payload_len) {
    send_ack_now(t, now_us);  // all old: a retransmission; re-ACK
    return;
  }
  if (seq_gt(s.seq, t.rcv_nxt)) {
    // Ahead of a hole: keep it in the receive buffer past the readable bytes, and ask for
    // the hole with an immediate duplicate ACK (RFC 5681 4.2).
    if (!queue_out_of_order(t, s.seq, payload, s.payload_len)) ++stats_.out_of_order_dropped;
    send_ack_now(t, now_us);
    return;
  }
  if (!hold_receive_buffer(t)) return;  // dropped: the peer sends it again
  const size_t taken = t.rcvbuf.write(payload + offset, s.payload_len - offset);
  t.rcv_nxt += static_cast<uint32_t>(taken);
  if (taken == 0) {
    send_ack_now(t, now_us);
    return;
  }
  const bool filled_hole = absorb_out_of_order(t);
  // Delayed ACK (RFC 9293 3.8.6.3 / RFC 5681 4.2): at least every second full segment, and
  // at once when a hole was filled.
  const bool short_segment = s.payload_len < t.max_payload();
  if (++t.unacked_segments >= 2 || taken < s.payload_len - offset || filled_hole) {
    send_ack_now(t, now_us);
  } else {
    timers_.schedule(t.index * kTimersPerConn + kTimerDelayedAck, tick_of(now_us + config_.delayed_ack_us) + 1);
  }
  const uint16_t local = t.local_port, remote = t.remote_port;
  handler_.on_readable(t.index);
  // A short segment ends a write at the sender, whose Nagle algorithm may hold its next
  // small segment (the next DNS answer) until this one is acknowledged: unless the reply
  // the reader just sent carried the ACK, it goes now rather than after the delayed-ACK
  // timer (the 40 ms stall of Nagle against delayed ACKs; Linux's quick ACKs do the same).
  if (short_segment && t.in_use && t.unacked_segments != 0 && t.local_port == local && t.remote_port == remote &&
      t.synchronized()) {
    send_ack_now(t, now_us);
  }
}

template <class F>
bool BasicTcpEngine<F>::queue_out_of_order(Tcb& t, uint32_t seq, const uint8_t* data, uint32_t len) {
  if (!hold_receive_buffer(t)) return false;
  // Trim to what the buffer can hold past rcv_nxt.
  const uint32_t limit = t.rcv_nxt + static_cast<uint32_t>(t.rcvbuf.space());
  if (!seq_lt(seq, limit)) return false;
  uint32_t end = seq + len;
  if (seq_gt(end, limit)) end = limit;
  // Merge with the ranges it touches; give up if it would need a fifth range.
  uint32_t b = seq, e = end;
  uint8_t keep = 0;
  uint32_t nb[Tcb::kOooRanges + 1], ne[Tcb::kOooRanges + 1];
  bool placed = false;
  for (uint8_t i = 0; i < t.ooo_count; ++i) {
    if (seq_lt(t.ooo_end[i], b)) {
      nb[keep] = t.ooo_begin[i];
      ne[keep++] = t.ooo_end[i];
    } else if (seq_lt(e, t.ooo_begin[i])) {
      if (!placed) {
        nb[keep] = b;
        ne[keep++] = e;
        placed = true;
      }
      nb[keep] = t.ooo_begin[i];
      ne[keep++] = t.ooo_end[i];
    } else {  // overlaps or touches: widen
      b = seq_min(b, t.ooo_begin[i]);
      e = seq_max(e, t.ooo_end[i]);
    }
  }
  if (!placed) {
    nb[keep] = b;
    ne[keep++] = e;
  }
  if (keep > Tcb::kOooRanges) return false;
  t.rcvbuf.write_at(seq - t.rcv_nxt, data, end - seq);
  for (uint8_t i = 0; i < keep; ++i) {
    t.ooo_begin[i] = nb[i];
    t.ooo_end[i] = ne[i];
  }
  t.ooo_count = keep;
  ++stats_.out_of_order_queued;
  return true;
}

template <class F>
bool BasicTcpEngine<F>::absorb_out_of_order(Tcb& t) {
  // Ranges now reached by rcv_nxt become readable; ranges now entirely below it go.
  bool absorbed = false;
  uint8_t first = 0;
  while (first < t.ooo_count && seq_le(t.ooo_begin[first], t.rcv_nxt)) {
    if (seq_gt(t.ooo_end[first], t.rcv_nxt)) {
      t.rcvbuf.commit(t.ooo_end[first] - t.rcv_nxt);
      t.rcv_nxt = t.ooo_end[first];
      absorbed = true;
    }
    ++first;
  }
  if (first) {
    for (uint8_t i = first; i < t.ooo_count; ++i) {
      t.ooo_begin[i - first] = t.ooo_begin[i];
      t.ooo_end[i - first] = t.ooo_end[i];
    }
    t.ooo_count = static_cast<uint8_t>(t.ooo_count - first);
  }
  return absorbed;
}

template <class F>
size_t BasicTcpEngine<F>::send(TcpConn c, const uint8_t* data, size_t len, uint64_t now_us) {
  Tcb& t = tcbs_[c];
  if (!t.in_use || t.fin_pending) return 0;
  if (t.state != TcpState::kEstablished && t.state != TcpState::kCloseWait && t.state != TcpState::kSynSent &&
      t.state != TcpState::kSynReceived) {
    return 0;
  }
  if (len == 0 || !hold_send_buffer(t)) return 0;
  const size_t n = t.sndbuf.write(data, len);
  output(t, now_us);
  return n;
}

template <class F>
size_t BasicTcpEngine<F>::receive(TcpConn c, uint8_t* out, size_t cap, uint64_t now_us) {
  Tcb& t = tcbs_[c];
  if (!t.in_use) return 0;
  const size_t n = t.rcvbuf.peek(0, out, cap);
  t.rcvbuf.consume(n);
  return_idle_buffers(t);
  // A window update is owed only when the window the peer knows has shrunk below half the
  // buffer and reading grew it by a segment (receiver-side silly window avoidance, RFC 9293
  // 3.8.6.2.2); a reader keeping up leaves the normal ACKs to carry the window.
  if (n && t.synchronized() && t.state != TcpState::kTimeWait) {
    const uint32_t right = t.rcv_nxt + receive_space(t);
    const uint32_t known = t.rcv_adv - t.rcv_nxt;
    const uint32_t half = config_.receive_buffer / 2;
    if (known < half && seq_ge(right, t.rcv_adv + std::min<uint32_t>(t.smss, half))) send_ack_now(t, now_us);
  }
  return n;
}

template <class F>
bool BasicTcpEngine<F>::peer_closed(TcpConn c) const {
  const Tcb& t = tcbs_[c];
  return t.in_use && t.fin_received && t.rcvbuf.size() == 0;
}

template <class F>
size_t BasicTcpEngine<F>::received_bytes(TcpConn c) const {
  const Tcb& t = tcbs_[c];
  return t.in_use ? t.rcvbuf.size() : 0;
}

template <class F>
void BasicTcpEngine<F>::close(TcpConn c, uint64_t now_us) {
  Tcb& t = tcbs_[c];
  if (!t.in_use || t.fin_pending) return;
  switch (t.state) {
    case TcpState::kSynSent:
      release(t, TcpCloseReason::kAborted, false);
      return;
    case TcpState::kSynReceived:
    case TcpState::kEstablished:
      t.fin_pending = true;
      t.state = TcpState::kFinWait1;
      break;
    case TcpState::kCloseWait:
      t.fin_pending = true;
      t.state = TcpState::kLastAck;
      break;
    default:
      return;
  }
  output(t, now_us);
}

template <class F>
void BasicTcpEngine<F>::abort(TcpConn c) {
  Tcb& t = tcbs_[c];
  if (!t.in_use) return;
  if (t.synchronized() || t.state == TcpState::kSynReceived) {
    write_tcp(scratch_, t.local_port, t.remote_port, t.snd_nxt, 0, kTcpRst, 0, TcpSendOptions{}, 0,
              F::pseudo_sum(config_.local_address, t.remote, kTcpHeader), config_.tx_checksum_offload);
    ++stats_.resets_sent;
    emit(t.remote, kTcpHeader);
  }
  release(t, TcpCloseReason::kAborted, false);
}

template <class F>
size_t BasicTcpEngine<F>::connection_state_bytes() noexcept {
  // The TCB, two lookup-table slots (the table is sized at twice the connections), one
  // free-list entry, and three timer-wheel nodes.
  return sizeof(Tcb) + 2 * sizeof(uint32_t) + sizeof(uint32_t) + kTimersPerConn * 32;
}

template <class F>
size_t BasicTcpEngine<F>::memory_bytes(const Config& config) noexcept {
  // Each pooled buffer also has its free-list entry.
  const size_t sends = config.send_buffers ? config.send_buffers : config.max_connections;
  const size_t receives = config.receive_buffers ? config.receive_buffers : config.max_connections;
  return size_t{config.max_connections} * connection_state_bytes() + sends * (config.send_buffer + sizeof(uint32_t)) +
         receives * (config.receive_buffer + sizeof(uint32_t));
}

template <class F>
TcpState BasicTcpEngine<F>::state(TcpConn c) const { return tcbs_[c].in_use ? tcbs_[c].state : TcpState::kClosed; }
template <class F>
uint16_t BasicTcpEngine<F>::local_port(TcpConn c) const { return tcbs_[c].local_port; }
template <class F>
const typename F::Addr& BasicTcpEngine<F>::remote_address(TcpConn c) const { return tcbs_[c].remote; }
template <class F>
uint16_t BasicTcpEngine<F>::remote_port(TcpConn c) const { return tcbs_[c].remote_port; }
template <class F>
size_t BasicTcpEngine<F>::unsent_bytes(TcpConn c) const { return tcbs_[c].sndbuf.size(); }

template class BasicTcpEngine<TcpIpv4>;
template class BasicTcpEngine<TcpIpv6>;

}  // namespace dotgate::net
