// The feed-forward network of DeepSeek's dense layers and of its routed and shared experts, SwiGLU:
//   y = W_down (silu(W_gate x) ⊙ W_up x),  silu(z) = z·σ(z)
// With ExpertKind::SiluMlp weights (no gate_proj): y = W_down silu(W_up x). Biases when present.
#pragma once

#include <cstdint>

#include "engine/deepseek/model_weights.h"
#include "engine/ops/thread_pool.h"

namespace dschat {

// SwiGLU, or the gate-less SiLU MLP when w.gate_proj is empty. x: [n, hidden], out: [n, hidden]. `hidden_buf` holds [n, intermediate] floats.
void mlp_forward(ThreadPool& pool, const MlpWeights& w, const float* x, int64_t n, float* out, float* hidden_buf);

// hidden_buf[t, r0..r1) = silu(W_gate x_t) ⊙ W_up x_t for those rows (the part before W_down;
// rows of [n, intermediate] hidden_buf). Thread-safe for disjoint row ranges.
void mlp_hidden_rows(const MlpWeights& w, const float* x, int64_t n, float* hidden_buf, int64_t r0, int64_t r1);

}  // namespace dschat
