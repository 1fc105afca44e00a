// Tests for net/tcp.h: two engines joined by a simulated link (with the impairment stage
// for loss, duplication, reordering and delay) exchange real segments.
#include "net/tcp.h"

#include <gtest/gtest.h>

#include <map>
#include <random>
#include <vector>

#include "net/ipv4.h"
#include "unit/net/tcp_test_util.h"

namespace dotgate::net {
namespace {

TEST(Tcp, HandshakeTransferBothWaysAndCloseCleanly) {
  Net net;
  net.eb.listen(853);
  const TcpConn ca = net.ea.connect(kAddrB, 853, net.now);
  ASSERT_NE(ca, kNoConn);
  ASSERT_TRUE(net.run([&] { return !net.a.connected.empty() && !net.b.accepted.empty(); }));
  const TcpConn cb = net.b.accepted[0];
  EXPECT_EQ(net.ea.state(ca), TcpState::kEstablished);
  EXPECT_EQ(net.eb.state(cb), TcpState::kEstablished);
  EXPECT_EQ(net.eb.remote_port(cb), net.ea.local_port(ca));

  const Bytes up = random_bytes(200'000, 1), down = random_bytes(150'000, 2);
  size_t up_off = 0, down_off = 0;
  ASSERT_TRUE(net.run([&] {
    feed(net.ea, ca, up, &up_off, net.now);
    feed(net.eb, cb, down, &down_off, net.now);
    return net.b.received[cb].size() == up.size() && net.a.received[ca].size() == down.size();
  }));
  EXPECT_EQ(net.b.received[cb], up);
  EXPECT_EQ(net.a.received[ca], down);

  net.ea.close(ca, net.now);
  ASSERT_TRUE(net.run([&] { return net.eb.peer_closed(cb); }));
  EXPECT_EQ(net.eb.state(cb), TcpState::kCloseWait);
  net.eb.close(cb, net.now);
  ASSERT_TRUE(net.run([&] { return net.b.closed.count(cb) && net.a.closed.count(ca); }));
  EXPECT_EQ(net.b.closed[cb], TcpCloseReason::kNormal);  // LAST_ACK -> closed
  EXPECT_EQ(net.a.closed[ca], TcpCloseReason::kNormal);  // after TIME_WAIT
  EXPECT_EQ(net.ea.connections(), 0u);
  EXPECT_EQ(net.eb.connections(), 0u);
  EXPECT_EQ(net.ea.stats().retransmits, 0u);
}

TEST(Tcp, ManyConnectionsOverALossyReorderingLinkDeliverEveryByteOnceInOrder) {
  ImpairmentConfig impair;
  impair.loss_ppm = 50'000;       // 5 %
  impair.duplicate_ppm = 10'000;  // 1 %
  impair.reorder_ppm = 20'000;    // 2 %
  impair.reorder_us = 3000;
  impair.delay_us = 2000;
  impair.jitter_us = 1000;
  impair.capacity = 100'000;
  Net net(impair);
  net.eb.listen(853);
  constexpr int kConns = 40;
  std::vector<TcpConn> cs;
  for (int i = 0; i < kConns; ++i) cs.push_back(net.ea.connect(kAddrB, 853, net.now));
  ASSERT_TRUE(net.run([&] { return net.b.accepted.size() == kConns && net.a.connected.size() == kConns; }));
  // Pair each client connection with its server side by port.
  std::map<uint16_t, TcpConn> server_by_port;
  for (TcpConn c : net.b.accepted) server_by_port[net.eb.remote_port(c)] = c;
  std::vector<Bytes> up(kConns), down(kConns);
  std::vector<size_t> up_off(kConns), down_off(kConns);
  for (int i = 0; i < kConns; ++i) {
    up[i] = random_bytes(20'000 + 997 * i, 100 + i);
    down[i] = random_bytes(5'000 + 1201 * i, 200 + i);
  }
  ASSERT_TRUE(net.run([&] {
    bool all = true;
    for (int i = 0; i < kConns; ++i) {
      const TcpConn sc = server_by_port[net.ea.local_port(cs[i])];
      feed(net.ea, cs[i], up[i], &up_off[i], net.now);
      feed(net.eb, sc, down[i], &down_off[i], net.now);
      all = all && net.b.received[sc].size() == up[i].size() && net.a.received[cs[i]].size() == down[i].size();
    }
    return all;
  }));
  for (int i = 0; i < kConns; ++i) {
    const TcpConn sc = server_by_port[net.ea.local_port(cs[i])];
    EXPECT_EQ(net.b.received[sc], up[i]) << i;
    EXPECT_EQ(net.a.received[cs[i]], down[i]) << i;
  }
  EXPECT_GT(net.ea.stats().retransmits, 0u);
  EXPECT_GT(net.a_to_b.stats().lost, 0u);
  EXPECT_GT(net.eb.stats().out_of_order_queued, 0u);  // segments past holes were kept
  // Close from both ends at once on every connection.
  for (int i = 0; i < kConns; ++i) {
    net.ea.close(cs[i], net.now);
    net.eb.close(server_by_port[net.ea.local_port(cs[i])], net.now);
  }
  ASSERT_TRUE(net.run([&] { return net.ea.connections() == 0 && net.eb.connections() == 0; }));
  for (const auto& [c, why] : net.a.closed) EXPECT_EQ(why, TcpCloseReason::kNormal) << c;
  for (const auto& [c, why] : net.b.closed) EXPECT_EQ(why, TcpCloseReason::kNormal) << c;
}

// Churn at scale: a thousand short connections through the same lossy link, each opened,
// used for a request and an answer, and closed from the client side.
TEST(Tcp, AThousandShortConnectionsThroughLoss) {
  ImpairmentConfig impair;
  impair.loss_ppm = 30'000;
  impair.reorder_ppm = 20'000;
  impair.reorder_us = 2000;
  impair.delay_us = 1000;
  impair.capacity = 200'000;
  TcpConfig ca = Net::config(kAddrA), cb = Net::config(kAddrB);
  ca.max_connections = cb.max_connections = 1100;
  ca.send_buffer = ca.receive_buffer = cb.send_buffer = cb.receive_buffer = 4096;
  Net net(impair, ca, cb);
  net.eb.listen(53);
  constexpr int kConns = 1000;
  std::vector<TcpConn> cs;
  for (int i = 0; i < kConns; ++i) cs.push_back(net.ea.connect(kAddrB, 53, net.now));
  ASSERT_TRUE(net.run([&] { return net.a.connected.size() == kConns; }));
  const Bytes request = random_bytes(300, 9), answer = random_bytes(900, 10);
  for (TcpConn c : cs) ASSERT_EQ(net.ea.send(c, request.data(), request.size(), net.now), request.size());
  std::map<TcpConn, bool> answered;
  ASSERT_TRUE(net.run([&] {
    for (TcpConn s : net.b.accepted) {
      if (!answered[s] && net.b.received[s].size() == request.size()) {
        EXPECT_EQ(net.b.received[s], request);
        net.eb.send(s, answer.data(), answer.size(), net.now);
        answered[s] = true;
      }
    }
    for (TcpConn c : cs) {
      if (net.a.received[c].size() != answer.size()) return false;
    }
    return true;
  }));
  for (TcpConn c : cs) EXPECT_EQ(net.a.received[c], answer);
  for (TcpConn c : cs) net.ea.close(c, net.now);
  ASSERT_TRUE(net.run([&] {
    for (TcpConn s : net.b.accepted) {
      if (net.eb.peer_closed(s) && net.eb.state(s) == TcpState::kCloseWait) net.eb.close(s, net.now);
    }
    return net.ea.connections() == 0 && net.eb.connections() == 0;
  }));
  EXPECT_EQ(net.ea.stats().opened, static_cast<uint64_t>(kConns));
  EXPECT_GT(net.ea.stats().retransmits + net.eb.stats().retransmits, 0u);
}

TEST(Tcp, FragmentationNeededLowersTheMssAndResends) {
  Net net;
  net.eb.listen(853);
  const TcpConn ca = net.ea.connect(kAddrB, 853, net.now);
  ASSERT_TRUE(net.run([&] { return !net.b.accepted.empty(); }));
  const TcpConn cb = net.b.accepted[0];
  net.a.record = true;
  const Bytes data = random_bytes(10'000, 5);
  net.ea.send(ca, data.data(), data.size(), net.now);
  ASSERT_FALSE(net.a.sent_segments.empty());
  const Bytes big = net.a.sent_segments[0];
  ASSERT_GT(big.size(), 1000u);
  // A router on the path answers: fragmentation needed, next-hop MTU 1000. The ICMP
  // message quotes our IP header and the start of the segment.
  Bytes icmp = {3, 4, 0, 0, 0, 0, 0x03, 0xe8};
  Bytes quoted_ip(kIpv4Header);
  write_ipv4(quoted_ip.data(), kAddrA, kAddrB, kProtoTCP, big.size(), 1);
  icmp.insert(icmp.end(), quoted_ip.begin(), quoted_ip.end());
  icmp.insert(icmp.end(), big.begin(), big.begin() + 8);
  // A forged one with a sequence number we never sent is ignored.
  Bytes forged = icmp;
  forged[8 + 20 + 4] ^= 0x80;
  net.ea.icmp_error(forged.data(), forged.size(), net.now);
  EXPECT_EQ(net.ea.stats().pmtu_reductions, 0u);
  net.a.sent_segments.clear();
  net.ea.icmp_error(icmp.data(), icmp.size(), net.now);
  EXPECT_EQ(net.ea.stats().pmtu_reductions, 1u);
  ASSERT_FALSE(net.a.sent_segments.empty());
  for (const Bytes& seg : net.a.sent_segments) EXPECT_LE(seg.size(), 1000u - kIpv4Header) << "resent smaller";
  ASSERT_TRUE(net.run([&] { return net.b.received[cb].size() == data.size(); }));
  EXPECT_EQ(net.b.received[cb], data);
}

TEST(Tcp, KeepaliveProbesAnIdlePeerAndGivesUpOnADeadOne) {
  TcpConfig ca = Net::config(kAddrA);
  ca.keepalive_idle_us = 1'000'000;
  ca.keepalive_interval_us = 500'000;
  ca.keepalive_probes = 3;
  Net net(ImpairmentConfig{}, ca);
  net.eb.listen(853);
  const TcpConn c = net.ea.connect(kAddrB, 853, net.now);
  ASSERT_TRUE(net.run([&] { return !net.b.accepted.empty(); }));
  // Idle for 10 s: probes go out and are answered, the connection lives on.
  net.run([] { return false; }, 10'000'000);
  EXPECT_GE(net.ea.stats().keepalive_probes, 5u);
  EXPECT_EQ(net.ea.state(c), TcpState::kEstablished);
  // The peer disappears: idle, then three unanswered probes, then the connection is gone.
  ImpairmentConfig black_hole;
  black_hole.loss_ppm = 1'000'000;
  Impairment dead(black_hole);
  net.a.wire = &dead;
  const uint64_t before = net.ea.stats().keepalive_probes;
  ASSERT_TRUE(net.run([&] { return net.a.closed.count(c) > 0; }, 10'000'000));
  EXPECT_EQ(net.a.closed[c], TcpCloseReason::kTimeout);
  EXPECT_EQ(net.ea.stats().keepalive_probes - before, 3u);
}

TEST(Tcp, ActiveOpensUseOnlyPortsTheFilterAccepts) {
  TcpConfig ca = Net::config(kAddrA);
  // As the dataplane will: accept only ports whose replies would land on "our" queue.
  ca.local_port_filter = [](void* ctx, uint32_t, uint16_t, uint16_t port) {
    ++*static_cast<int*>(ctx);
    return port % 4 == 1;
  };
  int calls = 0;
  ca.local_port_filter_context = &calls;
  Net net(ImpairmentConfig{}, ca);
  net.eb.listen(853);
  for (int i = 0; i < 20; ++i) {
    const TcpConn c = net.ea.connect(kAddrB, 853, net.now);
    ASSERT_NE(c, kNoConn);
    EXPECT_EQ(net.ea.local_port(c) % 4, 1);
  }
  EXPECT_GE(calls, 20);
  ASSERT_TRUE(net.run([&] { return net.b.accepted.size() == 20; }));
}

TEST(Tcp, OneLostSegmentIsRepairedByOneRetransmission) {
  Net net;
  net.eb.listen(853);
  const TcpConn ca = net.ea.connect(kAddrB, 853, net.now);
  ASSERT_TRUE(net.run([&] { return !net.b.accepted.empty(); }));
  const TcpConn cb = net.b.accepted[0];
  net.a.drop_data_segment = 2;  // the third data segment never arrives
  const Bytes data = random_bytes(14'000, 11);  // ten segments: all in the first window
  net.ea.send(ca, data.data(), data.size(), net.now);
  ASSERT_TRUE(net.run([&] { return net.b.received[cb].size() == data.size(); }));
  EXPECT_EQ(net.b.received[cb], data);
  // The segments after the hole were kept, so one fast retransmission fills it.
  EXPECT_GE(net.eb.stats().out_of_order_queued, 3u);
  EXPECT_EQ(net.eb.stats().out_of_order_dropped, 0u);
  EXPECT_EQ(net.ea.stats().fast_retransmits, 1u);
  EXPECT_EQ(net.ea.stats().retransmits, 1u);
  EXPECT_EQ(net.ea.stats().timeouts, 0u);
}

TEST(ByteRing, WriteAtAndCommitKeepTheirPlaceAcrossConsume) {
  uint8_t mem[16];
  ByteRing r;
  r.attach(mem, sizeof mem);
  const uint8_t a[] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
  ASSERT_EQ(r.write(a, 10), 10u);
  const uint8_t later[] = {50, 51, 52};
  ASSERT_TRUE(r.write_at(2, later, 3));  // bytes 2..4 past the tail arrive first
  r.consume(10);  // the reader empties the ring: the tail, and what lies past it, stay put
  const uint8_t hole[] = {40, 41};
  ASSERT_EQ(r.write(hole, 2), 2u);
  r.commit(3);
  uint8_t out[5];
  ASSERT_EQ(r.peek(0, out, 5), 5u);  // wraps around the end of the ring
  EXPECT_EQ(Bytes(out, out + 5), (Bytes{40, 41, 50, 51, 52}));
  EXPECT_FALSE(r.write_at(r.space(), later, 1));  // past the free space
}

TEST(Tcp, ConnectToClosedPortIsRefused) {
  Net net;
  const TcpConn c = net.ea.connect(kAddrB, 853, net.now);
  ASSERT_TRUE(net.run([&] { return net.a.closed.count(c) > 0; }, 5'000'000));
  EXPECT_EQ(net.a.closed[c], TcpCloseReason::kRefused);
  EXPECT_EQ(net.eb.stats().no_listener, 1u);
  EXPECT_EQ(net.eb.stats().resets_sent, 1u);
}

TEST(Tcp, PeerThatVanishesTimesOut) {
  Net net;
  net.eb.listen(853);
  const TcpConn c = net.ea.connect(kAddrB, 853, net.now);
  ASSERT_TRUE(net.run([&] { return !net.a.connected.empty(); }));
  // Cut the wire: everything A sends is lost from now on.
  ImpairmentConfig black_hole;
  black_hole.loss_ppm = 1'000'000;
  Impairment dead(black_hole);
  net.a.wire = &dead;
  const Bytes data = random_bytes(1000, 3);
  net.ea.send(c, data.data(), data.size(), net.now);
  ASSERT_TRUE(net.run([&] { return net.a.closed.count(c) > 0; }, 600'000'000));
  EXPECT_EQ(net.a.closed[c], TcpCloseReason::kTimeout);
  EXPECT_EQ(net.ea.stats().timeouts, 8u);  // max_retransmits
}

TEST(Tcp, ZeroWindowIsProbedAndTransferResumes) {
  Net net;
  net.eb.listen(853);
  const TcpConn ca = net.ea.connect(kAddrB, 853, net.now);
  ASSERT_TRUE(net.run([&] { return !net.b.accepted.empty(); }));
  const TcpConn cb = net.b.accepted[0];
  net.b.reading = false;  // B's 16 KiB receive buffer fills and its window closes
  const Bytes data = random_bytes(60'000, 4);
  size_t off = 0;
  net.run([&] {
    feed(net.ea, ca, data, &off, net.now);
    return false;
  }, 10'000'000);
  EXPECT_EQ(net.eb.state(cb), TcpState::kEstablished);
  EXPECT_GT(net.ea.unsent_bytes(ca), 0u);  // stalled, not failed
  EXPECT_EQ(net.a.closed.count(ca), 0u);
  const uint64_t segments_while_stalled = net.ea.stats().segments_out;
  net.run([] { return false; }, 65'000'000);  // probes back off up to the largest RTO, 60 s
  EXPECT_GT(net.ea.stats().segments_out, segments_while_stalled);  // window probes go on
  const size_t held = net.eb.received_bytes(cb);  // what the closed window holds
  EXPECT_GE(held, 16u * 1024 - 1500);
  EXPECT_LE(held, 16u * 1024);
  uint8_t some[100];
  ASSERT_EQ(net.eb.receive(cb, some, sizeof some, net.now), sizeof some);
  EXPECT_EQ(net.eb.received_bytes(cb), held - sizeof some);
  net.b.received[cb].assign(some, some + sizeof some);
  net.b.reading = true;
  net.b.drain(cb);
  EXPECT_EQ(net.eb.received_bytes(cb), 0u);
  ASSERT_TRUE(net.run([&] {
    feed(net.ea, ca, data, &off, net.now);
    net.b.drain(cb);
    return net.b.received[cb].size() == data.size();
  }));
  EXPECT_EQ(net.b.received[cb], data);
}

TEST(Tcp, BlindResetAndSynAreChallengedNotObeyed) {
  Net net;
  net.eb.listen(853);
  const TcpConn ca = net.ea.connect(kAddrB, 853, net.now);
  ASSERT_TRUE(net.run([&] { return !net.b.accepted.empty(); }));
  const TcpConn cb = net.b.accepted[0];
  // An attacker's RST with an in-window but inexact sequence number (RFC 5961 3.2).
  net.b.record = true;
  uint8_t seg[kTcpHeader];
  // Find B's rcv_nxt from A's next segment: send one byte and capture it.
  const uint8_t one = 'x';
  net.a.record = true;
  net.ea.send(ca, &one, 1, net.now);
  ASSERT_FALSE(net.a.sent_segments.empty());
  TcpSegment data;
  const Bytes& d = net.a.sent_segments.back();
  ASSERT_EQ(parse_tcp(d.data(), d.size(), 0, &data, false), Drop::kNone);
  ASSERT_TRUE(net.run([&] { return net.b.received[cb].size() == 1; }));
  const uint32_t rcv_nxt = data.seq + 1;
  for (uint8_t flags : {uint8_t{kTcpRst}, uint8_t(kTcpSyn)}) {
    net.now += 200'000;  // challenge ACKs are rate-limited (RFC 5961 7)
    const size_t before = net.eb.stats().challenge_acks;
    write_tcp(seg, net.ea.local_port(ca), 853, rcv_nxt + 100, 0, flags, 0, TcpSendOptions{}, 0,
              ipv4_pseudo_sum(kAddrA, kAddrB, kProtoTCP, kTcpHeader));
    net.eb.input(kAddrA, seg, sizeof seg, net.now);
    EXPECT_EQ(net.eb.stats().challenge_acks, before + 1) << int(flags);
    EXPECT_EQ(net.eb.state(cb), TcpState::kEstablished);
  }
  // A burst of blind RSTs earns one challenge ACK, not one each.
  const size_t before_burst = net.eb.stats().challenge_acks;
  net.now += 200'000;
  for (int i = 0; i < 50; ++i) {
    write_tcp(seg, net.ea.local_port(ca), 853, rcv_nxt + 10 + i, 0, kTcpRst, 0, TcpSendOptions{}, 0,
              ipv4_pseudo_sum(kAddrA, kAddrB, kProtoTCP, kTcpHeader));
    net.eb.input(kAddrA, seg, sizeof seg, net.now);
  }
  EXPECT_EQ(net.eb.stats().challenge_acks, before_burst + 1);
  // The exact sequence number does reset it.
  write_tcp(seg, net.ea.local_port(ca), 853, rcv_nxt, 0, kTcpRst, 0, TcpSendOptions{}, 0,
            ipv4_pseudo_sum(kAddrA, kAddrB, kProtoTCP, kTcpHeader));
  net.eb.input(kAddrA, seg, sizeof seg, net.now);
  ASSERT_EQ(net.b.closed.count(cb), 1u);
  EXPECT_EQ(net.b.closed[cb], TcpCloseReason::kReset);
}

TEST(Tcp, StraySegmentsGetResets) {
  Net net;
  net.b.record = true;
  uint8_t seg[kTcpHeader];
  write_tcp(seg, 40000, 853, 1000, 5000, kTcpAck, 100, TcpSendOptions{}, 0,
            ipv4_pseudo_sum(kAddrA, kAddrB, kProtoTCP, kTcpHeader));
  net.eb.input(kAddrA, seg, sizeof seg, net.now);
  ASSERT_EQ(net.b.sent_segments.size(), 1u);
  TcpSegment rst;
  ASSERT_EQ(parse_tcp(net.b.sent_segments[0].data(), kTcpHeader, 0, &rst, false), Drop::kNone);
  EXPECT_EQ(rst.flags, kTcpRst);
  EXPECT_EQ(rst.seq, 5000u);  // SEQ = SEG.ACK
  // A RST is never answered.
  write_tcp(seg, 40000, 853, 1000, 0, kTcpRst, 0, TcpSendOptions{}, 0,
            ipv4_pseudo_sum(kAddrA, kAddrB, kProtoTCP, kTcpHeader));
  net.eb.input(kAddrA, seg, sizeof seg, net.now);
  EXPECT_EQ(net.b.sent_segments.size(), 1u);
  // A corrupted checksum is dropped with its reason.
  seg[5] ^= 1;
  EXPECT_EQ(net.eb.input(kAddrA, seg, sizeof seg, net.now), Drop::kTcpBadChecksum);
}

TEST(Tcp, AbortSendsResetAndPeerSeesIt) {
  Net net;
  net.eb.listen(853);
  const TcpConn ca = net.ea.connect(kAddrB, 853, net.now);
  ASSERT_TRUE(net.run([&] { return !net.b.accepted.empty(); }));
  const TcpConn cb = net.b.accepted[0];
  net.ea.abort(ca);
  EXPECT_EQ(net.ea.connections(), 0u);
  ASSERT_TRUE(net.run([&] { return net.b.closed.count(cb) > 0; }, 1'000'000));
  EXPECT_EQ(net.b.closed[cb], TcpCloseReason::kReset);
}

}  // namespace
}  // namespace dotgate::net
