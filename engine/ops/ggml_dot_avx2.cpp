// The AVX2 dot products of ggml_dot.h (AVX2 + FMA + F16C; compiled with target attributes like
// kernels_avx2.cpp). Integer products by maddubs (u8 × s8 -> pairs summed to int16): unsigned
// weight codes (Q4_1, Q5_1, Q2_K, Q4_K, Q5_K, Q6_K with its −32 moved onto the activations' block
// sums) multiply the int8 activations directly; signed ones (Q5_0, Q3_K, IQ4_NL, IQ4_XS) take the
// sign trick of kernels_avx2.cpp (|w| times x with w's sign). No pair sum saturates: the largest,
// 2·63·127 (Q6_K) or 2·127·127 (IQ4), is below 32767. The int16 sums are multiplied by the
// sub-block scales and widened to int32 in one madd, summed per super-block in int32 (bounded
// by 2^28), and scaled in float once per block.
#include "engine/ops/ggml_dot.h"
#include "engine/ops/simd_target.h"

#if defined(__x86_64__)
#include <immintrin.h>

#include <cstring>

namespace dschat {
namespace {

DSCHAT_AVX2 inline float horizontal_sum(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

DSCHAT_AVX2 inline int32_t horizontal_sum_i32(__m256i v) {
  __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4e));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xb1));
  return _mm_cvtsi128_si32(s);
}

DSCHAT_AVX2 inline __m256i load(const void* p) { return _mm256_loadu_si256(static_cast<const __m256i*>(p)); }

// Σ pairs of u·x as 16 int16 (u unsigned, x signed).
DSCHAT_AVX2 inline __m256i pairs_unsigned(__m256i u, __m256i x) { return _mm256_maddubs_epi16(u, x); }
// The same for signed w: |w| · (x with w's sign).
DSCHAT_AVX2 inline __m256i pairs_signed(__m256i w, __m256i x) {
  return _mm256_maddubs_epi16(_mm256_sign_epi8(w, w), _mm256_sign_epi8(x, w));
}
DSCHAT_AVX2 inline __m256i widen_sum(__m256i pairs16) { return _mm256_madd_epi16(pairs16, _mm256_set1_epi16(1)); }

// A 32-value block's 16 bytes as 32 nibbles: bytes 0..15 the low nibbles, 16..31 the high.
DSCHAT_AVX2 inline __m256i nibbles32(const uint8_t* qs) {
  const __m128i packed = _mm_loadu_si128(reinterpret_cast<const __m128i*>(qs));
  return _mm256_and_si256(_mm256_set_m128i(_mm_srli_epi16(packed, 4), packed), _mm256_set1_epi8(0x0f));
}

// Byte j = 0x10 where bit j of the 32-bit little-endian qh is set, else 0.
DSCHAT_AVX2 inline __m256i fifth_bits(const uint8_t* qh) {
  uint32_t bits;
  std::memcpy(&bits, qh, 4);
  const __m256i spread = _mm256_shuffle_epi8(_mm256_set1_epi32(static_cast<int>(bits)),
                                             _mm256_set_epi64x(0x0303030303030303, 0x0202020202020202,
                                                               0x0101010101010101, 0x0000000000000000));
  const __m256i bit = _mm256_set1_epi64x(static_cast<int64_t>(0x8040201008040201ull));
  return _mm256_and_si256(_mm256_cmpeq_epi8(_mm256_and_si256(spread, bit), bit), _mm256_set1_epi8(0x10));
}

// The IQ4 grid in both 128-bit lanes, for shuffle_epi8 lookups.
DSCHAT_AVX2 inline __m256i iq4_grid() {
  const __m128i g = _mm_loadu_si128(reinterpret_cast<const __m128i*>(kIq4Values));
  return _mm256_set_m128i(g, g);
}

// [s_a × 8 | s_b × 8] as 16 int16, from 16 int8 scales: the multiplier of a maddubs result over
// 32 values whose first 16 belong to sub-block a and last 16 to sub-block b = a + 1.
DSCHAT_AVX2 inline __m256i scale_pair16(__m128i scales8, int a) {
  const __m128i index = _mm_set_epi64x(0x0101010101010101ll * (a + 1), 0x0101010101010101ll * a);
  return _mm256_cvtepi8_epi16(_mm_shuffle_epi8(scales8, index));
}

}  // namespace

DSCHAT_AVX2 float dot_q4_1_q8_0_avx2(const BlockQ4_1* w, const BlockQ8_0* x, int64_t blocks) {
  __m256 acc = _mm256_setzero_ps(), acc_min = _mm256_setzero_ps();
  const __m256i ones = _mm256_set1_epi8(1);
  for (int64_t b = 0; b < blocks; ++b) {
    const __m256i xq = load(x[b].qs);
    const float dx = _cvtsh_ss(x[b].d);
    const __m256 prod = _mm256_cvtepi32_ps(widen_sum(pairs_unsigned(nibbles32(w[b].qs), xq)));
    const __m256 xsum = _mm256_cvtepi32_ps(widen_sum(pairs_unsigned(ones, xq)));
    acc = _mm256_fmadd_ps(_mm256_set1_ps(_cvtsh_ss(w[b].d) * dx), prod, acc);
    acc_min = _mm256_fmadd_ps(_mm256_set1_ps(_cvtsh_ss(w[b].m) * dx), xsum, acc_min);
  }
  return horizontal_sum(_mm256_add_ps(acc, acc_min));
}

DSCHAT_AVX2 float dot_q5_0_q8_0_avx2(const BlockQ5_0* w, const BlockQ8_0* x, int64_t blocks) {
  __m256 acc = _mm256_setzero_ps();
  for (int64_t b = 0; b < blocks; ++b) {
    const __m256i q = _mm256_sub_epi8(_mm256_or_si256(nibbles32(w[b].qs), fifth_bits(w[b].qh)), _mm256_set1_epi8(16));
    const __m256 prod = _mm256_cvtepi32_ps(widen_sum(pairs_signed(q, load(x[b].qs))));
    acc = _mm256_fmadd_ps(_mm256_set1_ps(_cvtsh_ss(w[b].d) * _cvtsh_ss(x[b].d)), prod, acc);
  }
  return horizontal_sum(acc);
}

DSCHAT_AVX2 float dot_q5_1_q8_0_avx2(const BlockQ5_1* w, const BlockQ8_0* x, int64_t blocks) {
  __m256 acc = _mm256_setzero_ps(), acc_min = _mm256_setzero_ps();
  const __m256i ones = _mm256_set1_epi8(1);
  for (int64_t b = 0; b < blocks; ++b) {
    const __m256i xq = load(x[b].qs);
    const float dx = _cvtsh_ss(x[b].d);
    const __m256i q = _mm256_or_si256(nibbles32(w[b].qs), fifth_bits(w[b].qh));
    const __m256 prod = _mm256_cvtepi32_ps(widen_sum(pairs_unsigned(q, xq)));
    const __m256 xsum = _mm256_cvtepi32_ps(widen_sum(pairs_unsigned(ones, xq)));
    acc = _mm256_fmadd_ps(_mm256_set1_ps(_cvtsh_ss(w[b].d) * dx), prod, acc);
    acc_min = _mm256_fmadd_ps(_mm256_set1_ps(_cvtsh_ss(w[b].m) * dx), xsum, acc_min);
  }
  return horizontal_sum(_mm256_add_ps(acc, acc_min));
}

DSCHAT_AVX2 float dot_iq4_nl_q8_0_avx2(const BlockIQ4_NL* w, const BlockQ8_0* x, int64_t blocks) {
  __m256 acc = _mm256_setzero_ps();
  const __m256i grid = iq4_grid();
  for (int64_t b = 0; b < blocks; ++b) {
    const __m256i q = _mm256_shuffle_epi8(grid, nibbles32(w[b].qs));
    const __m256 prod = _mm256_cvtepi32_ps(widen_sum(pairs_signed(q, load(x[b].qs))));
    acc = _mm256_fmadd_ps(_mm256_set1_ps(_cvtsh_ss(w[b].d) * _cvtsh_ss(x[b].d)), prod, acc);
  }
  return horizontal_sum(acc);
}

DSCHAT_AVX2 float dot_q2_k_q8_k_avx2(const BlockQ2_K* w, const BlockQ8_K* x, int64_t blocks) {
  __m256 acc = _mm256_setzero_ps();
  float mins_total = 0;
  const __m256i three = _mm256_set1_epi8(3);
  for (int64_t b = 0; b < blocks; ++b) {
    const __m128i packed = _mm_loadu_si128(reinterpret_cast<const __m128i*>(w[b].scales));
    const __m128i scales = _mm_and_si128(packed, _mm_set1_epi8(0x0f));
    const __m256i mins16 = _mm256_cvtepu8_epi16(_mm_and_si128(_mm_srli_epi16(packed, 4), _mm_set1_epi8(0x0f)));
    const int32_t mins = horizontal_sum_i32(_mm256_madd_epi16(mins16, load(x[b].bsums)));
    __m256i sum = _mm256_setzero_si256();
    for (int half = 0; half < 2; ++half) {
      const __m256i q = load(w[b].qs + 32 * half);
      for (int i = 0; i < 4; ++i) {
        const __m256i codes = _mm256_and_si256(_mm256_srli_epi16(q, 2 * i), three);
        const __m256i p = pairs_unsigned(codes, load(x[b].qs + 128 * half + 32 * i));
        sum = _mm256_add_epi32(sum, _mm256_madd_epi16(p, scale_pair16(scales, 8 * half + 2 * i)));
      }
    }
    acc = _mm256_fmadd_ps(_mm256_set1_ps(x[b].d * _cvtsh_ss(w[b].d)), _mm256_cvtepi32_ps(sum), acc);
    mins_total += x[b].d * _cvtsh_ss(w[b].dmin) * static_cast<float>(mins);
  }
  return horizontal_sum(acc) - mins_total;
}

DSCHAT_AVX2 float dot_q3_k_q8_k_avx2(const BlockQ3_K* w, const BlockQ8_K* x, int64_t blocks) {
  __m256 acc = _mm256_setzero_ps();
  const __m256i three = _mm256_set1_epi8(3), four = _mm256_set1_epi8(4), zero = _mm256_setzero_si256();
  for (int64_t b = 0; b < blocks; ++b) {
    // The sixteen 6-bit scales four at a time (ggml_blocks.h q3_k_scale), minus 32.
    uint32_t a[3];
    std::memcpy(a, w[b].scales, 12);
    const uint32_t low4 = 0x0f0f0f0f, two = 0x03030303;
    const __m128i scales = _mm_sub_epi8(
        _mm_set_epi32(static_cast<int>(((a[1] >> 4) & low4) | ((a[2] >> 6) & two) << 4),
                      static_cast<int>(((a[0] >> 4) & low4) | ((a[2] >> 4) & two) << 4),
                      static_cast<int>((a[1] & low4) | ((a[2] >> 2) & two) << 4),
                      static_cast<int>((a[0] & low4) | (a[2] & two) << 4)),
        _mm_set1_epi8(32));
    const __m256i hmask = load(w[b].hmask);
    __m256i sum = _mm256_setzero_si256();
    for (int half = 0; half < 2; ++half) {
      const __m256i q = load(w[b].qs + 32 * half);
      for (int i = 0; i < 4; ++i) {
        const __m256i bit = _mm256_set1_epi8(static_cast<char>(1 << (4 * half + i)));
        const __m256i clear = _mm256_cmpeq_epi8(_mm256_and_si256(hmask, bit), zero);
        const __m256i codes = _mm256_sub_epi8(_mm256_and_si256(_mm256_srli_epi16(q, 2 * i), three),
                                              _mm256_and_si256(clear, four));
        const __m256i p = pairs_signed(codes, load(x[b].qs + 128 * half + 32 * i));
        sum = _mm256_add_epi32(sum, _mm256_madd_epi16(p, scale_pair16(scales, 8 * half + 2 * i)));
      }
    }
    acc = _mm256_fmadd_ps(_mm256_set1_ps(x[b].d * _cvtsh_ss(w[b].d)), _mm256_cvtepi32_ps(sum), acc);
  }
  return horizontal_sum(acc);
}

namespace {

// Q4_K / Q5_K's eight 6-bit scales as int16 (the same eight in both 128-bit lanes) and mins as
// int16, unpacked four at a time from the 12 bytes (ggml_blocks.h: s_0..3 / m_0..3 the low 6
// bits of bytes 0..3 / 4..7; s_4..7 / m_4..7 the low / high nibbles of bytes 8..11 with the top
// 2 bits of bytes 0..3 / 4..7 above them).
DSCHAT_AVX2 inline void k_scales_mins(const uint8_t* packed, __m256i& scales, __m128i& mins) {
  uint32_t a[3];
  std::memcpy(a, packed, 12);
  const uint32_t low6 = 0x3f3f3f3f, low4 = 0x0f0f0f0f, top2 = 0x03030303;
  const uint32_t s03 = a[0] & low6, m03 = a[1] & low6;
  const uint32_t s47 = (a[2] & low4) | ((a[0] >> 6) & top2) << 4;
  const uint32_t m47 = ((a[2] >> 4) & low4) | ((a[1] >> 6) & top2) << 4;
  scales = _mm256_broadcastsi128_si256(_mm_cvtepu8_epi16(_mm_set_epi32(0, 0, static_cast<int>(s47), static_cast<int>(s03))));
  mins = _mm_cvtepu8_epi16(_mm_set_epi32(0, 0, static_cast<int>(m47), static_cast<int>(m03)));
}

// Σ_j m_j·(Σ of the 32 activations of sub-block j) as 4 int32, from Q8_K's sums of 16.
DSCHAT_AVX2 inline __m128i k_mins_term(__m128i mins, const BlockQ8_K& x) {
  const __m128i lo = _mm_loadu_si128(reinterpret_cast<const __m128i*>(x.bsums));
  const __m128i hi = _mm_loadu_si128(reinterpret_cast<const __m128i*>(x.bsums + 8));
  return _mm_madd_epi16(_mm_hadd_epi16(lo, hi), mins);  // pair sums: |.| <= 32·127
}

// s_j broadcast to 16 int16 lanes.
DSCHAT_AVX2 inline __m256i k_scale(__m256i scales, int j) {
  return _mm256_shuffle_epi8(scales, _mm256_set1_epi16(static_cast<int16_t>((2 * j + 1) << 8 | 2 * j)));
}

// Adds s_2c·Σ lo·x + s_2c+1·Σ hi·x' to sum: the codes of 64 values (sub-blocks 2c and 2c+1).
DSCHAT_AVX2 inline __m256i add_k_pair(__m256i sum, __m256i lo, __m256i hi, const int8_t* x, __m256i scales, int c) {
  sum = _mm256_add_epi32(sum, _mm256_madd_epi16(pairs_unsigned(lo, load(x)), k_scale(scales, 2 * c)));
  return _mm256_add_epi32(sum, _mm256_madd_epi16(pairs_unsigned(hi, load(x + 32)), k_scale(scales, 2 * c + 1)));
}

}  // namespace

DSCHAT_AVX2 float dot_q4_k_q8_k_avx2(const BlockQ4_K* w, const BlockQ8_K* x, int64_t blocks) {
  __m256 acc = _mm256_setzero_ps();
  __m128 acc_min = _mm_setzero_ps();
  const __m256i low4 = _mm256_set1_epi8(0x0f);
  for (int64_t b = 0; b < blocks; ++b) {
    __m256i scales;
    __m128i mins;
    k_scales_mins(w[b].scales, scales, mins);
    __m256i sum = _mm256_setzero_si256();
#pragma GCC unroll 4
    for (int c = 0; c < 4; ++c) {
      const __m256i q = load(w[b].qs + 32 * c);
      sum = add_k_pair(sum, _mm256_and_si256(q, low4), _mm256_and_si256(_mm256_srli_epi16(q, 4), low4),
                       x[b].qs + 64 * c, scales, c);
    }
    acc = _mm256_fmadd_ps(_mm256_set1_ps(x[b].d * _cvtsh_ss(w[b].d)), _mm256_cvtepi32_ps(sum), acc);
    acc_min = _mm_fmadd_ps(_mm_set1_ps(x[b].d * _cvtsh_ss(w[b].dmin)), _mm_cvtepi32_ps(k_mins_term(mins, x[b])), acc_min);
  }
  return horizontal_sum(_mm256_sub_ps(acc, _mm256_set_m128(_mm_setzero_ps(), acc_min)));
}

DSCHAT_AVX2 float dot_q5_k_q8_k_avx2(const BlockQ5_K* w, const BlockQ8_K* x, int64_t blocks) {
  __m256 acc = _mm256_setzero_ps();
  __m128 acc_min = _mm_setzero_ps();
  const __m256i low4 = _mm256_set1_epi8(0x0f), sixteen = _mm256_set1_epi8(0x10);
  for (int64_t b = 0; b < blocks; ++b) {
    __m256i scales;
    __m128i mins;
    k_scales_mins(w[b].scales, scales, mins);
    __m256i qh = load(w[b].qh);  // shifted right by 2 per 64 values: bits 2c, 2c+1 at bits 0, 1
    __m256i sum = _mm256_setzero_si256();
#pragma GCC unroll 4
    for (int c = 0; c < 4; ++c) {
      const __m256i q = load(w[b].qs + 32 * c);
      const __m256i h_lo = _mm256_and_si256(_mm256_slli_epi16(qh, 4), sixteen);
      const __m256i h_hi = _mm256_and_si256(_mm256_slli_epi16(qh, 3), sixteen);
      qh = _mm256_srli_epi16(qh, 2);
      sum = add_k_pair(sum, _mm256_or_si256(_mm256_and_si256(q, low4), h_lo),
                       _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(q, 4), low4), h_hi), x[b].qs + 64 * c,
                       scales, c);
    }
    acc = _mm256_fmadd_ps(_mm256_set1_ps(x[b].d * _cvtsh_ss(w[b].d)), _mm256_cvtepi32_ps(sum), acc);
    acc_min = _mm_fmadd_ps(_mm_set1_ps(x[b].d * _cvtsh_ss(w[b].dmin)), _mm_cvtepi32_ps(k_mins_term(mins, x[b])), acc_min);
  }
  return horizontal_sum(_mm256_sub_ps(acc, _mm256_set_m128(_mm_setzero_ps(), acc_min)));
}

// Q6_K: the codes q ∈ [0, 63] times x, minus 32·Σ_j s_j·bsums_j for the stored offset.
DSCHAT_AVX2 float dot_q6_k_q8_k_avx2(const BlockQ6_K* w, const BlockQ8_K* x, int64_t blocks) {
  __m256 acc = _mm256_setzero_ps();
  const __m256i low4 = _mm256_set1_epi8(0x0f), three = _mm256_set1_epi8(3);
  for (int64_t b = 0; b < blocks; ++b) {
    const __m128i scales = _mm_loadu_si128(reinterpret_cast<const __m128i*>(w[b].scales));
    const __m256i offset = _mm256_madd_epi16(_mm256_cvtepi8_epi16(scales), load(x[b].bsums));
    __m256i sum = _mm256_setzero_si256();
    for (int half = 0; half < 2; ++half) {
      const __m256i ql0 = load(w[b].ql + 64 * half), ql1 = load(w[b].ql + 64 * half + 32);
      const __m256i qh = load(w[b].qh + 32 * half);
      const __m256i lows[4] = {_mm256_and_si256(ql0, low4), _mm256_and_si256(ql1, low4),
                               _mm256_and_si256(_mm256_srli_epi16(ql0, 4), low4),
                               _mm256_and_si256(_mm256_srli_epi16(ql1, 4), low4)};
      for (int i = 0; i < 4; ++i) {
        const __m256i high = _mm256_and_si256(_mm256_srli_epi16(qh, 2 * i), three);
        const __m256i codes = _mm256_or_si256(lows[i], _mm256_slli_epi16(high, 4));
        const __m256i p = pairs_unsigned(codes, load(x[b].qs + 128 * half + 32 * i));
        sum = _mm256_add_epi32(sum, _mm256_madd_epi16(p, scale_pair16(scales, 8 * half + 2 * i)));
      }
    }
    sum = _mm256_sub_epi32(sum, _mm256_slli_epi32(offset, 5));
    acc = _mm256_fmadd_ps(_mm256_set1_ps(x[b].d * _cvtsh_ss(w[b].d)), _mm256_cvtepi32_ps(sum), acc);
  }
  return horizontal_sum(acc);
}

DSCHAT_AVX2 float dot_iq4_xs_q8_k_avx2(const BlockIQ4_XS* w, const BlockQ8_K* x, int64_t blocks) {
  __m256 acc = _mm256_setzero_ps();
  const __m256i grid = iq4_grid(), low4 = _mm256_set1_epi8(0x0f);
  for (int64_t b = 0; b < blocks; ++b) {
    __m256i sum = _mm256_setzero_si256();
    for (int pair = 0; pair < 4; ++pair) {  // sub-blocks 2·pair and 2·pair + 1
      const __m256i q = load(w[b].qs + 32 * pair);
      const __m256i lo = _mm256_shuffle_epi8(grid, _mm256_and_si256(q, low4));
      const __m256i hi = _mm256_shuffle_epi8(grid, _mm256_and_si256(_mm256_srli_epi16(q, 4), low4));
      const __m256i w0 = _mm256_permute2x128_si256(lo, hi, 0x20), w1 = _mm256_permute2x128_si256(lo, hi, 0x31);
      const __m256i p0 = pairs_signed(w0, load(x[b].qs + 64 * pair));
      const __m256i p1 = pairs_signed(w1, load(x[b].qs + 64 * pair + 32));
      const int s0 = iq4_xs_scale(w[b], 2 * pair) - 32, s1 = iq4_xs_scale(w[b], 2 * pair + 1) - 32;
      sum = _mm256_add_epi32(sum, _mm256_madd_epi16(p0, _mm256_set1_epi16(static_cast<int16_t>(s0))));
      sum = _mm256_add_epi32(sum, _mm256_madd_epi16(p1, _mm256_set1_epi16(static_cast<int16_t>(s1))));
    }
    acc = _mm256_fmadd_ps(_mm256_set1_ps(x[b].d * _cvtsh_ss(w[b].d)), _mm256_cvtepi32_ps(sum), acc);
  }
  return horizontal_sum(acc);
}

}  // namespace dschat
#endif
