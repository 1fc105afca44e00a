// Domain names in wire format (RFC 1035 3.1, 4.1.4): validation, decompression, case
// folding and text conversion.
//
// Compression pointers must point strictly backwards (to an offset before the pointer
// itself) and past the 12-byte header, and the labels read after a jump must end before
// that pointer: a compressed name is spelled only with names written earlier. Every
// encoder in use does this; it makes loops impossible (each jump lowers the bound) and
// keeps a name from being spelled with its own record's TYPE, TTL or RDLENGTH bytes.
// A hop limit is kept as a second guard.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include <emmintrin.h>

#include "dns/errors.h"
#include "dns/wire.h"

namespace dotgate::dns {

inline constexpr unsigned kMaxPointerHops = 127;

// Walks the name at `off` in msg[0, len). On success stores in *end the offset just past
// the name's own bytes (after its root label or its first pointer) and, if `out` is not
// null, writes the decompressed name (≤ 255 bytes, original case) to out and its length to
// *out_len. Returns the first defect found; outputs are unspecified on error.
//
// With `guard`, a name reached through a pointer must read only bytes that stay put while
// a cached copy of the message is reused (see NameGuard).
struct NameGuard;
ParseError read_name(const uint8_t* msg, size_t len, size_t off, size_t* end,
                     uint8_t* out = nullptr, size_t* out_len = nullptr,
                     const NameGuard* guard = nullptr) noexcept;

// The bytes a cache rewrites when it reuses an answer, which therefore must not be read as
// part of a compressed name: every record's TYPE..RDLENGTH block (10 bytes; the TTL is
// aged) and the question name, whose spelling becomes each client's own. A pointer may
// still aim at a label boundary of the question name: length octets never change case.
struct NameGuard {
  static constexpr size_t kWidth = 10;
  const uint16_t* starts = nullptr;  // fixed blocks by ascending offset
  size_t count = 0;
  size_t qname_end = 0;              // the question name is [kHeaderSize, qname_end)
  const uint64_t* qname_labels = nullptr;  // bit i: a label starts at kHeaderSize + i

  // True if reading the label that starts at `pos` and ends before `to` is not allowed.
  bool forbids(size_t pos, size_t to) const noexcept {
    if (pos < qname_end) {
      const size_t i = pos - kHeaderSize;
      return qname_labels == nullptr || !((qname_labels[i / 64] >> (i % 64)) & 1);
    }
    size_t lo = 0, hi = count;  // first block starting at or after `to`
    while (lo < hi) {
      const size_t mid = (lo + hi) / 2;
      if (starts[mid] < to) lo = mid + 1; else hi = mid;
    }
    return lo > 0 && size_t{starts[lo - 1]} + kWidth > pos;
  }
};

// Lower-cases ASCII letters in place. Length octets are < 64 and so never letters, which
// lets this run over a whole wire name without tracking label boundaries.
inline void ascii_lower(uint8_t* p, size_t n) noexcept {
  for (size_t i = 0; i < n; ++i) {
    const uint8_t c = p[i];
    p[i] = static_cast<uint8_t>(c | ((static_cast<uint8_t>(c - 'A') < 26) ? 0x20 : 0));
  }
}

inline uint8_t ascii_lower(uint8_t c) noexcept {
  return static_cast<uint8_t>(c | ((static_cast<uint8_t>(c - 'A') < 26) ? 0x20 : 0));
}

// Copies n bytes from src to dst lower-casing ASCII letters; reads and writes only inside
// [src, src + n) and [dst, dst + n). Wide (16- and 8-byte) steps, overlapping at the end.
inline void copy_lower(uint8_t* dst, const uint8_t* src, size_t n) noexcept {
  if (n >= 16) {
    const __m128i bias = _mm_set1_epi8(static_cast<char>(0x80 - 'A'));
    const __m128i limit = _mm_set1_epi8(static_cast<char>(-0x80 + 26));
    const __m128i bit = _mm_set1_epi8(0x20);
    auto step = [&](size_t at) {
      const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(src + at));
      const __m128i upper = _mm_cmplt_epi8(_mm_add_epi8(v, bias), limit);
      _mm_storeu_si128(reinterpret_cast<__m128i*>(dst + at), _mm_or_si128(v, _mm_and_si128(upper, bit)));
    };
    size_t i = 0;
    for (; i + 16 <= n; i += 16) step(i);
    if (i < n) step(n - 16);
    return;
  }
  if (n >= 8) {
    auto step = [&](size_t at) {
      uint64_t x;
      std::memcpy(&x, src + at, 8);
      const uint64_t heptets = x & 0x7f7f7f7f7f7f7f7fULL;
      const uint64_t above_z = heptets + 0x2525252525252525ULL;  // bit 7 set where > 'Z'
      const uint64_t from_a = heptets + 0x3f3f3f3f3f3f3f3fULL;   // bit 7 set where >= 'A'
      const uint64_t upper = ~x & (from_a ^ above_z) & 0x8080808080808080ULL;
      x |= upper >> 2;
      std::memcpy(dst + at, &x, 8);
    };
    step(0);
    step(n - 8);
    return;
  }
  for (size_t i = 0; i < n; ++i) dst[i] = ascii_lower(src[i]);
}

// True if two uncompressed wire names are equal ignoring ASCII case.
bool name_equal_ci(const uint8_t* a, size_t a_len, const uint8_t* b, size_t b_len) noexcept;

// True if uncompressed wire name `name` equals `zone` or lies below it (label-aligned,
// case-insensitive). The root name "\0" contains every name.
bool name_in_zone(const uint8_t* name, size_t name_len, const uint8_t* zone,
                  size_t zone_len) noexcept;

// Converts presentation text ("www.example.com", trailing dot optional, "." for the root;
// \DDD and \X escapes accepted) to an uncompressed wire name. Returns false if the text is
// not a valid name. `out` must hold kMaxNameWire bytes.
bool name_from_text(std::string_view text, uint8_t* out, size_t* out_len) noexcept;

// Converts an uncompressed wire name to presentation text with a trailing dot, escaping
// dots, backslashes and non-printable bytes. For logs, tests and the control plane.
std::string name_to_text(const uint8_t* wire, size_t len);

}  // namespace dotgate::dns
