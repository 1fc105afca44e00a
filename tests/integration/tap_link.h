// A Linux TAP device as a frame link for interop tests: the project's stack reads and
// writes whole Ethernet frames on it while the kernel, on the other side, behaves as a
// real peer. Test support only (src/ stays free of I/O).
#pragma once

#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <string>

namespace dotgate::test {

class TapLink {
 public:
  // Creates (or attaches to) TAP device `name` in the caller's network namespace.
  explicit TapLink(const std::string& name) {
    fd_ = ::open("/dev/net/tun", O_RDWR | O_CLOEXEC);
    if (fd_ < 0) throw std::runtime_error("open /dev/net/tun: " + std::string(std::strerror(errno)));
    ifreq ifr{};
    ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
    std::strncpy(ifr.ifr_name, name.c_str(), IFNAMSIZ - 1);
    if (::ioctl(fd_, TUNSETIFF, &ifr) < 0) {
      const std::string why = std::strerror(errno);
      ::close(fd_);
      throw std::runtime_error("TUNSETIFF " + name + ": " + why);
    }
  }
  ~TapLink() {
    if (fd_ >= 0) ::close(fd_);
  }
  TapLink(const TapLink&) = delete;
  TapLink& operator=(const TapLink&) = delete;

  // Waits up to timeout_ms for a frame; returns its length, 0 on timeout.
  size_t receive(uint8_t* buf, size_t cap, int timeout_ms) {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, timeout_ms) <= 0) return 0;
    const ssize_t n = ::read(fd_, buf, cap);
    return n > 0 ? static_cast<size_t>(n) : 0;
  }
  bool send(const uint8_t* frame, size_t len) { return ::write(fd_, frame, len) == static_cast<ssize_t>(len); }

 private:
  int fd_ = -1;
};

}  // namespace dotgate::test
