// The checks across keys that run once every value has been read (load.cc calls them; not
// part of the public interface): references between tables, duplicates, overlaps and
// sizes that depend on other sections. They need no TOML, only the model and where each
// key was written, so this file and validate.cc stay free of toml++.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "config/config.h"
#include "config/load.h"

namespace dotgate::config {

struct SourcePos {
  uint32_t line = 1;    // 1-based
  uint32_t column = 1;  // 1-based
};

// Where each key path (as in error messages: "pools.default.zones[0]") was written.
class SourceMap {
 public:
  void set(std::string key, SourcePos pos) { pos_[std::move(key)] = pos; }
  // The key's position; for a key not in the file (a default), that of the nearest
  // enclosing key or table that is; 1:1 if none is.
  SourcePos at(std::string_view key) const;
  bool contains(std::string_view key) const { return pos_.count(std::string(key)) != 0; }

 private:
  std::unordered_map<std::string, SourcePos> pos_;
};

// A key of a table as written in a key path: bare if it can be, else quoted.
std::string key_segment(std::string_view key);

// Levenshtein distance, '-' and '_' and ASCII case not counted; for "did you mean". Strings
// longer than 64 bytes are far from everything.
size_t edit_distance(std::string_view a, std::string_view b);

// Appends an error for every inconsistency between sections of `c`, a model read without
// errors (so its lists line up with the file's arrays, index for index).
void validate(const Config& c, const SourceMap& where, const std::string& file, std::vector<ConfigError>* errors);

}  // namespace dotgate::config
