// The input of `--batch PATH` (dschat tokenize / detokenize), one item a line: standard input for
// "-" (a pipe is expected there), else a regular file read whole, at most kBatchFileLimit
// (common/file_limits.h). A FIFO, device or directory named as PATH is refused at once instead of
// blocking the command forever. A line longer than kInputLineLimit is an error naming it.
#pragma once

#include <cstdint>
#include <string>

namespace dschat {

class BatchInput {
 public:
  // Throws TokenizerError naming the path when it cannot be read.
  explicit BatchInput(const std::string& path);

  // The next line (without its '\n') into `line`; false at the end. Throws TokenizerError
  // ("NAME: line N is longer than the 16 MiB limit ...", or a read error of stdin).
  bool next_line(std::string& line);
  uint64_t line_number() const { return line_number_; }  // of the line last returned, from 1
  const std::string& name() const { return name_; }       // "stdin" or the path, for messages

 private:
  bool from_stdin_;
  std::string name_;
  std::string file_;          // the whole file, when not stdin
  std::size_t offset_ = 0;    // in file_
  uint64_t line_number_ = 0;
};

}  // namespace dschat
