// Sizes and durations as operators write them in the config file.
//
// Sizes: a whole number of bytes with an optional binary unit, with or without one space:
// "65536", "512B", "64K", "64KiB", "512M", "512MiB", "2G", "2GiB", "1T", "1TiB". Single
// letters are 1024-based as in unbound and systemd (k, m, g and t in lower case too).
// "MB", "kB" and the like are refused as ambiguous (10^6 or 2^20?), with a hint.
//
// Durations: one or more whole-number-and-unit groups, largest first, each unit once:
// "500ms", "30s", "5m", "1h30m", "2d", "1m30s500ms". Units: ms, s, m (or min), h, d.
// A bare number is seconds (as systemd reads it).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <variant>

namespace dotgate::config {

// Why a size or duration did not parse, for "file:line:col: key: message" errors.
struct UnitError {
  std::string message;
};

std::variant<uint64_t, UnitError> parse_size(std::string_view text);      // bytes
std::variant<uint64_t, UnitError> parse_duration(std::string_view text);  // milliseconds

// The shortest exact form: "512MiB", "1500B"; "1m30s", "250ms", "0s".
std::string format_size(uint64_t bytes);
std::string format_duration(uint64_t ms);

}  // namespace dotgate::config
