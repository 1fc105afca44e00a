#include "upstream/upstream_spec.h"

#include <algorithm>
#include <cstring>

#include "dns/name.h"
#include "util/base64.h"

namespace dotgate::upstream {

namespace {

SpecError error(std::string m) { return SpecError{std::move(m)}; }

bool parse_port(std::string_view s, uint16_t* port) {
  if (s.empty() || s.size() > 5 || (s.size() > 1 && s[0] == '0')) return false;
  unsigned v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + static_cast<unsigned>(c - '0');
  }
  if (v == 0 || v > 65535) return false;
  *port = static_cast<uint16_t>(v);
  return true;
}

}  // namespace

std::variant<UpstreamSpec, SpecError> parse_upstream(std::string_view text) {
  UpstreamSpec u;
  std::string_view rest = text;
  const size_t hash = rest.find('#');
  if (hash != std::string_view::npos) {
    std::string_view name = rest.substr(hash + 1);
    rest = rest.substr(0, hash);
    if (name.empty()) return error("empty authentication name after '#'");
    if (name.back() == '.') name.remove_suffix(1);
    uint8_t wire[dns::kMaxNameWire];
    size_t wire_len = 0;
    if (name.empty() || !dns::name_from_text(name, wire, &wire_len)) {
      return error("'" + std::string(name) + "' is not a valid authentication name");
    }
    u.auth_name = std::string(name);
  }
  std::string_view host = rest;
  std::string_view port;
  if (!rest.empty() && rest[0] == '[') {
    const size_t close = rest.find(']');
    if (close == std::string_view::npos) return error("missing ']' after the IPv6 address");
    host = rest.substr(1, close - 1);
    const std::string_view after = rest.substr(close + 1);
    if (!after.empty()) {
      if (after[0] != ':' && after[0] != '@') return error("expected ':PORT' after ']'");
      port = after.substr(1);
      if (port.empty()) return error("missing port after ':'");
    }
  } else if (const size_t at = rest.find('@'); at != std::string_view::npos) {
    host = rest.substr(0, at);
    port = rest.substr(at + 1);
    if (port.empty()) return error("missing port after '@'");
  } else if (std::count(rest.begin(), rest.end(), ':') == 1) {
    const size_t colon = rest.find(':');
    host = rest.substr(0, colon);
    port = rest.substr(colon + 1);
    if (port.empty()) return error("missing port after ':'");
  }
  if (host.empty()) return error("missing address (upstreams are IP addresses, not names)");
  const auto addr = net::parse_ip(host);
  if (!addr) {
    return error("'" + std::string(host) + "' is not an IP address (upstreams are given by address; put the "
                 "certificate name after '#')");
  }
  u.address = *addr;
  if (!port.empty() && !parse_port(port, &u.port)) return error("'" + std::string(port) + "' is not a port (1-65535)");
  return u;
}

std::string format_upstream(const UpstreamSpec& u) {
  std::string s = u.address.v6 ? "[" + net::format_ip(u.address) + "]" : net::format_ip(u.address);
  s += ":" + std::to_string(u.port);
  if (!u.auth_name.empty()) s += "#" + u.auth_name;
  return s;
}

std::variant<SpkiPin, SpecError> parse_spki_pin(std::string_view base64) {
  const auto bytes = util::base64_decode(base64);
  if (!bytes) return error("'" + std::string(base64) + "' is not base64");
  if (bytes->size() != 32) {
    return error("an SPKI pin is a SHA-256 digest (32 bytes, 44 base64 characters); this one has " +
                 std::to_string(bytes->size()) + " bytes");
  }
  SpkiPin pin;
  std::memcpy(pin.data(), bytes->data(), 32);
  return pin;
}

}  // namespace dotgate::upstream
