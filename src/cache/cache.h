// The per-worker response cache.
//
// One instance per worker core, used only by that core: no locks, no atomics. Memory is a
// fixed budget split at construction into an open-addressing index and a log-structured
// arena of records; nothing is allocated afterwards.
//
// Records are appended at the tail of a ring. Eviction works from the head: a record that
// was hit since it was last passed (its reference bit, as in CLOCK) is copied to the tail
// once, anything else is dropped. Arena memory therefore never fragments, eviction costs
// are bounded per insert, and the hot set survives scans.
//
// Each record keeps the upstream answer's wire bytes without its OPT record, with the
// question name lower-cased (it doubles as the key), the TTLs already clamped to the
// configured bounds, and the offsets of those TTLs. A hit is answered by copying the bytes
// into the client's buffer and patching ID, flags, the client's own spelling of the name,
// the decayed TTLs and the client's EDNS in place.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

#include "dns/message.h"
#include "dns/query.h"
#include "util/huge_buffer.h"

namespace dotgate::cache {

struct CacheConfig {
  size_t memory_bytes = size_t{64} << 20;  // index + arena, in bytes
  size_t index_slots = 0;                  // 0: derived from memory_bytes (power of two)
  uint32_t min_ttl = 0;                    // seconds; raises short positive TTLs
  uint32_t max_ttl = 86400;                // seconds; caps positive TTLs
  uint32_t negative_max_ttl = 3600;        // seconds; caps NXDOMAIN / NODATA (RFC 2308)
  uint32_t servfail_ttl = 5;               // seconds an upstream SERVFAIL is kept; 0: never
  uint32_t stale_window = 86400;           // seconds past expiry usable as stale (RFC 8767); 0: off
  uint32_t stale_answer_ttl = 30;          // TTL given on stale answers (RFC 8767 4)
  uint32_t prefetch_percent = 10;          // signal prefetch in the last N% of a TTL; 0: off
  uint32_t prefetch_min_hits = 2;          // ...for entries hit at least this often
  uint16_t our_udp_payload = dns::kDefaultUdpPayload;  // advertised in answers' OPT
};

// Why an answer was not stored (Cache::insert's result).
enum class StoreResult : uint8_t {
  kStored,
  kTruncated,         // TC=1
  kRcodeNotCached,    // REFUSED, FORMERR, NOTIMP, ... or SERVFAIL with servfail_ttl 0
  kQuestionMismatch,  // the answer's question is not the query's
  kNegativeNoSoa,     // NXDOMAIN/NODATA without an SOA to bound it (RFC 2308 5)
  kZeroTtl,
  kTooManyRecords,    // more than 255 records
  kOptNotLast,        // an OPT followed by other records: cannot be stripped safely
  kTooLarge,          // larger than the arena can hold
};

enum class LookupStatus : uint8_t { kMiss, kFresh, kStale };

// What lookup() found. `record` is valid until the next insert or flush on this cache.
struct CacheHit {
  LookupStatus status = LookupStatus::kMiss;
  bool prefetch = false;  // fresh, popular and close to expiry: refresh it upstream now
  const void* record = nullptr;
};

struct CacheStats {
  uint64_t entries = 0;
  uint64_t arena_used_bytes = 0;
  uint64_t arena_bytes = 0;
  uint64_t index_slots = 0;
  uint64_t stored_wire_bytes = 0;  // sum of wire lengths of live entries
  uint64_t lookups_fresh = 0;
  uint64_t lookups_stale = 0;
  uint64_t lookups_miss = 0;
  uint64_t inserts = 0;
  uint64_t replaced = 0;
  uint64_t evicted = 0;      // live, unexpired records dropped for room
  uint64_t expired = 0;      // records dropped after their stale window
  uint64_t reinserted = 0;   // records given a second chance
  uint64_t not_stored = 0;
  uint64_t prefetch_signals = 0;
};

class Cache {
 public:
  // `hash_seed` must be secret and random (the index holds names clients choose).
  Cache(const CacheConfig& config, uint64_t hash_seed);
  ~Cache();
  Cache(const Cache&) = delete;
  Cache& operator=(const Cache&) = delete;

  uint64_t hash_seed() const noexcept { return seed_; }
  const CacheConfig& config() const noexcept { return config_; }

  // Stores an upstream answer for `key` (hashed with this cache's seed). `msg` is the answer
  // as received, `r` its parse_response() result, `ttl_offsets` the offsets it recorded.
  // `now` is in seconds on any monotonic clock, the same one given to lookup().
  StoreResult insert(const dns::CacheKey& key, const uint8_t* msg, size_t len,
                     const dns::Response& r, const uint16_t* ttl_offsets, uint32_t now) noexcept;

  CacheHit lookup(const dns::CacheKey& key, uint32_t now) noexcept;

  // Looks up n keys with memory prefetches overlapped across the batch.
  void lookup_batch(const dns::CacheKey* const* keys, size_t n, uint32_t now,
                    CacheHit* out) noexcept;

  // Writes the answer for a hit into `out` for the client whose query is `query` (parsed
  // into q): its ID, RD, name spelling and EDNS; TTLs decayed to `now` (stale answers get
  // stale_answer_ttl and an Extended DNS Error "Stale Answer" when the client has EDNS).
  // If the answer exceeds `limit` bytes it is truncated to the question with TC=1.
  // `out` may be the query's own buffer (answer in place); any other overlap is not allowed.
  // Returns the length, or 0 if `cap` is too small.
  size_t write_answer(const CacheHit& hit, const uint8_t* query, const dns::Query& q,
                      uint8_t* out, size_t cap, size_t limit, uint32_t now) const noexcept;

  void flush_all() noexcept;
  // Drops the entries for `name` (an uncompressed wire name), or with `subtree` also every
  // name below it. Returns the number of entries dropped.
  size_t flush_name(const uint8_t* name, size_t name_len, bool subtree) noexcept;

  CacheStats stats() const noexcept;

 private:
  struct Record;
  Record* record_at(uint32_t slot_value) const noexcept;
  bool matches(const Record* rec, const dns::CacheKey& key) const noexcept;
  size_t find_slot(const dns::CacheKey& key) const noexcept;  // SIZE_MAX if absent
  CacheHit classify(Record* rec, uint32_t now) noexcept;
  void remove_slot(size_t slot) noexcept;
  size_t slot_of(const Record* rec) const noexcept;
  void kill(Record* rec) noexcept;
  uint32_t reserve(size_t size, uint32_t now) noexcept;
  void advance_head(uint32_t now) noexcept;
  size_t pad_before(size_t size) const noexcept;
  uint64_t stale_until(const Record* rec) const noexcept;

  CacheConfig config_;
  uint64_t seed_;
  util::HugeBuffer slot_memory_;
  util::HugeBuffer arena_memory_;
  uint64_t* slots_ = nullptr;
  size_t slot_mask_ = 0;
  size_t slot_count_ = 0;
  size_t max_entries_ = 0;
  uint8_t* arena_ = nullptr;
  size_t arena_size_ = 0;
  uint64_t head_ = 0;  // logical offset of the oldest record
  uint64_t tail_ = 0;  // logical offset where the next record goes
  unsigned reinserts_left_ = 0;
  CacheStats stats_;
};

}  // namespace dotgate::cache
