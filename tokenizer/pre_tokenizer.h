// tokenizer.json "pre_tokenizer": splits normalized text into the pieces BPE runs on.
// Supported: ByteLevel (add_prefix_space, use_regex), Split (Regex or String pattern; behavior
// Removed, Isolated, MergedWithPrevious, MergedWithNext, Contiguous; invert), Digits
// (individual_digits) and Sequence of these (nested at most kMaxSequenceDepth levels), with the semantics of Hugging Face tokenizers
// (pre_tokenizers/*.rs, NormalizedString::split): every step runs on every piece the previous
// steps made, and empty pieces are dropped.
#pragma once

#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "tokenizer/regex_pattern.h"

namespace dschat {

// How a Split step treats the parts its pattern matched (HF SplitDelimiterBehavior).
enum class SplitBehavior { kRemoved, kIsolated, kMergedWithPrevious, kMergedWithNext, kContiguous };

// The pieces of `text` (as [begin, end) byte ranges) when `matches` are the delimiters,
// following HF's NormalizedString::split. `invert` swaps matches and the text between them.
std::vector<RegexMatch> split_by_matches(std::size_t text_size, const std::vector<RegexMatch>& matches,
                                         SplitBehavior behavior, bool invert);

class PreTokenizer {
 public:
  // `spec` is the "pre_tokenizer" value (null: the whole text is one piece).
  static PreTokenizer from_json(const nlohmann::json& spec, const std::string& where);

  // Pieces of `utf8` (valid UTF-8). After a ByteLevel step pieces are in the byte-level alphabet.
  std::vector<std::string> split(std::string_view utf8) const;
  // The same pieces, handed one by one to `emit` (the view is valid during the call only).
  void for_each_piece(std::string_view utf8, const std::function<void(std::string_view)>& emit) const;

  // Whether some step maps bytes to the byte-level alphabet (required for byte-level BPE).
  bool has_byte_level() const;

 private:
  struct Step {
    enum class Kind { kByteLevel, kSplit } kind;
    bool add_prefix_space = false;                 // ByteLevel
    const CompiledRegex* regex = nullptr;          // Split, or ByteLevel with use_regex
    SplitBehavior behavior = SplitBehavior::kIsolated;
    bool invert = false;
  };
  // `depth`: the Sequences around `spec`; `section`: the top-level `where`, for the depth error.
  void add(const nlohmann::json& spec, const std::string& where, int depth, const std::string& section);
  static void apply(const Step& step, std::string_view piece, const std::function<void(std::string_view)>& emit);
  std::vector<Step> steps_;
  std::vector<std::unique_ptr<CompiledRegex>> regexes_;  // owned here, referenced by steps_
};

}  // namespace dschat
