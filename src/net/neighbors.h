// The neighbour table: next-hop MAC addresses for IPv4 (the ARP cache, RFC 826 / RFC 1122
// 2.3.2) and IPv6 (the neighbour cache, RFC 4861 7.3), resolution with bounded retries, and a
// bounded queue of packets waiting for an answer. One template serves both families.
//
// One owner core runs it (ARCHITECTURE: "one owner resolves, workers read a published
// table"); nothing here locks or allocates after construction. Packets are opaque 64-bit
// handles (mbuf pointers in the dataplane) so the table never owns packet memory. Time is
// passed in, in milliseconds on any monotonic clock.
//
// Every call reports what the caller must do through a NeighborActions sink: send an ARP
// request, transmit packets that just became resolvable, or drop packets whose neighbour
// did not answer.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "net/ethernet.h"
#include "net/ipv6_addr.h"

namespace dotgate::net {

struct NeighborConfig {
  size_t capacity = 1024;          // entries; a power of two is used internally
  uint32_t reachable_ms = 30000;   // a confirmed entry is trusted this long (Linux default)
  uint32_t retransmit_ms = 1000;   // between ARP requests for an unanswered entry
  unsigned max_requests = 3;       // requests before the entry fails
  uint32_t failed_hold_ms = 5000;  // a failed entry refuses new packets this long
  size_t max_pending = 4;          // packets held per unresolved entry (RFC 1122: at least 1)
};

// What the owner must do after a call (send a request: ARP request or neighbour
// solicitation, depending on the family). The arrays are cleared by the caller between calls
// (clear()); they are pre-sized so pushing never allocates on the packet path.
template <class Addr>
struct BasicNeighborActions {
  struct Transmit {
    uint64_t handle;
    MacAddr mac;
  };
  std::vector<Addr> requests;      // resolve these addresses (ARP request / NS)
  std::vector<Transmit> transmit;  // these held packets can go now, to this MAC
  std::vector<uint64_t> drop;      // these packets will never be resolved: free them

  explicit BasicNeighborActions(size_t reserve = 256) {
    requests.reserve(reserve);
    transmit.reserve(reserve);
    drop.reserve(reserve);
  }
  void clear() noexcept {
    requests.clear();
    transmit.clear();
    drop.clear();
  }
};

struct NeighborStats {
  uint64_t entries = 0;
  uint64_t resolved = 0;         // incomplete -> reachable
  uint64_t requests_sent = 0;
  uint64_t failed = 0;           // entries that ran out of requests
  uint64_t pending_dropped = 0;  // held packets dropped (queue full, failure, eviction)
  uint64_t table_full = 0;       // resolutions refused: no entry could be had
};

template <class Addr>
class BasicNeighborTable {
 public:
  using Actions = BasicNeighborActions<Addr>;
  enum class Result : uint8_t {
    kResolved,  // *mac is valid: send now
    kQueued,    // held; it will come back through actions.transmit or actions.drop
    kDropped,   // refused (queue full, neighbour failed, table full): free it now
  };

  explicit BasicNeighborTable(const NeighborConfig& config);

  // Finds the MAC for next hop `ip` to send packet `handle`.
  Result resolve(const Addr& ip, uint64_t handle, uint64_t now_ms, MacAddr* mac, Actions& actions);

  // Feeds an ARP packet's sender (RFC 826 merge): refreshes an existing entry, or creates
  // one when `create` (the packet was addressed to us). Releases held packets.
  void learn(const Addr& ip, const MacAddr& mac, uint64_t now_ms, bool create, Actions& actions);

  // Retransmits requests and fails entries that ran out of them. Call every few tens of ms.
  // Never grows `actions`: when its arrays are full the sweep resumes on the next call.
  void tick(uint64_t now_ms, Actions& actions);

  // The MAC for ip if known and confirmed within reachable_ms, else nullptr.
  const MacAddr* find(const Addr& ip, uint64_t now_ms) const noexcept;

  const NeighborStats& stats() const noexcept { return stats_; }

 private:
  // A reachable entry older than reachable_ms is "stale": still used, but the next use
  // starts probing it (like Linux's DELAY/PROBE), and unanswered probes fail it.
  enum class State : uint8_t { kFree, kIncomplete, kReachable, kFailed };
  struct Entry {
    Addr ip{};
    State state = State::kFree;
    bool probing = false;       // requests are being sent (incomplete, or stale and used)
    uint8_t requests = 0;       // sent since the last confirmation
    uint8_t pending_count = 0;  // held packets, in pending_[index * max_pending ...]
    MacAddr mac;
    uint64_t confirmed_ms = 0;  // reachable: when last confirmed
    uint64_t timer_ms = 0;      // probing: next request; failed: when it may be retried
  };
  // An address lives within this many slots of its home (linear probing, no deletion:
  // slots are reused in place, so probe chains never break).
  static constexpr size_t kProbeWindow = 16;

  size_t slot_for(const Addr& ip) const noexcept;
  Entry* find_entry(const Addr& ip) noexcept;
  Entry* claim(const Addr& ip, uint64_t now_ms, Actions& actions) noexcept;
  void release_pending(Entry& e, Actions& actions, bool transmit) noexcept;
  void send_request(Entry& e, uint64_t now_ms, Actions& actions) noexcept;
  void fail(Entry& e, uint64_t now_ms, Actions& actions) noexcept;
  size_t index_of(const Entry& e) const noexcept { return static_cast<size_t>(&e - entries_.data()); }

  NeighborConfig config_;
  std::vector<Entry> entries_;      // open addressing by ip, linear probing, no deletion
  std::vector<uint64_t> pending_;   // max_pending slots per entry
  size_t mask_ = 0;
  size_t tick_cursor_ = 0;  // where the next tick() resumes its sweep
  NeighborStats stats_;
};

// Instantiated in neighbors.cc for the two address families.
extern template class BasicNeighborTable<uint32_t>;
extern template class BasicNeighborTable<Ipv6Addr>;

using NeighborActions = BasicNeighborActions<uint32_t>;
using NeighborTable = BasicNeighborTable<uint32_t>;
using NeighborActions6 = BasicNeighborActions<Ipv6Addr>;
using NeighborTable6 = BasicNeighborTable<Ipv6Addr>;

}  // namespace dotgate::net
