#include "engine/deepseek/mlp.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "engine/ops/matmul.h"

namespace dschat {
namespace {

inline float silu(float z) { return z / (1.0f + std::exp(-z)); }

// hidden[t, r] = act(gate/up rows r of token t), rows [r0, r1); `up` holds the up rows of the gated form.
void activate_rows(const MlpWeights& w, int64_t n, int64_t inter, int64_t r0, int64_t r1, float* hidden_buf,
                   const float* up) {
  const bool gated = !w.gate_proj.empty();
  const float* gate_bias = w.gate_bias.empty() ? nullptr : w.gate_bias.data();
  const float* up_bias = w.up_bias.empty() ? nullptr : w.up_bias.data();
  if (gate_bias == nullptr && up_bias == nullptr) {  // the DeepSeek form: no biases
    for (int64_t t = 0; t < n; ++t) silu_mul(hidden_buf + t * inter + r0, gated ? up + t * (r1 - r0) : nullptr, r1 - r0);
    return;
  }
  for (int64_t t = 0; t < n; ++t) {
    float* g = hidden_buf + t * inter;
    if (!gated) {  // Linear -> SiLU -> Linear: hidden_buf holds up·x
      for (int64_t r = r0; r < r1; ++r) g[r] = silu(g[r] + (up_bias ? up_bias[r] : 0.0f));
      continue;
    }
    const float* u = up + t * (r1 - r0);
    for (int64_t r = r0; r < r1; ++r) {
      g[r] = silu(g[r] + (gate_bias ? gate_bias[r] : 0.0f)) * (u[r - r0] + (up_bias ? up_bias[r] : 0.0f));
    }
  }
}

void add_down_bias(const MlpWeights& w, int64_t n, float* out) {
  if (w.down_bias.empty()) return;
  const int64_t H = static_cast<int64_t>(w.down_bias.size());
  for (int64_t t = 0; t < n; ++t) {
    for (int64_t i = 0; i < H; ++i) out[t * H + i] += w.down_bias[i];
  }
}

}  // namespace

void mlp_hidden_rows(const MlpWeights& w, const PreparedActivations& x, float* hidden_buf, int64_t r0, int64_t r1,
                     KernelScratch& scratch, std::vector<float>& up) {
  const bool gated = !w.gate_proj.empty();
  const WeightMatrix& first = gated ? w.gate_proj : w.up_proj;
  const int64_t inter = first.rows, n = x.n;
  matmul_rows(first, x, hidden_buf, inter, r0, r1, scratch);
  if (gated) {  // the up-projection rows [r0, r1) of the gated form
    const size_t need = static_cast<size_t>(n * (r1 - r0));
    if (up.size() < need) up.resize(need);
    WeightMatrix up_rows = w.up_proj.row_slice(r0, r1 - r0);
    matmul_rows(up_rows, x, up.data(), r1 - r0, 0, r1 - r0, scratch);
  }
  activate_rows(w, n, inter, r0, r1, hidden_buf, up.data());
}

void MlpScratch::reserve(int threads) { up.resize(static_cast<size_t>(threads)); }

void mlp_forward(Workspace& workspace, const MlpWeights& w, const float* x, int64_t n, float* out, float* hidden_buf,
                 MlpScratch& s) {
  const bool gated = !w.gate_proj.empty();
  const WeightMatrix& first = gated ? w.gate_proj : w.up_proj;
  const int64_t inter = first.rows;
  const int64_t block = kRowBlock;  // row slices of an interleaved type start on a group
  const int64_t blocks = (inter + block - 1) / block;
  const int64_t grain = ThreadPool::grain((gated ? 2 : 1) * block * first.cols * n);
  // Gate and up share a pass over x (prepared once); each thread keeps its up-projection rows in
  // a buffer of its own.
  const PreparedActivations prepared = prepare_activations(first, x, n, workspace.call());
  workspace.pool().parallel_for(blocks, grain, [&](int64_t b0, int64_t b1, int thread) {
    mlp_hidden_rows(w, prepared, hidden_buf, b0 * block, std::min(inter, b1 * block), workspace.thread(thread),
                    s.up[static_cast<size_t>(thread)]);
  });
  matmul(workspace, w.down_proj, hidden_buf, n, out);
  add_down_bias(w, n, out);
}

}  // namespace dschat
