#include "limit/rate_limiter.h"

#include <stdexcept>
#include <string>

#include "util/byte_order.h"
#include "util/hash.h"

namespace dotgate::limit {

namespace {

// The high `bits` bits of a 64-bit word set (bits may be 0..64).
constexpr uint64_t high_bits(unsigned bits) noexcept {
  return bits == 0 ? 0 : bits >= 64 ? ~uint64_t{0} : ~uint64_t{0} << (64 - bits);
}

uint64_t load_be64(const uint8_t* p) noexcept {
  return (uint64_t{util::load_be32(p)} << 32) | util::load_be32(p + 4);
}

constexpr uint64_t kMappedV4 = uint64_t{0xffff} << 32;  // ::ffff:0:0/96 in the low word

}  // namespace

RateLimiter::RateLimiter(const RateLimiterConfig& config, uint64_t hash_seed)
    : config_(config), seed_(hash_seed) {
  if (config.slots == 0 || (config.slots & (config.slots - 1)) != 0) {
    throw std::invalid_argument("rate limiter: slots must be a power of two, not " + std::to_string(config.slots));
  }
  if (config.ipv4_prefix < 1 || config.ipv4_prefix > 32) {
    throw std::invalid_argument("rate limiter: ipv4_prefix must be 1..32, not " + std::to_string(config.ipv4_prefix));
  }
  if (config.ipv6_prefix < 1 || config.ipv6_prefix > 128) {
    throw std::invalid_argument("rate limiter: ipv6_prefix must be 1..128, not " + std::to_string(config.ipv6_prefix));
  }
  if (config.probe_window < 1 || config.probe_window > config.slots) {
    throw std::invalid_argument("rate limiter: probe_window must be 1..slots, not " +
                                std::to_string(config.probe_window));
  }
  qps_ = config.qps;
  const uint64_t burst = config.burst != 0 ? config.burst : config.qps;
  capacity_ = burst * kTokenUnits;
  // Rounded up: a bucket idle this long is full whatever it held.
  full_after_us_ = qps_ == 0 ? 0 : (capacity_ + qps_ - 1) / qps_;
  v4_mask_ = kMappedV4 | (high_bits(config.ipv4_prefix) >> 32);
  v6_mask_hi_ = high_bits(config.ipv6_prefix);
  v6_mask_lo_ = high_bits(config.ipv6_prefix > 64 ? config.ipv6_prefix - 64u : 0u);
  mask_ = config.slots - 1;
  if (qps_ == 0) return;  // off: no table
  memory_ = util::HugeBuffer(config.slots * sizeof(Slot));
  slots_ = reinterpret_cast<Slot*>(memory_.data());
  for (size_t i = 0; i < config.slots; ++i) slots_[i].credit = kEmpty;
}

void RateLimiter::key_of(const net::IpAddr& client, uint64_t* hi, uint64_t* lo) const noexcept {
  if (!client.v6) {
    *hi = 0;
    *lo = (kMappedV4 | client.v4) & v4_mask_;
    return;
  }
  *hi = load_be64(client.v6addr.b) & v6_mask_hi_;
  *lo = load_be64(client.v6addr.b + 8) & v6_mask_lo_;
}

uint64_t RateLimiter::refill(const Slot& s, uint64_t now_us) const noexcept {
  if (now_us <= s.last_us) return s.credit;
  const uint64_t elapsed = now_us - s.last_us;
  // Bounding elapsed first keeps elapsed * qps far from overflow (capacity_ < 2^44).
  if (elapsed >= full_after_us_) return capacity_;
  const uint64_t credit = s.credit + elapsed * qps_;
  return credit < capacity_ ? credit : capacity_;
}

size_t RateLimiter::slot_of(uint64_t hi, uint64_t lo) const noexcept {
  uint8_t key[16];
  util::store_be32(key, static_cast<uint32_t>(hi >> 32));
  util::store_be32(key + 4, static_cast<uint32_t>(hi));
  util::store_be32(key + 8, static_cast<uint32_t>(lo >> 32));
  util::store_be32(key + 12, static_cast<uint32_t>(lo));
  return util::hash_bytes(key, sizeof key, seed_) & mask_;
}

bool RateLimiter::allow(const net::IpAddr& client, uint64_t now_us) noexcept {
  if (qps_ == 0) {
    ++stats_.allowed;
    return true;
  }
  uint64_t hi, lo;
  key_of(client, &hi, &lo);
  return take(hi, lo, slot_of(hi, lo), now_us);
}

void RateLimiter::allow_burst(const net::IpAddr* clients, size_t n, uint64_t now_us, bool* allowed) noexcept {
  if (qps_ == 0) {
    for (size_t i = 0; i < n; ++i) allowed[i] = true;
    stats_.allowed += n;
    return;
  }
  uint64_t hi[kBurst], lo[kBurst];
  size_t start[kBurst];
  for (size_t done = 0; done < n; done += kBurst) {
    const size_t m = n - done < kBurst ? n - done : kBurst;
    for (size_t i = 0; i < m; ++i) {
      key_of(clients[done + i], &hi[i], &lo[i]);
      start[i] = slot_of(hi[i], lo[i]);
      __builtin_prefetch(&slots_[start[i]], 1);
    }
    for (size_t i = 0; i < m; ++i) allowed[done + i] = take(hi[i], lo[i], start[i], now_us);
  }
}

// Finds or makes the client's bucket in the window after `start` and takes a token.
bool RateLimiter::take(uint64_t hi, uint64_t lo, size_t start, uint64_t now_us) noexcept {
  Slot* found = nullptr;
  Slot* free_slot = nullptr;
  Slot* stalest = nullptr;
  for (uint32_t i = 0; i < config_.probe_window; ++i) {
    Slot* s = &slots_[(start + i) & mask_];
    if (s->credit == kEmpty) {
      // Slots are never emptied, and a client takes the first free slot of its window: it
      // cannot lie past a free one.
      free_slot = s;
      break;
    }
    if (s->key_hi == hi && s->key_lo == lo) {
      found = s;
      break;
    }
    if (stalest == nullptr || s->last_us < stalest->last_us) stalest = s;
  }

  uint64_t credit;
  if (found != nullptr) {
    credit = refill(*found, now_us);
  } else {
    // A new client (or one forgotten): a full bucket, in a free slot or the stalest one.
    found = free_slot;
    if (found == nullptr) {
      found = stalest;
      ++stats_.evictions;
    }
    ++stats_.new_clients;
    found->key_hi = hi;
    found->key_lo = lo;
    found->last_us = now_us;
    credit = capacity_;
  }
  if (now_us > found->last_us) found->last_us = now_us;
  if (credit >= kTokenUnits) {
    found->credit = credit - kTokenUnits;
    ++stats_.allowed;
    return true;
  }
  found->credit = credit;
  ++stats_.limited;
  return false;
}

}  // namespace dotgate::limit
