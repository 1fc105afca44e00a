// Domain names in wire format (RFC 1035 3.1, 4.1.4): validation, decompression, case
// folding and text conversion.
//
// Compression pointers must point strictly backwards (to an offset before the pointer
// itself). Every encoder in use does this, and it makes a pointer loop impossible: each jump
// lands earlier in the message, so the walk ends. A hop limit is kept as a second guard.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "dns/errors.h"
#include "dns/wire.h"

namespace dotgate::dns {

inline constexpr unsigned kMaxPointerHops = 127;

// Walks the name at `off` in msg[0, len). On success stores in *end the offset just past
// the name's own bytes (after its root label or its first pointer) and, if `out` is not
// null, writes the decompressed name (≤ 255 bytes, original case) to out and its length to
// *out_len. Returns the first defect found; outputs are unspecified on error.
ParseError read_name(const uint8_t* msg, size_t len, size_t off, size_t* end,
                     uint8_t* out = nullptr, size_t* out_len = nullptr) noexcept;

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
