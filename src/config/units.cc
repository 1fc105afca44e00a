#include "config/units.h"

#include <limits>

namespace dotgate::config {

namespace {

UnitError error(std::string m) { return UnitError{std::move(m)}; }

// Reads the decimal digits at the front of `s` into *v; false if there are none or the
// value overflows 64 bits.
bool take_number(std::string_view* s, uint64_t* v) {
  size_t i = 0;
  uint64_t n = 0;
  while (i < s->size() && (*s)[i] >= '0' && (*s)[i] <= '9') {
    const uint64_t d = static_cast<uint64_t>((*s)[i] - '0');
    if (n > (std::numeric_limits<uint64_t>::max() - d) / 10) return false;
    n = n * 10 + d;
    ++i;
  }
  if (i == 0) return false;
  *v = n;
  s->remove_prefix(i);
  return true;
}

bool checked_mul(uint64_t a, uint64_t b, uint64_t* out) {
  if (a != 0 && b > std::numeric_limits<uint64_t>::max() / a) return false;
  *out = a * b;
  return true;
}

}  // namespace

std::variant<uint64_t, UnitError> parse_size(std::string_view text) {
  const std::string quoted = "\"" + std::string(text) + "\"";
  std::string_view s = text;
  uint64_t n = 0;
  if (s.empty() || s[0] < '0' || s[0] > '9') {
    return error(quoted + " is not a size (write bytes, or a number with a unit: 64KiB, 512MiB, 2GiB)");
  }
  if (!take_number(&s, &n)) return error(quoted + " is too large");
  if (!s.empty() && s[0] == ' ') s.remove_prefix(1);
  struct Unit {
    std::string_view name;
    unsigned shift;
  };
  static constexpr Unit kUnits[] = {
      {"", 0},      {"B", 0},      {"K", 10},  {"k", 10},  {"KiB", 10}, {"M", 20}, {"m", 20},
      {"MiB", 20},  {"G", 30},     {"g", 30},  {"GiB", 30}, {"T", 40},  {"t", 40}, {"TiB", 40},
  };
  for (const Unit& u : kUnits) {
    if (s != u.name) continue;
    uint64_t bytes = 0;
    if (!checked_mul(n, uint64_t{1} << u.shift, &bytes)) return error(quoted + " is too large");
    return bytes;
  }
  for (std::string_view si : {"kB", "KB", "MB", "GB", "TB"}) {
    if (s == si) {
      return error(quoted + " is ambiguous: write " + std::string(1, static_cast<char>(si[0] & ~0x20)) +
                   "iB for 1024-based units, or the number of bytes");
    }
  }
  return error(quoted + " has an unknown unit '" + std::string(s) + "' (use B, KiB, MiB, GiB or TiB)");
}

std::variant<uint64_t, UnitError> parse_duration(std::string_view text) {
  const std::string quoted = "\"" + std::string(text) + "\"";
  std::string_view s = text;
  if (s.empty() || s[0] < '0' || s[0] > '9') {
    return error(quoted + " is not a duration (write a number with a unit: 500ms, 30s, 5m, 1h, 1d)");
  }
  struct Unit {
    std::string_view name;
    uint64_t ms;
  };
  // Longest spelling first where one is a prefix of another ("ms" before "m").
  static constexpr Unit kUnits[] = {
      {"d", 86'400'000}, {"h", 3'600'000}, {"min", 60'000}, {"ms", 1}, {"m", 60'000}, {"s", 1000},
  };
  uint64_t total = 0;
  uint64_t last_unit = std::numeric_limits<uint64_t>::max();
  bool first = true;
  while (!s.empty()) {
    uint64_t n = 0;
    if (!take_number(&s, &n)) {
      if (s[0] >= '0' && s[0] <= '9') return error(quoted + " is too long");
      return error(quoted + " is not a duration: expected a number before '" + std::string(s) + "'");
    }
    if (s.empty()) {
      if (!first) return error(quoted + " is not a duration: the last number has no unit");
      if (!checked_mul(n, 1000, &total)) return error(quoted + " is too long");
      return total;  // a bare number: seconds
    }
    const Unit* unit = nullptr;
    for (const Unit& u : kUnits) {
      if (s.substr(0, u.name.size()) == u.name) {
        unit = &u;
        break;
      }
    }
    if (unit == nullptr) {
      size_t end = 0;
      while (end < s.size() && (s[end] < '0' || s[end] > '9')) ++end;
      return error(quoted + " has an unknown unit '" + std::string(s.substr(0, end)) +
                   "' (use ms, s, m, h or d)");
    }
    if (unit->ms >= last_unit) return error(quoted + " is not a duration: units must go from largest to smallest, "
                                            "each once (1h30m, not 30m1h)");
    last_unit = unit->ms;
    s.remove_prefix(unit->name.size());
    uint64_t part = 0;
    if (!checked_mul(n, unit->ms, &part) || total > std::numeric_limits<uint64_t>::max() - part) {
      return error(quoted + " is too long");
    }
    total += part;
    first = false;
  }
  return total;
}

std::string format_size(uint64_t bytes) {
  static constexpr const char* kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  unsigned u = 0;
  while (u < 4 && bytes != 0 && bytes % 1024 == 0) {
    bytes /= 1024;
    ++u;
  }
  return std::to_string(bytes) + kUnits[u];
}

std::string format_duration(uint64_t ms) {
  if (ms == 0) return "0s";
  static constexpr struct {
    const char* name;
    uint64_t ms;
  } kUnits[] = {{"d", 86'400'000}, {"h", 3'600'000}, {"m", 60'000}, {"s", 1000}, {"ms", 1}};
  std::string out;
  for (const auto& u : kUnits) {
    if (ms >= u.ms) {
      out += std::to_string(ms / u.ms) + u.name;
      ms %= u.ms;
    }
  }
  return out;
}

}  // namespace dotgate::config
