// libFuzzer target: arbitrary segments fed to a TCP engine that keeps live connections
// across inputs (a listener, passive and active opens, data queued both ways, timers).
// Checks the engine never crashes, never emits a segment that fails to parse, and keeps
// its connection count within the table.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "fuzz_check.h"
#include "net/ipv4.h"
#include "net/tcp.h"
#include "net/tcp_segment.h"

using namespace dotgate::net;


namespace {

constexpr uint32_t kLocal = 0xc0000201;

struct Checker : TcpHandler {
  TcpEngine* engine = nullptr;
  uint64_t* now = nullptr;
  // Per peer: the sequence numbers that would make its next segment fit the connection,
  // so the fuzzer can get past the handshake (it cannot guess our ISN).
  uint32_t next_seq[4] = {};
  uint32_t next_ack[4] = {};
  void send_segment(uint32_t remote, const uint8_t* seg, size_t len) override {
    TcpSegment s;
    CHECK(parse_tcp(seg, len, ipv4_pseudo_sum(kLocal, remote, kProtoTCP, len), &s) == Drop::kNone);
    next_seq[remote & 3] = s.ack;
    next_ack[remote & 3] = s.seq + s.seq_len();
  }
  void on_accept(TcpConn c) override {
    static const uint8_t hello[] = "hello from the engine";
    engine->send(c, hello, sizeof hello, *now);
  }
  void on_readable(TcpConn c) override {
    uint8_t buf[512];
    while (engine->receive(c, buf, sizeof buf, *now) > 0) {
    }
    if (engine->peer_closed(c)) engine->close(c, *now);
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static uint64_t now = 1'000'000;
  static Checker checker;
  static TcpEngine* engine = [] {
    TcpConfig c;
    c.local_address = kLocal;
    c.max_connections = 64;
    c.send_buffer = 4096;
    c.receive_buffer = 4096;
    c.time_wait_us = 1'000'000;
    c.syn_backlog = 2;       // past two half-open connections, SYNs get cookies
    c.send_buffers = 8;      // fewer buffers than connections: the pools run dry
    c.receive_buffers = 8;
    auto* e = new TcpEngine(c, checker, now);
    e->listen(853);
    e->listen(53);
    checker.engine = e;
    checker.now = &now;
    return e;
  }();
  if (size < 2) return 0;
  // First byte: which of four peers sent it and how far time moves; the rest: the segment.
  const uint8_t ctl = data[0];
  const uint32_t remote = 0xc0000210 + (ctl & 3);  // low two bits index the per-peer state
  now += static_cast<uint64_t>(ctl >> 2) * 7919;
  if ((ctl & 0xf0) == 0xf0 && engine->connections() < 8) engine->connect(remote, 853, now);
  engine->advance(now);
  uint8_t seg[65536];
  const size_t len = size - 1 < sizeof seg ? size - 1 : sizeof seg;
  std::memcpy(seg, data + 1, len);
  // Some inputs are steered into the connection's window; most get a correct checksum so
  // they reach the state machine.
  if (len >= kTcpHeader && (ctl & 8)) {
    dotgate::util::store_be32(seg + 4, checker.next_seq[remote & 3]);
    dotgate::util::store_be32(seg + 8, checker.next_ack[remote & 3]);
  }
  if (len >= kTcpHeader && (ctl & 0x0c)) {
    seg[16] = seg[17] = 0;
    dotgate::util::store_be16(seg + 16, csum_finish(csum_partial(seg, len, ipv4_pseudo_sum(remote, kLocal, kProtoTCP, len))));
  }
  engine->input(remote, seg, len, now);
  CHECK(engine->connections() <= 64);
  return 0;
}
