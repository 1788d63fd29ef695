// The curses screen of the chat (ncursesw): setup and guaranteed restore, colours for dark and
// light terminals (default background, NO_COLOR honoured), and drawing UTF-8 text at display
// columns computed by text_layout, so CJK and emoji never shift the columns that follow.
// UI thread only. Input is not read through curses (the app reads stdin and feeds readline).
#pragma once

#include <string_view>
#include <vector>

#include "app/tui/transcript.h"

namespace dschat {

class Terminal {
 public:
  // Starts curses (raw mode, no echo), turns bracketed paste on, and mouse reporting (xterm's
  // DECSET 1000 with the SGR encoding 1006, for the wheel) when `mouse`. `colour`: use colours.
  explicit Terminal(bool colour, bool mouse = true);
  ~Terminal();  // restores the terminal (also safe after an exception)
  Terminal(const Terminal&) = delete;
  Terminal& operator=(const Terminal&) = delete;

  // Re-reads the terminal size (after SIGWINCH).
  void update_size();
  int rows() const;
  int cols() const;

  void begin_frame();
  // Draws `text` at (row, col), at most `max_width` columns, in `style`.
  // `spans`: Markdown attributes of byte ranges of `text`, added to the style's.
  void draw(int row, int col, std::string_view text, int max_width, LineStyle style,
            const std::vector<TextSpan>& spans = {});
  // The status bar: a full row in reverse video.
  void draw_status(int row, std::string_view text);
  // Dim placeholder text.
  void draw_hint(int row, int col, std::string_view text, int max_width);
  void end_frame(int cursor_row, int cursor_col, bool cursor_visible);
  // Bytes for the terminal itself, between frames (e.g. OSC 52, which moves no cursor).
  void write_raw_sequence(std::string_view bytes);
  // Forces a full repaint on the next frame (Ctrl+L, SIGCONT).
  void invalidate();
  // Leaves curses temporarily (restore) and comes back (after SIGCONT).
  void suspend();
  void resume();

 private:
  bool colour_ = false;
  bool mouse_ = false;
};

}  // namespace dschat
