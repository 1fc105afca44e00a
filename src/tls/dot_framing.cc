#include "tls/dot_framing.h"

#include <algorithm>
#include <cassert>
#include <cstring>

namespace dotgate::tls {

// --- reassembly --------------------------------------------------------------------------

DotReassembler::DotReassembler(size_t max_message, size_t reserve_bytes)
    : max_(std::min(max_message, kMaxDnsMessage)) {
  if (reserve_bytes) reserve(std::min(reserve_bytes, max_));
}

void DotReassembler::reserve(size_t n) {
  if (n <= cap_) return;
  // Doubling from 1 kB: a handful of allocations over the stream's life, never more
  // than the limit.
  size_t next = std::max<size_t>(cap_ * 2, 1024);
  next = std::min(std::max(next, n), max_);
  auto bigger = std::make_unique<uint8_t[]>(next);
  if (have_) std::memcpy(bigger.get(), buf_.get(), have_);
  buf_ = std::move(bigger);
  cap_ = next;
}

void DotReassembler::feed(const uint8_t* data, size_t len) noexcept {
  assert(in_len_ == 0 && "the previous chunk was not used up");
  in_ = data;
  in_len_ = len;
}

FrameResult DotReassembler::next(const uint8_t** message, size_t* len) {
  *message = nullptr;
  *len = 0;
  if (skip_) {
    const size_t n = std::min(skip_, in_len_);
    in_ += n;
    in_len_ -= n;
    skip_ -= n;
    if (skip_) return FrameResult::kNeedMore;
  }
  if (want_) {  // finishing a split message
    const size_t n = std::min(want_ - have_, in_len_);
    if (n) std::memcpy(buf_.get() + have_, in_, n);
    have_ += n;
    in_ += n;
    in_len_ -= n;
    if (have_ < want_) return FrameResult::kNeedMore;
    *message = buf_.get();
    *len = want_;
    want_ = have_ = 0;
    ++stats_.messages;
    ++stats_.assembled;
    return FrameResult::kMessage;
  }
  // At a frame boundary: the length prefix, itself possibly split.
  size_t frame = 0;
  if (prefix_have_ == 0 && in_len_ >= kDotLengthPrefix) {
    frame = static_cast<size_t>(in_[0]) << 8 | in_[1];
    in_ += kDotLengthPrefix;
    in_len_ -= kDotLengthPrefix;
  } else {
    while (prefix_have_ < kDotLengthPrefix && in_len_) {
      prefix_[prefix_have_++] = *in_++;
      --in_len_;
    }
    if (prefix_have_ < kDotLengthPrefix) return FrameResult::kNeedMore;
    prefix_have_ = 0;
    frame = static_cast<size_t>(prefix_[0]) << 8 | prefix_[1];
  }
  if (frame == 0) {
    ++stats_.zero_length;
    return FrameResult::kZeroLength;
  }
  if (frame > max_) {
    ++stats_.too_long;
    skip_ = frame;
    return FrameResult::kTooLong;
  }
  if (in_len_ >= frame) {  // the whole message is in this chunk: no copy
    *message = in_;
    *len = frame;
    in_ += frame;
    in_len_ -= frame;
    ++stats_.messages;
    return FrameResult::kMessage;
  }
  reserve(frame);
  if (in_len_) std::memcpy(buf_.get(), in_, in_len_);
  have_ = in_len_;
  want_ = frame;
  in_ += in_len_;
  in_len_ = 0;
  return FrameResult::kNeedMore;
}

// --- coalescing writer -------------------------------------------------------------------

DotWriter::DotWriter(size_t capacity) : buf_(std::make_unique<uint8_t[]>(capacity)), cap_(capacity) {}

bool DotWriter::make_room(size_t n) noexcept {
  if (tail_ + n <= cap_) return true;
  if (size() + n > cap_) return false;
  // Compact: what TLS has not taken moves to the front (a record already made from it is
  // resent from the new place; SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER allows that).
  std::memmove(buf_.get(), buf_.get() + head_, size());
  tail_ -= head_;
  head_ = 0;
  return true;
}

bool DotWriter::append(const uint8_t* message, size_t len) noexcept {
  if (len == 0) {
    ++rejected_;
    return false;
  }
  uint8_t* p = begin(len);
  if (!p) return false;
  std::memcpy(p, message, len);
  finish(len);
  return true;
}

uint8_t* DotWriter::begin(size_t max_len) noexcept {
  assert(open_ == 0 && "finish() the previous message first");
  if (max_len > kMaxDnsMessage || !make_room(kDotLengthPrefix + max_len)) {
    ++rejected_;
    return nullptr;
  }
  open_ = max_len;
  return buf_.get() + tail_ + kDotLengthPrefix;
}

void DotWriter::finish(size_t len) noexcept {
  if (len > open_ || len == 0) {  // nothing (or too much) written: the message is dropped
    open_ = 0;
    ++rejected_;
    return;
  }
  buf_[tail_] = static_cast<uint8_t>(len >> 8);
  buf_[tail_ + 1] = static_cast<uint8_t>(len);
  tail_ += kDotLengthPrefix + len;
  open_ = 0;
}

void DotWriter::consume(size_t n) noexcept {
  head_ += std::min(n, size());
  if (head_ == tail_) head_ = tail_ = 0;
}

}  // namespace dotgate::tls
