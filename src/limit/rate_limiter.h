// Per-client query rate limit: a token bucket per client address, as unbound's
// ip-ratelimit and dnsdist's MaxQPSIPRule. Configured by [limits] client_qps and
// client_burst; one instance per worker core, used only by that core (no locks).
//
// Clients are keyed by address: an IPv4 address whole, an IPv6 address by its /64 (one
// subscriber's LAN; a host can pick any address inside it). Both prefix lengths are
// configurable. An IPv4 address and its IPv4-mapped IPv6 form (::ffff:a.b.c.d) are the
// same client when the IPv6 prefix keeps the low 32 bits.
//
// The table is fixed at construction: a power-of-two number of 32-byte slots, indexed by
// a hash keyed with a secret (clients choose their addresses; a known hash would let them
// aim at one bucket). A client is looked for in a short window of slots after its hash;
// a new client takes the first free slot there, else the slot touched least recently, and
// that client's bucket is forgotten (counted as an eviction). A forgotten client comes
// back with a full bucket, so a table too small for its clients errs towards letting
// queries through, never towards refusing a client that keeps to its rate.
//
// Arithmetic is integer only: a bucket holds "token-microseconds" (one query costs
// 1'000'000), and `qps` of them flow in per elapsed microsecond, so rates need no
// rounding at all. Time is passed in (microseconds on one monotonic clock).
#pragma once

#include <cstddef>
#include <cstdint>

#include "net/addr_text.h"
#include "util/huge_buffer.h"

namespace dotgate::limit {

struct RateLimiterConfig {
  uint32_t qps = 0;            // queries per second per client; 0: no limit (allow() is true)
  uint32_t burst = 0;          // bucket depth in queries; 0: the same as qps
  size_t slots = size_t{1} << 16;  // table entries, a power of two (32 bytes each)
  uint8_t ipv4_prefix = 32;    // bits of an IPv4 address that name a client, 1..32
  uint8_t ipv6_prefix = 64;    // bits of an IPv6 address that name a client, 1..128
  uint32_t probe_window = 8;   // slots searched per client, 1..slots
};

struct RateLimiterStats {
  uint64_t allowed = 0;    // queries let through (all of them when qps is 0)
  uint64_t limited = 0;    // queries refused for want of a token
  uint64_t new_clients = 0;  // clients given a slot (first seen, or seen again after eviction)
  uint64_t evictions = 0;  // clients forgotten to make room for another
};

class RateLimiter {
 public:
  // Throws std::invalid_argument naming the bad field (slots not a power of two, a prefix
  // or window out of range). `hash_seed` must be secret and random.
  RateLimiter(const RateLimiterConfig& config, uint64_t hash_seed);
  RateLimiter(const RateLimiter&) = delete;
  RateLimiter& operator=(const RateLimiter&) = delete;

  // Takes one token from the client's bucket: true if it had one (answer the query),
  // false if not (drop or refuse it; the caller decides). `now_us` must not go backwards
  // by more than noise: an earlier time than a bucket's last refill adds nothing.
  bool allow(const net::IpAddr& client, uint64_t now_us) noexcept;

  // The same for a burst: allowed[i] = allow(clients[i], now_us), in order, with the table
  // lines of up to kBurst clients prefetched before the first is decided. With many
  // clients their slots are rarely cached; this overlaps those misses.
  static constexpr size_t kBurst = 32;
  void allow_burst(const net::IpAddr* clients, size_t n, uint64_t now_us, bool* allowed) noexcept;

  bool enabled() const noexcept { return qps_ != 0; }
  const RateLimiterConfig& config() const noexcept { return config_; }
  const RateLimiterStats& stats() const noexcept { return stats_; }
  // Bytes of table memory.
  size_t memory_bytes() const noexcept { return memory_.size(); }

  static constexpr uint64_t kTokenUnits = 1'000'000;  // token-microseconds per query

 private:
  struct Slot {
    uint64_t key_hi = 0;   // the client's masked address as IPv6 (IPv4 as ::ffff:a.b.c.d)
    uint64_t key_lo = 0;
    uint64_t last_us = 0;  // when the bucket was last refilled
    uint64_t credit = 0;   // token-microseconds in the bucket; kEmpty marks a free slot
  };
  static constexpr uint64_t kEmpty = ~uint64_t{0};

  void key_of(const net::IpAddr& client, uint64_t* hi, uint64_t* lo) const noexcept;
  size_t slot_of(uint64_t hi, uint64_t lo) const noexcept;
  bool take(uint64_t hi, uint64_t lo, size_t start, uint64_t now_us) noexcept;
  uint64_t refill(const Slot& s, uint64_t now_us) const noexcept;

  RateLimiterConfig config_;
  uint64_t seed_;
  uint64_t qps_;           // tokens-microseconds added per microsecond
  uint64_t capacity_;      // burst in token-microseconds
  uint64_t full_after_us_;  // an idle bucket is full again after this long
  uint64_t v4_mask_;       // applied to the low 64 bits of the mapped IPv4 key
  uint64_t v6_mask_hi_, v6_mask_lo_;
  size_t mask_;
  util::HugeBuffer memory_;
  Slot* slots_ = nullptr;
  RateLimiterStats stats_;
};

}  // namespace dotgate::limit
