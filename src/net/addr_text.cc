#include "net/addr_text.h"

#include <cstdio>

namespace dotgate::net {

namespace {

std::optional<unsigned> parse_decimal(std::string_view s, unsigned max) noexcept {
  if (s.empty() || s.size() > 3 || (s.size() > 1 && s[0] == '0')) return std::nullopt;
  unsigned v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + static_cast<unsigned>(c - '0');
  }
  if (v > max) return std::nullopt;
  return v;
}

int hex_digit(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

std::optional<uint32_t> parse_ipv4(std::string_view text) noexcept {
  uint32_t addr = 0;
  for (int i = 0; i < 4; ++i) {
    const size_t dot = text.find('.');
    if ((i < 3) == (dot == std::string_view::npos)) return std::nullopt;
    const auto octet = parse_decimal(text.substr(0, dot), 255);
    if (!octet) return std::nullopt;
    addr = (addr << 8) | *octet;
    text = dot == std::string_view::npos ? std::string_view{} : text.substr(dot + 1);
  }
  return addr;
}

std::optional<Ipv6Addr> parse_ipv6(std::string_view text) noexcept {
  // Up to 8 groups; "::" once stands for the run of zero groups; an embedded IPv4 address
  // may take the last two groups.
  uint16_t groups[8] = {};
  int count = 0;
  int gap = -1;  // index in groups where "::" stands
  if (text.size() >= 2 && text.substr(0, 2) == "::") {
    gap = 0;
    text.remove_prefix(2);
  } else if (!text.empty() && text[0] == ':') {
    return std::nullopt;
  }
  while (!text.empty()) {
    if (count == 8) return std::nullopt;
    const size_t colon = text.find(':');
    const std::string_view group = text.substr(0, colon);
    if (group.find('.') != std::string_view::npos) {
      if (colon != std::string_view::npos || count > 6) return std::nullopt;
      const auto v4 = parse_ipv4(group);
      if (!v4) return std::nullopt;
      groups[count++] = static_cast<uint16_t>(*v4 >> 16);
      groups[count++] = static_cast<uint16_t>(*v4);
      text = {};
      break;
    }
    if (group.empty() || group.size() > 4) return std::nullopt;
    unsigned v = 0;
    for (char c : group) {
      const int d = hex_digit(c);
      if (d < 0) return std::nullopt;
      v = v * 16 + static_cast<unsigned>(d);
    }
    groups[count++] = static_cast<uint16_t>(v);
    if (colon == std::string_view::npos) {
      text = {};
      break;
    }
    text.remove_prefix(colon + 1);
    if (!text.empty() && text[0] == ':') {
      if (gap >= 0) return std::nullopt;  // a second "::"
      gap = count;
      text.remove_prefix(1);
    } else if (text.empty()) {
      return std::nullopt;  // a trailing single ':'
    }
  }
  if (gap < 0 && count != 8) return std::nullopt;
  if (gap >= 0 && count == 8) return std::nullopt;  // "::" must stand for at least one group
  Ipv6Addr out;
  const int zeros = 8 - count;
  for (int i = 0, o = 0; i < count; ++i, ++o) {
    if (i == gap) o += zeros;
    out.b[2 * o] = static_cast<uint8_t>(groups[i] >> 8);
    out.b[2 * o + 1] = static_cast<uint8_t>(groups[i]);
  }
  return out;
}

std::string format_ipv4(uint32_t a) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%u.%u.%u.%u", a >> 24, (a >> 16) & 0xff, (a >> 8) & 0xff, a & 0xff);
  return buf;
}

std::string format_ipv6(const Ipv6Addr& a) {
  uint16_t g[8];
  for (int i = 0; i < 8; ++i) g[i] = static_cast<uint16_t>((a.b[2 * i] << 8) | a.b[2 * i + 1]);
  // RFC 5952 4.2: compress the longest run of two or more zero groups, the first if tied.
  int best = -1, best_len = 1;
  for (int i = 0; i < 8;) {
    if (g[i] != 0) {
      ++i;
      continue;
    }
    int j = i;
    while (j < 8 && g[j] == 0) ++j;
    if (j - i > best_len) {
      best = i;
      best_len = j - i;
    }
    i = j;
  }
  std::string s;
  char buf[8];
  for (int i = 0; i < 8; ++i) {
    if (i == best) {
      s += "::";
      i += best_len - 1;
      continue;
    }
    if (!s.empty() && s.back() != ':') s += ':';
    std::snprintf(buf, sizeof buf, "%x", g[i]);
    s += buf;
  }
  return s;
}

std::optional<IpAddr> parse_ip(std::string_view text) noexcept {
  IpAddr a;
  if (text.find(':') != std::string_view::npos) {
    const auto v6 = parse_ipv6(text);
    if (!v6) return std::nullopt;
    a.v6 = true;
    a.v6addr = *v6;
    return a;
  }
  const auto v4 = parse_ipv4(text);
  if (!v4) return std::nullopt;
  a.v4 = *v4;
  return a;
}

std::string format_ip(const IpAddr& a) { return a.v6 ? format_ipv6(a.v6addr) : format_ipv4(a.v4); }

bool IpPrefix::contains(const IpAddr& a) const noexcept {
  if (a.v6 != addr.v6) return false;
  if (a.v6) return same_prefix(a.v6addr, addr.v6addr, len);
  const uint32_t mask = len == 0 ? 0 : ~uint32_t{0} << (32 - len);
  return (a.v4 & mask) == (addr.v4 & mask);
}

std::optional<IpPrefix> parse_prefix(std::string_view text) noexcept {
  const size_t slash = text.find('/');
  const auto addr = parse_ip(text.substr(0, slash));
  if (!addr) return std::nullopt;
  IpPrefix p;
  p.addr = *addr;
  const unsigned max = addr->v6 ? 128 : 32;
  if (slash == std::string_view::npos) {
    p.len = static_cast<uint8_t>(max);
    return p;
  }
  const auto len = parse_decimal(text.substr(slash + 1), max);
  if (!len) return std::nullopt;
  p.len = static_cast<uint8_t>(*len);
  // Host bits must be zero: a prefix is written as its network address.
  if (p.addr.v6) {
    for (unsigned bit = p.len; bit < 128; ++bit) {
      if (p.addr.v6addr.b[bit / 8] & (0x80 >> (bit % 8))) return std::nullopt;
    }
  } else if ((p.addr.v4 & ((uint64_t{1} << (32 - p.len)) - 1)) != 0) {
    return std::nullopt;
  }
  return p;
}

std::string format_prefix(const IpPrefix& p) { return format_ip(p.addr) + "/" + std::to_string(p.len); }

}  // namespace dotgate::net
