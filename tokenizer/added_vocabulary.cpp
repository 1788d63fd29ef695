#include "tokenizer/added_vocabulary.h"

#include <unicode/uchar.h>

#include <algorithm>

#include "tokenizer/tokenizer.h"
#include "tokenizer/utf8.h"

namespace dschat {

namespace {

bool get_flag(const nlohmann::json& token, const char* key, const std::string& where) {
  if (!token.contains(key) || token[key].is_null()) return false;
  if (!token[key].is_boolean()) throw TokenizerError(where + "." + key + ": expected true or false");
  return token[key].get<bool>();
}

// Decodes the code point at text[pos] (valid UTF-8) and its length.
char32_t code_point_at(std::string_view text, std::size_t pos, std::size_t* length) {
  auto b = [&](std::size_t i) { return static_cast<unsigned char>(text[pos + i]); };
  if (b(0) < 0x80) { *length = 1; return b(0); }
  if (b(0) < 0xE0) { *length = 2; return ((b(0) & 0x1F) << 6) | (b(1) & 0x3F); }
  if (b(0) < 0xF0) { *length = 3; return ((b(0) & 0x0F) << 12) | ((b(1) & 0x3F) << 6) | (b(2) & 0x3F); }
  *length = 4;
  return ((b(0) & 0x07) << 18) | ((b(1) & 0x3F) << 12) | ((b(2) & 0x3F) << 6) | (b(3) & 0x3F);
}

// Start of the white space (Unicode White_Space, Rust char::is_whitespace) that ends at `end`.
std::size_t white_space_start(std::string_view text, std::size_t begin_limit, std::size_t end) {
  while (end > begin_limit) {
    std::size_t start = end - 1;
    while (start > begin_limit && (static_cast<unsigned char>(text[start]) & 0xC0) == 0x80) --start;
    std::size_t length = 0;
    if (!u_isUWhiteSpace(static_cast<UChar32>(code_point_at(text, start, &length)))) break;
    end = start;
  }
  return end;
}

std::size_t white_space_end(std::string_view text, std::size_t begin) {
  while (begin < text.size()) {
    std::size_t length = 0;
    if (!u_isUWhiteSpace(static_cast<UChar32>(code_point_at(text, begin, &length)))) break;
    begin += length;
  }
  return begin;
}

}  // namespace

AddedVocabulary AddedVocabulary::from_json(const nlohmann::json& spec, const std::string& where) {
  AddedVocabulary vocabulary;
  if (spec.is_null()) return vocabulary;
  if (!spec.is_array()) throw TokenizerError(where + ": expected an array");
  for (std::size_t i = 0; i < spec.size(); ++i) {
    const std::string at = where + "[" + std::to_string(i) + "]";
    const auto& token = spec[i];
    if (!token.is_object()) throw TokenizerError(at + ": expected an object");
    if (!token.contains("id") || !token["id"].is_number_integer()) throw TokenizerError(at + ".id: missing or not an integer");
    if (!token.contains("content") || !token["content"].is_string()) throw TokenizerError(at + ".content: missing or not a string");
    auto id = token["id"].get<int64_t>();
    if (id < 0 || id >= (1 << 24)) throw TokenizerError(at + ".id: " + std::to_string(id) + " is out of range");
    AddedToken added{static_cast<int32_t>(id), token["content"].get<std::string>()};
    if (added.content.empty()) throw TokenizerError(at + ".content: an added token cannot be empty");
    if (utf8::find_invalid(added.content)) throw TokenizerError(at + ".content: not valid UTF-8");
    added.special = get_flag(token, "special", at);
    added.lstrip = get_flag(token, "lstrip", at);
    added.rstrip = get_flag(token, "rstrip", at);
    if (get_flag(token, "single_word", at)) throw TokenizerError(at + ".single_word: single_word = true is not supported");
    if (vocabulary.index_of_id_.count(added.id)) throw TokenizerError(at + ".id: " + std::to_string(id) + " is added twice");

    std::size_t index = vocabulary.tokens_.size();
    // Insert into the trie.
    int32_t node = 0;
    for (char c : added.content) {
      auto byte = static_cast<unsigned char>(c);
      int32_t next = vocabulary.child(node, byte);
      if (next < 0) {
        next = static_cast<int32_t>(vocabulary.trie_.size());
        vocabulary.trie_.emplace_back();
        auto& children = vocabulary.trie_[node].children;
        children.insert(std::lower_bound(children.begin(), children.end(), std::pair<unsigned char, int32_t>(byte, -1)),
                        {byte, next});
      }
      node = next;
    }
    if (vocabulary.trie_[node].token >= 0) throw TokenizerError(at + ".content: \"" + added.content + "\" is added twice");
    vocabulary.trie_[node].token = static_cast<int32_t>(index);
    vocabulary.is_first_byte_[static_cast<unsigned char>(added.content[0])] = true;
    vocabulary.index_of_id_[added.id] = index;
    vocabulary.tokens_.push_back(std::move(added));
  }
  return vocabulary;
}

int32_t AddedVocabulary::child(int32_t node, unsigned char byte) const {
  const auto& children = trie_[node].children;
  auto it = std::lower_bound(children.begin(), children.end(), std::pair<unsigned char, int32_t>(byte, -1));
  return it != children.end() && it->first == byte ? it->second : -1;
}

std::pair<int32_t, std::size_t> AddedVocabulary::longest_match(std::string_view text, std::size_t pos,
                                                                bool parse_special,
                                                                std::span<const int32_t> as_text) const {
  std::pair<int32_t, std::size_t> best{-1, 0};
  int32_t node = 0;
  for (std::size_t i = pos; i < text.size(); ++i) {
    node = child(node, static_cast<unsigned char>(text[i]));
    if (node < 0) break;
    int32_t token = trie_[node].token;
    if (token >= 0 && (parse_special || !tokens_[token].special) &&
        std::find(as_text.begin(), as_text.end(), tokens_[token].id) == as_text.end()) {
      best = {token, i + 1 - pos};
    }
  }
  return best;
}

std::vector<TextSegment> AddedVocabulary::split(std::string_view text, bool parse_special,
                                                std::span<const int32_t> as_text) const {
  std::vector<TextSegment> segments;
  if (tokens_.empty()) {
    if (!text.empty()) segments.push_back({text});
    return segments;
  }
  std::size_t text_start = 0;  // start of the plain text not yet emitted
  for (std::size_t pos = 0; pos < text.size();) {
    if (!is_first_byte_[static_cast<unsigned char>(text[pos])]) {
      ++pos;
      continue;
    }
    auto [token, length] = longest_match(text, pos, parse_special, as_text);
    if (token < 0) {
      ++pos;
      continue;
    }
    const AddedToken& added = tokens_[token];
    std::size_t begin = added.lstrip ? white_space_start(text, text_start, pos) : pos;
    std::size_t end = added.rstrip ? white_space_end(text, pos + length) : pos + length;
    if (begin > text_start) segments.push_back({text.substr(text_start, begin - text_start)});
    segments.push_back({{}, added.id});
    text_start = pos = end;
  }
  if (text_start < text.size()) segments.push_back({text.substr(text_start)});
  return segments;
}

const AddedToken* AddedVocabulary::find(int32_t id) const {
  auto it = index_of_id_.find(id);
  return it == index_of_id_.end() ? nullptr : &tokens_[it->second];
}

const AddedToken* AddedVocabulary::find(std::string_view content) const {
  int32_t node = 0;
  for (char c : content) {
    node = child(node, static_cast<unsigned char>(c));
    if (node < 0) return nullptr;
  }
  return trie_[node].token >= 0 ? &tokens_[trie_[node].token] : nullptr;
}

}  // namespace dschat
