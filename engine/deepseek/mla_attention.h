// Multi-head Latent Attention (DeepSeek-V2 §2.1, DeepSeek-V3 §2.1.1).
//   q = W_UQ · RMSNorm(W_DQ x)  (or W_Q x without q_lora), per head [q_nope ; q_pe]
//   [c_kv ; k_pe] = W_DKV x;  c_kv ← RMSNorm(c_kv);  q_pe, k_pe ← RoPE(position)
//   per head: k = [W_UK c_kv ; k_pe] (k_pe shared by all heads, or per head in variants),  v = W_UV c_kv
//   o = W_O · concat_h softmax(scale · q·k) v
// The cache keeps only c_kv and k_pe. Two ways to compute the same attention:
//   full:     rebuild k_nope and v of every cached position with W_UK, W_UV (prefill, batched)
//   absorbed: q_nope·(W_UK c) = (W_UKᵀ q_nope)·c, and Σ p·(W_UV c) = W_UV (Σ p·c), so attention runs
//             in the latent space and needs no per-head keys or values (decode)
#pragma once

#include <cstdint>
#include <vector>

#include "engine/deepseek/latent_cache.h"
#include "engine/deepseek/model_config.h"
#include "engine/deepseek/model_weights.h"
#include "engine/deepseek/rope.h"
#include "engine/ops/workspace.h"

namespace dschat {

enum class AttentionForm { Full, Absorbed };

// eps of q_a_layernorm and kv_a_layernorm: config.latent_norm_eps, 1e-6 for DeepSeek (its code
// builds them with the RMSNorm default, not config.rms_norm_eps: inference/model.py, HF
// modeling_deepseek_v3.py); the .pt variants set their own.
//
// Rotary keys per head (config.rotary_key_source != SharedFromKvA): the cache's k_pe slot holds
// heads·qk_rope_head_dim floats per position, each head's key already roped; decode reads the
// head's slice. Nothing else changes: c_kv is cached as before and the absorbed form still folds
// W_UK / W_UV, which act on c_kv only.
// One thread's working memory for the heads it attends: the full form's keys, transposed values,
// scaled queries, scores and widened W_UV; the absorbed form's folded query, latent output and
// scores.
struct HeadScratch {
  std::vector<float> keys, values_t, queries, scores, w_uv;
  std::vector<float> w_uk, row;  // W_UK widened from GGUF's W_UKᵀ (attn_k_b), and one row of it
  std::vector<float> q_latent, q_rope, latent_out, rope_scores;  // [heads of the thread, ...]
  std::vector<float> tile, tile_rope;  // cached rows decoded to floats, kDecodeTile at a time
  std::vector<float> running_max, running_sum;  // the absorbed form's online softmax, per head
};

struct MlaScratch {
  std::vector<float> q_latent;  // [n, q_lora_rank]
  std::vector<float> q;         // [n, heads·(nope+rope)]
  std::vector<float> kv_a;      // [n, kv_lora_rank + rope]
  std::vector<float> heads_out; // [n, heads·v]
  std::vector<float> cos, sin;  // [rope/2]
  std::vector<float> latent_row, rope_row;       // one position's c_kv and roped k_pe before the cache encodes them
  std::vector<float> full_latents, full_rotary;  // the full form's decoded cache rows (non-F32 caches)
  // The absorbed form over a long context, split over positions: every head's folded query, and
  // per split and head the partial output [splits, heads, kv_lora], running max and sum.
  std::vector<float> split_query, split_query_rope, split_out, split_max, split_sum;
  std::vector<HeadScratch> heads;  // per pool thread
  void reserve(const ModelConfig& config, int64_t max_tokens, int threads);
};

// x: the normalised hidden states [n, hidden] of positions position..position+n-1 of `layer`.
// Writes c_kv and k_pe of those positions into the cache and the attention output to out [n, hidden].
void mla_attention(Workspace& workspace, const ModelConfig& config, const Rope& rope, const AttentionWeights& w,
                   int layer, const float* x, int64_t n, int64_t position, LatentCache& cache, AttentionForm form,
                   MlaScratch& s, float* out);

// The attention half of mla_attention(): the roped queries in s.q [n, heads·qk] of positions
// position..position+n-1 against the cache's rows 0..position+n-1 (already stored), output to out.
// Tests use it to run the same queries over two caches.
void mla_attend(Workspace& workspace, const ModelConfig& config, const Rope& rope, const AttentionWeights& w, int layer,
                int64_t n, int64_t position, const LatentCache& cache, AttentionForm form, MlaScratch& s, float* out);

}  // namespace dschat
