// Test helper: what /proc/self/smaps says about the mappings of a file in this process.
#pragma once

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace dschat::test {

struct FileMappings {
  int count = 0;               // mappings of the file
  uint64_t resident_bytes = 0; // their Rss
};

inline FileMappings mappings_of(const std::filesystem::path& file) {
  const std::string wanted = std::filesystem::canonical(file).string();
  std::ifstream smaps("/proc/self/smaps");
  std::string line;
  bool in_file = false;
  FileMappings result;
  while (std::getline(smaps, line)) {
    if (line.empty()) continue;
    // A mapping's first line: "start-end perms offset dev inode   path"; then "Key:   value".
    std::istringstream fields(line);
    std::string first;
    fields >> first;
    if (first.back() != ':') {
      std::string perms, offset, dev, inode, path;
      fields >> perms >> offset >> dev >> inode;
      std::getline(fields >> std::ws, path);
      in_file = path == wanted;
      result.count += in_file;
    } else if (in_file && first == "Rss:") {
      uint64_t kib = 0;
      fields >> kib;
      result.resident_bytes += kib * 1024;
    }
  }
  return result;
}

// Bytes of `file` mapped into this process and resident.
inline uint64_t resident_bytes_of(const std::filesystem::path& file) { return mappings_of(file).resident_bytes; }

}  // namespace dschat::test
