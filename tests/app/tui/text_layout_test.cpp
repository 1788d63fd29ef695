// Display widths and soft wrapping (app/tui/text_layout.h), checked against the Unicode data as
// published (UAX #11 East Asian Width, UAX #29 clusters, UAX #14 line breaks).
#include "app/tui/text_layout.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

namespace dschat {
namespace {

const std::string kFamily = "\xF0\x9F\x91\xA8\xE2\x80\x8D\xF0\x9F\x91\xA9\xE2\x80\x8D\xF0\x9F\x91\xA7";  // 👨‍👩‍👧
const std::string kFrance = "\xF0\x9F\x87\xAB\xF0\x9F\x87\xB7";                                        // 🇫🇷
const std::string kGrin = "\xF0\x9F\x98\x80";                                                          // 😀
const std::string kHeartText = "\xE2\x9D\xA4";                                                         // ❤ (text style)
const std::string kHeartEmoji = "\xE2\x9D\xA4\xEF\xB8\x8F";                                            // ❤️
const std::string kEAcute = "e\xCC\x81";                                                               // e + U+0301

TEST(TextLayout, CodepointWidthsFollowEastAsianWidth) {
  EXPECT_EQ(codepoint_width(U'a'), 1);
  EXPECT_EQ(codepoint_width(U'~'), 1);
  EXPECT_EQ(codepoint_width(U'\u00E9'), 1);  // é, narrow
  EXPECT_EQ(codepoint_width(U'\u4E2D'), 2);  // 中, Wide
  EXPECT_EQ(codepoint_width(U'\uAC00'), 2);  // 가, Wide
  EXPECT_EQ(codepoint_width(U'\uFF21'), 2);  // Ａ, Fullwidth
  EXPECT_EQ(codepoint_width(U'\uFF76'), 1);  // ｶ, Halfwidth
  EXPECT_EQ(codepoint_width(U'\u3042'), 2);  // あ
  EXPECT_EQ(codepoint_width(U'\U0001F600'), 2);  // 😀, Emoji_Presentation
  EXPECT_EQ(codepoint_width(U'\u0301'), 0);  // combining acute
  EXPECT_EQ(codepoint_width(U'\u200D'), 0);  // ZWJ (Cf)
  EXPECT_EQ(codepoint_width(U'\uFE0F'), 0);  // VS16
  EXPECT_EQ(codepoint_width(U'\u1160'), 0);  // Hangul medial vowel jamo
  EXPECT_EQ(codepoint_width(U'\u0007'), 0);  // BEL
  for (char32_t c = 0x4E00; c <= 0x9FFF; c += 97) EXPECT_EQ(codepoint_width(c), 2) << std::hex << static_cast<uint32_t>(c);
  for (char32_t c = 0x0300; c <= 0x036F; ++c) EXPECT_EQ(codepoint_width(c), 0) << std::hex << static_cast<uint32_t>(c);
  for (char32_t c = 0x20; c < 0x7F; ++c) EXPECT_EQ(codepoint_width(c), 1) << std::hex << static_cast<uint32_t>(c);
}

TEST(TextLayout, ClustersKeepMarksSequencesAndFlagsTogether) {
  EXPECT_EQ(grapheme_clusters(kEAcute).size(), 1u);
  EXPECT_EQ(grapheme_clusters(kFamily).size(), 1u);
  EXPECT_EQ(grapheme_clusters(kFrance).size(), 1u);
  EXPECT_EQ(grapheme_clusters(kHeartEmoji).size(), 1u);
  EXPECT_EQ(grapheme_clusters("abc").size(), 3u);
  EXPECT_EQ(grapheme_clusters("").size(), 0u);
  EXPECT_EQ(grapheme_clusters("\r\n").size(), 1u);  // CR LF is one cluster (GB3)
}

TEST(TextLayout, ClusterWidths) {
  EXPECT_EQ(cluster_width(kEAcute), 1);
  EXPECT_EQ(cluster_width(kFamily), 2);
  EXPECT_EQ(cluster_width(kFrance), 2);
  EXPECT_EQ(cluster_width(kGrin), 2);
  EXPECT_EQ(cluster_width(kHeartText), 1);
  EXPECT_EQ(cluster_width(kHeartEmoji), 2);
  EXPECT_EQ(display_width("hello"), 5);
  EXPECT_EQ(display_width("\xE4\xB8\xAD\xE6\x96\x87"), 4);  // 中文
  EXPECT_EQ(display_width("a" + kFamily + "b" + kEAcute), 5);
  EXPECT_EQ(display_width(""), 0);
}

TEST(TextLayout, InvalidUtf8NeverThrows) {
  std::string bad = "ab\xFF\xC3";
  EXPECT_NO_THROW(display_width(bad));
  EXPECT_NO_THROW(wrap_text(bad, 2));
  std::string clean = sanitize_for_display(bad);
  EXPECT_EQ(clean, "ab\xEF\xBF\xBD\xEF\xBF\xBD");
}

TEST(TextLayout, SanitizeExpandsTabsAndReplacesControls) {
  EXPECT_EQ(sanitize_for_display("a\tb"), "a   b");
  EXPECT_EQ(sanitize_for_display("abcd\tx"), "abcd    x");
  EXPECT_EQ(sanitize_for_display("x\r\ny"), "x\ny");
  EXPECT_EQ(sanitize_for_display("\x1b[31m"), "\xEF\xBF\xBD[31m");
  EXPECT_EQ(sanitize_for_display("\xE4\xB8\xAD\tz"), "\xE4\xB8\xAD  z");  // 中 is 2 columns
}

TEST(TextLayout, WrapsAtWordBoundaries) {
  EXPECT_EQ(wrap_text("the quick brown fox", 10), (std::vector<std::string>{"the quick", "brown fox"}));
  EXPECT_EQ(wrap_text("the quick brown fox", 100), (std::vector<std::string>{"the quick brown fox"}));
  // No break before a comma or full stop (UAX #14 class IS/CL).
  EXPECT_EQ(wrap_text("hello, world.", 6), (std::vector<std::string>{"hello,", "world."}));
  // A word longer than the width breaks between characters.
  EXPECT_EQ(wrap_text("abcdefghij", 4), (std::vector<std::string>{"abcd", "efgh", "ij"}));
  // Indentation at the start of a line stays.
  EXPECT_EQ(wrap_text("    code", 20), (std::vector<std::string>{"    code"}));
}

TEST(TextLayout, HardNewlinesAndEmptyParagraphs) {
  EXPECT_EQ(wrap_text("a\n\nb", 10), (std::vector<std::string>{"a", "", "b"}));
  EXPECT_EQ(wrap_text("", 10), (std::vector<std::string>{""}));
  EXPECT_EQ(wrap_text("x\n", 10), (std::vector<std::string>{"x", ""}));
}

TEST(TextLayout, WrapsCjkBetweenIdeographs) {
  // 中文字符测试: six ideographs of width 2; at width 5 two fit per line.
  std::string text = "\xE4\xB8\xAD\xE6\x96\x87\xE5\xAD\x97\xE7\xAC\xA6\xE6\xB5\x8B\xE8\xAF\x95";
  std::vector<std::string> lines = wrap_text(text, 5);
  ASSERT_EQ(lines.size(), 3u);
  for (const std::string& line : lines) EXPECT_EQ(display_width(line), 4);
  EXPECT_EQ(lines[0] + lines[1] + lines[2], text);
  // No break before an ideographic full stop (。, class CL).
  std::string with_stop = "\xE4\xB8\xAD\xE6\x96\x87\xE3\x80\x82";  // 中文。
  lines = wrap_text(with_stop, 4);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[1], "\xE6\x96\x87\xE3\x80\x82");
}

TEST(TextLayout, NeverSplitsAClusterAndNeverOverflows) {
  std::vector<std::string> samples = {
      "plain ascii text that goes on for a while, with punctuation; and more.",
      kFamily + kFamily + kFamily + " " + kFrance + kFrance + " " + kGrin,
      kEAcute + kEAcute + kEAcute + kEAcute + kEAcute + " caf" + kEAcute,
      "\xE4\xB8\xAD\xE6\x96\x87 mixed with English \xED\x95\x9C\xEA\xB5\xAD\xEC\x96\xB4 and " + kHeartEmoji,
      "spaces     in    the      middle",
  };
  for (const std::string& text : samples) {
    for (int width = 2; width <= 30; ++width) {
      std::vector<std::string> lines = wrap_text(text, width);
      std::string joined;
      for (const std::string& line : lines) {
        EXPECT_LE(display_width(line), width) << text << " @" << width << ": " << line;
        joined += line;
      }
      // Concatenated clusters, ignoring spaces dropped at breaks, give back the text.
      std::string expected, got;
      for (char c : text) if (c != ' ') expected += c;
      for (char c : joined) if (c != ' ') got += c;
      EXPECT_EQ(got, expected) << "width " << width;
      for (const std::string& line : lines) {
        size_t covered = 0;
        for (std::string_view cluster : grapheme_clusters(line)) covered += cluster.size();
        EXPECT_EQ(covered, line.size());
      }
    }
  }
  // A two-column cluster at width 3: one per line, never cut.
  std::vector<std::string> lines = wrap_text(kFamily + kFamily, 3);
  EXPECT_EQ(lines, (std::vector<std::string>{kFamily, kFamily}));
}

TEST(TextLayout, FitPrefix) {
  EXPECT_EQ(fit_prefix("hello", 3), "hel");
  EXPECT_EQ(fit_prefix("\xE4\xB8\xAD\xE6\x96\x87", 3), "\xE4\xB8\xAD");
  EXPECT_EQ(fit_prefix(kFamily + "x", 1), "");
  EXPECT_EQ(fit_prefix(kFamily + "x", 3), kFamily + "x");
}

}  // namespace
}  // namespace dschat
