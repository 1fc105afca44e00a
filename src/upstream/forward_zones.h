// Which pool a name goes to: forward zones as unbound's forward-zone and systemd-resolved's
// routing domains have them. The longest zone containing the name wins; the root zone ".",
// when present, catches the rest. A handful of zones per appliance: a linear scan over
// zones sorted longest first stops at the first hit.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "dns/wire.h"

namespace dotgate::upstream {

class ForwardZones {
 public:
  static constexpr uint32_t kNoPool = UINT32_MAX;

  // Adds zone (presentation text) -> pool. False if the text is not a name or the zone is
  // already routed (a config error to report with its line).
  bool add(std::string_view zone, uint32_t pool);
  // The pool for an uncompressed wire name (any case); kNoPool if no zone contains it.
  uint32_t route(const uint8_t* name, size_t name_len) const noexcept;
  size_t size() const noexcept { return zones_.size(); }

 private:
  struct Zone {
    uint8_t name[dns::kMaxNameWire];
    uint8_t len = 0;
    uint8_t labels = 0;
    uint32_t pool = kNoPool;
  };
  std::vector<Zone> zones_;  // longest (most labels) first
};

}  // namespace dotgate::upstream
