// NewReno congestion control (RFC 5681 with the fast-recovery changes of RFC 6582):
// slow start with appropriate byte counting, congestion avoidance, fast retransmit on the
// third duplicate ACK, recovery with partial-ACK handling, and the loss window after a
// timeout. Pure arithmetic over the sender's sequence numbers; the connection performs
// the retransmissions it is told about.
#pragma once

#include <algorithm>
#include <cstdint>

#include "net/tcp_seq.h"

namespace dotgate::net {

class NewReno {
 public:
  enum class Action : uint8_t { kNone, kRetransmit };  // kRetransmit: resend from snd_una

  // RFC 6928: an initial window of 10 segments (bounded by 14600 bytes for large MSS).
  explicit NewReno(uint32_t mss = 536, uint32_t initial_segments = 10) : mss_(mss) {
    cwnd_ = std::min(initial_segments * mss, std::max(2 * mss, 14600u));
  }

  uint32_t cwnd() const noexcept { return cwnd_; }
  uint32_t ssthresh() const noexcept { return ssthresh_; }
  bool in_recovery() const noexcept { return in_recovery_; }
  unsigned dupacks() const noexcept { return dupacks_; }

  // A new cumulative ACK moved snd_una forward by `acked` bytes to `snd_una`. `flight` is
  // what is still outstanding after it.
  Action on_ack(uint32_t acked, uint32_t snd_una, uint32_t flight) noexcept {
    dupacks_ = 0;
    if (in_recovery_) {
      if (seq_gt(snd_una, recover_)) {
        // Full acknowledgment (RFC 6582 3.2 step 3): leave recovery, deflate the window.
        cwnd_ = std::min(ssthresh_, std::max(flight, mss_) + mss_);
        in_recovery_ = false;
        return Action::kNone;
      }
      // Partial acknowledgment (step 5): resend the next hole, deflate by what was acked.
      cwnd_ = cwnd_ > acked ? cwnd_ - acked : mss_;
      if (acked >= mss_) cwnd_ += mss_;
      return Action::kRetransmit;
    }
    if (cwnd_ < ssthresh_) {
      cwnd_ += std::min(acked, mss_);  // slow start, RFC 5681 eq. 2 (ABC with L = 1 SMSS)
    } else {
      acked_in_ca_ += acked;  // congestion avoidance: one SMSS per window of acked bytes
      if (acked_in_ca_ >= cwnd_) {
        acked_in_ca_ -= cwnd_;
        cwnd_ += mss_;
      }
    }
    return Action::kNone;
  }

  // A duplicate ACK (RFC 5681 2: no data, no window change, ack == snd_una, data
  // outstanding). `snd_max` is the highest sequence number sent so far.
  Action on_dupack(uint32_t flight, uint32_t snd_una, uint32_t snd_max) noexcept {
    if (in_recovery_) {
      cwnd_ += mss_;  // each dupack means a segment left the network (RFC 5681 3.2 step 4)
      return Action::kNone;
    }
    if (++dupacks_ != 3) return Action::kNone;
    // RFC 6582 3.2 step 2: only start a new recovery past the previous recovery point, so
    // one loss event does not halve the window twice.
    if (recover_valid_ && !seq_gt(snd_una - 1, recover_)) return Action::kNone;
    ssthresh_ = std::max(flight / 2, 2 * mss_);
    recover_ = snd_max - 1;
    recover_valid_ = true;
    cwnd_ = ssthresh_ + 3 * mss_;
    in_recovery_ = true;
    return Action::kRetransmit;
  }

  // The retransmission timer fired (RFC 5681 eq. 4 and 3.1; RFC 6582 4).
  void on_timeout(uint32_t flight, uint32_t snd_max) noexcept {
    ssthresh_ = std::max(flight / 2, 2 * mss_);
    cwnd_ = mss_;
    in_recovery_ = false;
    dupacks_ = 0;
    acked_in_ca_ = 0;
    recover_ = snd_max - 1;
    recover_valid_ = true;
  }

 private:
  uint32_t mss_;
  uint32_t cwnd_;
  uint32_t ssthresh_ = UINT32_MAX;  // "arbitrarily high" initially (RFC 5681 3.1)
  uint32_t acked_in_ca_ = 0;
  uint32_t recover_ = 0;
  bool recover_valid_ = false;
  bool in_recovery_ = false;
  unsigned dupacks_ = 0;
};

}  // namespace dotgate::net
