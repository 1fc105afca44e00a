// A hashed timer wheel (Varghese & Lauck) for per-connection timers: O(1) schedule and
// cancel, and advance() costs one slot visit per elapsed tick (at most one full turn).
//
// Timers are identified by dense u32 ids chosen by the caller (for TCP: connection index
// times timers per connection plus the timer kind), stored in intrusive lists, so nothing
// allocates after construction. Deadlines beyond one turn of the wheel stay in their slot
// and are skipped until due. Time is in ticks of the caller's choosing (TCP uses 1 ms).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace dotgate::net {

class TimerWheel {
 public:
  static constexpr uint32_t kNone = UINT32_MAX;

  // `capacity` ids (0 .. capacity-1); `slots` is rounded up to a power of two.
  TimerWheel(uint32_t capacity, uint32_t slots, uint64_t now_tick);

  // Arms timer `id` to fire at `deadline` (a deadline not after now() fires at the next
  // advance). Re-arming replaces the previous deadline.
  void schedule(uint32_t id, uint64_t deadline) noexcept;
  void cancel(uint32_t id) noexcept;
  bool armed(uint32_t id) const noexcept { return nodes_[id].slot != kNone || nodes_[id].queued; }
  uint64_t deadline(uint32_t id) const noexcept { return nodes_[id].deadline; }
  uint64_t now() const noexcept { return now_; }
  size_t armed_count() const noexcept { return armed_; }

  // Moves time to `now_tick` and calls fire(id) for every timer due by then, earliest slot
  // first (slot order after a gap of more than one turn). Timers fire once; fire() may
  // re-arm or cancel any timer (a re-armed one with a past deadline fires on the next
  // advance, never in this one).
  template <class Fire>
  void advance(uint64_t now_tick, Fire&& fire) {
    if (now_tick <= now_) return;
    const uint64_t steps = now_tick - now_ < slots_.size() ? now_tick - now_ : slots_.size();
    // Due timers are queued on their own link, so fire() may re-arm or cancel any timer,
    // queued ones included: a queued timer that was re-armed or cancelled is skipped.
    uint32_t fired = kNone;
    uint32_t fired_tail = kNone;
    for (uint64_t s = 1; s <= steps; ++s) {
      const size_t slot = static_cast<size_t>((now_ + s) & mask_);
      for (uint32_t id = slots_[slot]; id != kNone;) {
        const uint32_t next = nodes_[id].next;
        if (nodes_[id].deadline <= now_tick) {
          unlink(id);
          nodes_[id].queued = true;
          nodes_[id].qnext = kNone;
          if (fired_tail == kNone) {
            fired = id;
          } else {
            nodes_[fired_tail].qnext = id;
          }
          fired_tail = id;
        }
        id = next;
      }
    }
    now_ = now_tick;
    while (fired != kNone) {
      const uint32_t id = fired;
      fired = nodes_[id].qnext;
      if (!nodes_[id].queued) continue;  // re-armed or cancelled by an earlier fire()
      nodes_[id].queued = false;
      fire(id);
    }
  }

 private:
  struct Node {
    uint64_t deadline = 0;
    uint32_t next = kNone;
    uint32_t prev = kNone;
    uint32_t slot = kNone;  // kNone: not armed
    uint32_t qnext = kNone; // link in advance()'s queue of due timers
    bool queued = false;    // due in the running advance() and not yet fired
  };
  void unlink(uint32_t id) noexcept;

  std::vector<Node> nodes_;
  std::vector<uint32_t> slots_;  // list heads
  uint64_t mask_ = 0;
  uint64_t now_ = 0;
  size_t armed_ = 0;
};

inline TimerWheel::TimerWheel(uint32_t capacity, uint32_t slots, uint64_t now_tick) : now_(now_tick) {
  size_t n = 1;
  while (n < slots) n <<= 1;
  nodes_.resize(capacity);
  slots_.assign(n, kNone);
  mask_ = n - 1;
}

inline void TimerWheel::unlink(uint32_t id) noexcept {
  Node& n = nodes_[id];
  if (n.prev != kNone) {
    nodes_[n.prev].next = n.next;
  } else {
    slots_[n.slot] = n.next;
  }
  if (n.next != kNone) nodes_[n.next].prev = n.prev;
  n.next = n.prev = kNone;
  n.slot = kNone;
  --armed_;
}

inline void TimerWheel::schedule(uint32_t id, uint64_t deadline) noexcept {
  nodes_[id].queued = false;
  if (nodes_[id].slot != kNone) unlink(id);
  if (deadline <= now_) deadline = now_ + 1;
  Node& n = nodes_[id];
  n.deadline = deadline;
  n.slot = static_cast<uint32_t>(deadline & mask_);
  n.prev = kNone;
  n.next = slots_[n.slot];
  if (n.next != kNone) nodes_[n.next].prev = id;
  slots_[n.slot] = id;
  ++armed_;
}

inline void TimerWheel::cancel(uint32_t id) noexcept {
  nodes_[id].queued = false;
  if (nodes_[id].slot != kNone) unlink(id);
}

}  // namespace dotgate::net
