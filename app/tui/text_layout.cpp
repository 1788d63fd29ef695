#include "app/tui/text_layout.h"

#include <unicode/brkiter.h>
#include <unicode/uchar.h>
#include <unicode/utext.h>
#include <unicode/utf8.h>

#include <memory>
#include <stdexcept>

namespace dschat {
namespace {

enum class BreakKind { Character, Line };

// ICU break iterators are costly to create; keep one of each kind per thread.
icu::BreakIterator& break_iterator(BreakKind kind) {
  thread_local std::unique_ptr<icu::BreakIterator> character, line;
  std::unique_ptr<icu::BreakIterator>& slot = kind == BreakKind::Character ? character : line;
  if (!slot) {
    UErrorCode status = U_ZERO_ERROR;
    slot.reset(kind == BreakKind::Character
                   ? icu::BreakIterator::createCharacterInstance(icu::Locale::getRoot(), status)
                   : icu::BreakIterator::createLineInstance(icu::Locale::getRoot(), status));
    if (U_FAILURE(status) || !slot) throw std::runtime_error(std::string("ICU break iterator: ") + u_errorName(status));
  }
  return *slot;
}

// The boundaries (byte offsets, first 0, last size) of `utf8` under `kind`'s rules.
std::vector<size_t> boundaries(std::string_view utf8, BreakKind kind) {
  std::vector<size_t> result{0};
  if (utf8.empty()) return result;
  UErrorCode status = U_ZERO_ERROR;
  UText* text = utext_openUTF8(nullptr, utf8.data(), static_cast<int64_t>(utf8.size()), &status);
  if (U_FAILURE(status)) throw std::runtime_error(std::string("ICU utext: ") + u_errorName(status));
  icu::BreakIterator& it = break_iterator(kind);
  it.setText(text, status);
  for (int32_t pos = it.next(); pos != icu::BreakIterator::DONE; pos = it.next()) {
    if (static_cast<size_t>(pos) > result.back()) result.push_back(static_cast<size_t>(pos));
  }
  // Detach the iterator from the UText before closing it.
  UText* empty = utext_openUTF8(nullptr, "", 0, &status);
  it.setText(empty, status);
  utext_close(text);
  utext_close(empty);
  if (result.back() != utf8.size()) result.push_back(utf8.size());
  return result;
}

bool is_space(char c) { return c == ' '; }

std::string_view trim_trailing_spaces(std::string_view s) {
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

void wrap_paragraph(std::string_view para, int width, std::vector<std::string>& out) {
  if (para.empty()) {
    out.emplace_back();
    return;
  }
  std::vector<size_t> breaks = boundaries(para, BreakKind::Line);
  std::string line;
  int line_width = 0;  // includes trailing spaces, which may hang past the edge
  auto flush = [&] {
    out.emplace_back(trim_trailing_spaces(line));
    line.clear();
    line_width = 0;
  };
  // Starts a line with `segment`, splitting its content between clusters when it is too wide.
  auto start_with = [&](std::string_view segment) {
    std::string_view content = trim_trailing_spaces(segment);
    if (display_width(content) > width) {
      for (std::string_view cluster : grapheme_clusters(content)) {
        int w = cluster_width(cluster);
        if (line_width + w > width && !line.empty()) flush();
        line.append(cluster);
        line_width += w;
      }
      std::string_view spaces = segment.substr(content.size());
      line.append(spaces);
      line_width += static_cast<int>(spaces.size());
    } else {
      line.assign(segment);
      line_width = display_width(segment);
    }
  };
  for (size_t i = 0; i + 1 < breaks.size(); ++i) {
    std::string_view segment = para.substr(breaks[i], breaks[i + 1] - breaks[i]);
    int content_width = display_width(trim_trailing_spaces(segment));
    if (line.empty()) {
      start_with(segment);
    } else if (line_width + content_width <= width) {
      line.append(segment);
      line_width += display_width(segment);
    } else {
      flush();
      start_with(segment);
    }
  }
  flush();
}

}  // namespace

int codepoint_width(char32_t c) {
  UChar32 cp = static_cast<UChar32>(c);
  if (cp == 0) return 0;
  int8_t category = u_charType(cp);
  if (category == U_CONTROL_CHAR) return 0;
  if (category == U_NON_SPACING_MARK || category == U_ENCLOSING_MARK || category == U_FORMAT_CHAR) return 0;
  if (u_hasBinaryProperty(cp, UCHAR_VARIATION_SELECTOR)) return 0;
  int hangul = u_getIntPropertyValue(cp, UCHAR_HANGUL_SYLLABLE_TYPE);
  if (hangul == U_HST_VOWEL_JAMO || hangul == U_HST_TRAILING_JAMO) return 0;
  int eaw = u_getIntPropertyValue(cp, UCHAR_EAST_ASIAN_WIDTH);
  if (eaw == U_EA_WIDE || eaw == U_EA_FULLWIDTH) return 2;
  if (u_hasBinaryProperty(cp, UCHAR_EMOJI_PRESENTATION)) return 2;
  return 1;
}

int cluster_width(std::string_view cluster) {
  int first = -1;
  int visible = 0;
  bool emoji_selector = false, zwj = false, text_selector = false;
  UChar32 first_cp = 0;
  for (size_t i = 0; i < cluster.size();) {
    UChar32 c;
    U8_NEXT(cluster.data(), i, cluster.size(), c);
    if (c < 0) c = 0xFFFD;
    if (c == 0xFE0F) emoji_selector = true;
    if (c == 0xFE0E) text_selector = true;
    if (c == 0x200D) zwj = true;
    int w = codepoint_width(static_cast<char32_t>(c));
    if (w > 0) {
      ++visible;
      if (first < 0) {
        first = w;
        first_cp = c;
      }
    }
  }
  if (first < 0) return 0;
  if (text_selector && !emoji_selector) return 1;
  if (emoji_selector && u_hasBinaryProperty(first_cp, UCHAR_EMOJI)) return 2;
  if (zwj && visible > 1 && u_hasBinaryProperty(first_cp, UCHAR_EXTENDED_PICTOGRAPHIC)) return 2;
  return first;
}

std::vector<std::string_view> grapheme_clusters(std::string_view utf8) {
  std::vector<std::string_view> clusters;
  std::vector<size_t> b = boundaries(utf8, BreakKind::Character);
  clusters.reserve(b.size());
  for (size_t i = 0; i + 1 < b.size(); ++i) clusters.push_back(utf8.substr(b[i], b[i + 1] - b[i]));
  return clusters;
}

int display_width(std::string_view utf8) {
  // Fast path: printable ASCII is one column a byte.
  bool ascii = true;
  for (char ch : utf8) {
    auto u = static_cast<unsigned char>(ch);
    if (u >= 0x7F || u < 0x20) {
      ascii = false;
      break;
    }
  }
  if (ascii) return static_cast<int>(utf8.size());
  int total = 0;
  for (std::string_view cluster : grapheme_clusters(utf8)) total += cluster_width(cluster);
  return total;
}

std::string sanitize_for_display(std::string_view utf8) {
  std::string out;
  out.reserve(utf8.size());
  int column_in_line = 0;  // approximate, counts code points; used for tab stops
  for (size_t i = 0; i < utf8.size();) {
    size_t start = i;
    UChar32 c;
    U8_NEXT(utf8.data(), i, utf8.size(), c);
    if (c < 0) {
      out += "\xEF\xBF\xBD";
      ++column_in_line;
    } else if (c == '\n') {
      out += '\n';
      column_in_line = 0;
    } else if (c == '\r') {
      continue;
    } else if (c == '\t') {
      int spaces = 4 - column_in_line % 4;
      out.append(static_cast<size_t>(spaces), ' ');
      column_in_line += spaces;
    } else if (u_charType(c) == U_CONTROL_CHAR) {
      out += "\xEF\xBF\xBD";
      ++column_in_line;
    } else {
      out.append(utf8.substr(start, i - start));
      column_in_line += codepoint_width(static_cast<char32_t>(c));
    }
  }
  return out;
}

std::vector<std::string> wrap_text(std::string_view utf8, int width) {
  if (width < 1) width = 1;
  std::vector<std::string> lines;
  size_t start = 0;
  while (true) {
    size_t nl = utf8.find('\n', start);
    std::string_view para = utf8.substr(start, nl == std::string_view::npos ? std::string_view::npos : nl - start);
    wrap_paragraph(para, width, lines);
    if (nl == std::string_view::npos) break;
    start = nl + 1;
  }
  return lines;
}

std::string_view fit_prefix(std::string_view utf8, int width) {
  int used = 0;
  size_t end = 0;
  for (std::string_view cluster : grapheme_clusters(utf8)) {
    int w = cluster_width(cluster);
    if (used + w > width) break;
    used += w;
    end = static_cast<size_t>(cluster.data() - utf8.data()) + cluster.size();
  }
  return utf8.substr(0, end);
}

}  // namespace dschat
