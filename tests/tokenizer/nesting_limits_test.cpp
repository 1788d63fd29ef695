// Nesting bounds of tokenizer.json: JSON at most 256 levels (common/json_limits.h), Sequence
// normalizers, pre-tokenizers and decoders at most 64 (tokenizer/sequence_depth.h). Deeper files
// are a quick TokenizerError in little memory (20k Sequence levels once took 5.2 GB).
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>

#include "tests/tokenizer/tiny_tokenizer.h"

namespace dschat::testing {
namespace {

// `leaf` wrapped in `depth` Sequences whose list is `list_key`.
std::string nested_sequence(int depth, const std::string& list_key, const std::string& leaf) {
  std::string text;
  const std::string open = "{\"type\":\"Sequence\",\"" + list_key + "\":[";
  text.reserve(depth * (open.size() + 2) + leaf.size());
  for (int i = 0; i < depth; ++i) text += open;
  text += leaf;
  for (int i = 0; i < depth; ++i) text += "]}";
  return text;
}

// The tiny tokenizer's text with `section` replaced by `value_text` (JSON text).
std::string with_section(const std::string& section, const std::string& value_text) {
  nlohmann::json spec = tiny_tokenizer();
  spec[section] = nullptr;
  std::string text = spec.dump();
  const std::string slot = "\"" + section + "\":null";
  text.replace(text.find(slot), slot.size(), "\"" + section + "\":" + value_text);
  return text;
}

const std::string kNfc = R"({"type":"NFC"})";
const std::string kByteLevel = R"({"type":"ByteLevel","add_prefix_space":false,"use_regex":true})";
const std::string kByteLevelDecoder = R"({"type":"ByteLevel"})";

std::string load_error(const std::string& json_text) {
  try {
    Tokenizer::from_json(json_text, "deep/tokenizer.json");
  } catch (const TokenizerError& e) {
    return e.what();
  }
  return "(loaded)";
}

long peak_rss_kb() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_maxrss;
}

TEST(NestingLimits, SequenceOf64LevelsLoadsAndEncodes) {
  const Tokenizer reference = Tokenizer::from_json(tiny_tokenizer().dump());
  const std::vector<int32_t> expected = reference.encode("hello, world");
  std::string text = with_section("normalizer", nested_sequence(64, "normalizers", kNfc));
  EXPECT_EQ(Tokenizer::from_json(text).encode("hello, world"), expected);
  text = with_section("pre_tokenizer", nested_sequence(64, "pretokenizers", kByteLevel));
  EXPECT_EQ(Tokenizer::from_json(text).encode("hello, world"), expected);
  text = with_section("decoder", nested_sequence(64, "decoders", kByteLevelDecoder));
  EXPECT_EQ(Tokenizer::from_json(text).decode(expected), "hello, world");
}

TEST(NestingLimits, SequenceOf65LevelsIsRefusedNamingTheSection) {
  EXPECT_EQ(load_error(with_section("normalizer", nested_sequence(65, "normalizers", kNfc))),
            "deep/tokenizer.json: normalizer: Sequence nested deeper than 64 levels");
  EXPECT_EQ(load_error(with_section("pre_tokenizer", nested_sequence(65, "pretokenizers", kByteLevel))),
            "deep/tokenizer.json: pre_tokenizer: Sequence nested deeper than 64 levels");
  EXPECT_EQ(load_error(with_section("decoder", nested_sequence(65, "decoders", kByteLevelDecoder))),
            "deep/tokenizer.json: decoder: Sequence nested deeper than 64 levels");
}

TEST(NestingLimits, JsonJustUnderItsBoundIsCheapAndOverItIsRefused) {
  // 127 Sequences: 254 JSON levels with the root and the section, just inside the JSON bound.
  const long before = peak_rss_kb();
  EXPECT_EQ(load_error(with_section("normalizer", nested_sequence(127, "normalizers", kNfc))),
            "deep/tokenizer.json: normalizer: Sequence nested deeper than 64 levels");
  EXPECT_LT(peak_rss_kb() - before, 50 * 1024);
  EXPECT_EQ(load_error(with_section("normalizer", nested_sequence(128, "normalizers", kNfc))),
            "deep/tokenizer.json: JSON nested deeper than 256 levels");
  // Deep arrays in a key the tokenizer ignores: the same bound, for both readers.
  auto arrays = [](int depth) { return std::string(depth, '[') + std::string(depth, ']'); };
  EXPECT_EQ(load_error(with_section("unused", arrays(250))), "(loaded)");
  EXPECT_EQ(load_error(with_section("unused", arrays(300))), "deep/tokenizer.json: JSON nested deeper than 256 levels");
}

TEST(NestingLimits, Sequence100kDeepFailsFastInBoundedMemory) {
  const auto dir = std::filesystem::temp_directory_path() / ("dschat_deep_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  for (const auto& [section, list_key, leaf] :
       {std::tuple{"normalizer", "normalizers", kNfc}, std::tuple{"pre_tokenizer", "pretokenizers", kByteLevel}}) {
    {
      std::ofstream(dir / "tokenizer.json") << with_section(section, nested_sequence(100000, list_key, leaf));
    }
    const long before = peak_rss_kb();
    const auto start = std::chrono::steady_clock::now();
    try {
      Tokenizer::from_directory(dir);
      ADD_FAILURE() << section << ": loaded";
    } catch (const TokenizerError& e) {
      EXPECT_NE(std::string(e.what()).find("tokenizer.json: JSON nested deeper than 256 levels"), std::string::npos)
          << e.what();
    }
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    EXPECT_LT(seconds, 5.0) << section;
    EXPECT_LT(peak_rss_kb() - before, 200 * 1024) << section << ": peak RSS grew by more than 200 MB";
  }
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace dschat::testing
