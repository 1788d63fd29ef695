// GNU readline through its callback interface, for a curses screen: the app feeds it bytes,
// readline edits the line and keeps the history (Up/Down, Ctrl+R), and never writes to the
// terminal (rl_outstream is /dev/null, redisplay only marks the input as changed). The app
// draws rl_display_prompt + rl_line_buffer itself (see layout_input). One instance at a time,
// on the UI thread (readline is global state).
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace dschat {

class ReadlineInput {
 public:
  using LineHandler = std::function<void(const std::string& line)>;
  // `history`: earlier entries, oldest first.
  ReadlineInput(LineHandler on_line, const std::vector<std::string>& history);
  ~ReadlineInput();
  ReadlineInput(const ReadlineInput&) = delete;
  ReadlineInput& operator=(const ReadlineInput&) = delete;

  // Runs `bytes` (keys, possibly escape sequences) through readline. May call the line handler.
  void feed(std::string_view bytes);
  // Inserts text at the cursor as typed text (a paste; newlines do not submit).
  void insert(std::string_view text);
  // Aborts any search or argument in progress and empties the line.
  void clear_line();
  void set_prompt(const std::string& prompt);
  void add_history(const std::string& entry);

  std::string display_prompt() const;  // the prompt readline shows now (the search prompt in Ctrl+R)
  std::string buffer() const;
  size_t point() const;                // cursor, a byte offset into buffer()
  bool line_empty() const;
  bool searching() const;              // inside Ctrl+R
  // True once after readline changed what it shows.
  bool take_changed();
  // Tab on a line that starts with '/' completes it (app/chat/chat_completion.h); when several
  // candidates remain, `show` gets them to display (readline's own list would go to /dev/null).
  // Elsewhere Tab inserts a tab.
  void set_completion_display(std::function<void(const std::vector<std::string>& candidates)> show);
};

}  // namespace dschat
