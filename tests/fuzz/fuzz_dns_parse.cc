// libFuzzer target: every DNS parser and the builders that consume their results, on
// arbitrary bytes. Any crash, sanitizer report or broken invariant is a finding.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "fuzz_check.h"
#include "dns/builder.h"
#include "dns/message.h"
#include "dns/name.h"
#include "dns/query.h"

using namespace dotgate::dns;


namespace {
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // Query path: parse, and answer with an error response as the dataplane would.
  Query q;
  const ParseError qe = parse_query(data, size, &q);
  if (size >= kHeaderSize) {
    static uint8_t out[kMaxMessage];
    const uint16_t rcode = qe == ParseError::kOk ? kServFail
                           : reaction_to(qe) == Reaction::kBadVers ? kBadVers
                                                                   : kFormErr;
    const size_t n = build_error_response(data, q, rcode, out, sizeof out);
    CHECK(n >= kHeaderSize);
    Response r;
    uint16_t offs[8];
    CHECK(parse_response(out, n, &r, offs, 8) == ParseError::kOk);
    CHECK(r.id == q.id);
  }
  if (qe == ParseError::kOk) {
    CHECK(q.question_end <= size && q.key.name_len == q.qname_len);
    CHECK(name_equal_ci(q.key.name, q.key.name_len, data + kHeaderSize, q.qname_len));
    finalize_key(q.key, 42);
  }

  // Response path: full parse, then walk every record and decompress every owner name.
  Response r;
  uint16_t offs[64];
  const ParseError re = parse_response(data, size, &r, offs, 64);
  if (re == ParseError::kOk) {
    for (size_t i = 0; i < r.ttl_count; ++i) CHECK(size_t{offs[i]} + 4 <= size);
  }
  RecordReader reader(data, size);
  Record rr;
  while (reader.next(&rr)) {
    CHECK(size_t{rr.rdata_offset} + rr.rdlength <= size);
    size_t end;
    uint8_t name[kMaxNameWire];
    size_t name_len = 0;
    if (read_name(data, size, rr.name_offset, &end, name, &name_len) == ParseError::kOk) {
      CHECK(name_len >= 1 && name_len <= kMaxNameWire);
      uint8_t back[kMaxNameWire];
      size_t back_len = 0;
      const std::string text = name_to_text(name, name_len);
      CHECK(name_from_text(text, back, &back_len));
      CHECK(back_len == name_len && std::memcmp(back, name, name_len) == 0);
    }
  }
  return 0;
}
