#include "config/local_record.h"

#include <vector>

#include "dns/name.h"
#include "dns/wire.h"

namespace dotgate::config {

namespace {

constexpr uint16_t kTypeSRV = 33;  // RFC 2782

UnitError error(std::string m) { return UnitError{std::move(m)}; }

bool is_space(char c) { return c == ' ' || c == '\t'; }

// Splits off the next whitespace-delimited token.
std::string_view next_token(std::string_view* s) {
  size_t i = 0;
  while (i < s->size() && is_space((*s)[i])) ++i;
  size_t j = i;
  while (j < s->size() && !is_space((*s)[j])) ++j;
  const std::string_view token = s->substr(i, j - i);
  s->remove_prefix(j);
  return token;
}

bool parse_uint(std::string_view s, uint64_t max, uint64_t* v) {
  if (s.empty() || s.size() > 10) return false;
  uint64_t n = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    n = n * 10 + static_cast<uint64_t>(c - '0');
  }
  if (n > max) return false;
  *v = n;
  return true;
}

// Appends the wire form of an absolute name ("@" is the apex) to `out`, lower-cased.
bool append_name(std::string_view text, const LocalZone& zone, std::vector<uint8_t>* out) {
  if (text == "@") {
    out->insert(out->end(), zone.wire.begin(), zone.wire.end());
    return true;
  }
  uint8_t wire[dns::kMaxNameWire];
  size_t len = 0;
  if (!dns::name_from_text(text, wire, &len)) return false;
  dns::ascii_lower(wire, len);
  out->insert(out->end(), wire, wire + len);
  return true;
}

void append_u16(std::vector<uint8_t>* out, uint64_t v) {
  out->push_back(static_cast<uint8_t>(v >> 8));
  out->push_back(static_cast<uint8_t>(v));
}

// TXT rdata: one or more character-strings, each quoted ("a b" with \" \\ and \DDD
// escapes) or a bare word, at most 255 bytes each.
std::variant<std::vector<uint8_t>, UnitError> txt_rdata(std::string_view s) {
  std::vector<uint8_t> out;
  while (true) {
    while (!s.empty() && is_space(s[0])) s.remove_prefix(1);
    if (s.empty()) break;
    std::vector<uint8_t> str;
    if (s[0] == '"') {
      size_t i = 1;
      bool closed = false;
      while (i < s.size()) {
        const char c = s[i];
        if (c == '"') {
          closed = true;
          ++i;
          break;
        }
        if (c == '\\') {
          if (i + 1 >= s.size()) break;
          const char d = s[i + 1];
          if (d >= '0' && d <= '9') {
            uint64_t v = 0;
            if (i + 3 >= s.size() || !parse_uint(s.substr(i + 1, 3), 255, &v)) {
              return error("bad \\DDD escape in a TXT string");
            }
            str.push_back(static_cast<uint8_t>(v));
            i += 4;
          } else {
            str.push_back(static_cast<uint8_t>(d));
            i += 2;
          }
          continue;
        }
        str.push_back(static_cast<uint8_t>(c));
        ++i;
      }
      if (!closed) return error("unterminated '\"' in TXT data");
      s.remove_prefix(i);
      if (!s.empty() && !is_space(s[0])) return error("TXT strings must be separated by spaces");
    } else {
      const std::string_view word = next_token(&s);
      str.assign(word.begin(), word.end());
    }
    if (str.size() > 255) return error("a TXT string is longer than 255 bytes");
    out.push_back(static_cast<uint8_t>(str.size()));
    out.insert(out.end(), str.begin(), str.end());
  }
  if (out.empty()) return error("TXT needs at least one string");
  return out;
}

}  // namespace

std::string type_name(uint16_t type) {
  switch (type) {
    case dns::kTypeA: return "A";
    case dns::kTypeAAAA: return "AAAA";
    case dns::kTypeCNAME: return "CNAME";
    case dns::kTypeNS: return "NS";
    case dns::kTypePTR: return "PTR";
    case dns::kTypeMX: return "MX";
    case kTypeSRV: return "SRV";
    case dns::kTypeTXT: return "TXT";
    default: return "TYPE" + std::to_string(type);
  }
}

std::variant<LocalRecord, UnitError> parse_local_record(std::string_view text, const LocalZone& zone,
                                                        uint32_t default_ttl) {
  LocalRecord r;
  r.ttl = default_ttl;
  std::string_view s = text;
  const std::string_view owner = next_token(&s);
  if (owner.empty()) return error("empty record (expected \"NAME [TTL] [IN] TYPE DATA\")");
  if (!append_name(owner, zone, &r.owner)) return error("'" + std::string(owner) + "' is not a valid name");
  if (!dns::name_in_zone(r.owner.data(), r.owner.size(), zone.wire.data(), zone.wire.size())) {
    return error("'" + std::string(owner) + "' is not in zone '" + zone.name + "'");
  }
  std::string_view token = next_token(&s);
  uint64_t ttl = 0;
  if (!token.empty() && token[0] >= '0' && token[0] <= '9') {
    if (!parse_uint(token, 0x7fffffff, &ttl)) return error("'" + std::string(token) + "' is not a TTL (seconds)");
    r.ttl = static_cast<uint32_t>(ttl);
    token = next_token(&s);
  }
  if (token == "IN") token = next_token(&s);
  static constexpr struct {
    std::string_view name;
    uint16_t type;
  } kTypes[] = {{"A", dns::kTypeA},     {"AAAA", dns::kTypeAAAA}, {"CNAME", dns::kTypeCNAME},
                {"NS", dns::kTypeNS},   {"PTR", dns::kTypePTR},   {"MX", dns::kTypeMX},
                {"SRV", kTypeSRV},      {"TXT", dns::kTypeTXT}};
  for (const auto& t : kTypes) {
    if (token == t.name) r.type = t.type;
  }
  if (token.empty()) return error("missing record type (expected \"NAME [TTL] [IN] TYPE DATA\")");
  if (r.type == 0) {
    return error("unsupported record type '" + std::string(token) +
                 "' (A, AAAA, CNAME, NS, PTR, MX, SRV and TXT; class IN only)");
  }
  const std::string type = std::string(token);
  if (r.type == dns::kTypeTXT) {
    auto rdata = txt_rdata(s);
    if (auto* e = std::get_if<UnitError>(&rdata)) return *e;
    r.rdata = std::move(std::get<std::vector<uint8_t>>(rdata));
    return r;
  }
  std::vector<std::string_view> fields;
  for (std::string_view f = next_token(&s); !f.empty(); f = next_token(&s)) fields.push_back(f);
  auto wrong_count = [&](const char* expected) { return error(type + " data must be " + expected); };
  switch (r.type) {
    case dns::kTypeA: {
      if (fields.size() != 1) return wrong_count("one IPv4 address");
      const auto a = net::parse_ipv4(fields[0]);
      if (!a) return error("'" + std::string(fields[0]) + "' is not an IPv4 address");
      for (int shift = 24; shift >= 0; shift -= 8) r.rdata.push_back(static_cast<uint8_t>(*a >> shift));
      break;
    }
    case dns::kTypeAAAA: {
      if (fields.size() != 1) return wrong_count("one IPv6 address");
      const auto a = net::parse_ipv6(fields[0]);
      if (!a) return error("'" + std::string(fields[0]) + "' is not an IPv6 address");
      r.rdata.assign(a->b, a->b + 16);
      break;
    }
    case dns::kTypeCNAME:
    case dns::kTypeNS:
    case dns::kTypePTR:
      if (fields.size() != 1) return wrong_count("one name");
      if (!append_name(fields[0], zone, &r.rdata)) return error("'" + std::string(fields[0]) + "' is not a valid name");
      break;
    case dns::kTypeMX: {
      uint64_t pref = 0;
      if (fields.size() != 2) return wrong_count("a preference and a name");
      if (!parse_uint(fields[0], 65535, &pref)) return error("'" + std::string(fields[0]) + "' is not a preference");
      append_u16(&r.rdata, pref);
      if (!append_name(fields[1], zone, &r.rdata)) return error("'" + std::string(fields[1]) + "' is not a valid name");
      break;
    }
    case kTypeSRV: {
      if (fields.size() != 4) return wrong_count("priority, weight, port and target");
      for (size_t i = 0; i < 3; ++i) {
        uint64_t v = 0;
        if (!parse_uint(fields[i], 65535, &v)) return error("'" + std::string(fields[i]) + "' is not a 16-bit number");
        append_u16(&r.rdata, v);
      }
      if (!append_name(fields[3], zone, &r.rdata)) return error("'" + std::string(fields[3]) + "' is not a valid name");
      break;
    }
    default:
      break;
  }
  return r;
}

}  // namespace dotgate::config
