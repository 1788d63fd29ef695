// The streaming tokenizer.json reader (tokenizer/tokenizer_json_reader.h) gives exactly the
// tokenizer of the nlohmann::json tree (Tokenizer::from_json_tree): the same vocabulary, merges,
// added tokens and decoded bytes on the bundled GPT-2 and DeepSeek-V3 files, and documents it
// does not take go to the tree with the same result or the same error.
#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <map>
#include <unordered_map>

#include "tests/tokenizer/tokenizer_test_data.h"
#include "tokenizer/bpe_model.h"
#include "tokenizer/tokenizer_json_reader.h"

namespace dschat::testing {
namespace {

std::string deepseek_json_text() {
  static const std::string text = read_text_file(tokenizer_data_dir() + "/deepseek_v3/tokenizer.json");
  return text;
}

// The merges as the file lists them, split by the test itself: "a b" or ["a", "b"].
std::vector<std::pair<std::string, std::string>> merges_of(const nlohmann::json& model) {
  std::vector<std::pair<std::string, std::string>> merges;
  for (const auto& merge : model["merges"]) {
    if (merge.is_string()) {
      const std::string text = merge.get<std::string>();
      merges.emplace_back(text.substr(0, text.find(' ')), text.substr(text.find(' ') + 1));
    } else {
      merges.emplace_back(merge[0].get<std::string>(), merge[1].get<std::string>());
    }
  }
  return merges;
}

void expect_streamed_matches_file(const std::string& text) {
  const nlohmann::json tree = nlohmann::json::parse(text);
  auto streamed = read_tokenizer_json_streaming(text);
  ASSERT_TRUE(streamed.has_value());

  // Vocabulary entries: the same token -> id pairs as the tree holds.
  std::unordered_map<std::string, int64_t> vocab;  // the tree's
  for (const auto& [token, id] : tree["model"]["vocab"].items()) vocab.emplace(token, id.get<int64_t>());
  ASSERT_EQ(streamed->vocab_ids.size(), vocab.size());
  std::unordered_map<std::string, int64_t> streamed_vocab;
  for (std::size_t i = 0; i < streamed->vocab_ids.size(); ++i) {
    streamed_vocab.emplace(std::string(streamed->vocab_tokens[i]), streamed->vocab_ids[i]);
  }
  EXPECT_EQ(streamed_vocab, vocab);

  // Merges in file order.
  const auto merges = merges_of(tree["model"]);
  ASSERT_EQ(streamed->merge_lefts.size(), merges.size());
  ASSERT_EQ(streamed->merge_rights.size(), merges.size());
  for (std::size_t i = 0; i < merges.size(); ++i) {
    ASSERT_EQ(streamed->merge_lefts[i], merges[i].first) << i;
    ASSERT_EQ(streamed->merge_rights[i], merges[i].second) << i;
  }

  // Everything else is the tree's, without the two streamed values.
  ASSERT_EQ(streamed->root.size(), tree.size());
  for (const auto& [key, value] : tree.items()) {
    if (key != "model") {
      EXPECT_EQ(streamed->root.at(key), value) << key;
    }
  }
  ASSERT_EQ(streamed->root["model"].size() + 2, tree["model"].size());
  for (const auto& [key, value] : tree["model"].items()) {
    if (key != "vocab" && key != "merges") {
      EXPECT_EQ(streamed->root["model"].at(key), value) << key;
    }
  }

  // The BPE model: every merge (first rank of a pair listed twice) maps to the id of the joined
  // token, as the file says, in the streamed model and in the tree's.
  auto from_stream = BpeModel::from_streamed(streamed->root["model"], *streamed, "model");
  ASSERT_TRUE(from_stream.has_value());
  BpeModel from_tree = BpeModel::from_json(tree["model"], "model");
  std::map<std::pair<int64_t, int64_t>, std::pair<int32_t, int64_t>> expected;  // (left, right) -> (rank, merged)
  for (std::size_t rank = 0; rank < merges.size(); ++rank) {
    const auto& [left, right] = merges[rank];
    expected.try_emplace({vocab.at(left), vocab.at(right)}, static_cast<int32_t>(rank), vocab.at(left + right));
  }
  EXPECT_EQ(from_stream->merge_count(), expected.size());
  EXPECT_EQ(from_tree.merge_count(), expected.size());
  for (const auto& [pair, merge] : expected) {
    for (const BpeModel* model : {&*from_stream, &from_tree}) {
      auto found = model->merge_of(static_cast<int32_t>(pair.first), static_cast<int32_t>(pair.second));
      ASSERT_TRUE(found.has_value());
      ASSERT_EQ(found->rank, merge.first);
      ASSERT_EQ(found->merged_id, merge.second);
    }
  }
  EXPECT_EQ(from_stream->merge_of(0, 0).has_value(), expected.count({0, 0}) == 1);
  for (const auto& [token, id] : vocab) {
    ASSERT_EQ(from_stream->token_to_id(token), static_cast<int32_t>(id)) << token;
    ASSERT_EQ(from_stream->id_to_token(static_cast<int32_t>(id)), token);
  }
}

// Everything a Tokenizer tells about its vocabulary, id by id.
void expect_same_tokenizer(const Tokenizer& a, const Tokenizer& b) {
  ASSERT_EQ(a.vocab_size(), b.vocab_size());
  for (int32_t id = 0; id < a.vocab_size(); ++id) {
    ASSERT_EQ(a.token_bytes(id), b.token_bytes(id)) << id;
    ASSERT_EQ(a.is_special(id), b.is_special(id)) << id;
    std::string text;
    try {
      text = a.token_text(id);
    } catch (const TokenizerError&) {
      EXPECT_THROW(b.token_text(id), TokenizerError) << id;
      continue;
    }
    ASSERT_EQ(text, b.token_text(id)) << id;
    ASSERT_EQ(a.token_to_id(text), b.token_to_id(text)) << id;
  }
  EXPECT_EQ(a.token_to_id("no such token \x01"), std::nullopt);
  EXPECT_EQ(b.token_to_id("no such token \x01"), std::nullopt);
  for (const auto& row : corpus()) ASSERT_EQ(a.encode(row.text), b.encode(row.text)) << row.name;
}

TEST(StreamingLoad, ReaderGivesTheFilesVocabularyAndMerges) {
  expect_streamed_matches_file(gpt2_json_text());
  expect_streamed_matches_file(deepseek_json_text());
}

TEST(StreamingLoad, SameTokenizerAsTheTreeOnBothFiles) {
  for (const std::string& text : {gpt2_json_text(), deepseek_json_text()}) {
    expect_same_tokenizer(Tokenizer::from_json(text), Tokenizer::from_json_tree(text));
  }
  EXPECT_EQ(Tokenizer::from_json(gpt2_json_text()).vocab_size(), 50257);
}

// A small tokenizer: the 256 byte characters and two merges, as a JSON text to mutate.
std::string small_tokenizer_text(const std::function<void(nlohmann::json&)>& mutate = {}) {
  static const nlohmann::json small = [] {
    nlohmann::json base = nlohmann::json::parse(gpt2_json_text());
    nlohmann::json vocab = nlohmann::json::object();
    for (const auto& [token, id] : base["model"]["vocab"].items()) {
      if (id.get<int>() < 256) vocab[token] = id;
    }
    vocab["he"] = 256;
    vocab["hel"] = 257;
    base["model"]["vocab"] = vocab;
    base["model"]["merges"] = nlohmann::json::array({"h e", nlohmann::json::array({"he", "l"})});
    return base;
  }();
  nlohmann::json spec = small;
  if (mutate) mutate(spec);
  return spec.dump();
}

std::string error_of(const std::function<Tokenizer()>& load) {
  try {
    load();
  } catch (const TokenizerError& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(StreamingLoad, OtherShapesGiveTheTreesResultOrError) {
  const std::string fine = small_tokenizer_text();
  ASSERT_TRUE(read_tokenizer_json_streaming(fine).has_value());
  EXPECT_EQ(Tokenizer::from_json(fine).encode("hello"), (std::vector<int32_t>{257, 75, 78}));

  // A vocabulary key written twice: the tree keeps the last id; the streaming path steps aside.
  std::string repeated = fine;
  repeated.replace(repeated.find("\"he\":256"), 8, "\"he\":300,\"he\":256");
  ASSERT_NE(repeated, fine);
  expect_same_tokenizer(Tokenizer::from_json(repeated), Tokenizer::from_json_tree(repeated));
  EXPECT_EQ(Tokenizer::from_json(repeated).encode("hello"), (std::vector<int32_t>{257, 75, 78}));

  // Broken files: the same message either way.
  const std::vector<std::string> broken = {
      "{not json",
      "[1, 2]",
      fine + " x",
      small_tokenizer_text([](nlohmann::json& s) { s["model"]["vocab"]["he"] = "x"; }),
      small_tokenizer_text([](nlohmann::json& s) { s["model"]["vocab"]["he"] = 2.5; }),
      small_tokenizer_text([](nlohmann::json& s) { s["model"]["vocab"]["he"] = -1; }),
      small_tokenizer_text([](nlohmann::json& s) { s["model"]["vocab"]["he"] = 1 << 24; }),
      small_tokenizer_text([](nlohmann::json& s) { s["model"]["vocab"]["zz"] = 256; }),
      small_tokenizer_text([](nlohmann::json& s) { s["model"]["vocab"][""] = 258; }),
      small_tokenizer_text([](nlohmann::json& s) { s["model"]["vocab"] = nlohmann::json::array(); }),
      small_tokenizer_text([](nlohmann::json& s) { s["model"]["merges"][0] = "h  e"; }),
      small_tokenizer_text([](nlohmann::json& s) { s["model"]["merges"][0] = " he"; }),
      small_tokenizer_text([](nlohmann::json& s) { s["model"]["merges"][1] = {"he", "l", "x"}; }),
      small_tokenizer_text([](nlohmann::json& s) { s["model"]["merges"][1] = {"he", 5}; }),
      small_tokenizer_text([](nlohmann::json& s) { s["model"]["merges"][1] = "hel o"; }),
      small_tokenizer_text([](nlohmann::json& s) { s["model"]["merges"][1] = "l l"; }),
      small_tokenizer_text([](nlohmann::json& s) { s["model"]["merges"] = "h e"; }),
      small_tokenizer_text([](nlohmann::json& s) { s["model"].erase("merges"); }),
      small_tokenizer_text([](nlohmann::json& s) { s["model"]["type"] = "Unigram"; }),
      small_tokenizer_text([](nlohmann::json& s) { s["model"]["unk_token"] = "<unk>"; }),
      small_tokenizer_text([](nlohmann::json& s) { s["pre_tokenizer"] = nullptr; }),
  };
  for (const std::string& text : broken) {
    const std::string streamed = error_of([&] { return Tokenizer::from_json(text, "t.json"); });
    EXPECT_NE(streamed, "(no error)") << text.substr(0, 200);
    EXPECT_EQ(streamed, error_of([&] { return Tokenizer::from_json_tree(text, "t.json"); })) << text.substr(0, 200);
  }
}

}  // namespace
}  // namespace dschat::testing
