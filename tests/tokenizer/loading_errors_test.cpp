// Malformed or unsupported tokenizer.json files give a TokenizerError that names what is wrong,
// never a crash or silently different ids.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <unistd.h>

#include "common/file_limits.h"
#include "tests/common/non_regular_files.h"
#include "tests/tokenizer/tiny_tokenizer.h"
#include "tests/tokenizer/tokenizer_test_data.h"

namespace dschat::testing {
namespace {

void expect_error(const std::function<void(nlohmann::json&)>& mutate, const std::vector<std::string>& words) {
  nlohmann::json spec = tiny_tokenizer();
  mutate(spec);
  try {
    Tokenizer::from_json(spec.dump(), "bad/tokenizer.json");
    ADD_FAILURE() << "no TokenizerError; expected one mentioning " << words.front();
  } catch (const TokenizerError& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("bad/tokenizer.json"), std::string::npos) << message;
    for (const auto& word : words) EXPECT_NE(message.find(word), std::string::npos) << message;
  }
}

TEST(LoadingErrors, TinyTokenizerLoadsAndMergesInBothMergeLayouts) {
  nlohmann::json spec = tiny_tokenizer();
  EXPECT_EQ(Tokenizer::from_json(spec.dump()).encode("hehe"), (std::vector<int32_t>{256, 256}));
  spec["model"]["merges"] = nlohmann::json::array({nlohmann::json::array({"h", "e"})});
  EXPECT_EQ(Tokenizer::from_json(spec.dump()).encode("hehe"), (std::vector<int32_t>{256, 256}));
  spec["model"]["merges"] = nlohmann::json::array();
  EXPECT_EQ(Tokenizer::from_json(spec.dump()).encode("he"), (std::vector<int32_t>{71, 68}));
  spec["model"]["ignore_merges"] = true;  // a whole word in the vocabulary is taken as is
  EXPECT_EQ(Tokenizer::from_json(spec.dump()).encode("he"), (std::vector<int32_t>{256}));
}

TEST(LoadingErrors, NotJsonOrNotAnObject) {
  EXPECT_THROW(Tokenizer::from_json("{not json", "x"), TokenizerError);
  EXPECT_THROW(Tokenizer::from_json("[1, 2]", "x"), TokenizerError);
  EXPECT_THROW(Tokenizer::from_json("", "x"), TokenizerError);
  expect_error([](nlohmann::json& s) { s.erase("model"); }, {"model"});
}

TEST(LoadingErrors, UnsupportedBpeOptions) {
  expect_error([](nlohmann::json& s) { s["model"]["byte_fallback"] = true; }, {"byte_fallback"});
  expect_error([](nlohmann::json& s) { s["model"]["dropout"] = 0.1; }, {"dropout"});
  expect_error([](nlohmann::json& s) { s["model"]["continuing_subword_prefix"] = "##"; }, {"continuing_subword_prefix"});
  expect_error([](nlohmann::json& s) { s["model"]["end_of_word_suffix"] = "</w>"; }, {"end_of_word_suffix"});
  expect_error([](nlohmann::json& s) { s["model"]["type"] = "WordPiece"; }, {"WordPiece", "BPE"});
  expect_error([](nlohmann::json& s) { s["model"]["unk_token"] = "<unk>"; }, {"unk_token", "<unk>"});
}

TEST(LoadingErrors, BrokenVocabularyOrMerges) {
  expect_error([](nlohmann::json& s) { s["model"]["vocab"]["he"] = "x"; }, {"vocab", "he"});
  expect_error([](nlohmann::json& s) { s["model"]["vocab"]["he"] = -3; }, {"vocab", "-3"});
  expect_error([](nlohmann::json& s) { s["model"]["vocab"]["xx"] = 256; }, {"256"});
  expect_error([](nlohmann::json& s) { s["model"]["vocab"].erase("he"); }, {"merges[0]", "he"});
  expect_error([](nlohmann::json& s) { s["model"]["merges"][0] = "h e x"; }, {"merges[0]"});
  expect_error([](nlohmann::json& s) { s["model"]["merges"][0] = 7; }, {"merges[0]"});
  expect_error([](nlohmann::json& s) { s["model"]["merges"][0] = "h q\xC3\xA9"; }, {"merges[0]"});
  expect_error([](nlohmann::json& s) { s["model"]["vocab"].erase("a"); }, {"byte", "97"});
  expect_error([](nlohmann::json& s) { s["model"].erase("merges"); }, {"merges"});
}

TEST(LoadingErrors, UnknownPipelineComponents) {
  expect_error([](nlohmann::json& s) { s["normalizer"] = {{"type", "Lowercase"}}; }, {"normalizer", "Lowercase"});
  expect_error([](nlohmann::json& s) { s["pre_tokenizer"] = {{"type", "Metaspace"}}; }, {"pre_tokenizer", "Metaspace"});
  expect_error([](nlohmann::json& s) { s["pre_tokenizer"] = nullptr; }, {"ByteLevel"});
  expect_error([](nlohmann::json& s) { s["decoder"] = {{"type", "WordPiece"}}; }, {"decoder", "WordPiece"});
  expect_error(
      [](nlohmann::json& s) {
        s["pre_tokenizer"] = {{"type", "Sequence"},
                              {"pretokenizers", {{{"type", "Split"}, {"pattern", {{"Regex", "(oops"}}}, {"behavior", "Isolated"}},
                                                 {{"type", "ByteLevel"}}}}};
      },
      {"pretokenizers[0]", "(oops"});
  expect_error(
      [](nlohmann::json& s) {
        s["pre_tokenizer"] = {{"type", "Sequence"},
                              {"pretokenizers", {{{"type", "Split"}, {"pattern", {{"Regex", "x"}}}, {"behavior", "Sideways"}},
                                                 {{"type", "ByteLevel"}}}}};
      },
      {"Sideways"});
}

TEST(LoadingErrors, BrokenAddedTokens) {
  expect_error([](nlohmann::json& s) { s["added_tokens"] = {{{"id", 300}, {"content", ""}}}; }, {"added_tokens[0]"});
  expect_error([](nlohmann::json& s) { s["added_tokens"] = {{{"content", "x"}}}; }, {"added_tokens[0]", "id"});
  expect_error([](nlohmann::json& s) { s["added_tokens"] = {{{"id", 300}, {"content", "<x>"}, {"single_word", true}}}; },
               {"single_word"});
  expect_error(
      [](nlohmann::json& s) {
        s["added_tokens"] = {{{"id", 300}, {"content", "<x>"}}, {{"id", 301}, {"content", "<x>"}}};
      },
      {"added_tokens[1]", "<x>"});
}

TEST(LoadingErrors, MissingDirectoryOrBadConfigNamesTheFile) {
  try {
    Tokenizer::from_directory("/nonexistent/model");
    FAIL();
  } catch (const TokenizerError& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent/model/tokenizer.json"), std::string::npos) << e.what();
  }
  const auto dir = std::filesystem::temp_directory_path() / ("dschat_tok_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  std::filesystem::copy_file(std::string(DSCHAT_SOURCE_DIR) + "/assets/model/tokenizer.json", dir / "tokenizer.json",
                             std::filesystem::copy_options::overwrite_existing);
  {
    std::ofstream(dir / "tokenizer_config.json") << "{\"bos_token\": 5}";
  }
  try {
    Tokenizer::from_directory(dir);
    ADD_FAILURE();
  } catch (const TokenizerError& e) {
    EXPECT_NE(std::string(e.what()).find("tokenizer_config.json"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("bos_token"), std::string::npos) << e.what();
  }
  std::filesystem::remove(dir / "tokenizer_config.json");
  EXPECT_FALSE(Tokenizer::from_directory(dir).config().bos_token.has_value());  // config is optional
  {  // Kimi-K2's tiktoken.model without a tokenizer.json: the error says what is missing and why
    const auto kimi = dir / "kimi";
    std::filesystem::create_directories(kimi);
    std::ofstream(kimi / "tiktoken.model") << "IQ== 0\n";
    try {
      Tokenizer::from_directory(kimi);
      ADD_FAILURE();
    } catch (const TokenizerError& e) {
      for (const char* part : {"tokenizer.json: no such file", "tiktoken.model", "does not read"}) {
        EXPECT_NE(std::string(e.what()).find(part), std::string::npos) << e.what();
      }
    }
    std::filesystem::remove_all(kimi);
  }
  std::filesystem::remove_all(dir);
}

// A FIFO as tokenizer.json or tokenizer_config.json is refused at once (it used to block in
// open() forever), and a tokenizer.json above its limit is refused before it is read.
TEST(LoadingErrors, NonRegularOrOversizedFilesAreRefusedAtOnce) {
  const auto dir = std::filesystem::temp_directory_path() / ("dschat_tok_fifo_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  test::make_fifo(dir / "tokenizer.json");
  EXPECT_EQ(test::error_within_a_second([&] { Tokenizer::from_directory(dir); }, dir / "tokenizer.json"),
            (dir / "tokenizer.json").string() + ": is a FIFO, not a regular file");

  std::filesystem::remove(dir / "tokenizer.json");
  std::filesystem::copy_file(std::string(DSCHAT_SOURCE_DIR) + "/assets/model/tokenizer.json", dir / "tokenizer.json");
  test::make_fifo(dir / "tokenizer_config.json");
  EXPECT_EQ(test::error_within_a_second([&] { Tokenizer::from_directory(dir); }, dir / "tokenizer_config.json"),
            (dir / "tokenizer_config.json").string() + ": is a FIFO, not a regular file");

  std::filesystem::remove(dir / "tokenizer_config.json");
  test::make_sparse_file(dir / "tokenizer.json", 513 * kMiB);
  EXPECT_EQ(test::error_within_a_second([&] { Tokenizer::from_directory(dir); }, dir / "tokenizer.json"),
            (dir / "tokenizer.json").string() + ": is " + std::to_string(513 * kMiB) +
                " bytes, more than the 512 MiB limit for tokenizer.json");
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace dschat::testing
