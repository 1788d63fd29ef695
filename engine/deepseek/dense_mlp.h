// The SwiGLU feed-forward network of DeepSeek's dense layers, routed and shared experts:
//   y = W_down (silu(W_gate x) ⊙ W_up x),  silu(z) = z·σ(z)
// With ExpertKind::SiluMlp weights (no gate_proj): y = W_down silu(W_up x). Biases when present.
#pragma once

#include <cstdint>

#include "engine/deepseek/model_weights.h"
#include "engine/ops/thread_pool.h"

namespace dschat {

// x: [n, hidden], out: [n, hidden]. `hidden_buf` holds [n, intermediate] floats.
void swiglu_mlp(ThreadPool& pool, const MlpWeights& w, const float* x, int64_t n, float* out, float* hidden_buf);

// hidden_buf[t, r0..r1) = silu(W_gate x_t) ⊙ W_up x_t for those rows (the part before W_down;
// rows of [n, intermediate] hidden_buf). Thread-safe for disjoint row ranges.
void mlp_hidden_rows(const MlpWeights& w, const float* x, int64_t n, float* hidden_buf, int64_t r0, int64_t r1);

// Same without using the pool (for callers already running inside a parallel loop).
void swiglu_mlp_serial(const MlpWeights& w, const float* x, int64_t n, float* out, float* hidden_buf,
                       float* up_buf);

}  // namespace dschat
