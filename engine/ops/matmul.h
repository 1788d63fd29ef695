// y = x · Wᵀ for a weight matrix in its stored type, through the type's kernels (weight_kernels.h):
// a GEMV for a few tokens (decode: bandwidth-bound), a row-blocked GEMM for more (prefill: each
// weight row is read once per block of tokens). The activations are prepared once per call,
// before the rows are split across threads.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "engine/ops/weight_kernels.h"
#include "engine/ops/workspace.h"

namespace dschat {

// x [n, w.cols] prepared for the kernels of w's type, in `storage` (valid until it is reused).
PreparedActivations prepare_activations(const WeightMatrix& w, const float* x, int64_t n,
                                        std::vector<std::byte>& storage);
// The same in scratch.prepared.
PreparedActivations prepare_activations(const WeightMatrix& w, const float* x, int64_t n, KernelScratch& scratch);

// y[t*ldy + r] = Σ_k w[r,k] · x[t*w.cols + k] for t < x.n and r in [row_begin, row_end). Serial;
// the building block of matmul() and of work already split across threads. Prepares x again
// when it was prepared for a type whose GEMV reads another form.
void matmul_rows(const WeightMatrix& w, const PreparedActivations& x, float* y, int64_t ldy, int64_t row_begin,
                 int64_t row_end, KernelScratch& scratch);
// The same from floats (prepares them in `scratch`).
void matmul_rows(const WeightMatrix& w, const float* x, int64_t n, float* y, int64_t ldy, int64_t row_begin,
                 int64_t row_end, KernelScratch& scratch);

// All rows of w, split across the workspace's pool. ldy = 0 means w.rows.
void matmul(Workspace& workspace, const WeightMatrix& w, const float* x, int64_t n, float* y, int64_t ldy = 0);

// out[c] = Σ_r a[r] · w[r, c]  (xᵀ·W: used to fold W_UK into the query in absorbed MLA). Serial.
void matmul_transposed_vector(const WeightMatrix& w, const float* a, float* out, KernelScratch& scratch);

// Σ a[i] b[i]
float dot_f32(const float* a, const float* b, int64_t n);
// v ← softmax(v)
void softmax(float* v, int64_t n);
// g[i] ← SiLU(g[i]) · u[i] (u null: SiLU(g[i])), vectorised where the CPU allows.
void silu_mul(float* g, const float* u, int64_t n);
// C = A·Bᵀ and C += P·B over matrices stored by rows (vector_kernels.h): attention over a tile of
// cached rows, several heads at a time.
void row_dots(const float* a, int64_t lda, int64_t m, const float* b, int64_t ldb, int64_t n, int64_t k, float* c,
              int64_t ldc);
void weighted_row_sums(const float* p, int64_t ldp, int64_t m, const float* b, int64_t ldb, int64_t n, int64_t k,
                       float* c, int64_t ldc);

}  // namespace dschat
