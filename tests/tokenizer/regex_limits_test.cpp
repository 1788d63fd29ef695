// The backtracking bound of pre-tokenizer regexes (tokenizer/regex_pattern.cpp): a pattern that
// backtracks catastrophically is a TokenizerError naming it within seconds, while the GPT-2 and
// DeepSeek-V3 patterns tokenize 10 MB of ordinary text untouched.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>

#include "tests/tokenizer/tiny_tokenizer.h"
#include "tokenizer/regex_pattern.h"

namespace dschat::testing {
namespace {

// The tiny tokenizer pre-tokenizing with Split(`pattern`, Isolated), then ByteLevel.
Tokenizer with_split_pattern(const std::string& pattern) {
  nlohmann::json spec = tiny_tokenizer();
  spec["pre_tokenizer"] = {
      {"type", "Sequence"},
      {"pretokenizers",
       {{{"type", "Split"}, {"pattern", {{"Regex", pattern}}}, {"behavior", "Isolated"}, {"invert", false}},
        {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"use_regex", false}}}}};
  return Tokenizer::from_json(spec.dump(), "slow/tokenizer.json");
}

// Encoding `text` fails with the backtracking error naming `pattern` and the text's size, in
// under 20 s (ICU alone would take minutes or more).
void expect_backtracking_error(const std::string& pattern, const std::string& text) {
  const Tokenizer tokenizer = with_split_pattern(pattern);
  const auto start = std::chrono::steady_clock::now();
  try {
    tokenizer.encode(text);
    ADD_FAILURE() << pattern << ": encoded";
  } catch (const TokenizerError& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("slow/tokenizer.json: pre_tokenizer.pretokenizers[0].pattern"), std::string::npos) << message;
    EXPECT_NE(message.find("\"" + pattern + "\""), std::string::npos) << message;
    EXPECT_NE(message.find("backtracking limit on a text of " + std::to_string(text.size()) + " bytes"),
              std::string::npos)
        << message;
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_LT(seconds, 20.0) << pattern;
}

// About `size` bytes of varied ordinary text (prose, code, numbers, CJK, Cyrillic, emoji, runs of
// spaces and newlines), the same every run.
std::string ordinary_text(std::size_t size) {
  static const char* const kPieces[] = {
      "The ", "quick ", "brown ", "fox ", "jumps ", "over ", "the ", "lazy ", "dog. ", "It's ", "don't ",
      "we'll ", "1234567 ", "3.14159, ", "(see §2) ", "\"quoted\" ", "e-mail: a@b.org ", "—dash— ",
      "世界你好，", "こんにちは。", "カタカナ ", "привет ", "мир! ", "😀 ", "\t", "\n", "\r\n", "    ",
      "\n\n", "for (int i = 0; i < n; ++i) { x[i] = f(y); } ", "// comment\n", "!!! ", "??? ", "... "};
  constexpr std::size_t kCount = sizeof kPieces / sizeof kPieces[0];
  std::string text;
  text.reserve(size + 64);
  uint64_t state = 12345;
  while (text.size() < size) {
    state = state * 6364136223846793005ULL + 1442695040888963407ULL;
    text += kPieces[(state >> 33) % kCount];
  }
  return text;
}

TEST(RegexLimits, NestedQuantifierOnAShortTextIsATimeoutError) {
  expect_backtracking_error("(a+)+$", std::string(40, 'a') + "b");
}

TEST(RegexLimits, QuadraticSearchOnALongTextIsATimeoutError) {
  std::string text;
  text.reserve(2 << 20);
  while (text.size() < (2u << 20)) text += "ab";
  expect_backtracking_error("(?:a|b)*c", text);
}

TEST(RegexLimits, ALongPatternIsCutInTheMessage) {
  const std::string pattern = "(a+)+$|" + std::string(100, 'x');
  try {
    with_split_pattern(pattern).encode(std::string(40, 'a') + "b");
    FAIL();
  } catch (const TokenizerError& e) {
    EXPECT_NE(std::string(e.what()).find("\"(a+)+$|xxx"), std::string::npos) << e.what();
    EXPECT_EQ(std::string(e.what()).find(pattern), std::string::npos) << e.what();
  }
}

TEST(RegexLimits, RealTokenizersEncodeTenMegabytesOfOrdinaryText) {
  const std::string text = ordinary_text(10 << 20);
  EXPECT_GT(gpt2().encode(text).size(), text.size() / 8);
  EXPECT_GT(deepseek_v3().encode(text).size(), text.size() / 8);
}

TEST(RegexLimits, RealPatternsSearchTenMegabytesOfDenseTextInOneCall) {
  // A match every one or two characters: the most backtracking states per character.
  std::string dense;
  while (dense.size() < (10u << 20)) dense += "a b c , . ! 1 2 ' s\n";
  nlohmann::json deepseek = nlohmann::json::parse(read_text_file(tokenizer_data_dir() + "/deepseek_v3/tokenizer.json"));
  std::vector<std::string> patterns = {
      R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)"};  // GPT-2
  for (const auto& step : deepseek["pre_tokenizer"]["pretokenizers"]) {
    if (step["type"] == "Split") patterns.push_back(step["pattern"]["Regex"].get<std::string>());
  }
  ASSERT_EQ(patterns.size(), 4u);
  for (const std::string& pattern : patterns) {
    CompiledRegex regex(pattern, "test");
    EXPECT_NO_THROW(regex.find_all(dense)) << pattern;
    EXPECT_NO_THROW(regex.find_all(ordinary_text(10 << 20))) << pattern;
  }
}

}  // namespace
}  // namespace dschat::testing
