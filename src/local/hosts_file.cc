#include "local/hosts_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

#include "dns/name.h"
#include "dns/wire.h"

namespace dotgate::local {

namespace {

// A bound on what start-up reads: block lists run to a few hundred thousand lines.
constexpr size_t kMaxHostsBytes = size_t{256} << 20;

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r'; }

// Host names as hosts(5) has them: letters, digits, '-', '_' and dots between labels (a
// trailing dot allowed). Escapes and other bytes are refused: a hosts file is not a zone
// file, and a stray byte is far more likely a mistake than a name.
bool host_name_chars(std::string_view s) {
  for (char c : s) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
                    c == '_' || c == '.';
    if (!ok) return false;
  }
  return true;
}

}  // namespace

HostsFile parse_hosts(std::string_view text, std::string_view path) {
  HostsFile file;
  file.path = std::string(path);
  uint32_t line_no = 0;
  while (!text.empty()) {
    ++line_no;
    const size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
    if (const size_t hash = line.find('#'); hash != std::string_view::npos) line = line.substr(0, hash);

    std::vector<std::string_view> fields;
    size_t i = 0;
    while (i < line.size()) {
      while (i < line.size() && is_space(line[i])) ++i;
      size_t j = i;
      while (j < line.size() && !is_space(line[j])) ++j;
      if (j > i) fields.push_back(line.substr(i, j - i));
      i = j;
    }
    if (fields.empty()) continue;

    auto error = [&](const std::string& message) {
      file.errors.push_back(file.path + ":" + std::to_string(line_no) + ": " + message);
    };
    HostsEntry e;
    e.line = line_no;
    const auto addr = net::parse_ip(fields[0]);
    if (!addr) {
      error("'" + std::string(fields[0]) + "' is not an IPv4 or IPv6 address");
      continue;
    }
    e.addr = *addr;
    e.null_addr = addr->v6 ? addr->v6addr.is_unspecified() : addr->v4 == 0;
    if (fields.size() == 1) {
      error("address " + std::string(fields[0]) + " has no host names");
      continue;
    }
    bool bad = false;
    for (size_t k = 1; k < fields.size(); ++k) {
      uint8_t wire[dns::kMaxNameWire];
      size_t len = 0;
      if (fields[k] == "." || !host_name_chars(fields[k]) || !dns::name_from_text(fields[k], wire, &len)) {
        error("'" + std::string(fields[k]) + "' is not a host name");
        bad = true;
        break;
      }
      dns::ascii_lower(wire, len);
      e.names.emplace_back(wire, wire + len);
    }
    if (!bad) file.entries.push_back(std::move(e));
  }
  return file;
}

HostsFile load_hosts(const std::string& path) {
  auto fail = [&](int err) { return std::runtime_error(path + ": cannot read: " + std::strerror(err)); };
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw fail(errno);
  std::string text;
  char buf[16384];
  while (true) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {  // EISDIR for a directory, EIO, ...
      const int err = errno;
      ::close(fd);
      throw fail(err);
    }
    if (n == 0) break;
    if (text.size() + static_cast<size_t>(n) > kMaxHostsBytes) {
      ::close(fd);
      throw std::runtime_error(path + ": larger than " + std::to_string(kMaxHostsBytes >> 20) + " MiB");
    }
    text.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return parse_hosts(text, path);
}

}  // namespace dotgate::local
