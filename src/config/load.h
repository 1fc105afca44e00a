// Reading the configuration file: TOML (https://toml.io, v1.0) into config::Config, with
// every value checked and every mistake reported as
//
//   FILE:LINE:COL: KEY: message
//   dotgate.toml:14:30: pools.default.upstreams[1]: "1.1.1.1:99999" is not a valid upstream: ...
//
// LINE and COL are 1-based and point at the offending value (or at the key, for unknown
// keys; at the table's header, for missing keys). KEY is the dotted path of the key with
// array indexes, as in pools.default.upstreams[1] or listener[0].allow[2]. A TOML syntax
// error has no KEY; then the line reads "FILE:LINE:COL: message". toml++ stops at the first
// syntax error; past that, errors are collected: type and range errors of every value,
// unknown keys (with "did you mean" for near misses), then the checks across keys
// (validate.h). They come back sorted by position.
//
// No file is opened except `path` itself: certificate, key, CA bundle and hosts-file paths
// are checked for form (absolute) only, and opened by the process that uses them.
// Both functions may allocate freely and are meant for start-up and reload, not a packet path.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "config/config.h"

namespace dotgate::config {

struct ConfigError {
  std::string file;
  uint32_t line = 0;    // 1-based; 0 only when the file itself could not be read
  uint32_t column = 0;  // 1-based; 0 with line 0
  std::string key;      // empty for TOML syntax errors and unreadable files
  std::string message;

  std::string to_string() const;  // "FILE:LINE:COL: KEY: message"
};

using ConfigResult = std::variant<Config, std::vector<ConfigError>>;

// Parses `text` as the contents of a file named `file_name` (used only in errors). On
// failure the vector is never empty and every error has line >= 1.
ConfigResult parse_config(std::string_view text, std::string_view file_name);

// Reads and parses the file at `path`; errors name it as given. A file that cannot be read
// gives one error with line 0 and the system's reason.
ConfigResult load_config(const std::string& path);

}  // namespace dotgate::config
