// The AVX-512 level (AVX-512 F, BW, VL, VNNI): the weight types' kernels and the vector kernels.
//
// Decode (up to WeightKernels::gemv_max_tokens tokens) is a bandwidth-bound GEMV:
//   F32   zmm FMAs straight from the weight rows.
//   BF16  the bf16 weights widened to fp32 in registers (unpack with zero) and zmm FMAs: exact
//         fp32 products at two FMAs per 32 weights. (vdpbf16ps against the activations split in
//         three bf16 parts, for F32 accuracy, was slower side by side with llama.cpp: 180 against
//         188 tok/s median decode on the seed shape, and needs AVX512_BF16.)
//         One row at a time: reading four rows interleaved was 2x slower on this EPYC (Zen 4).
//   Q4_0 (repacked to Q4_0_X8 at load) and Q8_0: VNNI GEMVs of their own, for decode and
//         prefill (every token count): vpdpbusd on ymm, u8 weights (Q4_0's nibble w + 8, Q8_0's
//         w + 128 by a sign flip) × s8 activations quantized once per call
//         (q4_0_x8_avx512.cpp, q8_0_avx512.cpp, q8_0_activations_avx512.cpp).
//   Q4_K, Q5_K, Q6_K and Q5_0: this level's four-row GEMV (ggml_gemv_avx512.cpp: vpdpwssd /
//         vpdpbusd), with the AVX2 level's preparation and choice of integer prefill.
//   The other block types (Q2_K, Q3_K, IQ4_*, ...) and FP8: the AVX2 level's GEMV, preparation
//         and choice of integer prefill (weight_kernels.h).
//   (An earlier VNNI GEMV here, row-major Q4_0 / Q8_0 on two blocks per zmm, ran at 5.3 GB per
//   CPU-second on a 1408x2048 Q4_0 expert against the AVX2 level's 17: its per-block scales
//   went through a stack array and a vpermps per row, the Q4_0 nibbles through three shuffles;
//   docs/benchmarks.md "The AVX-512 level on real widths".)
// Prefill (more tokens) is a GEMM: 16 weight rows at a time are widened to float once (F32 rows
// are used in place), then a 4-row × 4-token register tile of zmm FMAs runs along k; the tile's 16
// sums are reduced together at the end.
#include "engine/ops/q4_0_x8_kernels.h"
#include "engine/ops/q8_0_kernels.h"
#include "engine/ops/vector_kernels.h"
#include "engine/ops/weight_kernels.h"

#if defined(__x86_64__)
#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include "engine/ops/ggml_gemv.h"
#include "engine/ops/row_products_body.h"
#include "engine/ops/row_widening.h"
#include "engine/ops/simd_target.h"
#include "engine/quant/quantize.h"

DSCHAT_AVX512_INTRINSICS_ARE_INITIALISED  // a GCC 12 false positive (simd_target.h)

namespace dschat {
namespace {

// Masks of the first `count` lanes; none when count <= 0 (a padded tail past the end).
inline __mmask16 first_lanes16(int64_t count) {
  return static_cast<__mmask16>(count <= 0 ? 0 : count >= 16 ? 0xffff : (1u << count) - 1);
}
inline __mmask32 first_lanes32(int64_t count) {
  return count <= 0 ? 0 : count >= 32 ? 0xffffffffu : (1u << count) - 1;
}

DSCHAT_AVX512 inline __m256 upper_256(__m512 v) { return _mm512_castps512_ps256(_mm512_shuffle_f32x4(v, v, 0xee)); }

DSCHAT_AVX512 inline __m256 fold_to_256(__m512 v) { return _mm256_add_ps(_mm512_castps512_ps256(v), upper_256(v)); }

DSCHAT_AVX512 inline float reduce_add(__m512 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(fold_to_256(v)), _mm256_extractf128_ps(fold_to_256(v), 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

DSCHAT_AVX512 inline float reduce_max(__m512 v) {
  const __m256 m8 = _mm256_max_ps(_mm512_castps512_ps256(v), upper_256(v));
  __m128 m = _mm_max_ps(_mm256_castps256_ps128(m8), _mm256_extractf128_ps(m8, 1));
  m = _mm_max_ps(m, _mm_movehl_ps(m, m));
  m = _mm_max_ss(m, _mm_movehdup_ps(m));
  return _mm_cvtss_f32(m);
}

// [Σa, Σb, Σc, Σd]
DSCHAT_AVX512 inline __m128 sum4(__m512 a, __m512 b, __m512 c, __m512 d) {
  const __m256 ab = _mm256_hadd_ps(fold_to_256(a), fold_to_256(b));  // a01 a23 b01 b23 | a45 a67 b45 b67
  const __m256 cd = _mm256_hadd_ps(fold_to_256(c), fold_to_256(d));
  const __m256 abcd = _mm256_hadd_ps(ab, cd);
  return _mm_add_ps(_mm256_castps256_ps128(abcd), _mm256_extractf128_ps(abcd, 1));
}

// Writes the first `count` (1..4) of v to y.
DSCHAT_AVX512 inline void store_rows(float* y, __m128 v, int count) {
  if (count == 4) {
    _mm_storeu_ps(y, v);
  } else {
    _mm_mask_storeu_ps(y, static_cast<__mmask8>((1u << count) - 1), v);
  }
}

// ---------------------------------------------------------------------------------------------
// Float tile: rows w[0..3] (K floats each) times T tokens (x + t·ldx), out y[t·ldy + 0..rows).

template <int T>
DSCHAT_AVX512 inline void tile_f32(const float* const* w, const float* x, int64_t ldx, int64_t K, float* y,
                                   int64_t ldy, int rows) {
  __m512 acc[4][T];
#pragma GCC unroll 4
  for (int r = 0; r < 4; ++r) {
#pragma GCC unroll 4
    for (int t = 0; t < T; ++t) acc[r][t] = _mm512_setzero_ps();
  }
  int64_t k = 0;
  for (; k + 16 <= K; k += 16) {
    __m512 wv[4];
#pragma GCC unroll 4
    for (int r = 0; r < 4; ++r) wv[r] = _mm512_loadu_ps(w[r] + k);
#pragma GCC unroll 4
    for (int t = 0; t < T; ++t) {
      const __m512 xv = _mm512_loadu_ps(x + t * ldx + k);
#pragma GCC unroll 4
      for (int r = 0; r < 4; ++r) acc[r][t] = _mm512_fmadd_ps(wv[r], xv, acc[r][t]);
    }
  }
  if (k < K) {
    const __mmask16 m = first_lanes16(K - k);
    __m512 wv[4];
#pragma GCC unroll 4
    for (int r = 0; r < 4; ++r) wv[r] = _mm512_maskz_loadu_ps(m, w[r] + k);
#pragma GCC unroll 4
    for (int t = 0; t < T; ++t) {
      const __m512 xv = _mm512_maskz_loadu_ps(m, x + t * ldx + k);
#pragma GCC unroll 4
      for (int r = 0; r < 4; ++r) acc[r][t] = _mm512_fmadd_ps(wv[r], xv, acc[r][t]);
    }
  }
#pragma GCC unroll 4
  for (int t = 0; t < T; ++t) store_rows(y + t * ldy, sum4(acc[0][t], acc[1][t], acc[2][t], acc[3][t]), rows);
}

DSCHAT_AVX512 inline void tile_f32_any(int T, const float* const* w, const float* x, int64_t ldx, int64_t K, float* y,
                                       int64_t ldy, int rows) {
  switch (T) {
    case 1: tile_f32<1>(w, x, ldx, K, y, ldy, rows); break;
    case 2: tile_f32<2>(w, x, ldx, K, y, ldy, rows); break;
    case 3: tile_f32<3>(w, x, ldx, K, y, ldy, rows); break;
    default: tile_f32<4>(w, x, ldx, K, y, ldy, rows); break;
  }
}

// ---------------------------------------------------------------------------------------------
// Widening one weight row to float.

DSCHAT_AVX512 void widen_row(const WeightMatrix& w, int64_t r, float* out) {
  const int64_t K = w.cols;
  const std::byte* p = w.row(r);
  switch (w.dtype) {
    case DType::F32:
      std::memcpy(out, p, static_cast<size_t>(K) * sizeof(float));
      return;
    case DType::BF16:
    case DType::F16: {
      const auto* h = reinterpret_cast<const uint16_t*>(p);
      for (int64_t k = 0; k < K; k += 16) {
        const __mmask16 m = first_lanes16(K - k);
        const __m256i v = _mm256_maskz_loadu_epi16(m, h + k);
        const __m512 f = w.dtype == DType::BF16 ? _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(v), 16))
                                                : _mm512_cvtph_ps(v);
        _mm512_mask_storeu_ps(out + k, m, f);
      }
      return;
    }
    case DType::Q8_0: {
      const auto* b = reinterpret_cast<const BlockQ8_0*>(p);
      for (int64_t i = 0; i < K / kQuantBlock; ++i) {
        const __m512 d = _mm512_set1_ps(_cvtsh_ss(b[i].d));
        const __m128i q0 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(b[i].qs));
        const __m128i q1 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(b[i].qs + 16));
        _mm512_storeu_ps(out + i * 32, _mm512_mul_ps(d, _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(q0))));
        _mm512_storeu_ps(out + i * 32 + 16, _mm512_mul_ps(d, _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(q1))));
      }
      return;
    }
    case DType::Q4_0: {
      const auto* b = reinterpret_cast<const BlockQ4_0*>(p);
      const __m512i low4 = _mm512_set1_epi32(0x0f), eight = _mm512_set1_epi32(8);
      for (int64_t i = 0; i < K / kQuantBlock; ++i) {
        const __m512 d = _mm512_set1_ps(_cvtsh_ss(b[i].d));
        const __m512i v = _mm512_cvtepu8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(b[i].qs)));
        const __m512i lo = _mm512_sub_epi32(_mm512_and_si512(v, low4), eight);
        const __m512i hi = _mm512_sub_epi32(_mm512_srli_epi32(v, 4), eight);
        _mm512_storeu_ps(out + i * 32, _mm512_mul_ps(d, _mm512_cvtepi32_ps(lo)));
        _mm512_storeu_ps(out + i * 32 + 16, _mm512_mul_ps(d, _mm512_cvtepi32_ps(hi)));
      }
      return;
    }
    default:
      weight_row_to_f32(w, r, out);  // the other types' widening, block scales (FP8) applied
  }
}

// ---------------------------------------------------------------------------------------------
// GEMM: any dtype, any number of tokens.

constexpr int64_t kPanelRows = 16;
constexpr int64_t kTileTokens = 4;

DSCHAT_AVX512 void gemm_rows(const WeightMatrix& w, const float* x, int64_t n, float* y, int64_t ldy, int64_t r0,
                             int64_t r1, KernelScratch& scratch) {
  if (r0 >= r1 || n <= 0) return;
  const int64_t K = w.cols;
  float* panel = w.dtype == DType::F32 ? nullptr : scratch.widened_floats(static_cast<size_t>(kPanelRows * K));
  for (int64_t p0 = r0; p0 < r1; p0 += kPanelRows) {
    const int64_t rows = std::min(kPanelRows, r1 - p0);
    const float* row[kPanelRows];
    for (int64_t i = 0; i < rows; ++i) {
      if (w.dtype == DType::F32) {
        row[i] = reinterpret_cast<const float*>(w.row(p0 + i));
      } else {
        widen_row(w, p0 + i, panel + i * K);
        row[i] = panel + i * K;
      }
    }
    for (int64_t t0 = 0; t0 < n; t0 += kTileTokens) {
      const int T = static_cast<int>(std::min(kTileTokens, n - t0));
      for (int64_t q = 0; q < rows; q += 4) {
        const int count = static_cast<int>(std::min<int64_t>(4, rows - q));
        const float* quad[4];
        for (int i = 0; i < 4; ++i) quad[i] = row[q + std::min(i, count - 1)];  // short quad: repeat the last row
        tile_f32_any(T, quad, x + t0 * K, K, K, y + t0 * ldy + p0 + q, ldy, count);
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// GEMV, F32 weights: one row at a time (see BF16 below).

DSCHAT_AVX512 float dot_f32_avx512(const float* a, const float* b, int64_t n) {
  __m512 acc0 = _mm512_setzero_ps(), acc1 = _mm512_setzero_ps();
  int64_t i = 0;
  for (; i + 32 <= n; i += 32) {
    acc0 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i), acc0);
    acc1 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i + 16), _mm512_loadu_ps(b + i + 16), acc1);
  }
  for (; i < n; i += 16) {
    const __mmask16 m = first_lanes16(n - i);
    acc0 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, a + i), _mm512_maskz_loadu_ps(m, b + i), acc0);
  }
  return reduce_add(_mm512_add_ps(acc0, acc1));
}

DSCHAT_AVX512 void gemv_f32(const WeightMatrix& w, const PreparedActivations& x, float* y, int64_t ldy, int64_t r0,
                            int64_t r1, KernelScratch&) {
  for (int64_t r = r0; r < r1; ++r) {
    const float* wr = reinterpret_cast<const float*>(w.row(r));
    for (int64_t t = 0; t < x.n; ++t) y[t * ldy + r] = dot_f32_avx512(wr, x.x + t * w.cols, w.cols);
  }
}

// The float types' GEMV where no faster one exists (F16): the GEMM.
DSCHAT_AVX512 void gemv_by_gemm(const WeightMatrix& w, const PreparedActivations& x, float* y, int64_t ldy,
                                int64_t r0, int64_t r1, KernelScratch& scratch) {
  gemm_rows(w, x.x, x.n, y, ldy, r0, r1, scratch);
}

// ---------------------------------------------------------------------------------------------
// GEMV, BF16 weights widened in registers.
//
// A bf16 value is the top half of an fp32, so interleaving zero words below the weights
// (vpunpcklwd / vpunpckhwd with zero) widens them exactly. The interleave works within 128-bit
// lanes: of 32 weights the low unpack holds 0-3, 8-11, 16-19, 24-27 and the high one the others,
// so the activations are permuted the same way once per call. Two FMAs per 32 weights with fp32
// products, as the F32 kernel.

// Where element j of a 32-element step of the activations goes in the permuted copy.
constexpr int64_t bf16_unpacked_position(int64_t j) { return (j % 8 < 4 ? 0 : 16) + (j / 8) * 4 + j % 4; }

// The activations permuted per token, Kp = K rounded up to 64 floats (zero past K).
inline int64_t bf16_padded_cols(int64_t K) { return (K + 63) / 64 * 64; }

size_t bf16_prepared_bytes(int64_t K, int64_t n) {
  return static_cast<size_t>(n * bf16_padded_cols(K)) * sizeof(float);
}

void bf16_prepare(const float* x, int64_t K, int64_t n, std::byte* out) {
  const int64_t Kp = bf16_padded_cols(K);
  for (int64_t t = 0; t < n; ++t) {
    float* p = reinterpret_cast<float*>(out) + t * Kp;
    for (int64_t k = 0; k < Kp; ++k) p[k - k % 32 + bf16_unpacked_position(k % 32)] = k < K ? x[t * K + k] : 0.0f;
  }
}

// T tokens against one row at a time: each 32-weight step is loaded and widened once and used by
// all T tokens (the widening shuffles share port 5 with the FMAs, so repeating them per token made
// a verify pass of 2-4 tokens cost almost as much per token as a decode step). Every token keeps
// its own four accumulators fed in the same order as with T = 1, so each output is bit-identical
// to the one-token GEMV (MTP verify relies on it).
template <int T>
DSCHAT_AVX512 void gemv_bf16_tokens(const uint16_t* wr, const float* permuted, int64_t K, int64_t Kp, float* y,
                                    int64_t ldy, int64_t r) {
  const __m512i zero = _mm512_setzero_si512();
  __m512 a[T][4];
  for (int t = 0; t < T; ++t) a[t][0] = a[t][1] = a[t][2] = a[t][3] = _mm512_setzero_ps();
  int64_t k = 0;
  for (; k + 64 <= K; k += 64) {
    const __m512i v0 = _mm512_loadu_si512(wr + k), v1 = _mm512_loadu_si512(wr + k + 32);
    const __m512 w0 = _mm512_castsi512_ps(_mm512_unpacklo_epi16(zero, v0));
    const __m512 w1 = _mm512_castsi512_ps(_mm512_unpackhi_epi16(zero, v0));
    const __m512 w2 = _mm512_castsi512_ps(_mm512_unpacklo_epi16(zero, v1));
    const __m512 w3 = _mm512_castsi512_ps(_mm512_unpackhi_epi16(zero, v1));
    for (int t = 0; t < T; ++t) {
      const float* p = permuted + t * Kp + k;
      a[t][0] = _mm512_fmadd_ps(w0, _mm512_loadu_ps(p), a[t][0]);
      a[t][1] = _mm512_fmadd_ps(w1, _mm512_loadu_ps(p + 16), a[t][1]);
      a[t][2] = _mm512_fmadd_ps(w2, _mm512_loadu_ps(p + 32), a[t][2]);
      a[t][3] = _mm512_fmadd_ps(w3, _mm512_loadu_ps(p + 48), a[t][3]);
    }
  }
  for (; k < K; k += 32) {
    const __m512i v = _mm512_maskz_loadu_epi16(first_lanes32(K - k), wr + k);
    const __m512 w0 = _mm512_castsi512_ps(_mm512_unpacklo_epi16(zero, v));
    const __m512 w1 = _mm512_castsi512_ps(_mm512_unpackhi_epi16(zero, v));
    for (int t = 0; t < T; ++t) {
      const float* p = permuted + t * Kp + k;
      a[t][0] = _mm512_fmadd_ps(w0, _mm512_loadu_ps(p), a[t][0]);
      a[t][1] = _mm512_fmadd_ps(w1, _mm512_loadu_ps(p + 16), a[t][1]);
    }
  }
  for (int t = 0; t < T; ++t)
    y[t * ldy + r] = reduce_add(_mm512_add_ps(_mm512_add_ps(a[t][0], a[t][1]), _mm512_add_ps(a[t][2], a[t][3])));
}

DSCHAT_AVX512 void gemv_bf16_widened(const WeightMatrix& w, const PreparedActivations& x, float* y, int64_t ldy,
                                     int64_t r0, int64_t r1, KernelScratch&) {
  const int64_t K = w.cols, Kp = bf16_padded_cols(K);
  const float* permuted = reinterpret_cast<const float*>(x.data);
  for (int64_t r = r0; r < r1; ++r) {
    const uint16_t* wr = reinterpret_cast<const uint16_t*>(w.row(r));
    for (int64_t t = 0; t < x.n;) {  // tokens in groups of up to four
      const float* p = permuted + t * Kp;
      float* yt = y + t * ldy;
      switch (std::min<int64_t>(x.n - t, 4)) {
        case 1: gemv_bf16_tokens<1>(wr, p, K, Kp, yt, ldy, r); t += 1; break;
        case 2: gemv_bf16_tokens<2>(wr, p, K, Kp, yt, ldy, r); t += 2; break;
        case 3: gemv_bf16_tokens<3>(wr, p, K, Kp, yt, ldy, r); t += 3; break;
        default: gemv_bf16_tokens<4>(wr, p, K, Kp, yt, ldy, r); t += 4; break;
      }
    }
  }
}

// e^x for x <= 0 (max-subtracted scores): e^x = 2^m · e^r with m = round(x·log2 e), r = x - m·ln 2
// (ln 2 split in two for exactness), e^r by its degree-6 Taylor polynomial on |r| <= ln2/2
// (relative error below 2e-7); 2^m applied with vscalefps. x below -87 gives 0 as it should.
DSCHAT_AVX512 inline __m512 exp_nonpositive(__m512 x) {
  x = _mm512_max_ps(x, _mm512_set1_ps(-104.0f));
  const __m512 m = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504088896341f)),
                                        _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m512 r = _mm512_fnmadd_ps(m, _mm512_set1_ps(0.693145751953125f), x);
  r = _mm512_fnmadd_ps(m, _mm512_set1_ps(1.428606765330187045e-06f), r);
  __m512 p = _mm512_set1_ps(1.0f / 720);
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 120));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 24));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 6));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(0.5f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
  return _mm512_scalef_ps(p, m);
}

DSCHAT_AVX512 void softmax_avx512(float* v, int64_t n) {
  if (n <= 0) return;
  __m512 mx = _mm512_set1_ps(-INFINITY);
  for (int64_t i = 0; i < n; i += 16) mx = _mm512_max_ps(mx, _mm512_mask_loadu_ps(mx, first_lanes16(n - i), v + i));
  const __m512 max_v = _mm512_set1_ps(reduce_max(mx));
  __m512 sum = _mm512_setzero_ps();
  for (int64_t i = 0; i < n; i += 16) {
    const __mmask16 m = first_lanes16(n - i);
    const __m512 e = exp_nonpositive(_mm512_sub_ps(_mm512_maskz_loadu_ps(m, v + i), max_v));
    _mm512_mask_storeu_ps(v + i, m, e);
    sum = _mm512_add_ps(sum, _mm512_maskz_mov_ps(m, e));
  }
  const __m512 inv = _mm512_set1_ps(1.0f / reduce_add(sum));
  for (int64_t i = 0; i < n; i += 16) {
    const __mmask16 m = first_lanes16(n - i);
    _mm512_mask_storeu_ps(v + i, m, _mm512_mul_ps(inv, _mm512_maskz_loadu_ps(m, v + i)));
  }
}

// SiLU(z) = z·σ(z) with σ from one e^(-|z|) (never overflows): σ(z) = 1/(1+e) for z >= 0 and
// e/(1+e) for z < 0.
DSCHAT_AVX512 void silu_mul_avx512(float* g, const float* u, int64_t n) {
  const __m512 one = _mm512_set1_ps(1.0f);
  for (int64_t i = 0; i < n; i += 16) {
    const __mmask16 m = first_lanes16(n - i);
    const __m512 z = _mm512_maskz_loadu_ps(m, g + i);
    const __m512 e = exp_nonpositive(_mm512_sub_ps(_mm512_setzero_ps(), _mm512_abs_ps(z)));
    const __mmask16 negative = _mm512_cmp_ps_mask(z, _mm512_setzero_ps(), _CMP_LT_OQ);
    const __m512 sigma = _mm512_div_ps(_mm512_mask_blend_ps(negative, one, e), _mm512_add_ps(one, e));
    __m512 s = _mm512_mul_ps(z, sigma);
    if (u != nullptr) s = _mm512_mul_ps(s, _mm512_maskz_loadu_ps(m, u + i));
    _mm512_mask_storeu_ps(g + i, m, s);
  }
}

DSCHAT_AVX512 void axpy_avx512(float a, const float* x, float* y, int64_t n) {
  const __m512 av = _mm512_set1_ps(a);
  for (int64_t k = 0; k < n; k += 16) {
    const __mmask16 m = first_lanes16(n - k);
    const __m512 o = _mm512_maskz_loadu_ps(m, y + k);
    _mm512_mask_storeu_ps(y + k, m, _mm512_fmadd_ps(av, _mm512_maskz_loadu_ps(m, x + k), o));
  }
}

// Four rows of A against four of B, four rows of P by four vectors of B: 16 zmm accumulators.
DSCHAT_AVX512 void row_dots_avx512(const float* a, int64_t lda, int64_t m, const float* b, int64_t ldb, int64_t n,
                                   int64_t k, float* c, int64_t ldc) {
  row_products::row_dots<16, 4, 4>(a, lda, m, b, ldb, n, k, c, ldc);
}
DSCHAT_AVX512 void weighted_row_sums_avx512(const float* p, int64_t ldp, int64_t m, const float* b, int64_t ldb,
                                            int64_t n, int64_t k, float* c, int64_t ldc) {
  row_products::weighted_row_sums<16, 4, 4>(p, ldp, m, b, ldb, n, k, c, ldc);
}

}  // namespace

WeightKernels avx512_weight_kernels(DType type) {
  WeightKernels k;
  k.type = type;
  k.level = "avx512";
  k.block = dtype_block_geometry(type);
  k.row_to_f32 = row_widening::function_for(type);
  k.gemm = gemm_rows;
  switch (type) {
    case DType::F32: k.gemv = gemv_f32; break;
    case DType::F16: k.gemv = gemv_by_gemm; break;
    case DType::BF16:
      k.prepared_bytes = bf16_prepared_bytes;
      k.prepare = bf16_prepare;
      k.gemv = gemv_bf16_widened;
      break;
    default: {
      // The block types and FP8 start from the AVX2 level's table (GEMV, activation preparation,
      // repacking of Q4_0 to Q4_0_X8, choice of integer prefill) with this level's float GEMM.
      WeightKernels avx2 = avx2_weight_kernels(type);
      if (!avx2.available()) return {};
      avx2.level = k.level;
      avx2.gemm = k.gemm;
      // The K-quants and Q5_0: this level's GEMV (vpdpwssd for the scale multiply-accumulate).
      if (GemvKernel own = ggml_gemv_avx512(type)) avx2.gemv = own;
      // Q4_0_X8 and Q8_0: this level's VNNI GEMV (q4_0_x8_avx512.cpp, q8_0_avx512.cpp) for every
      // token count (integer prefill), over Q8_0 activations quantized with AVX-512: 1.6x
      // (Q4_0_X8) and ~2.5x (Q8_0, against the float GEMM) the AVX2 prefill kernel-only,
      // docs/benchmarks.md "The AVX-512 level on real widths".
      if (type == DType::Q4_0_X8) avx2.gemv = q4_0_x8_gemv_avx512;
      if (type == DType::Q8_0 || type == DType::Q4_0 || type == DType::Q4_0_X8) {
        avx2.prepare = quantize_activations_q8_0_avx512;  // the same bytes, vectorised
      }
      if (type == DType::Q8_0) {
        avx2.gemv = q8_0_gemv_avx512;
        avx2.gemv_max_tokens = std::numeric_limits<int64_t>::max();
      }
      return avx2;
    }
  }
  return k;
}

VectorKernels avx512_vector_kernels() {
  VectorKernels k;
  k.name = "avx512";
  k.dot_f32 = dot_f32_avx512;
  k.softmax = softmax_avx512;
  k.silu_mul = silu_mul_avx512;
  k.axpy = axpy_avx512;
  k.row_dots = row_dots_avx512;
  k.weighted_row_sums = weighted_row_sums_avx512;
  return k;
}

}  // namespace dschat
#endif
