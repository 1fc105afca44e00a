// Standard base64 (RFC 4648 4, with padding) decoding, strict: for SPKI pins written as
// stubby and knot-resolver write them. Not on the packet path.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

namespace dotgate::util {

inline std::optional<std::vector<uint8_t>> base64_decode(std::string_view s) {
  auto value = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
  };
  if (s.size() % 4 != 0) return std::nullopt;
  std::vector<uint8_t> out;
  out.reserve(s.size() / 4 * 3);
  for (size_t i = 0; i < s.size(); i += 4) {
    int v[4];
    int pad = 0;
    for (int k = 0; k < 4; ++k) {
      const char c = s[i + k];
      if (c == '=') {
        // Padding only at the very end, at most two, and nothing after it.
        if (i + 4 != s.size() || k < 2) return std::nullopt;
        ++pad;
        v[k] = 0;
        continue;
      }
      if (pad) return std::nullopt;
      v[k] = value(c);
      if (v[k] < 0) return std::nullopt;
    }
    const uint32_t bits = (uint32_t(v[0]) << 18) | (uint32_t(v[1]) << 12) | (uint32_t(v[2]) << 6) | uint32_t(v[3]);
    out.push_back(static_cast<uint8_t>(bits >> 16));
    if (pad < 2) out.push_back(static_cast<uint8_t>(bits >> 8));
    if (pad < 1) out.push_back(static_cast<uint8_t>(bits));
    // Canonical form: the bits dropped by padding must be zero.
    if ((pad == 1 && (bits & 0xff)) || (pad == 2 && (bits & 0xffff))) return std::nullopt;
  }
  return out;
}

}  // namespace dotgate::util
