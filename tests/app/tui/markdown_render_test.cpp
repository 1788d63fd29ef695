// Markdown laid out as styled lines (app/tui/markdown_render.h). The expectations are written out
// by hand from the CommonMark/GFM meaning of each input (what is bold, what is code, where a list
// item's text wraps), not taken from the renderer's output.
#include "app/tui/markdown_render.h"

#include <gtest/gtest.h>

#include "app/tui/text_layout.h"

namespace dschat {
namespace {

std::vector<std::string> texts(const std::vector<RichLine>& lines) {
  std::vector<std::string> t;
  for (const RichLine& l : lines) t.push_back(l.text);
  return t;
}

// The text of `line` that carries exactly `attrs`, span by span, joined by '|'.
std::string with_attrs(const RichLine& line, uint8_t attrs) {
  std::string out;
  for (const TextSpan& s : line.spans) {
    if (s.attrs != attrs) continue;
    if (!out.empty()) out += '|';
    out += line.text.substr(s.begin, s.end - s.begin);
  }
  return out;
}

TEST(MarkdownRender, EmphasisBoldAndInlineCode) {
  auto lines = render_markdown("Use **bold**, *italic* and `x = 1` here.", 80);
  ASSERT_EQ(texts(lines), (std::vector<std::string>{"Use bold, italic and x = 1 here."}));
  EXPECT_EQ(with_attrs(lines[0], kAttrBold), "bold");
  EXPECT_EQ(with_attrs(lines[0], kAttrItalic), "italic");
  EXPECT_EQ(with_attrs(lines[0], kAttrCode), "x = 1");
  EXPECT_EQ(lines[0].spans.size(), 3u);  // the rest is plain
}

TEST(MarkdownRender, NestedEmphasisCombines) {
  auto lines = render_markdown("***both*** and **bold *and italic***", 80);
  ASSERT_EQ(texts(lines), (std::vector<std::string>{"both and bold and italic"}));
  EXPECT_EQ(with_attrs(lines[0], kAttrBold | kAttrItalic), "both|and italic");
  EXPECT_EQ(with_attrs(lines[0], kAttrBold), "bold ");
}

// Every block is separated from the next by one blank line (a heading from its text too).
TEST(MarkdownRender, HeadingsParagraphsAndGaps) {
  auto lines = render_markdown("# Title\n\nFirst para.\n\n### Small\ntext", 80);
  EXPECT_EQ(texts(lines), (std::vector<std::string>{"Title", "", "First para.", "", "Small", "", "text"}));
  EXPECT_EQ(with_attrs(lines[0], kAttrHeading | kAttrBold | kAttrUnderline), "Title");
  EXPECT_EQ(with_attrs(lines[4], kAttrHeading | kAttrBold), "Small");
  EXPECT_TRUE(lines[6].spans.empty());
}

TEST(MarkdownRender, ListItemsWrapWithAHangingIndent) {
  auto lines = render_markdown("- alpha beta gamma delta\n- two\n\n1. one\n2. second item here", 14);
  EXPECT_EQ(texts(lines), (std::vector<std::string>{"\xE2\x80\xA2 alpha beta", "  gamma delta", "\xE2\x80\xA2 two", "",
                                                    "1. one", "2. second item", "   here"}));
}

TEST(MarkdownRender, NestedListsIndent) {
  auto lines = render_markdown("- a\n  - b\n- c", 40);
  EXPECT_EQ(texts(lines), (std::vector<std::string>{"\xE2\x80\xA2 a", "  \xE2\x80\xA2 b", "\xE2\x80\xA2 c"}));
}

TEST(MarkdownRender, FencedCodeIsLabelledNumberedAndClippedNotWrapped) {
  std::string md = "Intro\n\n```python\nprint('a very long line of code')\n  x = 1\n```\n\n```\nplain\n```\n";
  auto lines = render_markdown(md, 20);
  EXPECT_EQ(texts(lines), (std::vector<std::string>{"Intro", "", "[1] python", "print('a very long \xE2\x80\xBA",
                                                    "  x = 1", "", "[2]", "plain"}));
  EXPECT_EQ(with_attrs(lines[2], kAttrDim), "[1] python");
  EXPECT_EQ(with_attrs(lines[4], kAttrCode), "  x = 1");
  for (const RichLine& l : lines) EXPECT_LE(display_width(l.text), 20) << l.text;
  auto blocks = fenced_code_blocks(md);
  ASSERT_EQ(blocks.size(), 2u);
  EXPECT_EQ(blocks[0].language, "python");
  EXPECT_EQ(blocks[0].code, "print('a very long line of code')\n  x = 1\n");  // whole, for /copy
  EXPECT_EQ(blocks[1].language, "");
  EXPECT_EQ(blocks[1].code, "plain\n");
}

TEST(MarkdownRender, AnUnclosedFenceWhileStreamingRunsToTheEnd) {
  auto lines = render_markdown("Code:\n\n```sh\necho hi\necho **not bold**", 40);
  EXPECT_EQ(texts(lines), (std::vector<std::string>{"Code:", "", "[1] sh", "echo hi", "echo **not bold**"}));
  EXPECT_EQ(fenced_code_blocks("```sh\necho hi\n").size(), 1u);
}

TEST(MarkdownRender, QuotesAndLinks) {
  auto lines = render_markdown("> quoted *text*\n\nSee [the docs](https://example.org) or <https://a.b>.", 80);
  ASSERT_EQ(texts(lines), (std::vector<std::string>{"\xE2\x94\x82 quoted text", "",
                                                    "See the docs (https://example.org) or https://a.b."}));
  EXPECT_EQ(with_attrs(lines[0], kAttrDim), "\xE2\x94\x82 ");
  EXPECT_EQ(with_attrs(lines[0], kAttrItalic), "text");
  EXPECT_EQ(with_attrs(lines[2], kAttrLink), "the docs|https://a.b");
  EXPECT_EQ(with_attrs(lines[2], kAttrDim), " (https://example.org)");
}

TEST(MarkdownRender, TablesAlignWhenTheyFit) {
  std::string md = "| name | n |\n|---|---|\n| a | 10 |\n| longer | 2 |\n";
  auto lines = render_markdown(md, 40);
  EXPECT_EQ(texts(lines),
            (std::vector<std::string>{"name   \xE2\x94\x82 n",
                                      "\xE2\x94\x80\xE2\x94\x80\xE2\x94\x80\xE2\x94\x80\xE2\x94\x80\xE2\x94\x80\xE2\x94"
                                      "\x80\xE2\x94\xBC\xE2\x94\x80\xE2\x94\x80\xE2\x94\x80",
                                      "a      \xE2\x94\x82 10", "longer \xE2\x94\x82 2"}));
  EXPECT_EQ(with_attrs(lines[0], kAttrBold), "name|n");
  // Too narrow: one wrapped line per row.
  auto narrow = render_markdown(md, 8);
  for (const RichLine& l : narrow) EXPECT_LE(display_width(l.text), 8) << l.text;
  EXPECT_EQ(narrow[0].text, "name \xE2\x94\x82 n");
}

TEST(MarkdownRender, WideCharactersWrapByColumns) {
  auto lines = render_markdown("**\xE4\xBD\xA0\xE5\xA5\xBD\xE4\xB8\x96\xE7\x95\x8C**", 5);  // **你好世界**
  EXPECT_EQ(texts(lines), (std::vector<std::string>{"\xE4\xBD\xA0\xE5\xA5\xBD", "\xE4\xB8\x96\xE7\x95\x8C"}));
  EXPECT_EQ(with_attrs(lines[1], kAttrBold), "\xE4\xB8\x96\xE7\x95\x8C");
}

TEST(MarkdownRender, EntitiesHtmlAndControlCharacters) {
  auto lines = render_markdown("a &amp; b &#65; <b>raw</b>\x07", 80);
  EXPECT_EQ(texts(lines), (std::vector<std::string>{"a & b A <b>raw</b>\xEF\xBF\xBD"}));
}

TEST(MarkdownRender, EmptyTextIsOneEmptyLine) {
  EXPECT_EQ(texts(render_markdown("", 10)), (std::vector<std::string>{""}));
}

}  // namespace
}  // namespace dschat
