#include "tokenizer/merge_table.h"

#include <algorithm>
#include <bit>

namespace dschat {

void MergeTable::reserve(std::size_t merges) {
  if (merges * 2 > slots_.size()) rehash(std::bit_ceil(std::max<std::size_t>(16, merges * 2)));
}

void MergeTable::rehash(std::size_t slot_count) {
  std::vector<Slot> old(slot_count);
  old.swap(slots_);
  const std::size_t mask = slot_count - 1;
  for (const Slot& slot : old) {
    if (slot.merge.rank < 0) continue;
    std::size_t i = mix(slot.key) & mask;
    while (slots_[i].merge.rank >= 0) i = (i + 1) & mask;
    slots_[i] = slot;
  }
}

void MergeTable::insert(int32_t left, int32_t right, Merge merge) {
  if ((size_ + 1) * 2 > slots_.size()) rehash(std::max<std::size_t>(16, slots_.size() * 2));
  const uint64_t key = pair_key(left, right);
  const std::size_t mask = slots_.size() - 1;
  std::size_t i = mix(key) & mask;
  for (; slots_[i].merge.rank >= 0; i = (i + 1) & mask) {
    if (slots_[i].key == key) return;
  }
  slots_[i] = {key, merge};
  ++size_;
}

}  // namespace dschat
