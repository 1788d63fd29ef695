// Shared helpers of the tokenizer tests: the corpus and golden files in tests/data/tokenizer
// (made by tools/tokenizer/make_goldens.py from independent implementations) and the two
// tokenizers, loaded once per test binary.
#pragma once

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "tokenizer/tokenizer.h"

namespace dschat::testing {

inline std::string tokenizer_data_dir() { return std::string(DSCHAT_TEST_DATA_DIR) + "/tokenizer"; }

inline std::string read_text_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot open " + path);
  std::ostringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

inline std::vector<nlohmann::json> read_jsonl(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot open " + path);
  std::vector<nlohmann::json> rows;
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty()) rows.push_back(nlohmann::json::parse(line));
  }
  return rows;
}

struct CorpusCase {
  std::string name;
  std::string text;
};

inline std::vector<CorpusCase> read_corpus(const std::string& file) {
  std::vector<CorpusCase> result;
  for (const auto& row : read_jsonl(tokenizer_data_dir() + "/" + file)) {
    result.push_back({row["name"].get<std::string>(), row["text"].get<std::string>()});
  }
  return result;
}

// The hand-written stress corpus.
inline const std::vector<CorpusCase>& corpus() {
  static const std::vector<CorpusCase> cases = read_corpus("corpus.jsonl");
  return cases;
}

// Seeded random texts built from tricky characters (tools/tokenizer/make_corpus.py).
inline const std::vector<CorpusCase>& fuzz_corpus() {
  static const std::vector<CorpusCase> cases = read_corpus("fuzz.jsonl");
  return cases;
}

// The bundled GPT-2 tokenizer (assets/model).
inline const Tokenizer& gpt2() {
  static const Tokenizer tokenizer = Tokenizer::from_directory(std::string(DSCHAT_SOURCE_DIR) + "/assets/model");
  return tokenizer;
}

// DeepSeek-V3's tokenizer.json (tests/data/tokenizer/deepseek_v3).
inline const Tokenizer& deepseek_v3() {
  static const Tokenizer tokenizer = Tokenizer::from_directory(tokenizer_data_dir() + "/deepseek_v3");
  return tokenizer;
}

inline std::string gpt2_json_text() {
  static const std::string text = read_text_file(std::string(DSCHAT_SOURCE_DIR) + "/assets/model/tokenizer.json");
  return text;
}

}  // namespace dschat::testing
