// Kernels over float vectors, one table per instruction-set level, chosen once (cpu_features.h):
// dot products, softmax (attention scores), SiLU (SwiGLU's gate) and axpy (the transposed product
// of absorbed MLA).
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
