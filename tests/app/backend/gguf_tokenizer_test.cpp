// The tokenizer read from GGUF metadata gives the ids of the tokenizer.json it was converted from:
//   - a file llama.cpp's converter wrote (tests/data/gguf, tools/make_gguf_goldens.py) against the
//     tokenizer.json it was made from, over the whole tokenizer test corpus;
//   - DeepSeek-V3's full vocabulary, put into GGUF form as the converter does (tokens by id,
//     CONTROL for special added tokens, USER_DEFINED for the others, merges), against the
//     independent golden ids of tests/data/tokenizer.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "app/backend/chat_template.h"
#include "app/backend/model_tokenizer.h"
#include "tests/tokenizer/tokenizer_test_data.h"
#include "tokenizer/tokenizer_json_reader.h"

namespace dschat {
namespace {

namespace fs = std::filesystem;
const fs::path kDir = fs::path(DSCHAT_TEST_DATA_DIR) / "gguf";

std::vector<testing::CorpusCase> all_texts() {
  auto texts = testing::corpus();
  const auto& more = testing::fuzz_corpus();
  texts.insert(texts.end(), more.begin(), more.end());
  return texts;
}

TEST(GgufTokenizer, FileFromLlamaCppEncodesAsItsTokenizerJson) {
  const Tokenizer gguf = load_model_tokenizer(kDir / "v3_qlora.Q8_0.gguf");
  const Tokenizer json = Tokenizer::from_directory(kDir / "tokenizer");
  size_t texts = 0;
  for (const auto& c : all_texts()) {
    for (bool special : {false, true}) {
      EXPECT_EQ(gguf.encode(c.text, special), json.encode(c.text, special)) << c.name << " special " << special;
    }
    ++texts;
  }
  EXPECT_GT(texts, 400u);
  const std::string chat = "<｜User｜>Hi there<｜Assistant｜>";
  EXPECT_EQ(gguf.encode(chat, true), json.encode(chat, true));
  const auto chat_ids = gguf.encode(chat, true);  // the specials are matched
  ASSERT_GE(chat_ids.size(), 3u);
  EXPECT_EQ(chat_ids.front(), gguf.token_to_id("<｜User｜>"));
  EXPECT_EQ(chat_ids.back(), gguf.token_to_id("<｜Assistant｜>"));
  ASSERT_EQ(gguf.vocab_size(), json.vocab_size() + 3);  // + the converter's three [PAD] ids
  for (int32_t id = 0; id < json.vocab_size(); ++id) {
    EXPECT_EQ(gguf.token_bytes(id), json.token_bytes(id)) << id;
    EXPECT_EQ(gguf.is_special(id), json.is_special(id)) << id;
  }
  EXPECT_EQ(gguf.config().bos_token, json.config().bos_token);
  EXPECT_EQ(gguf.config().eos_token, json.config().eos_token);
  EXPECT_EQ(gguf.config().add_bos_token, json.config().add_bos_token);
  EXPECT_TRUE(gguf.config().add_bos_token);
  EXPECT_EQ(gguf.config().chat_template, json.config().chat_template);
  EXPECT_EQ(ChatTemplate::detect(gguf).name(), "deepseek-v3");
}

// DeepSeek-V3's tokenizer.json, read by the tokenizer library's streaming reader (a DOM of it would take longer than
// the rest of the test).
const StreamedTokenizerJson& deepseek_v3_json() {
  static const StreamedTokenizerJson doc = [] {
    const std::string text = testing::read_text_file(testing::tokenizer_data_dir() + "/deepseek_v3/tokenizer.json");
    auto streamed = read_tokenizer_json_streaming(text);
    if (!streamed) throw std::runtime_error("deepseek_v3/tokenizer.json: not in the streaming reader's shape");
    return std::move(*streamed);
  }();
  return doc;
}

// DeepSeek-V3's tokenizer as the converter's get_vocab_base writes it into GGUF.
GgufVocabulary deepseek_v3_as_gguf() {
  const StreamedTokenizerJson& doc = deepseek_v3_json();
  GgufVocabulary v;
  v.model = "gpt2";
  v.pre = "deepseek-v3";
  std::vector<std::string> by_id;
  std::vector<int> kind;  // 0 none, 1 vocabulary, 3 special added, 4 other added (GGUF token types)
  auto put = [&](int64_t id, std::string_view token, int k) {
    if (static_cast<size_t>(id) >= by_id.size()) {
      by_id.resize(id + 1);
      kind.resize(id + 1, 0);
    }
    by_id[id] = std::string(token);
    kind[id] = k;
  };
  for (size_t i = 0; i < doc.vocab_ids.size(); ++i) put(doc.vocab_ids[i], doc.vocab_tokens[i], 1);
  for (const auto& a : doc.root["added_tokens"]) {
    put(a["id"].get<int64_t>(), a["content"].get_ref<const std::string&>(), a["special"].get<bool>() ? 3 : 4);
  }
  for (size_t id = 0; id < by_id.size(); ++id) {
    v.tokens.push_back(kind[id] ? std::move(by_id[id]) : "[PAD" + std::to_string(id) + "]");
    v.token_types.push_back(kind[id] ? kind[id] : 5);
  }
  for (size_t i = 0; i < doc.merge_lefts.size(); ++i) {
    v.merges.push_back(std::string(doc.merge_lefts[i]) + " " + std::string(doc.merge_rights[i]));
  }
  return v;
}

TEST(GgufTokenizer, DeepSeekV3VocabularyGivesTheGoldenIds) {
  const Tokenizer tokenizer = tokenizer_from_gguf_vocabulary(deepseek_v3_as_gguf(), "deepseek_v3.gguf");
  for (const char* corpus : {"corpus.jsonl", "fuzz.jsonl"}) {
    const auto texts = testing::read_corpus(corpus);
    const auto golden = testing::read_jsonl(testing::tokenizer_data_dir() + "/" +
                                            (std::string(corpus) == "corpus.jsonl" ? "deepseek_v3.golden.jsonl"
                                                                                  : "deepseek_v3.fuzz.golden.jsonl"));
    ASSERT_EQ(texts.size(), golden.size());
    for (size_t i = 0; i < texts.size(); ++i) {
      EXPECT_EQ(tokenizer.encode(texts[i].text), golden[i]["ids"].get<std::vector<int32_t>>()) << texts[i].name;
    }
  }
}

TEST(GgufTokenizer, DeepSeekV3PreTokenizerIsThatOfItsTokenizerJson) {
  GgufVocabulary v;  // the pre-tokenizer does not depend on the vocabulary
  v.model = "gpt2";
  v.pre = "deepseek-v3";
  v.tokens = {"a"};
  const auto made = nlohmann::json::parse(gguf_vocabulary_json(v, "x"));
  EXPECT_EQ(made["pre_tokenizer"], deepseek_v3_json().root["pre_tokenizer"]);
}

TEST(GgufTokenizer, UnknownPreOrModelIsAnError) {
  GgufVocabulary v;
  v.model = "gpt2";
  v.pre = "qwen2";
  v.tokens = {"a"};
  try {
    tokenizer_from_gguf_vocabulary(v, "m.gguf");
    ADD_FAILURE();
  } catch (const TokenizerError& e) {
    EXPECT_EQ(std::string(e.what()),
              "m.gguf: tokenizer.ggml.pre 'qwen2' is not a pre-tokenizer dschat knows (deepseek-v3, deepseek-llm, "
              "deepseek-coder, gpt-2): its ids would differ from the model's");
  }
  v.model = "llama";
  try {
    tokenizer_from_gguf_vocabulary(v, "m.gguf");
    ADD_FAILURE();
  } catch (const TokenizerError& e) {
    EXPECT_EQ(std::string(e.what()), "m.gguf: tokenizer.ggml.model 'llama' is not supported (only 'gpt2', byte-level BPE)");
  }
}

}  // namespace
}  // namespace dschat
