#include "net/neighbors.h"

#include <bit>

#include "util/hash.h"

namespace dotgate::net {

namespace {
uint64_t addr_hash(uint32_t ip) noexcept { return util::mix64(ip, 0x9e3779b97f4a7c15ULL); }
uint64_t addr_hash(const Ipv6Addr& ip) noexcept { return util::hash_bytes(ip.b, 16, 0x9e3779b97f4a7c15ULL); }
bool is_unset(uint32_t ip) noexcept { return ip == 0; }
bool is_unset(const Ipv6Addr& ip) noexcept { return ip.is_unspecified(); }
}  // namespace

template <class Addr>
BasicNeighborTable<Addr>::BasicNeighborTable(const NeighborConfig& config) : config_(config) {
  if (config_.max_pending == 0) config_.max_pending = 1;
  if (config_.max_pending > 255) config_.max_pending = 255;
  if (config_.max_requests == 0) config_.max_requests = 1;
  if (config_.max_requests > 255) config_.max_requests = 255;
  size_t n = std::bit_ceil(config_.capacity < kProbeWindow ? kProbeWindow : config_.capacity);
  entries_.resize(n);
  pending_.resize(n * config_.max_pending);
  mask_ = n - 1;
}

template <class Addr>
size_t BasicNeighborTable<Addr>::slot_for(const Addr& ip) const noexcept {
  return addr_hash(ip) & mask_;
}

template <class Addr>
typename BasicNeighborTable<Addr>::Entry* BasicNeighborTable<Addr>::find_entry(const Addr& ip) noexcept {
  size_t i = slot_for(ip);
  for (size_t k = 0; k < kProbeWindow; ++k, i = (i + 1) & mask_) {
    Entry& e = entries_[i];
    if (e.state == State::kFree) return nullptr;
    if (e.ip == ip) return &e;
  }
  return nullptr;
}

template <class Addr>
const MacAddr* BasicNeighborTable<Addr>::find(const Addr& ip, uint64_t now_ms) const noexcept {
  const Entry* e = const_cast<BasicNeighborTable*>(this)->find_entry(ip);
  if (e == nullptr || e->state != State::kReachable || now_ms >= e->confirmed_ms + config_.reachable_ms) {
    return nullptr;
  }
  return &e->mac;
}

template <class Addr>
typename BasicNeighborTable<Addr>::Entry* BasicNeighborTable<Addr>::claim(const Addr& ip, uint64_t now_ms,
                                                                       Actions& actions) noexcept {
  // Within the probe window: a free slot, else the least useful entry. Entries still being
  // resolved, with packets waiting, are never taken.
  Entry* victim = nullptr;
  int victim_rank = 0;
  uint64_t victim_age = 0;
  size_t i = slot_for(ip);
  for (size_t k = 0; k < kProbeWindow; ++k, i = (i + 1) & mask_) {
    Entry& e = entries_[i];
    if (e.state == State::kFree) {
      victim = &e;
      break;
    }
    int rank = 0;
    uint64_t age = 0;
    if (e.state == State::kFailed) {
      rank = 3;
    } else if (e.state == State::kReachable) {
      rank = now_ms >= e.confirmed_ms + config_.reachable_ms ? 2 : 1;
      age = now_ms - e.confirmed_ms;
    } else if (e.pending_count == 0) {
      rank = 1;
    }
    if (rank > victim_rank || (rank == victim_rank && rank > 0 && age > victim_age)) {
      victim = &e;
      victim_rank = rank;
      victim_age = age;
    }
  }
  if (victim == nullptr) {
    ++stats_.table_full;
    return nullptr;
  }
  if (victim->state != State::kFree) {
    release_pending(*victim, actions, false);
  } else {
    ++stats_.entries;
  }
  *victim = Entry{};
  victim->ip = ip;
  return victim;
}

template <class Addr>
void BasicNeighborTable<Addr>::release_pending(Entry& e, Actions& actions, bool transmit) noexcept {
  const uint64_t* held = &pending_[index_of(e) * config_.max_pending];
  for (size_t k = 0; k < e.pending_count; ++k) {
    if (transmit) {
      actions.transmit.push_back({held[k], e.mac});
    } else {
      actions.drop.push_back(held[k]);
      ++stats_.pending_dropped;
    }
  }
  e.pending_count = 0;
}

template <class Addr>
void BasicNeighborTable<Addr>::send_request(Entry& e, uint64_t now_ms, Actions& actions) noexcept {
  actions.requests.push_back(e.ip);
  ++stats_.requests_sent;
  ++e.requests;
  e.probing = true;
  e.timer_ms = now_ms + config_.retransmit_ms;
}

template <class Addr>
void BasicNeighborTable<Addr>::fail(Entry& e, uint64_t now_ms, Actions& actions) noexcept {
  release_pending(e, actions, false);
  e.state = State::kFailed;
  e.probing = false;
  e.timer_ms = now_ms + config_.failed_hold_ms;
  ++stats_.failed;
}

template <class Addr>
typename BasicNeighborTable<Addr>::Result BasicNeighborTable<Addr>::resolve(const Addr& ip, uint64_t handle,
                                                                            uint64_t now_ms, MacAddr* mac,
                                                                            Actions& actions) {
  Entry* e = find_entry(ip);
  if (e != nullptr && e->state == State::kReachable) {
    if (now_ms >= e->confirmed_ms + config_.reachable_ms && !e->probing) {
      e->requests = 0;
      send_request(*e, now_ms, actions);  // stale: keep using it, and re-confirm
    }
    *mac = e->mac;
    return Result::kResolved;
  }
  if (e != nullptr && e->state == State::kFailed) {
    if (now_ms < e->timer_ms) return Result::kDropped;
    e->state = State::kIncomplete;
    e->requests = 0;
    send_request(*e, now_ms, actions);
  }
  if (e == nullptr) {
    e = claim(ip, now_ms, actions);
    if (e == nullptr) return Result::kDropped;
    e->state = State::kIncomplete;
    send_request(*e, now_ms, actions);
  }
  if (e->pending_count >= config_.max_pending) {
    ++stats_.pending_dropped;
    return Result::kDropped;
  }
  pending_[index_of(*e) * config_.max_pending + e->pending_count++] = handle;
  return Result::kQueued;
}

template <class Addr>
void BasicNeighborTable<Addr>::learn(const Addr& ip, const MacAddr& mac, uint64_t now_ms, bool create,
                                     Actions& actions) {
  if (mac.is_multicast() || mac.is_zero() || is_unset(ip)) return;  // never a valid neighbour
  Entry* e = find_entry(ip);
  if (e == nullptr) {
    if (!create) return;
    e = claim(ip, now_ms, actions);
    if (e == nullptr) return;
  }
  if (e->state == State::kIncomplete) ++stats_.resolved;
  e->mac = mac;
  e->state = State::kReachable;
  e->confirmed_ms = now_ms;
  e->requests = 0;
  e->probing = false;
  release_pending(*e, actions, true);
}

template <class Addr>
void BasicNeighborTable<Addr>::tick(uint64_t now_ms, Actions& actions) {
  // Stops before the action arrays would have to grow (the rest stays due and is handled by
  // the next tick, from where this one stopped), so the owner's pre-sized arrays suffice.
  for (size_t k = 0; k < entries_.size(); ++k) {
    if (actions.requests.size() == actions.requests.capacity() ||
        actions.drop.size() + config_.max_pending > actions.drop.capacity()) {
      return;
    }
    Entry& e = entries_[tick_cursor_];
    tick_cursor_ = (tick_cursor_ + 1) & mask_;
    if (!e.probing || now_ms < e.timer_ms) continue;
    if (e.requests >= config_.max_requests) {
      fail(e, now_ms, actions);
    } else {
      send_request(e, now_ms, actions);
    }
  }
}

template class BasicNeighborTable<uint32_t>;
template class BasicNeighborTable<Ipv6Addr>;

}  // namespace dotgate::net
