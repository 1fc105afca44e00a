// A seeded impairment stage for frame I/O: loss, duplication, delay with jitter and
// reordering, for tests and the lab (this kernel has no netem). Off unless configured.
//
// Frames are copied into a fixed pool when offered and handed back when due, earliest
// first; a full pool drops the frame, like a real link's buffer. The same seed and the
// same offers at the same times give the same output. Times are in microseconds.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <functional>
#include <random>
#include <vector>

namespace dotgate::net {

struct ImpairmentConfig {
  uint32_t loss_ppm = 0;       // frames dropped, per million
  uint32_t duplicate_ppm = 0;  // frames sent twice, per million
  uint32_t reorder_ppm = 0;    // frames held back an extra reorder_us, per million
  uint32_t delay_us = 0;       // added to every frame
  uint32_t jitter_us = 0;      // plus a uniform 0..jitter_us
  uint32_t reorder_us = 5000;  // the extra hold of a reordered frame
  uint64_t seed = 1;
  size_t capacity = 4096;      // frames held at once
  size_t max_frame = 2048;     // bytes per frame slot; longer frames are dropped
  bool enabled() const noexcept {
    return loss_ppm || duplicate_ppm || reorder_ppm || delay_us || jitter_us;
  }
};

struct ImpairmentStats {
  uint64_t offered = 0;
  uint64_t lost = 0;
  uint64_t duplicated = 0;
  uint64_t reordered = 0;
  uint64_t overflow = 0;  // dropped: pool full or frame too long
  uint64_t released = 0;
};

class Impairment {
 public:
  explicit Impairment(const ImpairmentConfig& config)
      : config_(config), rng_(config.seed), pool_(config.capacity * config.max_frame) {
    free_.reserve(config.capacity);
    for (size_t i = config.capacity; i-- > 0;) free_.push_back(static_cast<uint32_t>(i));
    queue_.reserve(config.capacity);
  }

  // Takes a copy of frame[0, len) sent at now_us.
  void offer(const uint8_t* frame, size_t len, uint64_t now_us) {
    ++stats_.offered;
    if (chance(config_.loss_ppm)) {
      ++stats_.lost;
      return;
    }
    const int copies = chance(config_.duplicate_ppm) ? 2 : 1;
    if (copies == 2) ++stats_.duplicated;
    for (int c = 0; c < copies; ++c) {
      if (free_.empty() || len > config_.max_frame) {
        ++stats_.overflow;
        return;
      }
      uint64_t due = now_us + config_.delay_us;
      if (config_.jitter_us) due += rng_() % (uint64_t{config_.jitter_us} + 1);
      if (chance(config_.reorder_ppm)) {
        due += config_.reorder_us;
        ++stats_.reordered;
      }
      const uint32_t slot = free_.back();
      free_.pop_back();
      std::memcpy(&pool_[size_t{slot} * config_.max_frame], frame, len);
      queue_.push_back(Held{due, sequence_++, slot, static_cast<uint32_t>(len)});
      std::push_heap(queue_.begin(), queue_.end(), later);
    }
  }

  // Hands every frame due by now_us to deliver(const uint8_t*, size_t), earliest first
  // (ties in offer order). Returns how many.
  template <class Deliver>
  size_t release(uint64_t now_us, Deliver&& deliver) {
    size_t n = 0;
    while (!queue_.empty() && queue_.front().due <= now_us) {
      std::pop_heap(queue_.begin(), queue_.end(), later);
      const Held h = queue_.back();
      queue_.pop_back();
      deliver(&pool_[size_t{h.slot} * config_.max_frame], size_t{h.len});
      free_.push_back(h.slot);
      ++n;
    }
    stats_.released += n;
    return n;
  }

  size_t held() const noexcept { return queue_.size(); }
  // When the next frame falls due (UINT64_MAX if none).
  uint64_t next_due() const noexcept { return queue_.empty() ? UINT64_MAX : queue_.front().due; }
  const ImpairmentStats& stats() const noexcept { return stats_; }

 private:
  struct Held {
    uint64_t due;
    uint64_t sequence;
    uint32_t slot;
    uint32_t len;
  };
  static bool later(const Held& a, const Held& b) noexcept {
    return a.due != b.due ? a.due > b.due : a.sequence > b.sequence;
  }
  bool chance(uint32_t ppm) { return ppm != 0 && rng_() % 1'000'000 < ppm; }

  ImpairmentConfig config_;
  std::mt19937_64 rng_;
  std::vector<uint8_t> pool_;
  std::vector<uint32_t> free_;
  std::vector<Held> queue_;  // a min-heap on (due, sequence)
  uint64_t sequence_ = 0;
  ImpairmentStats stats_;
};

}  // namespace dotgate::net
