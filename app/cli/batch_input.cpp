#include "app/cli/batch_input.h"

#include <iostream>

#include "common/regular_file.h"
#include "tokenizer/tokenizer.h"

namespace dschat {

BatchInput::BatchInput(const std::string& path) : from_stdin_(path == "-"), name_(from_stdin_ ? "stdin" : path) {
  if (from_stdin_) return;
  try {
    file_.str(read_regular_file(path, kBatchFileLimit));
  } catch (const FileReadError& e) {
    const std::string message = e.what();
    const bool not_regular = message.ends_with("not a regular file");
    throw TokenizerError(message + (not_regular ? " (--batch - reads standard input)" : ""));
  }
}

std::istream& BatchInput::stream() { return from_stdin_ ? static_cast<std::istream&>(std::cin) : file_; }

}  // namespace dschat
