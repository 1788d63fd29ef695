// The AVX2 GEMV of the float weight types, widened in registers, tiled rows × tokens
// (float_gemv.h says why and what it guarantees).
#include "engine/ops/float_gemv.h"
#include "engine/ops/simd_target.h"

#if defined(__x86_64__)
#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>

namespace dschat {
namespace {

// Weights i .. i+7 of a row as fp32.
template <DType D>
DSCHAT_AVX2 inline __m256 widen8(const std::byte* row, int64_t i) {
  if constexpr (D == DType::F32) {
    return _mm256_loadu_ps(reinterpret_cast<const float*>(row) + i);
  } else if constexpr (D == DType::F16) {
    return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(row + 2 * i)));
  } else {
    const __m128i bits = _mm_loadu_si128(reinterpret_cast<const __m128i*>(row + 2 * i));
    return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(bits), 16));
  }
}

// Weight i of a row as fp32 (the columns past the last multiple of 8).
template <DType D>
DSCHAT_AVX2 inline float widen1(const std::byte* row, int64_t i) {
  if constexpr (D == DType::F32) {
    return reinterpret_cast<const float*>(row)[i];
  } else {
    uint16_t h;
    std::memcpy(&h, row + 2 * i, sizeof h);
    if constexpr (D == DType::F16) return _cvtsh_ss(h);
    const uint32_t bits = static_cast<uint32_t>(h) << 16;
    float f;
    std::memcpy(&f, &bits, sizeof f);
    return f;
  }
}

// ((v0+v4) + (v1+v5)) + ((v2+v6) + (v3+v7)): float_body::horizontal_sum's order.
DSCHAT_AVX2 inline float horizontal_sum(__m256 v) {
  const __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));  // a b c d
  const __m128 pairs = _mm_hadd_ps(s, s);                                              // a+b c+d ..
  return _mm_cvtss_f32(_mm_add_ss(pairs, _mm_movehdup_ps(pairs)));
}

// Rows r .. r+R-1 against tokens 0 .. T-1. Per 8 columns the T activation vectors are loaded
// once into registers and each row's weights once, so a step costs T + R loads for R·T FMAs
// (R·T accumulators + T activations + 1 weight vector: at most 14 of the 16 registers).
template <DType D, int R, int T>
DSCHAT_AVX2 inline void tile(const WeightMatrix& w, int64_t r, const float* x, float* y, int64_t ldy) {
  const int64_t cols = w.cols;
  const std::byte* rows[R];
  for (int k = 0; k < R; ++k) rows[k] = w.row(r + k);
  __m256 acc[R][T];
  for (int k = 0; k < R; ++k)
    for (int t = 0; t < T; ++t) acc[k][t] = _mm256_setzero_ps();
  int64_t i = 0;
  for (; i + 8 <= cols; i += 8) {
    __m256 xv[T];
    for (int t = 0; t < T; ++t) xv[t] = _mm256_loadu_ps(x + t * cols + i);
    for (int k = 0; k < R; ++k) {
      const __m256 wv = widen8<D>(rows[k], i);
      for (int t = 0; t < T; ++t) acc[k][t] = _mm256_fmadd_ps(wv, xv[t], acc[k][t]);
    }
  }
  for (int k = 0; k < R; ++k) {
    for (int t = 0; t < T; ++t) {
      float s = horizontal_sum(acc[k][t]);
      for (int64_t j = i; j < cols; ++j) s = std::fma(widen1<D>(rows[k], j), x[t * cols + j], s);
      y[t * ldy + r + k] = s;
    }
  }
}

template <DType D, int T>
DSCHAT_AVX2 void rows_for_tokens(const WeightMatrix& w, const float* x, float* y, int64_t ldy, int64_t r0,
                                 int64_t r1) {
  constexpr int R = T <= 2 ? 4 : T == 3 ? 3 : 2;
  int64_t r = r0;
  for (; r + R <= r1; r += R) tile<D, R, T>(w, r, x, y, ldy);
  for (; r < r1; ++r) tile<D, 1, T>(w, r, x, y, ldy);
}

template <DType D>
DSCHAT_AVX2 void gemv(const WeightMatrix& w, const PreparedActivations& x, float* y, int64_t ldy, int64_t r0,
                      int64_t r1) {
  for (int64_t t = 0; t < x.n;) {
    const float* xt = x.x + t * w.cols;
    float* yt = y + t * ldy;
    switch (std::min<int64_t>(4, x.n - t)) {
      case 1: rows_for_tokens<D, 1>(w, xt, yt, ldy, r0, r1); t += 1; break;
      case 2: rows_for_tokens<D, 2>(w, xt, yt, ldy, r0, r1); t += 2; break;
      case 3: rows_for_tokens<D, 3>(w, xt, yt, ldy, r0, r1); t += 3; break;
      default: rows_for_tokens<D, 4>(w, xt, yt, ldy, r0, r1); t += 4; break;
    }
  }
}

}  // namespace

DSCHAT_AVX2 void float_gemv_avx2(const WeightMatrix& w, const PreparedActivations& x, float* y, int64_t ldy,
                                 int64_t r0, int64_t r1, KernelScratch&) {
  switch (w.dtype) {
    case DType::F32: gemv<DType::F32>(w, x, y, ldy, r0, r1); break;
    case DType::F16: gemv<DType::F16>(w, x, y, ldy, r0, r1); break;
    default: gemv<DType::BF16>(w, x, y, ldy, r0, r1); break;
  }
}

}  // namespace dschat
#endif
