// The SwiGLU feed-forward network of DeepSeek's dense layers, routed and shared experts:
//   y = W_down (silu(W_gate x) ⊙ W_up x),  silu(z) = z·σ(z)
// With ExpertKind::SiluMlp weights (no gate_proj): y = W_down silu(W_up x). Biases when present.
#pragma once

#include <cstdint>

#include "engine/model_weights.h"
#include "engine/thread_pool.h"

namespace dschat {

// x: [n, hidden], out: [n, hidden]. `hidden_buf` holds [n, intermediate] floats.
void swiglu_mlp(ThreadPool& pool, const MlpWeights& w, const float* x, int64_t n, float* out, float* hidden_buf);

// Same without using the pool (for callers already running inside a parallel loop).
void swiglu_mlp_serial(const MlpWeights& w, const float* x, int64_t n, float* out, float* hidden_buf,
                       float* up_buf);

}  // namespace dschat
