// The Internet checksum (RFC 1071) and its incremental update (RFC 1624).
//
// Sums are accumulated over native 64-bit little-endian loads: one's-complement addition
// is independent of byte order up to a final byte swap (RFC 1071 2(B)), so the wide loop
// needs no per-word swapping. Partial sums may be chained only at even byte offsets.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace dotgate::net {

// Partial sum of len bytes, to be chained with `sum` (a previous partial) and folded by
// csum_finish(). The returned value is in the machine's (byte-swapped) domain.
inline uint64_t csum_partial(const uint8_t* p, size_t len, uint64_t sum = 0) noexcept {
  // Two 32-bit halves per word keep every addition far from overflow (2^32 terms).
  size_t i = 0;
  for (; i + 8 <= len; i += 8) {
    uint64_t w;
    std::memcpy(&w, p + i, 8);
    sum += (w & 0xffffffffu) + (w >> 32);
  }
  if (i < len) {
    uint64_t w = 0;
    std::memcpy(&w, p + i, len - i);
    sum += (w & 0xffffffffu) + (w >> 32);
  }
  return sum;
}

// Adds a 16-bit value given in host order (as a header field would be written).
inline uint64_t csum_add16(uint64_t sum, uint16_t host_value) noexcept {
  return sum + static_cast<uint16_t>((host_value >> 8) | (host_value << 8));
}

// Folds a partial sum to the 16-bit checksum field value, in host order (store it with a
// big-endian store). A result of 0 means the covered bytes, checksum included, verify.
inline uint16_t csum_finish(uint64_t sum) noexcept {
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  const uint16_t folded = static_cast<uint16_t>(~sum);
  return static_cast<uint16_t>((folded >> 8) | (folded << 8));
}

// The folded partial sum, not complemented, in host order: what a NIC that offloads the
// checksum wants in the field (the pseudo-header's sum; it adds the rest and complements).
inline uint16_t csum_fold(uint64_t sum) noexcept {
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  const uint16_t folded = static_cast<uint16_t>(sum);
  return static_cast<uint16_t>((folded >> 8) | (folded << 8));
}

// RFC 1624 eqn. 3: the checksum after one 16-bit field changes from old_value to
// new_value (all in host order).
inline uint16_t csum_replace16(uint16_t checksum, uint16_t old_value, uint16_t new_value) noexcept {
  uint32_t sum = static_cast<uint16_t>(~checksum);
  sum += static_cast<uint16_t>(~old_value);
  sum += new_value;
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(~sum);
}

}  // namespace dotgate::net
