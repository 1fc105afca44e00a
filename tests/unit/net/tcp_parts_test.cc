// Tests for the building blocks of the TCP engine: sequence arithmetic, the segment codec,
// the timer wheel, the RTO estimator and NewReno.
#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <set>
#include <vector>

#include "net/ipv4.h"
#include "net/tcp_congestion.h"
#include "net/tcp_rto.h"
#include "net/tcp_segment.h"
#include "net/tcp_seq.h"
#include "net/timer_wheel.h"

namespace dotgate::net {
namespace {

TEST(TcpSeq, WrapAround) {
  EXPECT_TRUE(seq_lt(0xfffffff0u, 0x10u));
  EXPECT_TRUE(seq_gt(0x10u, 0xfffffff0u));
  EXPECT_TRUE(seq_le(5, 5));
  EXPECT_TRUE(seq_ge(5, 5));
  EXPECT_FALSE(seq_lt(5, 5));
  EXPECT_TRUE(seq_in(0xfffffffeu, 0xfffffff0u, 0x10u));
  EXPECT_TRUE(seq_in(0x5u, 0xfffffff0u, 0x10u));
  EXPECT_FALSE(seq_in(0x10u, 0xfffffff0u, 0x10u));  // half-open
  EXPECT_EQ(seq_max(0xfffffff0u, 0x10u), 0x10u);
  EXPECT_EQ(seq_min(0xfffffff0u, 0x10u), 0xfffffff0u);
}

constexpr uint32_t kA = 0xc0000201, kB = 0xc0000202;

std::vector<uint8_t> segment(uint8_t flags, const TcpSendOptions& o, const std::vector<uint8_t>& payload) {
  std::vector<uint8_t> b(kTcpMaxHeader + payload.size());
  const size_t h = tcp_header_size(o);
  if (!payload.empty()) std::memcpy(b.data() + h, payload.data(), payload.size());
  write_tcp(b.data(), 40000, 853, 0x01020304, 0x0a0b0c0d, flags, 65535, o, payload.size(),
            ipv4_pseudo_sum(kA, kB, kProtoTCP, h + payload.size()));
  b.resize(h + payload.size());
  return b;
}

TEST(TcpSegment, SynWithEveryOptionRoundTrips) {
  TcpSendOptions o;
  o.mss = 1460;
  o.window_scale = 7;
  o.sack_permitted = true;
  o.timestamps = true;
  o.ts_value = 111;
  o.ts_echo = 0;
  const auto b = segment(kTcpSyn, o, {});
  EXPECT_EQ(b.size(), 20u + 4 + 4 + 4 + 12);
  EXPECT_EQ(b.size() % 4, 0u);
  TcpSegment s;
  ASSERT_EQ(parse_tcp(b.data(), b.size(), ipv4_pseudo_sum(kA, kB, kProtoTCP, b.size()), &s), Drop::kNone);
  EXPECT_EQ(s.src_port, 40000);
  EXPECT_EQ(s.dst_port, 853);
  EXPECT_EQ(s.seq, 0x01020304u);
  EXPECT_EQ(s.ack, 0x0a0b0c0du);
  EXPECT_EQ(s.flags, kTcpSyn);
  EXPECT_EQ(s.window, 65535);
  EXPECT_TRUE(s.options.has_mss);
  EXPECT_EQ(s.options.mss, 1460);
  EXPECT_TRUE(s.options.has_window_scale);
  EXPECT_EQ(s.options.window_scale, 7);
  EXPECT_TRUE(s.options.sack_permitted);
  EXPECT_TRUE(s.options.has_timestamps);
  EXPECT_EQ(s.options.ts_value, 111u);
  EXPECT_EQ(s.seq_len(), 1u);
}

TEST(TcpSegment, DataSegmentAndChecksumCoversPseudoHeader) {
  TcpSendOptions o;
  o.timestamps = true;
  const std::vector<uint8_t> payload = {1, 2, 3, 4, 5};
  const auto b = segment(kTcpAck | kTcpPsh | kTcpFin, o, payload);
  TcpSegment s;
  ASSERT_EQ(parse_tcp(b.data(), b.size(), ipv4_pseudo_sum(kA, kB, kProtoTCP, b.size()), &s), Drop::kNone);
  EXPECT_EQ(s.payload_len, 5);
  EXPECT_EQ(s.header_len, 32);
  EXPECT_EQ(s.seq_len(), 6u);
  EXPECT_EQ(parse_tcp(b.data(), b.size(), ipv4_pseudo_sum(kA, kB + 1, kProtoTCP, b.size()), &s),
            Drop::kTcpBadChecksum);
  EXPECT_EQ(parse_tcp(b.data(), b.size(), ipv4_pseudo_sum(kA, kB + 1, kProtoTCP, b.size()), &s, false),
            Drop::kNone);
}

TEST(TcpSegment, Defects) {
  TcpSendOptions none;
  auto b = segment(kTcpAck, none, {});
  const uint64_t ps = ipv4_pseudo_sum(kA, kB, kProtoTCP, b.size());
  TcpSegment s;
  EXPECT_EQ(parse_tcp(b.data(), 19, ps, &s), Drop::kTcpTooShort);
  auto bad = b;
  bad[12] = 0x40;  // data offset 4 words
  EXPECT_EQ(parse_tcp(bad.data(), bad.size(), ps, &s, false), Drop::kTcpBadHeaderLength);
  bad[12] = 0x60;  // 24 bytes claimed, 20 present
  EXPECT_EQ(parse_tcp(bad.data(), bad.size(), ps, &s, false), Drop::kTcpBadHeaderLength);
  for (uint8_t flags : {uint8_t(kTcpSyn | kTcpFin), uint8_t(kTcpSyn | kTcpRst), uint8_t(0), uint8_t(kTcpPsh)}) {
    bad = b;
    bad[13] = flags;
    EXPECT_EQ(parse_tcp(bad.data(), bad.size(), ps, &s, false), Drop::kTcpBadFlags) << int(flags);
  }
}

TEST(TcpSegment, OptionParsing) {
  TcpOptions o;
  const uint8_t nops_then_end[] = {1, 1, 0, 99, 99};  // bytes after End are ignored
  EXPECT_EQ(parse_tcp_options(nops_then_end, sizeof nops_then_end, &o), Drop::kNone);
  const uint8_t unknown[] = {30, 4, 0, 0, 2, 4, 5, 0xb4};
  o = TcpOptions{};
  ASSERT_EQ(parse_tcp_options(unknown, sizeof unknown, &o), Drop::kNone);
  EXPECT_EQ(o.mss, 1460);
  const uint8_t big_scale[] = {3, 3, 20, 1};
  o = TcpOptions{};
  ASSERT_EQ(parse_tcp_options(big_scale, sizeof big_scale, &o), Drop::kNone);
  EXPECT_EQ(o.window_scale, kMaxWindowScale);  // RFC 7323 2.3: clamp to 14
  const uint8_t zero_len[] = {30, 0, 1, 1};
  EXPECT_EQ(parse_tcp_options(zero_len, sizeof zero_len, &o), Drop::kTcpBadOption);
  const uint8_t overrun[] = {8, 10, 0, 0, 0, 0};
  EXPECT_EQ(parse_tcp_options(overrun, sizeof overrun, &o), Drop::kTcpBadOption);
  const uint8_t bad_mss[] = {2, 3, 5};
  EXPECT_EQ(parse_tcp_options(bad_mss, sizeof bad_mss, &o), Drop::kTcpBadOption);
  const uint8_t lone_kind[] = {1, 2};
  EXPECT_EQ(parse_tcp_options(lone_kind, sizeof lone_kind, &o), Drop::kTcpBadOption);
}

TEST(TimerWheel, FiresAtDeadlineInOrderAndOnlyOnce) {
  TimerWheel w(16, 8, 100);
  w.schedule(1, 105);
  w.schedule(2, 103);
  w.schedule(3, 100);  // in the past: next advance
  std::vector<uint32_t> fired;
  auto rec = [&](uint32_t id) { fired.push_back(id); };
  w.advance(102, rec);
  EXPECT_EQ(fired, (std::vector<uint32_t>{3}));
  w.advance(110, rec);
  EXPECT_EQ(fired, (std::vector<uint32_t>{3, 2, 1}));
  w.advance(200, rec);
  EXPECT_EQ(fired.size(), 3u);
  EXPECT_EQ(w.armed_count(), 0u);
}

TEST(TimerWheel, BeyondOneTurnAndRearmAndCancel) {
  TimerWheel w(16, 8, 0);
  w.schedule(1, 20);  // two and a half turns away
  w.schedule(2, 4);
  w.schedule(2, 6);   // re-armed: only the new deadline counts
  w.schedule(3, 5);
  w.cancel(3);
  EXPECT_FALSE(w.armed(3));
  std::vector<std::pair<uint32_t, uint64_t>> fired;
  auto rec = [&](uint32_t id) { fired.emplace_back(id, w.now()); };
  for (uint64_t t = 1; t <= 25; ++t) w.advance(t, rec);
  ASSERT_EQ(fired.size(), 2u);
  EXPECT_EQ(fired[0], (std::pair<uint32_t, uint64_t>{2, 6}));
  EXPECT_EQ(fired[1], (std::pair<uint32_t, uint64_t>{1, 20}));
}

TEST(TimerWheel, RearmFromFireCallbackWaitsForNextAdvance) {
  TimerWheel w(4, 8, 0);
  w.schedule(0, 1);
  int count = 0;
  w.advance(5, [&](uint32_t id) {
    ++count;
    w.schedule(id, 3);  // in the past now
  });
  EXPECT_EQ(count, 1);
  EXPECT_TRUE(w.armed(0));
  w.advance(6, [&](uint32_t) { ++count; });
  EXPECT_EQ(count, 2);
}

// Found in review: fire() touching *other* timers due in the same advance.
TEST(TimerWheel, FireMayRearmOrCancelOtherDueTimers) {
  TimerWheel w(8, 8, 0);
  w.schedule(0, 5);
  w.schedule(1, 3);
  w.schedule(2, 4);
  std::vector<std::pair<uint32_t, uint64_t>> fired;
  w.advance(6, [&](uint32_t id) {
    fired.emplace_back(id, w.now());
    if (id == 1) w.schedule(2, 20);  // 2 was due too: now later
    if (id == 1) w.cancel(0);        // 0 was due too: now never
  });
  ASSERT_EQ(fired.size(), 1u);
  EXPECT_EQ(fired[0].first, 1u);
  EXPECT_FALSE(w.armed(0));
  EXPECT_TRUE(w.armed(2));
  EXPECT_EQ(w.armed_count(), 1u);
  fired.clear();
  w.advance(19, [&](uint32_t id) { fired.emplace_back(id, w.now()); });
  EXPECT_TRUE(fired.empty());
  w.advance(20, [&](uint32_t id) { fired.emplace_back(id, w.now()); });
  ASSERT_EQ(fired.size(), 1u);
  EXPECT_EQ(fired[0].first, 2u);
  w.advance(100, [&](uint32_t id) { fired.emplace_back(id, w.now()); });
  EXPECT_EQ(fired.size(), 1u);
}

TEST(TimerWheel, RandomizedAgainstModel) {
  std::mt19937 rng(3);
  TimerWheel w(64, 16, 0);
  std::vector<int64_t> model(64, -1);  // deadline or -1
  uint64_t now = 0;
  for (int step = 0; step < 20000; ++step) {
    const uint32_t id = rng() % 64;
    switch (rng() % 4) {
      case 0:
      case 1: {
        const uint64_t d = now + 1 + rng() % 100;
        w.schedule(id, d);
        model[id] = static_cast<int64_t>(d);
        break;
      }
      case 2:
        w.cancel(id);
        model[id] = -1;
        break;
      default: {
        const uint64_t to = now + rng() % 40;
        std::set<uint32_t> expect;
        for (uint32_t i = 0; i < 64; ++i) {
          if (model[i] >= 0 && static_cast<uint64_t>(model[i]) <= to && to > now) expect.insert(i);
        }
        std::set<uint32_t> got;
        w.advance(to, [&](uint32_t f) { got.insert(f); });
        ASSERT_EQ(got, expect) << step;
        for (uint32_t f : got) model[f] = -1;
        if (to > now) now = to;
      }
    }
  }
}

TEST(Rto, Rfc6298Arithmetic) {
  RtoEstimator r;
  EXPECT_EQ(r.rto_us(), 1'000'000u);
  r.sample(100'000);  // first: SRTT = R, RTTVAR = R/2, RTO = SRTT + 4 RTTVAR = 300 ms
  EXPECT_EQ(r.srtt_us(), 100'000u);
  EXPECT_EQ(r.rttvar_us(), 50'000u);
  EXPECT_EQ(r.rto_us(), 300'000u);
  r.sample(200'000);  // RTTVAR = 3/4*50 + 1/4*100 = 62.5; SRTT = 7/8*100 + 1/8*200 = 112.5
  EXPECT_EQ(r.rttvar_us(), 62'500u);
  EXPECT_EQ(r.srtt_us(), 112'500u);
  EXPECT_EQ(r.rto_us(), 362'500u);
  r.backoff();
  EXPECT_EQ(r.rto_us(), 725'000u);
  for (int i = 0; i < 20; ++i) r.backoff();
  EXPECT_EQ(r.rto_us(), 60'000'000u);  // ceiling
  RtoEstimator lan;
  for (int i = 0; i < 50; ++i) lan.sample(300);  // 0.3 ms RTTs: floor applies
  EXPECT_EQ(lan.rto_us(), 200'000u);
}

TEST(NewReno, SlowStartThenAvoidance) {
  NewReno cc(1000, 10);
  EXPECT_EQ(cc.cwnd(), 10000u);
  uint32_t una = 0;
  for (int i = 0; i < 10; ++i) cc.on_ack(1000, una += 1000, 0);
  EXPECT_EQ(cc.cwnd(), 20000u);  // doubled in one window
  cc.on_ack(5000, una += 5000, 0);  // ABC: at most one SMSS per ACK
  EXPECT_EQ(cc.cwnd(), 21000u);
  cc.on_timeout(20000, una + 20000);
  EXPECT_EQ(cc.cwnd(), 1000u);
  EXPECT_EQ(cc.ssthresh(), 10000u);
  while (cc.cwnd() < cc.ssthresh()) cc.on_ack(1000, una += 1000, 0);
  const uint32_t at = cc.cwnd();
  for (uint32_t acked = 0; acked < at; acked += 1000) cc.on_ack(1000, una += 1000, 0);
  EXPECT_EQ(cc.cwnd(), at + 1000);  // one SMSS per window in avoidance
}

TEST(NewReno, FastRetransmitRecoveryAndPartialAcks) {
  NewReno cc(1000, 10);
  const uint32_t una = 5000, max = 15000;  // 10 segments in flight
  EXPECT_EQ(cc.on_dupack(10000, una, max), NewReno::Action::kNone);
  EXPECT_EQ(cc.on_dupack(10000, una, max), NewReno::Action::kNone);
  EXPECT_EQ(cc.on_dupack(10000, una, max), NewReno::Action::kRetransmit);
  EXPECT_TRUE(cc.in_recovery());
  EXPECT_EQ(cc.ssthresh(), 5000u);
  EXPECT_EQ(cc.cwnd(), 8000u);  // ssthresh + 3 SMSS
  cc.on_dupack(10000, una, max);
  EXPECT_EQ(cc.cwnd(), 9000u);  // inflation
  // A partial ACK: more holes below recover; resend, deflate by acked, add one SMSS.
  EXPECT_EQ(cc.on_ack(2000, 7000, 8000), NewReno::Action::kRetransmit);
  EXPECT_EQ(cc.cwnd(), 8000u);
  EXPECT_TRUE(cc.in_recovery());
  // The full ACK ends recovery.
  EXPECT_EQ(cc.on_ack(8000, 15000, 0), NewReno::Action::kNone);
  EXPECT_FALSE(cc.in_recovery());
  EXPECT_EQ(cc.cwnd(), 2000u);  // min(ssthresh, max(flight, SMSS) + SMSS)
}

TEST(NewReno, NoSecondReductionForTheSameLossEvent) {
  NewReno cc(1000, 10);
  for (int i = 0; i < 3; ++i) cc.on_dupack(10000, 5000, 15000);
  cc.on_ack(10000, 15000, 0);  // recovered (recover = 14999)
  const uint32_t ssthresh = cc.ssthresh();
  // Dupacks for data sent before recovery ended (ack 14000 <= recover) do not count.
  for (int i = 0; i < 3; ++i) EXPECT_EQ(cc.on_dupack(1000, 14000, 16000), NewReno::Action::kNone);
  EXPECT_EQ(cc.ssthresh(), ssthresh);
  EXPECT_FALSE(cc.in_recovery());
}

}  // namespace
}  // namespace dotgate::net
