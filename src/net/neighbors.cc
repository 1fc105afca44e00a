#include "net/neighbors.h"

#include <bit>

#include "util/hash.h"

namespace dotgate::net {

NeighborTable::NeighborTable(const NeighborConfig& config) : config_(config) {
  if (config_.max_pending == 0) config_.max_pending = 1;
  if (config_.max_pending > 255) config_.max_pending = 255;
  if (config_.max_requests == 0) config_.max_requests = 1;
  if (config_.max_requests > 255) config_.max_requests = 255;
  size_t n = std::bit_ceil(config_.capacity < kProbeWindow ? kProbeWindow : config_.capacity);
  entries_.resize(n);
  pending_.resize(n * config_.max_pending);
  mask_ = n - 1;
}

size_t NeighborTable::slot_for(uint32_t ip) const noexcept {
  return util::mix64(ip, 0x9e3779b97f4a7c15ULL) & mask_;
}

NeighborTable::Entry* NeighborTable::find_entry(uint32_t ip) noexcept {
  size_t i = slot_for(ip);
  for (size_t k = 0; k < kProbeWindow; ++k, i = (i + 1) & mask_) {
    Entry& e = entries_[i];
    if (e.state == State::kFree) return nullptr;
    if (e.ip == ip) return &e;
  }
  return nullptr;
}

const MacAddr* NeighborTable::find(uint32_t ip, uint64_t now_ms) const noexcept {
  const Entry* e = const_cast<NeighborTable*>(this)->find_entry(ip);
  if (e == nullptr || e->state != State::kReachable || now_ms >= e->confirmed_ms + config_.reachable_ms) {
    return nullptr;
  }
  return &e->mac;
}

NeighborTable::Entry* NeighborTable::claim(uint32_t ip, uint64_t now_ms, NeighborActions& actions) noexcept {
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

void NeighborTable::release_pending(Entry& e, NeighborActions& actions, bool transmit) noexcept {
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

void NeighborTable::send_request(Entry& e, uint64_t now_ms, NeighborActions& actions) noexcept {
  actions.requests.push_back(e.ip);
  ++stats_.requests_sent;
  ++e.requests;
  e.probing = true;
  e.timer_ms = now_ms + config_.retransmit_ms;
}

void NeighborTable::fail(Entry& e, uint64_t now_ms, NeighborActions& actions) noexcept {
  release_pending(e, actions, false);
  e.state = State::kFailed;
  e.probing = false;
  e.timer_ms = now_ms + config_.failed_hold_ms;
  ++stats_.failed;
}

NeighborTable::Result NeighborTable::resolve(uint32_t ip, uint64_t handle, uint64_t now_ms, MacAddr* mac,
                                             NeighborActions& actions) {
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

void NeighborTable::learn(uint32_t ip, const MacAddr& mac, uint64_t now_ms, bool create,
                          NeighborActions& actions) {
  if (mac.is_multicast() || mac.is_zero()) return;  // never a valid neighbour address
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

void NeighborTable::tick(uint64_t now_ms, NeighborActions& actions) {
  for (Entry& e : entries_) {
    if (!e.probing || now_ms < e.timer_ms) continue;
    if (e.requests >= config_.max_requests) {
      fail(e, now_ms, actions);
    } else {
      send_request(e, now_ms, actions);
    }
  }
}

}  // namespace dotgate::net
