#include "app/cli/batch_input.h"

#include <cstdio>

#include "common/bounded_read.h"
#include "common/regular_file.h"
#include "tokenizer/tokenizer.h"

namespace dschat {

BatchInput::BatchInput(const std::string& path) : from_stdin_(path == "-"), name_(from_stdin_ ? "stdin" : path) {
  if (from_stdin_) return;
  try {
    file_ = read_regular_file(path, kBatchFileLimit);
  } catch (const FileReadError& e) {
    const std::string message = e.what();
    const bool not_regular = message.ends_with("not a regular file");
    throw TokenizerError(message + (not_regular ? " (--batch - reads standard input)" : ""));
  }
}

bool BatchInput::next_line(std::string& line) {
  bool too_long = false;
  if (from_stdin_) {
    if (!read_line_bounded(stdin, line, kInputLineLimit, too_long)) {
      if (std::ferror(stdin)) throw TokenizerError(name_ + ": read error");
      return false;
    }
  } else {
    if (offset_ >= file_.size()) return false;
    std::size_t end = file_.find('\n', offset_);
    if (end == std::string::npos) end = file_.size();
    too_long = end - offset_ > kInputLineLimit.max_bytes;
    if (!too_long) line.assign(file_, offset_, end - offset_);
    offset_ = end + 1;
  }
  ++line_number_;
  if (too_long) throw TokenizerError(line_too_long_message(name_, line_number_, kInputLineLimit));
  return true;
}

}  // namespace dschat
