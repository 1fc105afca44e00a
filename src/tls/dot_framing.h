// DNS message framing on a TCP or TLS stream (RFC 1035 4.2.2, RFC 7766 8, RFC 7858 3.3):
// every message is preceded by its length as two bytes in network order, both ways.
//
// DotReassembler turns plaintext chunks of any size (what TlsSession::read returns) into
// whole messages: messages that lie inside one chunk are returned in place, without a
// copy; only a message split across chunks is assembled in a buffer of its own, which grows
// (to at most the largest message allowed) while warming up and is then reused.
// DotWriter gathers a burst of messages, each with its prefix, into one plaintext buffer
// that goes to TlsSession::write in one call, so the burst leaves in as few records as
// fit (one record up to 16 kB).
//
// Received data is hostile: lengths are bounded, a zero-length frame is refused and
// counted. Neither class allocates per message once warmed; neither is thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

namespace dotgate::tls {

inline constexpr size_t kDotLengthPrefix = 2;
inline constexpr size_t kMaxDnsMessage = 65535;

struct DotFramingStats {
  uint64_t messages = 0;     // complete messages returned
  uint64_t assembled = 0;    // ... of which were split across chunks (copied once)
  uint64_t zero_length = 0;  // frames of length 0 refused
  uint64_t too_long = 0;     // frames longer than the limit, skipped
};

enum class FrameResult : uint8_t {
  kMessage,     // a complete message
  kNeedMore,    // the chunk is used up (a partial frame is kept for the next one)
  kZeroLength,  // a frame of length 0 was refused (the stream stays in step)
  kTooLong,     // a frame above the limit is being skipped (the stream stays in step)
};

class DotReassembler {
 public:
  // Messages longer than max_message (at most kMaxDnsMessage) are skipped. reserve_bytes
  // pre-warms the assembly buffer (0: it grows on the first split message).
  explicit DotReassembler(size_t max_message = kMaxDnsMessage, size_t reserve_bytes = 0);

  // The next chunk of the stream. The previous chunk must be used up: next() returned
  // kNeedMore. The bytes must stay valid and unchanged until then.
  void feed(const uint8_t* data, size_t len) noexcept;
  // The next message from the chunks fed so far. On kMessage, *message and *len are valid
  // until the next call to next() or feed(): they point into the chunk or into the
  // assembly buffer. Call until kNeedMore.
  FrameResult next(const uint8_t** message, size_t* len);

  bool in_frame() const noexcept { return prefix_have_ != 0 || want_ != 0 || skip_ != 0; }  // mid-frame
  size_t buffer_capacity() const noexcept { return cap_; }
  const DotFramingStats& stats() const noexcept { return stats_; }

 private:
  void reserve(size_t n);
  const uint8_t* in_ = nullptr;
  size_t in_len_ = 0;
  uint8_t prefix_[kDotLengthPrefix] = {};
  uint8_t prefix_have_ = 0;  // prefix bytes received of a prefix split across chunks
  size_t want_ = 0;          // length of the message being assembled; 0: none
  size_t have_ = 0;          // bytes of it in buf_
  size_t skip_ = 0;          // bytes of an oversize frame still to discard
  size_t max_;
  std::unique_ptr<uint8_t[]> buf_;
  size_t cap_ = 0;
  DotFramingStats stats_;
};

class DotWriter {
 public:
  explicit DotWriter(size_t capacity = 64 * 1024);  // the one allocation

  // Appends a message with its length prefix. False (nothing appended, counted in
  // rejected()) if it is empty, longer than kMaxDnsMessage, or does not fit.
  bool append(const uint8_t* message, size_t len) noexcept;
  // Builds a message in place: room for up to max_len bytes after the prefix, or null if
  // that does not fit (counted); then finish(len) with the length actually written.
  uint8_t* begin(size_t max_len) noexcept;
  void finish(size_t len) noexcept;

  // The bytes not yet taken by TLS, oldest first; pass them to TlsSession::write and
  // consume() what it took. Appending may move them (TlsSession accepts that).
  const uint8_t* data() const noexcept { return buf_.get() + head_; }
  size_t size() const noexcept { return tail_ - head_; }
  void consume(size_t n) noexcept;
  size_t capacity() const noexcept { return cap_; }
  uint64_t rejected() const noexcept { return rejected_; }

 private:
  bool make_room(size_t n) noexcept;
  std::unique_ptr<uint8_t[]> buf_;
  size_t cap_;
  size_t head_ = 0, tail_ = 0;
  size_t open_ = 0;  // begin()'s max_len while a message is being built
  uint64_t rejected_ = 0;
};

}  // namespace dotgate::tls
