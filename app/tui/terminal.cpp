#include "app/tui/terminal.h"

#include <sys/ioctl.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cwchar>
#include <stdexcept>
#include <string>

#include <curses.h>

#include "app/tui/text_layout.h"

namespace dschat {
namespace {

enum Pair : short { kUserPair = 1, kAssistantPair, kErrorPair, kNoticePair, kCodePair, kLinkPair };

constexpr const char* kPasteOn = "\x1b[?2004h";
constexpr const char* kPasteOff = "\x1b[?2004l";
// Button press/release reports (1000) in the SGR encoding (1006: "CSI < b ; x ; y M", no limit
// on columns): the wheel arrives as buttons 64 and 65 (app/tui/input.cpp).
constexpr const char* kMouseOn = "\x1b[?1000h\x1b[?1006h";
constexpr const char* kMouseOff = "\x1b[?1006l\x1b[?1000l";

void write_raw(const char* s) {
  std::fputs(s, stdout);
  std::fflush(stdout);
}

// UTF-8 cluster -> wide characters (empty when it does not decode).
std::wstring widen(std::string_view s) {
  std::wstring out;
  std::mbstate_t st{};
  const char* p = s.data();
  size_t left = s.size();
  while (left > 0) {
    wchar_t wc;
    size_t n = std::mbrtowc(&wc, p, left, &st);
    if (n == static_cast<size_t>(-1) || n == static_cast<size_t>(-2)) return {};
    if (n == 0) n = 1;
    out.push_back(wc);
    p += n;
    left -= n;
  }
  return out;
}

// Markdown attributes (app/tui/markdown_render.h) as curses attributes; without colours, code is
// bold and links underlined, so they still stand out.
attr_t span_attr(uint8_t bits, bool colour) {
  attr_t a = A_NORMAL;
  if (bits & kAttrBold) a |= A_BOLD;
  if (bits & kAttrItalic) a |= A_ITALIC;
  if (bits & kAttrUnderline) a |= A_UNDERLINE;
  if (bits & (kAttrDim | kAttrStrike)) a |= A_DIM;
  if (bits & kAttrCode) a |= colour ? COLOR_PAIR(kCodePair) : A_BOLD;
  if (bits & kAttrLink) a |= A_UNDERLINE | (colour ? COLOR_PAIR(kLinkPair) : 0);
  if ((bits & kAttrHeading) && colour) a |= COLOR_PAIR(kUserPair);
  return a;
}

attr_t style_attr(LineStyle style, bool colour) {
  switch (style) {
    case LineStyle::UserLabel: return A_BOLD | (colour ? COLOR_PAIR(kUserPair) : 0);
    case LineStyle::AssistantLabel: return A_BOLD | (colour ? COLOR_PAIR(kAssistantPair) : 0);
    case LineStyle::Error: return colour ? COLOR_PAIR(kErrorPair) | A_BOLD : A_BOLD;
    case LineStyle::Notice: return colour ? COLOR_PAIR(kNoticePair) : A_NORMAL;
    case LineStyle::Stats: return A_DIM;
    case LineStyle::Reasoning: return A_DIM | A_ITALIC;
    case LineStyle::User: return A_BOLD;
    case LineStyle::Assistant:
    case LineStyle::Plain: return A_NORMAL;
  }
  return A_NORMAL;
}

}  // namespace

Terminal::Terminal(bool colour, bool mouse) : mouse_(mouse) {
  // A LINES or COLUMNS curses cannot hold (above 32767) is checked before curses sees it: curses
  // sizes its screen from them (a malloc of a wrapped-around size) before it refuses, and then
  // says "unknown terminal type". Name the variable instead.
  for (const char* name : {"LINES", "COLUMNS"}) {
    const char* value = std::getenv(name);
    if (!value || !*value) continue;
    char* end = nullptr;
    const long n = std::strtol(value, &end, 10);
    if (*end != '\0' || n < 1 || n > 32767) {
      throw std::runtime_error(std::string("cannot start the chat window: ") + name + "=" +
                               std::string(value).substr(0, 20) + " is not a terminal size (1 to 32767; unset " + name +
                               " to use the terminal's own)");
    }
  }
  // newterm instead of initscr: an unknown $TERM is an error we report, not an exit inside curses.
  if (!newterm(nullptr, stdout, stdin)) {
    const char* term = std::getenv("TERM");
    throw std::runtime_error(std::string("cannot start the chat window: unknown terminal type '") +
                             (term ? term : "") + "' (set TERM, or pipe stdin to use line mode)");
  }
  raw();
  noecho();
  nonl();
  intrflush(stdscr, FALSE);
  keypad(stdscr, FALSE);
  set_escdelay(25);
  if (colour && has_colors()) {
    start_color();
    use_default_colors();
    // Mid-intensity foregrounds on the default background read on dark and light themes.
    init_pair(kUserPair, COLOR_CYAN, -1);
    init_pair(kAssistantPair, COLOR_GREEN, -1);
    init_pair(kErrorPair, COLOR_RED, -1);
    init_pair(kNoticePair, COLOR_MAGENTA, -1);
    init_pair(kCodePair, COLOR_YELLOW, -1);
    init_pair(kLinkPair, COLOR_BLUE, -1);
    colour_ = true;
  }
  write_raw(kPasteOn);
  if (mouse_) write_raw(kMouseOn);
}

Terminal::~Terminal() { suspend(); }

void Terminal::write_raw_sequence(std::string_view bytes) {
  std::fwrite(bytes.data(), 1, bytes.size(), stdout);
  std::fflush(stdout);
}

void Terminal::update_size() {
  winsize ws{};
  if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_row > 0 && ws.ws_col > 0) {
    resizeterm(ws.ws_row, ws.ws_col);
  }
}

int Terminal::rows() const { return LINES; }
int Terminal::cols() const { return COLS; }

void Terminal::begin_frame() { erase(); }

void Terminal::draw(int row, int col, std::string_view text, int max_width, LineStyle style,
                    const std::vector<TextSpan>& spans) {
  if (row < 0 || row >= LINES || max_width <= 0) return;
  const attr_t base = style_attr(style, colour_);
  attr_t attr = base;
  attron(attr);
  int x = col;
  int limit = col + max_width;
  size_t next_span = 0;
  for (std::string_view cluster : grapheme_clusters(text)) {
    int w = cluster_width(cluster);
    if (x + w > limit) break;
    if (w == 0) continue;
    if (!spans.empty()) {  // Markdown attributes on top of the line's style
      const size_t at = static_cast<size_t>(cluster.data() - text.data());
      while (next_span < spans.size() && spans[next_span].end <= at) ++next_span;
      const uint8_t bits = next_span < spans.size() && spans[next_span].begin <= at ? spans[next_span].attrs : 0;
      const attr_t wanted = base | span_attr(bits, colour_);
      if (wanted != attr) {
        attroff(attr);
        attr = wanted;
        attron(attr);
      }
    }
    std::wstring wide = widen(cluster);
    int curses_width = wide.empty() ? -1 : wcswidth(wide.c_str(), wide.size());
    if (curses_width == w) {
      mvaddnwstr(row, x, wide.c_str(), static_cast<int>(wide.size()));
    } else if (!wide.empty() && wcwidth(wide[0]) == w) {
      // The C library measures the whole cluster differently (e.g. a ZWJ sequence): show its
      // first character, which has the width the layout reserved.
      mvaddnwstr(row, x, wide.c_str(), 1);
    } else {
      mvaddstr(row, x, std::string(static_cast<size_t>(w), '?').c_str());
    }
    x += w;
  }
  attroff(attr);
}

void Terminal::draw_status(int row, std::string_view text) {
  if (row < 0 || row >= LINES) return;
  attron(A_REVERSE);
  mvhline(row, 0, ' ', COLS);
  attroff(A_REVERSE);
  attron(A_REVERSE);
  int x = 0;
  for (std::string_view cluster : grapheme_clusters(text)) {
    int w = cluster_width(cluster);
    if (x + w > COLS) break;
    std::wstring wide = widen(cluster);
    if (w > 0 && !wide.empty() && wcswidth(wide.c_str(), wide.size()) == w) {
      mvaddnwstr(row, x, wide.c_str(), static_cast<int>(wide.size()));
    }
    x += w;
  }
  attroff(A_REVERSE);
}

void Terminal::draw_hint(int row, int col, std::string_view text, int max_width) {
  draw(row, col, text, max_width, LineStyle::Stats);
}

void Terminal::end_frame(int cursor_row, int cursor_col, bool cursor_visible) {
  if (cursor_visible && cursor_row >= 0 && cursor_row < LINES && cursor_col >= 0 && cursor_col < COLS) {
    curs_set(1);
    move(cursor_row, cursor_col);
  } else {
    curs_set(0);
  }
  refresh();
}

void Terminal::invalidate() { clearok(curscr, TRUE); }

void Terminal::suspend() {
  if (!isendwin()) {
    write_raw(kPasteOff);
    if (mouse_) write_raw(kMouseOff);
    endwin();
  }
}

void Terminal::resume() {
  write_raw(kPasteOn);
  if (mouse_) write_raw(kMouseOn);
  refresh();
  update_size();
  invalidate();
}

}  // namespace dschat
