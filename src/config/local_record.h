// Records of static local zones, written as operators write unbound's local-data:
//   "printer.corp.example. 300 IN A 10.0.0.5"
//   "printer.corp.example AAAA fd00::5"            TTL and class optional
//   "@ MX 10 mail.corp.example."                   "@" is the zone's apex
//   "_ldap._tcp.corp.example. SRV 0 5 389 dc1.corp.example."
//   "corp.example. TXT \"v=spf1 -all\" \"second string\""
// Names are absolute, the trailing dot optional (as in unbound's local-data). Types:
// A, AAAA, CNAME, NS, PTR, MX, SRV, TXT; class IN only.
#pragma once

#include <cstdint>
#include <string_view>
#include <variant>

#include "config/config.h"
#include "config/units.h"

namespace dotgate::config {

// Parses one record of `zone` (zone.wire must be set). The owner must be the zone's apex
// or lie below it. Records without a TTL get `default_ttl` (seconds).
std::variant<LocalRecord, UnitError> parse_local_record(std::string_view text, const LocalZone& zone,
                                                        uint32_t default_ttl);

// "A", "AAAA", ... for the supported types; "TYPE<n>" otherwise.
std::string type_name(uint16_t type);

}  // namespace dotgate::config
