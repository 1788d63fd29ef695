// FP8 E4M3 block-scaled weights, the AVX2 level (fp8_kernels.h). E4M3 s.eeee.mmm shifted into an
// F16 s.0eeee.mmm0000000 is the same value times 2^-8 (exponent bias 15 against 7; an E4M3
// subnormal becomes an F16 subnormal), so vcvtph2ps widens it exactly and 2^8 joins the block
// scale. S.1111.111, E4M3's NaN, would be 480·2^-8: it is made an F16 NaN.
#include "engine/ops/fp8_kernels.h"
#include "engine/ops/simd_target.h"

#if defined(__x86_64__)
#include <immintrin.h>

#include <algorithm>
#include <limits>

#include "engine/quant/float8.h"

namespace dschat {
namespace {

// 16 E4M3 bytes -> 16 floats, each the stored value times 2^-8, exactly.
DSCHAT_AVX2 inline void widen16(const uint8_t* q, __m256& lo, __m256& hi) {
  const __m256i v = _mm256_slli_epi16(_mm256_cvtepu8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(q))), 8);
  const __m256i sign = _mm256_and_si256(v, _mm256_set1_epi16(static_cast<int16_t>(0x8000)));
  const __m256i magnitude = _mm256_srli_epi16(_mm256_and_si256(v, _mm256_set1_epi16(0x7f00)), 1);
  const __m256i nan = _mm256_cmpeq_epi16(magnitude, _mm256_set1_epi16(0x7f << 7));
  const __m256i h =
      _mm256_or_si256(_mm256_or_si256(sign, magnitude), _mm256_and_si256(nan, _mm256_set1_epi16(0x7e00)));
  lo = _mm256_cvtph_ps(_mm256_castsi256_si128(h));
  hi = _mm256_cvtph_ps(_mm256_extracti128_si256(h, 1));
}

DSCHAT_AVX2 inline float horizontal_sum(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

// 32 E4M3 bytes -> 32 floats (columns 0-7, 8-15, 16-23, 24-31), each the stored value times 2^-8,
// except that S.1111.111 gives ±1.875 (the caller checks for NaN bytes, see no_nan_bytes). The
// bytes go to the high halves of 16-bit lanes by unpacking with zero (b·2^8), an arithmetic shift
// by one puts S.EEEE.MMM at F16's sign, exponent and mantissa with the sign copied into bit 14,
// which the mask clears: 7 instructions per 32 bytes before the 4 vcvtph2ps (the 16-byte widen16
// takes 10 per 16 bytes).
DSCHAT_AVX2 inline void widen32_finite(__m256i v, __m256& f0, __m256& f1, __m256& f2, __m256& f3) {
  const __m256i zero = _mm256_setzero_si256(), keep = _mm256_set1_epi16(static_cast<int16_t>(0xbfff));
  const __m256i lo = _mm256_and_si256(_mm256_srai_epi16(_mm256_unpacklo_epi8(zero, v), 1), keep);  // bytes 0-7 | 16-23
  const __m256i hi = _mm256_and_si256(_mm256_srai_epi16(_mm256_unpackhi_epi8(zero, v), 1), keep);  // bytes 8-15 | 24-31
  f0 = _mm256_cvtph_ps(_mm256_castsi256_si128(lo));
  f1 = _mm256_cvtph_ps(_mm256_castsi256_si128(hi));
  f2 = _mm256_cvtph_ps(_mm256_extracti128_si256(lo, 1));
  f3 = _mm256_cvtph_ps(_mm256_extracti128_si256(hi, 1));
}

// N tokens (1..4) over rows [r0, r1): each row's bytes are widened once for all N tokens, 32 at a
// time (then 16, then one by one at a partial block's end). The largest (b & 0x7f) of the row is
// kept: 0x7f means a NaN byte, and the row's products are NaN for every token (NaN · x is NaN
// whatever x, as in the reference).
template <int N>
DSCHAT_AVX2 void gemv_tokens(const WeightMatrix& w, const float* x, float* y, int64_t ldy, int64_t r0, int64_t r1) {
  const float* table = e4m3_table();
  const int64_t cols = w.cols, bc = w.scales.block_cols;
  const __m256i magnitude_bits = _mm256_set1_epi8(0x7f);
  for (int64_t r = r0; r < r1; ++r) {
    const auto* q = reinterpret_cast<const uint8_t*>(w.row(r));
    const float* scale = w.scales.row(r, cols);
    __m256 total[N];
    float tail_total[N];
    for (int t = 0; t < N; ++t) {
      total[t] = _mm256_setzero_ps();
      tail_total[t] = 0.0f;
    }
    __m256i largest = _mm256_setzero_si256();
    for (int64_t c0 = 0, b = 0; c0 < cols; c0 += bc, ++b) {
      const int64_t c1 = std::min(cols, c0 + bc);
      __m256 acc0[N], acc1[N];
      for (int t = 0; t < N; ++t) acc0[t] = acc1[t] = _mm256_setzero_ps();
      int64_t c = c0;
      for (; c + 32 <= c1; c += 32) {
        const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(q + c));
        largest = _mm256_max_epu8(largest, _mm256_and_si256(v, magnitude_bits));
        __m256 f0, f1, f2, f3;
        widen32_finite(v, f0, f1, f2, f3);
        for (int t = 0; t < N; ++t) {
          const float* xt = x + t * cols + c;
          acc0[t] = _mm256_fmadd_ps(f0, _mm256_loadu_ps(xt), acc0[t]);
          acc1[t] = _mm256_fmadd_ps(f1, _mm256_loadu_ps(xt + 8), acc1[t]);
          acc0[t] = _mm256_fmadd_ps(f2, _mm256_loadu_ps(xt + 16), acc0[t]);
          acc1[t] = _mm256_fmadd_ps(f3, _mm256_loadu_ps(xt + 24), acc1[t]);
        }
      }
      for (; c + 16 <= c1; c += 16) {
        __m256 lo, hi;
        widen16(q + c, lo, hi);  // exact, NaN included
        for (int t = 0; t < N; ++t) {
          acc0[t] = _mm256_fmadd_ps(lo, _mm256_loadu_ps(x + t * cols + c), acc0[t]);
          acc1[t] = _mm256_fmadd_ps(hi, _mm256_loadu_ps(x + t * cols + c + 8), acc1[t]);
        }
      }
      const __m256 s = _mm256_set1_ps(scale[b] * 256.0f);
      for (int t = 0; t < N; ++t) {
        total[t] = _mm256_fmadd_ps(_mm256_add_ps(acc0[t], acc1[t]), s, total[t]);
        if (c < c1) {  // a partial edge block's last columns (the table: NaN included)
          float part = 0.0f;
          for (int64_t k = c; k < c1; ++k) part += table[q[k]] * x[t * cols + k];
          tail_total[t] += part * scale[b];
        }
      }
    }
    if (_mm256_movemask_epi8(_mm256_cmpeq_epi8(largest, magnitude_bits)) != 0) {
      for (int t = 0; t < N; ++t) y[t * ldy + r] = std::numeric_limits<float>::quiet_NaN();
      continue;
    }
    for (int t = 0; t < N; ++t) y[t * ldy + r] = horizontal_sum(total[t]) + tail_total[t];
  }
}

}  // namespace

DSCHAT_AVX2 void fp8_row_to_f32_avx2(const std::byte* row, int64_t cols, float* out) {
  const auto* q = reinterpret_cast<const uint8_t*>(row);
  const __m256 two8 = _mm256_set1_ps(256.0f);
  int64_t i = 0;
  for (; i + 16 <= cols; i += 16) {
    __m256 lo, hi;
    widen16(q + i, lo, hi);
    _mm256_storeu_ps(out + i, _mm256_mul_ps(lo, two8));
    _mm256_storeu_ps(out + i + 8, _mm256_mul_ps(hi, two8));
  }
  for (; i < cols; ++i) out[i] = e4m3_to_f32(q[i]);
}

void fp8_gemv_avx2(const WeightMatrix& w, const PreparedActivations& x, float* y, int64_t ldy, int64_t r0, int64_t r1,
                   KernelScratch&) {
  for (int64_t t = 0; t < x.n; t += 4) {
    const float* xt = x.x + t * w.cols;
    float* yt = y + t * ldy;
    switch (std::min<int64_t>(4, x.n - t)) {
      case 1: gemv_tokens<1>(w, xt, yt, ldy, r0, r1); break;
      case 2: gemv_tokens<2>(w, xt, yt, ldy, r0, r1); break;
      case 3: gemv_tokens<3>(w, xt, yt, ldy, r0, r1); break;
      default: gemv_tokens<4>(w, xt, yt, ldy, r0, r1); break;
    }
  }
}

}  // namespace dschat
#endif
