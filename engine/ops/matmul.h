// y = x · Wᵀ for a weight matrix in its stored dtype (F32, F16, BF16; converted on the fly).
// GEMV when n == 1 (decode), a row-blocked GEMM when n > 1 (prefill: each weight row is read
// once per block of tokens).
#pragma once

#include <cstdint>

#include "engine/ops/thread_pool.h"
#include "engine/ops/weight_matrix.h"

namespace dschat {

// y[t*ldy + r] = Σ_k w[r,k] · x[t*w.cols + k] for t < n and r in [row_begin, row_end).
// Serial; the building block of matmul() and of per-head work already split across threads.
void matmul_rows(const WeightMatrix& w, const float* x, int64_t n, float* y, int64_t ldy,
                 int64_t row_begin, int64_t row_end);

// The same over all rows of w, split across the pool. ldy = 0 means w.rows.
void matmul(ThreadPool& pool, const WeightMatrix& w, const float* x, int64_t n, float* y, int64_t ldy = 0);

// out[c] = Σ_r a[r] · w[r, c]  (xᵀ·W: used to fold W_UK into the query in absorbed MLA). Serial.
void matmul_transposed_vector(const WeightMatrix& w, const float* a, float* out);

// Σ a[i] b[i]
float dot_f32(const float* a, const float* b, int64_t n);

// g[i] ← SiLU(g[i]) · u[i] (u null: SiLU(g[i])), vectorised where the CPU allows.
void silu_mul(float* g, const float* u, int64_t n);

}  // namespace dschat
