#include "tokenizer/bpe_model.h"

#include <algorithm>
#include <queue>

#include "tokenizer/tokenizer.h"
#include "tokenizer/tokenizer_json_reader.h"

namespace dschat {

namespace {

// "a b" (the older layout) or ["a", "b"] (tokenizers >= 0.20).
std::pair<std::string, std::string> parse_merge(const nlohmann::json& merge, const std::string& where) {
  if (merge.is_string()) {
    const std::string& text = merge.get_ref<const std::string&>();
    std::size_t space = text.find(' ');
    if (space == std::string::npos || space == 0 || space + 1 >= text.size() ||
        text.find(' ', space + 1) != std::string::npos) {
      throw TokenizerError(where + ": merge \"" + text + "\" is not two tokens separated by one space");
    }
    return {text.substr(0, space), text.substr(space + 1)};
  }
  if (merge.is_array() && merge.size() == 2 && merge[0].is_string() && merge[1].is_string()) {
    return {merge[0].get<std::string>(), merge[1].get<std::string>()};
  }
  throw TokenizerError(where + ": a merge must be \"a b\" or [\"a\", \"b\"]");
}

std::size_t utf8_char_length(unsigned char lead) {
  return lead < 0x80 ? 1 : lead < 0xE0 ? 2 : lead < 0xF0 ? 3 : 4;
}

}  // namespace

BpeModel::BpeModel(BpeModel&& other) noexcept
    : vocab_(std::move(other.vocab_)),
      merges_(std::move(other.merges_)),
      unk_id_(other.unk_id_),
      ignore_merges_(other.ignore_merges_),
      cache_(std::move(other.cache_)) {}

BpeModel& BpeModel::operator=(BpeModel&& other) noexcept {
  vocab_ = std::move(other.vocab_);
  merges_ = std::move(other.merges_);
  unk_id_ = other.unk_id_;
  ignore_merges_ = other.ignore_merges_;
  cache_ = std::move(other.cache_);
  return *this;
}

BpeModel BpeModel::with_options(const nlohmann::json& spec, const std::string& where) {
  if (!spec.is_object()) throw TokenizerError(where + ": expected an object");
  if (!spec.contains("type") || spec["type"] != "BPE") {
    std::string type = spec.contains("type") && spec["type"].is_string() ? spec["type"].get<std::string>() : "(missing)";
    throw TokenizerError(where + ".type: model type \"" + type + "\" is not supported (only BPE)");
  }
  auto is_set = [&](const char* key) { return spec.contains(key) && !spec[key].is_null(); };
  if (is_set("dropout")) {
    if (!spec["dropout"].is_number()) throw TokenizerError(where + ".dropout: expected a number or null");
    if (spec["dropout"].get<double>() != 0.0) throw TokenizerError(where + ".dropout: BPE dropout is not supported");
  }
  if (is_set("byte_fallback")) {
    if (!spec["byte_fallback"].is_boolean()) throw TokenizerError(where + ".byte_fallback: expected true or false");
    if (spec["byte_fallback"].get<bool>()) throw TokenizerError(where + ".byte_fallback: byte_fallback = true is not supported");
  }
  for (const char* key : {"continuing_subword_prefix", "end_of_word_suffix"}) {
    if (!is_set(key)) continue;
    if (!spec[key].is_string()) throw TokenizerError(where + "." + key + ": expected a string or null");
    if (!spec[key].get<std::string>().empty()) {
      throw TokenizerError(where + "." + key + ": a non-empty " + key + " is not supported");
    }
  }
  if (is_set("fuse_unk") && !spec["fuse_unk"].is_boolean()) throw TokenizerError(where + ".fuse_unk: expected true or false");

  BpeModel model;
  if (is_set("ignore_merges")) {
    if (!spec["ignore_merges"].is_boolean()) throw TokenizerError(where + ".ignore_merges: expected true or false");
    model.ignore_merges_ = spec["ignore_merges"].get<bool>();
  }
  return model;
}

void BpeModel::set_unk_token(const nlohmann::json& spec, const std::string& where) {
  if (!spec.contains("unk_token") || spec["unk_token"].is_null()) return;
  if (!spec["unk_token"].is_string()) throw TokenizerError(where + ".unk_token: expected a string or null");
  auto unk = vocab_.find(spec["unk_token"].get<std::string>());
  if (!unk) {
    throw TokenizerError(where + ".unk_token: \"" + spec["unk_token"].get<std::string>() + "\" is not in the vocabulary");
  }
  unk_id_ = *unk;
}

BpeModel BpeModel::from_json(const nlohmann::json& spec, const std::string& where) {
  BpeModel model = with_options(spec, where);

  if (!spec.contains("vocab") || !spec["vocab"].is_object()) throw TokenizerError(where + ".vocab: missing or not an object");
  const auto& vocab = spec["vocab"];
  model.vocab_.reserve(vocab.size());
  for (auto it = vocab.begin(); it != vocab.end(); ++it) {
    if (!it.value().is_number_integer()) {
      throw TokenizerError(where + ".vocab[\"" + it.key() + "\"]: the id must be an integer");
    }
    auto id = it.value().get<int64_t>();
    if (id < 0 || id >= (1 << 24)) {
      throw TokenizerError(where + ".vocab[\"" + it.key() + "\"]: id " + std::to_string(id) + " is out of range");
    }
    if (std::string_view used = model.vocab_.text_of(static_cast<int32_t>(id)); !used.empty()) {
      throw TokenizerError(where + ".vocab: id " + std::to_string(id) + " is used by both \"" + std::string(used) +
                           "\" and \"" + it.key() + "\"");
    }
    if (it.key().empty()) throw TokenizerError(where + ".vocab: the empty string is not a valid token");
    model.vocab_.insert(it.key(), static_cast<int32_t>(id));  // keys of a JSON tree are unique
  }

  model.set_unk_token(spec, where);

  if (!spec.contains("merges") || !spec["merges"].is_array()) throw TokenizerError(where + ".merges: missing or not an array");
  const auto& merges = spec["merges"];
  model.merges_.reserve(merges.size());
  for (std::size_t rank = 0; rank < merges.size(); ++rank) {
    std::string at = where + ".merges[" + std::to_string(rank) + "]";
    auto [left, right] = parse_merge(merges[rank], at);
    auto left_id = model.vocab_.find(left);
    auto right_id = model.vocab_.find(right);
    auto merged_id = model.vocab_.find(left + right);
    if (!left_id || !right_id) {
      throw TokenizerError(at + ": \"" + (!left_id ? left : right) + "\" is not in the vocabulary");
    }
    if (!merged_id) throw TokenizerError(at + ": the merged token \"" + left + right + "\" is not in the vocabulary");
    // A pair listed twice keeps its first (best) rank, as in HF.
    model.merges_.insert(*left_id, *right_id, Merge{static_cast<int32_t>(rank), *merged_id});
  }
  return model;
}

std::optional<BpeModel> BpeModel::from_streamed(const nlohmann::json& spec, const StreamedTokenizerJson& streamed,
                                                const std::string& where) {
  BpeModel model = with_options(spec, where);

  // The vocabulary: every id in range and used once, every token non-empty and listed once
  // (from_json's checks; a repeated key, which the tree would resolve, also goes to from_json).
  const std::size_t tokens = streamed.vocab_ids.size();
  model.vocab_.reserve(tokens);
  for (std::size_t i = 0; i < tokens; ++i) {
    const std::string_view token = streamed.vocab_tokens[i];
    const int64_t id = streamed.vocab_ids[i];
    if (id < 0 || id > VocabularyTable::kMaxId || token.empty()) return std::nullopt;
    if (!model.vocab_.text_of(static_cast<int32_t>(id)).empty()) return std::nullopt;
    if (!model.vocab_.insert(token, static_cast<int32_t>(id))) return std::nullopt;
  }

  model.set_unk_token(spec, where);

  const std::size_t merges = streamed.merge_lefts.size();
  model.merges_.reserve(merges);
  std::string joined;
  for (std::size_t rank = 0; rank < merges; ++rank) {
    const std::string_view left = streamed.merge_lefts[rank];
    const std::string_view right = streamed.merge_rights[rank];
    joined.assign(left);
    joined.append(right);
    auto left_id = model.vocab_.find(left);
    auto right_id = model.vocab_.find(right);
    auto merged_id = model.vocab_.find(joined);
    if (!left_id || !right_id || !merged_id) return std::nullopt;
    // A pair listed twice keeps its first (best) rank, as in HF.
    model.merges_.insert(*left_id, *right_id, Merge{static_cast<int32_t>(rank), *merged_id});
  }
  return model;
}

std::optional<BpeModel::Merge> BpeModel::merge_of(int32_t left, int32_t right) const {
  const Merge* merge = merges_.find(left, right);
  if (merge == nullptr) return std::nullopt;
  return *merge;
}

std::optional<int32_t> BpeModel::token_to_id(std::string_view token) const { return vocab_.find(token); }

void BpeModel::encode_piece(std::string_view piece, std::vector<int32_t>& out) const {
  if (piece.empty()) return;
  if (ignore_merges_) {
    if (auto id = vocab_.find(piece)) {
      out.push_back(*id);
      return;
    }
  }
  const bool cacheable = piece.size() <= kMaxCachedWordBytes;
  if (cacheable) {
    std::lock_guard lock(cache_mutex_);
    if (auto it = cache_.find(piece); it != cache_.end()) {
      out.insert(out.end(), it->second.begin(), it->second.end());
      return;
    }
  }
  std::size_t first = out.size();
  merge_word(piece, out);
  if (cacheable) {
    std::lock_guard lock(cache_mutex_);
    if (cache_.size() >= kCacheCapacity) cache_.clear();
    cache_.emplace(std::string(piece), std::vector<int32_t>(out.begin() + first, out.end()));
  }
}

void BpeModel::merge_word(std::string_view piece, std::vector<int32_t>& out) const {
  // The word as a doubly linked list of symbols, one per character to start with.
  struct Symbol {
    int32_t id;
    int32_t prev, next;  // -1 at the ends
    bool alive;
  };
  std::vector<Symbol> symbols;
  symbols.reserve(piece.size());
  for (std::size_t pos = 0; pos < piece.size();) {
    std::size_t n = std::min(utf8_char_length(static_cast<unsigned char>(piece[pos])), piece.size() - pos);
    const std::string_view character = piece.substr(pos, n);
    int32_t id;
    if (auto found = vocab_.find(character)) {
      id = *found;
    } else if (unk_id_) {
      id = *unk_id_;
    } else {
      throw TokenizerError("character \"" + std::string(character) +
                           "\" is not in the BPE vocabulary and the model has no unk_token");
    }
    auto index = static_cast<int32_t>(symbols.size());
    symbols.push_back({id, index - 1, -1, true});
    if (index > 0) symbols[index - 1].next = index;
    pos += n;
  }

  // Candidate merges, lowest rank first and leftmost among equal ranks (HF word.rs).
  struct Candidate {
    int32_t rank, left, merged_id;
    bool operator>(const Candidate& o) const { return rank != o.rank ? rank > o.rank : left > o.left; }
  };
  std::priority_queue<Candidate, std::vector<Candidate>, std::greater<>> queue;
  auto push_pair = [&](int32_t left) {
    if (left < 0 || symbols[left].next < 0) return;
    if (const Merge* merge = merges_.find(symbols[left].id, symbols[symbols[left].next].id)) {
      queue.push({merge->rank, left, merge->merged_id});
    }
  };
  for (int32_t i = 0; i + 1 < static_cast<int32_t>(symbols.size()); ++i) push_pair(i);

  while (!queue.empty()) {
    Candidate c = queue.top();
    queue.pop();
    Symbol& left = symbols[c.left];
    if (!left.alive || left.next < 0) continue;
    // Stale if either side changed since the candidate was queued.
    const Merge* merge = merges_.find(left.id, symbols[left.next].id);
    if (merge == nullptr || merge->merged_id != c.merged_id || merge->rank != c.rank) continue;
    Symbol& right = symbols[left.next];
    left.id = c.merged_id;
    right.alive = false;
    left.next = right.next;
    if (right.next >= 0) symbols[right.next].prev = c.left;
    push_pair(left.prev);
    push_pair(c.left);
  }
  for (int32_t i = 0; i >= 0 && i < static_cast<int32_t>(symbols.size()); i = symbols[i].next) out.push_back(symbols[i].id);
}

}  // namespace dschat
