#include "config/config.h"

namespace dotgate::config {

const char* to_string(Transport t) noexcept {
  switch (t) {
    case Transport::kUdp: return "udp";
    case Transport::kTcp: return "tcp";
    case Transport::kDot: return "dot";
  }
  return "?";
}

const char* to_string(DenyAction a) noexcept { return a == DenyAction::kDrop ? "drop" : "refuse"; }

const char* to_string(TlsVersion v) noexcept { return v == TlsVersion::k1_2 ? "1.2" : "1.3"; }

const char* to_string(LbPolicy p) noexcept {
  switch (p) {
    case LbPolicy::kRoundRobin: return "round-robin";
    case LbPolicy::kLeastOutstanding: return "least-outstanding";
    case LbPolicy::kLowestLatency: return "lowest-latency";
    case LbPolicy::kOrdered: return "ordered";
  }
  return "?";
}

const char* to_string(Privacy p) noexcept { return p == Privacy::kStrict ? "strict" : "opportunistic"; }

const char* to_string(LocalZoneType t) noexcept {
  switch (t) {
    case LocalZoneType::kStatic: return "static";
    case LocalZoneType::kTransparent: return "transparent";
    case LocalZoneType::kRefuse: return "refuse";
    case LocalZoneType::kNxdomain: return "nxdomain";
    case LocalZoneType::kDrop: return "drop";
  }
  return "?";
}

const char* to_string(LogLevel l) noexcept {
  switch (l) {
    case LogLevel::kError: return "error";
    case LogLevel::kWarning: return "warning";
    case LogLevel::kNotice: return "notice";
    case LogLevel::kInfo: return "info";
    case LogLevel::kDebug: return "debug";
  }
  return "?";
}

}  // namespace dotgate::config
