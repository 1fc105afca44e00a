// Tests for tls/dot_framing.h: the 2-byte length framing of DNS over TCP and TLS.
#include "tls/dot_framing.h"

#include <gtest/gtest.h>

#include <vector>

namespace dotgate::tls {
namespace {

using Bytes = std::vector<uint8_t>;

Bytes message(size_t len, uint8_t seed) {
  Bytes m(len);
  for (size_t i = 0; i < len; ++i) m[i] = static_cast<uint8_t>(seed + i * 7);
  return m;
}

// The framing written by hand, independent of DotWriter.
Bytes frame(const std::vector<Bytes>& messages) {
  Bytes out;
  for (const Bytes& m : messages) {
    out.push_back(static_cast<uint8_t>(m.size() >> 8));
    out.push_back(static_cast<uint8_t>(m.size()));
    out.insert(out.end(), m.begin(), m.end());
  }
  return out;
}

// Feeds `stream` in chunks ending at the given offsets; returns what came out.
std::vector<Bytes> reassemble(DotReassembler& r, const Bytes& stream, const std::vector<size_t>& cuts) {
  std::vector<Bytes> out;
  size_t from = 0;
  std::vector<size_t> ends = cuts;
  ends.push_back(stream.size());
  for (size_t to : ends) {
    r.feed(stream.data() + from, to - from);
    const uint8_t* m;
    size_t len;
    for (FrameResult fr; (fr = r.next(&m, &len)) != FrameResult::kNeedMore;) {
      if (fr == FrameResult::kMessage) out.emplace_back(m, m + len);
    }
    from = to;
  }
  return out;
}

TEST(DotReassembler, WholeMessagesInAChunkAreNotCopied) {
  const std::vector<Bytes> msgs = {message(12, 1), message(40, 2), message(1, 3)};
  const Bytes stream = frame(msgs);
  DotReassembler r;
  r.feed(stream.data(), stream.size());
  const uint8_t* m;
  size_t len;
  ASSERT_EQ(r.next(&m, &len), FrameResult::kMessage);
  EXPECT_EQ(m, stream.data() + 2);  // points into the chunk
  EXPECT_EQ(Bytes(m, m + len), msgs[0]);
  ASSERT_EQ(r.next(&m, &len), FrameResult::kMessage);
  EXPECT_EQ(Bytes(m, m + len), msgs[1]);
  ASSERT_EQ(r.next(&m, &len), FrameResult::kMessage);
  EXPECT_EQ(Bytes(m, m + len), msgs[2]);
  EXPECT_EQ(r.next(&m, &len), FrameResult::kNeedMore);
  EXPECT_EQ(r.next(&m, &len), FrameResult::kNeedMore);
  EXPECT_EQ(r.stats().messages, 3u);
  EXPECT_EQ(r.stats().assembled, 0u);
  EXPECT_EQ(r.buffer_capacity(), 0u);  // nothing was ever split: no buffer at all
  EXPECT_FALSE(r.in_frame());
}

TEST(DotReassembler, SplitAtEveryByteBoundary) {
  const std::vector<Bytes> msgs = {message(1, 9), message(12, 1), message(300, 2), message(2, 3), message(1500, 4)};
  const Bytes stream = frame(msgs);
  for (size_t cut = 0; cut <= stream.size(); ++cut) {
    DotReassembler r;
    ASSERT_EQ(reassemble(r, stream, {cut}), msgs) << "cut at " << cut;
    EXPECT_FALSE(r.in_frame());
  }
  // Two cuts: every pair around the prefix of the third message and inside it.
  for (size_t a = 10; a < 30; ++a) {
    for (size_t b = a; b < 330; b += 3) {
      DotReassembler r;
      ASSERT_EQ(reassemble(r, stream, {a, b}), msgs) << a << "," << b;
    }
  }
}

TEST(DotReassembler, EveryChunkSize) {
  std::vector<Bytes> msgs;
  for (size_t i = 0; i < 40; ++i) msgs.push_back(message(1 + i * 37 % 700, static_cast<uint8_t>(i)));
  const Bytes stream = frame(msgs);
  for (size_t chunk = 1; chunk <= 800; chunk += (chunk < 20 ? 1 : 37)) {
    std::vector<size_t> cuts;
    for (size_t at = chunk; at < stream.size(); at += chunk) cuts.push_back(at);
    DotReassembler r;
    ASSERT_EQ(reassemble(r, stream, cuts), msgs) << "chunk " << chunk;
    EXPECT_EQ(r.stats().messages, msgs.size());
  }
}

TEST(DotReassembler, ZeroLengthFrameRefusedAndCounted) {
  Bytes stream = frame({message(20, 1)});
  stream.push_back(0);
  stream.push_back(0);
  const Bytes tail = frame({message(30, 2)});
  stream.insert(stream.end(), tail.begin(), tail.end());
  for (size_t cut = 0; cut <= stream.size(); ++cut) {
    DotReassembler r;
    size_t zero = 0;
    std::vector<Bytes> got;
    size_t from = 0;
    for (size_t to : {cut, stream.size()}) {
      r.feed(stream.data() + from, to - from);
      const uint8_t* m;
      size_t len;
      for (FrameResult fr; (fr = r.next(&m, &len)) != FrameResult::kNeedMore;) {
        if (fr == FrameResult::kZeroLength) ++zero;
        if (fr == FrameResult::kMessage) got.emplace_back(m, m + len);
      }
      from = to;
    }
    EXPECT_EQ(zero, 1u);
    EXPECT_EQ(r.stats().zero_length, 1u);
    EXPECT_EQ(got, (std::vector<Bytes>{message(20, 1), message(30, 2)})) << cut;
  }
}

TEST(DotReassembler, MaximumLength) {
  const std::vector<Bytes> msgs = {message(65535, 5), message(12, 6)};
  const Bytes stream = frame(msgs);
  ASSERT_EQ(stream[0], 0xff);
  ASSERT_EQ(stream[1], 0xff);
  for (size_t cut : {size_t{0}, size_t{1}, size_t{2}, size_t{3}, size_t{40000}, size_t{65536}, size_t{65537},
                     size_t{65538}, stream.size() - 1}) {
    DotReassembler r;
    ASSERT_EQ(reassemble(r, stream, {cut}), msgs) << cut;
    EXPECT_LE(r.buffer_capacity(), kMaxDnsMessage);
  }
}

TEST(DotReassembler, FramesAboveTheLimitSkipped) {
  const Bytes stream = frame({message(100, 1), message(513, 2), message(512, 3)});
  for (size_t cut = 0; cut <= stream.size(); cut += 5) {
    DotReassembler r(512);
    EXPECT_EQ(reassemble(r, stream, {cut}), (std::vector<Bytes>{message(100, 1), message(512, 3)})) << cut;
    EXPECT_EQ(r.stats().too_long, 1u);
    EXPECT_LE(r.buffer_capacity(), 512u);
  }
}

TEST(DotReassembler, NoAllocationOnceWarmed) {
  std::vector<Bytes> msgs;
  for (size_t i = 0; i < 200; ++i) msgs.push_back(message(100 + i * 13 % 1200, static_cast<uint8_t>(i)));
  const Bytes stream = frame(msgs);
  std::vector<size_t> cuts;
  for (size_t at = 97; at < stream.size(); at += 97) cuts.push_back(at);
  DotReassembler r;
  ASSERT_EQ(reassemble(r, stream, cuts), msgs);
  const size_t warmed = r.buffer_capacity();
  EXPECT_GE(warmed, 1200u);
  EXPECT_GT(r.stats().assembled, 100u);
  ASSERT_EQ(reassemble(r, stream, cuts), msgs);
  EXPECT_EQ(r.buffer_capacity(), warmed);
  DotReassembler pre(kMaxDnsMessage, 4096);
  EXPECT_EQ(pre.buffer_capacity(), 4096u);
}

TEST(DotWriter, CoalescesABurst) {
  DotWriter w(4096);
  std::vector<Bytes> msgs;
  for (size_t i = 0; i < 32; ++i) {
    msgs.push_back(message(60 + i, static_cast<uint8_t>(i)));
    ASSERT_TRUE(w.append(msgs.back().data(), msgs.back().size()));
  }
  EXPECT_EQ(Bytes(w.data(), w.data() + w.size()), frame(msgs));
  w.consume(w.size());
  EXPECT_EQ(w.size(), 0u);
}

TEST(DotWriter, RefusesWhatCannotBeFramed) {
  DotWriter w(100'000);
  const Bytes big(65536, 1);
  EXPECT_FALSE(w.append(big.data(), big.size()));
  EXPECT_FALSE(w.append(big.data(), 0));
  EXPECT_TRUE(w.append(big.data(), 65535));
  EXPECT_FALSE(w.append(big.data(), 65535));  // does not fit any more
  EXPECT_EQ(w.rejected(), 3u);
  EXPECT_EQ(w.size(), 65537u);
}

TEST(DotWriter, PartialConsumeAndCompaction) {
  DotWriter w(64);
  const Bytes a = message(30, 1), b = message(20, 2), c = message(25, 3);
  ASSERT_TRUE(w.append(a.data(), a.size()));
  ASSERT_TRUE(w.append(b.data(), b.size()));  // 54 bytes used
  w.consume(40);                              // TLS took part of it
  const Bytes pending(w.data(), w.data() + w.size());
  ASSERT_TRUE(w.append(c.data(), c.size()));  // fits only after moving the 14 pending bytes
  const Bytes all = frame({a, b, c});
  EXPECT_EQ(Bytes(w.data(), w.data() + w.size()), Bytes(all.begin() + 40, all.end()));
  EXPECT_EQ(Bytes(w.data(), w.data() + pending.size()), pending);
}

TEST(DotWriter, BuildInPlace) {
  DotWriter w(128);
  uint8_t* p = w.begin(100);
  ASSERT_NE(p, nullptr);
  for (int i = 0; i < 10; ++i) p[i] = static_cast<uint8_t>(i);
  w.finish(10);
  EXPECT_EQ(w.size(), 12u);
  EXPECT_EQ(w.data()[0], 0);
  EXPECT_EQ(w.data()[1], 10);
  EXPECT_EQ(w.data()[11], 9);
  EXPECT_EQ(w.begin(200), nullptr);
  ASSERT_NE(w.begin(5), nullptr);
  w.finish(6);  // more than was reserved: dropped
  EXPECT_EQ(w.size(), 12u);
  EXPECT_EQ(w.rejected(), 2u);
}

}  // namespace
}  // namespace dotgate::tls
