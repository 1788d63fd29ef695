// Activations quantized to Q8_0 at the AVX-512 level (the `prepare` of its Q8_0, Q4_0 and Q4_0_X8
// tables), byte for byte quantize_row_q8_0's result: per block of 32, d = max|x|/127 and
// q = round-to-nearest-even(x · (1/d)), the same IEEE divisions and products, vcvtps2dq in the
// default rounding mode (ties to even, as nearest_int), and d stored by vcvtps2ph with ties to
// even (as f32_to_f16). A prefill quantizes every token of every matmul's input before the rows
// are split across threads, so the scalar loop was serial work on the critical path.
#include "engine/ops/q8_0_kernels.h"
#include "engine/ops/simd_target.h"

#if defined(__x86_64__)
#include <immintrin.h>

#include "engine/quant/quantize.h"

DSCHAT_AVX512_INTRINSICS_ARE_INITIALISED  // a GCC 12 false positive (simd_target.h)

namespace dschat {

namespace {

// max of the 16 lanes of |a| and |b|.
DSCHAT_AVX512 inline float max_abs(__m512 a, __m512 b) {
  const __m512 m16 = _mm512_max_ps(_mm512_abs_ps(a), _mm512_abs_ps(b));
  const __m256 m8 =
      _mm256_max_ps(_mm512_castps512_ps256(m16), _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(m16), 1)));
  __m128 m = _mm_max_ps(_mm256_castps256_ps128(m8), _mm256_extractf128_ps(m8, 1));
  m = _mm_max_ps(m, _mm_movehl_ps(m, m));
  m = _mm_max_ss(m, _mm_movehdup_ps(m));
  return _mm_cvtss_f32(m);
}

}  // namespace

DSCHAT_AVX512 void quantize_activations_q8_0_avx512(const float* x, int64_t cols, int64_t n, std::byte* out) {
  auto* block = reinterpret_cast<BlockQ8_0*>(out);
  for (int64_t t = 0; t < n; ++t) {
    for (int64_t c = 0; c < cols; c += kQuantBlock, ++block) {
      const float* v = x + t * cols + c;
      const __m512 v0 = _mm512_loadu_ps(v), v1 = _mm512_loadu_ps(v + 16);
      const float d = max_abs(v0, v1) / 127.0f;
      const float inv = d != 0 ? 1.0f / d : 0.0f;
      block->d = static_cast<uint16_t>(_cvtss_sh(d, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
      const __m512 scale = _mm512_set1_ps(inv);
      _mm_storeu_si128(reinterpret_cast<__m128i*>(block->qs),
                       _mm512_cvtepi32_epi8(_mm512_cvtps_epi32(_mm512_mul_ps(v0, scale))));
      _mm_storeu_si128(reinterpret_cast<__m128i*>(block->qs + 16),
                       _mm512_cvtepi32_epi8(_mm512_cvtps_epi32(_mm512_mul_ps(v1, scale))));
    }
  }
}

}  // namespace dschat
#endif
