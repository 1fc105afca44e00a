// A large, zeroed, page-aligned allocation for per-worker tables (cache index and arena).
//
// Random access over hundreds of megabytes with 4 KiB pages costs a TLB miss (and a page
// walk) per lookup; asking for transparent huge pages removes most of them. The memory is
// touched at construction so the packet path never takes a first-touch page fault. In the
// DPDK dataplane the same role is played by hugepage memory from rte_malloc.
#pragma once

#include <sys/mman.h>

#include <cstddef>
#include <cstring>
#include <new>

namespace dotgate::util {

class HugeBuffer {
 public:
  HugeBuffer() = default;
  explicit HugeBuffer(size_t bytes) : size_((bytes + kHuge - 1) & ~(kHuge - 1)) {
    void* p = ::mmap(nullptr, size_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) throw std::bad_alloc();
    ::madvise(p, size_, MADV_HUGEPAGE);  // a hint: without THP we still work, just slower
    std::memset(p, 0, size_);
    data_ = static_cast<unsigned char*>(p);
  }
  ~HugeBuffer() {
    if (data_ != nullptr) ::munmap(data_, size_);
  }
  HugeBuffer(HugeBuffer&& o) noexcept : data_(o.data_), size_(o.size_) {
    o.data_ = nullptr;
    o.size_ = 0;
  }
  HugeBuffer& operator=(HugeBuffer&& o) noexcept {
    if (this != &o) {
      if (data_ != nullptr) ::munmap(data_, size_);
      data_ = o.data_;
      size_ = o.size_;
      o.data_ = nullptr;
      o.size_ = 0;
    }
    return *this;
  }
  HugeBuffer(const HugeBuffer&) = delete;
  HugeBuffer& operator=(const HugeBuffer&) = delete;

  unsigned char* data() const noexcept { return data_; }
  size_t size() const noexcept { return size_; }

 private:
  static constexpr size_t kHuge = size_t{2} << 20;
  unsigned char* data_ = nullptr;
  size_t size_ = 0;
};

}  // namespace dotgate::util
