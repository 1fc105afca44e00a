// The TCP engine (RFC 9293) of one worker core, for one local address: passive opens
// on listening ports, active opens, reliable ordered byte streams both ways with
// retransmission (RFC 6298 RTO, RFC 5681/6582 NewReno fast retransmit and recovery), flow
// control with window scaling and timestamps (RFC 7323), delayed ACKs, zero-window
// probing, every close path including simultaneous close and TIME_WAIT, RSTs for strays,
// and the RFC 5961 defences against blind resets and injection.
//
// No I/O: received segments and the time come in; segments to send go out through
// TcpHandler::send_segment (fully built and checksummed, ready for an IP header), and the
// layer above hears about connections through the other TcpHandler calls. Connections are
// u32 indexes into a pool sized at construction. Times are in microseconds on any
// monotonic clock. One template serves both families: TcpEngine (IPv4) and Tcp6Engine.
//
// Memory is fixed at construction. Send and receive buffers come from two pools of
// fixed-size buffers that may hold fewer buffers than there are connections: a connection
// holds a buffer only while bytes wait in it, so a million mostly idle connections need
// only as many buffers as are busy at once (memory_bytes() states the total).
//
// Segments that arrive ahead of a hole are kept in the receive buffer (up to four ranges)
// and acknowledged with duplicate ACKs, so the sender's fast retransmit fills the hole.
// When half-open connections reach the SYN backlog, or the table is full, SYNs are
// answered with SYN cookies and no state. Not here: SACK.
#pragma once

#include <cstddef>
#include <cstdint>
#include <utility>
#include <memory>
#include <vector>

#include "net/byte_ring.h"
#include "net/drops.h"
#include "net/tcp_congestion.h"
#include "net/tcp_family.h"
#include "net/tcp_rto.h"
#include "net/tcp_segment.h"
#include "net/timer_wheel.h"

namespace dotgate::net {

template <class Family>
struct BasicTcpConfig {
  typename Family::Addr local_address{};
  uint32_t max_connections = 1024;
  uint32_t send_buffer = 64 * 1024;     // bytes per connection
  uint32_t receive_buffer = 64 * 1024;  // bytes per connection
  // How many send / receive buffers the pools hold; 0: one per connection.
  uint32_t send_buffers = 0;
  uint32_t receive_buffers = 0;
  // Half-open passive connections allowed before SYNs are answered with cookies (RFC 4987
  // 3.6); cookies also answer when the table is full. syn_cookies false: such SYNs drop.
  uint32_t syn_backlog = 1024;
  bool syn_cookies = true;
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
  bool tx_checksum_offload = false;     // segments carry only the pseudo-header sum: the NIC completes it
  // Keepalive (RFC 9293 3.8.4): after keepalive_idle_us without a segment from the peer,
  // probe every keepalive_interval_us; keepalive_probes unanswered probes abort. 0: off.
  uint32_t keepalive_idle_us = 0;
  uint32_t keepalive_interval_us = 10'000'000;
  uint32_t keepalive_probes = 3;
  // Active opens take only local ports this accepts (the dataplane passes one that picks
  // ports whose replies hash to this core's RSS queue). Null: any free port.
  bool (*local_port_filter)(void* context, typename Family::AddrArg remote, uint16_t remote_port,
                            uint16_t local_port) = nullptr;
  void* local_port_filter_context = nullptr;
};
using TcpConfig = BasicTcpConfig<TcpIpv4>;
using Tcp6Config = BasicTcpConfig<TcpIpv6>;

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

template <class Family>
class BasicTcpHandler {
 public:
  virtual ~BasicTcpHandler() = default;
  // A segment to transmit to `remote` (IPv4 in host order, or IPv6), TCP header first.
  virtual void send_segment(typename Family::AddrArg remote, const uint8_t* segment, size_t len) = 0;
  virtual void on_accept(TcpConn) {}       // a passive open completed
  virtual void on_connected(TcpConn) {}    // an active open completed
  virtual void on_readable(TcpConn) {}     // data (or the peer's FIN) arrived
  virtual void on_writable(TcpConn) {}     // send buffer space was freed
  virtual void on_closed(TcpConn, TcpCloseReason) {}  // the index is free after this call
};
using TcpHandler = BasicTcpHandler<TcpIpv4>;
using Tcp6Handler = BasicTcpHandler<TcpIpv6>;

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
  uint64_t syn_cookies_sent = 0;
  uint64_t syn_cookies_accepted = 0;
  uint64_t syn_cookies_rejected = 0;  // ACKs to a listener that carried no valid cookie
  uint64_t buffer_exhausted = 0;      // segments dropped / sends refused: the pool was empty
  uint64_t opened = 0;
  uint64_t closed = 0;

  TcpStats& operator+=(const TcpStats& o) noexcept {
    for (auto [a, b] : {std::pair{&segments_in, &o.segments_in}, {&segments_out, &o.segments_out},
                        {&retransmits, &o.retransmits}, {&fast_retransmits, &o.fast_retransmits},
                        {&timeouts, &o.timeouts}, {&resets_sent, &o.resets_sent},
                        {&resets_received, &o.resets_received}, {&challenge_acks, &o.challenge_acks},
                        {&out_of_order_queued, &o.out_of_order_queued},
                        {&out_of_order_dropped, &o.out_of_order_dropped}, {&out_of_window, &o.out_of_window},
                        {&no_listener, &o.no_listener}, {&table_full, &o.table_full},
                        {&pmtu_reductions, &o.pmtu_reductions}, {&keepalive_probes, &o.keepalive_probes},
                        {&icmp_ignored, &o.icmp_ignored}, {&syn_cookies_sent, &o.syn_cookies_sent},
                        {&syn_cookies_accepted, &o.syn_cookies_accepted},
                        {&syn_cookies_rejected, &o.syn_cookies_rejected},
                        {&buffer_exhausted, &o.buffer_exhausted}, {&opened, &o.opened}, {&closed, &o.closed}}) {
      *a += *b;
    }
    return *this;
  }
};
// Every counter is in operator+= (a new one must be added there too).
static_assert(sizeof(TcpStats) == 22 * sizeof(uint64_t));

template <class Family>
class BasicTcpEngine {
 public:
  using Addr = typename Family::Addr;
  using AddrArg = typename Family::AddrArg;
  using Config = BasicTcpConfig<Family>;
  using Handler = BasicTcpHandler<Family>;

  BasicTcpEngine(const Config& config, Handler& handler, uint64_t now_us);
  ~BasicTcpEngine();
  BasicTcpEngine(const BasicTcpEngine&) = delete;
  BasicTcpEngine& operator=(const BasicTcpEngine&) = delete;

  void listen(uint16_t port);
  // Active open to remote:port; kNoConn if the table or the local ports are exhausted.
  TcpConn connect(AddrArg remote, uint16_t remote_port, uint64_t now_us);

  // A received segment (the IP payload) from `remote`; returns why it was dropped, if it
  // was malformed.
  // `checksum_verified`: the NIC already checked it (rx offload).
  Drop input(AddrArg remote, const uint8_t* segment, size_t len, uint64_t now_us, bool checksum_verified = false);
  // An ICMP or ICMPv6 error (the IP payload: ICMP header, then the quoted IP header and at
  // least 8 bytes of our TCP header). "Fragmentation needed" / "packet too big" lowers the
  // connection's MSS to the reported path MTU (RFC 1191, RFC 8201) and resends what is in
  // flight, if the quoted sequence number is one we have outstanding (RFC 5927 defence
  // against forged errors). Other errors are soft and only counted.
  void icmp_error(const uint8_t* icmp, size_t len, uint64_t now_us);
  // Runs the timers due by now_us.
  void advance(uint64_t now_us);

  // Bytes taken; 0 also when the send buffer pool is empty (counted in buffer_exhausted).
  size_t send(TcpConn c, const uint8_t* data, size_t len, uint64_t now_us);
  size_t receive(TcpConn c, uint8_t* out, size_t cap, uint64_t now_us);  // bytes read
  bool peer_closed(TcpConn c) const;  // the peer's FIN was received and all data read
  size_t received_bytes(TcpConn c) const;  // received in order, not yet read by receive()
  void close(TcpConn c, uint64_t now_us);  // send FIN after the queued data
  void abort(TcpConn c);                   // send RST and forget the connection

  TcpState state(TcpConn c) const;
  uint16_t local_port(TcpConn c) const;
  const Addr& remote_address(TcpConn c) const;
  uint16_t remote_port(TcpConn c) const;
  size_t unsent_bytes(TcpConn c) const;  // queued, not yet acknowledged
  size_t connections() const noexcept { return open_; }
  size_t buffers_in_use() const noexcept;  // send and receive buffers held by connections
  // Bytes of state per connection, buffers excluded (the TCB and its share of the lookup
  // table and timer wheel).
  static size_t connection_state_bytes() noexcept;
  // Everything an engine with this config allocates, buffer pools included.
  static size_t memory_bytes(const Config& config) noexcept;
  const TcpStats& stats() const noexcept { return stats_; }

 private:
  struct Tcb;
  class BufferPool;
  Tcb* find(AddrArg remote, uint16_t remote_port, uint16_t local_port) noexcept;
  Tcb* allocate(AddrArg remote, uint16_t remote_port, uint16_t local_port, uint64_t now_us);
  void release(Tcb& t, TcpCloseReason why, bool notify);
  bool hold_send_buffer(Tcb& t);
  bool hold_receive_buffer(Tcb& t);
  void return_idle_buffers(Tcb& t);
  void output(Tcb& t, uint64_t now_us);
  void send_control(Tcb& t, uint8_t flags, uint32_t seq, uint64_t now_us);
  void send_data(Tcb& t, uint32_t seq, size_t len, bool fin, uint64_t now_us);
  void send_ack_now(Tcb& t, uint64_t now_us);
  void send_challenge_ack(Tcb& t, uint64_t now_us);
  void send_reset(AddrArg remote, const TcpSegment& s);
  void passive_open(AddrArg remote, const TcpSegment& s, uint64_t now_us);
  void send_syn_cookie(AddrArg remote, const TcpSegment& s, uint64_t now_us);
  Tcb* accept_syn_cookie(AddrArg remote, const TcpSegment& s, uint64_t now_us);
  uint32_t syn_cookie(AddrArg remote, const TcpSegment& s, uint32_t period, uint32_t mss_index) const noexcept;
  void arm_retransmit(Tcb& t, uint64_t now_us);
  void on_retransmit_timer(Tcb& t, uint64_t now_us);
  void arm_keepalive(Tcb& t, uint64_t now_us);
  void on_keepalive_timer(Tcb& t, uint64_t now_us);
  void process(Tcb& t, const TcpSegment& s, const uint8_t* payload, uint64_t now_us);
  void process_ack(Tcb& t, const TcpSegment& s, uint64_t now_us);
  void process_data(Tcb& t, const TcpSegment& s, const uint8_t* payload, uint64_t now_us);
  bool queue_out_of_order(Tcb& t, uint32_t seq, const uint8_t* data, uint32_t len);
  bool absorb_out_of_order(Tcb& t);
  uint32_t receive_space(const Tcb& t) const noexcept;
  uint32_t isn(AddrArg remote, uint16_t remote_port, uint16_t local_port, uint64_t now_us) const noexcept;
  uint32_t ts_now(uint64_t now_us) const noexcept { return static_cast<uint32_t>(now_us / 1000); }  // 1 ms clock
  bool listening_on(uint16_t port) const noexcept;
  void emit(AddrArg remote, size_t len);

  Config config_;
  Handler& handler_;
  std::vector<Tcb> tcbs_;
  std::vector<uint32_t> free_;
  std::unique_ptr<BufferPool> send_pool_;
  std::unique_ptr<BufferPool> receive_pool_;
  std::vector<uint32_t> table_;  // open addressing: tcb index + 1, 0 empty; rebuilt on delete
  std::vector<uint16_t> listening_;
  TimerWheel timers_;
  uint16_t next_port_;
  size_t open_ = 0;
  uint32_t half_open_ = 0;             // passive opens in SYN_RECEIVED
  uint64_t last_cookie_us_ = 0;        // cookie ACKs are checked only while cookies are recent
  bool cookies_sent_ = false;
  uint8_t scratch_[kTcpMaxHeader + 65536];
  TcpStats stats_;
};

using TcpEngine = BasicTcpEngine<TcpIpv4>;
using Tcp6Engine = BasicTcpEngine<TcpIpv6>;
extern template class BasicTcpEngine<TcpIpv4>;
extern template class BasicTcpEngine<TcpIpv6>;

}  // namespace dotgate::net
