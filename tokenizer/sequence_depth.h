// The nesting bound of tokenizer.json "Sequence" normalizers, pre-tokenizers and decoders. Real
// tokenizers nest 1-3 levels; a file nesting thousands would only cost recursion and memory
// (every level builds its JSON path for messages).
#pragma once

#include <string>

#include "tokenizer/tokenizer.h"

namespace dschat {

inline constexpr int kMaxSequenceDepth = 64;

// `depth` counts the Sequences around the value being read (1 inside the outermost one);
// `section` names the section ("...: normalizer") in the error.
inline void check_sequence_depth(int depth, const std::string& section) {
  if (depth > kMaxSequenceDepth) {
    throw TokenizerError(section + ": Sequence nested deeper than " + std::to_string(kMaxSequenceDepth) + " levels");
  }
}

}  // namespace dschat
