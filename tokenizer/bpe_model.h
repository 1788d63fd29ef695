// tokenizer.json "model" of type BPE: the vocabulary, the merges ranked by their order, and the
// merge loop (lowest-ranked adjacent pair first, leftmost among equals, as in Hugging Face
// tokenizers' models/bpe/word.rs and OpenAI's gpt-2 encoder.py), with a cache of words seen.
#pragma once

#include <cstdint>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace dschat {

class BpeModel {
 public:
  // `spec` is the "model" value; unsupported options are a TokenizerError naming `where`.
  static BpeModel from_json(const nlohmann::json& spec, const std::string& where);

  BpeModel(BpeModel&& other) noexcept;
  BpeModel& operator=(BpeModel&& other) noexcept;

  // Appends the ids of one pre-tokenized piece to `out`. Characters not in the vocabulary become
  // unk_token when there is one, else a TokenizerError.
  void encode_piece(std::string_view piece, std::vector<int32_t>& out) const;

  std::optional<int32_t> token_to_id(std::string_view token) const;
  // The vocabulary string of `id`, or nullptr if the vocabulary has no such id.
  const std::string* id_to_token(int32_t id) const;
  int32_t max_id() const { return static_cast<int32_t>(id_to_token_.size()) - 1; }

 private:
  BpeModel() = default;
  struct Merge {
    int32_t rank;
    int32_t merged_id;
  };
  static std::uint64_t pair_key(int32_t left, int32_t right) {
    return (static_cast<std::uint64_t>(static_cast<uint32_t>(left)) << 32) | static_cast<uint32_t>(right);
  }
  void merge_word(std::string_view piece, std::vector<int32_t>& out) const;

  std::unordered_map<std::string, int32_t> vocab_;
  std::vector<std::string> id_to_token_;
  std::unordered_map<std::uint64_t, Merge> merges_;
  std::optional<int32_t> unk_id_;
  bool ignore_merges_ = false;

  // Words already merged. Guarded by cache_mutex_ so one Tokenizer can serve several threads.
  static constexpr std::size_t kCacheCapacity = 1 << 17;
  static constexpr std::size_t kMaxCachedWordBytes = 256;
  mutable std::mutex cache_mutex_;
  struct StringHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  mutable std::unordered_map<std::string, std::vector<int32_t>, StringHash, std::equal_to<>> cache_;
};

}  // namespace dschat
