#include "tokenizer/vocabulary_table.h"

#include <algorithm>
#include <bit>
#include <functional>
#include <limits>

#include "tokenizer/tokenizer.h"

namespace dschat {

uint64_t VocabularyTable::hash(std::string_view text) { return std::hash<std::string_view>{}(text); }

void VocabularyTable::reserve(std::size_t tokens) {
  if (tokens * 2 > slots_.size()) rehash(std::bit_ceil(std::max<std::size_t>(16, tokens * 2)));
  place_of_id_.reserve(tokens);
}

void VocabularyTable::rehash(std::size_t slot_count) {
  std::vector<uint64_t> old;
  old.swap(slots_);
  slots_.assign(slot_count, 0);
  const std::size_t mask = slot_count - 1;
  for (uint64_t slot : old) {
    if (slot == 0) continue;
    const auto id = static_cast<int32_t>((slot & 0xFFFFFFFFu) - 1);
    std::size_t i = hash(text_of(id)) & mask;
    while (slots_[i] != 0) i = (i + 1) & mask;
    slots_[i] = slot;
  }
}

std::optional<int32_t> VocabularyTable::find(std::string_view text) const {
  if (slots_.empty()) return std::nullopt;
  const uint64_t h = hash(text);
  const uint64_t tag = h >> 32;
  const std::size_t mask = slots_.size() - 1;
  for (std::size_t i = h & mask;; i = (i + 1) & mask) {
    const uint64_t slot = slots_[i];
    if (slot == 0) return std::nullopt;
    if ((slot >> 32) != tag) continue;
    const auto id = static_cast<int32_t>((slot & 0xFFFFFFFFu) - 1);
    if (text_of(id) == text) return id;
  }
}

bool VocabularyTable::insert(std::string_view text, int32_t id) {
  if ((size_ + 1) * 2 > slots_.size()) rehash(std::max<std::size_t>(16, slots_.size() * 2));
  const uint64_t h = hash(text);
  const uint64_t tag = h >> 32;
  const std::size_t mask = slots_.size() - 1;
  std::size_t i = h & mask;
  for (; slots_[i] != 0; i = (i + 1) & mask) {
    if ((slots_[i] >> 32) == tag && text_of(static_cast<int32_t>((slots_[i] & 0xFFFFFFFFu) - 1)) == text) return false;
  }
  if (text_.size() + text.size() > std::numeric_limits<uint32_t>::max()) {
    throw TokenizerError("the vocabulary's tokens add up to more than 4 GiB");
  }
  if (static_cast<std::size_t>(id) >= place_of_id_.size()) place_of_id_.resize(static_cast<std::size_t>(id) + 1);
  place_of_id_[id] = {static_cast<uint32_t>(text_.size()), static_cast<uint32_t>(text.size())};
  text_.append(text);
  slots_[i] = (tag << 32) | static_cast<uint64_t>(id + 1);
  ++size_;
  return true;
}

}  // namespace dschat
