#include "dns/name.h"

#include <cstring>

namespace dotgate::dns {

ParseError read_name(const uint8_t* msg, size_t len, size_t off, size_t* end, uint8_t* out,
                     size_t* out_len, const NameGuard* guard) noexcept {
  size_t pos = off;
  size_t wire_len = 0;  // decompressed length so far, including length octets
  unsigned hops = 0;
  bool jumped = false;
  size_t limit = len;  // reads after a jump stay below the latest pointer's offset
  for (;;) {
    if (pos >= len) return ParseError::kTruncatedName;
    // After a jump, only bytes before that pointer may be read: a compressed name is made of
    // names written earlier, never of what follows (its own record's fields included).
    if (jumped && (pos >= limit || (guard != nullptr && guard->forbids(pos, pos + 1)))) {
      return ParseError::kBadPointer;
    }
    const uint8_t b = msg[pos];
    const uint8_t kind = b & 0xc0;
    if (kind == 0xc0) {
      if (pos + 1 >= len) return ParseError::kTruncatedName;
      const size_t target = (size_t{b & 0x3fu} << 8) | msg[pos + 1];
      // Backwards only, and never into the 12-byte header: the header holds no name, and
      // a name made of header bytes would change meaning whenever the ID is rewritten.
      if (target >= pos || target < kHeaderSize) return ParseError::kBadPointer;
      limit = pos;
      if (++hops > kMaxPointerHops) return ParseError::kPointerLoop;
      if (!jumped) {
        *end = pos + 2;
        jumped = true;
      }
      pos = target;
      continue;
    }
    if (kind != 0) return ParseError::kBadLabelType;
    const size_t label = b;
    if (wire_len + 1 + label > kMaxNameWire) return ParseError::kNameTooLong;
    if (pos + 1 + label > len) return ParseError::kTruncatedName;
    if (jumped && pos + 1 + label > limit) return ParseError::kBadPointer;
    if (jumped && guard != nullptr && guard->forbids(pos, pos + 1 + label)) return ParseError::kBadPointer;
    if (out != nullptr) std::memcpy(out + wire_len, msg + pos, 1 + label);
    wire_len += 1 + label;
    pos += 1 + label;
    if (label == 0) break;
  }
  if (!jumped) *end = pos;
  if (out_len != nullptr) *out_len = wire_len;
  return ParseError::kOk;
}

bool name_equal_ci(const uint8_t* a, size_t a_len, const uint8_t* b, size_t b_len) noexcept {
  if (a_len != b_len) return false;
  for (size_t i = 0; i < a_len; ++i) {
    if (ascii_lower(a[i]) != ascii_lower(b[i])) return false;
  }
  return true;
}

bool name_in_zone(const uint8_t* name, size_t name_len, const uint8_t* zone,
                  size_t zone_len) noexcept {
  if (zone_len > name_len) return false;
  // Walk labels of `name` until the remainder has the zone's length; only a label boundary
  // may match, so "badexample.com" is not inside "example.com".
  size_t pos = 0;
  while (name_len - pos > zone_len) {
    pos += 1 + name[pos];
    if (pos >= name_len) return false;
  }
  if (name_len - pos != zone_len) return false;
  return name_equal_ci(name + pos, zone_len, zone, zone_len);
}

namespace {
bool is_digit(char c) { return c >= '0' && c <= '9'; }
}  // namespace

bool name_from_text(std::string_view text, uint8_t* out, size_t* out_len) noexcept {
  if (text == ".") {
    out[0] = 0;
    *out_len = 1;
    return true;
  }
  if (text.empty()) return false;
  size_t w = 0;      // write position of the current label's length octet
  size_t label = 0;  // bytes in the current label
  size_t i = 0;
  auto put = [&](uint8_t c) {
    if (label == kMaxLabel || w + label + 3 > kMaxNameWire) return false;
    out[w + 1 + label] = c;
    ++label;
    return true;
  };
  while (i < text.size()) {
    const char c = text[i];
    if (c == '.') {
      if (label == 0) return false;  // empty label ("a..b" or leading dot)
      out[w] = static_cast<uint8_t>(label);
      w += 1 + label;
      label = 0;
      ++i;
      if (i == text.size()) break;  // trailing dot
      continue;
    }
    if (c == '\\') {
      if (i + 1 >= text.size()) return false;
      if (is_digit(text[i + 1])) {
        if (i + 3 >= text.size()) return false;
        if (!is_digit(text[i + 2]) || !is_digit(text[i + 3])) return false;
        const int v = (text[i + 1] - '0') * 100 + (text[i + 2] - '0') * 10 + (text[i + 3] - '0');
        if (v > 255) return false;
        if (!put(static_cast<uint8_t>(v))) return false;
        i += 4;
      } else {
        if (!put(static_cast<uint8_t>(text[i + 1]))) return false;
        i += 2;
      }
      continue;
    }
    if (!put(static_cast<uint8_t>(c))) return false;
    ++i;
  }
  if (label > 0) {
    out[w] = static_cast<uint8_t>(label);
    w += 1 + label;
  }
  if (w + 1 > kMaxNameWire) return false;
  out[w] = 0;
  *out_len = w + 1;
  return true;
}

std::string name_to_text(const uint8_t* wire, size_t len) {
  std::string s;
  if (len == 0) return s;
  if (wire[0] == 0) return ".";
  size_t pos = 0;
  while (pos < len && wire[pos] != 0) {
    const size_t label = wire[pos];
    for (size_t k = 1; k <= label && pos + k < len; ++k) {
      const uint8_t c = wire[pos + k];
      if (c == '.' || c == '\\') {
        s.push_back('\\');
        s.push_back(static_cast<char>(c));
      } else if (c < 0x21 || c > 0x7e) {
        char buf[5];
        buf[0] = '\\';
        buf[1] = static_cast<char>('0' + c / 100);
        buf[2] = static_cast<char>('0' + (c / 10) % 10);
        buf[3] = static_cast<char>('0' + c % 10);
        s.append(buf, 4);
      } else {
        s.push_back(static_cast<char>(c));
      }
    }
    s.push_back('.');
    pos += 1 + label;
  }
  return s;
}

}  // namespace dotgate::dns
