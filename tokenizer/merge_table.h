// The BPE merges: (left id, right id) -> (rank, merged id), in one open-addressing hash table
// (linear probing, at most half full) instead of a heap node per merge.
#pragma once

#include <cstdint>
#include <vector>

namespace dschat {

class MergeTable {
 public:
  struct Merge {
    int32_t rank;       // position in model.merges (the first one when a pair is listed twice)
    int32_t merged_id;  // the id of left + right
  };

  void reserve(std::size_t merges);
  // Adds the merge of (left, right) unless the pair has one already: the first listed keeps its
  // rank, as in Hugging Face tokenizers.
  void insert(int32_t left, int32_t right, Merge merge);
  const Merge* find(int32_t left, int32_t right) const {
    if (slots_.empty()) return nullptr;
    const uint64_t key = pair_key(left, right);
    const std::size_t mask = slots_.size() - 1;
    for (std::size_t i = mix(key) & mask;; i = (i + 1) & mask) {
      const Slot& slot = slots_[i];
      if (slot.merge.rank < 0) return nullptr;
      if (slot.key == key) return &slot.merge;
    }
  }
  std::size_t size() const { return size_; }

 private:
  struct Slot {
    uint64_t key = 0;
    Merge merge{-1, -1};  // rank -1: an empty slot
  };
  static uint64_t pair_key(int32_t left, int32_t right) {
    return (static_cast<uint64_t>(static_cast<uint32_t>(left)) << 32) | static_cast<uint32_t>(right);
  }
  // SplitMix64's finaliser (Steele, Lea, Flood 2014): every key bit moves every index bit.
  static uint64_t mix(uint64_t x) {
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
    return x ^ (x >> 31);
  }
  void rehash(std::size_t slot_count);

  std::vector<Slot> slots_;  // size: a power of two
  std::size_t size_ = 0;
};

}  // namespace dschat
