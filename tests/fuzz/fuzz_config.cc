// libFuzzer target: arbitrary text into parse_config. It must never crash; a failure must
// come with at least one error, each naming the file and a line and column >= 1, sorted
// by position; a success must be a Config that keeps the promises of config.h. The size
// and duration parsers also see the input, and what they accept must survive a round trip
// through the formatters.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "fuzz_check.h"
#include "config/load.h"
#include "config/units.h"

using namespace dotgate::config;

namespace {

void check_errors(const std::vector<ConfigError>& errors) {
  CHECK(!errors.empty());
  for (size_t i = 0; i < errors.size(); ++i) {
    const ConfigError& e = errors[i];
    CHECK(e.file == "fuzz.toml");
    CHECK(e.line >= 1 && e.column >= 1);
    CHECK(!e.message.empty());
    const std::string prefix = "fuzz.toml:" + std::to_string(e.line) + ":" + std::to_string(e.column) + ": ";
    CHECK(e.to_string().compare(0, prefix.size(), prefix) == 0);
    if (i > 0) {
      const ConfigError& p = errors[i - 1];
      CHECK(p.line < e.line || (p.line == e.line && p.column <= e.column));
    }
  }
}

void check_config(const Config& c) {
  CHECK(!c.dataplane.ports.empty());
  CHECK(c.dataplane.workers >= 1);
  CHECK(c.dataplane.lcores.empty() || c.dataplane.lcores.size() == c.dataplane.workers);
  CHECK(!c.listeners.empty());
  for (const Listener& l : c.listeners) {
    CHECK(!l.transports.empty());
    const bool dot = std::find(l.transports.begin(), l.transports.end(), Transport::kDot) != l.transports.end();
    CHECK(!dot || (l.transports.size() == 1 && !l.tls_cert.empty() && !l.tls_key.empty()));
    CHECK(dot || (l.tls_cert.empty() && l.tls_key.empty()));
    CHECK(l.port != 0);
    CHECK(l.pool.empty() ||
          std::any_of(c.pools.begin(), c.pools.end(), [&](const Pool& p) { return p.name == l.pool; }));
  }
  CHECK(c.tls.min_version <= c.tls.max_version);
  size_t roots = 0;
  for (const Pool& p : c.pools) {
    CHECK(!p.upstreams.empty());
    CHECK(p.retry_budget_ms >= p.query_timeout_ms);
    CHECK(p.connect_backoff_min_ms <= p.connect_backoff_max_ms);
    roots += static_cast<size_t>(std::count(p.zones.begin(), p.zones.end(), "."));
    for (const std::string& z : p.zones) CHECK(!z.empty() && z.back() == '.');
  }
  CHECK(roots == 1);
  CHECK(c.cache.min_ttl <= c.cache.max_ttl);
  CHECK(c.cache.size / c.dataplane.workers >= (uint64_t{1} << 20));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto r = parse_config(text, "fuzz.toml");
  if (auto* errors = std::get_if<std::vector<ConfigError>>(&r)) {
    check_errors(*errors);
  } else {
    check_config(std::get<Config>(r));
  }
  if (size <= 64) {
    if (auto s = parse_size(text); std::holds_alternative<uint64_t>(s)) {
      const uint64_t v = std::get<uint64_t>(s);
      auto back = parse_size(format_size(v));
      CHECK(std::holds_alternative<uint64_t>(back) && std::get<uint64_t>(back) == v);
    }
    if (auto d = parse_duration(text); std::holds_alternative<uint64_t>(d)) {
      const uint64_t v = std::get<uint64_t>(d);
      auto back = parse_duration(format_duration(v));
      CHECK(std::holds_alternative<uint64_t>(back) && std::get<uint64_t>(back) == v);
    }
  }
  return 0;
}
