// Tests for what net/tcp.h does about scale and the second address family: TCP over IPv6
// (Tcp6Engine, ICMPv6 "packet too big"), SYN cookies past the backlog, and the pooled send
// and receive buffers that let idle connections hold none.
#include <gtest/gtest.h>

#include "net/icmpv6.h"
#include "net/ipv6.h"
#include "net/tcp.h"
#include "unit/net/tcp_test_util.h"

namespace dotgate::net {
namespace {

// Transfers `up` from A to B and `down` back on connection (ca, cb); true when both arrive.
template <class NetT>
bool transfer(NetT& net, TcpConn ca, TcpConn cb, const Bytes& up, const Bytes& down) {
  size_t up_off = 0, down_off = 0;
  return net.run([&] {
    feed(net.ea, ca, up, &up_off, net.now);
    feed(net.eb, cb, down, &down_off, net.now);
    return net.b.received[cb].size() == up.size() && net.a.received[ca].size() == down.size();
  });
}

TEST(Tcp6, HandshakeTransferBothWaysAndClose) {
  Net6 net;
  net.eb.listen(853);
  const TcpConn ca = net.ea.connect(kAddr6B, 853, net.now);
  ASSERT_NE(ca, kNoConn);
  ASSERT_TRUE(net.run([&] { return !net.a.connected.empty() && !net.b.accepted.empty(); }));
  const TcpConn cb = net.b.accepted[0];
  EXPECT_EQ(net.eb.remote_address(cb), kAddr6A);
  const Bytes up = random_bytes(100'000, 61), down = random_bytes(70'000, 62);
  ASSERT_TRUE(transfer(net, ca, cb, up, down));
  EXPECT_EQ(net.b.received[cb], up);
  EXPECT_EQ(net.a.received[ca], down);
  net.ea.close(ca, net.now);
  ASSERT_TRUE(net.run([&] { return net.eb.peer_closed(cb); }));
  net.eb.close(cb, net.now);
  ASSERT_TRUE(net.run([&] { return net.ea.connections() == 0 && net.eb.connections() == 0; }, 10'000'000));
  EXPECT_EQ(net.a.closed[ca], TcpCloseReason::kNormal);
}

TEST(Tcp6, ManyConnectionsThroughLossReorderingAndDuplication) {
  ImpairmentConfig impair;
  impair.loss_ppm = 30'000;
  impair.duplicate_ppm = 10'000;
  impair.reorder_ppm = 50'000;
  impair.delay_us = 2000;
  impair.seed = 606;
  Net6 net(impair);
  net.eb.listen(53);
  constexpr int kConns = 20;
  std::vector<TcpConn> client;
  for (int i = 0; i < kConns; ++i) client.push_back(net.ea.connect(kAddr6B, 53, net.now));
  ASSERT_TRUE(net.run([&] { return net.b.accepted.size() == kConns; }));
  std::map<uint16_t, TcpConn> by_port;  // server connection by the client's port
  for (TcpConn s : net.b.accepted) by_port[net.eb.remote_port(s)] = s;
  std::vector<Bytes> data;
  std::vector<size_t> off(kConns, 0);
  for (int i = 0; i < kConns; ++i) data.push_back(random_bytes(20'000 + 997 * i, 700 + i));
  ASSERT_TRUE(net.run([&] {
    bool all = true;
    for (int i = 0; i < kConns; ++i) {
      feed(net.ea, client[i], data[i], &off[i], net.now);
      all = all && net.b.received[by_port[net.ea.local_port(client[i])]].size() == data[i].size();
    }
    return all;
  }));
  for (int i = 0; i < kConns; ++i) EXPECT_EQ(net.b.received[by_port[net.ea.local_port(client[i])]], data[i]);
  EXPECT_GT(net.ea.stats().retransmits, 0u);
}

TEST(Tcp6, PacketTooBigLowersTheMssAndResends) {
  Net6 net;
  net.eb.listen(853);
  const TcpConn ca = net.ea.connect(kAddr6B, 853, net.now);
  ASSERT_TRUE(net.run([&] { return !net.b.accepted.empty(); }));
  const TcpConn cb = net.b.accepted[0];
  net.a.record = true;
  const Bytes data = random_bytes(10'000, 63);
  net.ea.send(ca, data.data(), data.size(), net.now);
  ASSERT_FALSE(net.a.sent_segments.empty());
  const Bytes big = net.a.sent_segments[0];
  ASSERT_GT(big.size(), 1300u);
  // A router on the path: packet too big, MTU 1280, quoting our IPv6 header and segment.
  Bytes icmp = {kIcmp6PacketTooBig, 0, 0, 0, 0, 0, 0x05, 0x00};
  Bytes quoted_ip(kIpv6Header);
  write_ipv6(quoted_ip.data(), kAddr6A, kAddr6B, kProtoTCP, big.size());
  icmp.insert(icmp.end(), quoted_ip.begin(), quoted_ip.end());
  icmp.insert(icmp.end(), big.begin(), big.begin() + 8);
  // One quoting a sequence number we never sent is ignored (RFC 5927).
  Bytes forged = icmp;
  forged[8 + 40 + 4] ^= 0x80;
  net.ea.icmp_error(forged.data(), forged.size(), net.now);
  EXPECT_EQ(net.ea.stats().pmtu_reductions, 0u);
  // So is a report below the IPv6 minimum MTU: it is raised to 1280, as RFC 8201 says.
  Bytes tiny = icmp;
  tiny[6] = 0x01;
  tiny[7] = 0x00;  // 256
  net.a.sent_segments.clear();
  net.ea.icmp_error(tiny.data(), tiny.size(), net.now);
  EXPECT_EQ(net.ea.stats().pmtu_reductions, 1u);
  ASSERT_FALSE(net.a.sent_segments.empty());
  for (const Bytes& seg : net.a.sent_segments) EXPECT_LE(seg.size() + kIpv6Header, 1280u);
  ASSERT_TRUE(net.run([&] { return net.b.received[cb].size() == data.size(); }));
  EXPECT_EQ(net.b.received[cb], data);
}

// A client that speaks raw segments to engine B of a Net, for handshakes we forge.
template <class F>
struct RawClient {
  BasicNet<F>& net;
  typename F::Addr addr;
  uint16_t port;
  uint32_t isn = 1000;

  Drop send(uint8_t flags, uint32_t seq, uint32_t ack, const TcpSendOptions& o = {}, const Bytes& payload = {}) {
    uint8_t buf[kTcpMaxHeader + 1500];
    const size_t h = tcp_header_size(o);
    std::copy(payload.begin(), payload.end(), buf + h);
    const size_t len = h + payload.size();
    write_tcp(buf, port, 853, seq, ack, flags, 65535, o, payload.size(),
              F::pseudo_sum(addr, Addresses<F>::b(), len));
    return net.eb.input(addr, buf, len, net.now);
  }
  // Sends a SYN and returns B's answer, parsed.
  TcpSegment syn(const TcpSendOptions& o) {
    net.b.record = true;
    net.b.sent_segments.clear();
    send(kTcpSyn, isn, 0, o);
    net.b.record = false;
    EXPECT_EQ(net.b.sent_segments.size(), 1u);
    TcpSegment s;
    EXPECT_EQ(parse_tcp(net.b.sent_segments.at(0).data(), net.b.sent_segments[0].size(), 0, &s, false), Drop::kNone);
    return s;
  }
};

TcpSendOptions syn_options(bool timestamps) {
  TcpSendOptions o;
  o.mss = 1460;
  o.window_scale = 7;
  o.timestamps = timestamps;
  o.ts_value = 5000;
  return o;
}

TEST(TcpSynCookies, PastTheBacklogConnectionsOpenThroughCookiesAndCarryData) {
  Net::Config cb = Net::config(kAddrB);
  cb.syn_backlog = 0;  // every SYN gets a cookie
  Net net({}, Net::config(kAddrA), cb);
  net.eb.listen(853);
  constexpr int kConns = 10;
  std::vector<TcpConn> client;
  for (int i = 0; i < kConns; ++i) client.push_back(net.ea.connect(kAddrB, 853, net.now));
  ASSERT_TRUE(net.run([&] { return net.b.accepted.size() == kConns; }));
  EXPECT_EQ(net.eb.stats().syn_cookies_sent, static_cast<uint64_t>(kConns));
  EXPECT_EQ(net.eb.stats().syn_cookies_accepted, static_cast<uint64_t>(kConns));
  EXPECT_EQ(net.eb.stats().syn_cookies_rejected, 0u);
  EXPECT_EQ(net.eb.connections(), static_cast<size_t>(kConns));
  // The window scale came back through the timestamp: 300 kB flow B -> A through a 16 kB
  // window take a few dozen round trips; unscaled (128-byte window) they would take
  // thousands, far past this limit of simulated time.
  const Bytes up = random_bytes(50'000, 64), down = random_bytes(300'000, 65);
  std::map<uint16_t, TcpConn> by_port;
  for (TcpConn s : net.b.accepted) by_port[net.eb.remote_port(s)] = s;
  const TcpConn ca = client[3], cbc = by_port[net.ea.local_port(client[3])];
  size_t up_off = 0, down_off = 0;
  ASSERT_TRUE(net.run(
      [&] {
        feed(net.ea, ca, up, &up_off, net.now);
        feed(net.eb, cbc, down, &down_off, net.now);
        return net.b.received[cbc].size() == up.size() && net.a.received[ca].size() == down.size();
      },
      1'000'000));
  EXPECT_EQ(net.b.received[cbc], up);
  EXPECT_EQ(net.a.received[ca], down);
}

TEST(TcpSynCookies, WithoutTimestampsTheyStillOpenUnscaled) {
  Net::Config ca = Net::config(kAddrA), cb = Net::config(kAddrB);
  ca.timestamps = false;
  cb.syn_backlog = 0;
  Net net({}, ca, cb);
  net.eb.listen(853);
  const TcpConn c = net.ea.connect(kAddrB, 853, net.now);
  ASSERT_TRUE(net.run([&] { return !net.b.accepted.empty(); }));
  const Bytes up = random_bytes(40'000, 66), down = random_bytes(40'000, 67);
  ASSERT_TRUE(transfer(net, c, net.b.accepted[0], up, down));
  EXPECT_EQ(net.b.received[net.b.accepted[0]], up);
  EXPECT_EQ(net.a.received[c], down);
  EXPECT_EQ(net.eb.stats().syn_cookies_accepted, 1u);
}

TEST(TcpSynCookies, TheCookieCarriesTheMssAndDataOnTheThirdSegmentIsKept) {
  Net::Config cb = Net::config(kAddrB);
  cb.syn_backlog = 0;
  Net net({}, Net::config(kAddrA), cb);
  net.eb.listen(853);
  RawClient<TcpIpv4> raw{net, kAddrA, 40000};
  TcpSendOptions o = syn_options(true);
  o.mss = 1300;  // rounds down to 1280 in the cookie's table
  const TcpSegment synack = raw.syn(o);
  EXPECT_EQ(synack.flags, kTcpSyn | kTcpAck);
  EXPECT_EQ(synack.ack, raw.isn + 1);
  EXPECT_EQ(net.eb.connections(), 0u);  // no state until the ACK
  TcpSendOptions ack_opts;
  ack_opts.timestamps = true;
  ack_opts.ts_value = 5001;
  ack_opts.ts_echo = synack.options.ts_value;
  const Bytes hello = {'h', 'e', 'l', 'l', 'o'};
  raw.send(kTcpAck | kTcpPsh, raw.isn + 1, synack.seq + 1, ack_opts, hello);
  ASSERT_EQ(net.b.accepted.size(), 1u);
  const TcpConn c = net.b.accepted[0];
  EXPECT_EQ(net.eb.state(c), TcpState::kEstablished);
  EXPECT_EQ(net.b.received[c], hello);
  // Data B sends goes out in segments of the MSS the cookie kept: 1280 less 12 bytes of
  // timestamp option.
  net.b.record = true;
  const Bytes big = random_bytes(4000, 68);
  EXPECT_EQ(net.eb.send(c, big.data(), big.size(), net.now), big.size());
  uint32_t largest = 0;
  for (const Bytes& seg : net.b.sent_segments) {
    TcpSegment parsed;
    ASSERT_EQ(parse_tcp(seg.data(), seg.size(), 0, &parsed, false), Drop::kNone);
    largest = std::max<uint32_t>(largest, parsed.payload_len);
  }
  EXPECT_EQ(largest, 1280u - 12u);
}

TEST(TcpSynCookies, ForgedAndStaleCookiesAreRefused) {
  Net::Config cb = Net::config(kAddrB);
  cb.syn_backlog = 0;
  Net net({}, Net::config(kAddrA), cb);
  net.eb.listen(853);
  // Before any cookie was sent, a stray ACK is not even checked: it gets a RST.
  RawClient<TcpIpv4> stray{net, kAddrA, 40001};
  stray.send(kTcpAck, 77, 12345);
  EXPECT_EQ(net.eb.stats().syn_cookies_rejected, 0u);
  EXPECT_EQ(net.eb.stats().resets_sent, 1u);

  RawClient<TcpIpv4> raw{net, kAddrA, 40002};
  const TcpSegment synack = raw.syn(syn_options(false));
  // A guessed cookie, and the right cookie from another port, are refused with a RST.
  raw.send(kTcpAck, raw.isn + 1, synack.seq + 2);
  RawClient<TcpIpv4> other{net, kAddrA, 40003};
  other.send(kTcpAck, raw.isn + 1, synack.seq + 1);
  EXPECT_EQ(net.eb.stats().syn_cookies_rejected, 2u);
  EXPECT_EQ(net.eb.stats().resets_sent, 3u);
  EXPECT_EQ(net.eb.connections(), 0u);
  // Two periods later the cookie has expired.
  net.now += 127'000'000;
  raw.send(kTcpAck, raw.isn + 1, synack.seq + 1);
  EXPECT_EQ(net.eb.stats().syn_cookies_rejected, 3u);
  EXPECT_EQ(net.eb.connections(), 0u);
  // A fresh one works.
  RawClient<TcpIpv4> late{net, kAddrA, 40004};
  const TcpSegment fresh = late.syn(syn_options(false));
  late.send(kTcpAck, late.isn + 1, fresh.seq + 1);
  EXPECT_EQ(net.eb.stats().syn_cookies_accepted, 1u);
  EXPECT_EQ(net.eb.connections(), 1u);
}

TEST(TcpSynCookies, BelowTheBacklogSynsKeepState) {
  Net::Config cb = Net::config(kAddrB);
  cb.syn_backlog = 2;
  Net net({}, Net::config(kAddrA), cb);
  net.eb.listen(853);
  for (uint16_t p = 0; p < 4; ++p) {
    RawClient<TcpIpv4> raw{net, kAddrA, static_cast<uint16_t>(41000 + p)};
    raw.syn(syn_options(true));
  }
  // Two half-open connections took the backlog; the other two SYNs got cookies.
  EXPECT_EQ(net.eb.connections(), 2u);
  EXPECT_EQ(net.eb.stats().syn_cookies_sent, 2u);
  // Half-open connections that time out give their backlog places back.
  net.run([&] { return net.eb.connections() == 0; }, 200'000'000);
  ASSERT_EQ(net.eb.connections(), 0u);
  RawClient<TcpIpv4> again{net, kAddrA, 42000};
  again.syn(syn_options(true));
  EXPECT_EQ(net.eb.connections(), 1u);
  EXPECT_EQ(net.eb.stats().syn_cookies_sent, 2u);
}

TEST(TcpSynCookies, OverIpv6Too) {
  Net6::Config cb = Net6::config(kAddr6B);
  cb.syn_backlog = 0;
  Net6 net({}, Net6::config(kAddr6A), cb);
  net.eb.listen(853);
  const TcpConn c = net.ea.connect(kAddr6B, 853, net.now);
  ASSERT_TRUE(net.run([&] { return !net.b.accepted.empty(); }));
  const Bytes up = random_bytes(30'000, 69), down = random_bytes(30'000, 70);
  ASSERT_TRUE(transfer(net, c, net.b.accepted[0], up, down));
  EXPECT_EQ(net.a.received[c], down);
  EXPECT_EQ(net.eb.stats().syn_cookies_accepted, 1u);
}

TEST(TcpBuffers, IdleConnectionsHoldNoBuffers) {
  Net::Config ca = Net::config(kAddrA), cb = Net::config(kAddrB);
  ca.send_buffers = ca.receive_buffers = 4;
  cb.send_buffers = cb.receive_buffers = 4;
  Net net({}, ca, cb);
  net.eb.listen(53);
  constexpr int kConns = 100;  // far more connections than buffers
  std::vector<TcpConn> client;
  for (int i = 0; i < kConns; ++i) client.push_back(net.ea.connect(kAddrB, 53, net.now));
  ASSERT_TRUE(net.run([&] { return net.b.accepted.size() == kConns; }));
  EXPECT_EQ(net.ea.buffers_in_use(), 0u);
  EXPECT_EQ(net.eb.buffers_in_use(), 0u);
  // Each connection in turn sends a query and gets an answer; buffers come and go.
  std::map<uint16_t, TcpConn> by_port;
  for (TcpConn s : net.b.accepted) by_port[net.eb.remote_port(s)] = s;
  for (int i = 0; i < kConns; ++i) {
    const TcpConn s = by_port[net.ea.local_port(client[i])];
    const Bytes q = random_bytes(60, 800 + i), a = random_bytes(300, 900 + i);
    ASSERT_TRUE(transfer(net, client[i], s, q, a));
    EXPECT_EQ(net.b.received[s], q);
    EXPECT_EQ(net.a.received[client[i]], a);
    // Sent bytes keep their buffer until acknowledged (a delayed ACK), then it goes back.
    ASSERT_TRUE(net.run([&] { return net.ea.buffers_in_use() == 0 && net.eb.buffers_in_use() == 0; }));
  }
  EXPECT_EQ(net.ea.stats().buffer_exhausted + net.eb.stats().buffer_exhausted, 0u);
}

TEST(TcpBuffers, AnEmptyPoolShedsLoadAndLosesNoByte) {
  Net::Config ca = Net::config(kAddrA), cb = Net::config(kAddrB);
  ca.send_buffers = 2;     // two connections at a time may have unacknowledged bytes
  cb.receive_buffers = 1;  // and one may have unread bytes at B
  Net net({}, ca, cb);
  net.eb.listen(53);
  net.b.reading = false;  // B's reader stalls: the first connection keeps the only buffer
  constexpr int kConns = 4;
  std::vector<TcpConn> client;
  for (int i = 0; i < kConns; ++i) client.push_back(net.ea.connect(kAddrB, 53, net.now));
  ASSERT_TRUE(net.run([&] { return net.b.accepted.size() == kConns; }));
  std::vector<Bytes> data;
  std::vector<size_t> off(kConns, 0);
  for (int i = 0; i < kConns; ++i) data.push_back(random_bytes(40'000, 1000 + i));
  feed(net.ea, client[0], data[0], &off[0], net.now);
  feed(net.ea, client[1], data[1], &off[1], net.now);
  feed(net.ea, client[2], data[2], &off[2], net.now);
  EXPECT_GT(off[0], 0u);
  EXPECT_GT(off[1], 0u);
  EXPECT_EQ(off[2], 0u);  // the send pool is empty: refused and counted
  EXPECT_EQ(net.ea.stats().buffer_exhausted, 1u);
  // Connection 0's bytes hold B's only receive buffer; connection 1's are dropped there.
  net.run([&] { return false; }, 200'000);
  EXPECT_GE(net.eb.stats().buffer_exhausted, 1u);
  net.b.reading = true;
  std::map<uint16_t, TcpConn> by_port;
  for (TcpConn s : net.b.accepted) by_port[net.eb.remote_port(s)] = s;
  ASSERT_TRUE(net.run([&] {
    bool all = true;
    for (int i = 0; i < kConns; ++i) {
      feed(net.ea, client[i], data[i], &off[i], net.now);
      const TcpConn s = by_port[net.ea.local_port(client[i])];
      net.b.drain(s);
      all = all && net.b.received[s].size() == data[i].size();
    }
    return all;
  }));
  for (int i = 0; i < kConns; ++i) EXPECT_EQ(net.b.received[by_port[net.ea.local_port(client[i])]], data[i]);
  ASSERT_TRUE(net.run([&] { return net.ea.buffers_in_use() == 0 && net.eb.buffers_in_use() == 0; }));
}

}  // namespace
}  // namespace dotgate::net
