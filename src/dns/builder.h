// Building and editing DNS messages in caller-owned buffers: queries, synthesised error
// responses, EDNS OPT records and their options (padding, TCP keepalive), truncation and
// TTL/ID rewriting. Functions that grow a message return the new length, or 0 if the
// result would not fit in `cap` (the buffer is then left unchanged unless stated).
#pragma once

#include <cstddef>
#include <cstdint>

#include "dns/query.h"
#include "dns/wire.h"

namespace dotgate::dns {

// EDNS parameters for an OPT record we write.
struct EdnsParams {
  uint16_t udp_size = kDefaultUdpPayload;
  uint8_t ext_rcode = 0;  // upper 8 bits of a 12-bit RCODE
  bool do_bit = false;
};

// Appends an OPT record (root owner, no options) at `len` and increments ARCOUNT. The OPT
// must be the last record so later option appends can extend it.
size_t append_opt(uint8_t* msg, size_t len, size_t cap, const EdnsParams& edns) noexcept;

// Appends an option to the OPT record that starts at `opt_offset` and ends at `len` (it must
// be the message's last record), fixing its RDLENGTH.
size_t append_edns_option(uint8_t* msg, size_t len, size_t cap, size_t opt_offset,
                          uint16_t code, const uint8_t* data, uint16_t data_len) noexcept;

// RFC 7830 padding: appends a Padding option so the message length becomes a multiple of
// `block` (RFC 8467: kQueryPadBlock for queries, kResponsePadBlock for responses). When the next
// multiple exceeds `cap` (the transport's or requester's limit) it pads up to `cap`; returns
// 0 when not even the 4-byte option header fits.
size_t pad_to_block(uint8_t* msg, size_t len, size_t cap, size_t opt_offset,
                    size_t block) noexcept;

// Builds a query: header with `id` and `flags` (QR clear), one question, and an OPT record
// when `edns` is not null (with `pad_block` > 0 it is padded to that block). qname is an
// uncompressed wire name. Returns the length or 0 if it does not fit.
size_t build_query(uint8_t* out, size_t cap, uint16_t id, uint16_t flags, const uint8_t* qname,
                   size_t qname_len, uint16_t qtype, uint16_t qclass, const EdnsParams* edns,
                   size_t pad_block = 0) noexcept;

// Synthesises a response to `query` (parsed into q, possibly with an error) carrying
// `rcode`: ID, opcode, RD and CD copied, QR and RA set; the question echoed when
// q.question_end != 0; an OPT with `our_udp_size` and DO mirrored when the query had EDNS
// (always for an extended RCODE such as BADVERS). Works for SERVFAIL, REFUSED, FORMERR,
// NOTIMP and NXDOMAIN. Requires len(query) >= 12. Returns the length or 0.
size_t build_error_response(const uint8_t* query, const Query& q, uint16_t rcode, uint8_t* out,
                            size_t cap, uint16_t our_udp_size = kDefaultUdpPayload) noexcept;

// Cuts the response in msg (question ending at question_end) down to header + question,
// sets TC, zeroes the record counts and, when `edns` is given, re-appends an OPT. Used when
// an answer exceeds the requester's UDP limit. Returns the new length, or 0 (msg untouched)
// if the result would not fit in `cap`.
size_t truncate_response(uint8_t* msg, size_t cap, size_t question_end,
                         const EdnsParams* edns) noexcept;

// Lowers every TTL at the given offsets by `age` seconds (never below zero).
void age_ttls(uint8_t* msg, const uint16_t* ttl_offsets, size_t n, uint32_t age) noexcept;

// Clamps every TTL at the given offsets into [min_ttl, max_ttl].
void clamp_ttls(uint8_t* msg, const uint16_t* ttl_offsets, size_t n, uint32_t min_ttl,
                uint32_t max_ttl) noexcept;

}  // namespace dotgate::dns
