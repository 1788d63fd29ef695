// The defaults of the InferenceContext interface (model.h), apart from any model: contexts
// that run no model (tests' scripted ones) and the fuzz build link this without the engine.
#include <algorithm>

#include "engine/model.h"

namespace dschat {

bool InferenceContext::verify(std::span<const int32_t> tokens, std::span<float> all_logits,
                              const std::atomic<bool>* cancel) {
  const size_t vocab = all_logits.size() / std::max<size_t>(tokens.size(), 1);
  for (size_t i = 0; i < tokens.size(); ++i) {
    if (!append(tokens.subspan(i, 1), all_logits.subspan(i * vocab, vocab), cancel)) return false;
  }
  return true;
}

}  // namespace dschat
