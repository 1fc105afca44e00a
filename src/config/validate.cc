#include "config/validate.h"

#include <algorithm>
#include <map>
#include <tuple>

namespace dotgate::config {

namespace {

bool is_bare(std::string_view key) {
  return !key.empty() && std::all_of(key.begin(), key.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
  });
}

std::string idx(std::string_view base, size_t i) { return std::string(base) + "[" + std::to_string(i) + "]"; }

class Checker {
 public:
  Checker(const Config& c, const SourceMap& where, const std::string& file, std::vector<ConfigError>* errors)
      : c_(c), where_(where), file_(file), errors_(errors) {}

  void error(const std::string& key, std::string message) {
    const SourcePos p = where_.at(key);
    errors_->push_back(ConfigError{file_, p.line, p.column, key, std::move(message)});
  }
  // " (KEY, line N)": where the other half of a conflict was written.
  std::string see(const std::string& key) const {
    return " (" + key + ", line " + std::to_string(where_.at(key).line) + ")";
  }
  bool before(const std::string& a, const std::string& b) const {
    const SourcePos x = where_.at(a), y = where_.at(b);
    return std::tie(x.line, x.column) < std::tie(y.line, y.column);
  }

  void ports();
  void listeners();
  void tls();
  void pools();
  void cache();

 private:
  const Config& c_;
  const SourceMap& where_;
  const std::string& file_;
  std::vector<ConfigError>* errors_;
};

void Checker::ports() {
  const auto& ports = c_.dataplane.ports;
  if (ports.empty()) {
    error("dataplane.ports", "missing: the dataplane needs at least one [[dataplane.ports]]");
    return;
  }
  for (size_t i = 0; i < ports.size(); ++i) {
    const Port& p = ports[i];
    const std::string key = idx("dataplane.ports", i);
    for (size_t j = 0; j < i; ++j) {
      const Port& q = ports[j];
      const std::string other = idx("dataplane.ports", j);
      if (p.name == q.name) error(key + ".name", "port name \"" + p.name + "\" is already used" + see(other + ".name"));
      if (p.device == q.device) {
        error(key + ".device", "device \"" + p.device + "\" is already used" + see(other + ".device"));
      }
      if (p.ipv4 && q.ipv4 && p.ipv4->addr == q.ipv4->addr) {
        error(key + ".ipv4", net::format_ip(p.ipv4->addr) + " is already the address of port \"" + q.name + "\"" +
                                 see(other + ".ipv4"));
      }
      if (p.ipv6 && q.ipv6 && p.ipv6->addr == q.ipv6->addr) {
        error(key + ".ipv6", net::format_ip(p.ipv6->addr) + " is already the address of port \"" + q.name + "\"" +
                                 see(other + ".ipv6"));
      }
    }
    // Every RX descriptor holds an mbuf all the time, and a full TX ring holds as many.
    const uint64_t needed = uint64_t{c_.dataplane.workers} * (p.rx_descriptors + p.tx_descriptors);
    if (p.mbuf_pool_size < needed) {
      error(key + ".mbuf_pool_size",
            std::to_string(p.mbuf_pool_size) + " mbufs cannot fill " + std::to_string(c_.dataplane.workers) +
                " worker(s) x (" + std::to_string(p.rx_descriptors) + " RX + " + std::to_string(p.tx_descriptors) +
                " TX descriptors) = " + std::to_string(needed));
    }
  }
}

void Checker::listeners() {
  const auto& ls = c_.listeners;
  if (ls.empty()) {
    error("listener", "missing: at least one [[listener]] (clients have nowhere to send queries)");
    return;
  }
  auto family = [](const net::IpAddr& a) { return a.v6 ? "IPv6" : "IPv4"; };
  auto endpoint = [](const Listener& l, Transport t) {
    const std::string a = l.address.v6 ? "[" + net::format_ip(l.address) + "]" : net::format_ip(l.address);
    return a + ":" + std::to_string(l.port) + "/" + to_string(t);
  };
  auto stream = [](const Listener& l) {
    return std::any_of(l.transports.begin(), l.transports.end(), [](Transport t) { return t != Transport::kUdp; });
  };
  for (size_t i = 0; i < ls.size(); ++i) {
    const Listener& l = ls[i];
    const std::string key = idx("listener", i);
    // The address must be one the dataplane answers for.
    bool on_port = false;
    for (const Port& p : c_.dataplane.ports) {
      const auto& a = l.address.v6 ? p.ipv6 : p.ipv4;
      if (a && (l.wildcard || a->addr == l.address)) on_port = true;
    }
    if (!on_port && !c_.dataplane.ports.empty()) {
      error(key + ".address", l.wildcard ? std::string("no port has an ") + family(l.address) + " address"
                                         : net::format_ip(l.address) + " is not the address of any port "
                                                                        "(dataplane.ports[].ipv4 / ipv6)");
    }
    for (size_t j = 0; j < l.allow.size(); ++j) {
      if (l.allow[j].addr.v6 != l.address.v6) {
        error(idx(key + ".allow", j), "\"" + net::format_prefix(l.allow[j]) + "\" never matches: the listener is " +
                                          family(l.address));
      }
    }
    if (!l.pool.empty() &&
        std::none_of(c_.pools.begin(), c_.pools.end(), [&](const Pool& p) { return p.name == l.pool; })) {
      std::string message = "pool \"" + l.pool + "\" is not defined";
      for (const Pool& p : c_.pools) {
        if (edit_distance(l.pool, p.name) <= 2) {
          message += "; did you mean \"" + p.name + "\"?";
          break;
        }
      }
      error(key + ".pool", message);
    }
    if (stream(l) && l.max_connections > c_.limits.max_tcp_connections) {
      error(key + ".max_connections", std::to_string(l.max_connections) + " is above limits.max_tcp_connections (" +
                                          std::to_string(c_.limits.max_tcp_connections) + ")");
    }
    // Two listeners may share a port only on different addresses (a wildcard covers its
    // whole family) or different layer-4 protocols (DoT is TCP).
    bool reported = false;
    for (size_t j = 0; j < i && !reported; ++j) {
      const Listener& m = ls[j];
      if (m.port != l.port || m.address.v6 != l.address.v6) continue;
      if (!(m.address == l.address || m.wildcard || l.wildcard)) continue;
      for (Transport t : l.transports) {
        const bool tcp = t != Transport::kUdp;
        const auto clash = std::find_if(m.transports.begin(), m.transports.end(),
                                        [&](Transport u) { return (u != Transport::kUdp) == tcp; });
        if (clash == m.transports.end()) continue;
        const bool same = m.address == l.address;
        error(key + ".address", endpoint(l, t) + (same ? " is already taken by " : " overlaps ") + idx("listener", j) +
                                    " (" + endpoint(m, *clash) + ", line " +
                                    std::to_string(where_.at(idx("listener", j)).line) + ")");
        reported = true;
        break;
      }
    }
  }
}

void Checker::tls() {
  if (c_.tls.min_version > c_.tls.max_version) {
    error("tls.min_version", std::string("\"") + to_string(c_.tls.min_version) + "\" is above max_version \"" +
                                 to_string(c_.tls.max_version) + "\"");
  }
}

void Checker::pools() {
  struct ZoneUse {
    std::string zone;
    std::string pool;
    std::string key;
  };
  std::vector<ZoneUse> uses;
  for (const Pool& p : c_.pools) {
    const std::string key = "pools." + key_segment(p.name);
    for (size_t i = 0; i < p.zones.size(); ++i) {
      // The pool named "default" serves "." without saying so: point at the pool then.
      const std::string zone_key = idx(key + ".zones", i);
      uses.push_back({p.zones[i], p.name, where_.contains(zone_key) ? zone_key : key});
    }
    const bool named = std::any_of(c_.listeners.begin(), c_.listeners.end(),
                                   [&](const Listener& l) { return l.pool == p.name; });
    if (p.zones.empty() && !named) {
      error(key, "pool \"" + p.name + "\" serves no zone and no listener names it: add zones = [...]");
    }
    // Upstreams are the same when address and port are; the name only authenticates.
    auto same = [](const Upstream& a, const Upstream& b) {
      return a.spec.address == b.spec.address && a.spec.port == b.spec.port;
    };
    auto text = [](const Upstream& u) { return "\"" + upstream::format_upstream(u.spec) + "\""; };
    for (const char* list : {"upstreams", "fallback"}) {
      const auto& v = list[0] == 'u' ? p.upstreams : p.fallback;
      for (size_t i = 0; i < v.size(); ++i) {
        for (size_t j = 0; j < i; ++j) {
          if (same(v[i], v[j])) {
            error(idx(key + "." + list, i), text(v[i]) + " is listed twice" + see(idx(key + "." + list, j)));
            break;
          }
        }
      }
    }
    for (size_t i = 0; i < p.fallback.size(); ++i) {
      for (size_t j = 0; j < p.upstreams.size(); ++j) {
        if (same(p.fallback[i], p.upstreams[j])) {
          error(idx(key + ".fallback", i), text(p.fallback[i]) + " is also a primary upstream" +
                                               see(idx(key + ".upstreams", j)) +
                                               "; a fallback is used only when every primary is down");
          break;
        }
      }
    }
    if (p.retry_budget_ms < p.query_timeout_ms) {
      error(key + ".retry_budget", "is shorter than query_timeout: not even one attempt fits");
    }
    if (p.connect_backoff_min_ms > p.connect_backoff_max_ms) {
      error(key + ".connect_backoff_min", "is above connect_backoff_max");
    }
  }
  // A zone in two pools: the one written later is the mistake.
  std::sort(uses.begin(), uses.end(), [&](const ZoneUse& a, const ZoneUse& b) { return before(a.key, b.key); });
  std::map<std::string, const ZoneUse*> first;
  for (const ZoneUse& u : uses) {
    const auto [at, fresh] = first.emplace(u.zone, &u);
    if (fresh) continue;
    const ZoneUse& f = *at->second;
    error(u.key, "zone \"" + u.zone + "\" is already served by " +
                     (f.pool == u.pool ? std::string("this pool") : "pool \"" + f.pool + "\"") + see(f.key));
  }
  if (first.count(".") == 0) {
    error("pools", "no pool serves \".\" (every name not in another zone): define [pools.default] or add \".\" to "
                   "a pool's zones");
  }
}

void Checker::cache() {
  const Cache& k = c_.cache;
  if (k.min_ttl > k.max_ttl) error("cache.min_ttl", "is above max_ttl (" + std::to_string(k.max_ttl) + " s)");
  const uint64_t per_worker = k.size / c_.dataplane.workers;
  if (per_worker < (uint64_t{1} << 20)) {
    error("cache.size", "gives each of the " + std::to_string(c_.dataplane.workers) +
                            " workers less than 1MiB (the cache is split evenly between them)");
  }
}

}  // namespace

SourcePos SourceMap::at(std::string_view key) const {
  // Cut the path back one segment at a time: "a.b[2]" -> "a.b" -> "a". Quoted segments
  // may hold dots and brackets.
  std::vector<size_t> cuts;
  bool in_quote = false;
  for (size_t i = 0; i < key.size(); ++i) {
    const char c = key[i];
    if (in_quote) {
      if (c == '\\') ++i;
      else if (c == '"') in_quote = false;
    } else if (c == '"') {
      in_quote = true;
    } else if ((c == '.' || c == '[') && i > 0) {
      cuts.push_back(i);
    }
  }
  if (auto it = pos_.find(std::string(key)); it != pos_.end()) return it->second;
  for (auto c = cuts.rbegin(); c != cuts.rend(); ++c) {
    if (auto it = pos_.find(std::string(key.substr(0, *c))); it != pos_.end()) return it->second;
  }
  return SourcePos{};
}

std::string key_segment(std::string_view key) {
  if (is_bare(key)) return std::string(key);
  std::string out = "\"";
  for (char ch : key) {
    const unsigned char c = static_cast<unsigned char>(ch);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += ch;
    } else if (c < 0x20 || c == 0x7f) {
      static constexpr char kHex[] = "0123456789abcdef";
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 15];
    } else {
      out += ch;
    }
  }
  return out + "\"";
}

size_t edit_distance(std::string_view a, std::string_view b) {
  if (a.size() > 64 || b.size() > 64) return 1000;
  auto fold = [](char c) { return c == '-' ? '_' : (c >= 'A' && c <= 'Z') ? static_cast<char>(c | 0x20) : c; };
  size_t row[65];
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diag = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (fold(a[i - 1]) == fold(b[j - 1]) ? 0 : 1)});
      diag = up;
    }
  }
  return row[b.size()];
}

void validate(const Config& c, const SourceMap& where, const std::string& file, std::vector<ConfigError>* errors) {
  Checker k(c, where, file, errors);
  k.ports();
  k.listeners();
  k.tls();
  k.pools();
  k.cache();
}

}  // namespace dotgate::config
