// One sequence through the DeepSeek-V3 forward pass (DeepSeek-V3 §2):
//   h = embed(token)
//   per layer: h += MLA(RMSNorm(h));  h += FFN(RMSNorm(h))   (FFN: dense SwiGLU or DeepSeekMoE)
//   logits = lm_head(RMSNorm(h))
// n > 1 tokens run as a batched full-sequence pass in chunks; n == 1 runs the absorbed-MLA decode.
// With ContextOptions::mtp, the multi-token-prediction module (model_weights.h MtpWeights) runs
// beside it, one position behind, and drafts tokens for speculative decoding (docs/engine.md).
#include <algorithm>
#include <cstring>
#include <memory>
#include <string_view>
#include <utility>

#include "engine/deepseek/deepseek_model.h"
#include "engine/deepseek/mlp.h"
#include "engine/deepseek/latent_cache.h"
#include "engine/ops/matmul.h"
#include "engine/deepseek/mla_attention.h"
#include "engine/deepseek/moe.h"
#include "engine/quant/quantize.h"
#include "engine/quant/weight_buffer.h"
#include "engine/ops/rms_norm.h"
#include "common/out_of_memory.h"

namespace dschat {
namespace {

class DeepSeekContext final : public InferenceContext {
 public:
  DeepSeekContext(const DeepSeekModel& model, int max_tokens, const ContextOptions& options)
      : model_(model),
        config_(model.config()),
        cache_(config_.num_hidden_layers, max_tokens, config_.kv_lora_rank,
               config_.qk_rope_head_dim * config_.rotary_key_heads(), options.cache_type),
        workspace_(model.pool()) {
    if (options.mtp && !model.weights().mtp.empty()) {
      mtp_ = &model.weights().mtp[0];
      mtp_cache_ = std::make_unique<LatentCache>(1, max_tokens, config_.kv_lora_rank,
                                                 config_.qk_rope_head_dim * config_.rotary_key_heads(), options.cache_type);
      const int64_t rows = options.draft_vocab <= 0 ? mtp_->head.rows : std::min<int64_t>(options.draft_vocab, mtp_->head.rows);
      draft_head_ = options.quantized_draft_head ? draft_head(mtp_->head.row_slice(0, rows))
                                                 : mtp_->head.row_slice(0, rows);
      draft_logits_.resize(static_cast<size_t>(rows));
      draft_hidden_.resize(static_cast<size_t>(config_.hidden_size));
    }
    reserve(chunk_);
  }

  int size() const override { return static_cast<int>(tokens_.size()); }
  int capacity() const override { return cache_.capacity(); }
  const std::vector<int32_t>& tokens() const override { return tokens_; }

  void truncate(int n) override {
    if (n < 0 || n > size()) throw ModelError("truncate(" + std::to_string(n) + "): the cache holds " + std::to_string(size()) + " tokens");
    tokens_.resize(n);
    final_hidden_rows_ = 0;
    if (mtp_) {  // the MTP input of position n-1: kept when the last chunk computed it
      const int64_t row = n - 1 - chunk_position_;
      if (n > 0 && row >= 0 && row < chunk_rows_) {
        std::memcpy(pending_hidden(), chunk_hidden(row), config_.hidden_size * sizeof(float));
        pending_valid_ = true;
      } else {
        pending_valid_ = false;  // the next append skips that MTP row (only drafts suffer)
      }
    }
  }

  bool can_draft() const override { return mtp_ != nullptr; }
  int max_verify_tokens() const override { return kVerifyTokens; }

  int draft(int32_t next_token, int k, std::span<int32_t> out) override {
    if (!mtp_ || !pending_valid_ || size() == 0 || next_token < 0 || next_token >= config_.vocab_size) return 0;
    const int64_t H = config_.hidden_size;
    const float eps = static_cast<float>(config_.rms_norm_eps);
    const int64_t position = size() - 1;  // the MTP row of (h_{n-1}, next_token)
    const int64_t steps = std::min<int64_t>({k, static_cast<int64_t>(out.size()), capacity() - position});
    const float* hidden = pending_hidden();
    int32_t token = next_token;
    for (int64_t j = 0; j < steps; ++j) {
      mtp_layer(hidden, &token, 1, position + j, AttentionForm::Absorbed);
      // The module's normed output: the draft head's input and, chained, the next step's h_i.
      if (mtp_->head_norm.empty()) {
        std::copy(mtp_x_.begin(), mtp_x_.begin() + H, draft_hidden_.begin());
      } else {
        rms_norm(mtp_x_.data(), mtp_->head_norm.data(), H, eps, draft_hidden_.data(), config_.rms_norm_form);
      }
      matmul(workspace_, draft_head_, draft_hidden_.data(), 1, draft_logits_.data());
      token = static_cast<int32_t>(std::max_element(draft_logits_.begin(), draft_logits_.end()) - draft_logits_.begin());
      out[j] = token;
      hidden = draft_hidden_.data();
    }
    return static_cast<int>(steps);
  }

  std::span<const float> draft_logits() const override { return draft_logits_; }

  bool verify(std::span<const int32_t> tokens, std::span<float> all_logits, const std::atomic<bool>* cancel) override {
    if (static_cast<int64_t>(tokens.size()) > kVerifyTokens) {
      throw ModelError("verify: " + std::to_string(tokens.size()) + " tokens, at most " + std::to_string(kVerifyTokens));
    }
    if (all_logits.empty()) throw ModelError("verify: all_logits is empty");
    return run(tokens, {}, cancel, all_logits, AttentionForm::Absorbed);
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
    return run(tokens, last_logits, cancel, all_logits, AttentionForm::Full);  // a one-token chunk: absorbed (run)
  }

 private:
  // Up to this many tokens verify() runs through the kernels' GEMV (WeightKernels::gemv_max_tokens),
  // whose every token's dot products are those of a one-token call: what makes it bit-exact.
  static constexpr int64_t kVerifyTokens = 4;

  // append() and verify(): the tokens in chunks through the main model in `form`, then the MTP
  // module over the rows whose next token is now known.
  bool run(std::span<const int32_t> tokens, std::span<float> last_logits, const std::atomic<bool>* cancel,
           std::span<float> all_logits, AttentionForm form) {
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
    for (int64_t start = 0; start < n; start += chunk_) {
      const int64_t m = std::min<int64_t>(chunk_, n - start);
      const bool last_chunk = start + m == n;
      float* rows_out = all_logits.empty() ? nullptr : all_logits.data() + start * vocab;
      float* last_out = last_chunk && !last_logits.empty() ? last_logits.data() : nullptr;
      const std::span<const int32_t> chunk = tokens.subspan(start, m);
      // A one-token chunk attends as a one-token append does: the full form would expand every
      // cached latent into keys and values for that one query (quadratic over a prompt fed one
      // token at a time: `bench -p 0 -d 4096` took minutes).
      const AttentionForm chunk_form = m == 1 ? AttentionForm::Absorbed : form;
      const bool done = while_allocating(
          "the activations of " + std::to_string(m) + " tokens at position " + std::to_string(size()) + " of " +
              std::to_string(capacity()),
          [&] { return trace_ ? forward<true>(chunk, chunk_form, cancel, rows_out, last_out)
                              : forward<false>(chunk, chunk_form, cancel, rows_out, last_out); });
      if (!done) return false;
      final_hidden_rows_ = m;
      if (mtp_) mtp_after_chunk(chunk, chunk_form);
    }
    return true;
  }

  // The MTP module lags the main model by one position: row q combines the final-normed h_q with
  // emb(token q+1), so after a chunk of positions p..p+m-1 the rows p-1 (from the pending h_{p-1},
  // when valid) .. p+m-2 can run; h_{p+m-1} becomes the pending one (draft()'s input).
  void mtp_after_chunk(std::span<const int32_t> chunk, AttentionForm form) {
    const int64_t H = config_.hidden_size;
    const int64_t m = static_cast<int64_t>(chunk.size());
    const int64_t position = size() - m;
    rms_norm_rows(residual_.data(), H, model_.weights().norm.data(), H, static_cast<float>(config_.rms_norm_eps), m,
                  chunk_hidden(0), H, config_.rms_norm_form);
    chunk_position_ = position;
    chunk_rows_ = m;
    // Rows of hidden_rows_ from `first`: the pending row 0 then the chunk's rows 1..m.
    const int64_t first = pending_valid_ && position > 0 ? 0 : 1;
    const int64_t rows = m - first;
    if (rows > 0) {
      mtp_layer(hidden_rows_.data() + first * H, chunk.data() + first, rows, position - 1 + first,
                rows <= kVerifyTokens ? AttentionForm::Absorbed : form);
    }
    std::memcpy(pending_hidden(), chunk_hidden(m - 1), H * sizeof(float));
    pending_valid_ = true;
  }

  // The MTP module (DeepSeek-V3 §2.2) over n rows: normed main hidden states `hidden` [n, H] of
  // positions position.. and the tokens that follow them, `next` [n]:
  //   x = eh_proj [enorm(emb(next)) ; hnorm(hidden)] (+ bias; halves swapped for the .pt head),
  //   then its decoder layer on its own cache.
  // Leaves the layer's output (before shared_head.norm) in mtp_x_.
  void mtp_layer(const float* hidden, const int32_t* next, int64_t n, int64_t position, AttentionForm form) {
    const int64_t H = config_.hidden_size;
    const float eps = static_cast<float>(config_.rms_norm_eps);
    const RmsNormForm norm_form = config_.rms_norm_form;
    float* row = sublayer_out_.data();  // scratch: free outside decoder_layer
    for (int64_t i = 0; i < n; ++i) {
      weight_row_to_f32(model_.weights().embed_tokens, next[i], row);
      float* concat = mtp_concat_.data() + i * 2 * H;
      rms_norm(row, mtp_->enorm.data(), H, eps, concat + (mtp_->hidden_first ? H : 0), norm_form);
      rms_norm(hidden + i * H, mtp_->hnorm.data(), H, eps, concat + (mtp_->hidden_first ? 0 : H), norm_form);
    }
    matmul(workspace_, mtp_->eh_proj, mtp_concat_.data(), n, mtp_x_.data());
    if (!mtp_->eh_bias.empty()) {
      for (int64_t i = 0; i < n; ++i)
        for (int64_t c = 0; c < H; ++c) mtp_x_[i * H + c] += mtp_->eh_bias[c];
    }
    decoder_layer<false>(mtp_->layer, config_.num_hidden_layers, *mtp_cache_, 0, mtp_x_.data(), n, position, form);
  }

  // The draft head: the head's first rows as they are when quantized, else a Q8_0 copy of them
  // owned by the context (2.2 MB for 8192 rows of 256): a draft needs only an argmax, and the
  // Q8_0 GEMV of one token is ~2.5x faster than the BF16 one on the bundled model (the draft
  // head is most of a draft step). The main model's head is never touched.
  WeightMatrix draft_head(const WeightMatrix& rows) {
    const bool floats = rows.dtype == DType::F32 || rows.dtype == DType::F16 || rows.dtype == DType::BF16;
    if (!floats || rows.cols % kQuantBlock != 0) return rows;
    WeightMatrix q{DType::Q8_0, rows.rows, rows.cols, nullptr};
    draft_head_storage_ = std::make_unique<WeightBuffer>(q.bytes());
    q.data = draft_head_storage_->data();
    std::vector<float> row(static_cast<size_t>(rows.cols));
    for (int64_t r = 0; r < rows.rows; ++r) {
      weight_row_to_f32(rows, r, row.data());
      quantize_row_q8_0(row.data(), reinterpret_cast<BlockQ8_0*>(draft_head_storage_->data() + static_cast<size_t>(r) * q.row_bytes()),
                        rows.cols);
    }
    return q;
  }

  float* pending_hidden() { return hidden_rows_.data(); }
  float* chunk_hidden(int64_t row) { return hidden_rows_.data() + (row + 1) * config_.hidden_size; }

  void reserve(int64_t n) {
    const int64_t H = config_.hidden_size;
    residual_.resize(n * H);
    normed_.resize(n * H);
    sublayer_out_.resize(n * H);
    mlp_hidden_.resize(n * std::max<int64_t>(config_.intermediate_size, 1));
    mla_.reserve(config_, n, workspace_.threads());
    moe_.reserve(config_, n, workspace_.threads());
    mlp_.reserve(workspace_.threads());
    if (mtp_) {
      hidden_rows_.resize((n + 1) * H);
      mtp_concat_.resize(n * 2 * H);
      mtp_x_.resize(n * H);
      chunk_rows_ = 0;  // the rows kept for truncate() are gone
    }
  }

  // One decoder layer (DeepSeek-V3 §2.1, the residual form of every Transformer block), in place
  // on the residual stream x [n, hidden] of the tokens at positions position..position+n-1:
  //   x += MLA(RMSNorm(x));  x += FFN(RMSNorm(x))   (FFN: DeepSeekMoE, or the dense MLP of the
  //   layers below first_k_dense_replace). Writes the layer's latent cache rows. kTraced: the
  //   intermediates go to trace_ (the untraced build of this function has no trace calls).
  // `cache_layer` of `cache` holds the layer's latent rows; `l` names it (traces, MoE-ness).
  template <bool kTraced>
  void decoder_layer(const LayerWeights& layer, int l, LatentCache& cache, int cache_layer, float* x, int64_t n,
                     int64_t position, AttentionForm form) {
    const auto trace = [&](std::string_view name, const float* values) {
      if constexpr (kTraced) {
        trace_(name, l, {values, static_cast<size_t>(n * config_.hidden_size)}, n);
      } else {
        (void)name, (void)values;
      }
    };
    const int64_t H = config_.hidden_size;
    const float eps = static_cast<float>(config_.rms_norm_eps);
    const RmsNormForm norm_form = config_.rms_norm_form;
    rms_norm_rows(x, H, layer.input_layernorm.data(), H, eps, n, normed_.data(), H, norm_form);
    trace("attn_norm", normed_.data());
    mla_attention(workspace_, config_, model_.rope(), layer.attention, cache_layer, normed_.data(), n, position, cache, form, mla_,
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
      decoder_layer<kTraced>(model_.weights().layers[l], l, cache_, l, x, n, position, form);
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
  // Multi-token prediction (null / empty unless ContextOptions::mtp and the model has a module).
  const MtpWeights* mtp_ = nullptr;
  std::unique_ptr<LatentCache> mtp_cache_;  // the module's own latent rows, one layer
  WeightMatrix draft_head_;                  // the head's first draft_vocab rows (draft_head())
  std::unique_ptr<WeightBuffer> draft_head_storage_;
  // Row 0: the final-normed h of position size()-1 (pending_valid_ when known); rows 1..chunk_rows_:
  // those of the last chunk, positions chunk_position_.. (for truncate()).
  std::vector<float> hidden_rows_;
  bool pending_valid_ = false;
  int64_t chunk_position_ = 0, chunk_rows_ = 0;
  std::vector<float> mtp_concat_, mtp_x_;       // [chunk, 2·hidden], [chunk, hidden]
  std::vector<float> draft_hidden_, draft_logits_;
};

}  // namespace

uint64_t latent_cache_bytes_per_token(const ModelConfig& config, CacheType type) {
  return uint64_t(config.num_hidden_layers) *
         LatentCache::bytes_per_position(type, config.kv_lora_rank, config.qk_rope_head_dim * config.rotary_key_heads());
}

std::unique_ptr<InferenceContext> InferenceContext::create(const Model& model, int max_tokens,
                                                           const ContextOptions& options) {
  const auto* deepseek = dynamic_cast<const DeepSeekModel*>(&model);
  if (!deepseek) throw ModelError("InferenceContext::create: not a model loaded by this engine");
  if (max_tokens < 1) throw ModelError("context size must be >= 1 token, got " + std::to_string(max_tokens));
  return while_allocating("the inference context of " + std::to_string(max_tokens) + " tokens",
                          [&] { return std::make_unique<DeepSeekContext>(*deepseek, max_tokens, options); });
}

}  // namespace dschat
