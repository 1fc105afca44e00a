// Reading whole DNS messages: a record iterator over the answer, authority and additional
// sections, and parse_response(), which gathers in one pass what the cache and the upstream
// layer need from an upstream answer.
#pragma once

#include <cstddef>
#include <cstdint>

#include "dns/errors.h"
#include "dns/name.h"
#include "dns/wire.h"

namespace dotgate::dns {

enum class Section : uint8_t { kAnswer, kAuthority, kAdditional };

struct Record {
  uint16_t name_offset;  // owner name's first byte (may be a compression pointer)
  uint16_t type;
  uint16_t rclass;
  uint32_t ttl;
  uint16_t ttl_offset;  // where the 4-byte TTL field sits, for in-place rewriting
  uint16_t rdata_offset;
  uint16_t rdlength;
  Section section;
};

// Iterates the resource records of a message after its question section. Errors are
// sticky: once next() fails it keeps returning false and error() says why; a clean end
// leaves error() == kOk. The constructor validates the header and every question.
class RecordReader {
 public:
  RecordReader(const uint8_t* msg, size_t len) noexcept;

  bool next(Record* out) noexcept;
  ParseError error() const noexcept { return error_; }
  // Offset just past the question section (valid when error() != kTooShort et al.).
  size_t question_end() const noexcept { return question_end_; }
  // Offset just past the last record read; equals the message length after a clean walk.
  size_t position() const noexcept { return pos_; }
  // What compressed names read so far may not run through (see NameGuard).
  NameGuard guard() const noexcept {
    return NameGuard{fixed_, fixed_count_, qname_end_, qname_labels_};
  }

  // Records whose fixed fields are tracked; later ones are still read, but a pointer into
  // their fixed fields goes unnoticed (the cache refuses such large answers anyway).
  static constexpr size_t kTrackedRecords = 320;

 private:
  void note_question_labels(const uint8_t* msg, size_t end) noexcept;

  const uint8_t* msg_;
  size_t len_;
  size_t pos_ = 0;
  size_t question_end_ = 0;
  unsigned remaining_[3] = {0, 0, 0};
  unsigned section_ = 0;
  ParseError error_ = ParseError::kOk;
  size_t fixed_count_ = 0;
  size_t qname_end_ = 0;  // end of the first question's name when stored whole, else 0
  uint64_t qname_labels_[4] = {0, 0, 0, 0};
  uint16_t fixed_[kTrackedRecords];
};

// TTLs at or above 2^31 are read as zero (RFC 2181 8).
inline uint32_t sane_ttl(uint32_t ttl) noexcept { return (ttl & 0x80000000u) ? 0 : ttl; }

struct Response {
  uint16_t id = 0;
  uint16_t flags = 0;
  uint16_t rcode = 0;  // full 12-bit RCODE: header bits plus the OPT's extended bits
  uint16_t qdcount = 0;
  uint16_t ancount = 0;
  uint16_t nscount = 0;
  uint16_t arcount = 0;
  // The question (valid when qdcount == 1); the name starts at kHeaderSize.
  uint16_t qname_len = 0;
  uint16_t qtype = 0;
  uint16_t qclass = 0;
  uint16_t question_end = 0;
  // EDNS, when the response carries an OPT record.
  bool has_edns = false;
  bool do_bit = false;
  uint16_t udp_size = 0;
  uint16_t opt_offset = 0;
  uint16_t opt_length = 0;
  uint16_t keepalive_timeout = 0;  // RFC 7828, in units of 100 ms; 0 if absent
  bool has_keepalive = false;
  // TTL facts over every record except OPT.
  uint32_t min_ttl = UINT32_MAX;  // UINT32_MAX when there is no record
  bool has_soa = false;            // an SOA in the authority section (RFC 2308)
  uint32_t negative_ttl = 0;       // min(SOA TTL, SOA MINIMUM) of that SOA
  bool answer_has_qtype = false;   // an answer record of the question's type (or ANY)
  uint16_t ttl_count = 0;          // TTL offsets written (records except OPT)
  bool ttl_overflow = false;       // more records than the caller's offset buffer
};

// Parses and validates a response in msg[0, len). Records each non-OPT record's TTL offset
// in ttl_offsets (up to max_ttls; more sets ttl_overflow). Rejects queries (QR clear), a
// question count above one, more than one OPT, an OPT outside the additional section or not
// owned by the root, malformed names and records, and trailing bytes.
ParseError parse_response(const uint8_t* msg, size_t len, Response* r, uint16_t* ttl_offsets,
                          size_t max_ttls) noexcept;

}  // namespace dotgate::dns
