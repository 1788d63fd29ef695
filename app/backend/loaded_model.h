// A model directory loaded for chatting: the weights, the tokenizer, and what the directory
// says about generation (sampling defaults, every end-of-sequence id).
#pragma once

#include <algorithm>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "app/backend/model_identity.h"
#include "engine/model.h"
#include "engine/sampler.h"
#include "tokenizer/tokenizer.h"

namespace dschat {

// The bundled model directory: $DSCHAT_MODEL_DIR if set, else the assets of the build tree.
std::string default_model_dir();

struct LoadedModel {
  std::filesystem::path path;
  ModelIdentity identity;  // display name and notice (model_identity.h)
  std::unique_ptr<Model> model;
  std::unique_ptr<Tokenizer> tokenizer;
  SamplingParams sampling_defaults;  // generation_config.json, else 0.7 / 0.9
  // Union of config.json eos_token_id, generation_config.json eos_token_id and
  // tokenizer_config.json eos_token (looked up in the vocabulary).
  std::vector<int32_t> eos_ids;
  // generation_config.json max_new_tokens (-1 when absent): the reply limit when none is set.
  int default_max_new_tokens = -1;
  // Problems the user should see when the model has loaded, one "WARNING: ..." line each: NaN or
  // infinite weights (engine/deepseek/nonfinite_weights.h).
  std::vector<std::string> warnings;

  // Makes the KV cache for a session; empty = InferenceContext::create(*model, max_tokens).
  // Tests put a scripted context here.
  std::function<std::unique_ptr<InferenceContext>(int max_tokens)> context_factory;

  // The context size for a request of `requested` tokens (--ctx; 0 = the model's maximum), at
  // most max_position_embeddings.
  int context_capacity(int requested) const {
    const int max_positions = model->config().max_position_embeddings;
    return requested > 0 ? std::min(requested, max_positions) : max_positions;
  }
  std::unique_ptr<InferenceContext> create_context(int max_tokens, const ContextOptions& options = {}) const {
    return context_factory ? context_factory(max_tokens) : InferenceContext::create(*model, max_tokens, options);
  }

  // Loads everything (Model::load with `options`, so options.progress reports 0-100% and can
  // cancel). Throws ModelError, TokenizerError or LoadCancelled.
  static std::shared_ptr<LoadedModel> load(const std::filesystem::path& path, const LoadOptions& options = {});
};

// generation_config.json max_new_tokens, or -1.
int read_max_new_tokens(const std::filesystem::path& model_dir);

// A warning when the tokenizer has more tokens than the model has embeddings (a tokenizer that is
// not the model's own, e.g. GPT-2's beside a tiny .pt): said at load, not at the first token
// that falls outside the model's vocabulary.
std::optional<std::string> vocabulary_mismatch_warning(const Tokenizer& tokenizer, const ModelConfig& config,
                                                       const std::filesystem::path& tokenizer_dir);

// Reads the eos ids a directory declares beyond config.json: generation_config.json
// eos_token_id (int or list) and tokenizer_config.json eos_token via `tokenizer`. An empty
// `model_dir` (a GGUF file) reads no generation_config.json.
std::vector<int32_t> collect_eos_ids(const std::filesystem::path& model_dir, const ModelConfig& config,
                                     const Tokenizer& tokenizer);

}  // namespace dschat
