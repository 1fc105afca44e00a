// The one translation unit that includes toml++: TOML text to a Config, every value
// checked where it is read, then the checks across sections (validate.cc).
//
// Debian builds toml++ as a shared library (its pkg-config file sets TOML_HEADER_ONLY=0),
// so this file compiles only the inline parts of the headers. The library is built with
// exceptions (its symbols live in toml::v3::ex): toml::parse throws toml::parse_error on
// the first syntax error, which we turn into a ConfigError.
#include "config/load.h"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <initializer_list>
#include <iterator>
#include <map>
#include <optional>
#include <tuple>
#include <utility>

#include <toml++/toml.h>

#include "config/local_record.h"
#include "config/units.h"
#include "config/validate.h"
#include "dns/name.h"
#include "dns/wire.h"

namespace dotgate::config {

namespace {

// Bounds on how many of each thing a file may declare: every list the dataplane sizes
// tables from is bounded here, before anything is allocated for it.
constexpr size_t kMaxPorts = 32;  // RTE_MAX_ETHPORTS in Debian's DPDK
constexpr uint32_t kMaxLcore = 127;  // RTE_MAX_LCORE - 1
constexpr size_t kMaxEalArgs = 64;
constexpr size_t kMaxListeners = 256;
constexpr size_t kMaxAcl = 4096;
constexpr size_t kMaxPools = 256;
constexpr size_t kMaxUpstreams = 64;
constexpr size_t kMaxFallback = 16;
constexpr size_t kMaxPins = 16;
constexpr size_t kMaxZonesPerPool = 4096;
constexpr size_t kMaxLocalZones = 65536;
constexpr size_t kMaxLocalRecords = 65536;
constexpr uint32_t kMaxTtl = 0x7fffffff;  // RFC 2181 8
constexpr size_t kMaxUnixPath = 107;      // sun_path holds 108 bytes with the NUL

// Everything one parse accumulates.
struct Context {
  std::string file;
  std::vector<ConfigError> errors;
  SourceMap where;

  void error(SourcePos p, std::string key, std::string message) {
    errors.push_back(ConfigError{file, p.line, p.column, std::move(key), std::move(message)});
  }
};

SourcePos pos_of(const toml::source_region& r, SourcePos fallback) {
  if (r.begin.line == 0) return fallback;
  return SourcePos{r.begin.line, std::max<uint32_t>(r.begin.column, 1)};
}

const char* type_phrase(toml::node_type t) {
  switch (t) {
    case toml::node_type::table: return "a table";
    case toml::node_type::array: return "an array";
    case toml::node_type::string: return "a string";
    case toml::node_type::integer: return "an integer";
    case toml::node_type::floating_point: return "a float";
    case toml::node_type::boolean: return "a boolean";
    case toml::node_type::date: return "a date";
    case toml::node_type::time: return "a time";
    case toml::node_type::date_time: return "a date-time";
    default: return "nothing";
  }
}

// A string for a message: in double quotes, with quotes, backslashes and control bytes
// escaped, and cut short if long (it may be anything the file holds).
std::string quoted(std::string_view s) {
  std::string out = "\"";
  const size_t limit = 80;
  for (size_t i = 0; i < s.size() && i < limit; ++i) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20 || c == 0x7f) {
      static constexpr char kHex[] = "0123456789abcdef";
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 15];
    } else {
      out += static_cast<char>(c);
    }
  }
  if (s.size() > limit) out += "...";
  return out + "\"";
}

// One value of the file with its key path and position.
struct Item {
  const toml::node* node;
  std::string key;
  SourcePos pos;
};

bool expect_type(Context& cx, const Item& it, toml::node_type t) {
  if (it.node->type() == t) return true;
  cx.error(it.pos, it.key, std::string("expected ") + type_phrase(t) + ", found " + type_phrase(it.node->type()));
  return false;
}

bool get_string(Context& cx, const Item& it, std::string* out) {
  if (!expect_type(cx, it, toml::node_type::string)) return false;
  *out = it.node->as_string()->get();
  return true;
}

bool get_bool(Context& cx, const Item& it, bool* out) {
  if (!expect_type(cx, it, toml::node_type::boolean)) return false;
  *out = it.node->as_boolean()->get();
  return true;
}

bool get_int(Context& cx, const Item& it, int64_t min, int64_t max, int64_t* out) {
  if (!expect_type(cx, it, toml::node_type::integer)) return false;
  const int64_t v = it.node->as_integer()->get();
  if (v < min || v > max) {
    cx.error(it.pos, it.key, std::to_string(v) + " is out of range (" + std::to_string(min) + "-" +
                                 std::to_string(max) + ")");
    return false;
  }
  *out = v;
  return true;
}

template <class T>
bool get_uint(Context& cx, const Item& it, uint64_t min, uint64_t max, T* out) {
  int64_t v = 0;
  if (!get_int(cx, it, static_cast<int64_t>(min), static_cast<int64_t>(max), &v)) return false;
  *out = static_cast<T>(v);
  return true;
}

// A size: an integer number of bytes or a string with a unit (units.h).
bool get_size(Context& cx, const Item& it, uint64_t min, uint64_t max, uint64_t* out) {
  uint64_t v = 0;
  if (const auto* i = it.node->as_integer()) {
    if (i->get() < 0) {
      cx.error(it.pos, it.key, "a size cannot be negative");
      return false;
    }
    v = static_cast<uint64_t>(i->get());
  } else if (const auto* s = it.node->as_string()) {
    auto r = parse_size(s->get());
    if (auto* e = std::get_if<UnitError>(&r)) {
      cx.error(it.pos, it.key, e->message);
      return false;
    }
    v = std::get<uint64_t>(r);
  } else {
    cx.error(it.pos, it.key, std::string("expected a size (\"512MiB\" or a number of bytes), found ") +
                                 type_phrase(it.node->type()));
    return false;
  }
  if (v < min || v > max) {
    cx.error(it.pos, it.key, format_size(v) + " is out of range (" + format_size(min) + "-" + format_size(max) + ")");
    return false;
  }
  *out = v;
  return true;
}

// A duration: a string with units (units.h) or an integer number of seconds. In ms.
bool get_duration(Context& cx, const Item& it, uint64_t min_ms, uint64_t max_ms, uint64_t* out) {
  uint64_t v = 0;
  if (const auto* i = it.node->as_integer()) {
    if (i->get() < 0 || i->get() > int64_t{1} << 40) {
      cx.error(it.pos, it.key, std::to_string(i->get()) + " is not a duration in seconds");
      return false;
    }
    v = static_cast<uint64_t>(i->get()) * 1000;
  } else if (const auto* s = it.node->as_string()) {
    auto r = parse_duration(s->get());
    if (auto* e = std::get_if<UnitError>(&r)) {
      cx.error(it.pos, it.key, e->message);
      return false;
    }
    v = std::get<uint64_t>(r);
  } else {
    cx.error(it.pos, it.key, std::string("expected a duration (\"30s\", \"500ms\" or a number of seconds), found ") +
                                 type_phrase(it.node->type()));
    return false;
  }
  if (v < min_ms || v > max_ms) {
    cx.error(it.pos, it.key, format_duration(v) + " is out of range (" + format_duration(min_ms) + "-" +
                                 format_duration(max_ms) + ")");
    return false;
  }
  *out = v;
  return true;
}

template <class T>
bool get_duration_ms(Context& cx, const Item& it, uint64_t min_ms, uint64_t max_ms, T* out) {
  uint64_t v = 0;
  if (!get_duration(cx, it, min_ms, max_ms, &v)) return false;
  *out = static_cast<T>(v);
  return true;
}

// TTLs and other durations kept in whole seconds.
bool get_seconds(Context& cx, const Item& it, uint32_t min_s, uint32_t max_s, uint32_t* out) {
  uint64_t ms = 0;
  if (!get_duration(cx, it, uint64_t{min_s} * 1000, uint64_t{max_s} * 1000, &ms)) return false;
  if (ms % 1000 != 0) {
    cx.error(it.pos, it.key, format_duration(ms) + " is not a whole number of seconds");
    return false;
  }
  *out = static_cast<uint32_t>(ms / 1000);
  return true;
}

bool get_path(Context& cx, const Item& it, size_t max_len, std::string* out) {
  std::string s;
  if (!get_string(cx, it, &s)) return false;
  if (s.empty() || s[0] != '/') {
    cx.error(it.pos, it.key, quoted(s) + " is not an absolute path");
    return false;
  }
  if (s.find('\0') != std::string::npos) {
    cx.error(it.pos, it.key, "a path cannot contain a NUL byte");
    return false;
  }
  if (s.size() > max_len) {
    cx.error(it.pos, it.key, "path is " + std::to_string(s.size()) + " bytes long; at most " +
                                 std::to_string(max_len));
    return false;
  }
  *out = std::move(s);
  return true;
}

template <class E>
using Choices = std::initializer_list<std::pair<std::string_view, E>>;

template <class E>
std::string list_choices(Choices<E> choices) {
  std::string s;
  size_t i = 0;
  for (const auto& [name, value] : choices) {
    if (i > 0) s += i + 1 == choices.size() ? " or " : ", ";
    s += "\"" + std::string(name) + "\"";
    ++i;
  }
  return s;
}

template <class E>
bool get_choice(Context& cx, const Item& it, Choices<E> choices, E* out) {
  if (it.node->type() != toml::node_type::string) {
    cx.error(it.pos, it.key, std::string("expected a string (") + list_choices(choices) + "), found " +
                                 type_phrase(it.node->type()));
    return false;
  }
  const std::string& s = it.node->as_string()->get();
  for (const auto& [name, value] : choices) {
    if (s == name) {
      *out = value;
      return true;
    }
  }
  cx.error(it.pos, it.key, quoted(s) + " is not one of " + list_choices(choices));
  return false;
}

bool get_ip(Context& cx, const Item& it, net::IpAddr* out) {
  std::string s;
  if (!get_string(cx, it, &s)) return false;
  const auto a = net::parse_ip(s);
  if (!a) {
    cx.error(it.pos, it.key, quoted(s) + " is not an IP address");
    return false;
  }
  *out = *a;
  return true;
}

// "192.0.2.10/24": an address with its on-link prefix length; `v6` picks the family.
bool get_interface_addr(Context& cx, const Item& it, bool v6, InterfaceAddr* out) {
  std::string s;
  if (!get_string(cx, it, &s)) return false;
  const char* family = v6 ? "IPv6" : "IPv4";
  const size_t slash = s.find('/');
  const unsigned max_len = v6 ? 128 : 32;
  const std::string example = v6 ? "2001:db8::10/64" : "192.0.2.10/24";
  if (slash == std::string::npos) {
    cx.error(it.pos, it.key, quoted(s) + " needs a prefix length (\"" + example + "\")");
    return false;
  }
  const auto a = net::parse_ip(std::string_view(s).substr(0, slash));
  if (!a || a->v6 != v6) {
    cx.error(it.pos, it.key, quoted(s) + " is not an " + family + " address with a prefix length (\"" + example +
                                 "\")");
    return false;
  }
  const std::string_view len_text = std::string_view(s).substr(slash + 1);
  unsigned len = 0;
  bool ok = !len_text.empty() && len_text.size() <= 3 && (len_text.size() == 1 || len_text[0] != '0');
  for (char c : len_text) {
    if (c < '0' || c > '9') ok = false;
    else len = len * 10 + static_cast<unsigned>(c - '0');
  }
  if (!ok || len == 0 || len > max_len) {
    cx.error(it.pos, it.key, quoted(s) + ": the prefix length must be 1-" + std::to_string(max_len));
    return false;
  }
  const bool unusable = v6 ? (a->v6addr.is_unspecified() || a->v6addr.is_multicast() || a->v6addr.is_loopback())
                           : (a->v4 == 0 || a->v4 >> 28 == 0xe || a->v4 >> 24 == 127 || a->v4 == 0xffffffff);
  if (unusable) {
    cx.error(it.pos, it.key, quoted(s) + " cannot be an interface address");
    return false;
  }
  out->addr = *a;
  out->prefix_len = static_cast<uint8_t>(len);
  return true;
}

// A zone name in its canonical form: lower case, trailing dot.
bool get_zone(Context& cx, const Item& it, std::string_view text, std::string* name, std::vector<uint8_t>* wire) {
  uint8_t w[dns::kMaxNameWire];
  size_t len = 0;
  if (text.empty() || !dns::name_from_text(text, w, &len)) {
    cx.error(it.pos, it.key, quoted(text) + " is not a valid domain name");
    return false;
  }
  dns::ascii_lower(w, len);
  *name = dns::name_to_text(w, len);
  if (wire != nullptr) wire->assign(w, w + len);
  return true;
}

// Calls f(element) for each element of the array `it`; false if it is not an array or has
// more than `max` elements.
template <class F>
bool each(Context& cx, const Item& it, size_t max, F f) {
  if (!expect_type(cx, it, toml::node_type::array)) return false;
  const toml::array& a = *it.node->as_array();
  if (a.size() > max) {
    cx.error(it.pos, it.key, "has " + std::to_string(a.size()) + " entries; at most " + std::to_string(max));
    return false;
  }
  for (size_t i = 0; i < a.size(); ++i) {
    Item e{&a[i], it.key + "[" + std::to_string(i) + "]", pos_of(a[i].source(), it.pos)};
    cx.where.set(e.key, e.pos);
    f(e);
  }
  return true;
}

// Reads the keys of one table. Every key asked for is known, present or not; finish()
// reports the others.
class TableReader {
 public:
  TableReader(Context& cx, const toml::table& t, std::string path, SourcePos pos)
      : cx_(cx), t_(t), path_(std::move(path)), pos_(pos) {}

  const std::string& path() const { return path_; }
  SourcePos pos() const { return pos_; }
  Context& cx() { return cx_; }
  std::string child(std::string_view key) const {
    return path_.empty() ? key_segment(key) : path_ + "." + key_segment(key);
  }

  std::optional<Item> get(std::string_view key) {
    known_.push_back(key);
    const toml::node* n = t_.get(key);
    if (n == nullptr) return std::nullopt;
    Item it{n, child(key), pos_of(n->source(), pos_)};
    cx_.where.set(it.key, it.pos);
    return it;
  }
  bool has(std::string_view key) const { return t_.contains(key); }
  const toml::table& raw() const { return t_; }

  // A sub-table, or nullopt (with an error if the key holds something else).
  std::optional<TableReader> table(std::string_view key) {
    const auto it = get(key);
    if (!it || !expect_type(cx_, *it, toml::node_type::table)) return std::nullopt;
    return TableReader(cx_, *it->node->as_table(), it->key, it->pos);
  }

  void str(std::string_view key, std::string* out) {
    if (auto it = get(key)) get_string(cx_, *it, out);
  }
  void boolean(std::string_view key, bool* out) {
    if (auto it = get(key)) get_bool(cx_, *it, out);
  }
  template <class T>
  void uint(std::string_view key, T* out, uint64_t min, uint64_t max) {
    if (auto it = get(key)) get_uint(cx_, *it, min, max, out);
  }
  void size(std::string_view key, uint64_t* out, uint64_t min, uint64_t max) {
    if (auto it = get(key)) get_size(cx_, *it, min, max, out);
  }
  template <class T>
  void size(std::string_view key, T* out, uint64_t min, uint64_t max) {
    uint64_t v = 0;
    if (auto it = get(key); it && get_size(cx_, *it, min, max, &v)) *out = static_cast<T>(v);
  }
  void duration_ms(std::string_view key, uint32_t* out, uint64_t min_ms, uint64_t max_ms) {
    if (auto it = get(key)) get_duration_ms(cx_, *it, min_ms, max_ms, out);
  }
  void seconds(std::string_view key, uint32_t* out, uint32_t min_s, uint32_t max_s) {
    if (auto it = get(key)) get_seconds(cx_, *it, min_s, max_s, out);
  }
  void path(std::string_view key, std::string* out, size_t max_len = 4096) {
    if (auto it = get(key)) get_path(cx_, *it, max_len, out);
  }
  template <class E>
  void choice(std::string_view key, E* out, Choices<E> choices) {
    if (auto it = get(key)) get_choice(cx_, *it, choices, out);
  }

  // Reports every key that no get() asked for, suggesting the nearest known one.
  void finish() {
    for (auto&& [k, v] : t_) {
      const std::string_view key = k.str();
      if (std::find(known_.begin(), known_.end(), key) != known_.end()) continue;
      const SourcePos p = pos_of(k.source(), pos_of(v.source(), pos_));
      std::string message = "unknown key";
      const bool top_level = key == "privacy" || key == "padding_block" || key == "strip_ecs";
      if (top_level && !path_.empty()) {
        message += "; " + std::string(key) + " is a top-level key: move it above the first [table] header";
      } else {
        std::string_view best;
        size_t best_d = 3;
        for (std::string_view cand : known_) {
          const size_t d = edit_distance(key, cand);
          const size_t allowed = std::min(key.size(), cand.size()) <= 4 ? 1 : 2;
          if (d <= allowed && d < best_d) {
            best = cand;
            best_d = d;
          }
        }
        if (!best.empty()) message += "; did you mean '" + std::string(best) + "'?";
      }
      cx_.error(p, child(key), message);
    }
  }

 private:
  Context& cx_;
  const toml::table& t_;
  std::string path_;
  SourcePos pos_;
  std::vector<std::string_view> known_;
};

// Each element of an array of tables ([[listener]]) as a TableReader.
template <class F>
void each_table(Context& cx, const Item& it, size_t max, const char* header, F f) {
  if (it.node->is_table()) {
    cx.error(it.pos, it.key,
             std::string("expected an array of tables: write [[") + header + "]], not [" + header + "]");
    return;
  }
  each(cx, it, max, [&](const Item& e) {
    if (!expect_type(cx, e, toml::node_type::table)) return;
    TableReader r(cx, *e.node->as_table(), e.key, e.pos);
    f(r);
    r.finish();
  });
}

bool valid_identifier(std::string_view s, size_t max) {
  if (s.empty() || s.size() > max) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
  });
}

// ---- [dataplane] ----------------------------------------------------------------------

// "0000:03:00.0" or "03:00.0".
bool is_pci_address(std::string_view s) {
  auto hex = [](std::string_view h) {
    return std::all_of(h.begin(), h.end(), [](char c) {
      return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
    });
  };
  if (s.size() == 12) {
    if (s[4] != ':' || !hex(s.substr(0, 4))) return false;
    s.remove_prefix(5);
  }
  return s.size() == 7 && s[2] == ':' && s[5] == '.' && hex(s.substr(0, 2)) && hex(s.substr(3, 2)) && s[6] >= '0' &&
         s[6] <= '7';
}

// "net_af_packet0,iface=veth0,qpairs=2": a DPDK ethdev vdev name and its key=value args.
bool is_vdev(std::string_view s) {
  const size_t comma = s.find(',');
  const std::string_view name = s.substr(0, comma);
  if (name.size() <= 4 || name.substr(0, 4) != "net_" || name.size() > 63) return false;
  if (!std::all_of(name.begin(), name.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
      })) {
    return false;
  }
  if (comma == std::string_view::npos) return true;
  std::string_view args = s.substr(comma + 1);
  while (true) {
    const size_t next = args.find(',');
    const std::string_view kv = args.substr(0, next);
    const size_t eq = kv.find('=');
    if (eq == 0 || eq == std::string_view::npos || eq + 1 == kv.size()) return false;
    if (std::any_of(kv.begin(), kv.end(), [](char c) { return c <= ' ' || c == 0x7f; })) return false;
    if (next == std::string_view::npos) return true;
    args.remove_prefix(next + 1);
  }
}

// DPDK's core list syntax: "1-3,5".
bool parse_core_list(std::string_view s, std::vector<uint32_t>* out, std::string* why) {
  if (s.empty()) {
    *why = "an empty lcore list";
    return false;
  }
  while (true) {
    const size_t comma = s.find(',');
    const std::string_view part = s.substr(0, comma);
    const size_t dash = part.find('-');
    auto num = [](std::string_view n, uint32_t* v) {
      if (n.empty() || n.size() > 3) return false;
      uint32_t x = 0;
      for (char c : n) {
        if (c < '0' || c > '9') return false;
        x = x * 10 + static_cast<uint32_t>(c - '0');
      }
      *v = x;
      return true;
    };
    uint32_t lo = 0, hi = 0;
    bool ok = num(part.substr(0, dash), &lo);
    if (dash == std::string_view::npos) hi = lo;
    else ok = ok && num(part.substr(dash + 1), &hi);
    if (!ok) {
      *why = "\"" + std::string(part) + "\" is not an lcore or a range of lcores (\"1-3,5\")";
      return false;
    }
    if (lo > hi || hi > kMaxLcore) {
      *why = "\"" + std::string(part) + "\" is not a range of lcores 0-" + std::to_string(kMaxLcore);
      return false;
    }
    for (uint32_t c = lo; c <= hi; ++c) out->push_back(c);
    if (comma == std::string_view::npos) return true;
    s.remove_prefix(comma + 1);
  }
}

void read_port(TableReader& r, Port* p) {
  Context& cx = r.cx();
  if (auto it = r.get("name")) {
    if (get_string(cx, *it, &p->name) && !valid_identifier(p->name, 32)) {
      cx.error(it->pos, it->key, quoted(p->name) + " is not a port name (letters, digits, '-' and '_', at most 32)");
    }
  } else {
    cx.error(r.pos(), r.child("name"), "missing: every port needs a name (\"wan0\")");
  }
  if (auto it = r.get("device")) {
    if (get_string(cx, *it, &p->device) && !is_pci_address(p->device) && !is_vdev(p->device)) {
      cx.error(it->pos, it->key, quoted(p->device) + " is neither a PCI address (\"0000:03:00.0\") nor a DPDK "
                                 "virtual device (\"net_af_packet0,iface=veth0\")");
    }
  } else {
    cx.error(r.pos(), r.child("device"), "missing: a PCI address (\"0000:03:00.0\") or a DPDK virtual device");
  }
  if (auto it = r.get("ipv4")) {
    InterfaceAddr a;
    if (get_interface_addr(cx, *it, false, &a)) p->ipv4 = a;
  }
  if (auto it = r.get("ipv6")) {
    InterfaceAddr a;
    if (get_interface_addr(cx, *it, true, &a)) p->ipv6 = a;
  }
  if (!r.has("ipv4") && !r.has("ipv6")) {
    cx.error(r.pos(), r.path(), "a port needs an address: set ipv4, ipv6 or both");
  }
  if (auto it = r.get("gateway4")) {
    net::IpAddr g;
    if (get_ip(cx, *it, &g)) {
      if (g.v6) {
        cx.error(it->pos, it->key, "gateway4 must be an IPv4 address");
      } else if (!r.has("ipv4")) {
        cx.error(it->pos, it->key, "a gateway4 needs an ipv4 address on the port");
      } else if (p->ipv4) {
        const net::IpPrefix on_link{p->ipv4->addr, p->ipv4->prefix_len};
        if (!on_link.contains(g) || g == p->ipv4->addr) {
          cx.error(it->pos, it->key,
                   net::format_ip(g) + " is not on the port's link (" + net::format_ip(p->ipv4->addr) + "/" +
                       std::to_string(p->ipv4->prefix_len) + ")");
        } else {
          p->gateway4 = g;
        }
      }
    }
  }
  if (auto it = r.get("gateway6")) {
    net::IpAddr g;
    if (get_ip(cx, *it, &g)) {
      if (!g.v6) {
        cx.error(it->pos, it->key, "gateway6 must be an IPv6 address");
      } else if (!r.has("ipv6")) {
        cx.error(it->pos, it->key, "a gateway6 needs an ipv6 address on the port");
      } else if (p->ipv6) {
        const net::IpPrefix on_link{p->ipv6->addr, p->ipv6->prefix_len};
        if ((!g.v6addr.is_link_local() && !on_link.contains(g)) || g == p->ipv6->addr) {
          cx.error(it->pos, it->key, net::format_ip(g) + " is neither link-local nor on the port's link (" +
                                         net::format_ip(p->ipv6->addr) + "/" + std::to_string(p->ipv6->prefix_len) +
                                         ")");
        } else {
          p->gateway6 = g;
        }
      }
    }
  }
  if (auto it = r.get("mtu")) {
    const uint64_t min = r.has("ipv6") ? 1280 : 576;  // RFC 8200 5, RFC 791
    if (get_uint(cx, *it, 576, 9216, &p->mtu) && p->mtu < min) {
      cx.error(it->pos, it->key, "IPv6 needs an MTU of at least 1280 (RFC 8200)");
    }
  }
  for (const char* key : {"rx_descriptors", "tx_descriptors"}) {
    uint32_t* out = key[0] == 'r' ? &p->rx_descriptors : &p->tx_descriptors;
    if (auto it = r.get(key); it && get_uint(cx, *it, 64, 32768, out) && (*out & (*out - 1)) != 0) {
      cx.error(it->pos, it->key, std::to_string(*out) + " is not a power of two");
    }
  }
  r.uint("mbuf_pool_size", &p->mbuf_pool_size, 1023, 1u << 24);
}

void read_dataplane(TableReader& r, Dataplane* d) {
  Context& cx = r.cx();
  if (auto it = r.get("eal_args")) {
    each(cx, *it, kMaxEalArgs, [&](const Item& e) {
      std::string arg;
      if (!get_string(cx, e, &arg)) return;
      static constexpr struct {
        std::string_view option;
        const char* key;
      } kOwned[] = {{"-l", "lcores"},          {"--lcores", "lcores"},        {"-c", "lcores"},
                    {"--main-lcore", "main_lcore"}, {"--master-lcore", "main_lcore"},
                    {"--file-prefix", "file_prefix"}};
      const std::string_view option = std::string_view(arg).substr(0, arg.find('='));
      for (const auto& o : kOwned) {
        // Short options also take their value attached ("-l1-3", "-c0x3").
        const bool is_short = o.option.size() == 2;
        if (option == o.option || (is_short && option.substr(0, 2) == o.option)) {
          cx.error(e.pos, e.key, quoted(arg) + " is set from dataplane." + o.key + "; set that instead");
          return;
        }
      }
      d->eal_args.push_back(std::move(arg));
    });
  }
  r.uint("workers", &d->workers, 1, kMaxLcore);
  if (auto it = r.get("lcores")) {
    std::vector<uint32_t> cores;
    bool ok = true;
    if (const auto* s = it->node->as_string()) {
      std::string why;
      ok = parse_core_list(s->get(), &cores, &why);
      if (!ok) cx.error(it->pos, it->key, why);
    } else if (it->node->is_array()) {
      ok = each(cx, *it, kMaxLcore + 1, [&](const Item& e) {
        uint32_t c = 0;
        if (get_uint(cx, e, 0, kMaxLcore, &c)) cores.push_back(c);
        else ok = false;
      }) && ok;
    } else {
      cx.error(it->pos, it->key, std::string("expected an lcore list (\"1-3,5\" or [1, 2, 3]), found ") +
                                     type_phrase(it->node->type()));
      ok = false;
    }
    if (ok) {
      std::vector<uint32_t> sorted = cores;
      std::sort(sorted.begin(), sorted.end());
      if (cores.empty()) {
        cx.error(it->pos, it->key, "an empty lcore list");
      } else if (std::adjacent_find(sorted.begin(), sorted.end()) != sorted.end()) {
        cx.error(it->pos, it->key, "names an lcore twice");
      } else {
        d->lcores = std::move(cores);
        if (r.has("workers") && d->workers != d->lcores.size()) {
          cx.error(it->pos, it->key, "lists " + std::to_string(d->lcores.size()) + " lcores but workers = " +
                                         std::to_string(d->workers) + " (set one of them)");
        }
        d->workers = static_cast<uint32_t>(d->lcores.size());
      }
    }
  }
  r.uint("main_lcore", &d->main_lcore, 0, kMaxLcore);
  if (auto it = r.get("cpus")) {
    std::string why;
    if (const auto* s = it->node->as_string(); s == nullptr) {
      cx.error(it->pos, it->key, std::string("expected a CPU list (\"0-1\"), found ") + type_phrase(it->node->type()));
    } else if (!parse_core_list(s->get(), &d->cpus, &why)) {
      d->cpus.clear();
      cx.error(it->pos, it->key, why);
    }
  }
  if (std::find(d->lcores.begin(), d->lcores.end(), d->main_lcore) != d->lcores.end()) {
    const std::string key = r.child(r.has("main_lcore") ? "main_lcore" : "lcores");
    cx.error(cx.where.at(key), key, "lcore " + std::to_string(d->main_lcore) + " is the main lcore (main_lcore) and "
                                    "cannot also be a worker");
  }
  if (auto it = r.get("file_prefix"); it && get_string(cx, *it, &d->file_prefix)) {
    if (!valid_identifier(d->file_prefix, 64)) {
      cx.error(it->pos, it->key, quoted(d->file_prefix) + " is not a file prefix (letters, digits, '-' and '_')");
    }
  }
  if (auto it = r.get("ports")) {
    each_table(cx, *it, kMaxPorts, "dataplane.ports", [&](TableReader& pr) {
      Port p;
      read_port(pr, &p);
      d->ports.push_back(std::move(p));
    });
  }
}

// ---- [[listener]] ---------------------------------------------------------------------

void read_listener(TableReader& r, Listener* l) {
  Context& cx = r.cx();
  if (auto it = r.get("address")) {
    if (get_ip(cx, *it, &l->address)) {
      l->wildcard = l->address.v6 ? l->address.v6addr.is_unspecified() : l->address.v4 == 0;
      if (l->address.v6 ? l->address.v6addr.is_multicast() : l->address.v4 >> 28 == 0xe) {
        cx.error(it->pos, it->key, net::format_ip(l->address) + " is a multicast address");
      }
    }
  } else {
    cx.error(r.pos(), r.child("address"), "missing: the address clients send to (an address of a port, or "
                                          "0.0.0.0 / :: for all)");
  }
  const Choices<Transport> kTransports = {
      {"udp", Transport::kUdp}, {"tcp", Transport::kTcp}, {"dot", Transport::kDot}};
  std::optional<Item> transport_item = r.get("transport");
  if (transport_item) {
    if (transport_item->node->is_string()) {
      Transport t{};
      if (get_choice(cx, *transport_item, kTransports, &t)) l->transports = {t};
    } else if (transport_item->node->is_array()) {
      each(cx, *transport_item, 3, [&](const Item& e) {
        Transport t{};
        if (!get_choice(cx, e, kTransports, &t)) return;
        if (std::find(l->transports.begin(), l->transports.end(), t) != l->transports.end()) {
          cx.error(e.pos, e.key, std::string("\"") + to_string(t) + "\" is listed twice");
          return;
        }
        l->transports.push_back(t);
      });
      if (transport_item->node->as_array()->empty()) cx.error(transport_item->pos, transport_item->key, "is empty");
    } else {
      cx.error(transport_item->pos, transport_item->key,
               std::string("expected \"udp\", \"tcp\", \"dot\" or a list of them, found ") +
                   type_phrase(transport_item->node->type()));
    }
  } else {
    l->transports = {Transport::kUdp, Transport::kTcp};
  }
  auto has = [&](Transport t) {
    return std::find(l->transports.begin(), l->transports.end(), t) != l->transports.end();
  };
  const bool dot = has(Transport::kDot);
  const bool stream = dot || has(Transport::kTcp);
  if (dot && l->transports.size() > 1) {
    cx.error(transport_item->pos, transport_item->key,
             "\"dot\" needs a listener of its own (port 853), without \"udp\" or \"tcp\"");
  }
  l->port = dot ? upstream::kDotPort : 53;
  r.uint("port", &l->port, 1, 65535);
  if (auto it = r.get("allow")) {
    each(cx, *it, kMaxAcl, [&](const Item& e) {
      std::string s;
      if (!get_string(cx, e, &s)) return;
      const auto p = net::parse_prefix(s);
      if (!p) {
        cx.error(e.pos, e.key, quoted(s) + " is not an address prefix (\"192.0.2.0/24\", \"2001:db8::/32\"; host "
                               "bits must be zero)");
        return;
      }
      l->allow.push_back(*p);
    });
  }
  r.choice("deny_action", &l->deny_action, {{"refuse", DenyAction::kRefuse}, {"drop", DenyAction::kDrop}});
  if (auto it = r.get("pool"); it && get_string(cx, *it, &l->pool) && !valid_identifier(l->pool, 63)) {
    cx.error(it->pos, it->key, quoted(l->pool) + " is not a pool name (letters, digits, '-' and '_', at most 63)");
  }
  r.path("tls_cert", &l->tls_cert);
  r.path("tls_key", &l->tls_key);
  for (const char* key : {"tls_cert", "tls_key"}) {
    if (!dot && r.has(key)) {
      cx.error(cx.where.at(r.child(key)), r.child(key), "only a \"dot\" listener has a certificate and key");
    } else if (dot && !r.has(key)) {
      cx.error(r.pos(), r.child(key), std::string("missing: a \"dot\" listener needs ") +
                                          (key == std::string_view("tls_cert") ? "its certificate chain (PEM)"
                                                                               : "its private key (PEM)"));
    }
  }
  r.duration_ms("idle_timeout", &l->idle_timeout_ms, 100, 3'600'000);
  r.uint("max_connections", &l->max_connections, 1, 10'000'000);
  for (const char* key : {"idle_timeout", "max_connections"}) {
    if (!stream && r.has(key) && !l->transports.empty()) {
      cx.error(cx.where.at(r.child(key)), r.child(key), "applies to \"tcp\" and \"dot\" listeners only");
    }
  }
}

// ---- [tls] ----------------------------------------------------------------------------

void read_tls(TableReader& r, TlsClient* t) {
  Context& cx = r.cx();
  r.path("ca_bundle", &t->ca_bundle);
  const Choices<TlsVersion> kVersions = {{"1.2", TlsVersion::k1_2}, {"1.3", TlsVersion::k1_3}};
  for (const char* key : {"min_version", "max_version"}) {
    TlsVersion* out = key[1] == 'i' ? &t->min_version : &t->max_version;
    if (auto it = r.get(key)) {
      if (it->node->is_floating_point()) {
        cx.error(it->pos, it->key, "write the version as a string: \"1.2\" or \"1.3\"");
      } else {
        get_choice(cx, *it, kVersions, out);
      }
    }
  }
  if (auto it = r.get("ciphers"); it && get_string(cx, *it, &t->ciphers)) {
    const bool ok = !t->ciphers.empty() && std::all_of(t->ciphers.begin(), t->ciphers.end(), [](char c) {
      return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
             std::string_view("+-!:@=_.").find(c) != std::string_view::npos;
    });
    if (!ok) cx.error(it->pos, it->key, quoted(t->ciphers) + " is not an OpenSSL cipher list (\"ECDHE+AESGCM\")");
  }
  if (auto it = r.get("ciphersuites"); it && get_string(cx, *it, &t->ciphersuites)) {
    static constexpr std::string_view kSuites[] = {"TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384",
                                                   "TLS_CHACHA20_POLY1305_SHA256", "TLS_AES_128_CCM_SHA256",
                                                   "TLS_AES_128_CCM_8_SHA256"};
    std::string_view rest = t->ciphersuites;
    while (true) {
      const size_t colon = rest.find(':');
      const std::string_view suite = rest.substr(0, colon);
      if (std::find(std::begin(kSuites), std::end(kSuites), suite) == std::end(kSuites)) {
        cx.error(it->pos, it->key, quoted(suite) + " is not a TLS 1.3 ciphersuite (TLS_AES_128_GCM_SHA256, "
                                   "TLS_AES_256_GCM_SHA384, TLS_CHACHA20_POLY1305_SHA256, TLS_AES_128_CCM_SHA256, "
                                   "TLS_AES_128_CCM_8_SHA256)");
        break;
      }
      if (colon == std::string_view::npos) break;
      rest.remove_prefix(colon + 1);
    }
  }
  r.boolean("session_resumption", &t->session_resumption);
  r.choice("record_layer", &t->record_layer,
           {{"ipsec-mb", RecordLayer::kIpsecMb}, {"openssl", RecordLayer::kOpenSsl}});
  // RFC 8446 5.5: about 2^24.5 full-size AES-GCM records per key at most.
  r.uint("key_update_records", &t->key_update_records, 1000, uint64_t{1} << 24);
}

// ---- [pools.NAME] ---------------------------------------------------------------------

// An upstream: "IP[:port|@port][#auth-name]" or { address = "...", pins = ["..."] }.
void read_upstream(Context& cx, const Item& it, std::vector<Upstream>* out) {
  Upstream u;
  std::optional<Item> address = it;
  std::optional<TableReader> table;
  if (it.node->is_table()) {
    table.emplace(cx, *it.node->as_table(), it.key, it.pos);
    address = table->get("address");
    if (!address) cx.error(it.pos, table->child("address"), "missing: \"IP[:port][#auth-name]\"");
  } else if (!it.node->is_string()) {
    cx.error(it.pos, it.key, std::string("expected \"IP[:port][#auth-name]\" or { address = ..., pins = [...] }, "
                                         "found ") + type_phrase(it.node->type()));
    return;
  }
  bool ok = false;
  if (address) {
    std::string text;
    if (get_string(cx, *address, &text)) {
      auto r = upstream::parse_upstream(text);
      if (auto* e = std::get_if<upstream::SpecError>(&r)) {
        cx.error(address->pos, address->key, quoted(text) + " is not a valid upstream: " + e->message);
      } else {
        u.spec = std::get<upstream::UpstreamSpec>(r);
        ok = true;
      }
    }
  }
  if (table) {
    if (auto pins = table->get("pins")) {
      each(cx, *pins, kMaxPins, [&](const Item& e) {
        std::string text;
        if (!get_string(cx, e, &text)) return;
        auto r = upstream::parse_spki_pin(text);
        if (auto* err = std::get_if<upstream::SpecError>(&r)) {
          cx.error(e.pos, e.key, "not an SPKI pin: " + err->message);
          ok = false;
          return;
        }
        u.pins.push_back(std::get<upstream::SpkiPin>(r));
      });
    }
    table->finish();
  }
  if (ok) out->push_back(std::move(u));
}

void read_pool(TableReader& r, std::string name, Pool* p) {
  Context& cx = r.cx();
  p->name = std::move(name);
  if (auto it = r.get("upstreams")) {
    each(cx, *it, kMaxUpstreams, [&](const Item& e) { read_upstream(cx, e, &p->upstreams); });
    if (it->node->is_array() && it->node->as_array()->empty()) {
      cx.error(it->pos, it->key, "is empty: a pool needs at least one upstream");
    }
  } else {
    cx.error(r.pos(), r.child("upstreams"), "missing: a pool needs at least one upstream "
                                            "(\"1.1.1.1#cloudflare-dns.com\")");
  }
  if (auto it = r.get("fallback")) {
    each(cx, *it, kMaxFallback, [&](const Item& e) { read_upstream(cx, e, &p->fallback); });
  }
  if (auto it = r.get("zones")) {
    each(cx, *it, kMaxZonesPerPool, [&](const Item& e) {
      std::string text, zone;
      if (get_string(cx, e, &text) && get_zone(cx, e, text, &zone, nullptr)) p->zones.push_back(std::move(zone));
    });
  } else if (p->name == "default") {
    p->zones = {"."};
  }
  r.choice("policy", &p->policy,
           {{"round-robin", LbPolicy::kRoundRobin},
            {"least-outstanding", LbPolicy::kLeastOutstanding},
            {"lowest-latency", LbPolicy::kLowestLatency},
            {"ordered", LbPolicy::kOrdered}});
  r.uint("connections", &p->connections, 1, 64);
  r.uint("max_outstanding", &p->max_outstanding, 1, 65535);
  r.duration_ms("query_timeout", &p->query_timeout_ms, 10, 60'000);
  r.duration_ms("retry_budget", &p->retry_budget_ms, 10, 300'000);
  r.duration_ms("connect_backoff_min", &p->connect_backoff_min_ms, 10, 3'600'000);
  r.duration_ms("connect_backoff_max", &p->connect_backoff_max_ms, 10, 3'600'000);
}

// ---- [cache], [limits], [local], [control] ---------------------------------------------

void read_cache(TableReader& r, Cache* c) {
  r.size("size", &c->size, uint64_t{1} << 20, uint64_t{1} << 40);
  r.seconds("min_ttl", &c->min_ttl, 0, kMaxTtl);
  r.seconds("max_ttl", &c->max_ttl, 1, kMaxTtl);
  r.seconds("max_negative_ttl", &c->max_negative_ttl, 0, kMaxTtl);
  r.seconds("servfail_ttl", &c->servfail_ttl, 0, 300);
  r.boolean("serve_stale", &c->serve_stale);
  r.seconds("stale_max_age", &c->stale_max_age, 1, 30 * 86400);
  r.seconds("stale_answer_ttl", &c->stale_answer_ttl, 1, 3600);
  r.boolean("prefetch", &c->prefetch);
}

void read_limits(TableReader& r, Limits* l) {
  r.uint("client_qps", &l->client_qps, 0, 10'000'000);
  r.uint("client_burst", &l->client_burst, 0, 10'000'000);
  r.uint("max_tcp_connections", &l->max_tcp_connections, 1, 10'000'000);
  r.size("tcp_buffer", &l->tcp_buffer, 2048, 16u << 20);
  r.size("upstream_buffer", &l->upstream_buffer, 2 + dns::kMaxMessage, 64u << 20);
  r.uint("edns_buffer_size", &l->edns_buffer_size, dns::kMinUdpPayload, 4096);
  if (r.has("client_burst") && !r.has("client_qps")) {
    r.cx().error(r.cx().where.at(r.child("client_burst")), r.child("client_burst"),
                 "a burst needs a rate: set client_qps too");
  }
}

void read_local_zone(Context& cx, const Item& it, std::string_view zone_text, uint32_t default_ttl, LocalZone* z) {
  if (!get_zone(cx, it, zone_text, &z->name, &z->wire)) return;
  const Choices<LocalZoneType> kTypes = {{"static", LocalZoneType::kStatic},
                                                    {"transparent", LocalZoneType::kTransparent},
                                                    {"refuse", LocalZoneType::kRefuse},
                                                    {"nxdomain", LocalZoneType::kNxdomain},
                                                    {"drop", LocalZoneType::kDrop}};
  std::optional<Item> records;
  std::optional<TableReader> table;
  if (it.node->is_string()) {
    if (!get_choice(cx, it, kTypes, &z->type)) return;
    if (z->type == LocalZoneType::kStatic || z->type == LocalZoneType::kTransparent) {
      cx.error(it.pos, it.key, std::string("a \"") + to_string(z->type) + "\" zone needs records: write "
                               "{ type = \"" + to_string(z->type) + "\", records = [...] }");
    }
  } else if (it.node->is_array()) {
    records = it;  // records alone: a static zone
  } else if (it.node->is_table()) {
    table.emplace(cx, *it.node->as_table(), it.key, it.pos);
    table->choice("type", &z->type, kTypes);
    records = table->get("records");
    if (records && z->type != LocalZoneType::kStatic && z->type != LocalZoneType::kTransparent) {
      cx.error(records->pos, records->key, std::string("a \"") + to_string(z->type) + "\" zone has no records");
      records.reset();
    }
    table->finish();
  } else {
    cx.error(it.pos, it.key, std::string("expected a zone type (\"refuse\", \"nxdomain\", \"drop\"), a list of "
                                         "records or a table, found ") + type_phrase(it.node->type()));
    return;
  }
  if (!records) return;
  std::vector<size_t> cname_owners;  // records index of each CNAME, for RFC 1034 3.6.2
  each(cx, *records, kMaxLocalRecords, [&](const Item& e) {
    std::string text;
    if (!get_string(cx, e, &text)) return;
    auto r = parse_local_record(text, *z, default_ttl);
    if (auto* err = std::get_if<UnitError>(&r)) {
      cx.error(e.pos, e.key, err->message);
      return;
    }
    LocalRecord rec = std::move(std::get<LocalRecord>(r));
    for (const LocalRecord& other : z->records) {
      if (other.owner == rec.owner && (other.type == dns::kTypeCNAME || rec.type == dns::kTypeCNAME)) {
        cx.error(e.pos, e.key, dns::name_to_text(rec.owner.data(), rec.owner.size()) +
                                   " has a CNAME and other data (RFC 1034 3.6.2)");
        return;
      }
      if (other.owner == rec.owner && other.type == rec.type && other.rdata == rec.rdata) {
        cx.error(e.pos, e.key, "the same record twice");
        return;
      }
    }
    z->records.push_back(std::move(rec));
  });
}

void read_local(TableReader& r, Local* l) {
  Context& cx = r.cx();
  r.path("hosts_file", &l->hosts_file);
  r.seconds("ttl", &l->ttl, 0, kMaxTtl);
  if (auto zones = r.table("zones")) {
    const toml::table& t = zones->raw();
    if (t.size() > kMaxLocalZones) {
      cx.error(zones->pos(), zones->path(), "has " + std::to_string(t.size()) + " zones; at most " +
                                                std::to_string(kMaxLocalZones));
      return;
    }
    // In file order, so a zone written twice is reported where it is repeated.
    std::vector<std::pair<std::string_view, Item>> items;
    for (auto&& [k, v] : t) items.emplace_back(k.str(), *zones->get(k.str()));
    std::sort(items.begin(), items.end(), [](const auto& a, const auto& b) {
      return std::tie(a.second.pos.line, a.second.pos.column) < std::tie(b.second.pos.line, b.second.pos.column);
    });
    std::map<std::string, std::string> seen;  // canonical name -> key
    for (const auto& [text, it] : items) {
      LocalZone z;
      read_local_zone(cx, it, text, l->ttl, &z);
      if (z.name.empty()) continue;
      if (const auto [at, fresh] = seen.emplace(z.name, it.key); !fresh) {
        cx.error(it.pos, it.key, "zone \"" + z.name + "\" is already defined (" + at->second + ", line " +
                                     std::to_string(cx.where.at(at->second).line) + ")");
        continue;
      }
      l->zones.push_back(std::move(z));
    }
    zones->finish();
  }
}

void read_control(TableReader& r, Control* c) {
  r.path("socket", &c->socket, kMaxUnixPath);
  r.choice("log_level", &c->log_level,
           {{"error", LogLevel::kError},
            {"warning", LogLevel::kWarning},
            {"notice", LogLevel::kNotice},
            {"info", LogLevel::kInfo},
            {"debug", LogLevel::kDebug}});
}

// ---- the whole file -------------------------------------------------------------------

void read_root(Context& cx, const toml::table& root, Config* c) {
  TableReader r(cx, root, "", SourcePos{1, 1});
  r.choice("privacy", &c->privacy, {{"strict", Privacy::kStrict}, {"opportunistic", Privacy::kOpportunistic}});
  r.uint("padding_block", &c->padding_block, 0, 1024);
  r.boolean("strip_ecs", &c->strip_ecs);
  if (auto t = r.table("dataplane")) {
    read_dataplane(*t, &c->dataplane);
    t->finish();
  }
  if (auto it = r.get("listener")) {
    each_table(cx, *it, kMaxListeners, "listener", [&](TableReader& lr) {
      Listener l;
      read_listener(lr, &l);
      c->listeners.push_back(std::move(l));
    });
  }
  if (auto t = r.table("tls")) {
    read_tls(*t, &c->tls);
    t->finish();
  }
  if (auto pools = r.table("pools")) {
    const toml::table& t = pools->raw();
    if (t.size() > kMaxPools) {
      cx.error(pools->pos(), pools->path(), "has " + std::to_string(t.size()) + " pools; at most " +
                                                std::to_string(kMaxPools));
    } else {
      for (auto&& [k, v] : t) {
        const auto it = pools->get(k.str());
        if (!valid_identifier(k.str(), 63)) {
          cx.error(pos_of(k.source(), it->pos), it->key,
                   quoted(k.str()) + " is not a pool name (letters, digits, '-' and '_', at most 63)");
          continue;
        }
        if (!expect_type(cx, *it, toml::node_type::table)) continue;
        TableReader pr(cx, *v.as_table(), it->key, it->pos);
        Pool p;
        read_pool(pr, std::string(k.str()), &p);
        pr.finish();
        c->pools.push_back(std::move(p));
      }
    }
    pools->finish();
  }
  if (auto t = r.table("cache")) {
    read_cache(*t, &c->cache);
    t->finish();
  }
  if (auto t = r.table("limits")) {
    read_limits(*t, &c->limits);
    t->finish();
  }
  // A listener's default connection cap never exceeds the appliance's.
  for (size_t i = 0; i < c->listeners.size(); ++i) {
    if (!cx.where.contains("listener[" + std::to_string(i) + "].max_connections")) {
      c->listeners[i].max_connections = std::min(c->listeners[i].max_connections, c->limits.max_tcp_connections);
    }
  }
  if (auto t = r.table("local")) {
    read_local(*t, &c->local);
    t->finish();
  }
  if (auto t = r.table("control")) {
    read_control(*t, &c->control);
    t->finish();
  }
  r.finish();
}

}  // namespace

std::string ConfigError::to_string() const {
  std::string s = file;
  if (line != 0) s += ":" + std::to_string(line) + ":" + std::to_string(column);
  s += ": ";
  if (!key.empty()) s += key + ": ";
  return s + message;
}

ConfigResult parse_config(std::string_view text, std::string_view file_name) {
  Context cx;
  cx.file = std::string(file_name);
  toml::table root;
  try {
    root = toml::parse(text, std::string_view(file_name));
  } catch (const toml::parse_error& e) {
    const SourcePos p = pos_of(e.source(), SourcePos{1, 1});
    cx.error(p, "", std::string(e.description()));
    return std::move(cx.errors);
  }
  Config c;
  read_root(cx, root, &c);
  // The checks across sections run on a model read without errors: with values missing
  // they would mostly report the same mistakes again, in other words.
  if (cx.errors.empty()) validate(c, cx.where, cx.file, &cx.errors);
  if (!cx.errors.empty()) {
    std::stable_sort(cx.errors.begin(), cx.errors.end(), [](const ConfigError& a, const ConfigError& b) {
      return a.line != b.line ? a.line < b.line : a.column < b.column;
    });
    return std::move(cx.errors);
  }
  return c;
}

ConfigResult load_config(const std::string& path) {
  auto unreadable = [&](int err) {
    return std::vector<ConfigError>{ConfigError{path, 0, 0, "", std::string("cannot read: ") + std::strerror(err)}};
  };
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) return unreadable(errno);
  std::string text;
  char buf[16384];
  size_t n = 0;
  // Bounded: a config file is a few kilobytes; 64 MiB is not one.
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0 && text.size() < (size_t{64} << 20)) text.append(buf, n);
  const int err = std::ferror(f) ? errno : 0;
  const bool too_large = n > 0;
  std::fclose(f);
  if (err != 0) return unreadable(err);
  if (too_large) return unreadable(EFBIG);
  return parse_config(text, path);
}

}  // namespace dotgate::config
