// The whole worker in-process: its frames cross a simulated Ethernet link (the project's
// impairment stage: loss, duplication, reordering, delay) to a peer host that is both its
// DNS client (UDP) and its upstream: a DoT server made of our own TCP engine and an OpenSSL
// server session, with certificates made at run time, answering in shuffled order. Checks
// thousands of queries matched and intact through the lossy link, resumption on
// reconnect, and a certificate for another name refused with SERVFAIL.
#include "worker/worker.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "dns/wire.h"
#include "net/impairment.h"
#include "net/ipv4.h"
#include "tls/dot_framing.h"
#include "unit/tls/tls_test_util.h"

namespace dotgate::worker {
namespace {

using tls::testutil::Pki;
using tls::testutil::TempDir;

constexpr uint32_t kWorkerIp = 0xc0000202;  // 192.0.2.2
constexpr uint32_t kPeerIp = 0xc0000235;    // 192.0.2.53: tls::testutil::kAddress
const net::MacAddr kWorkerMac{{2, 0, 0, 0, 0, 2}};
const net::MacAddr kPeerMac{{2, 0, 0, 0, 0, 0x53}};

// Heap buffers as packets; what the worker transmits goes into the link toward the peer.
class Packets final : public PacketIo {
 public:
  static constexpr size_t kSize = 2048;
  explicit Packets(size_t n) : memory_(n * kSize), length_(n) {
    for (size_t i = n; i-- > 0;) free_.push_back(static_cast<uint32_t>(i));
  }
  uint64_t alloc(uint8_t** data, size_t* cap) override {
    if (free_.empty()) return 0;
    const uint32_t i = free_.back();
    free_.pop_back();
    *data = &memory_[size_t{i} * kSize];
    *cap = kSize;
    return uint64_t{i} + 1;
  }
  uint8_t* data(uint64_t h) override { return &memory_[(h - 1) * kSize]; }
  size_t length(uint64_t h) override { return length_[h - 1]; }
  void set_length(uint64_t h, size_t len) override { length_[h - 1] = len; }
  void transmit(uint64_t h) override {
    out->offer(data(h), length(h), *now);
    release(h);
  }
  void release(uint64_t h) override { free_.push_back(static_cast<uint32_t>(h - 1)); }
  size_t in_use() const { return length_.size() - free_.size(); }
  // A received frame, copied into a fresh buffer (0: none free).
  uint64_t copy_in(const uint8_t* frame, size_t len) {
    uint8_t* d;
    size_t cap;
    const uint64_t h = alloc(&d, &cap);
    if (h == 0) return 0;
    std::memcpy(d, frame, len);
    set_length(h, len);
    return h;
  }

  net::Impairment* out = nullptr;
  const uint64_t* now = nullptr;

 private:
  std::vector<uint8_t> memory_;
  std::vector<size_t> length_;
  std::vector<uint32_t> free_;
};

// The peer: a DNS client over UDP, and an upstream DoT server on our own TCP.
class Peer final : public net::TcpHandler {
 public:
  struct Conn;
  // The TLS session's byte stream over one of the peer's TCP connections.
  struct Stream final : tls::CipherStream {
    Peer* p;
    net::TcpConn c;
    size_t receive(uint8_t* out, size_t cap) override { return p->tcp.receive(c, out, cap, p->now); }
    size_t send(const uint8_t* d, size_t n) override { return p->tcp.send(c, d, n, p->now); }
    bool ended() const override { return p->tcp.peer_closed(c); }
  };
  struct Conn {
    Stream stream;
    std::unique_ptr<tls::TlsSession> session;
    tls::DotReassembler reassembler;
    std::vector<std::vector<uint8_t>> queries;  // waiting to be answered, in shuffled order
    std::vector<uint8_t> out;
  };

  Peer(tls::ServerContext& server, net::Impairment& to_worker, uint64_t now_us)
      : host(host_config()), tcp(tcp_config(), *this, now_us), server_(server), to_worker_(to_worker) {
    tcp.listen(853);
  }

  static net::Ipv4HostConfig host_config() {
    net::Ipv4HostConfig h;
    h.mac = kPeerMac;
    h.address = kPeerIp;
    h.prefix_len = 24;
    h.udp_ports = net::UdpPorts{{5300, 0, 0, 0}};
    return h;
  }
  static net::TcpConfig tcp_config() {
    net::TcpConfig t;
    t.local_address = kPeerIp;
    t.max_connections = 64;
    return t;
  }

  // A frame from the worker.
  void receive(uint8_t* frame, size_t len) {
    const net::RxResult r = host.receive(frame, len, now / 1000, neighbors, actions);
    actions.clear();
    if (r.kind == net::RxKind::kReplyInPlace) {
      to_worker_.offer(frame, r.reply_len, now);
    } else if (r.kind == net::RxKind::kTcp) {
      tcp.input(r.src_ip, frame + r.l4_offset, r.l4_len, now);
    } else if (r.kind == net::RxKind::kUdp) {
      answers.emplace_back(frame + r.payload_offset, frame + r.payload_offset + r.payload_len);
    }
  }
  // A DNS query from the client to the worker's port 53.
  void ask(const std::vector<uint8_t>& query) {
    uint8_t frame[2048];
    std::memcpy(frame + host.udp_payload_offset(), query.data(), query.size());
    const size_t n = host.build_udp(frame, kWorkerMac, kWorkerIp, 5300, 53, query.size(), ip_id++);
    to_worker_.offer(frame, n, now);
  }
  // Answers what the upstream side has collected, in shuffled order.
  void serve() {
    for (auto& [c, conn] : conns) {
      std::shuffle(conn->queries.begin(), conn->queries.end(), rng);
      for (const auto& q : conn->queries) {
        const std::vector<uint8_t> a = answer_to(q);
        conn->out.push_back(static_cast<uint8_t>(a.size() >> 8));
        conn->out.push_back(static_cast<uint8_t>(a.size()));
        conn->out.insert(conn->out.end(), a.begin(), a.end());
        ++answered;
      }
      conn->queries.clear();
      flush(*conn);
    }
  }
  // Closes every upstream connection cleanly (close_notify, FIN).
  void close_all() {
    for (auto& [c, conn] : conns) {
      conn->session->shutdown();
      tcp.close(c, now);
    }
  }

  // The address an upstream answers with for "qN.example.test": 10.0.N/256.N%256.
  static std::vector<uint8_t> answer_to(const std::vector<uint8_t>& q) {
    size_t end = dns::kHeaderSize;
    while (q[end] != 0) end += q[end] + 1u;
    end += 5;
    std::vector<uint8_t> a(q.begin(), q.begin() + static_cast<long>(end));
    a[2] = 0x81;
    a[3] = 0x80;
    a[6] = 0, a[7] = 1, a[10] = 0, a[11] = 0;
    const uint32_t n = static_cast<uint32_t>(std::stoul(std::string(q.begin() + 13, q.begin() + 13 + q[12])));
    const uint8_t rr[] = {0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0x0e, 0x10, 0, 4,
                          10, 0, static_cast<uint8_t>(n >> 8), static_cast<uint8_t>(n)};
    a.insert(a.end(), rr, rr + sizeof rr);
    return a;
  }

  void send_segment(uint32_t remote, const uint8_t* seg, size_t len) override {
    uint8_t frame[2048];
    const size_t l2 = net::write_ethernet(frame, kWorkerMac, kPeerMac, net::kNoVlan, net::kEtherIPv4);
    std::memcpy(frame + l2 + net::kIpv4Header, seg, len);
    net::write_ipv4(frame + l2, kPeerIp, remote, net::kProtoTCP, len, ip_id++);
    to_worker_.offer(frame, l2 + net::kIpv4Header + len, now);
  }
  void on_accept(net::TcpConn c) override {
    auto conn = std::make_unique<Conn>();
    conn->stream.p = this;
    conn->stream.c = c;
    auto made = tls::TlsSession::server(server_, conn->stream);
    ASSERT_TRUE(std::holds_alternative<std::unique_ptr<tls::TlsSession>>(made));
    conn->session = std::move(std::get<std::unique_ptr<tls::TlsSession>>(made));
    conns[c] = std::move(conn);
    ++accepted;
  }
  void on_readable(net::TcpConn c) override {
    auto it = conns.find(c);
    if (it == conns.end()) return;
    Conn& conn = *it->second;
    if (conn.session->handshake() != tls::TlsResult::kDone) return;
    if (conn.session->resumed()) ++resumed;
    uint8_t buf[16384];
    for (;;) {
      size_t got = 0;
      const tls::TlsResult r = conn.session->read(buf, sizeof buf, &got);
      if (got) {
        conn.reassembler.feed(buf, got);
        const uint8_t* m;
        size_t n;
        for (tls::FrameResult f; (f = conn.reassembler.next(&m, &n)) != tls::FrameResult::kNeedMore;) {
          if (f == tls::FrameResult::kMessage) conn.queries.emplace_back(m, m + n);
        }
      }
      if (r != tls::TlsResult::kDone) break;
    }
    if (tcp.peer_closed(c)) tcp.close(c, now);
  }
  void on_writable(net::TcpConn c) override {
    auto it = conns.find(c);
    if (it != conns.end()) flush(*it->second);
  }
  void on_closed(net::TcpConn c, net::TcpCloseReason) override { conns.erase(c); }

  void flush(Conn& conn) {
    if (conn.out.empty() || conn.session->state() != tls::TlsState::kEstablished) return;
    size_t taken = 0;
    conn.session->write(conn.out.data(), conn.out.size(), &taken);
    conn.out.erase(conn.out.begin(), conn.out.begin() + static_cast<long>(taken));
  }

  uint64_t now = 0;
  net::Ipv4Host host;
  net::NeighborTable neighbors{net::NeighborConfig{}};
  net::NeighborActions actions;
  net::TcpEngine tcp;
  std::map<net::TcpConn, std::unique_ptr<Conn>> conns;
  std::vector<std::vector<uint8_t>> answers;  // what the client received
  uint16_t ip_id = 1;
  std::mt19937 rng{99};
  uint64_t accepted = 0, resumed = 0, answered = 0;

 private:
  tls::ServerContext& server_;
  net::Impairment& to_worker_;
};

std::vector<uint8_t> query_for(uint32_t n, uint16_t id) {
  const std::string label = std::to_string(n);
  std::vector<uint8_t> q = {static_cast<uint8_t>(id >> 8), static_cast<uint8_t>(id), 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0};
  q.push_back(static_cast<uint8_t>(label.size()));
  q.insert(q.end(), label.begin(), label.end());
  const uint8_t tail[] = {7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 4, 't', 'e', 's', 't', 0, 0, 1, 0, 1};
  q.insert(q.end(), tail, tail + sizeof tail);
  return q;
}

// The world: worker <-> link <-> peer, stepped in 1 ms ticks.
struct World {
  TempDir dir;
  Pki pki;
  tls::LibraryContext library = tls::new_library_context();
  std::unique_ptr<tls::ServerContext> server;
  uint64_t now = 1'000'000;
  net::Impairment to_peer, to_worker;
  Packets packets{4096};
  std::unique_ptr<Peer> peer;
  std::unique_ptr<Worker> worker;

  // With `steering`, the worker is worker `index` of its port, and every frame toward it
  // is checked against the steering as a NIC's RSS would deliver it.
  const net::FlowSteering* steering = nullptr;
  uint32_t index = 0;
  uint64_t tcp_to_worker = 0, misdelivered = 0;

  World(const net::ImpairmentConfig& impair, const std::string& upstream_name,
        const net::FlowSteering* steer = nullptr, uint32_t worker_index = 0)
      : to_peer(impair), to_worker(reseeded(impair)) {
    steering = steer;
    index = worker_index;
    auto leaf = pki.leaf();
    const auto [chain, key] = pki.server_files(dir, leaf.get(), pki.inter.get(), "up");
    tls::ServerConfig sc;
    sc.certificate_chain_file = chain;
    sc.private_key_file = key;
    server = std::move(std::get<std::unique_ptr<tls::ServerContext>>(tls::ServerContext::create(sc, library.get(), now)));
    peer = std::make_unique<Peer>(*server, to_worker, now);
    peer->now = now;
    packets.out = &to_peer;
    packets.now = &now;

    WorkerConfig c;
    c.has_ipv4 = true;
    c.ipv4.mac = kWorkerMac;
    c.ipv4.address = kWorkerIp;
    c.ipv4.prefix_len = 24;
    ListenerConfig l;
    l.address = *net::parse_ip("192.0.2.2");
    l.udp = true;
    l.allow = {*net::parse_prefix("192.0.2.0/24")};
    c.listeners.push_back(l);
    c.cache.memory_bytes = 4 << 20;
    c.secret = 77;
    c.tls_client.ca_file = dir.write("ca.pem", tls::testutil::pem(pki.root.get()));
    c.tcp_connections = 64;
    PoolSetup p;
    p.pool.upstreams.push_back(std::get<upstream::UpstreamSpec>(upstream::parse_upstream("192.0.2.53#" + upstream_name)));
    p.pool.connections_per_upstream = 2;
    p.pool.max_outstanding = 64;
    p.pool.query_timeout_us = 400'000;
    p.pool.total_budget_us = 3'000'000;
    p.zones = {"."};
    c.pools.push_back(p);
    c.steering = steering;
    c.worker_index = index;
    worker = std::make_unique<Worker>(c, packets, now);
  }
  static net::ImpairmentConfig reseeded(net::ImpairmentConfig c) {
    c.seed ^= 0x5a5a;
    return c;
  }
  void tick() {
    now += 1000;
    peer->now = now;
    to_worker.release(now, [&](const uint8_t* f, size_t n) {
      if (steering != nullptr) {
        const net::Steering st = steering->steer(f, n);
        if (st.owner == net::FrameOwner::kWorker) {
          ++tcp_to_worker;
          misdelivered += st.worker != index;
        }
      }
      const uint64_t h = packets.copy_in(f, n);
      if (h != 0) worker->receive(h, now);
    });
    to_peer.release(now, [&](const uint8_t* f, size_t n) {
      std::vector<uint8_t> copy(f, f + n);
      copy.resize(std::max<size_t>(n, 256));
      peer->receive(copy.data(), n);
    });
    worker->poll(now);
    peer->tcp.advance(now);
    peer->serve();
  }
};

std::string describe(World& w) {
  const upstream::PoolStats& p = w.worker->pool(0).stats();
  const upstream::UpstreamStatus u = w.worker->pool(0).status(0);
  const WorkerStats& s = w.worker->stats();
  return "pool submitted=" + std::to_string(p.submitted) + " answered=" + std::to_string(p.answered) +
         " retries=" + std::to_string(p.retries) + " timeout=" + std::to_string(p.failed_timeout) +
         " no_upstream=" + std::to_string(p.failed_no_upstream) + " shed=" + std::to_string(p.shed) +
         " backlogged=" + std::to_string(p.backlogged) + "; upstream timeouts=" + std::to_string(u.timeouts) +
         " connects=" + std::to_string(u.connects) + " cfail=" + std::to_string(u.connect_failures) +
         " hfail=" + std::to_string(u.handshake_failures) + " down=" + std::to_string(u.down) +
         "; worker waiting_full=" + std::to_string(s.waiting_full) + " servfail=" + std::to_string(s.servfail) +
         " tx_no_buffer=" + std::to_string(s.tx_no_buffer);
}

TEST(Worker, ThousandsOfQueriesThroughALossyLinkAreAnsweredMatchedAndIntact) {
  net::ImpairmentConfig impair;
  impair.loss_ppm = 20'000;       // 2 % of frames, each way
  impair.duplicate_ppm = 10'000;
  impair.reorder_ppm = 30'000;
  impair.delay_us = 1000;
  impair.jitter_us = 1000;
  impair.seed = 4242;
  World w(impair, tls::testutil::kName);
  constexpr uint32_t kQueries = 3000;
  std::map<uint16_t, uint32_t> asked;  // id -> n
  std::set<uint32_t> done;
  uint32_t next = 0;
  uint16_t id = 1;
  uint64_t last_retry = 0;
  for (int t = 0; t < 60'000 && done.size() < kQueries; ++t) {
    // 100 new queries a millisecond; unanswered ones again every 300 ms, like a client.
    for (int k = 0; k < 100 && next < kQueries; ++k, ++next) {
      asked[id] = next;
      w.peer->ask(query_for(next, id++));
    }
    if (w.now - last_retry > 300'000) {
      last_retry = w.now;
      for (const auto& [qid, n] : asked) {
        if (!done.count(n)) w.peer->ask(query_for(n, qid));
      }
    }
    w.tick();
    for (const auto& a : w.peer->answers) {
      ASSERT_GE(a.size(), 12u);
      const uint16_t qid = static_cast<uint16_t>(a[0] << 8 | a[1]);
      ASSERT_TRUE(asked.count(qid));
      const uint32_t n = asked[qid];
      const std::vector<uint8_t> q = query_for(n, qid);
      ASSERT_EQ((a[3] & 0xf), 0) << "rcode for " << n << " at " << w.now << ": " << describe(w);
      ASSERT_EQ(std::vector<uint8_t>(a.begin() + 12, a.begin() + static_cast<long>(q.size())),
                std::vector<uint8_t>(q.begin() + 12, q.end()));
      // The A record's address names the query it answers.
      ASSERT_EQ(a[a.size() - 2], static_cast<uint8_t>(n >> 8));
      ASSERT_EQ(a[a.size() - 1], static_cast<uint8_t>(n));
      done.insert(n);
    }
    w.peer->answers.clear();
  }
  EXPECT_EQ(done.size(), kQueries);
  EXPECT_GE(w.peer->answered, kQueries);  // some twice: retries overtook their answers
  const upstream::UpstreamPool& pool = w.worker->pool(0);
  EXPECT_EQ(pool.stats().mismatched_answers, 0u);
  EXPECT_GT(w.worker->tcp_stats(false).retransmits, 0u);  // the loss was real
  EXPECT_LE(w.packets.in_use(), 8u);
}

TEST(Worker, AReconnectResumesTheTlsSession) {
  World w({}, tls::testutil::kName);
  w.peer->ask(query_for(1, 1));
  for (int t = 0; t < 2000 && w.peer->answers.empty(); ++t) w.tick();
  ASSERT_EQ(w.peer->answers.size(), 1u);
  EXPECT_FALSE(w.worker->upstream_tls(0, 0).resumed);
  EXPECT_EQ(w.worker->upstream_tls(0, 0).verified_name, tls::testutil::kName);
  // The upstream closes its connections (a restart, or its idle timeout).
  w.peer->close_all();
  for (int t = 0; t < 500; ++t) w.tick();
  w.peer->answers.clear();
  w.peer->ask(query_for(2, 2));
  for (int t = 0; t < 2000 && w.peer->answers.empty(); ++t) w.tick();
  ASSERT_EQ(w.peer->answers.size(), 1u);
  EXPECT_TRUE(w.worker->upstream_tls(0, 0).resumed);
  EXPECT_GE(w.peer->resumed, 1u);
}

// Worker 2 of 3 on a port: every connection it opens to the upstream has a local port
// whose replies RSS (the steering's Toeplitz hash and table) brings back to worker 2.
TEST(Worker, UpstreamConnectionsTakePortsWhoseRepliesComeBackToTheirWorker) {
  const net::FlowSteering steering(3, 128);
  World w({}, tls::testutil::kName, &steering, 2);
  uint16_t id = 1;
  for (int round = 0; round < 4; ++round) {  // connections closed between rounds: new ports
    for (uint32_t k = 0; k < 20; ++k, ++id) w.peer->ask(query_for(id, id));
    for (int t = 0; t < 3000 && w.peer->answers.size() < 20; ++t) w.tick();
    ASSERT_EQ(w.peer->answers.size(), 20u) << describe(w);
    for (const auto& a : w.peer->answers) EXPECT_EQ(a[3] & 0xf, 0);
    w.peer->answers.clear();
    w.peer->close_all();
    for (int t = 0; t < 500; ++t) w.tick();
  }
  EXPECT_GE(w.worker->pool(0).status(0).connects, 4u);
  EXPECT_GT(w.tcp_to_worker, 20u);
  EXPECT_EQ(w.misdelivered, 0u);
}

// Two ports: clients on port 0 (203.0.113.0/24), the upstream on port 1's subnet. Queries
// come in on port 0 and their answers leave by it; the upstream connection opens on port 1,
// the port the upstream is on-link to; nothing crosses over.
TEST(Worker, ClientsOnOnePortUpstreamsThroughTheOther) {
  TempDir dir;
  Pki pki;
  tls::LibraryContext library = tls::new_library_context();
  uint64_t now = 1'000'000;
  auto leaf = pki.leaf();
  const auto [chain, key] = pki.server_files(dir, leaf.get(), pki.inter.get(), "up");
  tls::ServerConfig sc;
  sc.certificate_chain_file = chain;
  sc.private_key_file = key;
  auto server = std::move(std::get<std::unique_ptr<tls::ServerContext>>(tls::ServerContext::create(sc, library.get(), now)));
  net::Impairment to_worker0({}), to_client({}), to_worker1({}), to_peer({});
  Packets port0(1024), port1(2048);
  port0.out = &to_client;
  port0.now = &now;
  port1.out = &to_peer;
  port1.now = &now;
  Peer peer(*server, to_worker1, now);
  peer.now = now;

  constexpr uint32_t kClientSideIp = 0xcb007102, kClientIp = 0xcb007109;  // 203.0.113.2, .9
  const net::MacAddr kClientSideMac{{2, 0, 0, 0, 1, 2}}, kClientMac{{2, 0, 0, 0, 1, 9}};
  WorkerConfig c;
  c.has_ipv4 = true;
  c.ipv4.mac = kClientSideMac;
  c.ipv4.address = kClientSideIp;
  c.ipv4.prefix_len = 24;
  PortConfig upstream_side;
  upstream_side.has_ipv4 = true;
  upstream_side.ipv4.mac = kWorkerMac;
  upstream_side.ipv4.address = kWorkerIp;
  upstream_side.ipv4.prefix_len = 24;
  c.more_ports.push_back(upstream_side);
  ListenerConfig l;
  l.address = *net::parse_ip("203.0.113.2");
  l.udp = true;
  l.allow = {*net::parse_prefix("203.0.113.0/24")};
  c.listeners.push_back(l);
  c.cache.memory_bytes = 4 << 20;
  c.secret = 78;
  c.tls_client.ca_file = dir.write("ca.pem", tls::testutil::pem(pki.root.get()));
  c.tcp_connections = 64;
  PoolSetup ps;
  ps.pool.upstreams.push_back(
      std::get<upstream::UpstreamSpec>(upstream::parse_upstream(std::string("192.0.2.53#") + tls::testutil::kName)));
  ps.pool.connections_per_upstream = 1;
  ps.zones = {"."};
  c.pools.push_back(ps);
  Worker worker(c, std::vector<PacketIo*>{&port0, &port1}, now);

  net::Ipv4HostConfig hc;
  hc.mac = kClientMac;
  hc.address = kClientIp;
  hc.prefix_len = 24;
  hc.udp_ports = net::UdpPorts{{5300, 0, 0, 0}};
  net::Ipv4Host client(hc);
  net::NeighborTable neighbors{net::NeighborConfig{}};
  net::NeighborActions actions;
  std::vector<std::vector<uint8_t>> answers;
  uint64_t strays = 0;  // frames on a port they do not belong to
  for (uint16_t n = 1; n <= 50; ++n) {
    uint8_t frame[2048];
    const std::vector<uint8_t> q = query_for(n, n);
    std::memcpy(frame + client.udp_payload_offset(), q.data(), q.size());
    to_worker0.offer(frame, client.build_udp(frame, kClientSideMac, kClientSideIp, 5300, 53, q.size(), n), now);
  }
  for (int t = 0; t < 3000 && answers.size() < 50; ++t) {
    now += 1000;
    peer.now = now;
    to_worker0.release(now, [&](const uint8_t* f, size_t n) {
      if (const uint64_t h = port0.copy_in(f, n)) worker.receive(h, now, 0);
    });
    to_worker1.release(now, [&](const uint8_t* f, size_t n) {
      if (const uint64_t h = port1.copy_in(f, n)) worker.receive(h, now, 1);
    });
    to_client.release(now, [&](const uint8_t* f, size_t n) {
      std::vector<uint8_t> copy(f, f + n);
      const net::RxResult r = client.receive(copy.data(), n, now / 1000, neighbors, actions);
      actions.clear();
      if (r.kind == net::RxKind::kUdp) {
        answers.emplace_back(copy.data() + r.payload_offset, copy.data() + r.payload_offset + r.payload_len);
      } else {
        ++strays;
      }
    });
    to_peer.release(now, [&](const uint8_t* f, size_t n) {
      std::vector<uint8_t> copy(f, f + n);
      copy.resize(std::max<size_t>(n, 256));
      peer.receive(copy.data(), n);
    });
    worker.poll(now);
    peer.tcp.advance(now);
    peer.serve();
  }
  ASSERT_EQ(answers.size(), 50u);
  for (const auto& a : answers) {
    const uint16_t n = static_cast<uint16_t>(a[0] << 8 | a[1]);
    EXPECT_EQ(a[3] & 0xf, 0);
    EXPECT_EQ(a[a.size() - 1], static_cast<uint8_t>(n));
  }
  EXPECT_EQ(peer.accepted, 1u);     // the upstream connection, on port 1
  EXPECT_TRUE(peer.answers.empty());  // no client answer went out port 1
  EXPECT_EQ(strays, 0u);            // and nothing but answers out port 0
  EXPECT_GT(worker.tcp_stats(false).segments_out, 0u);
}

TEST(Worker, AnUpstreamCertificateForAnotherNameGetsServfailAndNoQuery) {
  World w({}, "other.example.test");
  w.peer->ask(query_for(3, 3));
  for (int t = 0; t < 5000 && w.peer->answers.empty(); ++t) w.tick();
  ASSERT_EQ(w.peer->answers.size(), 1u);
  EXPECT_EQ(w.peer->answers[0][3] & 0xf, dns::kServFail);
  EXPECT_EQ(w.peer->answered, 0u);
  EXPECT_GE(w.worker->pool(0).status(0).handshake_failures, 1u);
}

}  // namespace
}  // namespace dotgate::worker
