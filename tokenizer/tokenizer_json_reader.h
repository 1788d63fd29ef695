// Reads a tokenizer.json in one streaming pass (nlohmann::json SAX events, no document tree for
// the big parts): model.vocab and model.merges go straight into flat arrays, everything else
// (a few small objects) into an ordinary nlohmann::json tree. Building the whole tree for a
// 50k-token vocabulary (a std::map node per token) took most of the tokenizer's load time.
//
// The reader only takes the common, valid shape: vocab an object of integer ids with no key
// repeated, merges an array of "a b" strings or ["a", "b"] pairs, nothing nested deeper than
// kMaxJsonDepth (common/json_limits.h). For anything else (invalid JSON, other value types,
// repeated keys, deeper nesting) it returns nullopt and the caller parses the text as a tree
// (Tokenizer::from_json_tree), which gives the documented result or error for it.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace dschat {

// Strings of one kind stored end to end: piece i is text.substr(begin[i], begin[i+1] - begin[i]).
struct PackedStrings {
  std::string text;
  std::vector<uint32_t> begin{0};

  std::size_t size() const { return begin.size() - 1; }
  std::string_view operator[](std::size_t i) const {
    return std::string_view(text).substr(begin[i], begin[i + 1] - begin[i]);
  }
  void push_back(std::string_view piece) {
    text.append(piece);
    begin.push_back(static_cast<uint32_t>(text.size()));
  }
};

struct StreamedTokenizerJson {
  nlohmann::json root;               // the document without model.vocab and model.merges
  PackedStrings vocab_tokens;        // model.vocab keys, in document order
  std::vector<int64_t> vocab_ids;    // their ids
  PackedStrings merge_lefts;         // model.merges[i] = (merge_lefts[i], merge_rights[i])
  PackedStrings merge_rights;
};

// nullopt when the text is not in the shape described above (see the file comment).
std::optional<StreamedTokenizerJson> read_tokenizer_json_streaming(std::string_view json_text);

}  // namespace dschat
