// DNS wire-format constants and byte-order helpers (RFC 1035 4.1, RFC 6891).
//
// Every function here works on caller-owned bytes; nothing allocates. Offsets and lengths
// are in bytes; multi-byte fields on the wire are in network byte order.
#pragma once

#include <cstddef>
#include <cstdint>

#include "util/byte_order.h"

namespace dotgate::dns {

inline constexpr size_t kHeaderSize = 12;
inline constexpr size_t kMaxNameWire = 255;   // RFC 1035 2.3.4, including the root label
inline constexpr size_t kMaxLabel = 63;
inline constexpr size_t kMaxMessage = 65535;  // TCP/DoT length prefix limit
inline constexpr uint16_t kMinUdpPayload = 512;
// DNS Flag Day 2020: the largest UDP payload we offer or send unless configured otherwise.
inline constexpr uint16_t kDefaultUdpPayload = 1232;
// RFC 8467 4.1 block-length padding policy (recommended sizes).
inline constexpr size_t kQueryPadBlock = 128;
inline constexpr size_t kResponsePadBlock = 468;

// Header offsets.
inline constexpr size_t kOffId = 0;
inline constexpr size_t kOffFlags = 2;
inline constexpr size_t kOffQdcount = 4;
inline constexpr size_t kOffAncount = 6;
inline constexpr size_t kOffNscount = 8;
inline constexpr size_t kOffArcount = 10;

// Flag bits within the 16-bit flags word.
inline constexpr uint16_t kFlagQR = 0x8000;
inline constexpr uint16_t kFlagAA = 0x0400;
inline constexpr uint16_t kFlagTC = 0x0200;
inline constexpr uint16_t kFlagRD = 0x0100;
inline constexpr uint16_t kFlagRA = 0x0080;
inline constexpr uint16_t kFlagAD = 0x0020;
inline constexpr uint16_t kFlagCD = 0x0010;
inline constexpr uint16_t kOpcodeMask = 0x7800;
inline constexpr uint16_t kRcodeMask = 0x000f;

inline constexpr uint16_t opcode_of(uint16_t flags) { return (flags & kOpcodeMask) >> 11; }
inline constexpr uint16_t rcode_of(uint16_t flags) { return flags & kRcodeMask; }

enum Opcode : uint16_t { kOpQuery = 0, kOpIQuery = 1, kOpStatus = 2, kOpNotify = 4, kOpUpdate = 5 };

enum Rcode : uint16_t {
  kNoError = 0,
  kFormErr = 1,
  kServFail = 2,
  kNxDomain = 3,
  kNotImp = 4,
  kRefused = 5,
  kBadVers = 16,  // extended RCODE, needs OPT (RFC 6891 9)
};

enum RrType : uint16_t {
  kTypeA = 1,
  kTypeNS = 2,
  kTypeCNAME = 5,
  kTypeSOA = 6,
  kTypePTR = 12,
  kTypeMX = 15,
  kTypeTXT = 16,
  kTypeAAAA = 28,
  kTypeOPT = 41,
  kTypeRRSIG = 46,
  kTypeTSIG = 250,
  kTypeIXFR = 251,
  kTypeAXFR = 252,
  kTypeANY = 255,
};

enum RrClass : uint16_t { kClassIN = 1, kClassCH = 3, kClassANY = 255 };

// EDNS option codes (IANA registry).
enum EdnsOption : uint16_t {
  kOptClientSubnet = 8,   // RFC 7871
  kOptCookie = 10,        // RFC 7873
  kOptTcpKeepalive = 11,  // RFC 7828
  kOptPadding = 12,       // RFC 7830
};

inline constexpr uint32_t kEdnsDoBit = 0x00008000;  // within the OPT TTL field

inline uint16_t load_u16(const uint8_t* p) noexcept { return util::load_be16(p); }
inline uint32_t load_u32(const uint8_t* p) noexcept { return util::load_be32(p); }
inline void store_u16(uint8_t* p, uint16_t v) noexcept { util::store_be16(p, v); }
inline void store_u32(uint8_t* p, uint32_t v) noexcept { util::store_be32(p, v); }

// A read-only view of the fixed 12-byte header. The caller guarantees `p` has 12 bytes.
struct HeaderView {
  const uint8_t* p;
  uint16_t id() const noexcept { return load_u16(p + kOffId); }
  uint16_t flags() const noexcept { return load_u16(p + kOffFlags); }
  uint16_t qdcount() const noexcept { return load_u16(p + kOffQdcount); }
  uint16_t ancount() const noexcept { return load_u16(p + kOffAncount); }
  uint16_t nscount() const noexcept { return load_u16(p + kOffNscount); }
  uint16_t arcount() const noexcept { return load_u16(p + kOffArcount); }
  bool qr() const noexcept { return flags() & kFlagQR; }
  bool tc() const noexcept { return flags() & kFlagTC; }
  uint16_t opcode() const noexcept { return opcode_of(flags()); }
  uint16_t rcode() const noexcept { return rcode_of(flags()); }
};

inline void set_id(uint8_t* msg, uint16_t id) noexcept { store_u16(msg + kOffId, id); }

}  // namespace dotgate::dns
