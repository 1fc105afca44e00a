// The test bench for net/tcp.h: two engines of either family joined by a simulated link
// (with the impairment stage for loss, duplication, reordering and delay) exchange real
// segments, in 1 ms steps of simulated time.
#pragma once

#include <map>
#include <random>
#include <vector>

#include "net/impairment.h"
#include "net/tcp.h"

namespace dotgate::net {

using Bytes = std::vector<uint8_t>;
constexpr uint32_t kAddrA = 0xc0000201, kAddrB = 0xc0000202;
// 2001:db8::1 and 2001:db8::2
inline constexpr Ipv6Addr kAddr6A{{0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}};
inline constexpr Ipv6Addr kAddr6B{{0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2}};

template <class F>
struct Addresses;
template <>
struct Addresses<TcpIpv4> {
  static uint32_t a() { return kAddrA; }
  static uint32_t b() { return kAddrB; }
};
template <>
struct Addresses<TcpIpv6> {
  static Ipv6Addr a() { return kAddr6A; }
  static Ipv6Addr b() { return kAddr6B; }
};

template <class F>
struct BasicSide : BasicTcpHandler<F> {
  Impairment* wire = nullptr;  // towards the other side
  BasicTcpEngine<F>* engine = nullptr;
  uint64_t* now = nullptr;
  std::vector<TcpConn> accepted, connected;
  std::map<TcpConn, TcpCloseReason> closed;
  std::map<TcpConn, Bytes> received;
  std::vector<Bytes> sent_segments;  // when recording

  bool record = false;
  bool reading = true;
  int drop_data_segment = -1;  // drop the Nth segment that carries data (0-based)
  int data_segments = 0;  // false: leave received data in the engine (the window fills)
  void send_segment(typename F::AddrArg, const uint8_t* seg, size_t len) override {
    if (record) sent_segments.emplace_back(seg, seg + len);
    TcpSegment parsed;
    if (parse_tcp(seg, len, 0, &parsed, false) == Drop::kNone && parsed.payload_len > 0 &&
        data_segments++ == drop_data_segment) {
      return;  // lost on the way
    }
    wire->offer(seg, len, *now);
  }
  void on_accept(TcpConn c) override { accepted.push_back(c); }
  void on_connected(TcpConn c) override { connected.push_back(c); }
  void on_readable(TcpConn c) override {
    if (reading) drain(c);
  }
  void on_closed(TcpConn c, TcpCloseReason why) override { closed[c] = why; }
  void drain(TcpConn c) {
    uint8_t buf[4096];
    for (size_t n; (n = engine->receive(c, buf, sizeof buf, *now)) > 0;) {
      received[c].insert(received[c].end(), buf, buf + n);
    }
  }
};

template <class F>
struct BasicNet {
  using Engine = BasicTcpEngine<F>;
  using Config = BasicTcpConfig<F>;
  uint64_t now = 1'000'000;
  Impairment a_to_b, b_to_a;
  BasicSide<F> a, b;
  Engine ea, eb;

  static Config config(typename F::AddrArg addr) {
    Config c;
    c.local_address = addr;
    c.max_connections = 256;
    c.send_buffer = 16 * 1024;
    c.receive_buffer = 16 * 1024;
    c.time_wait_us = 2'000'000;
    return c;
  }
  explicit BasicNet(const ImpairmentConfig& impair = {}, Config ca = config(Addresses<F>::a()),
                    Config cb = config(Addresses<F>::b()))
      : a_to_b(impair), b_to_a(with_seed(impair, 77)), ea(ca, a, now), eb(cb, b, now) {
    a.wire = &a_to_b;
    b.wire = &b_to_a;
    a.engine = &ea;
    b.engine = &eb;
    a.now = b.now = &now;
  }
  static ImpairmentConfig with_seed(ImpairmentConfig c, uint64_t seed) {
    c.seed = seed;
    return c;
  }
  // Advances time in 1 ms steps, delivering what is due, until done() or the time limit.
  template <class Done>
  bool run(Done done, uint64_t limit_us = 120'000'000) {
    const uint64_t end = now + limit_us;
    while (now < end) {
      if (done()) return true;
      now += 1000;
      b_to_a.release(now, [&](const uint8_t* f, size_t n) { ea.input(Addresses<F>::b(), f, n, now); });
      a_to_b.release(now, [&](const uint8_t* f, size_t n) { eb.input(Addresses<F>::a(), f, n, now); });
      ea.advance(now);
      eb.advance(now);
    }
    return done();
  }
};
using Side = BasicSide<TcpIpv4>;
using Net = BasicNet<TcpIpv4>;
using Net6 = BasicNet<TcpIpv6>;

inline Bytes random_bytes(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  Bytes b(n);
  for (auto& x : b) x = static_cast<uint8_t>(rng());
  return b;
}

// Pushes as much of `data` (from `*offset`) into the connection as it takes.
template <class Engine>
void feed(Engine& e, TcpConn c, const Bytes& data, size_t* offset, uint64_t now) {
  if (*offset < data.size()) *offset += e.send(c, data.data() + *offset, data.size() - *offset, now);
}

}  // namespace dotgate::net
