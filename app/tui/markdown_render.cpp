#include "app/tui/markdown_render.h"

#include <md4c.h>

#include <algorithm>
#include <cstdlib>

#include "app/tui/text_layout.h"

namespace dschat {

namespace {

constexpr unsigned kParserFlags =
    MD_FLAG_TABLES | MD_FLAG_STRIKETHROUGH | MD_FLAG_TASKLISTS | MD_FLAG_NOHTMLBLOCKS | MD_FLAG_NOHTMLSPANS;
constexpr std::string_view kQuoteBar = "\xE2\x94\x82 ";  // "│ "
constexpr std::string_view kClipMark = "\xE2\x80\xBA";   // "›"

std::string attribute_text(const MD_ATTRIBUTE& a) { return a.text ? std::string(a.text, a.size) : std::string(); }

void append_utf8(std::string& out, unsigned long cp) {
  if (cp == 0 || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) cp = 0xFFFD;
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

// The common HTML entities and numeric references; anything else stays as written.
std::string decode_entity(std::string_view entity) {
  if (entity == "&amp;") return "&";
  if (entity == "&lt;") return "<";
  if (entity == "&gt;") return ">";
  if (entity == "&quot;") return "\"";
  if (entity == "&apos;") return "'";
  if (entity == "&nbsp;") return " ";
  if (entity.size() > 3 && entity[1] == '#') {
    std::string digits(entity.substr(2, entity.size() - 3));
    bool hex = !digits.empty() && (digits[0] == 'x' || digits[0] == 'X');
    char* end = nullptr;
    unsigned long cp = std::strtoul(digits.c_str() + (hex ? 1 : 0), &end, hex ? 16 : 10);
    if (end && *end == '\0') {
      std::string out;
      append_utf8(out, cp);
      return out;
    }
  }
  return std::string(entity);
}

// A line under construction: text plus spans, appended piece by piece.
struct LineBuilder {
  RichLine line;
  void add(std::string_view text, uint8_t attrs) {
    if (text.empty()) return;
    size_t begin = line.text.size();
    line.text.append(text);
    if (attrs == 0) return;
    if (!line.spans.empty() && line.spans.back().end == begin && line.spans.back().attrs == attrs) {
      line.spans.back().end = line.text.size();
    } else {
      line.spans.push_back({begin, line.text.size(), attrs});
    }
  }
  void add(const RichLine& other) {
    size_t at = 0;
    for (const TextSpan& s : other.spans) {
      add(std::string_view(other.text).substr(at, s.begin - at), 0);
      add(std::string_view(other.text).substr(s.begin, s.end - s.begin), s.attrs);
      at = s.end;
    }
    add(std::string_view(other.text).substr(at), 0);
  }
};

class Renderer {
 public:
  explicit Renderer(int width) : width_(std::max(1, width)) {}

  std::vector<RichLine> run(std::string_view markdown) {
    MD_PARSER parser{};
    parser.abi_version = 0;
    parser.flags = kParserFlags;
    parser.enter_block = [](MD_BLOCKTYPE t, void* d, void* u) { return static_cast<Renderer*>(u)->enter_block(t, d); };
    parser.leave_block = [](MD_BLOCKTYPE t, void* d, void* u) { return static_cast<Renderer*>(u)->leave_block(t, d); };
    parser.enter_span = [](MD_SPANTYPE t, void* d, void* u) { return static_cast<Renderer*>(u)->enter_span(t, d); };
    parser.leave_span = [](MD_SPANTYPE t, void* d, void* u) { return static_cast<Renderer*>(u)->leave_span(t, d); };
    parser.text = [](MD_TEXTTYPE t, const MD_CHAR* s, MD_SIZE n, void* u) {
      return static_cast<Renderer*>(u)->text(t, std::string_view(s, n));
    };
    if (md_parse(markdown.data(), static_cast<MD_SIZE>(markdown.size()), &parser, this) != 0) {
      // md4c fails only when out of memory: fall back to the plain text.
      lines_.clear();
      for (std::string& l : wrap_text(sanitize_for_display(markdown), width_)) lines_.push_back({std::move(l), {}});
    }
    flush_paragraph();
    if (lines_.empty()) lines_.push_back({});
    return std::move(lines_);
  }

 private:
  struct Run {
    std::string text;
    uint8_t attrs;
  };
  struct Container {
    enum Kind { Quote, List, Item } kind;
    bool ordered = false;
    unsigned next = 1;
    int indent = 0;  // Item: the marker's width
  };

  // The prefix of a line at the current nesting: quote bars and list indents; on a paragraph's
  // first line the innermost item's marker instead of its indent.
  RichLine prefix(bool first) const {
    LineBuilder b;
    for (size_t i = 0; i < containers_.size(); ++i) {
      const Container& c = containers_[i];
      if (c.kind == Container::Quote) b.add(kQuoteBar, kAttrDim);
      if (c.kind == Container::Item) {
        if (first && !marker_.empty() && &c == innermost_item()) {
          b.add(marker_, 0);
        } else {
          b.add(std::string(static_cast<size_t>(c.indent), ' '), 0);
        }
      }
    }
    if (display_width(b.line.text) >= width_) return {};  // too deep for the width: no indent
    return b.line;
  }
  const Container* innermost_item() const {
    for (auto it = containers_.rbegin(); it != containers_.rend(); ++it)
      if (it->kind == Container::Item) return &*it;
    return nullptr;
  }

  void emit(RichLine line) { lines_.push_back(std::move(line)); }

  void gap() {
    if (need_gap_ && !lines_.empty()) {
      RichLine bars;
      LineBuilder b;
      for (const Container& c : containers_)
        if (c.kind == Container::Quote) b.add(kQuoteBar, kAttrDim);
      bars = b.line;
      while (!bars.text.empty() && bars.text.back() == ' ') bars.text.pop_back();
      for (TextSpan& s : bars.spans) s.end = std::min(s.end, bars.text.size());
      emit(std::move(bars));
    }
    need_gap_ = false;
  }

  // Wraps `runs` (which may hold '\n' for hard breaks) with the current prefixes.
  void emit_wrapped(const std::vector<Run>& runs) {
    std::string plain;
    std::vector<uint8_t> attrs;
    for (const Run& r : runs) {
      plain += r.text;
      attrs.insert(attrs.end(), r.text.size(), r.attrs);
    }
    bool first = true;
    size_t start = 0;
    while (true) {
      size_t nl = plain.find('\n', start);
      size_t end = nl == std::string::npos ? plain.size() : nl;
      std::string_view para = std::string_view(plain).substr(start, end - start);
      RichLine head = prefix(first), rest = prefix(false);
      const int avail = std::max(1, width_ - std::max(display_width(head.text), display_width(rest.text)));
      size_t pos = 0;
      for (const std::string& piece : wrap_text(para, avail)) {
        while (pos < para.size() && para.compare(pos, piece.size(), piece) != 0) ++pos;  // spaces at a break
        LineBuilder b;
        b.add(first ? head : rest);
        for (size_t i = 0; i < piece.size();) {
          size_t j = i;
          uint8_t a = attrs[start + pos + i];
          while (j < piece.size() && attrs[start + pos + j] == a) ++j;
          b.add(std::string_view(piece).substr(i, j - i), a);
          i = j;
        }
        emit(std::move(b.line));
        pos += piece.size();
        if (first) marker_.clear();
        first = false;
      }
      if (nl == std::string::npos) break;
      start = nl + 1;
    }
  }

  void flush_paragraph() {
    if (runs_.empty()) return;
    std::vector<Run> runs = std::move(runs_);
    runs_.clear();
    emit_wrapped(runs);
  }

  uint8_t current_attrs() const {
    uint8_t a = heading_attrs_;
    for (int bit = 0; bit < 8; ++bit)
      if (span_depth_[bit] > 0) a |= static_cast<uint8_t>(1u << bit);
    return a;
  }
  void push_attr(uint8_t attr, int delta) {
    for (int bit = 0; bit < 8; ++bit)
      if (attr & (1u << bit)) span_depth_[bit] += delta;
  }
  void add_text(std::string text, uint8_t attrs) {
    if (text.empty()) return;
    if (!runs_.empty() && runs_.back().attrs == attrs) {
      runs_.back().text += text;
    } else {
      runs_.push_back({std::move(text), attrs});
    }
  }

  int enter_block(MD_BLOCKTYPE type, void* detail) {
    if (!in_table_) flush_paragraph();
    switch (type) {
      case MD_BLOCK_DOC:
        break;
      case MD_BLOCK_QUOTE:
        gap();
        containers_.push_back({Container::Quote});
        break;
      case MD_BLOCK_UL:
      case MD_BLOCK_OL: {
        if (!innermost_item()) gap();
        Container list{Container::List};
        list.ordered = type == MD_BLOCK_OL;
        if (list.ordered) list.next = static_cast<MD_BLOCK_OL_DETAIL*>(detail)->start;
        containers_.push_back(list);
        break;
      }
      case MD_BLOCK_LI: {
        gap();
        auto* li = static_cast<MD_BLOCK_LI_DETAIL*>(detail);
        std::string marker = "\xE2\x80\xA2 ";  // "• "
        for (auto it = containers_.rbegin(); it != containers_.rend(); ++it) {
          if (it->kind != Container::List) continue;
          if (it->ordered) marker = std::to_string(it->next++) + ". ";
          break;
        }
        if (li->is_task) marker += li->task_mark == ' ' ? "[ ] " : "[x] ";
        Container item{Container::Item};
        item.indent = display_width(marker);
        containers_.push_back(item);
        marker_ = marker;
        break;
      }
      case MD_BLOCK_HR: {
        gap();
        RichLine head = prefix(false);
        LineBuilder b;
        b.add(head);
        int n = std::min(40, width_ - display_width(head.text));
        std::string rule;
        for (int i = 0; i < n; ++i) rule += "\xE2\x94\x80";  // "─"
        b.add(rule, kAttrDim);
        emit(std::move(b.line));
        need_gap_ = true;
        break;
      }
      case MD_BLOCK_H:
        gap();
        heading_attrs_ = kAttrHeading | kAttrBold;
        if (static_cast<MD_BLOCK_H_DETAIL*>(detail)->level <= 2) heading_attrs_ |= kAttrUnderline;
        break;
      case MD_BLOCK_CODE: {
        gap();
        auto* code = static_cast<MD_BLOCK_CODE_DETAIL*>(detail);
        in_code_ = true;
        code_fenced_ = code->fence_char != 0;
        code_language_ = attribute_text(code->lang);
        code_text_.clear();
        break;
      }
      case MD_BLOCK_P:
        if (!in_table_) gap();
        break;
      case MD_BLOCK_TABLE:
        gap();
        in_table_ = true;
        table_.clear();
        header_rows_ = 0;
        break;
      case MD_BLOCK_THEAD:
      case MD_BLOCK_TBODY:
        break;
      case MD_BLOCK_TR:
        table_.emplace_back();
        break;
      case MD_BLOCK_TH:
      case MD_BLOCK_TD:
        runs_.clear();
        break;
      case MD_BLOCK_HTML:
        gap();
        break;
    }
    return 0;
  }

  int leave_block(MD_BLOCKTYPE type, void*) {
    switch (type) {
      case MD_BLOCK_P:
      case MD_BLOCK_HTML:
        if (in_table_) break;
        flush_paragraph();
        need_gap_ = true;
        break;
      case MD_BLOCK_H:
        flush_paragraph();
        heading_attrs_ = 0;
        need_gap_ = true;
        break;
      case MD_BLOCK_CODE:
        emit_code_block();
        in_code_ = false;
        need_gap_ = true;
        break;
      case MD_BLOCK_LI:
        flush_paragraph();
        if (!marker_.empty()) emit_wrapped({});  // an empty item still shows its marker
        marker_.clear();
        containers_.pop_back();
        break;
      case MD_BLOCK_UL:
      case MD_BLOCK_OL:
        containers_.pop_back();
        if (!innermost_item()) need_gap_ = true;
        break;
      case MD_BLOCK_QUOTE:
        flush_paragraph();
        containers_.pop_back();
        need_gap_ = true;
        break;
      case MD_BLOCK_TH:
      case MD_BLOCK_TD: {
        std::string cell;
        for (const Run& r : runs_) cell += r.text;
        std::replace(cell.begin(), cell.end(), '\n', ' ');
        runs_.clear();
        if (!table_.empty()) table_.back().push_back(std::move(cell));
        if (type == MD_BLOCK_TH) header_rows_ = 1;
        break;
      }
      case MD_BLOCK_TABLE:
        emit_table();
        in_table_ = false;
        need_gap_ = true;
        break;
      default:
        break;
    }
    return 0;
  }

  int enter_span(MD_SPANTYPE type, void* detail) {
    switch (type) {
      case MD_SPAN_EM:
        push_attr(kAttrItalic, 1);
        break;
      case MD_SPAN_STRONG:
        push_attr(kAttrBold, 1);
        break;
      case MD_SPAN_CODE:
        push_attr(kAttrCode, 1);
        break;
      case MD_SPAN_DEL:
        push_attr(kAttrStrike, 1);
        break;
      case MD_SPAN_U:
        push_attr(kAttrUnderline, 1);
        break;
      case MD_SPAN_A:
        links_.push_back({attribute_text(static_cast<MD_SPAN_A_DETAIL*>(detail)->href), plain_size()});
        push_attr(kAttrLink, 1);
        break;
      case MD_SPAN_IMG:
        add_text("[image: ", current_attrs() | kAttrDim);
        push_attr(kAttrDim, 1);
        break;
      default:
        break;
    }
    return 0;
  }

  int leave_span(MD_SPANTYPE type, void*) {
    switch (type) {
      case MD_SPAN_EM:
        push_attr(kAttrItalic, -1);
        break;
      case MD_SPAN_STRONG:
        push_attr(kAttrBold, -1);
        break;
      case MD_SPAN_CODE:
        push_attr(kAttrCode, -1);
        break;
      case MD_SPAN_DEL:
        push_attr(kAttrStrike, -1);
        break;
      case MD_SPAN_U:
        push_attr(kAttrUnderline, -1);
        break;
      case MD_SPAN_A: {
        push_attr(kAttrLink, -1);
        if (links_.empty()) break;
        auto [href, from] = links_.back();
        links_.pop_back();
        std::string shown = plain_text().substr(from);
        if (!href.empty() && href != shown && href != "mailto:" + shown) add_text(" (" + href + ")", kAttrDim);
        break;
      }
      case MD_SPAN_IMG:
        push_attr(kAttrDim, -1);
        add_text("]", current_attrs() | kAttrDim);
        break;
      default:
        break;
    }
    return 0;
  }

  int text(MD_TEXTTYPE type, std::string_view s) {
    if (in_code_) {
      code_text_.append(s);
      return 0;
    }
    switch (type) {
      case MD_TEXT_NULLCHAR:
        add_text("\xEF\xBF\xBD", current_attrs());
        break;
      case MD_TEXT_BR:
        add_text(in_table_ ? " " : "\n", current_attrs());
        break;
      case MD_TEXT_SOFTBR:
        add_text(" ", current_attrs());
        break;
      case MD_TEXT_ENTITY:
        add_text(decode_entity(s), current_attrs());
        break;
      default: {
        std::string clean = sanitize_for_display(s);
        std::replace(clean.begin(), clean.end(), '\n', ' ');
        add_text(std::move(clean), current_attrs());
        break;
      }
    }
    return 0;
  }

  size_t plain_size() const {
    size_t n = 0;
    for (const Run& r : runs_) n += r.text.size();
    return n;
  }
  std::string plain_text() const {
    std::string s;
    for (const Run& r : runs_) s += r.text;
    return s;
  }

  void emit_code_block() {
    RichLine head = prefix(false);
    const int avail = std::max(1, width_ - display_width(head.text));
    if (code_fenced_) {
      ++code_number_;
      std::string label = "[";  // built piecewise: GCC 12 misreports "[" + std::string (-Wrestrict)
      label += std::to_string(code_number_);
      label += "]";
      if (!code_language_.empty()) {
        label += ' ';
        label += sanitize_for_display(code_language_);
      }
      LineBuilder b;
      b.add(head);
      b.add(fit_prefix(label, avail), kAttrDim);
      emit(std::move(b.line));
    }
    std::string_view code = code_text_;
    if (code.ends_with('\n')) code.remove_suffix(1);
    size_t start = 0;
    while (true) {
      size_t nl = code.find('\n', start);
      std::string line = sanitize_for_display(code.substr(start, nl == std::string_view::npos ? nl : nl - start));
      if (display_width(line) > avail) line = std::string(fit_prefix(line, avail - 1)) + std::string(kClipMark);
      LineBuilder b;
      b.add(head);
      b.add(line.empty() ? std::string(" ") : line, kAttrCode);
      emit(std::move(b.line));
      if (nl == std::string_view::npos) break;
      start = nl + 1;
    }
  }

  void emit_table() {
    size_t columns = 0;
    for (const auto& row : table_) columns = std::max(columns, row.size());
    std::vector<int> widths(columns, 0);
    for (const auto& row : table_)
      for (size_t c = 0; c < row.size(); ++c) widths[c] = std::max(widths[c], display_width(row[c]));
    int total = columns ? static_cast<int>(3 * (columns - 1)) : 0;
    for (int w : widths) total += w;
    RichLine head = prefix(false);
    const bool fits = total + display_width(head.text) <= width_;
    for (size_t r = 0; r < table_.size(); ++r) {
      const uint8_t attrs = r < header_rows_ ? kAttrBold : 0;
      if (fits) {
        LineBuilder b;
        b.add(head);
        for (size_t c = 0; c < columns; ++c) {
          std::string cell = c < table_[r].size() ? table_[r][c] : "";
          if (c > 0) b.add(" \xE2\x94\x82 ", kAttrDim);
          b.add(cell, attrs);
          if (c + 1 < columns) b.add(std::string(static_cast<size_t>(widths[c] - display_width(cell)), ' '), 0);
        }
        while (!b.line.text.empty() && b.line.text.back() == ' ') b.line.text.pop_back();
        for (TextSpan& s : b.line.spans) s.end = std::min(s.end, b.line.text.size());
        emit(std::move(b.line));
        if (r + 1 == header_rows_) {
          LineBuilder sep;
          sep.add(head);
          std::string rule;
          for (size_t c = 0; c < columns; ++c) {
            if (c > 0) rule += "\xE2\x94\x80\xE2\x94\xBC\xE2\x94\x80";  // "─┼─"
            for (int i = 0; i < widths[c]; ++i) rule += "\xE2\x94\x80";
          }
          sep.add(rule, kAttrDim);
          emit(std::move(sep.line));
        }
      } else {
        std::vector<Run> runs;
        for (size_t c = 0; c < table_[r].size(); ++c) {
          if (c > 0) runs.push_back({" \xE2\x94\x82 ", kAttrDim});
          runs.push_back({table_[r][c], attrs});
        }
        emit_wrapped(runs);
      }
    }
  }

  int width_;
  std::vector<RichLine> lines_;
  std::vector<Run> runs_;
  std::vector<Container> containers_;
  std::string marker_;  // the list marker the next line starts with
  bool need_gap_ = false;
  int span_depth_[8] = {};
  uint8_t heading_attrs_ = 0;
  std::vector<std::pair<std::string, size_t>> links_;  // href, where the link text starts
  bool in_code_ = false, code_fenced_ = false;
  std::string code_language_, code_text_;
  int code_number_ = 0;
  bool in_table_ = false;
  std::vector<std::vector<std::string>> table_;
  size_t header_rows_ = 0;
};

}  // namespace

std::vector<RichLine> render_markdown(std::string_view markdown, int width) { return Renderer(width).run(markdown); }

std::vector<FencedCodeBlock> fenced_code_blocks(std::string_view markdown) {
  struct State {
    std::vector<FencedCodeBlock> blocks;
    bool in_fenced = false;
  } state;
  MD_PARSER parser{};
  parser.flags = kParserFlags;
  parser.enter_block = [](MD_BLOCKTYPE t, void* d, void* u) {
    auto* s = static_cast<State*>(u);
    if (t == MD_BLOCK_CODE && static_cast<MD_BLOCK_CODE_DETAIL*>(d)->fence_char != 0) {
      s->in_fenced = true;
      s->blocks.push_back({attribute_text(static_cast<MD_BLOCK_CODE_DETAIL*>(d)->lang), ""});
    }
    return 0;
  };
  parser.leave_block = [](MD_BLOCKTYPE t, void*, void* u) {
    if (t == MD_BLOCK_CODE) static_cast<State*>(u)->in_fenced = false;
    return 0;
  };
  parser.enter_span = [](MD_SPANTYPE, void*, void*) { return 0; };
  parser.leave_span = [](MD_SPANTYPE, void*, void*) { return 0; };
  parser.text = [](MD_TEXTTYPE, const MD_CHAR* text, MD_SIZE size, void* u) {
    auto* s = static_cast<State*>(u);
    if (s->in_fenced) s->blocks.back().code.append(text, size);
    return 0;
  };
  md_parse(markdown.data(), static_cast<MD_SIZE>(markdown.size()), &parser, &state);
  return state.blocks;
}

}  // namespace dschat
