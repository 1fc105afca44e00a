// libFuzzer target: an arbitrary byte stream, cut into arbitrary chunks, through the DoT
// reassembler. Checks it yields exactly what a plain reference parser of the whole stream
// finds (messages, zero-length and oversize frames, the partial tail), never buffers more
// than its limit, and that the writer's framing of those messages reads back the same.
#include <cstdint>
#include <cstring>
#include <vector>

#include "fuzz_check.h"
#include "tls/dot_framing.h"

using namespace dotgate::tls;

namespace {

struct Parsed {
  std::vector<std::vector<uint8_t>> messages;
  uint64_t zero_length = 0;
  uint64_t too_long = 0;
};

// The framing rules read straight off RFC 7766 8, over the whole stream at once.
Parsed reference(const uint8_t* p, size_t n, size_t max) {
  Parsed out;
  size_t pos = 0;
  while (n - pos >= 2) {
    const size_t len = static_cast<size_t>(p[pos]) << 8 | p[pos + 1];
    pos += 2;
    if (len == 0) {
      ++out.zero_length;
    } else if (len > max) {
      ++out.too_long;
      if (n - pos < len) break;
      pos += len;
    } else {
      if (n - pos < len) break;
      out.messages.emplace_back(p + pos, p + pos + len);
      pos += len;
    }
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 4) return 0;
  // Byte 0: the message limit; bytes 1-3: the seed of the chunk sizes; the rest: the stream.
  static const size_t kLimits[4] = {kMaxDnsMessage, 512, 12, 1};
  const size_t max = kLimits[data[0] & 3];
  uint32_t rng = (uint32_t(data[1]) << 16 | uint32_t(data[2]) << 8 | data[3]) | 1;
  const uint8_t* stream = data + 4;
  const size_t n = size - 4;
  const bool tiny_chunks = data[0] & 4;

  DotReassembler r(max);
  Parsed got;
  size_t pos = 0;
  while (pos < n) {
    rng ^= rng << 13;
    rng ^= rng >> 17;
    rng ^= rng << 5;
    const size_t chunk = 1 + rng % (tiny_chunks ? 4 : 700);
    const size_t len = chunk < n - pos ? chunk : n - pos;
    r.feed(stream + pos, len);
    pos += len;
    const uint8_t* m = nullptr;
    size_t mlen = 0;
    for (;;) {
      const FrameResult fr = r.next(&m, &mlen);
      if (fr == FrameResult::kNeedMore) break;
      if (fr == FrameResult::kZeroLength) ++got.zero_length;
      if (fr == FrameResult::kTooLong) ++got.too_long;
      if (fr == FrameResult::kMessage) {
        CHECK(m != nullptr && mlen >= 1 && mlen <= max);
        got.messages.emplace_back(m, m + mlen);
      }
    }
    CHECK(r.buffer_capacity() <= max);
  }
  const Parsed want = reference(stream, n, max);
  CHECK(got.messages == want.messages);
  CHECK(got.zero_length == want.zero_length && r.stats().zero_length == want.zero_length);
  CHECK(got.too_long == want.too_long && r.stats().too_long == want.too_long);
  CHECK(r.stats().messages == want.messages.size());

  // The writer frames them again; one chunk reads back the same messages.
  DotWriter w(want.messages.size() * 2 + n + 2);
  for (const auto& msg : want.messages) CHECK(w.append(msg.data(), msg.size()));
  DotReassembler again;
  again.feed(w.data(), w.size());
  const uint8_t* m = nullptr;
  size_t mlen = 0;
  size_t i = 0;
  while (again.next(&m, &mlen) == FrameResult::kMessage) {
    CHECK(i < want.messages.size() && mlen == want.messages[i].size() &&
          std::memcmp(m, want.messages[i].data(), mlen) == 0);
    ++i;
  }
  CHECK(i == want.messages.size() && !again.in_frame());
  return 0;
}
