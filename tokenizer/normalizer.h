// tokenizer.json "normalizer": null, NFC, NFD, NFKC, NFKD, or a Sequence of these (ICU
// Normalizer2), Sequences nested at most kMaxSequenceDepth levels (sequence_depth.h). Anything
// else is a TokenizerError at load time.
#pragma once

#include <unicode/normalizer2.h>

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

namespace dschat {

class Normalizer {
 public:
  // `spec` is the "normalizer" value (may be null); `where` names it in errors.
  static Normalizer from_json(const nlohmann::json& spec, const std::string& where);

  bool is_identity() const { return steps_.empty(); }
  // `utf8` must be valid UTF-8.
  std::string normalize(std::string_view utf8) const;

 private:
  // `depth`: the Sequences around `spec`; `section`: the top-level `where`, for the depth error.
  void add(const nlohmann::json& spec, const std::string& where, int depth, const std::string& section);
  std::vector<const icu::Normalizer2*> steps_;  // owned by ICU
};

}  // namespace dschat
