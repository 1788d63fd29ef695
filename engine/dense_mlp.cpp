#include "engine/dense_mlp.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "engine/matmul.h"

namespace dschat {
namespace {

inline float silu(float z) { return z / (1.0f + std::exp(-z)); }

}  // namespace

void swiglu_mlp(ThreadPool& pool, const MlpWeights& w, const float* x, int64_t n, float* out, float* hidden_buf) {
  const int64_t inter = w.gate_proj.rows;
  const int64_t block = 4;
  const int64_t blocks = (inter + block - 1) / block;
  int64_t work_per_block = std::max<int64_t>(1, 2 * block * w.gate_proj.cols * n);
  int64_t grain = std::max<int64_t>(1, 65536 / work_per_block);
  // Gate and up share a pass over x; each thread keeps its up-projection rows in a private buffer.
  pool.parallel_for(blocks, grain, [&](int64_t b0, int64_t b1) {
    const int64_t r0 = b0 * block, r1 = std::min(inter, b1 * block);
    thread_local std::vector<float> up;
    const size_t need = static_cast<size_t>(n * (r1 - r0));
    if (up.size() < need) up.resize(need);
    matmul_rows(w.gate_proj, x, n, hidden_buf, inter, r0, r1);
    WeightMatrix up_rows = w.up_proj.row_slice(r0, r1 - r0);
    matmul_rows(up_rows, x, n, up.data(), r1 - r0, 0, r1 - r0);
    for (int64_t t = 0; t < n; ++t) {
      float* g = hidden_buf + t * inter + r0;
      const float* u = up.data() + t * (r1 - r0);
      for (int64_t r = 0; r < r1 - r0; ++r) g[r] = silu(g[r]) * u[r];
    }
  });
  matmul(pool, w.down_proj, hidden_buf, n, out);
}

void swiglu_mlp_serial(const MlpWeights& w, const float* x, int64_t n, float* out, float* hidden_buf,
                       float* up_buf) {
  const int64_t inter = w.gate_proj.rows;
  matmul_rows(w.gate_proj, x, n, hidden_buf, inter, 0, inter);
  matmul_rows(w.up_proj, x, n, up_buf, inter, 0, inter);
  for (int64_t i = 0; i < n * inter; ++i) hidden_buf[i] = silu(hidden_buf[i]) * up_buf[i];
  matmul_rows(w.down_proj, hidden_buf, n, out, w.down_proj.rows, 0, w.down_proj.rows);
}

}  // namespace dschat
