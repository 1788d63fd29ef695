// Token ids of GPT-2 and DeepSeek-V3 on every corpus text against the goldens made by
// independent implementations (js-tiktoken, transformers.js, and hf_reference.py where those
// use JavaScript's \s; see tests/data/tokenizer/README.md), and exact round trips.
#include <gtest/gtest.h>

#include "tests/tokenizer/tokenizer_test_data.h"

namespace dschat::testing {
namespace {

void expect_goldens(const Tokenizer& tokenizer, const std::string& golden_file,
                    const std::vector<CorpusCase>& cases = corpus()) {
  const auto goldens = read_jsonl(tokenizer_data_dir() + "/" + golden_file);
  ASSERT_EQ(goldens.size(), cases.size()) << golden_file << " does not match its corpus";
  for (std::size_t i = 0; i < goldens.size(); ++i) {
    const CorpusCase& c = cases[i];
    ASSERT_EQ(goldens[i]["name"].get<std::string>(), c.name);
    auto expected = goldens[i]["ids"].get<std::vector<int32_t>>();
    EXPECT_EQ(tokenizer.encode(c.text), expected)
        << golden_file << ": case " << c.name << " (ids from " << goldens[i]["source"].get<std::string>() << ")";
  }
}

void expect_round_trips(const Tokenizer& tokenizer) {
  for (const auto* cases : {&corpus(), &fuzz_corpus()}) {
    for (const CorpusCase& c : *cases) {
      EXPECT_EQ(tokenizer.decode(tokenizer.encode(c.text)), c.text) << "case " << c.name;
    }
  }
}

TEST(GoldenIds, Gpt2MatchesReferenceOnEveryCorpusText) { expect_goldens(gpt2(), "gpt2.golden.jsonl"); }

TEST(GoldenIds, DeepSeekV3MatchesReferenceOnEveryCorpusText) {
  expect_goldens(deepseek_v3(), "deepseek_v3.golden.jsonl");
}

TEST(GoldenIds, Gpt2MatchesReferenceOnEveryFuzzText) {
  expect_goldens(gpt2(), "gpt2.fuzz.golden.jsonl", fuzz_corpus());
}

TEST(GoldenIds, DeepSeekV3MatchesReferenceOnEveryFuzzText) {
  expect_goldens(deepseek_v3(), "deepseek_v3.fuzz.golden.jsonl", fuzz_corpus());
}

TEST(RoundTrip, Gpt2DecodeOfEncodeIsTheText) { expect_round_trips(gpt2()); }

TEST(RoundTrip, DeepSeekV3DecodeOfEncodeIsTheText) { expect_round_trips(deepseek_v3()); }

TEST(GoldenIds, Gpt2KnownSentence) {
  // The classic example, as published for GPT-2 ("Hello world" -> 15496, 995).
  EXPECT_EQ(gpt2().encode("Hello world"), (std::vector<int32_t>{15496, 995}));
  EXPECT_EQ(gpt2().vocab_size(), 50257);
  EXPECT_EQ(gpt2().token_to_id("<|endoftext|>"), 50256);
  EXPECT_TRUE(gpt2().is_special(50256));
  EXPECT_FALSE(gpt2().is_special(15496));
  EXPECT_EQ(gpt2().token_text(11), ",");
  EXPECT_EQ(gpt2().token_text(220), "\xC4\xA0");  // "Ġ", the byte-level space
  EXPECT_EQ(gpt2().token_bytes(220), " ");
}

TEST(Config, ReadsBosEosAndTemplate) {
  EXPECT_EQ(gpt2().config().bos_token, "<|endoftext|>");
  EXPECT_EQ(gpt2().config().eos_token, "<|endoftext|>");
  const auto& ds = deepseek_v3().config();
  EXPECT_EQ(ds.bos_token, "<\xEF\xBD\x9C" "begin\xE2\x96\x81of\xE2\x96\x81sentence\xEF\xBD\x9C>");
  EXPECT_TRUE(ds.add_bos_token);
  ASSERT_TRUE(ds.chat_template.has_value());
  EXPECT_NE(ds.chat_template->find("add_generation_prompt"), std::string::npos);
  EXPECT_EQ(deepseek_v3().vocab_size(), 128815);
}

}  // namespace
}  // namespace dschat::testing
