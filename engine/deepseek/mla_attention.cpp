#include "engine/deepseek/mla_attention.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "engine/ops/matmul.h"
#include "engine/ops/rms_norm.h"

namespace dschat {
namespace {

struct Dims {
  int64_t heads, nope, rope, v, qk, kv_lora, hidden;
  int64_t k_pe_step;  // floats between heads' rotary keys in the cache: 0 when one k_pe is shared
};

// Cached positions decoded at a time by the absorbed form (a tile of F32 latents stays in L2).
constexpr int64_t kDecodeTile = 64;

// W_UK and W_UV of one head: rows of kv_b_proj, or GGUF's split (W_UKᵀ as stored, and W_UV).
struct HeadProjections {
  WeightMatrix w_uk;    // [nope, kv_lora]; empty when w_uk_t is given
  WeightMatrix w_uk_t;  // [kv_lora, nope]
  WeightMatrix w_uv;    // [v, kv_lora]
};

HeadProjections head_projections(const Dims& d, const AttentionWeights& w, int64_t h) {
  if (w.kv_b_proj.empty()) {
    return {{}, w.k_b_proj.row_slice(h * d.kv_lora, d.kv_lora), w.v_b_proj.row_slice(h * d.v, d.v)};
  }
  const int64_t kv_width = d.nope + d.v;
  return {w.kv_b_proj.row_slice(h * kv_width, d.nope), {}, w.kv_b_proj.row_slice(h * kv_width + d.nope, d.v)};
}

// Full form for head h, as GEMMs over all T cached positions, from the cached latents [T, kv_lora]
// and rotary keys [T, rope_width] as floats:
//   K = [W_UK c_kv ; k_pe]  [T, nope+rope]      S = Q Kᵀ  [n, T], causally masked softmax
//   Vᵀ = W_UV c_kvᵀ         [v, T]              O = S V   [n, v]
void attend_full_head(const Dims& d, const HeadProjections& p, const float* cached, const float* rotary,
                      int64_t rope_width, int64_t h, const float* q, int64_t n, int64_t position, float scale,
                      float* heads_out, HeadScratch& s, KernelScratch& kernel) {
  const int64_t T = position + n;
  std::vector<float>&keys = s.keys, &values_t = s.values_t, &queries = s.queries, &scores = s.scores, &w_uv = s.w_uv;
  keys.resize(T * d.qk);
  values_t.resize(d.v * T);
  queries.resize(n * d.qk);
  scores.resize(n * T);
  w_uv.resize(d.v * d.kv_lora);
  const WeightMatrix latents{DType::F32, T, d.kv_lora, reinterpret_cast<const std::byte*>(cached)};
  if (p.w_uk_t.empty()) {
    matmul_rows(p.w_uk, cached, T, keys.data(), d.qk, 0, d.nope, kernel);
  } else {  // W_UK = (W_UKᵀ)ᵀ, widened and transposed once per call
    std::vector<float>& w_uk = s.w_uk;
    w_uk.resize(d.nope * d.kv_lora);
    s.row.resize(d.nope);
    for (int64_t r = 0; r < d.kv_lora; ++r) {
      weight_row_to_f32(p.w_uk_t, r, s.row.data());
      for (int64_t c = 0; c < d.nope; ++c) w_uk[c * d.kv_lora + r] = s.row[c];
    }
    const WeightMatrix widened{DType::F32, d.nope, d.kv_lora, reinterpret_cast<const std::byte*>(w_uk.data())};
    matmul_rows(widened, cached, T, keys.data(), d.qk, 0, d.nope, kernel);
  }
  for (int64_t t = 0; t < T; ++t) {
    std::memcpy(keys.data() + t * d.qk + d.nope, rotary + t * rope_width + h * d.k_pe_step, d.rope * sizeof(float));
  }
  // Vᵀ: the latents act as the matrix, the rows of W_UV (widened) as the tokens.
  for (int64_t j = 0; j < d.v; ++j) weight_row_to_f32(p.w_uv, j, w_uv.data() + j * d.kv_lora);
  matmul_rows(latents, w_uv.data(), d.v, values_t.data(), T, 0, T, kernel);
  for (int64_t i = 0; i < n; ++i) {
    const float* qh = q + i * d.heads * d.qk + h * d.qk;
    for (int64_t c = 0; c < d.qk; ++c) queries[i * d.qk + c] = scale * qh[c];
  }
  const WeightMatrix key_matrix{DType::F32, T, d.qk, reinterpret_cast<const std::byte*>(keys.data())};
  matmul_rows(key_matrix, queries.data(), n, scores.data(), T, 0, T, kernel);
  for (int64_t i = 0; i < n; ++i) {
    const int64_t visible = position + i + 1;  // causal: positions 0..position+i
    float* row = scores.data() + i * T;
    softmax(row, visible);
    std::fill(row + visible, row + T, 0.0f);
  }
  const WeightMatrix value_matrix{DType::F32, d.v, T, reinterpret_cast<const std::byte*>(values_t.data())};
  matmul_rows(value_matrix, scores.data(), n, heads_out + h * d.v, d.heads * d.v, 0, d.v, kernel);
}

// Absorbed form for the heads h0..h1 of one thread: attention over the latent cache directly, one
// query token at a time. The cached rows are read a tile at a time (decoded to floats once per
// tile for all the thread's heads when the cache is not F32): scores = (W_UKᵀ q_nope)·c_t + q_pe·k_pe_t,
// softmax-weighted Σ p·c_t accumulated with an online softmax, and o = W_UV (Σ p·c). Memory per
// thread is one tile, whatever the context.
void attend_absorbed_heads(const Dims& d, const AttentionWeights& w, const LatentCache& cache, int layer, int64_t h0,
                           int64_t h1, const float* q, int64_t n, int64_t position, float scale, float* heads_out,
                           HeadScratch& s, KernelScratch& kernel) {
  const int64_t nh = h1 - h0, rope_width = cache.rope_dim();
  s.q_latent.resize(nh * d.kv_lora);
  s.q_rope.resize(nh * d.rope);
  s.latent_out.resize(nh * d.kv_lora);
  s.partial.resize(d.kv_lora);
  s.tile.resize(kDecodeTile * d.kv_lora);
  s.tile_rope.resize(kDecodeTile * rope_width);
  s.rope_scores.resize(nh * kDecodeTile);
  s.scores.resize(nh * kDecodeTile);
  for (int64_t i = 0; i < n; ++i) {
    const int64_t visible = position + i + 1;
    for (int64_t hh = 0; hh < nh; ++hh) {
      const HeadProjections p = head_projections(d, w, h0 + hh);
      const float* qh = q + i * d.heads * d.qk + (h0 + hh) * d.qk;
      float* q_latent = s.q_latent.data() + hh * d.kv_lora;
      if (p.w_uk_t.empty()) {
        matmul_transposed_vector(p.w_uk, qh, q_latent, kernel);  // W_UKᵀ q_nope
      } else {
        matmul_rows(p.w_uk_t, qh, 1, q_latent, d.kv_lora, 0, d.kv_lora, kernel);
      }
      std::memcpy(s.q_rope.data() + hh * d.rope, qh + d.nope, d.rope * sizeof(float));
    }
    // One pass with an online softmax (running max m and sum l per head), so each tile is read
    // and decoded once: latent_out = Σ exp(s_t - m) c_t / l.
    float* scores = s.scores.data();  // [nh, rows of the tile]
    s.running_max.assign(nh, -INFINITY);
    s.running_sum.assign(nh, 0.0f);
    std::fill(s.latent_out.begin(), s.latent_out.end(), 0.0f);
    for (int64_t start = 0; start < visible; start += kDecodeTile) {
      const int64_t rows = std::min(kDecodeTile, visible - start);
      const float* latents = cache.latents(layer, start, rows, s.tile.data());
      const WeightMatrix tile{DType::F32, rows, d.kv_lora, reinterpret_cast<const std::byte*>(latents)};
      matmul_rows(tile, s.q_latent.data(), nh, scores, rows, 0, rows, kernel);  // (W_UKᵀ q_nope)·c_t
      const float* rotary = cache.rotary_keys(layer, start, rows, s.tile_rope.data());
      if (d.k_pe_step == 0) {  // one shared k_pe per position: the tile's rotary keys are a matrix too
        const WeightMatrix keys{DType::F32, rows, d.rope, reinterpret_cast<const std::byte*>(rotary)};
        matmul_rows(keys, s.q_rope.data(), nh, s.rope_scores.data(), rows, 0, rows, kernel);
        for (int64_t k = 0; k < nh * rows; ++k) scores[k] += s.rope_scores[k];
      } else {
        for (int64_t hh = 0; hh < nh; ++hh) {
          for (int64_t t = 0; t < rows; ++t) {
            scores[hh * rows + t] +=
                dot_f32(s.q_rope.data() + hh * d.rope, rotary + t * rope_width + (h0 + hh) * d.k_pe_step, d.rope);
          }
        }
      }
      for (int64_t hh = 0; hh < nh; ++hh) {
        float* row = scores + hh * rows;
        float m = s.running_max[hh];
        for (int64_t t = 0; t < rows; ++t) m = std::max(m, row[t] *= scale);
        const float correction = std::exp(s.running_max[hh] - m);  // 0 on the first tile
        float sum = 0;
        for (int64_t t = 0; t < rows; ++t) sum += row[t] = std::exp(row[t] - m);
        s.running_sum[hh] = s.running_sum[hh] * correction + sum;
        s.running_max[hh] = m;
        matmul_transposed_vector(tile, row, s.partial.data(), kernel);  // Σ p·c over the tile
        float* out = s.latent_out.data() + hh * d.kv_lora;
        for (int64_t c = 0; c < d.kv_lora; ++c) out[c] = out[c] * correction + s.partial[c];
      }
    }
    for (int64_t hh = 0; hh < nh; ++hh) {
      float* out = s.latent_out.data() + hh * d.kv_lora;
      const float inv = 1.0f / s.running_sum[hh];
      for (int64_t c = 0; c < d.kv_lora; ++c) out[c] *= inv;
    }
    for (int64_t hh = 0; hh < nh; ++hh) {
      const HeadProjections p = head_projections(d, w, h0 + hh);
      float* o = heads_out + i * d.heads * d.v + (h0 + hh) * d.v;
      matmul_rows(p.w_uv, s.latent_out.data() + hh * d.kv_lora, 1, o, d.v, 0, d.v, kernel);  // W_UV (Σ p·c)
    }
  }
}

}  // namespace

void MlaScratch::reserve(const ModelConfig& c, int64_t n, int threads) {
  heads.resize(static_cast<size_t>(threads));
  q_latent.resize(n * std::max(1, c.q_lora_rank));
  q.resize(n * c.num_attention_heads * c.qk_head_dim());
  kv_a.resize(n * (c.kv_lora_rank + c.qk_rope_head_dim * c.rotary_key_heads()));
  heads_out.resize(n * c.num_attention_heads * c.v_head_dim);
  cos.resize(c.qk_rope_head_dim / 2);
  sin.resize(c.qk_rope_head_dim / 2);
}

void mla_attention(Workspace& ws, const ModelConfig& c, const Rope& rope, const AttentionWeights& w, int layer,
                   const float* x, int64_t n, int64_t position, LatentCache& cache, AttentionForm form, MlaScratch& s,
                   float* out) {
  const int64_t key_heads = c.rotary_key_heads();
  const int64_t nope = c.qk_nope_head_dim, rope_dim = c.qk_rope_head_dim, qk = c.qk_head_dim(), kv_lora = c.kv_lora_rank;
  const int64_t heads = c.num_attention_heads;
  const float latent_eps = static_cast<float>(c.latent_norm_eps);
  // Queries.
  if (c.q_lora_rank > 0) {
    matmul(ws, w.q_a_proj, x, n, s.q_latent.data());
    if (c.q_latent_norm) {
      rms_norm_rows(s.q_latent.data(), c.q_lora_rank, w.q_a_layernorm.data(), c.q_lora_rank, latent_eps, n,
                    s.q_latent.data(), c.q_lora_rank, c.rms_norm_form);
    }
    matmul(ws, w.q_b_proj, s.q_latent.data(), n, s.q.data());
  } else {
    matmul(ws, w.q_proj, x, n, s.q.data());
  }
  // Latent keys/values: normalised c_kv and the roped k_pe go to the cache. k_pe is one vector
  // shared by all heads (V3), or one per head: from x (extra kv_a rows) or from the normalised
  // latent (k_rope_from_latent · c_kv); either way the cache holds it after RoPE, in its type.
  const int64_t kv_a_width = w.kv_a_proj_with_mqa.rows;
  const int64_t k_pe_width = key_heads * rope_dim;
  matmul(ws, w.kv_a_proj_with_mqa, x, n, s.kv_a.data());
  s.latent_row.resize(kv_lora);
  s.rope_row.resize(k_pe_width);
  for (int64_t i = 0; i < n; ++i) {
    const int64_t p = position + i;
    const float* kv = s.kv_a.data() + i * kv_a_width;
    float* c_kv = s.latent_row.data();
    float* k_pe = s.rope_row.data();
    rms_norm(kv, w.kv_a_layernorm.data(), kv_lora, latent_eps, c_kv, c.rms_norm_form);
    if (c.rotary_key_source == RotaryKeySource::PerHeadFromLatent) {
      matmul_rows(w.k_rope_from_latent, c_kv, 1, k_pe, k_pe_width, 0, k_pe_width, ws.call());
    } else {
      std::memcpy(k_pe, kv + kv_lora, k_pe_width * sizeof(float));
    }
    rope.angles(p, s.cos.data(), s.sin.data());
    for (int64_t kh = 0; kh < key_heads; ++kh) rope.apply(k_pe + kh * rope_dim, s.cos.data(), s.sin.data());
    for (int64_t h = 0; h < heads; ++h) rope.apply(s.q.data() + i * heads * qk + h * qk + nope, s.cos.data(), s.sin.data());
    cache.store(layer, p, c_kv, k_pe);
  }
  mla_attend(ws, c, rope, w, layer, n, position, cache, form, s, out);
}

void mla_attend(Workspace& ws, const ModelConfig& c, const Rope& rope, const AttentionWeights& w, int layer, int64_t n,
                int64_t position, const LatentCache& cache, AttentionForm form, MlaScratch& s, float* out) {
  const int64_t key_heads = c.rotary_key_heads();
  const Dims d{c.num_attention_heads, c.qk_nope_head_dim, c.qk_rope_head_dim, c.v_head_dim,
               c.qk_head_dim(),       c.kv_lora_rank,     c.hidden_size,      key_heads > 1 ? c.qk_rope_head_dim : 0};
  const int64_t T = position + n;
  const int64_t rope_width = cache.rope_dim();
  // The full form reads every cached row as floats: in place for F32, else decoded once per call
  // into [T, kv_lora] + [T, rope_width] floats shared by the threads (linear in the context, like
  // the per-thread keys and scores below).
  const float* cached = nullptr;
  const float* rotary = nullptr;
  if (form == AttentionForm::Full) {
    if (cache.type() != CacheType::F32) {
      s.full_latents.resize(T * d.kv_lora);
      s.full_rotary.resize(T * rope_width);
    }
    cached = cache.latents(layer, 0, T, s.full_latents.data());
    rotary = cache.rotary_keys(layer, 0, T, s.full_rotary.data());
  }
  // Attention per head, heads split across threads. Each thread's scratch is sized here, on the
  // calling thread: sized inside the pool, a failed allocation (a long prefill: [n, T] scores per
  // thread) was an exception on a pool thread, i.e. std::terminate instead of an error.
  const int64_t max_heads = d.heads;  // a thread may take every head
  for (HeadScratch& head : s.heads) {  // any pool thread may take a head
    if (form == AttentionForm::Full) {
      head.keys.resize(T * d.qk);
      head.values_t.resize(d.v * T);
      head.queries.resize(n * d.qk);
      head.scores.resize(n * T);
      head.w_uv.resize(d.v * d.kv_lora);
    } else {
      head.q_latent.resize(max_heads * d.kv_lora);
      head.q_rope.resize(max_heads * d.rope);
      head.latent_out.resize(max_heads * d.kv_lora);
      head.partial.resize(d.kv_lora);
      head.tile.resize(kDecodeTile * d.kv_lora);
      head.tile_rope.resize(kDecodeTile * rope_width);
      head.rope_scores.resize(max_heads * kDecodeTile);
      head.scores.resize(max_heads * kDecodeTile);
    }
  }
  const float scale = static_cast<float>(rope.softmax_scale());
  ws.pool().parallel_for(d.heads, 1, [&](int64_t h0, int64_t h1, int thread) {
    HeadScratch& head = s.heads[static_cast<size_t>(thread)];
    KernelScratch& kernel = ws.thread(thread);
    if (form == AttentionForm::Absorbed) {
      attend_absorbed_heads(d, w, cache, layer, h0, h1, s.q.data(), n, position, scale, s.heads_out.data(), head, kernel);
      return;
    }
    for (int64_t h = h0; h < h1; ++h) {
      const HeadProjections p = head_projections(d, w, h);
      attend_full_head(d, p, cached, rotary, rope_width, h, s.q.data(), n, position, scale, s.heads_out.data(), head,
                       kernel);
    }
  });
  matmul(ws, w.o_proj, s.heads_out.data(), n, out);
  if (!w.o_proj_bias.empty()) {
    for (int64_t i = 0; i < n; ++i) {
      for (int64_t j = 0; j < d.hidden; ++j) out[i * d.hidden + j] += w.o_proj_bias[j];
    }
  }
}

}  // namespace dschat
