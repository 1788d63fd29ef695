// tokenizer.json "added_tokens": tokens matched in the raw text before normalization and
// pre-tokenization (HF AddedVocabulary). At each position the longest token wins, the leftmost
// position first. Special tokens are matched only when asked (parse_special); non-special
// added tokens always are, as in Hugging Face tokenizers with encode_special_tokens = true.
#pragma once

#include <array>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <span>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace dschat {

struct AddedToken {
  int32_t id;
  std::string content;
  bool special = false;
  bool lstrip = false;  // swallows white space before the token
  bool rstrip = false;  // swallows white space after the token
};

// One part of the text: either plain text to tokenize or an added token.
struct TextSegment {
  std::string_view text;  // empty for a token
  int32_t token_id = -1;  // >= 0 for an added token
};

class AddedVocabulary {
 public:
  // `spec` is the "added_tokens" array (may be absent/null).
  static AddedVocabulary from_json(const nlohmann::json& spec, const std::string& where);

  // Splits `utf8` around the added tokens it contains; the ids in `as_text` are never matched
  // (their text stays text).
  std::vector<TextSegment> split(std::string_view utf8, bool parse_special,
                                 std::span<const int32_t> as_text = {}) const;

  const AddedToken* find(int32_t id) const;
  const AddedToken* find(std::string_view content) const;
  const std::vector<AddedToken>& tokens() const { return tokens_; }

 private:
  // A byte trie of the token contents.
  struct Node {
    std::vector<std::pair<unsigned char, int32_t>> children;  // sorted by byte
    int32_t token = -1;                                       // index into tokens_
  };
  int32_t child(int32_t node, unsigned char byte) const;
  // Index into tokens_ of the longest allowed token starting at `pos` and its length.
  std::pair<int32_t, std::size_t> longest_match(std::string_view text, std::size_t pos, bool parse_special,
                                                std::span<const int32_t> as_text) const;

  std::vector<AddedToken> tokens_;
  std::unordered_map<int32_t, std::size_t> index_of_id_;
  std::vector<Node> trie_{1};
  std::array<bool, 256> is_first_byte_{};  // some token starts with this byte
};

}  // namespace dschat
