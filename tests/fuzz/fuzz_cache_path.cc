// libFuzzer target: "parse query -> cache lookup -> build response" and the insert path
// that feeds it, on arbitrary bytes, against one long-lived cache so state accumulates
// across inputs (evictions, wrap-around, stale entries, flushes).
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>

#include "fuzz_check.h"
#include "cache/cache.h"
#include "dns/builder.h"
#include "dns/message.h"
#include "dns/name.h"
#include "dns/query.h"

using namespace dotgate;
using namespace dotgate::dns;


namespace {


cache::Cache& the_cache() {
  static cache::CacheConfig config = [] {
    cache::CacheConfig c;
    c.memory_bytes = 256 << 10;
    c.stale_window = 30;
    c.servfail_ttl = 2;
    c.prefetch_min_hits = 1;
    return c;
  }();
  static cache::Cache cache(config, 0x1234);
  return cache;
}

uint32_t now_s = 1000;

// Answers `query` from the cache if it can and checks the answer is well formed.
void answer(cache::Cache& cache, const uint8_t* query, size_t len, size_t limit) {
  Query q;
  if (parse_query(query, len, &q) != ParseError::kOk) return;
  finalize_key(q.key, cache.hash_seed());
  const cache::CacheHit hit = cache.lookup(q.key, now_s);
  if (hit.status == cache::LookupStatus::kMiss) return;
  static uint8_t out[kMaxMessage];
  const size_t n = cache.write_answer(hit, query, q, out, sizeof out, limit, now_s);
  CHECK(n >= kHeaderSize && n <= limit);
  Response r;
  uint16_t offs[256];
  CHECK(parse_response(out, n, &r, offs, 256) == ParseError::kOk);
  CHECK(r.id == q.id && r.qtype == q.qtype && r.qclass == q.qclass);
  CHECK(std::memcmp(out + kHeaderSize, query + kHeaderSize, q.qname_len) == 0);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  cache::Cache& cache = the_cache();
  if (size < 1) return 0;
  const uint8_t op = data[0];
  ++data;
  --size;
  now_s += op >> 5;  // time moves 0..7 s per input
  const size_t limit = (op & 1) ? 512 : kMaxMessage;

  switch (op & 0x6) {
    case 0: {  // the input is an upstream answer: cache it under its own question
      Response r;
      uint16_t offs[300];
      if (parse_response(data, size, &r, offs, 300) != ParseError::kOk || r.qdcount != 1) break;
      uint8_t query[kHeaderSize + kMaxNameWire + 4 + 11];
      EdnsParams edns;
      edns.do_bit = r.do_bit;
      const size_t qlen = build_query(query, sizeof query, 7, r.flags & kFlagCD, data + kHeaderSize,
                                      r.qname_len, r.qtype, r.qclass, (op & 8) ? &edns : nullptr);
      CHECK(qlen != 0);
      Query q;
      CHECK(parse_query(query, qlen, &q) == ParseError::kOk);
      finalize_key(q.key, cache.hash_seed());
      cache.insert(q.key, data, size, r, offs, now_s);
      answer(cache, query, qlen, limit);
      break;
    }
    case 2:  // the input is a client query
      answer(cache, data, size, limit);
      break;
    case 4: {  // flush a name from the input (exact or subtree)
      uint8_t name[kMaxNameWire];
      size_t len;
      const std::string text(reinterpret_cast<const char*>(data), size);
      if (name_from_text(text, name, &len)) cache.flush_name(name, len, op & 8);
      break;
    }
    default:
      if ((op & 0xf8) == 0xf8) cache.flush_all();
      break;
  }
  const cache::CacheStats s = cache.stats();
  CHECK(s.arena_used_bytes <= s.arena_bytes);
  CHECK(s.entries <= s.index_slots);
  return 0;
}
