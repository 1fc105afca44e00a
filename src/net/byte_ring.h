// A fixed-capacity byte ring over caller-provided memory: a TCP connection's send or
// receive buffer. Bytes are appended at the tail and consumed from the head; `peek` reads
// at any offset from the head without consuming (retransmission). Detached (no memory,
// capacity 0) it is empty and full at once.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace dotgate::net {

class ByteRing {
 public:
  void attach(uint8_t* memory, size_t capacity) noexcept {
    mem_ = memory;
    cap_ = capacity;
    head_ = size_ = 0;
  }
  size_t size() const noexcept { return size_; }
  size_t space() const noexcept { return cap_ - size_; }
  size_t capacity() const noexcept { return cap_; }
  uint8_t* memory() const noexcept { return mem_; }
  void clear() noexcept { head_ = size_ = 0; }

  // Appends up to len bytes; returns how many fit.
  size_t write(const uint8_t* data, size_t len) noexcept {
    if (len > space()) len = space();
    if (len == 0) return 0;
    const size_t tail = (head_ + size_) % cap_;
    const size_t first = len < cap_ - tail ? len : cap_ - tail;
    std::memcpy(mem_ + tail, data, first);
    std::memcpy(mem_, data + first, len - first);
    size_ += len;
    return len;
  }
  // Copies up to len bytes starting `offset` bytes after the head; returns how many.
  size_t peek(size_t offset, uint8_t* out, size_t len) const noexcept {
    if (offset >= size_) return 0;
    if (len > size_ - offset) len = size_ - offset;
    const size_t at = (head_ + offset) % cap_;
    const size_t first = len < cap_ - at ? len : cap_ - at;
    std::memcpy(out, mem_ + at, first);
    std::memcpy(out + first, mem_, len - first);
    return len;
  }
  // Copies data to `offset` bytes past the tail without making it readable (data that
  // arrived ahead of a hole); commit() later extends the readable bytes over it. Returns
  // false if it does not fit in the free space.
  bool write_at(size_t offset, const uint8_t* data, size_t len) noexcept {
    if (offset + len > space()) return false;
    if (len == 0) return true;
    const size_t at = (head_ + size_ + offset) % cap_;
    const size_t first = len < cap_ - at ? len : cap_ - at;
    std::memcpy(mem_ + at, data, first);
    std::memcpy(mem_, data + first, len - first);
    return true;
  }
  // Makes `len` more bytes past the tail readable (written earlier by write_at).
  void commit(size_t len) noexcept { size_ += len > space() ? space() : len; }

  void consume(size_t len) noexcept {
    if (len > size_) len = size_;
    if (len == 0) return;
    // The tail stays where it is, even when the ring empties: bytes written past it by
    // write_at() must keep their place.
    head_ = (head_ + len) % cap_;
    size_ -= len;
  }

 private:
  uint8_t* mem_ = nullptr;
  size_t cap_ = 0;
  size_t head_ = 0;
  size_t size_ = 0;
};

}  // namespace dotgate::net
