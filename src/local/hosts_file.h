// Reading a hosts file (/etc/hosts format, hosts(5)), as systemd-resolved's ReadEtcHosts=
// does, for [local] hosts_file. Start-up only; nothing here is on the packet path.
//
// Each line: an IPv4 or IPv6 address, then one or more host names, separated by spaces or
// tabs; "#" starts a comment anywhere. Blank and comment-only lines are skipped. As in
// resolved, the address 0.0.0.0 or :: names hosts that exist with no address at all (block
// lists use it): their A/AAAA queries get NODATA instead of going upstream.
//
// Every defect is reported, each as "FILE:LINE: message", and the lines that have one
// contribute nothing; the caller decides whether errors are fatal (dotgate: they are).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "net/addr_text.h"

namespace dotgate::local {

struct HostsEntry {
  net::IpAddr addr;
  bool null_addr = false;                  // 0.0.0.0 or ::: names without addresses
  std::vector<std::vector<uint8_t>> names;  // uncompressed wire names, lower-case, in line order
  uint32_t line = 0;                        // 1-based, for messages
};

struct HostsFile {
  std::string path;  // as given, for messages
  std::vector<HostsEntry> entries;
  std::vector<std::string> errors;  // "PATH:LINE: message", in line order
};

// Parses the text of a hosts file; `path` only names it in messages.
HostsFile parse_hosts(std::string_view text, std::string_view path);

// Reads and parses the file at `path`. Throws std::runtime_error "PATH: cannot read: REASON"
// if it cannot be opened or read; parse errors are returned in `errors`, not thrown.
HostsFile load_hosts(const std::string& path);

}  // namespace dotgate::local
