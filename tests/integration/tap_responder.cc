// The dataplane's in-process stack against the Linux kernel, over a TAP device: answers
// ARP, IPv6 neighbour discovery, ping and ping6, and DNS over UDP (IPv4 and IPv6) from a
// real response cache, and over TCP on both families (the project's own TCP engines) DNS
// (RFC 7766 framing, pipelined) on port 53 and a byte echo on port 7, for a bounded time.
// IPv6 connections all open through SYN cookies. Driven by tap_interop.sh, which puts the
// kernel side in a network namespace and uses ping, dig and socat as clients.
//
//   tap_responder IFACE SECONDS [DELAY_MS REORDER_PERCENT]
//
// Active opens: a UDP query for "connect.dotgate.test" makes the stack open a TCP
// connection to the asker's port 9000, send 200000 seeded random bytes, half-close, and
// check that an echo server there returns them all (counter active_echo_ok).
//
// With DELAY_MS, every frame we send passes the project's impairment stage first: delayed
// by DELAY_MS (plus up to 10 % jitter), and REORDER_PERCENT of them held 20 ms longer, so
// they overtake each other (this kernel has no netem).
//
// Our addresses: 192.0.2.2/24 and 2001:db8::2/64 at MAC 02:00:00:00:00:02. The cache holds
// one answer, www.example.com A 192.0.2.53 (TTL 300); other names get REFUSED. On exit it
// prints one line of counters ("counters: name=value ..."), which the script checks.
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <random>
#include <map>
#include <memory>
#include <string>
#include <type_traits>

#include "cache/cache.h"
#include "dns/builder.h"
#include "dns/message.h"
#include "dns/name.h"
#include "dns/query.h"
#include "net/icmp.h"
#include "net/icmpv6.h"
#include "net/ipv4_host.h"
#include "net/ipv6_host.h"
#include "net/impairment.h"
#include "net/tcp.h"
#include "tap_link.h"

using namespace dotgate;
using namespace dotgate::net;

namespace {

constexpr MacAddr kOurMac{{0x02, 0, 0, 0, 0, 0x02}};

volatile std::sig_atomic_t g_stop = 0;
void on_signal(int) { g_stop = 1; }

struct Counters {
  unsigned arp_replies = 0, nd_adverts = 0, echo4 = 0, echo6 = 0;
  unsigned dns_answers = 0, dns_refused = 0, dns_errors = 0, dropped = 0;
  unsigned tcp_accepted = 0, tcp_closed = 0, tcp_dns_answers = 0;
  uint64_t echo_bytes = 0;
  unsigned active_echo_ok = 0;
};

// Stores "www.example.com A 192.0.2.53" in the cache, as an upstream answer would arrive.
void preload(cache::Cache& cache, uint32_t now) {
  uint8_t name[dns::kMaxNameWire];
  size_t name_len = 0;
  dns::name_from_text("www.example.com", name, &name_len);
  uint8_t query[512];
  const size_t qlen = dns::build_query(query, sizeof query, 1, dns::kFlagRD, name, name_len, dns::kTypeA,
                                       dns::kClassIN, nullptr);
  uint8_t answer[512];
  std::memcpy(answer, query, qlen);
  dns::store_u16(answer + dns::kOffFlags, dns::kFlagQR | dns::kFlagRD | dns::kFlagRA);
  dns::store_u16(answer + dns::kOffAncount, 1);
  const uint8_t rr[] = {0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 1, 0x2c, 0, 4, 192, 0, 2, 53};
  std::memcpy(answer + qlen, rr, sizeof rr);
  dns::Query q;
  dns::parse_query(query, qlen, &q);
  dns::finalize_key(q.key, cache.hash_seed());
  dns::Response r;
  uint16_t offs[4];
  if (dns::parse_response(answer, qlen + sizeof rr, &r, offs, 4) != dns::ParseError::kOk ||
      cache.insert(q.key, answer, qlen + sizeof rr, r, offs, now) != cache::StoreResult::kStored) {
    std::fprintf(stderr, "preload failed\n");
    std::exit(1);
  }
}

// Answers the DNS query at msg[0, len) into out; returns the response length or 0 to drop.
size_t answer_dns(cache::Cache& cache, const uint8_t* msg, size_t len, uint8_t* out, size_t cap, uint32_t now,
                  Counters& c) {
  dns::Query q;
  const dns::ParseError e = dns::parse_query(msg, len, &q);
  if (e != dns::ParseError::kOk) {
    ++c.dns_errors;
    switch (dns::reaction_to(e)) {
      case dns::Reaction::kFormErr: return dns::build_error_response(msg, q, dns::kFormErr, out, cap);
      case dns::Reaction::kNotImp: return dns::build_error_response(msg, q, dns::kNotImp, out, cap);
      case dns::Reaction::kBadVers: return dns::build_error_response(msg, q, dns::kBadVers, out, cap);
      default: return 0;
    }
  }
  dns::finalize_key(q.key, cache.hash_seed());
  const cache::CacheHit hit = cache.lookup(q.key, now);
  if (hit.status == cache::LookupStatus::kFresh) {
    ++c.dns_answers;
    return cache.write_answer(hit, msg, q, out, cap, q.udp_limit(dns::kDefaultUdpPayload), now);
  }
  ++c.dns_refused;
  return dns::build_error_response(msg, q, dns::kRefused, out, cap);
}

// Frames we send: straight to the TAP device, or through the impairment stage.
class Tx {
 public:
  Tx(test::TapLink& tap, const ImpairmentConfig* impair) : tap_(tap) {
    if (impair != nullptr) impairment_ = std::make_unique<Impairment>(*impair);
  }
  void set_time(uint64_t now_us) { now_us_ = now_us; }
  void send(const uint8_t* frame, size_t len) {
    if (impairment_) {
      impairment_->offer(frame, len, now_us_);
    } else {
      tap_.send(frame, len);
    }
  }
  void pump() {
    if (impairment_) impairment_->release(now_us_, [&](const uint8_t* f, size_t n) { tap_.send(f, n); });
  }

 private:
  test::TapLink& tap_;
  std::unique_ptr<Impairment> impairment_;
  uint64_t now_us_ = 0;
};

// The TCP services, one instance per address family: DNS over TCP on 53 (2-byte length
// prefix, any number of pipelined queries per connection) and echo on 7. Segments go out
// as IPv4 or IPv6 frames to the peer's MAC (the kernel is the only peer on the link).
template <class F>
class TcpServices : public BasicTcpHandler<F> {
 public:
  static constexpr bool kV4 = std::is_same_v<F, TcpIpv4>;
  using Host = std::conditional_t<kV4, Ipv4Host, Ipv6Host>;
  using Engine = BasicTcpEngine<F>;
  TcpServices(Tx& tap, const Host& host, cache::Cache& cache, Counters& c)
      : tap_(tap), host_(host), cache_(cache), c_(c) {}
  void attach(Engine* engine) { engine_ = engine; }
  void set_time(uint64_t now_us) { now_us_ = now_us; }
  void saw(const MacAddr& mac) { peer_mac_ = mac; }

  void send_segment(typename F::AddrArg remote, const uint8_t* seg, size_t len) override {
    const size_t l2 = write_ethernet(frame_, peer_mac_, host_.config().mac, host_.config().vlan_tci,
                                     kV4 ? kEtherIPv4 : kEtherIPv6);
    std::memcpy(frame_ + l2 + F::kIpHeader, seg, len);
    if constexpr (kV4) {
      write_ipv4(frame_ + l2, host_.config().address, remote, kProtoTCP, len, ip_id_++);
    } else {
      write_ipv6(frame_ + l2, host_.config().address, remote, kProtoTCP, len);
    }
    tap_.send(frame_, l2 + F::kIpHeader + len);
  }
  // Opens the active test connection (see the file comment).
  void start_active(typename F::AddrArg remote) {
    std::mt19937 rng(2024);
    active_data_.resize(200'000);
    for (auto& b : active_data_) b = static_cast<char>(rng());
    active_done_ = false;
    active_ = engine_->connect(remote, 9000, now_us_);
  }
  void on_connected(TcpConn conn) override {
    if (conn != active_) return;
    outbox_[conn] = active_data_;
    active_received_.clear();
    flush(conn);
  }
  void on_accept(TcpConn conn) override {
    ++c_.tcp_accepted;
    inbox_[conn].clear();
    outbox_[conn].clear();
  }
  void on_readable(TcpConn conn) override {
    uint8_t buf[4096];
    std::string& in = inbox_[conn];
    for (size_t n; (n = engine_->receive(conn, buf, sizeof buf, now_us_)) > 0;) in.append(reinterpret_cast<char*>(buf), n);
    if (conn == active_) {
      active_received_ += in;
      in.clear();
      if (!active_done_ && active_received_ == active_data_) {
        active_done_ = true;
        ++c_.active_echo_ok;
      }
      if (engine_->peer_closed(conn)) engine_->close(conn, now_us_);
      return;
    }
    if (engine_->local_port(conn) == 7) {
      c_.echo_bytes += in.size();
      outbox_[conn] += in;
      in.clear();
    } else {
      // DNS over TCP: answer every complete length-prefixed query, in order.
      while (in.size() >= 2) {
        const size_t len = (static_cast<uint8_t>(in[0]) << 8) | static_cast<uint8_t>(in[1]);
        if (in.size() < 2 + len) break;
        uint8_t answer[65535];
        const size_t n = answer_dns(cache_, reinterpret_cast<const uint8_t*>(in.data()) + 2, len, answer,
                                    sizeof answer, static_cast<uint32_t>(now_us_ / 1'000'000), c_);
        in.erase(0, 2 + len);
        if (n == 0) continue;
        ++c_.tcp_dns_answers;
        outbox_[conn].push_back(static_cast<char>(n >> 8));
        outbox_[conn].push_back(static_cast<char>(n));
        outbox_[conn].append(reinterpret_cast<char*>(answer), n);
      }
    }
    flush(conn);
    if (engine_->peer_closed(conn) && outbox_[conn].empty()) engine_->close(conn, now_us_);
  }
  void on_writable(TcpConn conn) override {
    flush(conn);
    if (conn == active_ && outbox_[conn].empty()) engine_->close(conn, now_us_);  // half-close: done sending
    if (engine_->peer_closed(conn) && outbox_[conn].empty()) engine_->close(conn, now_us_);
  }
  void on_closed(TcpConn conn, TcpCloseReason) override {
    ++c_.tcp_closed;
    if (conn == active_) active_ = kNoConn;
    inbox_.erase(conn);
    outbox_.erase(conn);
  }

 private:
  void flush(TcpConn conn) {
    std::string& out = outbox_[conn];
    if (out.empty()) return;
    const size_t n = engine_->send(conn, reinterpret_cast<const uint8_t*>(out.data()), out.size(), now_us_);
    out.erase(0, n);
  }

  Tx& tap_;
  const Host& host_;
  cache::Cache& cache_;
  Counters& c_;
  Engine* engine_ = nullptr;
  uint64_t now_us_ = 0;
  uint16_t ip_id_ = 1;
  MacAddr peer_mac_{};
  std::map<TcpConn, std::string> inbox_, outbox_;
  TcpConn active_ = kNoConn;
  bool active_done_ = false;
  std::string active_data_, active_received_;
  uint8_t frame_[65536 + 64];
};

}  // namespace

int main(int argc, char** argv) try {
  if (argc != 3 && argc != 5) {
    std::fprintf(stderr, "usage: %s IFACE SECONDS [DELAY_MS REORDER_PERCENT]\n", argv[0]);
    return 2;
  }
  std::signal(SIGTERM, on_signal);
  std::signal(SIGINT, on_signal);
  test::TapLink link(argv[1]);
  const int seconds = std::atoi(argv[2]);
  ImpairmentConfig impair;
  if (argc == 5) {
    impair.delay_us = static_cast<uint32_t>(std::atoi(argv[3])) * 1000;
    impair.jitter_us = impair.delay_us / 10;
    impair.reorder_ppm = static_cast<uint32_t>(std::atoi(argv[4])) * 10'000;
    impair.reorder_us = 20'000;
    impair.capacity = 20'000;
  }
  Tx tap(link, argc == 5 ? &impair : nullptr);

  Ipv4HostConfig c4;
  c4.mac = kOurMac;
  c4.address = 0xc0000202;
  c4.prefix_len = 24;
  Ipv6HostConfig c6;
  c6.mac = kOurMac;
  c6.address = Ipv6Addr{{0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2}};
  c6.prefix_len = 64;
  Ipv4Host host4(c4);
  Ipv6Host host6(c6);
  NeighborTable neighbors4{NeighborConfig{}};
  NeighborTable6 neighbors6{NeighborConfig{}};
  NeighborActions actions4;
  NeighborActions6 actions6;

  cache::CacheConfig cc;
  cc.memory_bytes = 1 << 20;
  cache::Cache cache(cc, std::random_device{}() | (uint64_t{std::random_device{}()} << 32));
  const auto start = std::chrono::steady_clock::now();
  auto elapsed_ms = [&] {
    return static_cast<uint64_t>(
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start).count());
  };
  preload(cache, 0);
  Counters c;
  TcpServices<TcpIpv4> services(tap, host4, cache, c);
  TcpConfig tc;
  tc.local_address = c4.address;
  tc.max_connections = 64;
  TcpEngine tcp(tc, services, 0);
  services.attach(&tcp);
  tcp.listen(53);
  tcp.listen(7);
  TcpServices<TcpIpv6> services6(tap, host6, cache, c);
  Tcp6Config tc6;
  tc6.local_address = c6.address;
  tc6.max_connections = 64;
  tc6.mss = 1440;
  // Every IPv6 connection opens through a SYN cookie, so the kernel's TCP proves the
  // cookies (MSS, window scale through the timestamp) as a real peer.
  tc6.syn_backlog = 0;
  Tcp6Engine tcp6(tc6, services6, 0);
  services6.attach(&tcp6);
  tcp6.listen(53);
  tcp6.listen(7);
  std::printf("ready\n");
  std::fflush(stdout);

  static uint8_t frame[4096];
  static uint8_t tx[4096];
  while (!g_stop && elapsed_ms() < static_cast<uint64_t>(seconds) * 1000) {
    const size_t n = link.receive(frame, sizeof frame, 2);
    const uint64_t now_ms = elapsed_ms();
    services.set_time(now_ms * 1000);
    services6.set_time(now_ms * 1000);
    tap.set_time(now_ms * 1000);
    tap.pump();
    tcp.advance(now_ms * 1000);
    tcp6.advance(now_ms * 1000);
    if (n == 0) continue;
    const uint32_t now_s = static_cast<uint32_t>(now_ms / 1000);
    EthFrame eth;
    if (parse_ethernet(frame, n, &eth) != Drop::kNone) {
      ++c.dropped;
      continue;
    }
    if (eth.ethertype == kEtherIPv6) {
      const Rx6Result r = host6.receive(frame, n, now_ms, neighbors6, actions6);
      if (r.kind == RxKind::kReplyInPlace) {
        tap.send(frame, r.reply_len);
        ++(frame[eth.l3_offset + kIpv6Header] == kNdNeighborAdvert ? c.nd_adverts : c.echo6);
      } else if (r.kind == RxKind::kUdp) {
        uint8_t* payload = tx + host6.udp_payload_offset();
        const size_t len = answer_dns(cache, frame + r.payload_offset, r.payload_len, payload,
                                      sizeof tx - host6.udp_payload_offset(), now_s, c);
        if (len != 0) tap.send(tx, host6.build_udp(tx, eth.src, r.src, r.dst_port, r.src_port, len));
      } else if (r.kind == RxKind::kTcp) {
        services6.saw(eth.src);
        tcp6.input(r.src, frame + r.l4_offset, r.l4_len, now_ms * 1000);
      } else if (r.kind == RxKind::kIcmpError) {
        tcp6.icmp_error(frame + r.l4_offset, r.l4_len, now_ms * 1000);
      } else if (r.kind == RxKind::kDropped) {
        ++c.dropped;
      }
    } else {
      const RxResult r = host4.receive(frame, n, now_ms, neighbors4, actions4);
      if (r.kind == RxKind::kReplyInPlace) {
        tap.send(frame, r.reply_len);
        ++(eth.ethertype == kEtherARP ? c.arp_replies : c.echo4);
      } else if (r.kind == RxKind::kUdp) {
        static const uint8_t kTrigger[] = "\7connect\7dotgate\4test";
        if (r.payload_len > 12 + sizeof kTrigger &&
            dns::name_equal_ci(frame + r.payload_offset + 12, sizeof kTrigger, kTrigger, sizeof kTrigger)) {
          services.saw(eth.src);
          services.start_active(r.src_ip);
        }
        uint8_t* payload = tx + host4.udp_payload_offset();
        const size_t len = answer_dns(cache, frame + r.payload_offset, r.payload_len, payload,
                                      sizeof tx - host4.udp_payload_offset(), now_s, c);
        if (len != 0) {
          tap.send(tx, host4.build_udp(tx, eth.src, r.src_ip, r.dst_port, r.src_port, len,
                                       static_cast<uint16_t>(c.dns_answers + c.dns_refused)));
        }
      } else if (r.kind == RxKind::kTcp) {
        services.saw(eth.src);
        tcp.input(r.src_ip, frame + r.l4_offset, r.l4_len, now_ms * 1000);
      } else if (r.kind == RxKind::kIcmpError) {
        tcp.icmp_error(frame + r.l4_offset, r.l4_len, now_ms * 1000);
      } else if (r.kind == RxKind::kDropped) {
        ++c.dropped;
      }
    }
    actions4.clear();
    actions6.clear();
  }
  const TcpStats& ts = tcp.stats();
  const TcpStats& ts6 = tcp6.stats();
  std::printf("counters: arp_replies=%u nd_adverts=%u echo4=%u echo6=%u dns_answers=%u dns_refused=%u "
              "dns_errors=%u dropped=%u tcp_accepted=%u tcp_closed=%u tcp_dns_answers=%u echo_bytes=%llu "
              "tcp_retransmits=%llu tcp_segments_in=%llu active_echo_ok=%u syn_cookies_accepted=%llu\n",
              c.arp_replies, c.nd_adverts, c.echo4, c.echo6, c.dns_answers, c.dns_refused, c.dns_errors, c.dropped,
              c.tcp_accepted, c.tcp_closed, c.tcp_dns_answers, static_cast<unsigned long long>(c.echo_bytes),
              static_cast<unsigned long long>(ts.retransmits + ts6.retransmits),
              static_cast<unsigned long long>(ts.segments_in + ts6.segments_in),
              c.active_echo_ok, static_cast<unsigned long long>(ts6.syn_cookies_accepted));
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "tap_responder: %s\n", e.what());
  return 1;
}
