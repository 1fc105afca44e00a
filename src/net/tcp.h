// The TCP engine (RFC 9293) of one worker core, for one local IPv4 address: passive opens
// on listening ports, active opens, reliable ordered byte streams both ways with
// retransmission (RFC 6298 RTO, RFC 5681/6582 NewReno fast retransmit and recovery), flow
// control with window scaling and timestamps (RFC 7323), delayed ACKs, zero-window
// probing, every close path including simultaneous close and TIME_WAIT, RSTs for strays,
// and the RFC 5961 defences against blind resets and injection.
//
// No I/O: received segments and the time come in; segments to send go out through
// TcpHandler::send_segment (fully built and checksummed, ready for an IP header), and the
// layer above hears about connections through the other TcpHandler calls. Connections are
// u32 indexes into a pool sized at construction; buffers come from one allocation made
// then. Times are in microseconds on any monotonic clock.
//
// Segments that arrive ahead of a hole are kept in the receive buffer (up to four ranges)
// and acknowledged with duplicate ACKs, so the sender's fast retransmit fills the hole.
// Not yet here (see the README): SACK, SYN cookies, IPv6.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "net/byte_ring.h"
#include "net/drops.h"
#include "net/tcp_congestion.h"
#include "net/tcp_rto.h"
#include "net/tcp_segment.h"
#include "net/timer_wheel.h"

namespace dotgate::net {

struct TcpConfig {
  uint32_t local_address = 0;
  uint32_t max_connections = 1024;
  uint32_t send_buffer = 64 * 1024;     // bytes per connection
  uint32_t receive_buffer = 64 * 1024;  // bytes per connection
  uint16_t mss = 1460;                  // what we accept (from the link MTU)
  uint8_t window_scale = 7;             // what we offer (RFC 7323)
  bool timestamps = true;
  uint32_t delayed_ack_us = 40'000;     // RFC 9293 3.8.6.3: well under 500 ms
  uint32_t time_wait_us = 60'000'000;   // 2 MSL, as Linux
  uint32_t max_retransmits = 8;         // data or FIN, before the connection is aborted
  uint32_t max_syn_retransmits = 5;
  uint32_t min_rto_us = 200'000;
  uint32_t initial_rto_us = 1'000'000;
  uint16_t ephemeral_first = 32768;     // local ports for active opens
  uint16_t ephemeral_last = 60999;
  uint64_t isn_secret = 0x5eed;         // RFC 6528 ISN: keyed hash of the 4-tuple plus time
  // Keepalive (RFC 9293 3.8.4): after keepalive_idle_us without a segment from the peer,
  // probe every keepalive_interval_us; keepalive_probes unanswered probes abort. 0: off.
  uint32_t keepalive_idle_us = 0;
  uint32_t keepalive_interval_us = 10'000'000;
  uint32_t keepalive_probes = 3;
  // Active opens take only local ports this accepts (the dataplane passes one that picks
  // ports whose replies hash to this core's RSS queue). Null: any free port.
  bool (*local_port_filter)(void* context, uint32_t remote, uint16_t remote_port, uint16_t local_port) = nullptr;
  void* local_port_filter_context = nullptr;
};

enum class TcpState : uint8_t {
  kClosed, kSynSent, kSynReceived, kEstablished, kFinWait1, kFinWait2, kCloseWait, kClosing, kLastAck, kTimeWait,
};

enum class TcpCloseReason : uint8_t {
  kNormal,       // both sides closed
  kReset,        // the peer reset it
  kRefused,      // an active open was answered with RST
  kTimeout,      // retransmissions (or keepalive probes) ran out
  kAborted,      // we aborted it
};

using TcpConn = uint32_t;
inline constexpr TcpConn kNoConn = UINT32_MAX;

class TcpHandler {
 public:
  virtual ~TcpHandler() = default;
  // A segment to transmit to `remote` (IPv4, host order), TCP header first.
  virtual void send_segment(uint32_t remote, const uint8_t* segment, size_t len) = 0;
  virtual void on_accept(TcpConn) {}       // a passive open completed
  virtual void on_connected(TcpConn) {}    // an active open completed
  virtual void on_readable(TcpConn) {}     // data (or the peer's FIN) arrived
  virtual void on_writable(TcpConn) {}     // send buffer space was freed
  virtual void on_closed(TcpConn, TcpCloseReason) {}  // the index is free after this call
};

struct TcpStats {
  uint64_t segments_in = 0;
  uint64_t segments_out = 0;
  uint64_t retransmits = 0;
  uint64_t fast_retransmits = 0;
  uint64_t timeouts = 0;
  uint64_t resets_sent = 0;
  uint64_t resets_received = 0;
  uint64_t challenge_acks = 0;
  uint64_t out_of_order_queued = 0;   // segments kept ahead of a hole
  uint64_t out_of_order_dropped = 0;  // ... and ones that did not fit
  uint64_t out_of_window = 0;
  uint64_t no_listener = 0;
  uint64_t table_full = 0;
  uint64_t pmtu_reductions = 0;
  uint64_t keepalive_probes = 0;
  uint64_t icmp_ignored = 0;
  uint64_t opened = 0;
  uint64_t closed = 0;
};

class TcpEngine {
 public:
  TcpEngine(const TcpConfig& config, TcpHandler& handler, uint64_t now_us);
  ~TcpEngine();

  void listen(uint16_t port);
  // Active open to remote:port; kNoConn if the table or the local ports are exhausted.
  TcpConn connect(uint32_t remote, uint16_t remote_port, uint64_t now_us);

  // A received segment (the IP payload) from `remote`; returns why it was dropped, if it
  // was malformed.
  Drop input(uint32_t remote, const uint8_t* segment, size_t len, uint64_t now_us);
  // An ICMP "destination unreachable" from `reporter` (the IP payload: ICMP header, then the
  // quoted IP header and at least 8 bytes of our TCP header). "Fragmentation needed" lowers
  // the connection's MSS to the reported path MTU (RFC 1191) and resends what is in flight,
  // if the quoted sequence number is one we have outstanding (RFC 5927 defence against
  // forged errors). Other unreachables are soft errors and only counted.
  void icmp_unreachable(const uint8_t* icmp, size_t len, uint64_t now_us);
  // Runs the timers due by now_us.
  void advance(uint64_t now_us);

  size_t send(TcpConn c, const uint8_t* data, size_t len, uint64_t now_us);  // bytes taken
  size_t receive(TcpConn c, uint8_t* out, size_t cap, uint64_t now_us);      // bytes read
  bool peer_closed(TcpConn c) const;  // the peer's FIN was received and all data read
  void close(TcpConn c, uint64_t now_us);  // send FIN after the queued data
  void abort(TcpConn c);                   // send RST and forget the connection

  TcpState state(TcpConn c) const;
  uint16_t local_port(TcpConn c) const;
  uint32_t remote_address(TcpConn c) const;
  uint16_t remote_port(TcpConn c) const;
  size_t unsent_bytes(TcpConn c) const;  // queued, not yet acknowledged
  size_t connections() const noexcept { return open_; }
  // Bytes of state per connection, buffers excluded (the TCB and its share of the lookup
  // table and timer wheel).
  static size_t connection_state_bytes() noexcept;
  const TcpStats& stats() const noexcept { return stats_; }

 private:
  struct Tcb;
  Tcb* find(uint32_t remote, uint16_t remote_port, uint16_t local_port) noexcept;
  Tcb* allocate(uint32_t remote, uint16_t remote_port, uint16_t local_port, uint64_t now_us);
  void release(Tcb& t, TcpCloseReason why, bool notify);
  void output(Tcb& t, uint64_t now_us);
  void send_control(Tcb& t, uint8_t flags, uint32_t seq, uint64_t now_us);
  void send_data(Tcb& t, uint32_t seq, size_t len, bool fin, uint64_t now_us);
  void send_ack_now(Tcb& t, uint64_t now_us);
  void send_challenge_ack(Tcb& t, uint64_t now_us);
  void send_reset(uint32_t remote, const TcpSegment& s);
  void arm_retransmit(Tcb& t, uint64_t now_us);
  void on_retransmit_timer(Tcb& t, uint64_t now_us);
  void arm_keepalive(Tcb& t, uint64_t now_us);
  void on_keepalive_timer(Tcb& t, uint64_t now_us);
  void process(Tcb& t, const TcpSegment& s, const uint8_t* payload, uint64_t now_us);
  void process_ack(Tcb& t, const TcpSegment& s, uint64_t now_us);
  void process_data(Tcb& t, const TcpSegment& s, const uint8_t* payload, uint64_t now_us);
  bool queue_out_of_order(Tcb& t, uint32_t seq, const uint8_t* data, uint32_t len);
  bool absorb_out_of_order(Tcb& t);
  uint32_t advertised_window(const Tcb& t) const noexcept;
  uint32_t isn(uint32_t remote, uint16_t remote_port, uint16_t local_port, uint64_t now_us) const noexcept;
  uint32_t ts_now(uint64_t now_us) const noexcept { return static_cast<uint32_t>(now_us / 1000); }  // 1 ms clock
  void emit(uint32_t remote, size_t len);

  TcpConfig config_;
  TcpHandler& handler_;
  std::vector<Tcb> tcbs_;
  std::vector<uint32_t> free_;
  std::unique_ptr<uint8_t[]> buffers_;
  std::vector<uint32_t> table_;  // open addressing: tcb index + 1, 0 empty; rebuilt on delete
  std::vector<uint16_t> listening_;
  TimerWheel timers_;
  uint16_t next_port_;
  size_t open_ = 0;
  uint8_t scratch_[kTcpMaxHeader + 65536];
  TcpStats stats_;
};

}  // namespace dotgate::net
