#include "engine/ops/ggml_widen.h"
#include "engine/ops/simd_target.h"

#if defined(__x86_64__)
#include <immintrin.h>

#include <cstring>

#include "engine/quant/ggml_blocks.h"
#include "engine/quant/half_float.h"

namespace dschat {
namespace {

DSCHAT_AVX2 inline __m256i load(const void* p) { return _mm256_loadu_si256(static_cast<const __m256i*>(p)); }

// out[0..32) = scale·codes − offset for 32 unsigned byte codes.
DSCHAT_AVX2 inline void store_affine(__m256i codes, __m256 scale, __m256 offset, float* out) {
  const __m128i lo = _mm256_castsi256_si128(codes), hi = _mm256_extracti128_si256(codes, 1);
  const __m128i parts[4] = {lo, _mm_srli_si128(lo, 8), hi, _mm_srli_si128(hi, 8)};
  for (int k = 0; k < 4; ++k) {
    const __m256 q = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(parts[k]));
    _mm256_storeu_ps(out + 8 * k, _mm256_sub_ps(_mm256_mul_ps(scale, q), offset));
  }
}

// out[0..32) = scale_a·codes[0..16) and scale_b·codes[16..32) for 32 signed byte codes.
DSCHAT_AVX2 inline void store_scaled_pair(__m256i codes, __m256 scale_a, __m256 scale_b, float* out) {
  const __m128i lo = _mm256_castsi256_si128(codes), hi = _mm256_extracti128_si256(codes, 1);
  _mm256_storeu_ps(out, _mm256_mul_ps(scale_a, _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(lo))));
  _mm256_storeu_ps(out + 8, _mm256_mul_ps(scale_a, _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_srli_si128(lo, 8)))));
  _mm256_storeu_ps(out + 16, _mm256_mul_ps(scale_b, _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(hi))));
  _mm256_storeu_ps(out + 24, _mm256_mul_ps(scale_b, _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_srli_si128(hi, 8)))));
}

// Sub-block j's d·s_j and d_min·m_j as the scalar widening forms them.
DSCHAT_AVX2 inline void k_affine(uint16_t d, uint16_t dmin, const uint8_t* scales, int j, __m256& scale, __m256& offset) {
  uint8_t s, m;
  k_scale_min(scales, j, s, m);
  scale = _mm256_set1_ps(_cvtsh_ss(d) * static_cast<float>(s));
  offset = _mm256_set1_ps(_cvtsh_ss(dmin) * static_cast<float>(m));
}

}  // namespace

DSCHAT_AVX2 void widen_q4_k_avx2(const std::byte* row, int64_t cols, float* out) {
  const auto* blocks = reinterpret_cast<const BlockQ4_K*>(row);
  const __m256i low4 = _mm256_set1_epi8(0x0f);
  for (int64_t b = 0; b < cols / kSuperBlock; ++b) {
    const BlockQ4_K& k = blocks[b];
    float* o = out + b * kSuperBlock;
    for (int c = 0; c < 4; ++c) {
      const __m256i q = load(k.qs + 32 * c);
      __m256 scale, offset;
      k_affine(k.d, k.dmin, k.scales, 2 * c, scale, offset);
      store_affine(_mm256_and_si256(q, low4), scale, offset, o + 64 * c);
      k_affine(k.d, k.dmin, k.scales, 2 * c + 1, scale, offset);
      store_affine(_mm256_and_si256(_mm256_srli_epi16(q, 4), low4), scale, offset, o + 64 * c + 32);
    }
  }
}

DSCHAT_AVX2 void widen_q5_k_avx2(const std::byte* row, int64_t cols, float* out) {
  const auto* blocks = reinterpret_cast<const BlockQ5_K*>(row);
  const __m256i low4 = _mm256_set1_epi8(0x0f), sixteen = _mm256_set1_epi8(0x10);
  for (int64_t b = 0; b < cols / kSuperBlock; ++b) {
    const BlockQ5_K& k = blocks[b];
    float* o = out + b * kSuperBlock;
    const __m256i qh = load(k.qh);
    for (int c = 0; c < 4; ++c) {
      const __m256i q = load(k.qs + 32 * c);
      const __m256i bit_lo = _mm256_set1_epi8(static_cast<char>(1 << (2 * c)));
      const __m256i bit_hi = _mm256_set1_epi8(static_cast<char>(2 << (2 * c)));
      const __m256i h_lo = _mm256_and_si256(_mm256_cmpeq_epi8(_mm256_and_si256(qh, bit_lo), bit_lo), sixteen);
      const __m256i h_hi = _mm256_and_si256(_mm256_cmpeq_epi8(_mm256_and_si256(qh, bit_hi), bit_hi), sixteen);
      __m256 scale, offset;
      k_affine(k.d, k.dmin, k.scales, 2 * c, scale, offset);
      store_affine(_mm256_or_si256(_mm256_and_si256(q, low4), h_lo), scale, offset, o + 64 * c);
      k_affine(k.d, k.dmin, k.scales, 2 * c + 1, scale, offset);
      store_affine(_mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(q, 4), low4), h_hi), scale, offset, o + 64 * c + 32);
    }
  }
}

DSCHAT_AVX2 void widen_q6_k_avx2(const std::byte* row, int64_t cols, float* out) {
  const auto* blocks = reinterpret_cast<const BlockQ6_K*>(row);
  const __m256i low4 = _mm256_set1_epi8(0x0f), three = _mm256_set1_epi8(3), offset = _mm256_set1_epi8(32);
  for (int64_t b = 0; b < cols / kSuperBlock; ++b) {
    const BlockQ6_K& k = blocks[b];
    float* o = out + b * kSuperBlock;
    const float d = _cvtsh_ss(k.d);
    for (int half = 0; half < 2; ++half) {
      const __m256i ql0 = load(k.ql + 64 * half), ql1 = load(k.ql + 64 * half + 32);
      const __m256i qh = load(k.qh + 32 * half);
      const __m256i lows[4] = {_mm256_and_si256(ql0, low4), _mm256_and_si256(ql1, low4),
                               _mm256_and_si256(_mm256_srli_epi16(ql0, 4), low4),
                               _mm256_and_si256(_mm256_srli_epi16(ql1, 4), low4)};
      for (int i = 0; i < 4; ++i) {
        const __m256i high = _mm256_and_si256(_mm256_srli_epi16(qh, 2 * i), three);
        const __m256i codes = _mm256_sub_epi8(_mm256_or_si256(lows[i], _mm256_slli_epi16(high, 4)), offset);
        const int j = 8 * half + 2 * i;  // sub-blocks of 16: j and j + 1
        store_scaled_pair(codes, _mm256_set1_ps(d * static_cast<float>(k.scales[j])),
                          _mm256_set1_ps(d * static_cast<float>(k.scales[j + 1])), o + 128 * half + 32 * i);
      }
    }
  }
}


// Q5_0: d·(q − 16), q = nibble | fifth bit << 4 (value j: low nibble of qs[j] for j < 16, high
// of qs[j − 16]; bit j of the little-endian qh); the product d·(q − 16) is exact in float.
DSCHAT_AVX2 void widen_q5_0_avx2(const std::byte* row, int64_t cols, float* out) {
  const auto* blocks = reinterpret_cast<const BlockQ5_0*>(row);
  const __m256i low4 = _mm256_set1_epi8(0x0f), sixteen = _mm256_set1_epi8(0x10);
  const __m256i spread_index = _mm256_set_epi64x(0x0303030303030303, 0x0202020202020202, 0x0101010101010101, 0);
  const __m256i bit = _mm256_set1_epi64x(static_cast<int64_t>(0x8040201008040201ull));
  for (int64_t b = 0; b < cols / 32; ++b) {
    const BlockQ5_0& k = blocks[b];
    const __m128i packed = _mm_loadu_si128(reinterpret_cast<const __m128i*>(k.qs));
    const __m256i nibbles = _mm256_and_si256(_mm256_set_m128i(_mm_srli_epi16(packed, 4), packed), low4);
    uint32_t bits;
    std::memcpy(&bits, k.qh, 4);
    const __m256i spread = _mm256_shuffle_epi8(_mm256_set1_epi32(static_cast<int>(bits)), spread_index);
    const __m256i fifth = _mm256_and_si256(_mm256_cmpeq_epi8(_mm256_and_si256(spread, bit), bit), sixteen);
    const __m256i codes = _mm256_sub_epi8(_mm256_or_si256(nibbles, fifth), sixteen);
    const __m256 d = _mm256_set1_ps(_cvtsh_ss(k.d));
    store_scaled_pair(codes, d, d, out + 32 * b);
  }
}

}  // namespace dschat
#endif
