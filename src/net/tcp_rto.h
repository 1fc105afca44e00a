// The retransmission timeout (RFC 6298): smoothed RTT and variance from samples, the RTO
// derived from them with a floor and a ceiling, and exponential backoff. Times are in
// microseconds, so sub-millisecond data-center RTTs keep their precision.
#pragma once

#include <cstdint>

namespace dotgate::net {

class RtoEstimator {
 public:
  // RFC 6298 2.1 sets 1 s before any sample; 2.4 a 1 s floor, which Linux lowers to 200 ms
  // (as we do by default); 2.5 allows a ceiling of at least 60 s.
  explicit RtoEstimator(uint32_t initial_us = 1'000'000, uint32_t min_us = 200'000, uint32_t max_us = 60'000'000,
                        uint32_t granularity_us = 1000)
      : rto_(initial_us), min_(min_us), max_(max_us), granularity_(granularity_us) {}

  // Feeds one RTT measurement (RFC 6298 2.2 / 2.3; never from a retransmitted segment,
  // Karn's rule, unless timestamps disambiguate it). Resets any backoff.
  void sample(uint32_t rtt_us) noexcept {
    if (!has_sample_) {
      srtt_ = rtt_us;
      rttvar_ = rtt_us / 2;
      has_sample_ = true;
    } else {
      const uint32_t delta = srtt_ > rtt_us ? srtt_ - rtt_us : rtt_us - srtt_;
      rttvar_ = rttvar_ - rttvar_ / 4 + delta / 4;  // beta = 1/4
      srtt_ = srtt_ - srtt_ / 8 + rtt_us / 8;       // alpha = 1/8
    }
    const uint64_t var_term = uint64_t{rttvar_} * 4 > granularity_ ? uint64_t{rttvar_} * 4 : granularity_;
    rto_ = clamp(uint64_t{srtt_} + var_term);
  }

  // RFC 6298 5.5: double the RTO after a retransmission timeout.
  void backoff() noexcept { rto_ = clamp(uint64_t{rto_} * 2); }

  uint32_t rto_us() const noexcept { return rto_; }
  uint32_t srtt_us() const noexcept { return srtt_; }
  uint32_t rttvar_us() const noexcept { return rttvar_; }
  bool has_sample() const noexcept { return has_sample_; }

 private:
  uint32_t clamp(uint64_t v) const noexcept {
    if (v < min_) return min_;
    if (v > max_) return max_;
    return static_cast<uint32_t>(v);
  }
  uint32_t srtt_ = 0;
  uint32_t rttvar_ = 0;
  uint32_t rto_;
  uint32_t min_;
  uint32_t max_;
  uint32_t granularity_;
  bool has_sample_ = false;
};

}  // namespace dotgate::net
