// The feed-forward network of DeepSeek's dense layers and of its routed and shared experts, SwiGLU:
//   y = W_down (silu(W_gate x) ⊙ W_up x),  silu(z) = z·σ(z)
// With ExpertKind::SiluMlp weights (no gate_proj): y = W_down silu(W_up x). Biases when present.
#pragma once

#include <cstdint>
#include <vector>

#include "engine/deepseek/model_weights.h"
#include "engine/ops/matmul.h"
#include "engine/ops/workspace.h"

namespace dschat {

// Per pool thread, the up-projection rows of the gated form for the rows that thread computes.
struct MlpScratch {
  std::vector<std::vector<float>> up;
  void reserve(int threads);
};

// SwiGLU, or the gate-less SiLU MLP when w.gate_proj is empty. x: [n, hidden], out: [n, hidden].
// `hidden_buf` holds [n, intermediate] floats.
void mlp_forward(Workspace& workspace, const MlpWeights& w, const float* x, int64_t n, float* out, float* hidden_buf,
                 MlpScratch& scratch);

// hidden_buf[t, r0..r1) = silu(W_gate x_t) ⊙ W_up x_t for those rows (the part before W_down;
// rows of [n, intermediate] hidden_buf), x prepared for the gate's (or up's) type. Thread-safe
// for disjoint row ranges, each thread with its own `scratch` and `up`.
void mlp_hidden_rows(const MlpWeights& w, const PreparedActivations& x, float* hidden_buf, int64_t r0, int64_t r1,
                     KernelScratch& scratch, std::vector<float>& up);

}  // namespace dschat
