#include "engine/mla_attention.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "engine/matmul.h"
#include "engine/rms_norm.h"

namespace dschat {
namespace {

// softmax in place over v[0..n); returns nothing, v becomes probabilities.
void softmax_in_place(float* v, int64_t n) {
  float max_v = *std::max_element(v, v + n);
  double sum = 0;
  for (int64_t i = 0; i < n; ++i) {
    v[i] = std::exp(v[i] - max_v);
    sum += v[i];
  }
  const float inv = static_cast<float>(1.0 / sum);
  for (int64_t i = 0; i < n; ++i) v[i] *= inv;
}

struct Dims {
  int64_t heads, nope, rope, v, qk, kv_lora, hidden;
  int64_t k_pe_step;  // floats between heads' rotary keys in the cache: 0 when one k_pe is shared
};

// Full form for head h: expand keys and values of all T cached positions, then attend.
void attend_full_head(const Dims& d, const WeightMatrix& kv_b, const LatentCache& cache, int layer, int64_t h,
                      const float* q, int64_t n, int64_t position, float scale, float* heads_out) {
  const int64_t T = position + n;
  const int64_t kv_width = d.nope + d.v;
  thread_local std::vector<float> kv;      // [T, nope + v]: k_nope then v of head h
  thread_local std::vector<float> scores;  // [T]
  if (static_cast<int64_t>(kv.size()) < T * kv_width) kv.resize(T * kv_width);
  if (static_cast<int64_t>(scores.size()) < T) scores.resize(T);
  WeightMatrix head_rows = kv_b.row_slice(h * kv_width, kv_width);
  matmul_rows(head_rows, cache.c_kv(layer, 0), T, kv.data(), kv_width, 0, kv_width);
  for (int64_t i = 0; i < n; ++i) {
    const float* qh = q + i * d.heads * d.qk + h * d.qk;
    const int64_t visible = position + i + 1;  // causal: positions 0..position+i
    for (int64_t t = 0; t < visible; ++t) {
      scores[t] = scale * (dot_f32(qh, kv.data() + t * kv_width, d.nope) + dot_f32(qh + d.nope, cache.k_pe(layer, t) + h * d.k_pe_step, d.rope));
    }
    softmax_in_place(scores.data(), visible);
    float* o = heads_out + i * d.heads * d.v + h * d.v;
    std::fill(o, o + d.v, 0.0f);
    for (int64_t t = 0; t < visible; ++t) {
      const float p = scores[t];
      const float* vt = kv.data() + t * kv_width + d.nope;
      for (int64_t j = 0; j < d.v; ++j) o[j] += p * vt[j];
    }
  }
}

// Absorbed form for head h: attention over the latent cache directly.
void attend_absorbed_head(const Dims& d, const WeightMatrix& kv_b, const LatentCache& cache, int layer, int64_t h,
                          const float* q, int64_t n, int64_t position, float scale, float* heads_out) {
  const int64_t kv_width = d.nope + d.v;
  const WeightMatrix w_uk = kv_b.row_slice(h * kv_width, d.nope);        // [nope, kv_lora]
  const WeightMatrix w_uv = kv_b.row_slice(h * kv_width + d.nope, d.v);  // [v, kv_lora]
  thread_local std::vector<float> q_latent, latent_out, scores;
  q_latent.resize(d.kv_lora);
  latent_out.resize(d.kv_lora);
  if (static_cast<int64_t>(scores.size()) < position + n) scores.resize(position + n);
  for (int64_t i = 0; i < n; ++i) {
    const float* qh = q + i * d.heads * d.qk + h * d.qk;
    matmul_transposed_vector(w_uk, qh, q_latent.data());  // W_UKᵀ q_nope
    const int64_t visible = position + i + 1;
    for (int64_t t = 0; t < visible; ++t) {
      scores[t] = scale * (dot_f32(q_latent.data(), cache.c_kv(layer, t), d.kv_lora) +
                           dot_f32(qh + d.nope, cache.k_pe(layer, t) + h * d.k_pe_step, d.rope));
    }
    softmax_in_place(scores.data(), visible);
    std::fill(latent_out.begin(), latent_out.end(), 0.0f);
    for (int64_t t = 0; t < visible; ++t) {
      const float p = scores[t];
      const float* c = cache.c_kv(layer, t);
      for (int64_t j = 0; j < d.kv_lora; ++j) latent_out[j] += p * c[j];
    }
    float* o = heads_out + i * d.heads * d.v + h * d.v;
    matmul_rows(w_uv, latent_out.data(), 1, o, d.v, 0, d.v);  // W_UV (Σ p·c)
  }
}

}  // namespace

void MlaScratch::reserve(const ModelConfig& c, int64_t n) {
  q_latent.resize(n * std::max(1, c.q_lora_rank));
  q.resize(n * c.num_attention_heads * c.qk_head_dim());
  kv_a.resize(n * (c.kv_lora_rank + c.qk_rope_head_dim * c.rotary_key_heads()));
  heads_out.resize(n * c.num_attention_heads * c.v_head_dim);
  cos.resize(c.qk_rope_head_dim / 2);
  sin.resize(c.qk_rope_head_dim / 2);
}

void mla_attention(ThreadPool& pool, const ModelConfig& c, const Rope& rope, const AttentionWeights& w, int layer,
                   const float* x, int64_t n, int64_t position, LatentCache& cache, AttentionForm form, MlaScratch& s,
                   float* out) {
  const int64_t key_heads = c.rotary_key_heads();
  const Dims d{c.num_attention_heads, c.qk_nope_head_dim, c.qk_rope_head_dim, c.v_head_dim,
               c.qk_head_dim(),       c.kv_lora_rank,     c.hidden_size,      key_heads > 1 ? c.qk_rope_head_dim : 0};
  const float latent_eps = static_cast<float>(c.latent_norm_eps);
  // Queries.
  if (c.q_lora_rank > 0) {
    matmul(pool, w.q_a_proj, x, n, s.q_latent.data());
    if (c.q_latent_norm) {
      rms_norm_rows(s.q_latent.data(), c.q_lora_rank, w.q_a_layernorm.data(), c.q_lora_rank, latent_eps, n,
                    s.q_latent.data(), c.q_lora_rank, c.rms_norm_form);
    }
    matmul(pool, w.q_b_proj, s.q_latent.data(), n, s.q.data());
  } else {
    matmul(pool, w.q_proj, x, n, s.q.data());
  }
  // Latent keys/values: normalised c_kv and the roped k_pe go to the cache. k_pe is one vector
  // shared by all heads (V3), or one per head: from x (extra kv_a rows) or from the normalised
  // latent (k_rope_from_latent · c_kv); either way the cache holds it after RoPE.
  const int64_t kv_a_width = w.kv_a_proj_with_mqa.rows;
  const int64_t k_pe_width = key_heads * d.rope;
  matmul(pool, w.kv_a_proj_with_mqa, x, n, s.kv_a.data());
  for (int64_t i = 0; i < n; ++i) {
    const int64_t p = position + i;
    const float* kv = s.kv_a.data() + i * kv_a_width;
    rms_norm(kv, w.kv_a_layernorm.data(), d.kv_lora, latent_eps, cache.c_kv(layer, p), c.rms_norm_form);
    float* k_pe = cache.k_pe(layer, p);
    if (c.rotary_key_source == RotaryKeySource::PerHeadFromLatent) {
      matmul_rows(w.k_rope_from_latent, cache.c_kv(layer, p), 1, k_pe, k_pe_width, 0, k_pe_width);
    } else {
      std::memcpy(k_pe, kv + d.kv_lora, k_pe_width * sizeof(float));
    }
    rope.angles(p, s.cos.data(), s.sin.data());
    for (int64_t kh = 0; kh < key_heads; ++kh) rope.apply(k_pe + kh * d.rope, s.cos.data(), s.sin.data());
    for (int64_t h = 0; h < d.heads; ++h) rope.apply(s.q.data() + i * d.heads * d.qk + h * d.qk + d.nope, s.cos.data(), s.sin.data());
  }
  // Attention per head, heads split across threads.
  const float scale = static_cast<float>(rope.softmax_scale());
  pool.parallel_for(d.heads, 1, [&](int64_t h0, int64_t h1) {
    for (int64_t h = h0; h < h1; ++h) {
      if (form == AttentionForm::Full) {
        attend_full_head(d, w.kv_b_proj, cache, layer, h, s.q.data(), n, position, scale, s.heads_out.data());
      } else {
        attend_absorbed_head(d, w.kv_b_proj, cache, layer, h, s.q.data(), n, position, scale, s.heads_out.data());
      }
    }
  });
  matmul(pool, w.o_proj, s.heads_out.data(), n, out);
  if (!w.o_proj_bias.empty()) {
    for (int64_t i = 0; i < n; ++i) {
      for (int64_t j = 0; j < d.hidden; ++j) out[i * d.hidden + j] += w.o_proj_bias[j];
    }
  }
}

}  // namespace dschat
