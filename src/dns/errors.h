// Why a DNS message was rejected. One table defines every reason, its counter name and what
// a server should do about it, so the dataplane's drop counters and the parsers never drift
// apart (VPP-style X-macro error table).
#pragma once

#include <cstdint>
#include <string_view>

namespace dotgate::dns {

// What a server answering a malformed *query* should send back.
enum class Reaction : uint8_t { kNone, kDrop, kFormErr, kNotImp, kBadVers };

// X(enumerator, counter name, reaction to a query with this defect)
#define DOTGATE_DNS_PARSE_ERRORS(X)                                               \
  X(kOk, "ok", kNone)                                                             \
  X(kTooShort, "too_short", kDrop)                /* shorter than the header */   \
  X(kQrSet, "qr_set", kDrop)                      /* a response where a query belongs */ \
  X(kQrClear, "qr_clear", kDrop)                  /* a query where a response belongs */ \
  X(kOpcodeNotQuery, "opcode_not_query", kNotImp)                                 \
  X(kQdcountNotOne, "qdcount_not_one", kFormErr)                                  \
  X(kRecordsInQuery, "records_in_query", kFormErr) /* answer/authority in a query */ \
  X(kTruncatedName, "truncated_name", kFormErr)                                   \
  X(kNameTooLong, "name_too_long", kFormErr)                                      \
  X(kBadLabelType, "bad_label_type", kFormErr)    /* 0b01 / 0b10 label types */  \
  X(kCompressedQuestion, "compressed_question", kFormErr)                         \
  X(kBadPointer, "bad_pointer", kFormErr)         /* forward or out of range */   \
  X(kPointerLoop, "pointer_loop", kFormErr)                                       \
  X(kTruncatedQuestion, "truncated_question", kFormErr)                           \
  X(kTruncatedRecord, "truncated_record", kFormErr)                               \
  X(kMultipleOpt, "multiple_opt", kFormErr)                                       \
  X(kOptNotRoot, "opt_not_root", kFormErr)                                        \
  X(kOptOutsideAdditional, "opt_outside_additional", kFormErr)                    \
  X(kBadEdnsOption, "bad_edns_option", kFormErr)                                  \
  X(kBadEdnsVersion, "bad_edns_version", kBadVers)                                \
  X(kTrailingData, "trailing_data", kFormErr)                                     \
  X(kTooManyRecords, "too_many_records", kFormErr)                                \
  X(kBadRdata, "bad_rdata", kFormErr)

enum class ParseError : uint8_t {
#define DOTGATE_X(name, text, reaction) name,
  DOTGATE_DNS_PARSE_ERRORS(DOTGATE_X)
#undef DOTGATE_X
};

inline constexpr size_t kParseErrorCount = 0
#define DOTGATE_X(name, text, reaction) +1
    DOTGATE_DNS_PARSE_ERRORS(DOTGATE_X)
#undef DOTGATE_X
    ;

constexpr std::string_view to_string(ParseError e) noexcept {
  switch (e) {
#define DOTGATE_X(name, text, reaction) \
  case ParseError::name:                \
    return text;
    DOTGATE_DNS_PARSE_ERRORS(DOTGATE_X)
#undef DOTGATE_X
  }
  return "unknown";
}

constexpr Reaction reaction_to(ParseError e) noexcept {
  switch (e) {
#define DOTGATE_X(name, text, reaction) \
  case ParseError::name:                \
    return Reaction::reaction;
    DOTGATE_DNS_PARSE_ERRORS(DOTGATE_X)
#undef DOTGATE_X
  }
  return Reaction::kDrop;
}

}  // namespace dotgate::dns
