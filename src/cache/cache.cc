#include "cache/cache.h"

#include <algorithm>
#include <bit>
#include <cstdlib>
#include <cstring>
#include <new>

#include "dns/builder.h"
#include "dns/name.h"

namespace dotgate::cache {

using namespace dotgate::dns;

// Arena layout of one entry: this header, the wire bytes, then ttl_count u16 TTL offsets,
// rounded up to 4 bytes. 20 bytes of header is most of the per-entry overhead.
struct Cache::Record {
  uint8_t state;
  uint8_t ttl_count;
  uint8_t key_bits;
  uint8_t hits;  // saturating
  uint16_t wire_len;
  uint16_t flags;  // kNeverStale
  uint32_t hash_lo;   // low half of the key hash: gives the home slot
  uint32_t inserted;  // seconds
  uint32_t expires;   // seconds

  uint8_t* wire() noexcept { return reinterpret_cast<uint8_t*>(this + 1); }
  const uint8_t* wire() const noexcept { return reinterpret_cast<const uint8_t*>(this + 1); }
  uint16_t ttl_offset(size_t i) const noexcept {
    uint16_t v;
    std::memcpy(&v, wire() + wire_len + 2 * i, 2);
    return v;
  }
};

namespace {

static_assert(sizeof(uint32_t) * 3 + 8 == 20);
constexpr size_t kHeader = 20;
constexpr size_t kAlign = 4;
constexpr unsigned kMaxReinsertsPerInsert = 8;

enum : uint8_t { kDead = 0, kLive = 1, kReferenced = 2, kPrefetched = 4, kPadding = 8 };
// Record::flags. A cached SERVFAIL only protects the upstream for servfail_ttl; serving it
// stale afterwards would turn a passing failure into a day of errors (RFC 2308 7.1).
constexpr uint16_t kNeverStale = 1;

size_t record_size(size_t wire_len, size_t ttl_count) {
  return (kHeader + wire_len + 2 * ttl_count + kAlign - 1) & ~(kAlign - 1);
}

uint32_t slot_tag(uint64_t hash) { return static_cast<uint32_t>(hash >> 32); }

}  // namespace

Cache::Cache(const CacheConfig& config, uint64_t hash_seed) : config_(config), seed_(hash_seed) {
  static_assert(sizeof(Record) == kHeader);
  size_t memory = config.memory_bytes < (size_t{64} << 10) ? (size_t{64} << 10) : config.memory_bytes;
  size_t slots = config.index_slots;
  if (slots == 0) {
    slots = std::bit_ceil(memory / 96);
    while (slots * 8 > memory / 4) slots /= 2;
  } else {
    slots = std::bit_ceil(slots);
  }
  if (slots < 64) slots = 64;
  slot_count_ = slots;
  slot_mask_ = slots - 1;
  max_entries_ = slots * 4 / 5;  // keep linear probing short
  size_t arena = memory > slots * 8 ? memory - slots * 8 : 0;
  arena &= ~size_t{63};
  if (arena < (size_t{32} << 10)) arena = size_t{32} << 10;
  if (arena > (size_t{16} << 30) - 64) arena = (size_t{16} << 30) - 64;  // u32 offsets in units of 4
  arena_size_ = arena;
  slot_memory_ = util::HugeBuffer(slots * 8);
  arena_memory_ = util::HugeBuffer(arena);
  slots_ = reinterpret_cast<uint64_t*>(slot_memory_.data());
  arena_ = arena_memory_.data();
}

Cache::~Cache() = default;

Cache::Record* Cache::record_at(uint32_t slot_value) const noexcept {
  return reinterpret_cast<Record*>(arena_ + size_t{slot_value - 1} * kAlign);
}

bool Cache::matches(const Record* rec, const CacheKey& key) const noexcept {
  if (rec->hash_lo != static_cast<uint32_t>(key.hash) || rec->key_bits != key.bits) return false;
  const uint8_t* w = rec->wire();
  const size_t qend = kHeaderSize + key.name_len;
  if (size_t{rec->wire_len} < qend + 4) return false;
  return std::memcmp(w + kHeaderSize, key.name, key.name_len) == 0 && load_u16(w + qend) == key.qtype &&
         load_u16(w + qend + 2) == key.qclass;
}

size_t Cache::find_slot(const CacheKey& key) const noexcept {
  const uint32_t tag = slot_tag(key.hash);
  for (size_t i = key.hash & slot_mask_;; i = (i + 1) & slot_mask_) {
    const uint64_t v = slots_[i];
    if (v == 0) return SIZE_MAX;
    if (static_cast<uint32_t>(v >> 32) == tag && matches(record_at(static_cast<uint32_t>(v)), key)) return i;
  }
}

size_t Cache::slot_of(const Record* rec) const noexcept {
  const uint32_t want = static_cast<uint32_t>((reinterpret_cast<const uint8_t*>(rec) - arena_) / kAlign + 1);
  for (size_t i = rec->hash_lo & slot_mask_;; i = (i + 1) & slot_mask_) {
    if (static_cast<uint32_t>(slots_[i]) == want) return i;
  }
}

void Cache::remove_slot(size_t i) noexcept {
  // Backward-shift deletion keeps every probe chain unbroken without tombstones.
  slots_[i] = 0;
  for (size_t j = (i + 1) & slot_mask_;; j = (j + 1) & slot_mask_) {
    const uint64_t v = slots_[j];
    if (v == 0) return;
    const size_t home = record_at(static_cast<uint32_t>(v))->hash_lo & slot_mask_;
    if (((j - home) & slot_mask_) >= ((j - i) & slot_mask_)) {
      slots_[i] = v;
      slots_[j] = 0;
      i = j;
    }
  }
}

void Cache::kill(Record* rec) noexcept {
  remove_slot(slot_of(rec));
  rec->state = kDead;
  --stats_.entries;
  stats_.stored_wire_bytes -= rec->wire_len;
}

uint64_t Cache::stale_until(const Record* rec) const noexcept {
  return uint64_t{rec->expires} + ((rec->flags & kNeverStale) ? 0 : config_.stale_window);
}

size_t Cache::pad_before(size_t size) const noexcept {
  const size_t phys = tail_ % arena_size_;
  return phys + size > arena_size_ ? arena_size_ - phys : 0;
}

void Cache::advance_head(uint32_t now) noexcept {
  const size_t phys = head_ % arena_size_;
  Record* rec = reinterpret_cast<Record*>(arena_ + phys);
  if (rec->state == kPadding) {
    head_ += arena_size_ - phys;
    return;
  }
  const size_t size = record_size(rec->wire_len, rec->ttl_count);
  if (rec->state & kLive) {
    const bool expired = uint64_t{now} >= stale_until(rec);
    if (!expired && (rec->state & kReferenced) && reinserts_left_ > 0) {
      // The record's own bytes are freed by the move, so it only needs the padding to fit:
      // requiring `size` free bytes on top would make a second chance impossible exactly
      // when the arena is full (equal-sized records were always evicted, never reinserted).
      // The copy may then overlap the source (or be the source itself, when the arena is
      // exactly full): memmove, and the source is not touched afterwards; it lies behind
      // the new head.
      const size_t pad = pad_before(size);
      if (tail_ - head_ + pad <= arena_size_) {
        --reinserts_left_;
        const size_t slot = slot_of(rec);
        if (pad != 0) {
          arena_[tail_ % arena_size_] = kPadding;
          tail_ += pad;
        }
        const size_t dst = tail_ % arena_size_;
        std::memmove(arena_ + dst, rec, size);
        tail_ += size;
        reinterpret_cast<Record*>(arena_ + dst)->state &= static_cast<uint8_t>(~kReferenced);
        slots_[slot] = (slots_[slot] & 0xffffffff00000000ULL) | (dst / kAlign + 1);
        head_ += size;
        ++stats_.reinserted;
        return;
      }
    }
    kill(rec);
    ++(expired ? stats_.expired : stats_.evicted);
  }
  head_ += size;
}

uint32_t Cache::reserve(size_t size, uint32_t now) noexcept {
  for (;;) {
    const size_t pad = pad_before(size);
    if (tail_ - head_ + pad + size <= arena_size_ && stats_.entries < max_entries_) break;
    if (tail_ == head_) {
      head_ = tail_ = 0;
      continue;
    }
    advance_head(now);
  }
  const size_t pad = pad_before(size);
  if (pad != 0) {
    arena_[tail_ % arena_size_] = kPadding;
    tail_ += pad;
  }
  const size_t off = tail_ % arena_size_;
  tail_ += size;
  return static_cast<uint32_t>(off / kAlign);
}

StoreResult Cache::insert(const CacheKey& key, const uint8_t* msg, size_t len, const Response& r,
                          const uint16_t* ttl_offsets, uint32_t now) noexcept {
  StoreResult verdict = StoreResult::kStored;
  uint32_t ttl = 0;
  uint32_t rr_min = 0;
  uint32_t rr_max = 0;
  // NODATA includes a CNAME chain that ends without the asked-for type (RFC 2308 2.2).
  const bool positive = r.rcode == kNoError && r.answer_has_qtype;
  const bool negative = r.rcode == kNxDomain || (r.rcode == kNoError && !r.answer_has_qtype);
  if (r.flags & kFlagTC) {
    verdict = StoreResult::kTruncated;
  } else if (r.qdcount != 1 || r.qtype != key.qtype || r.qclass != key.qclass ||
             r.qname_len != key.name_len || !name_equal_ci(msg + kHeaderSize, r.qname_len, key.name, key.name_len)) {
    verdict = StoreResult::kQuestionMismatch;
  } else if (r.ttl_overflow || r.ttl_count > 255) {
    verdict = StoreResult::kTooManyRecords;
  } else if (r.has_edns && size_t{r.opt_offset} + r.opt_length != len) {
    verdict = StoreResult::kOptNotLast;
  } else if (r.rcode == kServFail) {
    if (config_.servfail_ttl == 0) verdict = StoreResult::kRcodeNotCached;
    ttl = rr_max = config_.servfail_ttl;
  } else if (positive) {
    rr_min = config_.min_ttl;
    rr_max = config_.max_ttl;
    ttl = r.min_ttl == UINT32_MAX ? 0 : r.min_ttl;
    if (ttl < rr_min) ttl = rr_min;
    if (ttl > rr_max) ttl = rr_max;
  } else if (negative) {
    // RFC 2308 5: the SOA bounds it, and so does every other record served with it (a
    // CNAME in front of the NXDOMAIN must not outlive its own TTL).
    if (!r.has_soa) verdict = StoreResult::kNegativeNoSoa;
    ttl = std::min({r.negative_ttl, config_.negative_max_ttl, r.min_ttl});
    rr_max = ttl;
  } else {
    verdict = StoreResult::kRcodeNotCached;
  }
  if (verdict == StoreResult::kStored && ttl == 0) verdict = StoreResult::kZeroTtl;
  const size_t wire_len = r.has_edns ? r.opt_offset : len;
  const size_t size = record_size(wire_len, r.ttl_count);
  if (verdict == StoreResult::kStored && size > arena_size_ / 4) verdict = StoreResult::kTooLarge;
  if (verdict != StoreResult::kStored) {
    ++stats_.not_stored;
    return verdict;
  }

  const size_t existing = find_slot(key);
  if (existing != SIZE_MAX) {
    kill(record_at(static_cast<uint32_t>(slots_[existing])));
    ++stats_.replaced;
  }
  reinserts_left_ = kMaxReinsertsPerInsert;
  const uint32_t unit = reserve(size, now);
  Record* rec = reinterpret_cast<Record*>(arena_ + size_t{unit} * kAlign);
  rec->state = kLive;
  rec->ttl_count = static_cast<uint8_t>(r.ttl_count);
  rec->key_bits = key.bits;
  rec->hits = 0;
  rec->wire_len = static_cast<uint16_t>(wire_len);
  rec->flags = r.rcode == kServFail ? kNeverStale : 0;
  rec->hash_lo = static_cast<uint32_t>(key.hash);
  rec->inserted = now;
  rec->expires = now + ttl;
  uint8_t* w = rec->wire();
  std::memcpy(w, msg, wire_len);
  if (r.has_edns) store_u16(w + kOffArcount, static_cast<uint16_t>(load_u16(w + kOffArcount) - 1));
  set_id(w, 0);
  std::memcpy(w + kHeaderSize, key.name, key.name_len);  // the key is already lower-case
  clamp_ttls(w, ttl_offsets, r.ttl_count, rr_min, rr_max);
  std::memcpy(w + wire_len, ttl_offsets, 2 * size_t{r.ttl_count});

  size_t i = key.hash & slot_mask_;
  while (slots_[i] != 0) i = (i + 1) & slot_mask_;
  slots_[i] = (uint64_t{slot_tag(key.hash)} << 32) | (uint64_t{unit} + 1);
  ++stats_.entries;
  ++stats_.inserts;
  stats_.stored_wire_bytes += wire_len;
  return StoreResult::kStored;
}

CacheHit Cache::classify(Record* rec, uint32_t now) noexcept {
  CacheHit hit;
  if (now < rec->expires) {
    hit.status = LookupStatus::kFresh;
    hit.record = rec;
    rec->state |= kReferenced;
    if (rec->hits != 255) ++rec->hits;
    if (config_.prefetch_percent != 0 && !(rec->state & kPrefetched) && rec->hits >= config_.prefetch_min_hits) {
      const uint64_t total = rec->expires - rec->inserted;
      const uint64_t remaining = rec->expires - now;
      if (remaining * 100 <= total * config_.prefetch_percent) {
        rec->state |= kPrefetched;
        hit.prefetch = true;
        ++stats_.prefetch_signals;
      }
    }
    ++stats_.lookups_fresh;
    return hit;
  }
  if (uint64_t{now} < stale_until(rec)) {
    hit.status = LookupStatus::kStale;
    hit.record = rec;
    rec->state |= kReferenced;
    ++stats_.lookups_stale;
    return hit;
  }
  kill(rec);
  ++stats_.expired;
  ++stats_.lookups_miss;
  return hit;
}

CacheHit Cache::lookup(const CacheKey& key, uint32_t now) noexcept {
  const size_t slot = find_slot(key);
  if (slot == SIZE_MAX) {
    ++stats_.lookups_miss;
    return CacheHit{};
  }
  return classify(record_at(static_cast<uint32_t>(slots_[slot])), now);
}

void Cache::lookup_batch(const CacheKey* const* keys, size_t n, uint32_t now, CacheHit* out) noexcept {
  // Three passes so the index line and then the record of each key are in flight while
  // the others are worked on: a lone lookup at a million entries waits on two DRAM misses.
  constexpr size_t kMaxBatch = 64;
  size_t candidate[kMaxBatch];
  for (size_t base = 0; base < n; base += kMaxBatch) {
    const size_t m = n - base < kMaxBatch ? n - base : kMaxBatch;
    const CacheKey* const* k = keys + base;
    for (size_t i = 0; i < m; ++i) __builtin_prefetch(&slots_[k[i]->hash & slot_mask_]);
    for (size_t i = 0; i < m; ++i) {
      // The first slot with the key's tag is nearly always the key's own.
      const uint32_t tag = slot_tag(k[i]->hash);
      size_t s = k[i]->hash & slot_mask_;
      for (;; s = (s + 1) & slot_mask_) {
        const uint64_t v = slots_[s];
        if (v == 0) break;
        if (static_cast<uint32_t>(v >> 32) == tag) {
          // The header, question and first records: what matching and answering read.
          const uint8_t* rec = reinterpret_cast<const uint8_t*>(record_at(static_cast<uint32_t>(v)));
          __builtin_prefetch(rec);
          __builtin_prefetch(rec + 64);
          __builtin_prefetch(rec + 128);
          break;
        }
      }
      candidate[i] = s;
    }
    for (size_t i = 0; i < m; ++i) {
      // Earlier keys of this batch may have dropped expired records, and deletion shifts
      // slots: trust the candidate only if it still holds this key, else probe afresh.
      const uint64_t v = slots_[candidate[i]];
      if (v != 0 && matches(record_at(static_cast<uint32_t>(v)), *k[i])) {
        out[base + i] = classify(record_at(static_cast<uint32_t>(v)), now);
      } else {
        out[base + i] = lookup(*k[i], now);
      }
    }
  }
}

size_t Cache::write_answer(const CacheHit& hit, const uint8_t* query, const Query& q, uint8_t* out, size_t cap,
                           size_t limit, uint32_t now) const noexcept {
  const Record* rec = static_cast<const Record*>(hit.record);
  const bool stale = hit.status == LookupStatus::kStale;
  const size_t wire_len = rec->wire_len;
  const size_t question_end = kHeaderSize + q.qname_len + 4;
  const size_t edns_bytes = q.has_edns ? 11 + (stale ? 6 : 0) : 0;
  EdnsParams edns;
  edns.udp_size = config_.our_udp_payload;
  edns.do_bit = q.do_bit;
  if (limit > cap) limit = cap;
  const bool too_large = wire_len + edns_bytes > limit;
  const size_t copy_end = too_large ? question_end : wire_len;
  if (too_large && question_end + (q.has_edns ? 11 : 0) > cap) return 0;
  // The client's spelling of the name replaces the stored lower-case one. Answering in
  // place (out == query, the dataplane's normal case) already has it at the right offset.
  if (out == query) {
    std::memcpy(out, rec->wire(), kHeaderSize);
    std::memcpy(out + kHeaderSize + q.qname_len, rec->wire() + kHeaderSize + q.qname_len,
                copy_end - kHeaderSize - q.qname_len);
  } else {
    std::memcpy(out, rec->wire(), copy_end);
    std::memcpy(out + kHeaderSize, query + kHeaderSize, q.qname_len);
  }
  uint16_t flags = static_cast<uint16_t>((load_u16(out + kOffFlags) & ~(kFlagRD | kFlagTC)) | (q.flags & kFlagRD));
  // RFC 6840 5.8: AD only for requesters that asked for DNSSEC data or set AD themselves.
  if (!(q.flags & kFlagAD) && !q.do_bit) flags = static_cast<uint16_t>(flags & ~kFlagAD);
  store_u16(out + kOffFlags, flags);
  set_id(out, q.id);

  if (too_large) {
    // Too large for this requester: header and question only, TC set (RFC 1035 4.2.1).
    return truncate_response(out, cap, question_end, q.has_edns ? &edns : nullptr);
  }
  const size_t n = rec->ttl_count;
  if (stale) {
    for (size_t i = 0; i < n; ++i) store_u32(out + rec->ttl_offset(i), config_.stale_answer_ttl);
  } else {
    const uint32_t age = now - rec->inserted;
    for (size_t i = 0; i < n; ++i) {
      uint8_t* p = out + rec->ttl_offset(i);
      const uint32_t ttl = load_u32(p);
      store_u32(p, ttl > age ? ttl - age : 0);
    }
  }
  size_t len = wire_len;
  if (q.has_edns) {
    const size_t opt_offset = len;
    len = append_opt(out, len, cap, edns);
    if (stale) {
      // Extended DNS Error (RFC 8914): INFO-CODE 3 "Stale Answer", or 19 "Stale NXDomain
      // Answer" for a name that did not exist.
      const uint8_t info[2] = {0, static_cast<uint8_t>(rcode_of(load_u16(out + kOffFlags)) == kNxDomain ? 19 : 3)};
      len = append_edns_option(out, len, cap, opt_offset, 15, info, 2);
    }
  }
  return len;
}

void Cache::flush_all() noexcept {
  std::memset(slots_, 0, slot_count_ * 8);
  head_ = tail_ = 0;
  stats_.entries = 0;
  stats_.stored_wire_bytes = 0;
}

size_t Cache::flush_name(const uint8_t* name, size_t name_len, bool subtree) noexcept {
  size_t dropped = 0;
  uint64_t pos = head_;
  while (pos < tail_) {
    const size_t phys = pos % arena_size_;
    Record* rec = reinterpret_cast<Record*>(arena_ + phys);
    if (rec->state == kPadding) {
      pos += arena_size_ - phys;
      continue;
    }
    if (rec->state & kLive) {
      const uint8_t* w = rec->wire();
      size_t end;
      size_t qname_len = 0;
      if (read_name(w, rec->wire_len, kHeaderSize, &end) == ParseError::kOk) qname_len = end - kHeaderSize;
      const uint8_t* qname = w + kHeaderSize;
      const bool hit = subtree ? name_in_zone(qname, qname_len, name, name_len)
                               : name_equal_ci(qname, qname_len, name, name_len);
      if (hit) {
        kill(rec);
        ++dropped;
      }
    }
    pos += record_size(rec->wire_len, rec->ttl_count);
  }
  return dropped;
}

CacheStats Cache::stats() const noexcept {
  CacheStats s = stats_;
  s.arena_used_bytes = tail_ - head_;
  s.arena_bytes = arena_size_;
  s.index_slots = slot_count_;
  return s;
}

}  // namespace dotgate::cache
