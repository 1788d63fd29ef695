#include "app/tui/input.h"

#include "app/tui/text_layout.h"

namespace dschat {
namespace {

using Kind = InputEvent::Kind;

constexpr char kEsc = '\x1b';
constexpr std::string_view kPasteEnd = "\x1b[201~";

void push_bytes(std::vector<InputEvent>& out, std::string_view bytes) {
  if (bytes.empty()) return;
  if (!out.empty() && out.back().kind == Kind::Bytes) {
    out.back().bytes.append(bytes);
  } else {
    out.push_back({Kind::Bytes, std::string(bytes)});
  }
}

// The key a complete CSI sequence ("\x1b[...X") stands for, or Bytes for readline.
Kind csi_key(std::string_view seq) {
  std::string_view body = seq.substr(2);
  if (body == "5~" || body == "5;5~" || body == "5;2~") return Kind::PageUp;
  if (body == "6~" || body == "6;5~" || body == "6;2~") return Kind::PageDown;
  if (body == "H" || body == "1~" || body == "7~") return Kind::Home;
  if (body == "F" || body == "4~" || body == "8~") return Kind::End;
  if (body == "1;5H" || body == "7;5~") return Kind::CtrlHome;
  if (body == "1;5F" || body == "8;5~") return Kind::CtrlEnd;
  if (body == "A") return Kind::Up;
  // SGR mouse (DECSET 1006): "<" button ";" x ";" y, then M (press) or m (release).
  if (body.starts_with("<") && (body.ends_with("M") || body.ends_with("m"))) {
    std::string_view button = body.substr(1, body.find(';') == std::string_view::npos ? 0 : body.find(';') - 1);
    if (body.ends_with("M") && button == "64") return Kind::WheelUp;
    if (body.ends_with("M") && button == "65") return Kind::WheelDown;
    return Kind::Mouse;
  }
  return Kind::Bytes;
}

}  // namespace

std::vector<InputEvent> InputDecoder::feed(std::string_view bytes) {
  held_.append(bytes);
  std::vector<InputEvent> out;
  decode(out, false);
  return out;
}

std::vector<InputEvent> InputDecoder::flush() {
  std::vector<InputEvent> out;
  decode(out, true);
  return out;
}

void InputDecoder::decode(std::vector<InputEvent>& out, bool at_timeout) {
  size_t i = 0;
  while (i < held_.size()) {
    if (in_paste_) {
      size_t end = held_.find(kPasteEnd, i);
      if (end == std::string::npos) {
        // Keep a possible partial end marker for the next read.
        size_t keep = 0;
        for (size_t k = 1; k < kPasteEnd.size() && k <= held_.size() - i; ++k) {
          if (std::string_view(held_).substr(held_.size() - k) == kPasteEnd.substr(0, k)) keep = k;
        }
        paste_.append(held_, i, held_.size() - i - keep);
        i = held_.size() - keep;
        break;
      }
      paste_.append(held_, i, end - i);
      std::string text;
      for (char c : paste_) {
        if (c == '\r') c = '\n';  // terminals send Enter as CR inside pastes
        text += c;
      }
      out.push_back({Kind::Paste, text});
      paste_.clear();
      in_paste_ = false;
      i = end + kPasteEnd.size();
      continue;
    }
    char c = held_[i];
    if (c == '\x03') {
      out.push_back({Kind::CtrlC, "\x03"});
      ++i;
    } else if (c == '\x04') {
      out.push_back({Kind::CtrlD, "\x04"});
      ++i;
    } else if (c == '\x0c') {
      out.push_back({Kind::CtrlL, "\x0c"});
      ++i;
    } else if (c != kEsc) {
      size_t j = i;
      while (j < held_.size() && held_[j] != kEsc && held_[j] != '\x03' && held_[j] != '\x04' && held_[j] != '\x0c') ++j;
      push_bytes(out, std::string_view(held_).substr(i, j - i));
      i = j;
    } else {
      // An escape sequence: ESC alone, ESC x (Alt+x), ESC [ ... final, ESC O x.
      if (i + 1 >= held_.size()) {
        if (!at_timeout) break;
        out.push_back({Kind::Escape, "\x1b"});
        ++i;
        continue;
      }
      char next = held_[i + 1];
      if (next == '\r' || next == '\n') {
        out.push_back({Kind::AltEnter, held_.substr(i, 2)});
        i += 2;
      } else if (next == kEsc) {
        out.push_back({Kind::Escape, "\x1b"});
        ++i;
      } else if (next == '[') {
        size_t j = i + 2;
        while (j < held_.size() && !(held_[j] >= 0x40 && held_[j] <= 0x7e)) ++j;
        if (j >= held_.size()) {
          if (!at_timeout) break;
          push_bytes(out, std::string_view(held_).substr(i));
          i = held_.size();
          continue;
        }
        std::string_view seq = std::string_view(held_).substr(i, j + 1 - i);
        i = j + 1;
        if (seq == "\x1b[200~") {
          in_paste_ = true;
          continue;
        }
        if (seq == kPasteEnd) continue;  // stray end marker
        Kind key = csi_key(seq);
        if (key == Kind::Bytes) {
          push_bytes(out, seq);
        } else {
          out.push_back({key, std::string(seq)});
        }
      } else if (next == 'O') {
        if (i + 2 >= held_.size()) {
          if (!at_timeout) break;
          push_bytes(out, std::string_view(held_).substr(i));
          i = held_.size();
          continue;
        }
        std::string_view seq = std::string_view(held_).substr(i, 3);
        i += 3;
        if (seq[2] == 'A') {
          out.push_back({Kind::Up, std::string(seq)});
        } else if (seq[2] == 'H') {
          out.push_back({Kind::Home, std::string(seq)});
        } else if (seq[2] == 'F') {
          out.push_back({Kind::End, std::string(seq)});
        } else {
          push_bytes(out, seq);
        }
      } else {
        push_bytes(out, std::string_view(held_).substr(i, 2));  // Alt+key for readline
        i += 2;
      }
    }
  }
  held_.erase(0, i);
}

KeyAction decide_key(InputEvent::Kind key, const KeyContext& context) {
  switch (key) {
    case Kind::CtrlC:
      if (context.generating) return KeyAction::StopReply;
      if (context.loading) return KeyAction::CancelLoad;
      if (!context.line_empty || context.in_block) return KeyAction::ClearLine;
      return KeyAction::ExitHint;
    case Kind::Escape:
      if (context.generating) {
        return context.has_queued && context.line_empty && !context.in_block ? KeyAction::StopReplyAndTakeBack
                                                                             : KeyAction::StopReply;
      }
      if (context.loading) return KeyAction::CancelLoad;
      if (context.has_queued && context.line_empty && !context.in_block) return KeyAction::TakeBackQueued;
      return KeyAction::Ignore;
    case Kind::Up:
      if (context.has_queued && context.line_empty && !context.in_block) return KeyAction::TakeBackQueued;
      return KeyAction::Forward;  // readline: the history
    case Kind::WheelUp:
      return KeyAction::ScrollLinesUp;
    case Kind::WheelDown:
      return KeyAction::ScrollLinesDown;
    case Kind::Mouse:
      return KeyAction::Ignore;
    case Kind::CtrlD:
      if (context.line_empty && !context.in_block) return KeyAction::Exit;
      return KeyAction::Forward;  // readline: delete the character under the cursor
    case Kind::CtrlL:
      return KeyAction::Redraw;
    case Kind::PageUp:
      return KeyAction::ScrollPageUp;
    case Kind::PageDown:
      return KeyAction::ScrollPageDown;
    case Kind::CtrlHome:
      return KeyAction::ScrollTop;
    case Kind::CtrlEnd:
      return KeyAction::ScrollBottom;
    case Kind::Home:
      return context.line_empty ? KeyAction::ScrollTop : KeyAction::Forward;
    case Kind::End:
      return context.line_empty ? KeyAction::ScrollBottom : KeyAction::Forward;
    case Kind::AltEnter:
      return KeyAction::InsertNewline;
    case Kind::Bytes:
    case Kind::Paste:
      return KeyAction::Forward;
  }
  return KeyAction::Ignore;
}

namespace {

constexpr std::string_view kQuotes = "\"\"\"";

size_t count_quotes(std::string_view s) {
  size_t n = 0;
  for (size_t pos = s.find(kQuotes); pos != std::string_view::npos; pos = s.find(kQuotes, pos + 3)) ++n;
  return n;
}

}  // namespace

std::optional<std::string> MultilineInput::submit(const std::string& line) {
  std::string_view text = line;
  if (!in_block_) {
    size_t quotes = count_quotes(text);
    // A command opens a block wherever its one """ is: `/set system """You are` too.
    bool opens = text.starts_with(kQuotes) || (text.starts_with("/") && quotes == 1);
    if (!opens) return line;
    if (text.starts_with(kQuotes) && quotes >= 2 && text.ends_with(kQuotes) && text.size() >= 6) {
      return std::string(text.substr(3, text.size() - 6));  // """text""" on one line
    }
    if (quotes != 1) return line;
    in_block_ = true;
    size_t at = text.find(kQuotes);
    prefix_ = std::string(text.substr(0, at));
    std::string_view rest = text.substr(at + 3);
    has_lines_ = !rest.empty();
    buffer_ = std::string(rest);
    typed_ = line;
    return std::nullopt;
  }
  typed_ += '\n';
  typed_ += line;
  bool closes = text.ends_with(kQuotes);
  if (closes) text.remove_suffix(3);
  if (!(closes && text.empty())) {
    if (has_lines_) buffer_ += '\n';
    buffer_.append(text);
    has_lines_ = true;
  }
  if (!closes) return std::nullopt;
  std::string message = prefix_.empty() ? buffer_ : prefix_ + "\"\"\"" + buffer_ + "\"\"\"";
  reset();
  return message;
}

void MultilineInput::reset() {
  in_block_ = false;
  has_lines_ = false;
  prefix_.clear();
  buffer_.clear();
  typed_.clear();
}

InputLayout layout_input(std::string_view prompt, std::string_view continuation, std::string_view buffer,
                         size_t point, int width) {
  if (width < 1) width = 1;
  InputLayout layout;
  layout.rows.emplace_back();
  int col = 0;
  auto add = [&](std::string_view text, int w) {
    if (col + w > width && col > 0) {
      layout.rows.emplace_back();
      col = 0;
    }
    layout.rows.back().append(text);
    col += w;
  };
  for (std::string_view cluster : grapheme_clusters(prompt)) add(cluster, cluster_width(cluster));
  bool cursor_set = false;
  size_t offset = 0;
  for (std::string_view cluster : grapheme_clusters(buffer)) {
    size_t start = offset;
    offset += cluster.size();
    auto place_cursor = [&](int w) {
      if (!cursor_set && point >= start && point < offset) {
        if (col + w > width && col > 0) {
          layout.rows.emplace_back();
          col = 0;
        }
        layout.cursor_row = static_cast<int>(layout.rows.size()) - 1;
        layout.cursor_col = col;
        cursor_set = true;
      }
    };
    if (cluster == "\n") {
      place_cursor(0);
      layout.rows.emplace_back();
      col = 0;
      for (std::string_view c : grapheme_clusters(continuation)) add(c, cluster_width(c));
      continue;
    }
    unsigned char first = static_cast<unsigned char>(cluster[0]);
    if (cluster == "\t") {
      int spaces = 8 - col % 8;
      if (col + spaces > width) spaces = width - col > 0 ? width - col : 1;
      place_cursor(1);
      add(std::string(static_cast<size_t>(spaces), ' '), spaces);
      continue;
    }
    if (cluster.size() == 1 && (first < 0x20 || first == 0x7f)) {
      std::string caret = {'^', static_cast<char>(first == 0x7f ? '?' : first + '@')};
      place_cursor(2);
      add(caret, 2);
      continue;
    }
    int w = cluster_width(cluster);
    place_cursor(w);
    add(cluster, w);
  }
  if (!cursor_set) {
    if (col >= width) {
      layout.rows.emplace_back();
      col = 0;
    }
    layout.cursor_row = static_cast<int>(layout.rows.size()) - 1;
    layout.cursor_col = col;
  }
  return layout;
}

}  // namespace dschat
