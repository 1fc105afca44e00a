#include "local/local_data.h"

#include <algorithm>
#include <cstring>
#include <map>
#include <set>
#include <stdexcept>
#include <string>

#include "config/local_record.h"
#include "dns/builder.h"
#include "dns/name.h"
#include "dns/wire.h"
#include "util/hash.h"

namespace dotgate::local {

using config::LocalZoneType;
using dns::load_u16;
using dns::store_u16;
using dns::store_u32;

namespace {

using Bytes = std::vector<uint8_t>;

constexpr uint32_t kMaxSoaTtl = 3600;  // seconds; negative answers are not kept longer
constexpr unsigned kMaxCnameChain = 8;
constexpr size_t kMaxPtrPerAddress = 16;  // hosts names given as PTR records per address
constexpr size_t kRecordFixed = 10;    // TYPE, CLASS, TTL, RDLENGTH
constexpr size_t kMaxPointerTarget = 0x3fff;

void put_u16(Bytes* b, uint32_t v) {
  b->push_back(static_cast<uint8_t>(v >> 8));
  b->push_back(static_cast<uint8_t>(v));
}

void put_u32(Bytes* b, uint32_t v) {
  put_u16(b, v >> 16);
  put_u16(b, v & 0xffff);
}

// A record without its owner, as the answer path copies it: TYPE CLASS TTL RDLENGTH RDATA.
Bytes record_tail(uint16_t type, uint32_t ttl, const Bytes& rdata) {
  Bytes b;
  put_u16(&b, type);
  put_u16(&b, dns::kClassIN);
  put_u32(&b, ttl);
  put_u16(&b, static_cast<uint32_t>(rdata.size()));
  b.insert(b.end(), rdata.begin(), rdata.end());
  return b;
}

// The SOA we synthesise for negative answers: `mname` (the apex, or a pointer to the
// question name) nobody.invalid. 1 3600 1200 604800 ttl.
Bytes soa_tail(const Bytes& mname, uint32_t ttl) {
  Bytes rdata = mname;
  static constexpr uint8_t kRname[] = {6, 'n', 'o', 'b', 'o', 'd', 'y', 7, 'i', 'n', 'v', 'a', 'l', 'i', 'd', 0};
  rdata.insert(rdata.end(), std::begin(kRname), std::end(kRname));
  put_u32(&rdata, 1);       // serial
  put_u32(&rdata, 3600);    // refresh
  put_u32(&rdata, 1200);    // retry
  put_u32(&rdata, 604800);  // expire
  put_u32(&rdata, ttl);     // minimum: the negative TTL (RFC 2308 4)
  return record_tail(dns::kTypeSOA, ttl, rdata);
}

std::string text_of(const Bytes& wire) { return dns::name_to_text(wire.data(), wire.size()); }

// Appends a label of text.
void put_label(Bytes* b, std::string_view label) {
  b->push_back(static_cast<uint8_t>(label.size()));
  b->insert(b->end(), label.begin(), label.end());
}

// The reverse-lookup name of an address (RFC 1035 3.5, RFC 3596 2.5).
Bytes reverse_name(const net::IpAddr& a) {
  Bytes b;
  static constexpr char kHex[] = "0123456789abcdef";
  if (!a.v6) {
    for (int i = 0; i < 4; ++i) put_label(&b, std::to_string((a.v4 >> (8 * i)) & 0xff));
    put_label(&b, "in-addr");
  } else {
    for (int i = 15; i >= 0; --i) {
      const char lo[1] = {kHex[a.v6addr.b[i] & 0xf]};
      const char hi[1] = {kHex[a.v6addr.b[i] >> 4]};
      put_label(&b, std::string_view(lo, 1));
      put_label(&b, std::string_view(hi, 1));
    }
    put_label(&b, "ip6");
  }
  put_label(&b, "arpa");
  b.push_back(0);
  return b;
}

// Start-up form of the data, before it is flattened into the lookup arrays.
struct BuildSet {
  std::vector<Bytes> tails;  // record_tail() of each record
  std::set<Bytes> rdata;     // RDLENGTH + RDATA of each, to drop repeats
  std::string origin;        // where it was configured, for conflict messages
  bool from_zone = false;
};
struct BuildOwner {
  std::map<uint16_t, BuildSet> sets;  // by type: the answer writes them in type order
};

// Offsets of the label starts of an uncompressed wire name; returns the label count.
size_t label_starts(const uint8_t* name, size_t* starts) {
  size_t n = 0;
  for (size_t p = 0; name[p] != 0; p += 1u + name[p]) starts[n++] = p;
  return n;
}

}  // namespace

// The answer being written: a bounds-checked cursor over `out` whose failure is sticky,
// so the caller checks once at the end (and then truncates).
struct LocalData::Writer {
  uint8_t* out;
  size_t cap;
  size_t pos;
  bool fits = true;
  uint16_t answers = 0;
  uint16_t authority = 0;

  void put(const uint8_t* p, size_t n) noexcept {
    if (!fits || n > cap - pos) {
      fits = false;
      return;
    }
    std::memcpy(out + pos, p, n);
    pos += n;
  }
  void pointer(size_t target) noexcept {
    const uint8_t p[2] = {static_cast<uint8_t>(0xc0 | (target >> 8)), static_cast<uint8_t>(target)};
    put(p, 2);
  }
};

LocalData::LocalData(const config::Local& local, const HostsFile* hosts, uint16_t our_udp_payload,
                     uint64_t hash_seed)
    : our_udp_payload_(our_udp_payload), seed_(hash_seed) {
  std::vector<std::string> errors;
  if (hosts != nullptr) errors = hosts->errors;
  const uint32_t soa_ttl = std::min(local.ttl, kMaxSoaTtl);

  std::map<Bytes, uint32_t> zone_at;  // apex -> index in local.zones
  for (uint32_t i = 0; i < local.zones.size(); ++i) zone_at.emplace(local.zones[i].wire, i);
  // The longest zone containing `name` (itself included), or kNone.
  auto longest_zone = [&](const Bytes& name) -> uint32_t {
    for (size_t p = 0;; p += 1u + name[p]) {
      if (auto it = zone_at.find(Bytes(name.begin() + static_cast<ptrdiff_t>(p), name.end())); it != zone_at.end()) {
        return it->second;
      }
      if (name[p] == 0) return kNone;
    }
  };

  std::map<Bytes, BuildOwner> owners;
  auto add = [](BuildSet& set, Bytes tail) {
    // The same data twice (a hosts line repeated, nested zones both giving it): once.
    if (!set.rdata.emplace(tail.begin() + 8, tail.end()).second) return;
    set.tails.push_back(std::move(tail));
  };

  for (const config::LocalZone& z : local.zones) {
    for (const config::LocalRecord& r : z.records) {
      BuildSet& set = owners[r.owner].sets[r.type];
      if (!set.from_zone) set.origin = "zone \"" + z.name + "\"";
      set.from_zone = true;
      add(set, record_tail(r.type, r.ttl, r.rdata));
    }
    // A static zone's apex exists and answers SOA queries with the SOA we synthesise.
    if (z.type == LocalZoneType::kStatic) {
      BuildSet& set = owners[z.wire].sets[dns::kTypeSOA];
      set.origin = "zone \"" + z.name + "\"";
      set.from_zone = true;
      add(set, soa_tail(z.wire, soa_ttl));
    }
  }
  // RFC 1034 3.6.2 across zones (load_config checks it within one).
  for (const auto& [name, o] : owners) {
    auto cname = o.sets.find(dns::kTypeCNAME);
    if (cname == o.sets.end()) continue;
    if (o.sets.size() > 1 || cname->second.tails.size() > 1) {
      errors.push_back("local zones: " + text_of(name) + " has a CNAME and other data (RFC 1034 3.6.2)");
    }
  }

  if (hosts != nullptr) {
    auto add_host = [&](const HostsEntry& e, const Bytes& owner, uint16_t type, const Bytes& rdata) {
      BuildOwner& o = owners[owner];
      const std::string where = hosts->path + ":" + std::to_string(e.line) + ": " + text_of(owner);
      if (auto c = o.sets.find(dns::kTypeCNAME); c != o.sets.end()) {
        errors.push_back(where + " is a CNAME in " + c->second.origin);
        return;
      }
      if (type == 0) return;  // a name without addresses: it exists, nothing more
      BuildSet& set = o.sets[type];
      if (set.from_zone) {
        errors.push_back(where + " already has " + config::type_name(type) + " records in " + set.origin);
        return;
      }
      set.origin = "the hosts file";
      add(set, record_tail(type, local.ttl, rdata));
    };
    for (const HostsEntry& e : hosts->entries) {
      Bytes addr;
      if (e.addr.v6) {
        addr.assign(e.addr.v6addr.b, e.addr.v6addr.b + 16);
      } else {
        put_u32(&addr, e.addr.v4);
      }
      const uint16_t type = e.null_addr ? 0 : e.addr.v6 ? dns::kTypeAAAA : dns::kTypeA;
      for (const Bytes& name : e.names) add_host(e, name, type, addr);
      if (e.null_addr) continue;
      // As resolved does: the address's reverse name points at the names of the line,
      // the first kMaxPtrPerAddress of them (block lists map thousands to 127.0.0.1).
      const Bytes rev = reverse_name(e.addr);
      for (const Bytes& name : e.names) {
        auto set = owners[rev].sets.find(dns::kTypePTR);
        if (set != owners[rev].sets.end() && set->second.tails.size() >= kMaxPtrPerAddress) break;
        add_host(e, rev, dns::kTypePTR, name);
      }
    }
  }
  for (const auto& [name, o] : owners) {
    for (const auto& [type, set] : o.sets) {
      if (set.tails.size() > UINT16_MAX) {  // no message could carry them anyway
        errors.push_back(text_of(name) + " has more than 65535 " + config::type_name(type) + " records");
      }
    }
  }
  if (!errors.empty()) {
    std::string message;
    for (const std::string& m : errors) message += (message.empty() ? "" : "\n") + m;
    throw std::runtime_error(message);
  }

  // Empty non-terminals (RFC 8020): the names between a record's owner and its zone's
  // apex exist (NODATA), in static and transparent zones alike.
  std::vector<Bytes> ents;
  for (const auto& [name, o] : owners) {
    const uint32_t z = longest_zone(name);
    if (z == kNone || name == local.zones[z].wire) continue;
    const size_t apex_len = local.zones[z].wire.size();
    for (size_t p = 1u + name[0]; name.size() - p > apex_len; p += 1u + name[p]) {
      ents.emplace_back(name.begin() + static_cast<ptrdiff_t>(p), name.end());
    }
  }
  for (Bytes& e : ents) owners.try_emplace(std::move(e));

  // Flatten: one node per owner and per zone apex.
  std::map<Bytes, uint32_t> node_at;
  for (const auto& [name, o] : owners) node_at.emplace(name, 0);
  for (const config::LocalZone& z : local.zones) node_at.emplace(z.wire, 0);
  nodes_.reserve(node_at.size());
  for (auto& [name, index] : node_at) {
    index = static_cast<uint32_t>(nodes_.size());
    Node n;
    n.name_off = static_cast<uint32_t>(names_.size());
    n.name_len = static_cast<uint8_t>(name.size());
    names_.insert(names_.end(), name.begin(), name.end());
    if (auto z = zone_at.find(name); z != zone_at.end()) n.zone = z->second;
    const uint32_t enclosing = longest_zone(name);
    n.blocked = enclosing != kNone && local.zones[enclosing].type != LocalZoneType::kStatic &&
                local.zones[enclosing].type != LocalZoneType::kTransparent;
    if (auto o = owners.find(name); o != owners.end()) {
      n.owner = true;
      n.first_rrset = static_cast<uint32_t>(rrsets_.size());
      for (const auto& [type, set] : o->second.sets) {
        RRset rs;
        rs.type = type;
        rs.count = static_cast<uint16_t>(set.tails.size());
        rs.wire_off = static_cast<uint32_t>(wire_.size());
        for (const Bytes& t : set.tails) wire_.insert(wire_.end(), t.begin(), t.end());
        rs.wire_len = static_cast<uint32_t>(wire_.size() - rs.wire_off);
        rrsets_.push_back(rs);
        record_count_ += set.tails.size();
        if (type == dns::kTypeCNAME) n.has_cname = true;
      }
      n.rrset_count = static_cast<uint16_t>(rrsets_.size() - n.first_rrset);
    }
    nodes_.push_back(n);
  }

  for (const config::LocalZone& z : local.zones) {
    Zone zone;
    zone.type = z.type;
    zone.apex_len = static_cast<uint8_t>(z.wire.size());
    const Bytes soa = soa_tail(z.wire, soa_ttl);
    zone.soa_off = static_cast<uint32_t>(wire_.size());
    zone.soa_len = static_cast<uint16_t>(soa.size());
    wire_.insert(wire_.end(), soa.begin(), soa.end());
    zones_.push_back(zone);
    size_t starts[128];
    const size_t depth = label_starts(z.wire.data(), starts);
    zone_depths_[depth / 64] |= uint64_t{1} << (depth % 64);
  }
  // Names from the hosts file outside every zone: the SOA is the name's own, its MNAME a
  // pointer to the question name (which is that name).
  const Bytes hosts_soa = soa_tail(Bytes{0xc0, dns::kHeaderSize}, soa_ttl);
  hosts_soa_off_ = static_cast<uint32_t>(wire_.size());
  hosts_soa_len_ = static_cast<uint16_t>(hosts_soa.size());
  wire_.insert(wire_.end(), hosts_soa.begin(), hosts_soa.end());

  if (nodes_.empty()) return;
  size_t slots = 8;
  while (slots < 2 * nodes_.size()) slots <<= 1;  // load at most 0.5: short probes
  slots_.assign(slots, 0);
  slot_mask_ = slots - 1;
  for (uint32_t i = 0; i < nodes_.size(); ++i) {
    const uint64_t h = util::hash_bytes(&names_[nodes_[i].name_off], nodes_[i].name_len, seed_);
    size_t s = h & slot_mask_;
    while (slots_[s] != 0) s = (s + 1) & slot_mask_;
    slots_[s] = (h & 0xffffffff00000000ULL) | (i + 1u);
  }
}

LocalData LocalData::from_config(const config::Local& local, uint16_t our_udp_payload, uint64_t hash_seed) {
  if (local.hosts_file.empty()) return LocalData(local, nullptr, our_udp_payload, hash_seed);
  const HostsFile hosts = load_hosts(local.hosts_file);
  return LocalData(local, &hosts, our_udp_payload, hash_seed);
}

uint32_t LocalData::find(const uint8_t* name, size_t len) const noexcept {
  const uint64_t h = util::hash_bytes(name, len, seed_);
  const uint64_t tag = h & 0xffffffff00000000ULL;
  for (size_t s = h & slot_mask_;; s = (s + 1) & slot_mask_) {
    const uint64_t v = slots_[s];
    if (v == 0) return kNone;
    if ((v & 0xffffffff00000000ULL) != tag) continue;
    const uint32_t i = static_cast<uint32_t>(v) - 1;
    const Node& n = nodes_[i];
    if (n.name_len == len && std::memcmp(&names_[n.name_off], name, len) == 0) return i;
  }
}

const LocalData::RRset* LocalData::rrset_of(uint32_t node, uint16_t type) const noexcept {
  const Node& n = nodes_[node];
  for (uint32_t i = n.first_rrset; i < n.first_rrset + n.rrset_count; ++i) {
    if (rrsets_[i].type == type) return &rrsets_[i];
  }
  return nullptr;
}

// Writes every record of `set` into the answer section, owned by a pointer to
// `owner_offset`, or by the name owner[0, owner_len) spelled out when that is 0.
void LocalData::write_rrset(Writer& w, const RRset& set, uint16_t owner_offset, const uint8_t* owner,
                            size_t owner_len) const noexcept {
  const uint8_t* p = &wire_[set.wire_off];
  for (uint16_t i = 0; i < set.count; ++i) {
    const size_t tail = kRecordFixed + load_u16(p + 8);
    if (owner_offset != 0) {
      w.pointer(owner_offset);
    } else {
      w.put(owner, owner_len);
    }
    w.put(p, tail);
    p += tail;
    ++w.answers;
  }
}

// The zone's SOA in the authority section, owned by the zone's suffix of the question name
// (a pointer into it), or by the question name itself for names outside every zone.
void LocalData::write_soa(Writer& w, uint32_t zone, const dns::Query& q) const noexcept {
  if (zone == kNone) {
    w.pointer(dns::kHeaderSize);
    w.put(&wire_[hosts_soa_off_], hosts_soa_len_);
  } else {
    const Zone& z = zones_[zone];
    if (z.apex_len == 1) {
      const uint8_t root = 0;
      w.put(&root, 1);
    } else {
      w.pointer(dns::kHeaderSize + q.qname_len - z.apex_len);
    }
    w.put(&wire_[z.soa_off], z.soa_len);
  }
  ++w.authority;
}

// Sets the counts, appends the OPT, and truncates what does not fit the client's limit.
size_t LocalData::finish(uint8_t* out, size_t cap, size_t limit, Writer& w, const dns::Query& q) const noexcept {
  dns::EdnsParams edns;
  edns.udp_size = our_udp_payload_;
  edns.do_bit = q.do_bit;
  size_t len = 0;
  if (w.fits) {
    store_u16(out + dns::kOffAncount, w.answers);
    store_u16(out + dns::kOffNscount, w.authority);
    len = q.has_edns ? dns::append_opt(out, w.pos, cap, edns) : w.pos;
  }
  if (len != 0 && len <= limit) return len;
  // Too large for this client: header and question with TC=1 (RFC 1035 4.2.1).
  return dns::truncate_response(out, cap, q.question_end, q.has_edns ? &edns : nullptr);
}

Result LocalData::answer(const uint8_t* query, const dns::Query& q, uint8_t* out, size_t cap,
                         size_t udp_limit) const noexcept {
  if (nodes_.empty() || q.qclass != dns::kClassIN || q.question_end == 0) return {};
  const uint8_t* name = q.key.name;  // lower-cased by parse_query
  const size_t len = q.key.name_len;
  const uint32_t node = find(name, len);

  // The longest zone containing the name: the name itself, then its parents, probing only
  // suffixes as deep as some zone's apex.
  uint32_t zone = node != kNone ? nodes_[node].zone : kNone;
  if (zone == kNone) {
    size_t starts[128];
    const size_t labels = label_starts(name, starts);
    for (size_t i = 1; i <= labels; ++i) {
      const size_t depth = labels - i;
      if (!((zone_depths_[depth / 64] >> (depth % 64)) & 1)) continue;
      const size_t off = i < labels ? starts[i] : len - 1;
      const uint32_t n = find(name + off, len - off);
      if (n != kNone && nodes_[n].zone != kNone) {
        zone = nodes_[n].zone;
        break;
      }
    }
  }

  const LocalZoneType type = zone != kNone ? zones_[zone].type : LocalZoneType::kTransparent;
  if (type == LocalZoneType::kDrop) return {Action::kDrop, 0};
  if (type == LocalZoneType::kRefuse) {
    return {Action::kAnswer, dns::build_error_response(query, q, dns::kRefused, out, cap, our_udp_payload_)};
  }
  const bool owned = node != kNone && nodes_[node].owner && type != LocalZoneType::kNxdomain;
  if (!owned && type == LocalZoneType::kTransparent) return {};
  if (owned && (q.qtype == dns::kTypeAXFR || q.qtype == dns::kTypeIXFR)) {
    return {Action::kAnswer, dns::build_error_response(query, q, dns::kRefused, out, cap, our_udp_payload_)};
  }

  // Header and question: the client's ID, RD, CD and spelling of the name.
  if (q.question_end + (q.has_edns ? 11u : 0u) > cap) return {Action::kAnswer, 0};
  if (out != query) std::memmove(out + dns::kHeaderSize, query + dns::kHeaderSize, q.question_end - dns::kHeaderSize);
  const uint16_t rcode = owned ? dns::kNoError : dns::kNxDomain;
  store_u16(out + dns::kOffId, q.id);
  store_u16(out + dns::kOffFlags, static_cast<uint16_t>(dns::kFlagQR | dns::kFlagAA | dns::kFlagRA |
                                                        (q.flags & (dns::kFlagRD | dns::kFlagCD)) | rcode));
  store_u16(out + dns::kOffQdcount, 1);
  store_u16(out + dns::kOffAncount, 0);
  store_u16(out + dns::kOffNscount, 0);
  store_u16(out + dns::kOffArcount, 0);
  Writer w{out, cap, q.question_end};
  const size_t limit = udp_limit < cap ? udp_limit : cap;

  if (!owned) {  // NXDOMAIN: a name below a static or nxdomain zone
    write_soa(w, zone, q);
    return {Action::kAnswer, finish(out, cap, limit, w, q)};
  }

  uint32_t at = node;
  uint16_t owner_offset = dns::kHeaderSize;  // where the current owner's name is spelled
  for (unsigned hop = 0;; ++hop) {
    const Node& n = nodes_[at];
    if (n.has_cname && q.qtype != dns::kTypeCNAME) {
      // RFC 1034 3.6.2: the CNAME answers every type; follow it while the data is ours.
      const RRset& cname = *rrset_of(at, dns::kTypeCNAME);
      write_rrset(w, cname, owner_offset, &names_[n.name_off], n.name_len);
      const size_t target_at = w.pos - load_u16(&wire_[cname.wire_off + 8]);
      const uint8_t* target = &wire_[cname.wire_off + kRecordFixed];
      const uint32_t next = find(target, load_u16(&wire_[cname.wire_off + 8]));
      if (hop + 1 == kMaxCnameChain || next == kNone || !nodes_[next].owner || nodes_[next].blocked) break;
      owner_offset = target_at <= kMaxPointerTarget && w.fits ? static_cast<uint16_t>(target_at) : 0;
      at = next;
      continue;
    }
    const uint16_t answers_before = w.answers;
    if (q.qtype == dns::kTypeANY) {
      for (uint32_t i = n.first_rrset; i < n.first_rrset + n.rrset_count; ++i) {
        write_rrset(w, rrsets_[i], owner_offset, &names_[n.name_off], n.name_len);
      }
    } else if (const RRset* set = rrset_of(at, q.qtype)) {
      write_rrset(w, *set, owner_offset, &names_[n.name_off], n.name_len);
    }
    // NODATA (RFC 2308 2.2): no records of the type at the name the client asked for.
    if (hop == 0 && w.answers == answers_before) write_soa(w, zone, q);
    break;
  }
  return {Action::kAnswer, finish(out, cap, limit, w, q)};
}

LocalDataStats LocalData::stats() const noexcept {
  LocalDataStats s;
  s.zones = zones_.size();
  for (const Node& n : nodes_) s.owners += n.owner;
  s.rrsets = rrsets_.size();
  s.records = record_count_;
  s.memory_bytes = names_.size() + nodes_.size() * sizeof(Node) + zones_.size() * sizeof(Zone) +
                   rrsets_.size() * sizeof(RRset) + wire_.size() + slots_.size() * sizeof(uint64_t);
  return s;
}

}  // namespace dotgate::local
