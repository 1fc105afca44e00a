#include "upstream/forward_zones.h"

#include <algorithm>

#include "dns/name.h"

namespace dotgate::upstream {

namespace {

uint8_t label_count(const uint8_t* name, size_t len) {
  uint8_t n = 0;
  for (size_t i = 0; i < len && name[i] != 0; i += name[i] + 1u) ++n;
  return n;
}

}  // namespace

bool ForwardZones::add(std::string_view zone, uint32_t pool) {
  Zone z;
  size_t len = 0;
  if (!dns::name_from_text(zone, z.name, &len)) return false;
  z.len = static_cast<uint8_t>(len);
  z.labels = label_count(z.name, len);
  z.pool = pool;
  for (const Zone& other : zones_) {
    if (dns::name_equal_ci(other.name, other.len, z.name, z.len)) return false;
  }
  // Sorted by label count, most first: a name's first containing zone is its longest.
  const auto at = std::find_if(zones_.begin(), zones_.end(), [&](const Zone& o) { return o.labels < z.labels; });
  zones_.insert(at, z);
  return true;
}

uint32_t ForwardZones::route(const uint8_t* name, size_t name_len) const noexcept {
  for (const Zone& z : zones_) {
    if (dns::name_in_zone(name, name_len, z.name, z.len)) return z.pool;
  }
  return kNoPool;
}

}  // namespace dotgate::upstream
