// Reading a stream (standard input, a --batch file) without letting its size decide how much
// memory the process takes: a 1 GB line without a newline, or an endless pipe, must be a clear
// error, not gigabytes of std::string and then std::bad_alloc. The limits are in
// common/file_limits.h (kStdinLimit for a stream read whole, kInputLineLimit for one line).
#pragma once

#include <cstdint>
#include <cstdio>
#include <stdexcept>
#include <string>

#include "common/file_limits.h"

namespace dschat {

// A stream longer than its limit: "stdin: line 3 is longer than the 16 MiB limit for one line of
// input". Nothing beyond the limit (+1 byte) was ever held in memory.
struct InputTooLarge : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// "16 MiB", or "1000 bytes" when not a whole number of MiB.
std::string limit_size_text(uint64_t bytes);

// Both read a stdio stream (stdin, or a file's bytes through fmemopen): stdio's buffer makes them
// fast (std::cin, synchronised with stdio, reads one character per call), and a signal without
// SA_RESTART still ends a blocked read (line-mode chat relies on it). A read error leaves
// ferror(in) set for the caller.

// The rest of `in`, throwing InputTooLarge (naming `name`) past `limit`.
std::string read_all_bounded(std::FILE* in, const FileLimit& limit, const std::string& name);

// std::getline (the '\n' is consumed, not stored) that stores at most `limit.max_bytes` of one
// line. When a line is longer, the rest of it is read and dropped (memory stays bounded), `line`
// is left empty and `too_long` set; the next call reads the next line. Returns false at the end
// of the input (or on a read error) when nothing was read, as std::getline.
bool read_line_bounded(std::FILE* in, std::string& line, const FileLimit& limit, bool& too_long);

// "NAME: line N is longer than the 16 MiB limit for one line of input".
std::string line_too_long_message(const std::string& name, uint64_t line_number, const FileLimit& limit);

}  // namespace dschat
