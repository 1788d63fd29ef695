// Markdown in the transcript: a reply's text (CommonMark + GitHub tables and strikethrough, parsed
// by md4c) laid out as styled lines for a width. Headings, emphasis, inline code, links, lists and
// quotes are wrapped with hanging indents; fenced code blocks are never wrapped (a line too wide
// is clipped, ending in "›") and get a label line with their number and language ("[1] python"),
// the numbers `/copy N` uses (fenced_code_blocks()); tables are aligned when they fit, else one
// "a │ b" line per row. Re-rendering the whole text at every streamed piece is what keeps the
// layout stable: an unclosed fence simply runs to the end. No curses here.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace dschat {

// Attributes of a run of text, combined as bits.
enum TextAttr : uint8_t {
  kAttrBold = 1,
  kAttrItalic = 2,
  kAttrUnderline = 4,
  kAttrCode = 8,  // inline code and code blocks
  kAttrLink = 16,
  kAttrDim = 32,  // code block labels, link targets, quote bars, rules
  kAttrHeading = 64,
  kAttrStrike = 128,
};

struct TextSpan {
  size_t begin = 0, end = 0;  // byte range in the line's text
  uint8_t attrs = 0;
  bool operator==(const TextSpan&) const = default;
};

struct RichLine {
  std::string text;
  std::vector<TextSpan> spans;  // sorted, disjoint; text outside them is plain
  bool operator==(const RichLine&) const = default;
};

// `markdown` laid out for `width` columns (>= 1); never a line wider than `width`.
std::vector<RichLine> render_markdown(std::string_view markdown, int width);

struct FencedCodeBlock {
  std::string language;  // the info string's first word ("" when none)
  std::string code;      // the block's text as written, ending with '\n' unless empty
};

// The fenced code blocks of `markdown` in order (the Nth is labelled [N] by render_markdown).
// Indented code blocks are not counted: only fenced ones are labelled.
std::vector<FencedCodeBlock> fenced_code_blocks(std::string_view markdown);

}  // namespace dschat
