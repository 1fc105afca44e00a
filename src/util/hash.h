// Keyed 64-bit hashing for hash tables that hold attacker-chosen keys (DNS names).
//
// The seed is a per-process (or per-worker) secret drawn at start-up, so a client cannot
// precompute names that collide in a worker's cache index. The mixing step is the classic
// 64x64->128 multiply folded with xor: fast on x86-64 (one MUL) and well distributed in
// both halves, which matters because tables use the low bits for the bucket and the high
// bits as a tag.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace dotgate::util {

inline uint64_t mix64(uint64_t a, uint64_t b) noexcept {
  __extension__ using u128 = unsigned __int128;
  const u128 product = static_cast<u128>(a) * b;
  return static_cast<uint64_t>(product) ^ static_cast<uint64_t>(product >> 64);
}

inline uint64_t load_u64_le(const uint8_t* p) noexcept {
  uint64_t v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

namespace detail {
// The shared body of hash_bytes and hash_bytes_padded; they differ only in how the last
// partial word is read.
template <bool kPaddedTail>
inline uint64_t hash_impl(const uint8_t* data, size_t len, uint64_t seed) noexcept {
  constexpr uint64_t k0 = 0x9e3779b97f4a7c15ULL;
  constexpr uint64_t k1 = 0xd6e8feb86659fd93ULL;
  uint64_t h = seed ^ (len * k1);
  size_t i = 0;
  for (; i + 16 <= len; i += 16) {
    // Both factors carry the seed: with a seed-free multiplier, input words that make it
    // a power of two turn the step into a rotation, giving collisions for every seed.
    h = mix64(load_u64_le(data + i) ^ k0 ^ h, load_u64_le(data + i + 8) ^ k1 ^ seed);
  }
  if (i + 8 <= len) {
    h = mix64(load_u64_le(data + i) ^ k0 ^ h, k1);
    i += 8;
  }
  if (i < len) {
    uint64_t tail = 0;
    if constexpr (kPaddedTail) {
      tail = load_u64_le(data + i) & (~uint64_t{0} >> (64 - 8 * (len - i)));
    } else {
      std::memcpy(&tail, data + i, len - i);
    }
    h = mix64(tail ^ k1 ^ h, k0 + len);
  }
  return mix64(h ^ (h >> 29), k0);
}
}  // namespace detail

// Hashes `len` bytes with `seed`. Reads only inside [data, data + len).
inline uint64_t hash_bytes(const uint8_t* data, size_t len, uint64_t seed) noexcept {
  return detail::hash_impl<false>(data, len, seed);
}

// As hash_bytes, for buffers that stay readable up to the next multiple of 8 past `len`
// (e.g. a fixed array with slack): the tail is read as one word and masked, which avoids
// a variable-length copy on the hot path. Gives the same value as hash_bytes.
inline uint64_t hash_bytes_padded(const uint8_t* data, size_t len, uint64_t seed) noexcept {
  return detail::hash_impl<true>(data, len, seed);
}

}  // namespace dotgate::util
