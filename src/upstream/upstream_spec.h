// How operators name an upstream resolver, in the forms they already write:
//   1.1.1.1                      systemd-resolved DNS=, port 853 implied
//   1.1.1.1#cloudflare-dns.com   with the name that authenticates its certificate (RFC 8310)
//   1.1.1.1:853#name             a port
//   1.1.1.1@853#name             unbound's forward-addr form
//   [2606:4700:4700::1111]:853#name   IPv6 with a port needs brackets
//   2606:4700:4700::1111#name    IPv6 without a port
// Upstreams are always addresses, never names to resolve (that would need DNS to reach DNS).
// SPKI pins are base64 SHA-256 digests of the SubjectPublicKeyInfo, as stubby
// (tls_pubkey_pinset) and knot-resolver (pin_sha256) write them.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <variant>

#include "net/addr_text.h"

namespace dotgate::upstream {

inline constexpr uint16_t kDotPort = 853;

struct UpstreamSpec {
  net::IpAddr address;
  uint16_t port = kDotPort;
  std::string auth_name;  // presentation form without the trailing dot; empty: none given
};

// A parse failure says what is wrong, for "file:line: key: message" config errors.
struct SpecError {
  std::string message;
};

std::variant<UpstreamSpec, SpecError> parse_upstream(std::string_view text);
std::string format_upstream(const UpstreamSpec& u);  // the canonical form, e.g. for status

using SpkiPin = std::array<uint8_t, 32>;
std::variant<SpkiPin, SpecError> parse_spki_pin(std::string_view base64);

}  // namespace dotgate::upstream
