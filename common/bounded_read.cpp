#include "common/bounded_read.h"

#include <stdio.h>

namespace dschat {

std::string limit_size_text(uint64_t bytes) {
  if (bytes >= kMiB && bytes % kMiB == 0) return std::to_string(bytes / kMiB) + " MiB";
  return std::to_string(bytes) + " bytes";
}

std::string read_all_bounded(std::FILE* in, const FileLimit& limit, const std::string& name) {
  std::string text;
  char buffer[1 << 16];
  size_t got;
  while ((got = std::fread(buffer, 1, sizeof buffer, in)) > 0) {
    if (text.size() + got > limit.max_bytes) {
      throw InputTooLarge(name + ": is longer than the " + limit_size_text(limit.max_bytes) + " limit for " +
                          limit.kind);
    }
    text.append(buffer, got);
  }
  return text;
}

bool read_line_bounded(std::FILE* in, std::string& line, const FileLimit& limit, bool& too_long) {
  line.clear();
  too_long = false;
  bool read_any = false;
  // One character at a time from stdio's buffer (getc_unlocked is a macro on it: no call, no lock
  // per byte). fgets would be no faster and cannot tell a NUL byte in the line from its end.
  ::flockfile(in);
  int c;
  while ((c = getc_unlocked(in)) != EOF) {
    read_any = true;
    if (c == '\n') break;
    if (too_long) continue;
    if (line.size() == limit.max_bytes) {
      too_long = true;
      std::string().swap(line);  // the memory goes now, not after the rest of the line
      continue;
    }
    line.push_back(static_cast<char>(c));
  }
  ::funlockfile(in);
  return read_any;
}

std::string line_too_long_message(const std::string& name, uint64_t line_number, const FileLimit& limit) {
  return name + ": line " + std::to_string(line_number) + " is longer than the " + limit_size_text(limit.max_bytes) +
         " limit for " + limit.kind;
}

}  // namespace dschat
