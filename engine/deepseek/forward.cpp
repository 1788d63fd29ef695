// One sequence through the DeepSeek-V3 forward pass (DeepSeek-V3 §2):
//   h = embed(token)
//   per layer: h += MLA(RMSNorm(h));  h += FFN(RMSNorm(h))   (FFN: dense SwiGLU or DeepSeekMoE)
//   logits = lm_head(RMSNorm(h))
// n > 1 tokens run as a batched full-sequence pass in chunks; n == 1 runs the absorbed-MLA decode.
#include <algorithm>
#include <cstring>
#include <string_view>
#include <utility>

#include "engine/deepseek/deepseek_model.h"
#include "engine/deepseek/mlp.h"
#include "engine/deepseek/latent_cache.h"
#include "engine/ops/matmul.h"
#include "engine/deepseek/mla_attention.h"
#include "engine/deepseek/moe.h"
#include "engine/ops/rms_norm.h"
#include "common/out_of_memory.h"

namespace dschat {
namespace {

class DeepSeekContext final : public InferenceContext {
 public:
  DeepSeekContext(const DeepSeekModel& model, int max_tokens)
      : model_(model),
        config_(model.config()),
        cache_(config_.num_hidden_layers, max_tokens, config_.kv_lora_rank,
               config_.qk_rope_head_dim * config_.rotary_key_heads()),
        workspace_(model.pool()) {
    reserve(chunk_);
  }

  int size() const override { return static_cast<int>(tokens_.size()); }
  int capacity() const override { return cache_.capacity(); }
  const std::vector<int32_t>& tokens() const override { return tokens_; }

  void truncate(int n) override {
    if (n < 0 || n > size()) throw ModelError("truncate(" + std::to_string(n) + "): the cache holds " + std::to_string(size()) + " tokens");
    tokens_.resize(n);
    final_hidden_rows_ = 0;
  }

  std::span<const float> final_hidden() const override {
    return {residual_.data(), static_cast<size_t>(final_hidden_rows_ * config_.hidden_size)};
  }

  void set_layer_trace(LayerTrace trace) override { trace_ = std::move(trace); }

  void set_prefill_chunk(int tokens) override {
    if (tokens < 1) throw ModelError("prefill chunk must be >= 1 token, got " + std::to_string(tokens));
    chunk_ = tokens;
    reserve(chunk_);
  }

  bool append(std::span<const int32_t> tokens, std::span<float> last_logits, const std::atomic<bool>* cancel,
              std::span<float> all_logits) override {
    const int64_t n = static_cast<int64_t>(tokens.size());
    const int64_t vocab = config_.vocab_size;
    if (n == 0) return true;
    if (config_.hard_context_limit && size() + n > config_.max_position_embeddings) {
      throw ModelError("context limit: " + std::to_string(size()) + " + " + std::to_string(n) + " tokens exceed the " +
                       std::to_string(config_.max_position_embeddings) + " positions this model was trained for");
    }
    if (size() + n > capacity()) {
      throw ModelError("context full: " + std::to_string(size()) + " + " + std::to_string(n) + " tokens exceed the capacity of " +
                       std::to_string(capacity()));
    }
    for (int32_t id : tokens) {
      if (id < 0 || id >= vocab) {
        throw ModelError("token id " + std::to_string(id) + " is outside the vocabulary [0, " + std::to_string(vocab) + ")");
      }
    }
    if (!last_logits.empty() && static_cast<int64_t>(last_logits.size()) < vocab) throw ModelError("last_logits is smaller than the vocabulary");
    if (!all_logits.empty() && static_cast<int64_t>(all_logits.size()) < n * vocab) throw ModelError("all_logits is smaller than n x vocabulary");

    final_hidden_rows_ = 0;
    const AttentionForm form = n == 1 ? AttentionForm::Absorbed : AttentionForm::Full;
    for (int64_t start = 0; start < n; start += chunk_) {
      const int64_t m = std::min<int64_t>(chunk_, n - start);
      const bool last_chunk = start + m == n;
      float* rows_out = all_logits.empty() ? nullptr : all_logits.data() + start * vocab;
      float* last_out = last_chunk && !last_logits.empty() ? last_logits.data() : nullptr;
      const std::span<const int32_t> chunk = tokens.subspan(start, m);
      const bool done = while_allocating(
          "the activations of " + std::to_string(m) + " tokens at position " + std::to_string(size()) + " of " +
              std::to_string(capacity()),
          [&] { return trace_ ? forward<true>(chunk, form, cancel, rows_out, last_out)
                              : forward<false>(chunk, form, cancel, rows_out, last_out); });
      if (!done) return false;
      final_hidden_rows_ = m;
    }
    return true;
  }

 private:
  void reserve(int64_t n) {
    const int64_t H = config_.hidden_size;
    residual_.resize(n * H);
    normed_.resize(n * H);
    sublayer_out_.resize(n * H);
    mlp_hidden_.resize(n * std::max<int64_t>(config_.intermediate_size, 1));
    mla_.reserve(config_, n, workspace_.threads());
    moe_.reserve(config_, n, workspace_.threads());
    mlp_.reserve(workspace_.threads());
  }

  // One decoder layer (DeepSeek-V3 §2.1, the residual form of every Transformer block), in place
  // on the residual stream x [n, hidden] of the tokens at positions position..position+n-1:
  //   x += MLA(RMSNorm(x));  x += FFN(RMSNorm(x))   (FFN: DeepSeekMoE, or the dense MLP of the
  //   layers below first_k_dense_replace). Writes the layer's latent cache rows. kTraced: the
  //   intermediates go to trace_ (the untraced build of this function has no trace calls).
  template <bool kTraced>
  void decoder_layer(int l, float* x, int64_t n, int64_t position, AttentionForm form) {
    const auto trace = [&](std::string_view name, const float* values) {
      if constexpr (kTraced) {
        trace_(name, l, {values, static_cast<size_t>(n * config_.hidden_size)}, n);
      } else {
        (void)name, (void)values;
      }
    };
    const LayerWeights& layer = model_.weights().layers[l];
    const int64_t H = config_.hidden_size;
    const float eps = static_cast<float>(config_.rms_norm_eps);
    const RmsNormForm norm_form = config_.rms_norm_form;
    rms_norm_rows(x, H, layer.input_layernorm.data(), H, eps, n, normed_.data(), H, norm_form);
    trace("attn_norm", normed_.data());
    mla_attention(workspace_, config_, model_.rope(), layer.attention, l, normed_.data(), n, position, cache_, form, mla_,
                  sublayer_out_.data());
    trace("attn_out", sublayer_out_.data());
    for (int64_t i = 0; i < n * H; ++i) x[i] += sublayer_out_[i];
    rms_norm_rows(x, H, layer.post_attention_layernorm.data(), H, eps, n, normed_.data(), H, norm_form);
    trace("ffn_norm", normed_.data());
    if (layer.is_moe) {
      moe_forward(workspace_, config_, layer.moe, normed_.data(), n, sublayer_out_.data(), moe_);
    } else {
      mlp_forward(workspace_, layer.dense, normed_.data(), n, sublayer_out_.data(), mlp_hidden_.data(), mlp_);
    }
    trace("ffn_out", sublayer_out_.data());
    for (int64_t i = 0; i < n * H; ++i) x[i] += sublayer_out_[i];
    trace("l_out", x);
  }

  // The forward pass over one chunk: tokens at positions size().. through the embedding, every
  // decoder layer and, for the rows someone asked for, the final norm and lm_head. The final
  // hidden states (before the final norm) stay in residual_ (final_hidden()). Returns false if
  // cancelled (the cache then still holds exactly the previous size() tokens).
  template <bool kTraced>
  bool forward(std::span<const int32_t> tokens, AttentionForm form, const std::atomic<bool>* cancel, float* all_rows,
               float* last_row) {
    const ModelWeights& w = model_.weights();
    const int64_t n = static_cast<int64_t>(tokens.size());
    const int64_t H = config_.hidden_size;
    const int64_t position = size();
    const float eps = static_cast<float>(config_.rms_norm_eps);
    const RmsNormForm norm_form = config_.rms_norm_form;
    float* x = residual_.data();
    for (int64_t i = 0; i < n; ++i) weight_row_to_f32(w.embed_tokens, tokens[i], x + i * H);
    if (!w.position_embeddings.empty()) {  // learned absolute positions (wpe), added to the token embedding
      float* row = sublayer_out_.data();  // scratch of [chunk, hidden], free until the first layer
      for (int64_t i = 0; i < n; ++i) {
        if (position + i >= w.position_embeddings.rows) throw ModelError("position " + std::to_string(position + i) + " has no position embedding");
        weight_row_to_f32(w.position_embeddings, position + i, row);
        for (int64_t j = 0; j < H; ++j) x[i * H + j] += row[j];
      }
    }

    for (int l = 0; l < config_.num_hidden_layers; ++l) {
      if (cancel && cancel->load(std::memory_order_relaxed)) return false;
      decoder_layer<kTraced>(l, x, n, position, form);
    }
    if (cancel && cancel->load(std::memory_order_relaxed)) return false;

    // Final norm and lm_head, only for the rows someone asked for.
    const int64_t vocab = config_.vocab_size;
    if (all_rows) {
      rms_norm_rows(x, H, w.norm.data(), H, eps, n, normed_.data(), H, norm_form);
      matmul(workspace_, w.lm_head, normed_.data(), n, all_rows);
      if (last_row) std::memcpy(last_row, all_rows + (n - 1) * vocab, vocab * sizeof(float));
    } else if (last_row) {
      rms_norm(x + (n - 1) * H, w.norm.data(), H, eps, normed_.data(), norm_form);
      matmul(workspace_, w.lm_head, normed_.data(), 1, last_row);
    }
    tokens_.insert(tokens_.end(), tokens.begin(), tokens.end());
    return true;
  }

  const DeepSeekModel& model_;
  const ModelConfig& config_;
  LatentCache cache_;
  Workspace workspace_;  // the kernels' per-thread scratch, allocated once
  std::vector<int32_t> tokens_;
  int chunk_ = 64;
  int64_t final_hidden_rows_ = 0;  // rows of residual_ that hold the last chunk's final hidden states
  std::vector<float> residual_, normed_, sublayer_out_, mlp_hidden_;  // [chunk, hidden] / [chunk, intermediate]
  MlaScratch mla_;
  MoeScratch moe_;
  MlpScratch mlp_;
  LayerTrace trace_;
};

}  // namespace

std::unique_ptr<InferenceContext> InferenceContext::create(const Model& model, int max_tokens) {
  const auto* deepseek = dynamic_cast<const DeepSeekModel*>(&model);
  if (!deepseek) throw ModelError("InferenceContext::create: not a model loaded by this engine");
  if (max_tokens < 1) throw ModelError("context size must be >= 1 token, got " + std::to_string(max_tokens));
  return while_allocating("the inference context of " + std::to_string(max_tokens) + " tokens",
                          [&] { return std::make_unique<DeepSeekContext>(*deepseek, max_tokens); });
}

}  // namespace dschat
