// Kernels over float vectors, one table per instruction-set level, chosen once (cpu_features.h):
// dot products, softmax (attention scores), SiLU (SwiGLU's gate), axpy (the transposed product
// of absorbed MLA) and the small row-major matrix products of attention over a cached tile.
#pragma once

#include <cstdint>

namespace dschat {

struct VectorKernels {
  const char* name = "unavailable";
  // Σ a[i] b[i]
  float (*dot_f32)(const float* a, const float* b, int64_t n) = nullptr;
  // v[0..n) ← softmax(v) (max-subtracted)
  void (*softmax)(float* v, int64_t n) = nullptr;
  // g[i] ← SiLU(g[i]) · u[i], or SiLU(g[i]) when u is null; SiLU(z) = z·σ(z)
  void (*silu_mul)(float* g, const float* u, int64_t n) = nullptr;
  // y[i] += a · x[i]
  void (*axpy)(float a, const float* x, float* y, int64_t n) = nullptr;
  // Small products of matrices stored by rows (row_products_body.h), each output element
  // computed alike whatever m is:
  // c[i·ldc + j] = Σ_x a[i·lda + x] · b[j·ldb + x] for i < m, j < n, x < k   (C = A·Bᵀ)
  void (*row_dots)(const float* a, int64_t lda, int64_t m, const float* b, int64_t ldb, int64_t n, int64_t k,
                   float* c, int64_t ldc) = nullptr;
  // c[i·ldc + x] += Σ_t p[i·ldp + t] · b[t·ldb + x] for i < m, t < n, x < k   (C += P·B)
  void (*weighted_row_sums)(const float* p, int64_t ldp, int64_t m, const float* b, int64_t ldb, int64_t n,
                            int64_t k, float* c, int64_t ldc) = nullptr;
};

// The kernels of `level`; all members null when that level is not compiled in.
VectorKernels vector_kernels_for(const char* level);
// The best level the CPU runs (DSCHAT_SIMD lowers it), chosen once.
const VectorKernels& vector_kernels();

VectorKernels scalar_vector_kernels();
#if defined(__x86_64__)
VectorKernels avx2_vector_kernels();
VectorKernels avx512_vector_kernels();
#endif

}  // namespace dschat
