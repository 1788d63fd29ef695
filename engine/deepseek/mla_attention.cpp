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

// The absorbed form's query of head h for query token i: q_latent = W_UKᵀ q_nope [kv_lora] and
// the roped q_pe [rope].
void absorbed_query(const Dims& d, const AttentionWeights& w, const float* q, int64_t i, int64_t h, float* q_latent,
                    float* q_rope, KernelScratch& kernel) {
  const HeadProjections p = head_projections(d, w, h);
  const float* qh = q + i * d.heads * d.qk + h * d.qk;
  if (p.w_uk_t.empty()) {
    matmul_transposed_vector(p.w_uk, qh, q_latent, kernel);  // W_UKᵀ q_nope
  } else {
    matmul_rows(p.w_uk_t, qh, 1, q_latent, d.kv_lora, 0, d.kv_lora, kernel);
  }
  std::memcpy(q_rope, qh + d.nope, d.rope * sizeof(float));
}

// Attention of heads h0..h0+nh-1 over the cached positions [first, last) with an online softmax:
// the rows are read a tile at a time (decoded to floats once per tile when the cache is not F32)
// and each tile once. Per head it leaves the running max m, the sum l = Σ exp(s_t - m) and the
// unnormalised out = Σ exp(s_t - m) c_t, where s_t = scale·((W_UKᵀ q_nope)·c_t + q_pe·k_pe_t).
void attend_positions(const Dims& d, const LatentCache& cache, int layer, int64_t h0, int64_t nh,
                      const float* q_latent, const float* q_rope, int64_t first, int64_t last, float scale, float* out,
                      float* running_max, float* running_sum, HeadScratch& s) {
  const int64_t rope_width = cache.rope_dim();
  s.tile.resize(kDecodeTile * d.kv_lora);
  s.tile_rope.resize(kDecodeTile * rope_width);
  s.rope_scores.resize(nh * kDecodeTile);
  s.scores.resize(nh * kDecodeTile);
  float* scores = s.scores.data();  // [nh, rows of the tile]
  std::fill(running_max, running_max + nh, -INFINITY);
  std::fill(running_sum, running_sum + nh, 0.0f);
  std::fill(out, out + nh * d.kv_lora, 0.0f);
  for (int64_t start = first; start < last; start += kDecodeTile) {
    const int64_t rows = std::min(kDecodeTile, last - start);
    const float* latents = cache.latents(layer, start, rows, s.tile.data());
    // (W_UKᵀ q_nope)·c_t for all the heads at once: each cached row is loaded once per four
    // heads, not once per head.
    row_dots(q_latent, d.kv_lora, nh, latents, d.kv_lora, rows, d.kv_lora, scores, rows);
    const float* rotary = cache.rotary_keys(layer, start, rows, s.tile_rope.data());
    if (d.k_pe_step == 0) {  // one shared k_pe per position: the tile's rotary keys are a matrix too
      row_dots(q_rope, d.rope, nh, rotary, rope_width, rows, d.rope, s.rope_scores.data(), rows);
      for (int64_t k = 0; k < nh * rows; ++k) scores[k] += s.rope_scores[k];
    } else {
      for (int64_t hh = 0; hh < nh; ++hh) {
        for (int64_t t = 0; t < rows; ++t) {
          scores[hh * rows + t] += dot_f32(q_rope + hh * d.rope, rotary + t * rope_width + (h0 + hh) * d.k_pe_step, d.rope);
        }
      }
    }
    for (int64_t hh = 0; hh < nh; ++hh) {
      float* row = scores + hh * rows;
      float m = running_max[hh];
      for (int64_t t = 0; t < rows; ++t) m = std::max(m, row[t] *= scale);
      const float correction = std::exp(running_max[hh] - m);  // 0 on the first tile
      float sum = 0;
      for (int64_t t = 0; t < rows; ++t) sum += row[t] = std::exp(row[t] - m);
      running_sum[hh] = running_sum[hh] * correction + sum;
      running_max[hh] = m;
      if (correction != 1.0f) {
        float* o = out + hh * d.kv_lora;
        for (int64_t c = 0; c < d.kv_lora; ++c) o[c] *= correction;
      }
    }
    // out += P·tile: Σ p·c over the tile, four heads per loaded row.
    weighted_row_sums(scores, rows, nh, latents, d.kv_lora, rows, d.kv_lora, out, d.kv_lora);
  }
}

// o = W_UV (latent / l) of head h for query token i, into heads_out.
void absorbed_output(const Dims& d, const AttentionWeights& w, int64_t i, int64_t h, float* latent, float sum,
                     float* heads_out, KernelScratch& kernel) {
  const float inv = 1.0f / sum;
  for (int64_t c = 0; c < d.kv_lora; ++c) latent[c] *= inv;
  const HeadProjections p = head_projections(d, w, h);
  matmul_rows(p.w_uv, latent, 1, heads_out + i * d.heads * d.v + h * d.v, d.v, 0, d.v, kernel);  // W_UV (Σ p·c)
}

// Absorbed form for the heads h0..h1 of one thread, one query token at a time, over all its
// visible positions in one pass. Memory per thread is one tile, whatever the context.
void attend_absorbed_heads(const Dims& d, const AttentionWeights& w, const LatentCache& cache, int layer, int64_t h0,
                           int64_t h1, const float* q, int64_t i, int64_t visible, float scale, float* heads_out,
                           HeadScratch& s, KernelScratch& kernel) {
  const int64_t nh = h1 - h0;
  s.q_latent.resize(nh * d.kv_lora);
  s.q_rope.resize(nh * d.rope);
  s.latent_out.resize(nh * d.kv_lora);
  s.running_max.resize(nh);
  s.running_sum.resize(nh);
  for (int64_t hh = 0; hh < nh; ++hh) {
    absorbed_query(d, w, q, i, h0 + hh, s.q_latent.data() + hh * d.kv_lora, s.q_rope.data() + hh * d.rope, kernel);
  }
  attend_positions(d, cache, layer, h0, nh, s.q_latent.data(), s.q_rope.data(), 0, visible, scale,
                   s.latent_out.data(), s.running_max.data(), s.running_sum.data(), s);
  for (int64_t hh = 0; hh < nh; ++hh) {
    absorbed_output(d, w, i, h0 + hh, s.latent_out.data() + hh * d.kv_lora, s.running_sum[hh], heads_out, kernel);
  }
}

// Positions per split of a long context (split_positions): at least kSplitMin, and at most
// kMaxSplits splits, so that the partial results stay small whatever the context.
constexpr int64_t kSplitMin = 4 * kDecodeTile;
constexpr int64_t kMaxSplits = 64;

// The splits of `visible` cached positions for the absorbed form over a long context: a function
// of `visible` alone (never of the thread count), so that the arithmetic, and the result, is the
// same whoever runs it.
int64_t split_positions(int64_t visible) {
  const int64_t per_split = std::max(kSplitMin, (visible + kMaxSplits - 1) / kMaxSplits);
  return (per_split + kDecodeTile - 1) / kDecodeTile * kDecodeTile;
}

// Absorbed form for query token i, which sees the cached positions 0..visible-1, all heads.
//  - A short context (one split): heads split across threads, four at a time (the tile products
//    load each cached row once per four heads), each range in one pass.
//  - A long one: split over positions as well (flash-decoding, Dao et al. 2023): every split is
//    read by one task for a group of heads, so each cached row comes from memory once, not once
//    per thread, and is reused by every head of the group; then each head's partial results are
//    merged in split order (m = max m_c, l = Σ l_c e^(m_c-m), out = Σ out_c e^(m_c-m)).
void attend_absorbed(Workspace& ws, const Dims& d, const AttentionWeights& w, const LatentCache& cache, int layer,
                     int64_t i, int64_t visible, float scale, MlaScratch& s) {
  const int64_t per_split = split_positions(visible);
  const int64_t splits = (visible + per_split - 1) / per_split;
  const int threads = ws.pool().size();
  // Groups of heads per split: enough tasks for every thread (the arithmetic does not depend on
  // it: each head's result is computed alike in any group).
  const int64_t groups = std::clamp<int64_t>((threads + splits - 1) / splits, 1, std::max<int64_t>(1, d.heads / 4));
  const int64_t group_heads = (d.heads + groups - 1) / groups;
  const int64_t task_heads = splits == 1 ? d.heads : group_heads;
  // Every thread's scratch is sized here, on the calling thread (an allocation failing in the pool
  // would be std::terminate, not an error).
  for (HeadScratch& head : s.heads) {
    head.q_latent.resize(d.heads * d.kv_lora);
    head.q_rope.resize(d.heads * d.rope);
    head.latent_out.resize(d.heads * d.kv_lora);
    head.running_max.resize(d.heads);
    head.running_sum.resize(d.heads);
    head.tile.resize(kDecodeTile * d.kv_lora);
    head.tile_rope.resize(kDecodeTile * cache.rope_dim());
    head.rope_scores.resize(task_heads * kDecodeTile);
    head.scores.resize(task_heads * kDecodeTile);
  }
  if (splits == 1) {
    ws.pool().parallel_for(d.heads, 4, [&](int64_t h0, int64_t h1, int thread) {
      attend_absorbed_heads(d, w, cache, layer, h0, h1, s.q.data(), i, visible, scale, s.heads_out.data(),
                            s.heads[static_cast<size_t>(thread)], ws.thread(thread));
    });
    return;
  }
  s.split_query.resize(d.heads * d.kv_lora);
  s.split_query_rope.resize(d.heads * d.rope);
  s.split_out.resize(splits * d.heads * d.kv_lora);
  s.split_max.resize(splits * d.heads);
  s.split_sum.resize(splits * d.heads);
  ws.pool().parallel_for(d.heads, 1, [&](int64_t h0, int64_t h1, int thread) {
    for (int64_t h = h0; h < h1; ++h) {
      absorbed_query(d, w, s.q.data(), i, h, s.split_query.data() + h * d.kv_lora,
                     s.split_query_rope.data() + h * d.rope, ws.thread(thread));
    }
  });
  ws.pool().parallel_for(splits * groups, 1, [&](int64_t t0, int64_t t1, int thread) {
    for (int64_t task = t0; task < t1; ++task) {
      const int64_t split = task / groups, h0 = task % groups * group_heads;
      const int64_t nh = std::min(group_heads, d.heads - h0);
      if (nh <= 0) continue;
      const int64_t first = split * per_split, last = std::min(visible, first + per_split);
      const int64_t slot = split * d.heads + h0;
      attend_positions(d, cache, layer, h0, nh, s.split_query.data() + h0 * d.kv_lora,
                       s.split_query_rope.data() + h0 * d.rope, first, last, scale,
                       s.split_out.data() + slot * d.kv_lora, s.split_max.data() + slot, s.split_sum.data() + slot,
                       s.heads[static_cast<size_t>(thread)]);
    }
  });
  ws.pool().parallel_for(d.heads, 1, [&](int64_t h0, int64_t h1, int thread) {
    float* latent = s.heads[static_cast<size_t>(thread)].latent_out.data();
    for (int64_t h = h0; h < h1; ++h) {
      float m = -INFINITY;
      for (int64_t c = 0; c < splits; ++c) m = std::max(m, s.split_max[c * d.heads + h]);
      float sum = 0;
      std::fill(latent, latent + d.kv_lora, 0.0f);
      for (int64_t c = 0; c < splits; ++c) {
        const float weight = std::exp(s.split_max[c * d.heads + h] - m);
        sum += s.split_sum[c * d.heads + h] * weight;
        const float* part = s.split_out.data() + (c * d.heads + h) * d.kv_lora;
        for (int64_t k = 0; k < d.kv_lora; ++k) latent[k] += weight * part[k];
      }
      absorbed_output(d, w, i, h, latent, sum, s.heads_out.data(), ws.thread(thread));
    }
  });
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
  const float scale = static_cast<float>(rope.softmax_scale());
  if (form == AttentionForm::Absorbed) {
    for (int64_t i = 0; i < n; ++i) attend_absorbed(ws, d, w, cache, layer, i, position + i + 1, scale, s);
  } else {
    // The full form, per head, heads split across threads. Each thread's scratch is sized here, on
    // the calling thread: sized inside the pool, a failed allocation (a long prefill: [n, T]
    // scores per thread) was an exception on a pool thread, i.e. std::terminate instead of an error.
    for (HeadScratch& head : s.heads) {  // any pool thread may take a head
      head.keys.resize(T * d.qk);
      head.values_t.resize(d.v * T);
      head.queries.resize(n * d.qk);
      head.scores.resize(n * T);
      head.w_uv.resize(d.v * d.kv_lora);
    }
    ws.pool().parallel_for(d.heads, 1, [&](int64_t h0, int64_t h1, int thread) {
      HeadScratch& head = s.heads[static_cast<size_t>(thread)];
      KernelScratch& kernel = ws.thread(thread);
      for (int64_t h = h0; h < h1; ++h) {
        const HeadProjections p = head_projections(d, w, h);
        attend_full_head(d, p, cached, rotary, rope_width, h, s.q.data(), n, position, scale, s.heads_out.data(), head,
                         kernel);
      }
    });
  }
  matmul(ws, w.o_proj, s.heads_out.data(), n, out);
  if (!w.o_proj_bias.empty()) {
    for (int64_t i = 0; i < n; ++i) {
      for (int64_t j = 0; j < d.hidden; ++j) out[i * d.hidden + j] += w.o_proj_bias[j];
    }
  }
}

}  // namespace dschat
