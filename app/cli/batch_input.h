// The input of `--batch PATH` (dschat tokenize / detokenize), one item a line: standard input for
// "-" (a pipe is expected there), else a regular file read whole, at most kBatchFileLimit
// (common/file_limits.h). A FIFO, device or directory named as PATH is refused at once instead of
// blocking the command forever.
#pragma once

#include <istream>
#include <sstream>
#include <string>

namespace dschat {

class BatchInput {
 public:
  // Throws TokenizerError naming the path when it cannot be read.
  explicit BatchInput(const std::string& path);

  std::istream& stream();
  const std::string& name() const { return name_; }  // "stdin" or the path, for messages

 private:
  bool from_stdin_;
  std::string name_;
  std::istringstream file_;
};

}  // namespace dschat
