// Local data: answers the appliance gives itself, before the cache, as unbound's
// local-zone / local-data and systemd-resolved's ReadEtcHosts= do. Built once at start-up
// from [local] (config::Local: zones with their records, and a hosts file); read-only
// afterwards, so one instance may serve every worker core.
//
// How a query is decided (class IN only; other classes are never local):
//   1. The longest configured zone containing the name is found. A refuse zone answers
//      REFUSED, an nxdomain zone NXDOMAIN, a drop zone nothing, for every name in it,
//      its apex included and whatever records or hosts entries lie below.
//   2. Otherwise, if the name owns local data (zone records, hosts-file names and their
//      addresses' reverse names, with PTR records to the first 16 names of an address, a
//      static zone's apex, an empty non-terminal above records):
//      the records of the question's type (all of them for ANY); a CNAME answers every
//      type and is followed through local data (at most 8 links); no record of the type
//      is NODATA. A zone transfer (AXFR, IXFR) is REFUSED.
//   3. Otherwise a static zone answers NXDOMAIN; a transparent zone, or no zone at all,
//      leaves the name to the cache and the upstreams.
// NXDOMAIN and NODATA carry an SOA in the authority section so clients cache them (RFC
// 2308): owned by the zone's apex ("APEX. nobody.invalid. 1 3600 1200 604800 MIN"), or by
// the name itself for hosts names outside every zone; its TTL and MINIMUM are
// min([local] ttl, 3600). A static zone's apex answers SOA queries with that record.
//
// Hosts-file names act like records of a transparent zone: the name and its addresses
// are answered (and other types get NODATA, so a name the operator pinned never leaks
// upstream), names below it are forwarded. Records configured in [local.zones] take
// precedence: a hosts name that would add a type the zones already give that name (or
// any type to a CNAME) is a start-up error naming the file and line.
//
// Answers: the client's ID, RD and CD, QR, AA and RA set; the question echoed as the
// client spelled it; record owners compressed to the question (0xC00C, or a pointer to
// the zone's suffix of it); TTLs as configured; an OPT with our payload size and the
// client's DO bit when the query had EDNS. Larger than the client's limit: header and
// question with TC=1 (dns::truncate_response).
//
// The packet path allocates nothing and takes no locks: names and record bytes sit in
// flat arrays, looked up by a keyed hash of the lower-cased owner (whose entry lists the
// owner's record sets by type).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "config/config.h"
#include "dns/query.h"
#include "local/hosts_file.h"

namespace dotgate::local {

enum class Action : uint8_t {
  kNotLocal,  // go on to the cache and the upstreams
  kDrop,      // send nothing (a drop zone)
  kAnswer,    // the answer is in `out`, `len` bytes (0: `cap` too small for it)
};

struct Result {
  Action action = Action::kNotLocal;
  size_t len = 0;
};

struct LocalDataStats {
  size_t zones = 0;
  size_t owners = 0;       // names with data, empty non-terminals and static apexes
  size_t rrsets = 0;
  size_t records = 0;
  size_t memory_bytes = 0;  // tables and record bytes
};

class LocalData {
 public:
  // Builds from the zones of `local` and, if `hosts` is given, its entries (TTL local.ttl).
  // `our_udp_payload` goes into answers' OPT records; `hash_seed` must be secret and
  // random (clients choose the names looked up). Throws std::runtime_error naming every
  // conflict (a hosts name clashing with zone records, a CNAME beside other data across
  // nested zones) and every error in `hosts`.
  LocalData(const config::Local& local, const HostsFile* hosts, uint16_t our_udp_payload, uint64_t hash_seed);

  // As above, reading local.hosts_file (if set) with load_hosts(). Throws
  // std::runtime_error for an unreadable file or any error in it ("FILE:LINE: ...").
  static LocalData from_config(const config::Local& local, uint16_t our_udp_payload, uint64_t hash_seed);

  LocalData(LocalData&&) noexcept = default;
  LocalData& operator=(LocalData&&) noexcept = default;

  // Decides the query in query[0, q.msg_len), parsed by dns::parse_query into q, and for
  // kAnswer writes the response into out[0, cap). `udp_limit` is the largest answer the
  // client takes (q.udp_limit(...) for UDP; the buffer size for TCP); a larger one is
  // truncated with TC=1. `out` may be the query's own buffer (answer in place); no other
  // overlap is allowed. Never allocates.
  Result answer(const uint8_t* query, const dns::Query& q, uint8_t* out, size_t cap,
                size_t udp_limit) const noexcept;

  // True when there is nothing local: answer() always says kNotLocal.
  bool empty() const noexcept { return nodes_.empty(); }
  LocalDataStats stats() const noexcept;

 private:
  struct Node;
  struct Zone;
  struct RRset;
  struct Writer;

  static constexpr uint32_t kNone = UINT32_MAX;

  uint32_t find(const uint8_t* name, size_t len) const noexcept;  // node index or kNone
  const RRset* rrset_of(uint32_t node, uint16_t type) const noexcept;
  void write_rrset(Writer& w, const RRset& set, uint16_t owner_offset, const uint8_t* owner,
                   size_t owner_len) const noexcept;
  void write_soa(Writer& w, uint32_t zone, const dns::Query& q) const noexcept;
  size_t finish(uint8_t* out, size_t cap, size_t limit, Writer& w, const dns::Query& q) const noexcept;

  struct Node {
    uint32_t name_off = 0;     // into names_: the lower-case wire name
    uint8_t name_len = 0;
    uint32_t zone = kNone;     // the zone whose apex this is
    uint32_t first_rrset = 0;  // into rrsets_
    uint16_t rrset_count = 0;
    bool owner = false;        // has data, is an empty non-terminal or a static apex
    bool blocked = false;      // lies in a refuse / nxdomain / drop zone (never answered)
    bool has_cname = false;
  };
  struct Zone {
    config::LocalZoneType type = config::LocalZoneType::kStatic;
    uint8_t apex_len = 0;
    uint32_t soa_off = 0;      // into wire_: TYPE..RDATA of the zone's SOA
    uint16_t soa_len = 0;
  };
  struct RRset {
    uint16_t type = 0;
    uint16_t count = 0;
    uint32_t wire_off = 0;     // into wire_: each record's TYPE..RDATA, back to back
    uint32_t wire_len = 0;
  };

  uint16_t our_udp_payload_ = 1232;
  uint64_t seed_ = 0;
  std::vector<uint8_t> names_;
  std::vector<Node> nodes_;
  std::vector<Zone> zones_;
  std::vector<RRset> rrsets_;
  std::vector<uint8_t> wire_;
  std::vector<uint64_t> slots_;  // hash tag << 32 | node index + 1; 0 empty
  size_t slot_mask_ = 0;
  uint64_t zone_depths_[2] = {0, 0};  // bit n: some zone's apex has n labels
  uint32_t hosts_soa_off_ = 0;         // TYPE..RDATA of the SOA for names outside zones
  uint16_t hosts_soa_len_ = 0;
  size_t record_count_ = 0;
};

}  // namespace dotgate::local
