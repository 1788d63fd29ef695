// Keyboard input of the chat, as pure logic without a terminal:
//  - InputDecoder splits raw terminal bytes into the keys the chat handles itself (Ctrl+C, Esc,
//    Up, PgUp/PgDn/Home/End, Alt+Enter, bracketed paste, the mouse wheel in xterm's SGR mouse
//    encoding, CSI < button ; x ; y M) and bytes for readline;
//  - decide_key() says what a key does in the current state (stop the reply, clear the line...);
//  - MultilineInput assembles ollama-style """ blocks;
//  - layout_input() places prompt + buffer in rows of the input window and finds the cursor.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace dschat {

struct InputEvent {
  enum class Kind {
    Bytes,      // for readline (text, arrows and other escape sequences), in `bytes`
    Paste,      // a bracketed paste's text, in `bytes` (newlines included, never submits)
    CtrlC, CtrlD, CtrlL, Escape, AltEnter,
    PageUp, PageDown, Home, End, CtrlHome, CtrlEnd,
    Up,                   // the arrow (its bytes go to readline unless it takes back a queued message)
    WheelUp, WheelDown,   // mouse wheel (SGR buttons 64 and 65)
    Mouse,                // any other mouse report (clicks, drags): ignored
  };
  Kind kind = Kind::Bytes;
  std::string bytes;
  bool operator==(const InputEvent&) const = default;
};

class InputDecoder {
 public:
  // Decodes what can be decoded; an incomplete escape sequence (or a paste) is kept for later.
  std::vector<InputEvent> feed(std::string_view bytes);
  // Called when no more bytes came for a short while (ESCDELAY): a lone ESC becomes Escape and
  // an unfinished sequence goes to readline as bytes.
  std::vector<InputEvent> flush();
  // True when bytes are held back waiting for the rest of a sequence.
  bool pending() const { return !held_.empty() && !in_paste_; }

 private:
  void decode(std::vector<InputEvent>& out, bool at_timeout);
  std::string held_;
  bool in_paste_ = false;
  std::string paste_;
};

enum class KeyAction {
  Forward,        // give the bytes to readline
  StopReply,      // cancel the running generation, keep the partial reply
  CancelLoad,     // cancel the model load
  ClearLine,      // drop the input line and any open """ block
  ExitHint,       // say how to leave
  Exit,           // save and quit
  Redraw,
  ScrollPageUp, ScrollPageDown, ScrollTop, ScrollBottom,
  ScrollLinesUp, ScrollLinesDown,  // the mouse wheel: a few lines
  InsertNewline,  // a newline into the buffer (Alt+Enter)
  TakeBackQueued,       // the last queued message back into the (empty) input line
  StopReplyAndTakeBack, // Esc during a reply with a message queued: both
  Ignore,
};

struct KeyContext {
  bool generating = false;  // a reply (or its prefill) is running
  bool loading = false;     // the model is loading
  bool line_empty = true;   // readline's buffer is empty
  bool in_block = false;    // inside a """ block
  bool has_queued = false;  // messages typed during a reply wait in the queue (app/tui/input_queue.h)
};

KeyAction decide_key(InputEvent::Kind key, const KeyContext& context);

// ollama's multi-line input: a line starting with """ opens a block that the next line ending
// with """ closes; the lines in between are joined with '\n'. A command with one """ opens a
// block too (`/set system """You are`); its message is the command with the block in quotes,
// `/set system """You are\n..."""`. """text""" on one line is just text.
class MultilineInput {
 public:
  // Returns the complete message once `line` completes one; nullopt while inside a block.
  std::optional<std::string> submit(const std::string& line);
  bool in_block() const { return in_block_; }
  size_t buffered_bytes() const { return buffer_.size(); }  // of the block being typed
  // The lines of the open block as typed (opening line included), joined by '\n': shown above
  // the line being edited so that earlier lines stay visible.
  const std::string& typed() const { return typed_; }
  void reset();

 private:
  bool in_block_ = false;
  bool has_lines_ = false;
  std::string prefix_;
  std::string buffer_;
  std::string typed_;
};

struct InputLayout {
  std::vector<std::string> rows;  // one string per screen row, each at most `width` columns
  int cursor_row = 0;
  int cursor_col = 0;
};

// Lays out `prompt` followed by `buffer` (which may hold newlines) in rows of `width` columns,
// wrapping between grapheme clusters; rows after a newline start with `continuation`. The
// cursor is placed before the byte at `point` (readline's rl_point). Control characters in
// the buffer are shown as ^X (two columns), as readline does.
InputLayout layout_input(std::string_view prompt, std::string_view continuation, std::string_view buffer,
                         size_t point, int width);

}  // namespace dschat
