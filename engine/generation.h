// The generation loop: prefill the prompt (reusing what the KV cache already holds), then sample
// token by token, streaming UTF-8-safe text pieces, until eos, a stop string, the token limit,
// a full context, or cancellation. The engine knows nothing about the tokenizer: the caller
// supplies a TokenTextDecoder (the app adapts the tokenizer's StreamingDecoder).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "engine/model.h"
#include "engine/sampler.h"

namespace dschat {

enum class StopReason {
  None,        // not stopped (yet)
  Eos,         // the model produced an end-of-sequence id
  Length,      // max_tokens reached
  User,        // cancelled through the atomic flag
  Context,     // the KV cache is full
  StopString,  // a stop string appeared in the text
};
const char* stop_reason_name(StopReason reason);  // "eos", "length", "user", "context", "stop"
StopReason stop_reason_from_name(std::string_view name);  // inverse; None when unknown

struct GenerationStats {
  int prompt_tokens = 0;        // tokens of the whole prompt
  int reused_tokens = 0;        // of which already in the KV cache (not recomputed)
  double prefill_seconds = 0;   // time to run the prompt tokens that were not reused
  double prefill_tokens_per_second = 0;
  int generated_tokens = 0;     // sampled tokens (the eos token included)
  double decode_seconds = 0;
  double decode_tokens_per_second = 0;  // tokens after the first / time after the first
  double time_to_first_token = 0;       // from the call until the first token was sampled
  // Speculative decoding (GenerationOptions::draft_tokens): tokens the MTP module proposed, how
  // many of them the model's own choice confirmed, and the verify passes that checked them.
  int drafted_tokens = 0;
  int accepted_tokens = 0;
  int verify_steps = 0;
  double acceptance_rate() const { return drafted_tokens > 0 ? double(accepted_tokens) / drafted_tokens : 0; }
  double mean_accepted() const { return verify_steps > 0 ? double(accepted_tokens) / verify_steps : 0; }
  StopReason stop = StopReason::None;
};

// Turns token ids into text for streaming (holds back incomplete UTF-8 sequences).
class TokenTextDecoder {
 public:
  virtual ~TokenTextDecoder() = default;
  virtual std::string push(int32_t id) = 0;
  virtual std::string finish() = 0;
  virtual void reset() = 0;
};

struct GenerationOptions {
  int max_tokens = -1;                    // -1 = until eos or the context is full
  std::vector<int32_t> eos_ids;           // stop when any of these is sampled (not emitted)
  std::vector<std::string> stop_strings;  // stop when the text contains one (never emitted)
  const std::atomic<bool>* cancel = nullptr;  // checked between layers, chunks and tokens
  // Speculative decoding: up to this many tokens drafted per step by the context's MTP module
  // (InferenceContext::draft) and checked in one verify() pass; 0 = off; used with a context that
  // can_draft(). Greedy (temperature 0): the output is token for token the same as without it.
  // Sampling: each token is distributed exactly as without it (speculative sampling,
  // Sampler::sample_against_draft), but a seed draws other tokens than without drafts.
  int draft_tokens = 0;
};

using PieceCallback = std::function<void(std::string_view piece)>;

struct GenerationResult {
  std::string text;              // everything emitted through the callback, concatenated
  std::vector<int32_t> tokens;   // sampled tokens (eos excluded)
  GenerationStats stats;
};

// Makes `context` hold exactly `prompt` and leaves the last prompt token's logits in `logits`:
// keeps the longest common prefix of context.tokens() and `prompt`, truncates the rest, and
// runs only the remaining tokens (at least one, so the logits are fresh). Returns the number
// of reused tokens, or -1 when cancelled (the cache then holds a consistent prefix).
// Throws ModelError if the prompt does not fit in the context.
int prefill_with_reuse(InferenceContext& context, std::span<const int32_t> prompt,
                       std::span<float> logits, const std::atomic<bool>* cancel = nullptr);

// Runs prefill_with_reuse, then samples (`model` is the one `context` was created for) until a stop condition. Each piece of text is passed to
// `on_piece` on the calling thread as soon as it is known not to be part of a stop string.
// The sampled tokens stay in the cache (the eos token is not appended). Cancellation during
// prefill gives stop == User with no tokens.
GenerationResult generate(const Model& model, InferenceContext& context, std::span<const int32_t> prompt,
                          Sampler& sampler, TokenTextDecoder& decoder,
                          const GenerationOptions& options, const PieceCallback& on_piece);

// Holds back text that might be the start of a stop string. push() returns what is safe to
// show; stopped() tells whether a stop string was found (the text before it has been returned).
class StopStringFilter {
 public:
  explicit StopStringFilter(std::vector<std::string> stop_strings);
  std::string push(std::string_view text);
  std::string finish();  // releases what is held back (no stop string came)
  bool stopped() const { return stopped_; }

 private:
  std::vector<std::string> stop_strings_;
  std::string held_;
  bool stopped_ = false;
};

}  // namespace dschat
