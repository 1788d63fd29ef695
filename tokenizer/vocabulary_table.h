// The BPE vocabulary in flat arrays: the token texts end to end (one allocation instead of a
// std::string per token) with each id's place in them, and an open-addressing hash table
// (linear probing, at most half full) from text to id. Loading GPT-2's 50k tokens into a
// std::unordered_map<std::string, int> and a std::vector<std::string> cost a heap node and a
// string per token and most of the tokenizer's load time.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace dschat {

class VocabularyTable {
 public:
  static constexpr int32_t kMaxId = (1 << 24) - 1;

  void reserve(std::size_t tokens);

  // Adds `text` (non-empty) as `id` (0..kMaxId, not yet used). False, and nothing changes, when
  // the text is in the table already.
  bool insert(std::string_view text, int32_t id);

  std::optional<int32_t> find(std::string_view text) const;
  // The text of `id`; empty when no token has this id.
  std::string_view text_of(int32_t id) const {
    if (id < 0 || static_cast<std::size_t>(id) >= place_of_id_.size()) return {};
    const Place& place = place_of_id_[id];
    return std::string_view(text_).substr(place.offset, place.length);
  }
  int32_t max_id() const { return static_cast<int32_t>(place_of_id_.size()) - 1; }  // -1 when empty
  std::size_t size() const { return size_; }

 private:
  struct Place {
    uint32_t offset = 0;
    uint32_t length = 0;  // 0: no token has this id
  };
  // A slot holds (32 bits of the text's hash) << 32 | (id + 1); 0 is an empty slot. The hash bits
  // settle almost every mismatch without reading the text.
  static uint64_t hash(std::string_view text);
  void rehash(std::size_t slot_count);

  std::string text_;
  std::vector<Place> place_of_id_;
  std::vector<uint64_t> slots_;  // size: a power of two
  std::size_t size_ = 0;
};

}  // namespace dschat
