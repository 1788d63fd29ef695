// The GPT-2 vocabulary under other normalizer / pre-tokenizer / added-token settings
// (tests/data/tokenizer/variants.json): NFC and Sequence normalizers, ByteLevel add_prefix_space,
// every Split behavior, invert, String patterns, Digits, added tokens with lstrip/rstrip and
// non-special added tokens, with and without parse_special. Expected ids come from
// tools/tokenizer/hf_reference.py (Python `regex`).
#include <gtest/gtest.h>

#include <map>

#include "tests/tokenizer/tokenizer_test_data.h"

namespace dschat::testing {
namespace {

TEST(Variants, EveryVariantMatchesTheReference) {
  const nlohmann::json base = nlohmann::json::parse(gpt2_json_text());
  const auto variants = nlohmann::json::parse(read_text_file(tokenizer_data_dir() + "/variants.json"));
  std::map<std::string, std::string> text_of;
  for (const CorpusCase& c : corpus()) text_of[c.name] = c.text;

  std::map<std::string, Tokenizer> tokenizers;
  for (const auto& variant : variants) {
    nlohmann::json spec = base;
    for (const char* key : {"normalizer", "pre_tokenizer", "added_tokens"}) {
      if (variant.contains(key)) spec[key] = variant[key];
    }
    tokenizers.emplace(variant["name"].get<std::string>(), Tokenizer::from_json(spec.dump(), variant["name"]));
  }
  const auto goldens = read_jsonl(tokenizer_data_dir() + "/variants.golden.jsonl");
  ASSERT_GT(goldens.size(), 1000u);
  std::map<std::string, int> checked;
  for (const auto& row : goldens) {
    const std::string variant = row["variant"];
    const std::string name = row["name"];
    const bool parse_special = row["parse_special"];
    ASSERT_TRUE(tokenizers.count(variant)) << variant;
    ASSERT_TRUE(text_of.count(name)) << name;
    const Tokenizer& tokenizer = tokenizers.at(variant);
    auto ids = tokenizer.encode(text_of[name], parse_special);
    EXPECT_EQ(ids, row["ids"].get<std::vector<int32_t>>())
        << "variant " << variant << ", case " << name << ", parse_special " << parse_special;
    ++checked[variant];
  }
  EXPECT_EQ(checked.size(), tokenizers.size()) << "a variant has no golden rows";
}

TEST(Variants, NfcNormalizerMakesNfdAndNfcTextsEqual) {
  nlohmann::json spec = nlohmann::json::parse(gpt2_json_text());
  spec["normalizer"] = {{"type", "NFC"}};
  const Tokenizer nfc = Tokenizer::from_json(spec.dump());
  EXPECT_EQ(nfc.encode("cafe\xCC\x81"), nfc.encode("caf\xC3\xA9"));  // e + U+0301 vs U+00E9
  EXPECT_NE(gpt2().encode("cafe\xCC\x81"), gpt2().encode("caf\xC3\xA9"));
}

}  // namespace
}  // namespace dschat::testing
