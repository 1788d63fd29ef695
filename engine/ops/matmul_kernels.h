// The table of matmul kernels for one instruction-set level ("scalar", "avx2", "avx512"). Each
// level's functions are ordinary functions compiled with a target attribute in their own file
// (matmul.cpp: scalar, matmul_avx2.cpp, matmul_avx512.cpp); matmul_kernels() picks one table
// once, at first use, from cpu_features.h. No ifuncs / target_clones: their resolvers run before
// sanitizer run-times are initialised.
#pragma once

#include <cstdint>

#include "engine/ops/weight_matrix.h"

namespace dschat {

struct MatmulKernels {
  const char* name = "unavailable";
  // Σ a[i] b[i]
  float (*dot_f32)(const float* a, const float* b, int64_t n) = nullptr;
  // matmul_rows() for every dtype and token count (the public entry points forward here).
  void (*rows)(const WeightMatrix& w, const float* x, int64_t n, float* y, int64_t ldy, int64_t row_begin,
               int64_t row_end) = nullptr;
  // out[c] = Σ_r a[r] · w[r, c]
  void (*transposed_vector)(const WeightMatrix& w, const float* a, float* out) = nullptr;
  // v[0..n) ← softmax(v) (max-subtracted; attention scores)
  void (*softmax)(float* v, int64_t n) = nullptr;
  // g[i] ← SiLU(g[i]) · u[i], or SiLU(g[i]) when u is null; SiLU(z) = z·σ(z) (SwiGLU's gate)
  void (*silu_mul)(float* g, const float* u, int64_t n) = nullptr;
};

// The kernels of `level`; all members nullptr when that level is not compiled in.
MatmulKernels matmul_kernels_for(const char* level);
// The best level the CPU runs (DSCHAT_SIMD lowers it; see cpu_features.h), chosen once.
const MatmulKernels& matmul_kernels();

MatmulKernels matmul_kernels_scalar();
#if defined(__x86_64__)
MatmulKernels matmul_kernels_avx2();    // AVX2 + FMA + F16C
MatmulKernels matmul_kernels_avx512();  // + AVX-512 F/BW/VL/VNNI
#endif

}  // namespace dschat
