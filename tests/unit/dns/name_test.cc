// Tests for dns/name.h: wire-name decompression and validation, text conversion, case-folded
// comparison and zone membership.
#include "dns/name.h"

#include <gtest/gtest.h>

#include "dns_test_util.h"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

namespace dotgate::dns {
namespace {

using namespace testutil;  // Bytes, wire_name, pointer



void append(Bytes& to, const Bytes& what) { to.insert(to.end(), what.begin(), what.end()); }

// A message prefix: 12 bytes standing in for the header.
Bytes header_stub() { return Bytes(kHeaderSize, 0); }

// Decompresses the name at `off` and returns it (empty on error, with *err set).
struct ReadResult {
  ParseError err;
  size_t end;
  Bytes name;
};

ReadResult read(const Bytes& msg, size_t off, size_t len = SIZE_MAX) {
  if (len == SIZE_MAX) len = msg.size();
  ReadResult r{ParseError::kOk, 0xdeadbeef, {}};
  uint8_t out[kMaxNameWire];
  size_t out_len = 0;
  r.err = read_name(msg.data(), len, off, &r.end, out, &out_len);
  if (r.err == ParseError::kOk) r.name.assign(out, out + out_len);
  return r;
}

// ---------------------------------------------------------------------------------------
// read_name

TEST(ReadName, PlainName) {
  Bytes msg = header_stub();
  const Bytes name = wire_name("www.Example.COM");
  append(msg, name);
  msg.push_back(0x99);  // something after the name that must not be consumed
  const ReadResult r = read(msg, kHeaderSize);
  ASSERT_EQ(r.err, ParseError::kOk);
  EXPECT_EQ(r.end, kHeaderSize + name.size());
  EXPECT_EQ(r.name, name);  // original case kept
  EXPECT_EQ(r.name.size(), 17u);
}

TEST(ReadName, RootName) {
  Bytes msg = header_stub();
  msg.push_back(0);
  const ReadResult r = read(msg, kHeaderSize);
  ASSERT_EQ(r.err, ParseError::kOk);
  EXPECT_EQ(r.end, kHeaderSize + 1);
  EXPECT_EQ(r.name, Bytes{0});
}

TEST(ReadName, OutputsAreOptional) {
  Bytes msg = header_stub();
  append(msg, wire_name("a.b"));
  size_t end = 0;
  EXPECT_EQ(read_name(msg.data(), msg.size(), kHeaderSize, &end), ParseError::kOk);
  EXPECT_EQ(end, msg.size());
}

TEST(ReadName, BackwardPointerToWholeName) {
  Bytes msg = header_stub();
  append(msg, wire_name("Example.com"));  // at 12, 13 bytes
  const size_t second = msg.size();       // 25
  append(msg, {3, 'w', 'w', 'w'});
  append(msg, pointer(kHeaderSize));
  msg.push_back(0x77);  // trailing byte not part of the name
  const ReadResult r = read(msg, second);
  ASSERT_EQ(r.err, ParseError::kOk);
  EXPECT_EQ(r.end, second + 6);  // just past the pointer, not past the target
  EXPECT_EQ(r.name, wire_name("www.Example.com"));
}

TEST(ReadName, PointerIntoMiddleOfName) {
  Bytes msg = header_stub();
  append(msg, wire_name("example.com"));  // "com" label sits at 12 + 8 = 20
  const size_t second = msg.size();
  append(msg, {4, 'm', 'a', 'i', 'l'});
  append(msg, pointer(20));
  const ReadResult r = read(msg, second);
  ASSERT_EQ(r.err, ParseError::kOk);
  EXPECT_EQ(r.end, msg.size());
  EXPECT_EQ(r.name, wire_name("mail.com"));
}

TEST(ReadName, BarePointer) {
  Bytes msg = header_stub();
  append(msg, wire_name("example.com"));
  const size_t second = msg.size();
  append(msg, pointer(kHeaderSize));
  const ReadResult r = read(msg, second);
  ASSERT_EQ(r.err, ParseError::kOk);
  EXPECT_EQ(r.end, second + 2);
  EXPECT_EQ(r.name, wire_name("example.com"));
}

TEST(ReadName, NestedPointersEndAfterFirstPointer) {
  Bytes msg = header_stub();
  append(msg, wire_name("com"));  // 12..16
  const size_t b = msg.size();     // 17: example + ptr(12)
  append(msg, {7, 'e', 'x', 'a', 'm', 'p', 'l', 'e'});
  append(msg, pointer(kHeaderSize));
  const size_t c = msg.size();  // www + ptr(b)
  append(msg, {3, 'w', 'w', 'w'});
  append(msg, pointer(b));
  msg.push_back(0xff);
  const ReadResult r = read(msg, c);
  ASSERT_EQ(r.err, ParseError::kOk);
  EXPECT_EQ(r.end, c + 6);
  EXPECT_EQ(r.name, wire_name("www.example.com"));
}

TEST(ReadName, FourteenBitPointerOffset) {
  Bytes msg(400, 0);
  const Bytes target = wire_name("far.example");
  std::copy(target.begin(), target.end(), msg.begin() + 0x123);
  const size_t at = 0x123 + target.size() + 5;
  msg[at] = 0xc1;
  msg[at + 1] = 0x23;
  const ReadResult r = read(msg, at);
  ASSERT_EQ(r.err, ParseError::kOk);
  EXPECT_EQ(r.end, at + 2);
  EXPECT_EQ(r.name, target);
}

TEST(ReadName, PointerToItselfIsBadPointer) {
  Bytes msg = header_stub();
  append(msg, pointer(kHeaderSize));
  EXPECT_EQ(read(msg, kHeaderSize).err, ParseError::kBadPointer);
}

TEST(ReadName, ForwardPointerIsBadPointer) {
  Bytes msg = header_stub();
  append(msg, pointer(kHeaderSize + 2));  // points at the root label right after it
  msg.push_back(0);
  EXPECT_EQ(read(msg, kHeaderSize).err, ParseError::kBadPointer);
}

TEST(ReadName, PointerAfterLabelsToItselfIsBadPointer) {
  Bytes msg = header_stub();
  append(msg, {1, 'a'});
  append(msg, pointer(kHeaderSize + 2));  // the pointer's own offset
  EXPECT_EQ(read(msg, kHeaderSize).err, ParseError::kBadPointer);
}

TEST(ReadName, PointerBeyondMessageIsBadPointer) {
  Bytes msg = header_stub();
  append(msg, pointer(0x3fff));
  EXPECT_EQ(read(msg, kHeaderSize).err, ParseError::kBadPointer);
}

TEST(ReadName, TwoPointersBouncingIsRejected) {
  // 12: ptr(14); 14: ptr(12). The first is forward, so it never loops.
  Bytes msg = header_stub();
  append(msg, pointer(14));
  append(msg, pointer(12));
  EXPECT_EQ(read(msg, 12).err, ParseError::kBadPointer);
  EXPECT_EQ(read(msg, 14).err, ParseError::kBadPointer);  // 14 -> 12 -> 14 (forward)
}

// A chain of pointers, each pointing at the previous one, ending at a root label at 12.
Bytes pointer_chain(size_t pointers, size_t* last) {
  Bytes msg = header_stub();
  msg.push_back(0);
  size_t prev = kHeaderSize;
  for (size_t i = 0; i < pointers; ++i) {
    const size_t here = msg.size();
    append(msg, pointer(prev));
    prev = here;
  }
  *last = prev;
  return msg;
}

TEST(ReadName, LongBackwardChainUpToHopLimit) {
  size_t last = 0;
  const Bytes msg = pointer_chain(kMaxPointerHops, &last);
  const ReadResult r = read(msg, last);
  ASSERT_EQ(r.err, ParseError::kOk);
  EXPECT_EQ(r.end, last + 2);
  EXPECT_EQ(r.name, Bytes{0});
}

TEST(ReadName, BackwardChainBeyondHopLimitIsPointerLoop) {
  size_t last = 0;
  const Bytes msg = pointer_chain(kMaxPointerHops + 1, &last);
  EXPECT_EQ(read(msg, last).err, ParseError::kPointerLoop);
  const Bytes longer = pointer_chain(1000, &last);
  EXPECT_EQ(read(longer, last).err, ParseError::kPointerLoop);
}

TEST(ReadName, ReservedLabelTypesAreBadLabelType) {
  for (uint8_t b : {uint8_t{0x40}, uint8_t{0x41}, uint8_t{0x7f}, uint8_t{0x80}, uint8_t{0xbf}}) {
    SCOPED_TRACE(static_cast<int>(b));
    Bytes first = header_stub();
    first.push_back(b);
    first.resize(first.size() + 200, 'x');  // enough bytes that only the type can fail
    first.push_back(0);
    EXPECT_EQ(read(first, kHeaderSize).err, ParseError::kBadLabelType);

    Bytes later = header_stub();
    append(later, {3, 'w', 'w', 'w'});
    later.push_back(b);
    later.resize(later.size() + 200, 'x');
    later.push_back(0);
    EXPECT_EQ(read(later, kHeaderSize).err, ParseError::kBadLabelType);
  }
}

TEST(ReadName, LengthOctetsAbove63AreLabelTypesNotLongLabels) {
  // 64..191 are the 0b01/0b10 label types: a length over 63 cannot be expressed.
  for (unsigned b = 64; b < 192; ++b) {
    Bytes msg = header_stub();
    msg.push_back(static_cast<uint8_t>(b));
    msg.resize(msg.size() + 256, 'a');
    msg.push_back(0);
    EXPECT_EQ(read(msg, kHeaderSize).err, ParseError::kBadLabelType) << b;
  }
}

TEST(ReadName, SixtyThreeByteLabelAccepted) {
  Bytes msg = header_stub();
  msg.push_back(63);
  msg.resize(msg.size() + 63, 'q');
  msg.push_back(0);
  const ReadResult r = read(msg, kHeaderSize);
  ASSERT_EQ(r.err, ParseError::kOk);
  EXPECT_EQ(r.name.size(), 65u);
  EXPECT_EQ(r.end, msg.size());
}

// Appends a label of `n` 'x' bytes.
void add_label(Bytes& msg, size_t n, char fill = 'x') {
  msg.push_back(static_cast<uint8_t>(n));
  msg.insert(msg.end(), n, static_cast<uint8_t>(fill));
}

TEST(ReadName, UncompressedNameOf255BytesAccepted) {
  Bytes msg = header_stub();
  add_label(msg, 63);
  add_label(msg, 63);
  add_label(msg, 63);
  add_label(msg, 61);
  msg.push_back(0);
  const ReadResult r = read(msg, kHeaderSize);
  ASSERT_EQ(r.err, ParseError::kOk);
  EXPECT_EQ(r.name.size(), 255u);
}

TEST(ReadName, UncompressedNameOf256BytesIsTooLong) {
  Bytes msg = header_stub();
  add_label(msg, 63);
  add_label(msg, 63);
  add_label(msg, 63);
  add_label(msg, 62);
  msg.push_back(0);
  EXPECT_EQ(read(msg, kHeaderSize).err, ParseError::kNameTooLong);
}

// Builds 12: A = 63-label + root (65 bytes), B = 63-label -> A (129), C = 63-label -> B (193)
// and returns the offset of C.
size_t three_stacked_names(Bytes& msg) {
  msg = header_stub();
  const size_t a = msg.size();
  add_label(msg, 63, 'a');
  msg.push_back(0);
  const size_t b = msg.size();
  add_label(msg, 63, 'b');
  append(msg, pointer(a));
  const size_t c = msg.size();
  add_label(msg, 63, 'c');
  append(msg, pointer(b));
  return c;
}

TEST(ReadName, CompressionUpToExactly255Bytes) {
  Bytes msg;
  const size_t c = three_stacked_names(msg);
  ASSERT_EQ(read(msg, c).name.size(), 193u);
  const size_t d = msg.size();
  add_label(msg, 61, 'd');  // 62 + 193 = 255
  append(msg, pointer(c));
  const ReadResult r = read(msg, d);
  ASSERT_EQ(r.err, ParseError::kOk);
  EXPECT_EQ(r.name.size(), 255u);
  EXPECT_EQ(r.end, d + 64);
  EXPECT_EQ(r.name[0], 61);
  EXPECT_EQ(r.name[62], 63);
  EXPECT_EQ(r.name[63], 'c');
  EXPECT_EQ(r.name[254], 0);
}

TEST(ReadName, CompressionBeyond255BytesIsTooLong) {
  Bytes msg;
  const size_t c = three_stacked_names(msg);
  const size_t d = msg.size();
  add_label(msg, 62, 'd');  // 63 + 193 = 256
  append(msg, pointer(c));
  EXPECT_EQ(read(msg, d).err, ParseError::kNameTooLong);

  const size_t e = msg.size();
  add_label(msg, 63, 'e');  // 64 + 193 = 257
  append(msg, pointer(c));
  EXPECT_EQ(read(msg, e).err, ParseError::kNameTooLong);
}

TEST(ReadName, RepeatedPointersToSameNameHitLengthLimit) {
  // 12: "a" root. Then many names "x" -> previous: each adds 2 bytes; 128 of them exceed 255
  // long before the hop limit would matter for correctness.
  Bytes msg = header_stub();
  add_label(msg, 1, 'a');
  msg.push_back(0);  // 3 bytes
  size_t prev = kHeaderSize;
  size_t wire = 3;
  size_t last_ok = 0;
  size_t first_bad = 0;
  for (int i = 0; i < 130; ++i) {
    const size_t here = msg.size();
    add_label(msg, 1, 'x');
    append(msg, pointer(prev));
    prev = here;
    wire += 2;
    if (wire <= 255) last_ok = here;
    if (wire > 255 && first_bad == 0) first_bad = here;
  }
  const ReadResult ok = read(msg, last_ok);
  ASSERT_EQ(ok.err, ParseError::kOk);
  EXPECT_EQ(ok.name.size(), 255u);
  EXPECT_EQ(read(msg, first_bad).err, ParseError::kNameTooLong);
}

TEST(ReadName, TruncatedPlainNameAtEveryCut) {
  Bytes msg = header_stub();
  append(msg, wire_name("www.example.com"));
  for (size_t cut = 0; cut < msg.size(); ++cut) {
    size_t end = 0;
    EXPECT_EQ(read_name(msg.data(), cut, kHeaderSize, &end), ParseError::kTruncatedName)
        << "cut " << cut;
  }
  size_t end = 0;
  EXPECT_EQ(read_name(msg.data(), msg.size(), kHeaderSize, &end), ParseError::kOk);
}

TEST(ReadName, TruncatedCompressedNameAtEveryCut) {
  Bytes msg = header_stub();
  append(msg, wire_name("example.com"));
  const size_t second = msg.size();
  append(msg, {3, 'w', 'w', 'w'});
  append(msg, pointer(kHeaderSize));
  for (size_t cut = 0; cut < msg.size(); ++cut) {
    const Bytes copy(msg.begin(), msg.begin() + static_cast<std::ptrdiff_t>(cut));
    size_t end = 0;
    // An exactly-sized copy, so ASan would catch a read at or past `cut`.
    EXPECT_EQ(read_name(copy.data(), copy.size(), second, &end), ParseError::kTruncatedName)
        << "cut " << cut;
  }
}

TEST(ReadName, OffsetAtOrPastEndIsTruncated) {
  const Bytes msg = header_stub();
  size_t end = 0;
  EXPECT_EQ(read_name(msg.data(), msg.size(), msg.size(), &end), ParseError::kTruncatedName);
  EXPECT_EQ(read_name(msg.data(), msg.size(), msg.size() + 5, &end), ParseError::kTruncatedName);
}

// ---------------------------------------------------------------------------------------
// name_from_text / name_to_text

Bytes from_text(std::string_view text, bool* ok) {
  uint8_t out[kMaxNameWire];
  size_t len = 0;
  *ok = name_from_text(text, out, &len);
  if (!*ok) return {};
  EXPECT_GE(len, 1u);
  EXPECT_LE(len, kMaxNameWire);
  return Bytes(out, out + len);
}

Bytes from_text_ok(std::string_view text) {
  bool ok = false;
  Bytes b = from_text(text, &ok);
  EXPECT_TRUE(ok) << text;
  return b;
}

bool text_valid(std::string_view text) {
  bool ok = false;
  from_text(text, &ok);
  return ok;
}

std::string to_text(const Bytes& b) { return name_to_text(b.data(), b.size()); }

TEST(NameText, SimpleName) {
  EXPECT_EQ(from_text_ok("www.example.com"), wire_name("www.example.com"));
  EXPECT_EQ(from_text_ok("www.example.com."), wire_name("www.example.com"));
  EXPECT_EQ(from_text_ok("a"), (Bytes{1, 'a', 0}));
  EXPECT_EQ(to_text(wire_name("www.example.com")), "www.example.com.");
}

TEST(NameText, CaseIsPreserved) {
  EXPECT_EQ(from_text_ok("WwW.ExAmple.COM"), wire_name("WwW.ExAmple.COM"));
  EXPECT_EQ(to_text(wire_name("WwW.ExAmple.COM")), "WwW.ExAmple.COM.");
}

TEST(NameText, Root) {
  EXPECT_EQ(from_text_ok("."), Bytes{0});
  EXPECT_EQ(to_text(Bytes{0}), ".");
  EXPECT_EQ(to_text(Bytes{}), "");
}

TEST(NameText, EmptyLabelsRejected) {
  EXPECT_FALSE(text_valid(""));
  EXPECT_FALSE(text_valid(".."));
  EXPECT_FALSE(text_valid(".com"));
  EXPECT_FALSE(text_valid("a..b"));
  EXPECT_FALSE(text_valid("a.."));
  EXPECT_FALSE(text_valid("example.com.."));
}

TEST(NameText, EscapedDot) {
  const Bytes w = from_text_ok("a\\.b.c");
  EXPECT_EQ(w, (Bytes{3, 'a', '.', 'b', 1, 'c', 0}));
  EXPECT_EQ(to_text(w), "a\\.b.c.");
}

TEST(NameText, DecimalEscape) {
  EXPECT_EQ(from_text_ok("\\065bc"), (Bytes{3, 'A', 'b', 'c', 0}));
  EXPECT_EQ(from_text_ok("\\000"), (Bytes{1, 0, 0}));
  EXPECT_EQ(from_text_ok("\\255"), (Bytes{1, 255, 0}));
  EXPECT_EQ(from_text_ok("x\\046y"), (Bytes{3, 'x', '.', 'y', 0}));  // \046 is '.'
}

TEST(NameText, BackslashEscape) {
  const Bytes w = from_text_ok("a\\\\b");
  EXPECT_EQ(w, (Bytes{3, 'a', '\\', 'b', 0}));
  EXPECT_EQ(to_text(w), "a\\\\b.");
  EXPECT_EQ(from_text_ok("\\a"), (Bytes{1, 'a', 0}));  // \X is X
}

TEST(NameText, BadEscapesRejected) {
  EXPECT_FALSE(text_valid("\\"));
  EXPECT_FALSE(text_valid("a\\"));
  EXPECT_FALSE(text_valid("\\0"));
  EXPECT_FALSE(text_valid("\\06"));
  EXPECT_FALSE(text_valid("\\06x"));
  EXPECT_FALSE(text_valid("\\0x5"));
  EXPECT_FALSE(text_valid("\\256"));
  EXPECT_FALSE(text_valid("\\999"));
}

TEST(NameText, NonPrintableBytesEscapedAsDecimal) {
  EXPECT_EQ(to_text(Bytes{1, 0, 0}), "\\000.");
  EXPECT_EQ(to_text(Bytes{1, ' ', 0}), "\\032.");
  EXPECT_EQ(to_text(Bytes{1, 0x7f, 0}), "\\127.");
  EXPECT_EQ(to_text(Bytes{1, 0xff, 0}), "\\255.");
  EXPECT_EQ(to_text(Bytes{2, '!', '~', 0}), "!~.");
}

TEST(NameText, EveryByteValueRoundTrips) {
  for (unsigned start = 0; start < 256; start += 50) {
    Bytes w;
    for (unsigned label = 0; label < 5 && start + label * 10 < 256; ++label) {
      const unsigned from = start + label * 10;
      const unsigned to = std::min(from + 10, 256u);
      w.push_back(static_cast<uint8_t>(to - from));
      for (unsigned c = from; c < to; ++c) w.push_back(static_cast<uint8_t>(c));
    }
    w.push_back(0);
    const std::string text = to_text(w);
    SCOPED_TRACE(text);
    EXPECT_EQ(from_text_ok(text), w);
  }
}

TEST(NameText, TextRoundTrips) {
  for (std::string_view t : {"www.example.com.", "a\\.b.c.", "a\\\\b.", "\\000\\255.x.",
                             "_sip._tcp.example.", "xn--bcher-kva.example.", "."}) {
    EXPECT_EQ(to_text(from_text_ok(t)), t);
  }
}

TEST(NameText, LabelLengthLimit) {
  const std::string l63(63, 'a');
  const std::string l64(64, 'a');
  EXPECT_EQ(from_text_ok(l63 + ".com").size(), 1u + 63 + 4 + 1);
  EXPECT_FALSE(text_valid(l64 + ".com"));
  EXPECT_FALSE(text_valid("com." + l64));
  EXPECT_FALSE(text_valid(l63 + "\\065"));  // 64th byte escaped
  EXPECT_FALSE(text_valid(l63 + "\\."));
}

TEST(NameText, NameLengthLimitExactly255) {
  const std::string l63(63, 'a');
  const std::string l61(61, 'b');
  const std::string l62(62, 'b');
  const std::string ok = l63 + "." + l63 + "." + l63 + "." + l61;  // 64*3 + 62 + 1 = 255
  EXPECT_EQ(from_text_ok(ok).size(), 255u);
  EXPECT_EQ(from_text_ok(ok + ".").size(), 255u);
  EXPECT_FALSE(text_valid(l63 + "." + l63 + "." + l63 + "." + l62));
  EXPECT_FALSE(text_valid(l63 + "." + l63 + "." + l63 + "." + l62 + "."));
  EXPECT_FALSE(text_valid(ok + ".a"));

  std::string ones;  // 127 one-byte labels: 127 * 2 + 1 = 255
  for (int i = 0; i < 127; ++i) ones += "a.";
  EXPECT_EQ(from_text_ok(ones).size(), 255u);
  EXPECT_FALSE(text_valid(ones + "a"));
  EXPECT_FALSE(text_valid(ones + "a."));
}

TEST(NameText, ToTextRoundTripOfMaximalName) {
  const std::string l63(63, 'z');
  const std::string text = l63 + "." + l63 + "." + l63 + "." + std::string(61, 'y') + ".";
  const Bytes w = from_text_ok(text);
  EXPECT_EQ(to_text(w), text);
}

// ---------------------------------------------------------------------------------------
// name_equal_ci

bool eq(std::string_view a, std::string_view b) {
  const Bytes wa = wire_name(a);
  const Bytes wb = wire_name(b);
  return name_equal_ci(wa.data(), wa.size(), wb.data(), wb.size());
}

TEST(NameEqualCi, Basics) {
  EXPECT_TRUE(eq("example.com", "example.com"));
  EXPECT_TRUE(eq("EXAMPLE.com", "example.COM"));
  EXPECT_TRUE(eq("Zz.aA", "zZ.Aa"));
  EXPECT_TRUE(eq(".", "."));
  EXPECT_FALSE(eq("example.com", "example.org"));
  EXPECT_FALSE(eq("example.com", "www.example.com"));
  EXPECT_FALSE(eq("ab.c", "a.bc"));  // same letters, different labels
}

TEST(NameEqualCi, OnlyLettersFold) {
  // Pairs that differ only by 0x20 but are not letters must compare unequal.
  EXPECT_FALSE(eq("@", "`"));
  EXPECT_FALSE(eq("[", "{"));
  EXPECT_FALSE(eq("^", "~"));
  EXPECT_FALSE(eq("\x01", "!"));
  const Bytes a{1, 0xc1, 0};  // 0xc1 | 0x20 == 0xe1, but not ASCII
  const Bytes b{1, 0xe1, 0};
  EXPECT_FALSE(name_equal_ci(a.data(), a.size(), b.data(), b.size()));
}

TEST(NameEqualCi, AsciiLowerHelpers) {
  uint8_t s[] = {'A', 'Z', 'a', 'z', '@', '[', '`', '{', 0x3f, 0xc1};
  ascii_lower(s, sizeof s);
  const uint8_t want[] = {'a', 'z', 'a', 'z', '@', '[', '`', '{', 0x3f, 0xc1};
  EXPECT_EQ(Bytes(s, s + sizeof s), Bytes(want, want + sizeof want));
  for (unsigned c = 0; c < 256; ++c) {
    const uint8_t expected = (c >= 'A' && c <= 'Z') ? static_cast<uint8_t>(c + 32)
                                                    : static_cast<uint8_t>(c);
    EXPECT_EQ(ascii_lower(static_cast<uint8_t>(c)), expected) << c;
  }
}

// copy_lower has 16-byte, 8-byte and bytewise paths; every length and byte value must match
// the scalar ascii_lower, and nothing outside [dst, dst + n) may be written.
TEST(NameEqualCi, CopyLowerMatchesScalarForEveryLengthAndByte) {
  for (size_t n = 0; n <= 48; ++n) {
    for (unsigned start = 0; start < 256; start += 7) {
      Bytes src(n);
      for (size_t i = 0; i < n; ++i) src[i] = static_cast<uint8_t>(start + i * 13);
      Bytes want = src;
      ascii_lower(want.data(), want.size());
      Bytes dst(n + 2, 0xee);
      copy_lower(dst.data() + 1, src.data(), n);
      ASSERT_EQ(Bytes(dst.begin() + 1, dst.end() - 1), want) << "n " << n << " start " << start;
      ASSERT_EQ(dst.front(), 0xee);
      ASSERT_EQ(dst.back(), 0xee);
    }
  }
  // Every letter and its neighbours at every position of each path's width.
  const std::string edge = "@AZ[`az{@AMNZ[`az{";
  for (size_t n : {size_t{5}, size_t{12}, size_t{18}, size_t{40}}) {
    for (size_t rot = 0; rot < edge.size(); ++rot) {
      Bytes src(n);
      for (size_t i = 0; i < n; ++i) src[i] = static_cast<uint8_t>(edge[(i + rot) % edge.size()]);
      Bytes want = src;
      ascii_lower(want.data(), want.size());
      Bytes dst(n);
      copy_lower(dst.data(), src.data(), n);
      ASSERT_EQ(dst, want) << n << " " << rot;
    }
  }
  for (unsigned c = 0; c < 256; ++c) {
    for (size_t n : {size_t{3}, size_t{9}, size_t{16}, size_t{31}}) {
      const Bytes src(n, static_cast<uint8_t>(c));
      Bytes dst(n);
      copy_lower(dst.data(), src.data(), n);
      ASSERT_EQ(dst, Bytes(n, ascii_lower(static_cast<uint8_t>(c)))) << c << " n " << n;
    }
  }
}

// ---------------------------------------------------------------------------------------
// name_in_zone

bool in_zone(const Bytes& name, const Bytes& zone) {
  return name_in_zone(name.data(), name.size(), zone.data(), zone.size());
}
bool in_zone(std::string_view name, std::string_view zone) {
  return in_zone(wire_name(name), wire_name(zone));
}

TEST(NameInZone, SubdomainsAndEqualNames) {
  EXPECT_TRUE(in_zone("www.example.com", "example.com"));
  EXPECT_TRUE(in_zone("a.b.c.example.com", "example.com"));
  EXPECT_TRUE(in_zone("example.com", "example.com"));
  EXPECT_TRUE(in_zone("example.com", "com"));
  EXPECT_TRUE(in_zone("WWW.Example.COM", "example.com"));
  EXPECT_TRUE(in_zone("www.example.com", "EXAMPLE.com"));
}

TEST(NameInZone, LabelAligned) {
  EXPECT_FALSE(in_zone("badexample.com", "example.com"));
  EXPECT_FALSE(in_zone("www.badexample.com", "example.com"));
  EXPECT_FALSE(in_zone("xcom", "com"));
  // The zone's wire bytes appear at the end of the name, but inside a label.
  EXPECT_FALSE(in_zone(Bytes{5, 'a', 3, 'c', 'o', 'm', 0}, wire_name("com")));
}

TEST(NameInZone, NotInZone) {
  EXPECT_FALSE(in_zone("example.com", "www.example.com"));
  EXPECT_FALSE(in_zone("example.org", "example.com"));
  EXPECT_FALSE(in_zone("com", "org"));
  EXPECT_FALSE(in_zone(".", "com"));
}

TEST(NameInZone, RootContainsEverything) {
  EXPECT_TRUE(in_zone(".", "."));
  EXPECT_TRUE(in_zone("com", "."));
  EXPECT_TRUE(in_zone("www.example.com", "."));
  Bytes longest;
  for (int i = 0; i < 127; ++i) longest.insert(longest.end(), {1, 'a'});
  longest.push_back(0);
  EXPECT_TRUE(in_zone(longest, wire_name(".")));
}

}  // namespace
}  // namespace dotgate::dns
