// Wire-building helpers shared by the src/dns tests. Deliberately independent of the code
// under test (no name_from_text, no builders), so the tests can check that code against it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <ostream>
#include <string_view>
#include <vector>

#include "dns/errors.h"
#include "dns/wire.h"

namespace dotgate::dns {
// Lets GoogleTest print parse errors by name.
inline void PrintTo(ParseError e, std::ostream* os) { *os << to_string(e); }
}  // namespace dotgate::dns

namespace dotgate::dns::testutil {

using Bytes = std::vector<uint8_t>;

// "www.example.com" -> 03 'www' 07 'example' 03 'com' 00. No escapes; "." is the root; a
// trailing dot is optional.
inline Bytes wire_name(std::string_view text) {
  Bytes out;
  if (text == ".") text = "";
  if (!text.empty() && text.back() == '.') text.remove_suffix(1);
  while (!text.empty()) {
    const size_t dot = text.find('.');
    const std::string_view label = text.substr(0, dot);
    out.push_back(static_cast<uint8_t>(label.size()));
    out.insert(out.end(), label.begin(), label.end());
    if (dot == std::string_view::npos) break;
    text.remove_prefix(dot + 1);
  }
  out.push_back(0);
  return out;
}

// A compression pointer to `target`.
inline Bytes pointer(size_t target) {
  return {static_cast<uint8_t>(0xc0 | (target >> 8)), static_cast<uint8_t>(target & 0xff)};
}

inline Bytes cat(std::initializer_list<Bytes> parts) {
  Bytes out;
  for (const Bytes& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

inline Bytes be32(uint32_t v) {
  return {static_cast<uint8_t>(v >> 24), static_cast<uint8_t>(v >> 16), static_cast<uint8_t>(v >> 8),
          static_cast<uint8_t>(v)};
}

// One EDNS option: code, length, data.
inline Bytes option(uint16_t code, const Bytes& data) {
  Bytes o = {static_cast<uint8_t>(code >> 8), static_cast<uint8_t>(code), static_cast<uint8_t>(data.size() >> 8),
             static_cast<uint8_t>(data.size())};
  o.insert(o.end(), data.begin(), data.end());
  return o;
}

// Builds wire messages byte by byte (fields in network order).
struct Msg {
  Bytes b;
  Msg& u8(uint8_t v) {
    b.push_back(v);
    return *this;
  }
  Msg& u16(uint16_t v) {
    b.push_back(static_cast<uint8_t>(v >> 8));
    b.push_back(static_cast<uint8_t>(v));
    return *this;
  }
  Msg& u32(uint32_t v) { return u16(static_cast<uint16_t>(v >> 16)).u16(static_cast<uint16_t>(v)); }
  Msg& raw(const Bytes& v) {
    b.insert(b.end(), v.begin(), v.end());
    return *this;
  }
  Msg& name(std::string_view text) { return raw(wire_name(text)); }
  Msg& header(uint16_t id, uint16_t flags, uint16_t qd, uint16_t an, uint16_t ns, uint16_t ar) {
    return u16(id).u16(flags).u16(qd).u16(an).u16(ns).u16(ar);
  }
  Msg& question(std::string_view qname, uint16_t type, uint16_t cls = kClassIN) {
    return name(qname).u16(type).u16(cls);
  }
  Msg& rr(const Bytes& owner, uint16_t type, uint16_t cls, uint32_t ttl, const Bytes& rdata) {
    raw(owner).u16(type).u16(cls).u32(ttl);
    return u16(static_cast<uint16_t>(rdata.size())).raw(rdata);
  }
  // An OPT record: root owner, CLASS = udp size, TTL = ext-rcode | version | flags.
  Msg& opt(uint16_t udp, uint32_t ttl, const Bytes& rdata = {}) {
    return rr(Bytes{0}, kTypeOPT, udp, ttl, rdata);
  }
  size_t size() const { return b.size(); }
};

}  // namespace dotgate::dns::testutil
