// A small valid byte-level BPE tokenizer.json for tests that vary one section of it.
#pragma once

#include <nlohmann/json.hpp>

#include "tests/tokenizer/tokenizer_test_data.h"

namespace dschat::testing {

// The bundled GPT-2 tokenizer cut down to the 256 byte characters plus one merge ("h e").
inline nlohmann::json tiny_tokenizer() {
  nlohmann::json vocab = nlohmann::json::object();
  nlohmann::json base = nlohmann::json::parse(gpt2_json_text());
  for (const auto& [token, id] : base["model"]["vocab"].items()) {
    if (id.get<int>() < 256) vocab[token] = id;
  }
  vocab["he"] = 256;
  nlohmann::json spec = base;
  spec["model"]["vocab"] = vocab;
  spec["model"]["merges"] = nlohmann::json::array({"h e"});
  spec["added_tokens"] = nlohmann::json::array();
  return spec;
}

}  // namespace dschat::testing
