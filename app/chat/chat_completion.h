// Tab completion of what is typed in the chat: /commands, the words after them (/set parameter's
// names, /show's topics, on|off, md|json, ...) and file paths for /save, /load and /export
// ("~" expanded, directories with a trailing '/'). Words are separated by spaces (a path with a
// space in it is not completed). No terminal here: app/tui/readline.cpp asks for the candidates.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace dschat {

struct Completion {
  size_t word_start = 0;                // where the word being completed begins in the line
  std::vector<std::string> candidates;  // whole replacements for that word, sorted; [] = nothing
};

// The candidates for the word that ends at the end of `before_cursor` (the line up to the cursor).
Completion complete_chat_input(std::string_view before_cursor);

// The entries of the directory part of `word` whose names start with its last part, as `word`
// would read completed ("~/no" -> "~/notes/"); hidden ones only when that part starts with '.'.
// At most `limit`.
std::vector<std::string> complete_path(std::string_view word, size_t limit = 1000);

}  // namespace dschat
