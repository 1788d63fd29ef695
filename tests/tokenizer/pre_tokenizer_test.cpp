// Split behaviors, regex translation for ICU and the reference \s semantics.
#include <gtest/gtest.h>

#include "tokenizer/pre_tokenizer.h"
#include "tokenizer/regex_pattern.h"
#include "tokenizer/tokenizer.h"

namespace dschat {
namespace {

std::vector<std::string> split_with(const std::string& text, const std::string& regex, SplitBehavior behavior,
                                    bool invert = false) {
  CompiledRegex compiled(regex, "test");
  std::vector<std::string> pieces;
  for (const RegexMatch& r : split_by_matches(text.size(), compiled.find_all(text), behavior, invert)) {
    pieces.push_back(text.substr(r.begin, r.end - r.begin));
  }
  return pieces;
}

using Pieces = std::vector<std::string>;

// The example of Hugging Face's SplitDelimiterBehavior documentation: "the-final--countdown"
// split on "-".
TEST(SplitBehavior, MatchesTheHuggingFaceDocumentationExample) {
  const std::string text = "the-final--countdown";
  EXPECT_EQ(split_with(text, "-", SplitBehavior::kRemoved), (Pieces{"the", "final", "countdown"}));
  EXPECT_EQ(split_with(text, "-", SplitBehavior::kIsolated), (Pieces{"the", "-", "final", "-", "-", "countdown"}));
  EXPECT_EQ(split_with(text, "-", SplitBehavior::kMergedWithPrevious), (Pieces{"the-", "final-", "-", "countdown"}));
  EXPECT_EQ(split_with(text, "-", SplitBehavior::kMergedWithNext), (Pieces{"the", "-final", "-", "-countdown"}));
  EXPECT_EQ(split_with(text, "-", SplitBehavior::kContiguous), (Pieces{"the", "-", "final", "--", "countdown"}));
}

TEST(SplitBehavior, InvertTreatsMatchesAsContent) {
  EXPECT_EQ(split_with("ab, cd!", "\\p{L}+", SplitBehavior::kRemoved, true), (Pieces{"ab", "cd"}));
  EXPECT_EQ(split_with("ab, cd!", "\\p{L}+", SplitBehavior::kMergedWithPrevious, true), (Pieces{"ab, ", "cd!"}));
  EXPECT_EQ(split_with("", "x", SplitBehavior::kIsolated), Pieces{});
}

// \s is Unicode White_Space as in Python `regex`, tiktoken and HF tokenizers: U+0085 (NEL) and
// U+2028 are white space; U+FEFF, U+200B and U+001C are not (ICU's own \s would say otherwise
// for U+0085 and U+001C..1F is not in either).
TEST(RegexSemantics, BackslashSIsUnicodeWhiteSpace) {
  CompiledRegex space("\\s", "test");
  CompiledRegex not_space("\\S", "test");
  CompiledRegex in_class("[^\\s\\p{L}]", "test");
  auto matches = [](const CompiledRegex& r, const std::string& s) { return r.find_all(s).size() == 1; };
  for (const char* ws : {" ", "\t", "\n", "\r", "\x0B", "\x0C", "\xC2\x85", "\xC2\xA0", "\xE2\x80\x83", "\xE2\x80\xA8",
                         "\xE3\x80\x80", "\xE1\x9A\x80"}) {
    EXPECT_TRUE(matches(space, ws)) << "should be \\s: " << ws;
    EXPECT_FALSE(matches(not_space, ws));
    EXPECT_FALSE(matches(in_class, ws));
  }
  for (const char* other : {"a", "\xEF\xBB\xBF", "\xE2\x80\x8B", "\x1C", "\x1F", "\xE1\xA0\x8E", "!"}) {
    EXPECT_FALSE(matches(space, other)) << "should not be \\s: " << other;
    EXPECT_TRUE(matches(not_space, other));
  }
  EXPECT_TRUE(matches(in_class, "\xEF\xBB\xBF"));  // U+FEFF is "other", not white space
}

TEST(RegexSemantics, TranslationEscapesIcuSetOperators) {
  EXPECT_EQ(translate_pattern("\\s+(?!\\S)", "t"), "\\p{White_Space}+(?!\\P{White_Space})");
  EXPECT_EQ(translate_pattern("[^\\s\\p{L}]", "t"), "[^\\p{White_Space}\\p{L}]");
  EXPECT_EQ(translate_pattern("[a&&b]", "t"), "[a\\&\\&b]");
  EXPECT_EQ(translate_pattern("[+--]", "t"), "[+-\\-]");  // the range '+'..'-'
  EXPECT_EQ(CompiledRegex("[+--]", "t").find_all(",").size(), 1u);
  EXPECT_EQ(translate_pattern("[[x]", "t"), "[\\[x]");
  EXPECT_EQ(translate_pattern("[]a]", "t"), "[\\]a]");
  EXPECT_EQ(translate_pattern("\\\\s", "t"), "\\\\s");  // an escaped backslash, then 's'
  // Python literals that ICU sets would read as operators still match literally.
  CompiledRegex set("[&-]+", "t");
  ASSERT_EQ(set.find_all("a&-&b").size(), 1u);
  EXPECT_EQ(set.find_all("a&-&b")[0].begin, 1u);
  EXPECT_EQ(set.find_all("a&-&b")[0].end, 4u);
}

TEST(RegexSemantics, MalformedPatternIsATokenizerErrorNamingIt) {
  try {
    CompiledRegex bad("(unclosed", "tokenizer.json: pre_tokenizer.pattern");
    FAIL() << "no error";
  } catch (const TokenizerError& e) {
    EXPECT_NE(std::string(e.what()).find("pre_tokenizer.pattern"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("(unclosed"), std::string::npos) << e.what();
  }
  EXPECT_THROW(CompiledRegex("[abc", "t"), TokenizerError);
  EXPECT_THROW(CompiledRegex("abc\\", "t"), TokenizerError);
}

TEST(RegexSemantics, MatchOffsetsAreUtf8ByteOffsetsAcrossNonBmpText) {
  CompiledRegex letters("\\p{L}+", "t");
  const std::string text = "\xF0\x9F\x98\x80" "ab \xF0\x90\x8C\xB0x";  // U+1F600 "ab " U+10330 "x"
  auto found = letters.find_all(text);
  ASSERT_EQ(found.size(), 2u);
  EXPECT_EQ(found[0].begin, 4u);
  EXPECT_EQ(found[0].end, 6u);
  EXPECT_EQ(found[1].begin, 7u);  // U+10330 GOTHIC LETTER AHSA is a letter
  EXPECT_EQ(found[1].end, 12u);
}

}  // namespace
}  // namespace dschat
