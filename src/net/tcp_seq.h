// TCP sequence-number arithmetic modulo 2^32 (RFC 9293 3.4): comparisons are valid for
// numbers less than 2^31 apart, which window limits guarantee.
#pragma once

#include <cstdint>

namespace dotgate::net {

inline bool seq_lt(uint32_t a, uint32_t b) noexcept { return static_cast<int32_t>(a - b) < 0; }
inline bool seq_le(uint32_t a, uint32_t b) noexcept { return static_cast<int32_t>(a - b) <= 0; }
inline bool seq_gt(uint32_t a, uint32_t b) noexcept { return static_cast<int32_t>(a - b) > 0; }
inline bool seq_ge(uint32_t a, uint32_t b) noexcept { return static_cast<int32_t>(a - b) >= 0; }
// a in [lo, hi)
inline bool seq_in(uint32_t a, uint32_t lo, uint32_t hi) noexcept { return a - lo < hi - lo; }
inline uint32_t seq_max(uint32_t a, uint32_t b) noexcept { return seq_gt(a, b) ? a : b; }
inline uint32_t seq_min(uint32_t a, uint32_t b) noexcept { return seq_lt(a, b) ? a : b; }

}  // namespace dotgate::net
