// The float matmul loops, written once with GCC vector types and compiled once per instruction
// set: each level's file wraps these always-inline bodies in functions carrying its target
// attribute, so the same source becomes SSE2 or AVX2 code (weight_kernels.h, vector_kernels.h).
// Internal to kernels_scalar.cpp and kernels_avx2.cpp.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>

#include "engine/ops/weight_matrix.h"
#include "engine/ops/workspace.h"

namespace dschat::float_body {

// 8 floats as one GCC vector: one ymm register in the AVX builds, two xmm in the default build.
// (Only used in always-inlined code, so the vector ABI note of -Wpsabi does not apply.)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wpsabi"
typedef float Float8 __attribute__((vector_size(32)));

[[gnu::always_inline]] inline Float8 load8(const float* p) {
  Float8 v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

[[gnu::always_inline]] inline float horizontal_sum(Float8 v) {
  return ((v[0] + v[4]) + (v[1] + v[5])) + ((v[2] + v[6]) + (v[3] + v[7]));
}

[[gnu::always_inline]] inline float dot_f32(const float* a, const float* b, int64_t n) {
  Float8 acc0 = {}, acc1 = {};
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    acc0 += load8(a + i) * load8(b + i);
    acc1 += load8(a + i + 8) * load8(b + i + 8);
  }
  for (; i + 8 <= n; i += 8) acc0 += load8(a + i) * load8(b + i);
  float s = horizontal_sum(acc0 + acc1);
  for (; i < n; ++i) s += a[i] * b[i];
  return s;
}

// Four dot products sharing the loads of x.
[[gnu::always_inline]] inline void dot4_f32(const float* w0, const float* w1, const float* w2, const float* w3,
                                            const float* x, int64_t n, float* out) {
  Float8 a0 = {}, a1 = {}, a2 = {}, a3 = {};
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const Float8 xv = load8(x + i);
    a0 += load8(w0 + i) * xv;
    a1 += load8(w1 + i) * xv;
    a2 += load8(w2 + i) * xv;
    a3 += load8(w3 + i) * xv;
  }
  float s0 = horizontal_sum(a0), s1 = horizontal_sum(a1), s2 = horizontal_sum(a2), s3 = horizontal_sum(a3);
  // The tail as explicit fused multiply-adds: the compiler may not contract it one way here and
  // another in float_gemv_avx2.cpp, whose GEMV must give these sums bit for bit.
  for (; i < n; ++i) {
    s0 = std::fma(w0[i], x[i], s0);
    s1 = std::fma(w1[i], x[i], s1);
    s2 = std::fma(w2[i], x[i], s2);
    s3 = std::fma(w3[i], x[i], s3);
  }
  out[0] = s0;
  out[1] = s1;
  out[2] = s2;
  out[3] = s3;
}

constexpr int64_t kRowBlock = 4;
constexpr int64_t kTokenBlock = 16;

// y[t*ldy + r] = Σ_k w[r,k] · x[t*cols + k]: rows of four (widened to float once, F32 rows used
// in place) times blocks of tokens. The float types' GEMV and GEMM, and the block types' GEMM
// (prefill: compute-bound; their GEMV is block_gemv.h).
[[gnu::always_inline]] inline void rows(const WeightMatrix& w, const float* x, int64_t n, float* y, int64_t ldy,
                                        int64_t row_begin, int64_t row_end, KernelScratch& scratch) {
  const int64_t cols = w.cols;
  float* converted = w.dtype == DType::F32 ? nullptr : scratch.widened_floats(static_cast<size_t>(kRowBlock * cols));
  for (int64_t r = row_begin; r < row_end; r += kRowBlock) {
    int64_t count = std::min(kRowBlock, row_end - r);
    const float* rows[kRowBlock];
    for (int64_t k = 0; k < kRowBlock; ++k) {
      int64_t rr = r + std::min(k, count - 1);  // pad a short block by repeating its last row
      if (w.dtype == DType::F32) {
        rows[k] = reinterpret_cast<const float*>(w.row(rr));
      } else {
        if (k < count) weight_row_to_f32(w, rr, converted + k * cols);
        rows[k] = converted + std::min(k, count - 1) * cols;
      }
    }
    for (int64_t t0 = 0; t0 < n; t0 += kTokenBlock) {
      int64_t t1 = std::min(n, t0 + kTokenBlock);
      for (int64_t t = t0; t < t1; ++t) {
        float out[kRowBlock];
        dot4_f32(rows[0], rows[1], rows[2], rows[3], x + t * cols, cols, out);
        for (int64_t k = 0; k < count; ++k) y[t * ldy + r + k] = out[k];
      }
    }
  }
}

[[gnu::always_inline]] inline void axpy(float a, const float* x, float* y, int64_t n) {
  for (int64_t c = 0; c < n; ++c) y[c] += a * x[c];
}

[[gnu::always_inline]] inline void silu_mul(float* g, const float* u, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    const float s = g[i] / (1.0f + std::exp(-g[i]));
    g[i] = u ? s * u[i] : s;
  }
}

[[gnu::always_inline]] inline void softmax(float* v, int64_t n) {
  float max_v = *std::max_element(v, v + n);
  double sum = 0;
  for (int64_t i = 0; i < n; ++i) {
    v[i] = std::exp(v[i] - max_v);
    sum += v[i];
  }
  const float inv = static_cast<float>(1.0 / sum);
  for (int64_t i = 0; i < n; ++i) v[i] *= inv;
}

#pragma GCC diagnostic pop

}  // namespace dschat::float_body
