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

#include "tokenizer/merge_table.h"
#include "tokenizer/vocabulary_table.h"

namespace dschat {

struct StreamedTokenizerJson;

class BpeModel {
 public:
  // `spec` is the "model" value; unsupported options are a TokenizerError naming `where`.
  static BpeModel from_json(const nlohmann::json& spec, const std::string& where);
  // The same model from a streamed tokenizer.json (tokenizer_json_reader.h): `spec` is the
  // "model" value without vocab and merges, which come from `streamed`. nullopt when the vocab or
  // merges are not a valid model (repeated token or id, id out of range, unknown merge parts):
  // from_json on the tree then names the error. Options are checked as in from_json.
  static std::optional<BpeModel> from_streamed(const nlohmann::json& spec, const StreamedTokenizerJson& streamed,
                                               const std::string& where);

  BpeModel(BpeModel&& other) noexcept;
  BpeModel& operator=(BpeModel&& other) noexcept;

  // Appends the ids of one pre-tokenized piece to `out`. Characters not in the vocabulary become
  // unk_token when there is one, else a TokenizerError.
  void encode_piece(std::string_view piece, std::vector<int32_t>& out) const;

  std::optional<int32_t> token_to_id(std::string_view token) const;
  // The vocabulary string of `id`; empty if the vocabulary has no such id.
  std::string_view id_to_token(int32_t id) const { return vocab_.text_of(id); }
  int32_t max_id() const { return vocab_.max_id(); }

  using Merge = MergeTable::Merge;
  // The merge of the adjacent tokens (left, right), if there is one.
  std::optional<Merge> merge_of(int32_t left, int32_t right) const;
  std::size_t merge_count() const { return merges_.size(); }

 private:
  BpeModel() = default;
  // The options of a "model" object (everything but vocab and merges), checked; TokenizerError.
  static BpeModel with_options(const nlohmann::json& spec, const std::string& where);
  void set_unk_token(const nlohmann::json& spec, const std::string& where);
  void merge_word(std::string_view piece, std::vector<int32_t>& out) const;

  VocabularyTable vocab_;
  MergeTable merges_;
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
