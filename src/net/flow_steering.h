// Which worker owns a received frame, when several workers share a port.
//
// Every TCP connection belongs to one worker: its TCB, its TLS session and the queries on
// it live there, with no locks. The owner is a function of the connection's 4-tuple as it
// arrives (source = the peer): the Toeplitz hash a NIC computes for receive-side scaling
// (RSS), indexed into a redirection table whose entry i names worker i % workers. With the
// same key and table programmed into the NIC, the NIC delivers each segment straight to its
// owner; a port without RSS (af_packet's PACKET_FANOUT, which hashes with the kernel's own
// key and may roll a flow over to another queue when one is full) delivers segments
// anywhere, and the receiving worker hands them to the owner (the dataplane's rings). Both
// cases use this one function, so they cannot disagree.
//
// Connections we open (to upstreams) get a local port whose reply hashes to the opening
// worker (`owns_reply`): under RSS their answers then need no hand-off either.
//
// UDP queries are stateless here: whoever receives one answers it. ARP replies and
// neighbour advertisements go to every worker (each keeps its own neighbour table, and the
// worker that asked may not be the one that got the answer); ICMP errors go to the owner
// of the connection they quote.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "net/ipv6_addr.h"

namespace dotgate::net {

// The 40-byte key of Microsoft's RSS specification, which most NIC drivers default to;
// the dataplane programs it explicitly so the NIC and this code hash alike.
inline constexpr std::array<uint8_t, 40> kDefaultRssKey = {
    0x6d, 0x5a, 0x56, 0xda, 0x25, 0x5b, 0x0e, 0xc2, 0x41, 0x67, 0x25, 0x3d, 0x43, 0xa3,
    0x8f, 0xb0, 0xd0, 0xca, 0x2b, 0xcb, 0xae, 0x7b, 0x30, 0xb4, 0x77, 0xcb, 0x2d, 0xa3,
    0x80, 0x30, 0xf2, 0x0c, 0x6a, 0x42, 0xb7, 0x3b, 0xbe, 0xac, 0x01, 0xfa};

// The Toeplitz hash of `input` (at most 36 bytes: an IPv6 4-tuple) under `key`, bit by
// bit as the RSS specification defines it. The reference for the table-driven one below.
uint32_t toeplitz_hash(const uint8_t* key, size_t key_len, const uint8_t* input, size_t len) noexcept;

enum class FrameOwner : uint8_t {
  kReceiver,  // whoever received it (UDP, ARP requests, anything not tied to a connection)
  kWorker,    // the worker named
  kEveryone,  // a copy to every worker (ARP replies, neighbour advertisements)
};

struct Steering {
  FrameOwner owner = FrameOwner::kReceiver;
  uint32_t worker = 0;
};

class FlowSteering {
 public:
  // `workers` >= 1; `reta_size` a power of two (the NIC's redirection table size; 128 when
  // the port has none). The key is copied.
  FlowSteering(uint32_t workers, uint32_t reta_size, const uint8_t* key = kDefaultRssKey.data(),
               size_t key_len = kDefaultRssKey.size());

  uint32_t workers() const noexcept { return workers_; }
  uint32_t reta_size() const noexcept { return reta_size_; }
  // The redirection table to program into the NIC: entry i is queue i % workers.
  std::vector<uint16_t> reta() const;

  // The RSS hash of a received TCP (or UDP) segment's 4-tuple, as the NIC computes it
  // (source and destination address, then source and destination port, network order).
  uint32_t hash4(uint32_t src, uint32_t dst, uint16_t src_port, uint16_t dst_port) const noexcept;
  uint32_t hash6(const Ipv6Addr& src, const Ipv6Addr& dst, uint16_t src_port, uint16_t dst_port) const noexcept;
  uint32_t worker_of_hash(uint32_t hash) const noexcept { return (hash & (reta_size_ - 1)) % workers_; }

  // Whether a connection we open from `local`:`local_port` to `remote`:`remote_port` has
  // its incoming segments owned by `worker`.
  bool owns_reply4(uint32_t worker, uint32_t remote, uint16_t remote_port, uint32_t local,
                   uint16_t local_port) const noexcept {
    return worker_of_hash(hash4(remote, local, remote_port, local_port)) == worker;
  }
  bool owns_reply6(uint32_t worker, const Ipv6Addr& remote, uint16_t remote_port, const Ipv6Addr& local,
                   uint16_t local_port) const noexcept {
    return worker_of_hash(hash6(remote, local, remote_port, local_port)) == worker;
  }

  // Who owns the received Ethernet frame[0, len). Never reads past len; anything it cannot
  // parse is the receiver's (whose stack counts and drops it).
  Steering steer(const uint8_t* frame, size_t len) const noexcept;

 private:
  uint32_t hash(const uint8_t* input, size_t len) const noexcept;
  Steering tcp_owner4(const uint8_t* ip, size_t len, bool quoted) const noexcept;
  Steering tcp_owner6(const uint8_t* ip, size_t len, bool quoted) const noexcept;

  static constexpr size_t kMaxInput = 36;
  uint32_t workers_;
  uint32_t reta_size_;
  // table_[i][b]: the hash contribution of byte value b at input position i, so a hash is
  // one lookup per input byte instead of eight shifts and XORs per byte.
  std::vector<std::array<uint32_t, 256>> table_;
};

}  // namespace dotgate::net
