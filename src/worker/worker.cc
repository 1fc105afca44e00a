#include "worker/worker.h"

#include <algorithm>
#include <cstring>
#include <stdexcept>
#include <type_traits>
#include <utility>

#include "dns/builder.h"
#include "dns/message.h"
#include "dns/query.h"
#include "dns/wire.h"
#include "limit/rate_limiter.h"
#include "local/local_data.h"
#include "net/ethernet.h"
#include "net/ipv4.h"
#include "net/ipv6.h"
#include "tls/dot_framing.h"
#include "tls/tls_session.h"
#include "util/byte_order.h"
#include "util/hash.h"

namespace dotgate::worker {

namespace {

constexpr size_t kMaxClientQuery = 512;       // longer UDP queries are answered FORMERR
constexpr size_t kMinPacketBuffer = 2048;     // every PacketIo buffer holds at least this
constexpr size_t kReadChunk = 16 * 1024;      // plaintext read from TLS at a time

uint32_t seconds(uint64_t us) { return static_cast<uint32_t>(us / 1'000'000); }
uint64_t millis(uint64_t us) { return us / 1000; }

net::IpAddr ip4(uint32_t a) {
  net::IpAddr r;
  r.v4 = a;
  return r;
}
net::IpAddr ip6(const net::Ipv6Addr& a) {
  net::IpAddr r;
  r.v6 = true;
  r.v6addr = a;
  return r;
}
net::IpAddr ip_addr(uint32_t a) { return ip4(a); }
net::IpAddr ip_addr(const net::Ipv6Addr& a) { return ip6(a); }

}  // namespace

// What a client waiting for an upstream answer needs for its reply.
struct Waiting {
  enum Kind : uint8_t { kFree, kUdp, kStream, kPrefetch };
  Kind kind = kFree;
  uint32_t gen = 0;
  uint32_t net = 0;  // port * 2 + (IPv6 ? 1 : 0): where the query came from
  uint64_t arrived_us = 0;
  net::TcpConn conn = net::kNoConn;  // kStream: the client's TCP or DoT connection...
  uint32_t conn_gen = 0;             // ...while it is this one
  net::IpAddr client;
  uint16_t client_port = 0;
  uint16_t local_port = 0;
  net::MacAddr mac;  // the frame's source: replies go back the way the query came
  uint16_t query_len = 0;
  uint8_t query[kMaxClientQuery];
};

class Worker::Impl {
 public:
  Impl(const WorkerConfig& config, const std::vector<PacketIo*>& io, uint64_t now_us);

  // A CipherStream over one of our TCP connections.
  class TcpStream final : public tls::CipherStream {
   public:
    TcpStream(Impl& w, uint32_t net, net::TcpConn c) : w_(w), net_(net), c_(c) {}
    size_t receive(uint8_t* out, size_t cap) override { return w_.tcp_receive(net_, c_, out, cap); }
    size_t send(const uint8_t* data, size_t len) override { return w_.tcp_send(net_, c_, data, len); }
    bool ended() const override { return w_.tcp_peer_closed(net_, c_); }
    bool has_input() const override { return w_.tcp_received_bytes(net_, c_) != 0; }

   private:
    Impl& w_;
    uint32_t net_;
    net::TcpConn c_;
  };

  // One upstream connection slot of a pool: TCP, then TLS (or plaintext in opportunistic
  // mode after TLS failed), DoT framing both ways.
  struct Link {
    bool active = false;  // the pool opened it and has not closed it
    uint32_t net = 0;     // the port and family its TCP connection is on
    bool tls = true;
    bool ready = false;   // the pool was told on_connected
    net::TcpConn tcp = net::kNoConn;
    std::unique_ptr<TcpStream> stream;
    std::unique_ptr<tls::TlsSession> session;
    tls::DotReassembler reassembler{tls::kMaxDnsMessage, 4096};
    tls::DotWriter writer{64 * 1024};
    bool dirty = false;  // the writer holds bytes to send
    bool own_records_counted = false;
  };

  // A client connection: DNS over TCP (RFC 7766) or DoT (RFC 7858), pipelined, answered in
  // any order as answers come.
  struct Client {
    uint32_t gen = 0;
    uint32_t net = 0;  // the port and family its TCP connection is on
    bool dot = false;
    const ListenerConfig* listener = nullptr;
    net::TcpConn tcp = net::kNoConn;
    std::unique_ptr<TcpStream> stream;
    std::unique_ptr<tls::TlsSession> session;
    tls::DotReassembler reassembler{tls::kMaxDnsMessage, 0};
    tls::DotWriter writer{32 * 1024};
    uint32_t waiting = 0;  // its queries still with an upstream
    bool keepalive = false;  // it sent edns-tcp-keepalive: our answers carry our timeout
    bool own_records_counted = false;
  };

  // The pool's view of its links.
  class PoolTransport final : public upstream::Transport {
   public:
    PoolTransport(Impl& w, uint32_t pool) : w_(w), pool_(pool) {}
    void open(upstream::ConnId c, const upstream::UpstreamSpec& u, bool tls) override {
      w_.link_open(pool_, c, u, tls);
    }
    void send(upstream::ConnId c, const uint8_t* msg, size_t len) override { w_.link_send(pool_, c, msg, len); }
    void close(upstream::ConnId c) override { w_.link_close(pool_, c); }

   private:
    Impl& w_;
    uint32_t pool_;
  };

  class Sink final : public upstream::AnswerSink {
   public:
    explicit Sink(Impl& w) : w_(w) {}
    void on_answer(uint64_t token, const uint8_t* msg, size_t len, const dns::Response& r,
                   const uint16_t* ttl_offsets) override {
      w_.on_upstream_answer(token, msg, len, r, ttl_offsets);
    }
    void on_failure(uint64_t token, upstream::Failure) override { w_.on_upstream_failure(token); }

   private:
    Impl& w_;
  };

  template <class F>
  class TcpEvents final : public net::BasicTcpHandler<F> {
   public:
    TcpEvents(Impl& w, uint32_t net) : w_(w), net_(net) {}
    void send_segment(typename F::AddrArg remote, const uint8_t* seg, size_t len) override {
      w_.template send_segment<F>(net_, remote, seg, len);
    }
    void on_accept(net::TcpConn c) override { w_.tcp_accepted(net_, c); }
    void on_connected(net::TcpConn c) override { w_.tcp_connected(net_, c); }
    void on_readable(net::TcpConn c) override { w_.tcp_readable(net_, c); }
    void on_writable(net::TcpConn c) override { w_.tcp_writable(net_, c); }
    void on_closed(net::TcpConn c, net::TcpCloseReason why) override { w_.tcp_closed(net_, c, why); }

   private:
    Impl& w_;
    uint32_t net_;
  };

  // One port's network side: its hosts, neighbour tables and TCP engines, and who each of
  // its TCP connections serves. A connection, a client or a link names its port and
  // family as one number, `net` = port * 2 + (IPv6 ? 1 : 0).
  struct Iface {
    Iface(Impl& w, const PortConfig& c, PacketIo& packet_io, uint32_t port, uint64_t now_us);
    PortConfig config;
    PacketIo& io;
    uint32_t worker_index;
    net::Ipv4Host host4;
    net::Ipv6Host host6;
    net::NeighborTable neighbors4{net::NeighborConfig{}};
    net::NeighborTable6 neighbors6{net::NeighborConfig{}};
    net::NeighborActions actions4;
    net::NeighborActions6 actions6;
    TcpEvents<net::TcpIpv4> events4;
    TcpEvents<net::TcpIpv6> events6;
    net::TcpEngine tcp4;
    net::Tcp6Engine tcp6;
    // Which link (index + 1) each TCP connection serves, per family; 0: none (a client's
    // connections are found in clients).
    std::vector<uint32_t> roles[2];
    std::vector<std::unique_ptr<Client>> clients[2];
    std::vector<uint32_t> client_gen[2];
  };
  Iface& iface(uint32_t net) { return *ifaces_[net >> 1]; }
  const Iface& iface(uint32_t net) const { return *ifaces_[net >> 1]; }
  static bool is_v6(uint32_t net) { return (net & 1) != 0; }
  // The port (as a net id of the family) through which `to` is reached; false: none.
  bool route_to(const net::IpAddr& to, uint32_t* net) const;

  // The TCP engine of a net id, whichever family.
  size_t tcp_receive(uint32_t net, net::TcpConn c, uint8_t* out, size_t cap) {
    Iface& p = iface(net);
    return is_v6(net) ? p.tcp6.receive(c, out, cap, now_us_) : p.tcp4.receive(c, out, cap, now_us_);
  }
  size_t tcp_send(uint32_t net, net::TcpConn c, const uint8_t* data, size_t len) {
    Iface& p = iface(net);
    return is_v6(net) ? p.tcp6.send(c, data, len, now_us_) : p.tcp4.send(c, data, len, now_us_);
  }
  size_t tcp_received_bytes(uint32_t net, net::TcpConn c) const {
    const Iface& p = iface(net);
    return is_v6(net) ? p.tcp6.received_bytes(c) : p.tcp4.received_bytes(c);
  }
  bool tcp_peer_closed(uint32_t net, net::TcpConn c) const {
    const Iface& p = iface(net);
    return is_v6(net) ? p.tcp6.peer_closed(c) : p.tcp4.peer_closed(c);
  }
  net::IpAddr tcp_remote(uint32_t net, net::TcpConn c) const {
    const Iface& p = iface(net);
    return is_v6(net) ? ip6(p.tcp6.remote_address(c)) : ip4(p.tcp4.remote_address(c));
  }

  void receive(uint64_t handle, uint64_t now_us, size_t port);
  // The rest of receive() for one family's frames (ARP goes with IPv4).
  template <bool kV6>
  void receive_ip(Iface& p, uint32_t net, uint64_t handle, const net::MacAddr& from);
  void poll(uint64_t now_us);
  void announce(uint64_t now_us);

  // Frames out, through the port's PacketIo.
  uint64_t alloc(Iface& p, uint8_t** data);
  void transmit(Iface& p, uint64_t handle, size_t len);
  // A TCP segment to `remote`, in an IPv4 or IPv6 frame, toward its next hop.
  template <class F>
  void send_segment(uint32_t net, typename F::AddrArg remote, const uint8_t* seg, size_t len);
  void route4(Iface& p, uint64_t handle, uint32_t dst);
  void route6(Iface& p, uint64_t handle, const net::Ipv6Addr& dst);
  // Next-hop resolution for the frame in `handle` (either family's neighbour table): sent
  // at once, held for the neighbour's answer, or dropped; then what the table asked for.
  void route(Iface& p, auto& neighbors, auto& actions, const auto& hop, bool routable, uint64_t handle,
             const auto& build_request);
  // Requests to send (built by build_request), held frames to release, frames to drop.
  void run_actions(Iface& p, auto& actions, const auto& build_request);
  void run_actions4(Iface& p) {
    run_actions(p, p.actions4, [&p](uint8_t* d, uint32_t target) { return p.host4.build_arp_request(d, target); });
  }
  void run_actions6(Iface& p) {
    run_actions(p, p.actions6,
                [&p](uint8_t* d, const net::Ipv6Addr& target) { return p.host6.build_neighbor_solicit(d, target); });
  }
  void send_udp(uint32_t net, const net::IpAddr& dst, const net::MacAddr& mac, uint16_t src_port, uint16_t dst_port,
                uint64_t handle, size_t payload_len);
  size_t udp_offset(uint32_t net) const {
    return is_v6(net) ? iface(net).host6.udp_payload_offset() : iface(net).host4.udp_payload_offset();
  }
  uint8_t* udp_payload(uint32_t net, uint8_t* frame) const { return frame + udp_offset(net); }

  // The query path.
  void udp_query(uint32_t net, const net::MacAddr& mac, const net::IpAddr& src, const net::IpAddr& dst,
                 uint16_t src_port, uint16_t dst_port, const uint8_t* msg, size_t len);
  const ListenerConfig* listener_for(const net::IpAddr& dst, uint16_t port, bool udp) const;
  bool allowed(const ListenerConfig& l, const net::IpAddr& client) const;
  uint32_t pool_for(const dns::Query& q, const ListenerConfig& l) const;
  // Forwards the query for `who` (its addressing; the query is copied from msg).
  bool forward(const dns::Query& q, const uint8_t* msg, uint32_t pool, const Waiting& who);
  void on_upstream_answer(uint64_t token, const uint8_t* msg, size_t len, const dns::Response& r,
                          const uint16_t* ttl_offsets);
  void on_upstream_failure(uint64_t token);
  void reply_to_waiting(Waiting& w, const uint8_t* upstream_msg, size_t upstream_len);
  Waiting* waiting_for(uint64_t token);
  void release_waiting(Waiting& w);
  void count_answer(const uint8_t* msg, size_t len);

  // Upstream links.
  Link& link(uint32_t pool, upstream::ConnId c) { return links_[link_base_[pool] + c]; }
  void link_open(uint32_t pool, upstream::ConnId c, const upstream::UpstreamSpec& u, bool tls);
  void link_send(uint32_t pool, upstream::ConnId c, const uint8_t* msg, size_t len);
  void link_close(uint32_t pool, upstream::ConnId c);
  void link_flush(Link& l);
  void link_drive(uint32_t index, uint64_t now_us);
  void link_lost(uint32_t index, bool tls_failure);
  // Adds what a session's own record layer did to the worker's counters, as it ends.
  void account_session(const tls::TlsSession* s) noexcept {
    if (s == nullptr || !s->own_records()) return;
    const tls::RecordChannelStats r = s->record_stats();
    stats_.tls_key_updates_sent += r.key_updates_sent;
    stats_.tls_key_updates_received += r.key_updates_received;
    stats_.tls_late_tickets += r.late_tickets;
  }
  void link_reset(Link& l);

  // Client connections.
  Client* client(uint32_t net, net::TcpConn c) { return iface(net).clients[net & 1][c].get(); }
  uint32_t client_timer(uint32_t net, net::TcpConn c) const { return net * config_.tcp_connections + c; }
  void client_drive(uint32_t net, net::TcpConn c);
  void client_query(Client& cl, const uint8_t* msg, size_t len);
  void client_send(Client& cl, const uint8_t* msg, size_t len);
  void client_flush(Client& cl);
  void client_end(uint32_t net, net::TcpConn c, bool abort);
  void client_idle(uint32_t id);
  void client_touch(const Client& cl);

  // TCP events.
  void tcp_accepted(uint32_t net, net::TcpConn c);
  void tcp_connected(uint32_t net, net::TcpConn c);
  void tcp_readable(uint32_t net, net::TcpConn c);
  void tcp_writable(uint32_t net, net::TcpConn c);
  void tcp_closed(uint32_t net, net::TcpConn c, net::TcpCloseReason why);
  void tcp_abort(uint32_t net, net::TcpConn c) { is_v6(net) ? iface(net).tcp6.abort(c) : iface(net).tcp4.abort(c); }
  void tcp_close(uint32_t net, net::TcpConn c) {
    is_v6(net) ? iface(net).tcp6.close(c, now_us_) : iface(net).tcp4.close(c, now_us_);
  }

  // Which link (index + 1) a TCP connection serves; 0: none (see client()).
  uint32_t& role(uint32_t net, net::TcpConn c) { return iface(net).roles[net & 1][c]; }

  WorkerConfig config_;
  uint64_t now_us_;
  WorkerStats stats_;
  local::LocalData local_;
  limit::RateLimiter limiter_;
  uint16_t ip_id_ = 1;
  cache::Cache cache_;
  std::vector<std::unique_ptr<Iface>> ifaces_;  // by port
  net::TimerWheel client_timers_;  // idle client connections: id = client_timer(net, conn)
  tls::LibraryContext tls_library_;
  std::unique_ptr<tls::ClientContext> tls_client_;
  std::unique_ptr<tls::ServerContext> tls_server_;
  Sink sink_;
  std::vector<std::unique_ptr<PoolTransport>> transports_;
  std::vector<std::unique_ptr<upstream::UpstreamPool>> pools_;
  upstream::ForwardZones zones_;
  std::vector<size_t> link_base_;  // first link of each pool
  std::vector<Link> links_;
  std::vector<uint32_t> link_pool_;  // pool of each link
  std::vector<std::vector<std::string>> tls_failures_;  // per pool and upstream: the last reason
  std::vector<uint32_t> dirty_links_;
  struct Deferred {
    uint32_t link;
    bool tls_failure;
  };
  std::vector<Deferred> deferred_;  // link failures reported on the next poll
  std::vector<Waiting> waiting_;
  std::vector<uint32_t> free_waiting_;
  uint8_t read_buf_[kReadChunk];
  util::LatencyHistogram forwarded_latency_;
  uint8_t reply_buf_[tls::kMaxDnsMessage];
  uint8_t keepalive_buf_[tls::kMaxDnsMessage];
};

namespace {

// Local ports for connections we open: only those whose replies come to this worker.
bool reply_comes_here4(void* context, uint32_t remote, uint16_t remote_port, uint16_t local_port);
bool reply_comes_here6(void* context, const net::Ipv6Addr& remote, uint16_t remote_port, uint16_t local_port);
bool steered(const PortConfig& c) { return c.steering != nullptr && c.steering->workers() > 1; }

// The TCP engines of one port; `context` is what the port filters get (its Iface).
net::TcpConfig tcp4_config(const WorkerConfig& w, const PortConfig& c, bool offload, void* context) {
  net::TcpConfig t;
  t.tx_checksum_offload = offload;
  if (steered(c)) {
    t.local_port_filter = reply_comes_here4;
    t.local_port_filter_context = context;
  }
  t.local_address = c.ipv4.address;
  t.max_connections = w.tcp_connections;
  t.send_buffer = t.receive_buffer = std::max(w.client_tcp_buffer, w.upstream_tcp_buffer);
  t.send_buffers = t.receive_buffers = std::min<uint32_t>(w.tcp_connections, 2048);
  t.mss = static_cast<uint16_t>(c.mtu - net::kIpv4Header - net::kTcpHeader);
  t.isn_secret = w.secret ^ 0x7c9u ^ (c.ipv4.address * 0x9e3779b97f4a7c15ull);
  return t;
}
net::Tcp6Config tcp6_config(const WorkerConfig& w, const PortConfig& c, bool offload, void* context) {
  net::Tcp6Config t;
  t.tx_checksum_offload = offload;
  if (steered(c)) {
    t.local_port_filter = reply_comes_here6;
    t.local_port_filter_context = context;
  }
  t.local_address = c.ipv6.address;
  t.max_connections = w.tcp_connections;
  t.send_buffer = t.receive_buffer = std::max(w.client_tcp_buffer, w.upstream_tcp_buffer);
  t.send_buffers = t.receive_buffers = std::min<uint32_t>(w.tcp_connections, 2048);
  t.mss = static_cast<uint16_t>(c.mtu - net::kIpv6Header - net::kTcpHeader);
  t.isn_secret = w.secret ^ 0x7c96u ^ util::mix64(c.ipv6.address.b[15], c.ipv6.address.b[14]);
  return t;
}
limit::RateLimiterConfig limiter_config(const WorkerConfig& c) {
  limit::RateLimiterConfig r;
  r.qps = c.client_qps;
  r.burst = c.client_burst;
  return r;
}

net::Ipv4HostConfig host_config(net::Ipv4HostConfig h, const std::vector<ListenerConfig>& ls, bool offload) {
  h.tx_checksum_offload = offload;
  h.udp_ports = net::UdpPorts{{0, 0, 0, 0}};
  size_t n = 0;
  for (const ListenerConfig& l : ls) {
    if (l.udp && !h.udp_ports.contains(l.port) && n < 4) h.udp_ports.ports[n++] = l.port;
  }
  return h;
}
net::Ipv6HostConfig host_config(net::Ipv6HostConfig h, const std::vector<ListenerConfig>& ls, bool offload) {
  h.tx_checksum_offload = offload;
  h.udp_ports = net::UdpPorts{{0, 0, 0, 0}};
  size_t n = 0;
  for (const ListenerConfig& l : ls) {
    if (l.udp && !h.udp_ports.contains(l.port) && n < 4) h.udp_ports.ports[n++] = l.port;
  }
  return h;
}

}  // namespace

Worker::Impl::Iface::Iface(Impl& w, const PortConfig& c, PacketIo& packet_io, uint32_t port, uint64_t now_us)
    : config(c),
      io(packet_io),
      worker_index(w.config_.worker_index),
      host4(host_config(c.ipv4, w.config_.listeners, packet_io.tx_checksum_offload())),
      host6(host_config(c.ipv6, w.config_.listeners, packet_io.tx_checksum_offload())),
      events4(w, port * 2),
      events6(w, port * 2 + 1),
      tcp4(tcp4_config(w.config_, c, packet_io.tx_checksum_offload(), this), events4, now_us),
      tcp6(tcp6_config(w.config_, c, packet_io.tx_checksum_offload(), this), events6, now_us) {
  for (int f = 0; f < 2; ++f) {
    roles[f].assign(w.config_.tcp_connections, 0);
    clients[f].resize(w.config_.tcp_connections);
    client_gen[f].assign(w.config_.tcp_connections, 0);
  }
}

namespace {

bool reply_comes_here4(void* context, uint32_t remote, uint16_t remote_port, uint16_t local_port) {
  const auto& p = *static_cast<const Worker::Impl::Iface*>(context);
  return p.config.steering->owns_reply4(p.worker_index, remote, remote_port, p.config.ipv4.address, local_port);
}
bool reply_comes_here6(void* context, const net::Ipv6Addr& remote, uint16_t remote_port, uint16_t local_port) {
  const auto& p = *static_cast<const Worker::Impl::Iface*>(context);
  return p.config.steering->owns_reply6(p.worker_index, remote, remote_port, p.config.ipv6.address, local_port);
}

}  // namespace

Worker::Impl::Impl(const WorkerConfig& config, const std::vector<PacketIo*>& io, uint64_t now_us)
    : config_(config),
      now_us_(now_us),
      local_(local::LocalData::from_config(config.local, config.edns_buffer_size, util::mix64(config.secret, 0x10ca1))),
      limiter_(limiter_config(config), util::mix64(config.secret, 0x11a17)),
      cache_(config.cache, util::mix64(config.secret, 0xcac4e)),
      client_timers_(2 * (1 + config.more_ports.size()) * config.tcp_connections, 1024, millis(now_us)),
      sink_(*this) {
  if (io.size() != 1 + config.more_ports.size()) {
    throw std::runtime_error("a worker needs one packet interface per port");
  }
  for (size_t p = 0; p < io.size(); ++p) {
    const PortConfig& pc = p == 0 ? static_cast<const PortConfig&>(config_) : config_.more_ports[p - 1];
    if (!pc.has_ipv4 && !pc.has_ipv6) {
      throw std::runtime_error("port " + std::to_string(p) + " has no IPv4 or IPv6 address");
    }
    ifaces_.push_back(std::make_unique<Iface>(*this, pc, *io[p], static_cast<uint32_t>(p), now_us));
  }
  if (config.pools.empty()) throw std::runtime_error("no upstream pool");
  tls_library_ = tls::new_library_context();
  if (!tls_library_) throw std::runtime_error("OpenSSL: cannot make a library context");
  auto client = tls::ClientContext::create(config.tls_client, tls_library_.get());
  if (auto* e = std::get_if<tls::TlsError>(&client)) throw std::runtime_error(e->message);
  tls_client_ = std::move(std::get<std::unique_ptr<tls::ClientContext>>(client));
  bool any_dot = false;
  for (const ListenerConfig& l : config.listeners) {
    if (l.tcp || l.dot) {
      for (auto& p : ifaces_) {
        // A port listens for the listeners on its addresses (all of them: wildcard).
        if (!l.address.v6 && p->config.has_ipv4 && (l.wildcard || l.address.v4 == p->config.ipv4.address)) {
          p->tcp4.listen(l.port);
        }
        if (l.address.v6 && p->config.has_ipv6 && (l.wildcard || l.address.v6addr == p->config.ipv6.address)) {
          p->tcp6.listen(l.port);
        }
      }
    }
    any_dot = any_dot || l.dot;
  }
  if (any_dot) {
    tls::ServerConfig sc;
    sc.protocol = config.tls_client.protocol;
    sc.certificate_chain_file = config.dot_certificate_file;
    sc.private_key_file = config.dot_key_file;
    sc.ticket_secret = config.ticket_secret;
    auto server = tls::ServerContext::create(sc, tls_library_.get(), now_us);
    if (auto* e = std::get_if<tls::TlsError>(&server)) throw std::runtime_error(e->message);
    tls_server_ = std::move(std::get<std::unique_ptr<tls::ServerContext>>(server));
  }

  size_t links = 0;
  for (uint32_t p = 0; p < config.pools.size(); ++p) {
    upstream::PoolConfig pc = config.pools[p].pool;
    pc.seed = util::mix64(config.secret, p + 1);
    transports_.push_back(std::make_unique<PoolTransport>(*this, p));
    pools_.push_back(std::make_unique<upstream::UpstreamPool>(pc, *transports_.back(), sink_, now_us));
    link_base_.push_back(links);
    links += pools_.back()->connection_count();
    tls_failures_.emplace_back(pools_.back()->upstream_count());
    for (const std::string& zone : config.pools[p].zones) {
      if (!zones_.add(zone, p)) throw std::runtime_error("forward zone \"" + zone + "\" is invalid or in two pools");
    }
  }
  links_ = std::vector<Link>(links);
  for (uint32_t p = 0; p < pools_.size(); ++p) {
    for (size_t k = 0; k < pools_[p]->connection_count(); ++k) link_pool_.push_back(p);
  }
  dirty_links_.reserve(links);
  deferred_.reserve(links);
  waiting_.resize(config.max_waiting);
  free_waiting_.reserve(config.max_waiting);
  for (uint32_t i = config.max_waiting; i-- > 0;) free_waiting_.push_back(i);
}

// ---- frames out ---------------------------------------------------------------------

uint64_t Worker::Impl::alloc(Iface& p, uint8_t** data) {
  size_t cap = 0;
  const uint64_t h = p.io.alloc(data, &cap);
  if (h == 0 || cap < kMinPacketBuffer) {
    if (h != 0) p.io.release(h);
    ++stats_.tx_no_buffer;
    return 0;
  }
  return h;
}

void Worker::Impl::transmit(Iface& p, uint64_t handle, size_t len) {
  p.io.set_length(handle, len);
  p.io.transmit(handle);
  ++stats_.frames_out;
}

bool Worker::Impl::route_to(const net::IpAddr& to, uint32_t* net) const {
  // On-link first, then the first port with a gateway of the family.
  for (int pass = 0; pass < 2; ++pass) {
    for (uint32_t i = 0; i < ifaces_.size(); ++i) {
      const Iface& p = *ifaces_[i];
      if (to.v6) {
        if (!p.config.has_ipv6) continue;
        const net::Ipv6Addr hop = p.host6.next_hop(to.v6addr);
        if (hop.is_unspecified() || (pass == 0 && !(hop == to.v6addr))) continue;
      } else {
        if (!p.config.has_ipv4) continue;
        const uint32_t hop = p.host4.next_hop(to.v4);
        if (hop == 0 || (pass == 0 && hop != to.v4)) continue;
      }
      *net = i * 2 + (to.v6 ? 1 : 0);
      return true;
    }
  }
  return false;
}

template <class F>
void Worker::Impl::send_segment(uint32_t net, typename F::AddrArg remote, const uint8_t* seg, size_t len) {
  constexpr bool kV6 = std::is_same_v<F, net::TcpIpv6>;
  Iface& p = iface(net);
  const net::MacAddr& mac = kV6 ? p.config.ipv6.mac : p.config.ipv4.mac;
  const uint16_t vlan = kV6 ? p.config.ipv6.vlan_tci : p.config.ipv4.vlan_tci;
  uint8_t* d;
  const uint64_t h = alloc(p, &d);
  if (h == 0) return;  // TCP retransmits
  const size_t l2 = net::write_ethernet(d, net::MacAddr{}, mac, vlan, kV6 ? net::kEtherIPv6 : net::kEtherIPv4);
  if (l2 + F::kIpHeader + len > kMinPacketBuffer) {
    p.io.release(h);
    return;
  }
  std::memcpy(d + l2 + F::kIpHeader, seg, len);
  p.io.set_length(h, l2 + F::kIpHeader + len);
  if constexpr (kV6) {
    net::write_ipv6(d + l2, p.config.ipv6.address, remote, net::kProtoTCP, len);
    route6(p, h, remote);
  } else {
    net::write_ipv4(d + l2, p.config.ipv4.address, remote, net::kProtoTCP, len, ip_id_++, net::kDefaultTtl, 0,
                    p.host4.config().tx_checksum_offload);
    route4(p, h, remote);
  }
}

void Worker::Impl::route4(Iface& p, uint64_t handle, uint32_t dst) {
  const uint32_t hop = p.host4.next_hop(dst);
  route(p, p.neighbors4, p.actions4, hop, hop != 0, handle,
        [&p](uint8_t* d, uint32_t target) { return p.host4.build_arp_request(d, target); });
}

void Worker::Impl::route6(Iface& p, uint64_t handle, const net::Ipv6Addr& dst) {
  const net::Ipv6Addr hop = p.host6.next_hop(dst);
  route(p, p.neighbors6, p.actions6, hop, !hop.is_unspecified(), handle,
        [&p](uint8_t* d, const net::Ipv6Addr& target) { return p.host6.build_neighbor_solicit(d, target); });
}

void Worker::Impl::route(Iface& p, auto& neighbors, auto& actions, const auto& hop, bool routable,
                         uint64_t handle, const auto& build_request) {
  using Result = typename std::remove_reference_t<decltype(neighbors)>::Result;
  net::MacAddr mac;
  if (!routable) {
    p.io.release(handle);  // no route
    return;
  }
  switch (neighbors.resolve(hop, handle, millis(now_us_), &mac, actions)) {
    case Result::kResolved:
      std::memcpy(p.io.data(handle), mac.b, 6);
      p.io.transmit(handle);
      ++stats_.frames_out;
      break;
    case Result::kQueued:
      break;
    case Result::kDropped:
      p.io.release(handle);
      break;
  }
  run_actions(p, actions, build_request);
}

void Worker::Impl::run_actions(Iface& p, auto& actions, const auto& build_request) {
  for (const auto& target : actions.requests) {
    uint8_t* d;
    const uint64_t h = alloc(p, &d);
    if (h != 0) transmit(p, h, build_request(d, target));
  }
  for (const auto& t : actions.transmit) {
    std::memcpy(p.io.data(t.handle), t.mac.b, 6);
    p.io.transmit(t.handle);
    ++stats_.frames_out;
  }
  for (uint64_t h : actions.drop) p.io.release(h);
  actions.clear();
}

void Worker::Impl::send_udp(uint32_t net, const net::IpAddr& dst, const net::MacAddr& mac, uint16_t src_port,
                            uint16_t dst_port, uint64_t handle, size_t payload_len) {
  Iface& p = iface(net);
  uint8_t* d = p.io.data(handle);
  count_answer(udp_payload(net, d), payload_len);
  const size_t len = is_v6(net) ? p.host6.build_udp(d, mac, dst.v6addr, src_port, dst_port, payload_len)
                                : p.host4.build_udp(d, mac, dst.v4, src_port, dst_port, payload_len, ip_id_++);
  transmit(p, handle, len);
}

void Worker::Impl::count_answer(const uint8_t* msg, size_t len) {
  if (len >= dns::kHeaderSize) ++stats_.rcode[dns::load_u16(msg + dns::kOffFlags) & 0xf];
}

// ---- frames in ----------------------------------------------------------------------

void Worker::Impl::receive(uint64_t handle, uint64_t now_us, size_t port) {
  now_us_ = now_us;
  ++stats_.frames_in;
  Iface& p = *ifaces_[port];
  const uint8_t* frame = p.io.data(handle);
  net::EthFrame eth;
  if (const net::Drop d = net::parse_ethernet(frame, p.io.length(handle), &eth); d != net::Drop::kNone) {
    ++stats_.frames_dropped;
    ++stats_.drops[static_cast<size_t>(d)];
    p.io.release(handle);
    return;
  }
  if (eth.ethertype == net::kEtherIPv6) {
    receive_ip<true>(p, static_cast<uint32_t>(port * 2 + 1), handle, eth.src);
  } else {
    receive_ip<false>(p, static_cast<uint32_t>(port * 2), handle, eth.src);  // IPv4 and ARP
  }
}

template <bool kV6>
void Worker::Impl::receive_ip(Iface& p, uint32_t net, uint64_t handle, const net::MacAddr& from) {
  if (!(kV6 ? p.config.has_ipv6 : p.config.has_ipv4)) {  // a family this port does not speak
    ++stats_.frames_dropped;
    ++stats_.drops[static_cast<size_t>(net::Drop::kEthUnknownType)];
    p.io.release(handle);
    return;
  }
  uint8_t* frame = p.io.data(handle);
  const size_t len = p.io.length(handle);
  const uint64_t now_ms = millis(now_us_);
  const PacketIo::RxChecksums sums = p.io.rx_checksums(handle);
  // IPv6 has no header checksum: the device's word on the UDP/TCP one is enough.
  const bool verified = sums.l4_good && (kV6 || sums.ip_good);
  const auto r = [&] {
    if constexpr (kV6) {
      return p.host6.receive(frame, len, now_ms, p.neighbors6, p.actions6, verified);
    } else {
      return p.host4.receive(frame, len, now_ms, p.neighbors4, p.actions4, verified);
    }
  }();
  const auto [src, dst] = [&] {
    if constexpr (kV6) return std::pair{r.src, r.dst}; else return std::pair{r.src_ip, r.dst_ip};
  }();
  auto& tcp = [&]() -> auto& {
    if constexpr (kV6) return p.tcp6; else return p.tcp4;
  }();
  switch (r.kind) {
    case net::RxKind::kReplyInPlace:
      transmit(p, handle, r.reply_len);
      handle = 0;
      break;
    case net::RxKind::kUdp:
      udp_query(net, from, ip_addr(src), ip_addr(dst), r.src_port, r.dst_port, frame + r.payload_offset,
                r.payload_len);
      break;
    case net::RxKind::kTcp:
      if (const net::Drop d = tcp.input(src, frame + r.l4_offset, r.l4_len, now_us_, verified); d != net::Drop::kNone) {
        ++stats_.frames_dropped;
        ++stats_.drops[static_cast<size_t>(d)];
      }
      break;
    case net::RxKind::kIcmpError:
      tcp.icmp_error(frame + r.l4_offset, r.l4_len, now_us_);
      break;
    case net::RxKind::kDropped:
      ++stats_.frames_dropped;
      ++stats_.drops[static_cast<size_t>(r.drop)];
      break;
    case net::RxKind::kConsumed:
      break;
  }
  if (handle != 0) p.io.release(handle);
  if constexpr (kV6) {
    run_actions6(p);
  } else {
    run_actions4(p);
  }
}

const ListenerConfig* Worker::Impl::listener_for(const net::IpAddr& dst, uint16_t port, bool udp) const {
  for (const ListenerConfig& l : config_.listeners) {
    if (l.port != port || (udp ? !l.udp : !(l.tcp || l.dot))) continue;
    if (l.address.v6 != dst.v6) continue;
    if (l.wildcard || l.address == dst) return &l;
  }
  return nullptr;
}

bool Worker::Impl::allowed(const ListenerConfig& l, const net::IpAddr& client) const {
  for (const net::IpPrefix& p : l.allow) {
    if (p.contains(client)) return true;
  }
  return false;
}

uint32_t Worker::Impl::pool_for(const dns::Query& q, const ListenerConfig& l) const {
  const uint32_t p = zones_.route(q.key.name, q.key.name_len);
  return p == upstream::ForwardZones::kNoPool ? l.pool : p;
}

void Worker::Impl::udp_query(uint32_t net, const net::MacAddr& mac, const net::IpAddr& src,
                             const net::IpAddr& dst, uint16_t src_port, uint16_t dst_port, const uint8_t* msg,
                             size_t len) {
  const ListenerConfig* l = listener_for(dst, dst_port, true);
  if (l == nullptr) return;
  ++stats_.queries_udp;
  dns::Query q;
  const dns::ParseError e = dns::parse_query(msg, len, &q);
  const uint32_t now_s = seconds(now_us_);
  uint8_t* d;
  if (!allowed(*l, src)) {
    if (!l->refuse_denied || e != dns::ParseError::kOk) {
      ++stats_.dropped_acl;
      return;
    }
    ++stats_.refused_acl;
    const uint64_t h = alloc(iface(net), &d);
    if (h == 0) return;
    const size_t n = dns::build_error_response(msg, q, dns::kRefused, udp_payload(net, d), 512, config_.edns_buffer_size);
    if (n == 0) {
      iface(net).io.release(h);
      return;
    }
    send_udp(net, src, mac, dst_port, src_port, h, n);
    return;
  }
  if (e != dns::ParseError::kOk || len > kMaxClientQuery) {
    ++stats_.malformed;
    uint16_t rcode = 0;
    switch (e == dns::ParseError::kOk ? dns::Reaction::kFormErr : dns::reaction_to(e)) {
      case dns::Reaction::kFormErr: rcode = dns::kFormErr; break;
      case dns::Reaction::kNotImp: rcode = dns::kNotImp; break;
      case dns::Reaction::kBadVers: rcode = dns::kBadVers; break;
      default: return;  // dropped
    }
    const uint64_t h = alloc(iface(net), &d);
    if (h == 0) return;
    const size_t n = dns::build_error_response(msg, q, rcode, udp_payload(net, d), 512, config_.edns_buffer_size);
    if (n == 0) {
      iface(net).io.release(h);
      return;
    }
    send_udp(net, src, mac, dst_port, src_port, h, n);
    return;
  }
  if (!limiter_.allow(src, now_us_)) {
    ++stats_.rate_limited;  // dropped: a REFUSED would still reflect traffic at a spoofed source
    return;
  }
  const size_t cap = kMinPacketBuffer - udp_offset(net);
  const size_t limit = q.udp_limit(config_.edns_buffer_size);
  if (!local_.empty()) {
    const uint64_t h = alloc(iface(net), &d);
    if (h == 0) return;
    const local::Result r = local_.answer(msg, q, udp_payload(net, d), cap, limit);
    if (r.action != local::Action::kNotLocal) {
      ++stats_.local_answers;
      if (r.action == local::Action::kAnswer && r.len != 0) {
        send_udp(net, src, mac, dst_port, src_port, h, r.len);
      } else {
        iface(net).io.release(h);
      }
      return;
    }
    iface(net).io.release(h);
  }
  dns::finalize_key(q.key, cache_.hash_seed());
  const cache::CacheHit hit = cache_.lookup(q.key, now_s);
  if (hit.status == cache::LookupStatus::kFresh) {
    ++stats_.cache_hits;
    const uint64_t h = alloc(iface(net), &d);
    if (h == 0) return;
    const size_t n = cache_.write_answer(hit, msg, q, udp_payload(net, d), cap, limit, now_s);
    if (n == 0) {
      iface(net).io.release(h);
      return;
    }
    if (dns::load_u16(udp_payload(net, d) + dns::kOffFlags) & dns::kFlagTC) ++stats_.truncated;
    send_udp(net, src, mac, dst_port, src_port, h, n);
    if (hit.prefetch) {
      Waiting refresh;
      refresh.kind = Waiting::kPrefetch;
      forward(q, msg, pool_for(q, *l), refresh);
    }
    return;
  }
  ++stats_.cache_misses;
  Waiting who;
  who.kind = Waiting::kUdp;
  who.net = net;
  who.client = src;
  who.client_port = src_port;
  who.local_port = dst_port;
  who.mac = mac;
  if (forward(q, msg, pool_for(q, *l), who)) return;
  // Not forwarded (shed, or no upstream can be tried): stale if we have it, else SERVFAIL.
  who.query_len = static_cast<uint16_t>(len);
  std::memcpy(who.query, msg, len);
  reply_to_waiting(who, nullptr, 0);
}

bool Worker::Impl::forward(const dns::Query& q, const uint8_t* msg, uint32_t pool, const Waiting& who) {
  if (free_waiting_.empty()) {
    ++stats_.waiting_full;
    return false;
  }
  const uint32_t i = free_waiting_.back();
  Waiting& w = waiting_[i];
  w.kind = who.kind;
  w.net = who.net;
  w.client = who.client;
  w.client_port = who.client_port;
  w.local_port = who.local_port;
  w.mac = who.mac;
  w.conn = who.conn;
  w.conn_gen = who.conn_gen;
  w.query_len = q.msg_len;
  w.arrived_us = now_us_;
  std::memcpy(w.query, msg, q.msg_len);
  upstream::Question question;
  question.name = msg + dns::kHeaderSize;  // as the client spelled it: the answer echoes it
  question.name_len = q.qname_len;
  question.qtype = q.qtype;
  question.qclass = q.qclass;
  question.do_bit = q.do_bit;
  question.cd_bit = (q.flags & dns::kFlagCD) != 0;
  const uint64_t token = uint64_t{w.gen} << 32 | i;
  if (!pools_[pool]->submit(question, token, now_us_)) {
    w.kind = Waiting::kFree;
    return false;
  }
  free_waiting_.pop_back();
  ++stats_.forwarded;
  return true;
}

Waiting* Worker::Impl::waiting_for(uint64_t token) {
  const uint32_t i = static_cast<uint32_t>(token);
  if (i >= waiting_.size()) return nullptr;
  Waiting& w = waiting_[i];
  if (w.kind == Waiting::kFree || w.gen != static_cast<uint32_t>(token >> 32)) return nullptr;
  return &w;
}

void Worker::Impl::release_waiting(Waiting& w) {
  w.kind = Waiting::kFree;
  ++w.gen;
  free_waiting_.push_back(static_cast<uint32_t>(&w - waiting_.data()));
}

void Worker::Impl::on_upstream_answer(uint64_t token, const uint8_t* msg, size_t len, const dns::Response& r,
                                      const uint16_t* ttl_offsets) {
  Waiting* w = waiting_for(token);
  if (w == nullptr) return;
  ++stats_.upstream_answers;
  dns::Query q;
  if (dns::parse_query(w->query, w->query_len, &q) == dns::ParseError::kOk) {
    dns::finalize_key(q.key, cache_.hash_seed());
    cache_.insert(q.key, msg, len, r, ttl_offsets, seconds(now_us_));
  }
  if (w->kind == Waiting::kUdp || w->kind == Waiting::kStream) reply_to_waiting(*w, msg, len);
  release_waiting(*w);
}

void Worker::Impl::on_upstream_failure(uint64_t token) {
  Waiting* w = waiting_for(token);
  if (w == nullptr) return;
  if (w->kind == Waiting::kUdp || w->kind == Waiting::kStream) reply_to_waiting(*w, nullptr, 0);
  release_waiting(*w);
}

void Worker::Impl::reply_to_waiting(Waiting& w, const uint8_t* upstream_msg, size_t upstream_len) {
  dns::Query q;
  if (dns::parse_query(w.query, w.query_len, &q) != dns::ParseError::kOk) return;
  dns::finalize_key(q.key, cache_.hash_seed());
  const bool udp = w.kind != Waiting::kStream;
  Client* cl = nullptr;
  uint8_t* d = nullptr;
  uint64_t h = 0;
  uint8_t* out;
  size_t cap, limit;
  if (udp) {
    h = alloc(iface(w.net), &d);
    if (h == 0) return;
    out = udp_payload(w.net, d);
    cap = kMinPacketBuffer - udp_offset(w.net);
    limit = q.udp_limit(config_.edns_buffer_size);
  } else {
    cl = client(w.net, w.conn);
    if (cl == nullptr || cl->gen != w.conn_gen) return;  // the client left meanwhile
    --cl->waiting;
    out = reply_buf_;
    cap = limit = sizeof reply_buf_;
  }
  const uint32_t now_s = seconds(now_us_);
  size_t n = 0;
  // The answer as the cache would give it (TTLs, the client's ID, name spelling and EDNS),
  // or a stale one after a failure (RFC 8767), when there is one.
  const cache::CacheHit hit = cache_.lookup(q.key, now_s);
  if (hit.status == cache::LookupStatus::kFresh || (upstream_msg == nullptr && hit.status == cache::LookupStatus::kStale)) {
    if (hit.status == cache::LookupStatus::kStale) ++stats_.stale_answers;
    n = cache_.write_answer(hit, w.query, q, out, cap, limit, now_s);
  } else if (upstream_msg != nullptr && upstream_len <= cap) {
    // Not cacheable (e.g. REFUSED, TC): relayed with the client's ID.
    std::memcpy(out, upstream_msg, upstream_len);
    dns::store_u16(out + dns::kOffId, q.id);
    n = upstream_len;
    if (n > limit) {
      dns::EdnsParams edns;
      edns.udp_size = config_.edns_buffer_size;
      n = dns::truncate_response(out, cap, q.question_end, q.has_edns ? &edns : nullptr);
    }
  }
  if (n == 0) {
    ++stats_.servfail;
    n = dns::build_error_response(w.query, q, dns::kServFail, out, cap, config_.edns_buffer_size);
  }
  if (w.arrived_us != 0) forwarded_latency_.record(now_us_ - w.arrived_us);
  if (udp) {
    if (n == 0) {
      iface(w.net).io.release(h);
      return;
    }
    if (dns::load_u16(out + dns::kOffFlags) & dns::kFlagTC) ++stats_.truncated;
    send_udp(w.net, w.client, w.mac, w.local_port, w.client_port, h, n);
    return;
  }
  if (n != 0) client_send(*cl, out, n);
}

// ---- client connections (TCP 53, DoT 853) -------------------------------------------

void Worker::Impl::client_touch(const Client& cl) {
  client_timers_.schedule(client_timer(cl.net, cl.tcp),
                          millis(now_us_) + cl.listener->idle_timeout_ms + 1);
}

void Worker::Impl::client_idle(uint32_t id) {
  const uint32_t net = id / config_.tcp_connections;
  const net::TcpConn c = id % config_.tcp_connections;
  Client* cl = client(net, c);
  if (cl == nullptr) return;
  if (cl->waiting != 0) {  // still owed answers: not idle
    client_touch(*cl);
    return;
  }
  client_end(net, c, false);  // RFC 7766 6.2.3: the server closes idle connections
}

void Worker::Impl::client_end(uint32_t net, net::TcpConn c, bool abort) {
  Client* cl = client(net, c);
  if (cl == nullptr) return;
  if (abort) {
    client_timers_.cancel(client_timer(net, c));
    account_session(iface(net).clients[net & 1][c]->session.get());
    iface(net).clients[net & 1][c].reset();
    tcp_abort(net, c);
    return;
  }
  if (cl->session) cl->session->shutdown();  // close_notify ahead of the FIN
  tcp_close(net, c);  // on_closed frees the client once the close completes
}

void Worker::Impl::client_drive(uint32_t net, net::TcpConn c) {
  Client* cl = client(net, c);
  const uint32_t gen = cl->gen;
  client_touch(*cl);
  if (cl->session && cl->session->state() == tls::TlsState::kHandshaking) {
    const tls::TlsResult res = cl->session->handshake();
    if (res == tls::TlsResult::kFailed) {
      client_end(net, c, true);
      return;
    }
    if (res != tls::TlsResult::kDone) return;
  }
  for (;;) {
    size_t got = 0;
    tls::TlsResult res = tls::TlsResult::kDone;
    if (cl->session) {
      res = cl->session->read(read_buf_, sizeof read_buf_, &got);
    } else {
      got = tcp_receive(net, c, read_buf_, sizeof read_buf_);
      if (got == 0) res = tls::TlsResult::kWantInput;
    }
    if (got != 0) {
      cl->reassembler.feed(read_buf_, got);
      const uint8_t* m;
      size_t n;
      for (tls::FrameResult f; (f = cl->reassembler.next(&m, &n)) != tls::FrameResult::kNeedMore;) {
        if (f == tls::FrameResult::kMessage) {
          client_query(*cl, m, n);
        } else {
          ++stats_.malformed;
        }
        cl = client(net, c);
        if (cl == nullptr || cl->gen != gen) return;
      }
    }
    if (res == tls::TlsResult::kFailed) {
      client_end(net, c, true);
      return;
    }
    if (res == tls::TlsResult::kClosed) break;
    if (res != tls::TlsResult::kDone) break;
  }
  client_flush(*cl);
  if (cl->session && !cl->own_records_counted && cl->session->own_records()) {
    cl->own_records_counted = true;
    ++stats_.tls_own_records_clients;
  }
  if (cl->session && cl->waiting == 0 && cl->writer.size() == 0) cl->session->release_buffers();
  // The client half-closed (or sent close_notify) and has nothing left with us: done.
  const bool ended = cl->session ? cl->session->state() == tls::TlsState::kClosed || cl->stream->ended()
                                 : cl->stream->ended();
  if (ended && cl->waiting == 0 && cl->writer.size() == 0) client_end(net, c, false);
}

void Worker::Impl::client_send(Client& cl, const uint8_t* msg, size_t len) {
  count_answer(msg, len);
  if (cl.keepalive && len + 6 <= sizeof keepalive_buf_) {
    // RFC 7828: a client that sent edns-tcp-keepalive learns how long we keep its idle
    // connection (in units of 100 ms), in every answer that has an OPT record.
    dns::Response r;
    if (dns::parse_response(msg, len, &r, nullptr, 0) == dns::ParseError::kOk && r.has_edns && !r.has_keepalive) {
      std::memcpy(keepalive_buf_, msg, len);
      const uint32_t units = std::min<uint32_t>(cl.listener->idle_timeout_ms / 100, 65535);
      const uint8_t data[2] = {static_cast<uint8_t>(units >> 8), static_cast<uint8_t>(units)};
      const size_t n = dns::append_edns_option(keepalive_buf_, len, sizeof keepalive_buf_, r.opt_offset,
                                               dns::kOptTcpKeepalive, data, 2);
      if (n != 0) {
        msg = keepalive_buf_;
        len = n;
      }
    }
  }
  if (!cl.writer.append(msg, len)) {
    // A client that does not read its answers: it loses the connection, not us memory.
    client_end(cl.net, cl.tcp, true);
    return;
  }
  client_flush(cl);
}

void Worker::Impl::client_flush(Client& cl) {
  while (cl.writer.size() != 0) {
    size_t taken = 0;
    if (cl.session) {
      if (cl.session->state() != tls::TlsState::kEstablished) return;
      const tls::TlsResult res = cl.session->write(cl.writer.data(), cl.writer.size(), &taken);
      cl.writer.consume(taken);
      if (res != tls::TlsResult::kDone) return;
    } else {
      taken = tcp_send(cl.net, cl.tcp, cl.writer.data(), cl.writer.size());
      cl.writer.consume(taken);
      if (taken == 0) return;
    }
  }
  if (cl.session && cl.session->output_pending()) {  // a KeyUpdate reply waiting for room
    size_t taken = 0;
    cl.session->write(nullptr, 0, &taken);
  }
}

void Worker::Impl::client_query(Client& cl, const uint8_t* msg, size_t len) {
  ++(cl.dot ? stats_.queries_dot : stats_.queries_tcp);
  dns::Query q;
  const dns::ParseError e = dns::parse_query(msg, len, &q);
  if (e == dns::ParseError::kOk && (q.edns_options & dns::kSawKeepalive)) cl.keepalive = true;
  if (e != dns::ParseError::kOk || len > kMaxClientQuery) {
    ++stats_.malformed;
    uint16_t rcode = 0;
    switch (e == dns::ParseError::kOk ? dns::Reaction::kFormErr : dns::reaction_to(e)) {
      case dns::Reaction::kFormErr: rcode = dns::kFormErr; break;
      case dns::Reaction::kNotImp: rcode = dns::kNotImp; break;
      case dns::Reaction::kBadVers: rcode = dns::kBadVers; break;
      default: return;
    }
    const size_t n = dns::build_error_response(msg, q, rcode, reply_buf_, sizeof reply_buf_, config_.edns_buffer_size);
    if (n != 0) client_send(cl, reply_buf_, n);
    return;
  }
  const net::IpAddr client = tcp_remote(cl.net, cl.tcp);
  if (!limiter_.allow(client, now_us_)) {
    ++stats_.rate_limited;
    return;
  }
  if (!local_.empty()) {
    const local::Result r = local_.answer(msg, q, reply_buf_, sizeof reply_buf_, sizeof reply_buf_);
    if (r.action != local::Action::kNotLocal) {
      ++stats_.local_answers;
      if (r.action == local::Action::kAnswer && r.len != 0) client_send(cl, reply_buf_, r.len);
      return;
    }
  }
  dns::finalize_key(q.key, cache_.hash_seed());
  const uint32_t now_s = seconds(now_us_);
  const cache::CacheHit hit = cache_.lookup(q.key, now_s);
  if (hit.status == cache::LookupStatus::kFresh) {
    ++stats_.cache_hits;
    const size_t n = cache_.write_answer(hit, msg, q, reply_buf_, sizeof reply_buf_, sizeof reply_buf_, now_s);
    if (n != 0) client_send(cl, reply_buf_, n);
    return;
  }
  ++stats_.cache_misses;
  Waiting who;
  who.kind = Waiting::kStream;
  who.net = cl.net;
  who.client = client;
  who.conn = cl.tcp;
  who.conn_gen = cl.gen;
  ++cl.waiting;
  if (forward(q, msg, pool_for(q, *cl.listener), who)) return;
  // Not forwarded: stale if we have it, else SERVFAIL.
  who.query_len = static_cast<uint16_t>(len);
  std::memcpy(who.query, msg, len);
  reply_to_waiting(who, nullptr, 0);
}

// ---- upstream links -----------------------------------------------------------------

void Worker::Impl::link_open(uint32_t pool, upstream::ConnId c, const upstream::UpstreamSpec& u, bool tls) {
  const uint32_t index = static_cast<uint32_t>(link_base_[pool] + c);
  Link& l = links_[index];
  link_reset(l);
  l.active = true;
  l.tls = tls;
  const bool routable = route_to(u.address, &l.net);
  // Opportunistic mode after TLS failed: plaintext DNS over TCP to the same upstream's port
  // 53 (RFC 7858 4.1), as systemd-resolved's DNSOverTLS=opportunistic does.
  const uint16_t port = tls ? u.port : uint16_t{53};
  l.tcp = !routable          ? net::kNoConn
          : is_v6(l.net)     ? iface(l.net).tcp6.connect(u.address.v6addr, port, now_us_)
                             : iface(l.net).tcp4.connect(u.address.v4, port, now_us_);
  if (l.tcp == net::kNoConn) {
    deferred_.push_back(Deferred{index, false});  // the pool hears of it on the next poll
    return;
  }
  role(l.net, l.tcp) = index + 1;
}

void Worker::Impl::link_send(uint32_t pool, upstream::ConnId c, const uint8_t* msg, size_t len) {
  const uint32_t index = static_cast<uint32_t>(link_base_[pool] + c);
  Link& l = links_[index];
  if (!l.writer.append(msg, len)) return;  // full: the query times out and is retried
  if (!l.dirty) {
    l.dirty = true;
    dirty_links_.push_back(index);
  }
}

void Worker::Impl::link_flush(Link& l) {
  l.dirty = false;
  if (!l.active || l.tcp == net::kNoConn || !l.ready) return;
  while (l.writer.size() != 0) {
    size_t taken = 0;
    if (l.session) {
      const tls::TlsResult res = l.session->write(l.writer.data(), l.writer.size(), &taken);
      l.writer.consume(taken);
      if (res != tls::TlsResult::kDone) return;  // no room: on_writable continues
    } else {
      taken = tcp_send(l.net, l.tcp, l.writer.data(), l.writer.size());
      l.writer.consume(taken);
      if (taken == 0) return;
    }
  }
  if (l.session && l.session->output_pending()) {  // a KeyUpdate (ours or a reply) waiting for room
    size_t taken = 0;
    l.session->write(nullptr, 0, &taken);
  }
}

void Worker::Impl::link_close(uint32_t pool, upstream::ConnId c) {
  Link& l = links_[link_base_[pool] + c];
  if (l.session) {
    l.session->shutdown();  // close_notify, then FIN
  }
  if (l.tcp != net::kNoConn) {
    role(l.net, l.tcp) = 0;
    tcp_close(l.net, l.tcp);
  }
  link_reset(l);
}

void Worker::Impl::link_reset(Link& l) {
  account_session(l.session.get());
  l.session.reset();
  l.stream.reset();
  l.active = l.ready = l.dirty = l.own_records_counted = false;
  l.tcp = net::kNoConn;
  l.reassembler = tls::DotReassembler(tls::kMaxDnsMessage, 4096);
  l.writer.consume(l.writer.size());
}

void Worker::Impl::link_lost(uint32_t index, bool tls_failure) {
  Link& l = links_[index];
  const bool was_ready = l.ready;
  if (l.tcp != net::kNoConn) role(l.net, l.tcp) = 0;
  link_reset(l);
  upstream::UpstreamPool& pool = *pools_[link_pool_[index]];
  const upstream::ConnId c = static_cast<upstream::ConnId>(index - link_base_[link_pool_[index]]);
  if (was_ready) {
    pool.on_closed(c, now_us_);
  } else {
    pool.on_connect_failed(c, tls_failure, now_us_);
  }
}

// Moves a link along after its TCP connection made progress: the handshake, then every
// whole DNS message that arrived.
void Worker::Impl::link_drive(uint32_t index, uint64_t now_us) {
  Link& l = links_[index];
  upstream::UpstreamPool& pool = *pools_[link_pool_[index]];
  const upstream::ConnId c = static_cast<upstream::ConnId>(index - link_base_[link_pool_[index]]);
  if (l.session && !l.ready) {
    const tls::TlsResult res = l.session->handshake();
    if (res == tls::TlsResult::kFailed) {
      tls_failures_[link_pool_[index]][pool.connection_upstream(c)] = l.session->failure();
      const net::TcpConn t = l.tcp;
      const uint32_t net = l.net;
      link_lost(index, true);
      tcp_abort(net, t);
      return;
    }
    if (res != tls::TlsResult::kDone) return;
    l.ready = true;
    pool.on_connected(c, now_us);
    if (!l.active) return;
  }
  if (!l.ready) return;
  for (;;) {
    size_t got = 0;
    tls::TlsResult res = tls::TlsResult::kDone;
    if (l.session) {
      res = l.session->read(read_buf_, sizeof read_buf_, &got);
    } else {
      got = tcp_receive(l.net, l.tcp, read_buf_, sizeof read_buf_);
      if (got == 0) res = tls::TlsResult::kWantInput;
    }
    if (got != 0) {
      l.reassembler.feed(read_buf_, got);
      const uint8_t* m;
      size_t n;
      for (tls::FrameResult f; (f = l.reassembler.next(&m, &n)) != tls::FrameResult::kNeedMore;) {
        if (f == tls::FrameResult::kMessage) pool.on_message(c, m, n, now_us);
        if (!l.active) return;  // the pool closed it (e.g. idle after this answer)
      }
    }
    if (res == tls::TlsResult::kClosed || res == tls::TlsResult::kFailed) {
      const net::TcpConn t = l.tcp;
      const uint32_t net = l.net;
      link_lost(index, false);
      tcp_close(net, t);
      return;
    }
    if (res != tls::TlsResult::kDone) break;
  }
  link_flush(l);
  if (l.session && !l.own_records_counted && l.session->own_records()) {
    l.own_records_counted = true;
    ++stats_.tls_own_records_upstream;
  }
  // Nothing owed either way: OpenSSL's 17 kB record buffers go until the next query.
  if (l.session && l.writer.size() == 0 && pool.connection_outstanding(c) == 0) {
    l.session->release_buffers();
  }
}

// ---- TCP events ---------------------------------------------------------------------

void Worker::Impl::tcp_accepted(uint32_t net, net::TcpConn c) {
  Iface& p = iface(net);
  const uint16_t port = is_v6(net) ? p.tcp6.local_port(c) : p.tcp4.local_port(c);
  const net::IpAddr local = is_v6(net) ? ip6(p.config.ipv6.address) : ip4(p.config.ipv4.address);
  const net::IpAddr remote = tcp_remote(net, c);
  const ListenerConfig* l = listener_for(local, port, false);
  if (l == nullptr || !allowed(*l, remote)) {
    // Outside the listener's prefixes: no conversation at all (a reset, counted).
    ++(l != nullptr && l->refuse_denied ? stats_.refused_acl : stats_.dropped_acl);
    tcp_abort(net, c);
    return;
  }
  auto cl = std::make_unique<Client>();
  cl->gen = ++p.client_gen[net & 1][c];
  cl->net = net;
  cl->dot = l->dot;
  cl->listener = l;
  cl->tcp = c;
  cl->stream = std::make_unique<TcpStream>(*this, net, c);
  if (cl->dot) {
    auto made = tls::TlsSession::server(*tls_server_, *cl->stream);
    if (std::holds_alternative<tls::TlsError>(made)) {
      tcp_abort(net, c);
      return;
    }
    cl->session = std::move(std::get<std::unique_ptr<tls::TlsSession>>(made));
  }
  p.clients[net & 1][c] = std::move(cl);
  client_touch(*client(net, c));
}

void Worker::Impl::tcp_connected(uint32_t net, net::TcpConn c) {
  const uint32_t r = role(net, c);
  if (r == 0) return;
  const uint32_t index = r - 1;
  Link& l = links_[index];
  if (!l.tls) {
    l.ready = true;
    pools_[link_pool_[index]]->on_connected(static_cast<upstream::ConnId>(index - link_base_[link_pool_[index]]),
                                            now_us_);
    if (l.active) link_flush(l);
    return;
  }
  // TLS toward the upstream, authenticated by its name (or its address when none is
  // given, against the certificate's IP SANs) and pins.
  const uint32_t pool = link_pool_[index];
  const upstream::ConnId conn = static_cast<upstream::ConnId>(index - link_base_[pool]);
  const size_t u = pools_[pool]->connection_upstream(conn);
  const upstream::UpstreamStatus st = pools_[pool]->status(u);
  tls::ClientAuth auth;
  auth.name = st.spec.auth_name.empty() ? net::format_ip(st.spec.address) : st.spec.auth_name;
  if (u < config_.pools[pool].pins.size()) auth.pins = config_.pools[pool].pins[u];
  l.stream = std::make_unique<TcpStream>(*this, net, c);
  auto made = tls::TlsSession::client(*tls_client_, *l.stream, auth, static_cast<uint32_t>(pool * 64 + u));
  if (std::holds_alternative<tls::TlsError>(made)) {
    link_lost(index, true);
    tcp_abort(net, c);
    return;
  }
  l.session = std::move(std::get<std::unique_ptr<tls::TlsSession>>(made));
  link_drive(index, now_us_);
}

void Worker::Impl::tcp_readable(uint32_t net, net::TcpConn c) {
  const uint32_t r = role(net, c);
  if (r == 0) {
    if (client(net, c) != nullptr) client_drive(net, c);
    return;
  }
  link_drive(r - 1, now_us_);
}

void Worker::Impl::tcp_writable(uint32_t net, net::TcpConn c) {
  const uint32_t r = role(net, c);
  if (r == 0) {
    if (Client* cl = client(net, c)) {
      if (cl->session && cl->session->state() == tls::TlsState::kHandshaking) {
        client_drive(net, c);
      } else {
        client_flush(*cl);
      }
    }
    return;
  }
  Link& l = links_[r - 1];
  if (l.session && !l.ready) {
    link_drive(r - 1, now_us_);
  } else {
    link_flush(l);
  }
}

void Worker::Impl::tcp_closed(uint32_t net, net::TcpConn c, net::TcpCloseReason) {
  const uint32_t r = role(net, c);
  if (r == 0) {
    if (client(net, c) != nullptr) {
      client_timers_.cancel(client_timer(net, c));
      account_session(iface(net).clients[net & 1][c]->session.get());
      iface(net).clients[net & 1][c].reset();  // answers still on their way find it gone
    }
    return;
  }
  role(net, c) = 0;
  Link& l = links_[r - 1];
  l.tcp = net::kNoConn;  // already gone: nothing to close
  link_lost(r - 1, false);
}

// ---- timers -------------------------------------------------------------------------

void Worker::Impl::poll(uint64_t now_us) {
  now_us_ = now_us;
  for (size_t i = 0; i < deferred_.size(); ++i) link_lost(deferred_[i].link, deferred_[i].tls_failure);
  deferred_.clear();
  for (auto& p : ifaces_) {
    p->tcp4.advance(now_us);
    p->tcp6.advance(now_us);
  }
  for (auto& pool : pools_) pool->advance(now_us);
  client_timers_.advance(millis(now_us), [&](uint32_t id) { client_idle(id); });
  if (tls_server_) tls_server_->advance(now_us);
  for (size_t i = 0; i < dirty_links_.size(); ++i) {
    Link& l = links_[dirty_links_[i]];
    if (l.dirty) link_flush(l);
  }
  dirty_links_.clear();
  const uint64_t now_ms = millis(now_us);
  for (auto& p : ifaces_) {
    if (p->config.has_ipv4) {
      p->neighbors4.tick(now_ms, p->actions4);
      run_actions4(*p);
    }
    if (p->config.has_ipv6) {
      p->neighbors6.tick(now_ms, p->actions6);
      run_actions6(*p);
    }
  }
}

void Worker::Impl::announce(uint64_t now_us) {
  now_us_ = now_us;
  for (auto& p : ifaces_) {
    if (!p->config.has_ipv4) continue;
    uint8_t* d;
    const uint64_t h = alloc(*p, &d);
    if (h != 0) transmit(*p, h, p->host4.build_gratuitous_arp(d));
  }
}

// ---- the public face ----------------------------------------------------------------

Worker::Worker(const WorkerConfig& config, const std::vector<PacketIo*>& io, uint64_t now_us)
    : impl_(std::make_unique<Impl>(config, io, now_us)), stats_(impl_->stats_) {}
Worker::~Worker() = default;
void Worker::receive(uint64_t handle, uint64_t now_us, size_t port) { impl_->receive(handle, now_us, port); }
void Worker::poll(uint64_t now_us) { impl_->poll(now_us); }
void Worker::announce(uint64_t now_us) { impl_->announce(now_us); }
const cache::Cache& Worker::cache() const noexcept { return impl_->cache_; }
const util::LatencyHistogram& Worker::forwarded_latency() const noexcept { return impl_->forwarded_latency_; }
size_t Worker::pool_count() const noexcept { return impl_->pools_.size(); }
const upstream::UpstreamPool& Worker::pool(size_t i) const { return *impl_->pools_.at(i); }
net::TcpStats Worker::tcp_stats(bool v6) const noexcept {
  net::TcpStats sum;
  for (const auto& p : impl_->ifaces_) sum += v6 ? p->tcp6.stats() : p->tcp4.stats();
  return sum;
}

Worker::UpstreamTlsInfo Worker::upstream_tls(size_t pool, size_t upstream) const {
  UpstreamTlsInfo info;
  const upstream::UpstreamPool& p = *impl_->pools_.at(pool);
  info.last_failure = impl_->tls_failures_[pool].at(upstream);
  for (size_t c = 0; c < p.connection_count(); ++c) {
    if (p.connection_upstream(static_cast<upstream::ConnId>(c)) != upstream) continue;
    const Impl::Link& l = impl_->links_[impl_->link_base_[pool] + c];
    if (!l.ready || !l.session) continue;
    info.version = l.session->version();
    info.cipher = l.session->cipher();
    info.record_layer = l.session->record_layer();
    info.key_updates_sent = l.session->record_stats().key_updates_sent;
    info.verified_name = l.session->verified_name();
    info.resumed = l.session->resumed();
    break;
  }
  return info;
}

}  // namespace dotgate::worker
