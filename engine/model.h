// Public interface of the engine: load a model, run it over tokens with a latent KV cache.
// Other layers (generation, the app, bench) use only this header and model_config.h.
#pragma once

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "engine/deepseek/cache_type.h"
#include "engine/deepseek/model_config.h"
#include "engine/io/model_error.h"

namespace dschat {

// Called as bytes of weights are prepared (mapped, validated, converted, paged in).
// Return false to cancel the load.
using LoadProgress = std::function<bool(uint64_t bytes_done, uint64_t bytes_total)>;

// Storage type of the matrices at run time (issue: speed). Native keeps the checkpoint's dtype.
enum class WeightType { Native, F32, BF16, Q8_0, Q4_0 };

struct LoadOptions {
  int threads = 0;  // 0 = all hardware threads
  WeightType weight_type = WeightType::Native;
  WeightType output_weight_type = WeightType::Native;  // lm_head and embeddings
  // Lay out the matrices as this CPU's kernels read them fastest (Q4_0 rows interleaved by eight
  // on AVX2: engine/quant/q4_0_x8.h). false keeps the file's row-major layout (convert copies rows).
  bool repack = true;
  LoadProgress progress;
};

class Model {
 public:
  // `path` is a model directory (config.json + safetensors), or a PyTorch .pt checkpoint file.
  // Throws ModelError (clear message) or LoadCancelled.
  static std::unique_ptr<Model> load(const std::filesystem::path& path, const LoadOptions& options = {});
  virtual ~Model() = default;

  virtual const ModelConfig& config() const = 0;
  virtual std::string name() const = 0;                 // GGUF general.name, else directory or file name
  virtual uint64_t parameter_count() const = 0;         // main model, MTP layers excluded
  virtual uint64_t weight_bytes() const = 0;            // bytes of weights as held at run time
  // Bytes of weight matrices one decoded token reads: every matrix but the routed experts it does
  // not use and the embedding table beyond its one row (what decode streams from memory).
  virtual uint64_t decode_weight_bytes() const { return weight_bytes(); }
  virtual std::string describe() const = 0;             // multi-line summary for `dschat info`
  // Whether the model carries a multi-token-prediction module that ContextOptions::mtp runs.
  virtual bool has_mtp_module() const { return false; }

  // What changed on disk under the memory-mapped weights since they were mapped, for a message
  // ("" when nothing did): pages of a file that shrank (they read as zeros) or a file written in
  // place. Anything computed after a change is not valid. Cheap (one fstat per file).
  virtual std::string files_changed() const = 0;
  // One "WARNING: ..." line per problem found by reading the weights for NaN and ±Inf (whole,
  // or sampled in big models: engine/deepseek/nonfinite_weights.h); never throws.
  virtual std::vector<std::string> nonfinite_weight_warnings() const = 0;
};

// files_changed() of every model this process has loaded, including those already let go:
// for a final check after a command's model is gone.
std::string model_files_changed_since_start();

// How a context runs beyond the main model.
struct ContextOptions {
  // Run the model's multi-token-prediction module alongside the main model so draft() can
  // propose tokens (speculative decoding). Ignored when the model has no MTP module.
  bool mtp = false;
  // Drafts come from the first `draft_vocab` rows of the head only (0 = the whole vocabulary):
  // BPE ids are in merge order, so the low ids are the frequent tokens, and the head is most of a
  // draft step's cost. A token outside them is never drafted (only acceptance suffers).
  int draft_vocab = 8192;
  // Draft from a Q8_0 copy of those rows when the head is stored as floats (faster; the drafts
  // only need an argmax). false: the head's own rows (tests compare the module's logits).
  bool quantized_draft_head = true;
  // Element type of the latent KV cache, the MTP module's included (cache_type.h, --cache-type).
  CacheType cache_type = CacheType::F32;
};

// Bytes the latent cache of `type` takes per token of context: every layer's latent and rotary
// key (the MTP module's layer not counted).
uint64_t latent_cache_bytes_per_token(const ModelConfig& config, CacheType type);

// One sequence's state: the latent KV cache (normalised c_kv and roped k_pe per layer and
// position) and scratch buffers. Not thread-safe; one per conversation.
class InferenceContext {
 public:
  // `max_tokens` bounds the cache (<= config().max_position_embeddings unless overridden).
  static std::unique_ptr<InferenceContext> create(const Model& model, int max_tokens,
                                                  const ContextOptions& options = {});
  virtual ~InferenceContext() = default;

  virtual int size() const = 0;      // tokens in the cache
  virtual int capacity() const = 0;  // max_tokens
  virtual const std::vector<int32_t>& tokens() const = 0;  // the cached tokens, in order

  // Drops every position >= n (rollback for undo/regenerate/reuse). n <= size().
  virtual void truncate(int n) = 0;

  // Runs `tokens` at positions size()..size()+n-1 and appends them to the cache. Full-sequence
  // (batched, chunked) path when n > 1, absorbed-MLA decode path when n == 1.
  // Writes the logits of the last token to `last_logits` (vocab floats) if non-empty, and of
  // every token to `all_logits` (n * vocab) if non-empty. Checks `cancel` between chunks and
  // layers; on cancel returns false and the cache holds a consistent prefix (size() tells).
  // Throws ModelError if the cache would overflow.
  virtual bool append(std::span<const int32_t> tokens, std::span<float> last_logits,
                      const std::atomic<bool>* cancel = nullptr,
                      std::span<float> all_logits = {}) = 0;

  // The final hidden states (the last decoder layer's output, before the final norm) of the tokens
  // of the last append()'s last chunk, [rows, hidden] row-major; empty before the first append and
  // for contexts that do not run a model (tests' scripted ones). Valid until the next append().
  // Multi-token prediction drafts from the last row.
  virtual std::span<const float> final_hidden() const { return {}; }

  // Speculative decoding (docs/engine.md "MTP speculative decoding").
  // Whether draft() can propose tokens: the context was created with ContextOptions::mtp and the
  // model has an MTP module.
  virtual bool can_draft() const { return false; }
  // Proposes up to min(k, out.size()) tokens to follow `next_token` (sampled from the last
  // logits, not yet appended), greedily from the MTP module; returns how many (0 when it cannot:
  // no module, nothing appended yet, the position after a truncate that left no hidden state, or
  // a full cache). Changes nothing the main model computes: only the MTP module's own cache rows.
  virtual int draft(int32_t next_token, int k, std::span<int32_t> out) {
    (void)next_token, (void)k, (void)out;
    return 0;
  }
  // The draft head's logits of draft()'s last step (the first draft_vocab ids), for tests.
  virtual std::span<const float> draft_logits() const { return {}; }
  // Appends `tokens` (at most max_verify_tokens()) in one batched pass whose every row computes
  // bit for bit what append() of that token alone would, and writes the logits of every token to
  // `all_logits` (n * vocab). Cancel and errors as append(). The default runs append() per token.
  virtual bool verify(std::span<const int32_t> tokens, std::span<float> all_logits,
                      const std::atomic<bool>* cancel = nullptr);
  virtual int max_verify_tokens() const { return 4; }

  // Tokens per chunk of the full-sequence path (default 64; >= 1). Results do not depend on it
  // beyond float rounding; tests use it to check exactly that.
  virtual void set_prefill_chunk(int tokens) = 0;

  // Called during append() with named intermediates of every decoder layer, as llama.cpp's
  // cb(cur, "attn_norm", il): `name` one of "attn_norm", "attn_out", "ffn_norm", "ffn_out",
  // "l_out"; `values` [rows, hidden] for the rows of the current chunk. For tests and debugging:
  // the forward pass without a trace is compiled separately and has no trace calls at all.
  using LayerTrace = std::function<void(std::string_view name, int layer, std::span<const float> values, int64_t rows)>;
  virtual void set_layer_trace(LayerTrace trace) { (void)trace; }
};

}  // namespace dschat
