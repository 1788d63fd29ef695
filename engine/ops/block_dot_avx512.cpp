// Q8_0 / Q4_0 dot products with AVX-512 VNNI (vpdpbusd on 256-bit vectors, AVX-512 VL): one
// instruction does the u8 × s8 products and the int32 accumulation that AVX2 needs three for.
// Two blocks per iteration with separate accumulators to hide the dpbusd/FMA latency.
// Compiled with function target attributes and picked at run time (block_dot.cpp).
#include "engine/ops/block_dot.h"

#if defined(__x86_64__)
#include <immintrin.h>


namespace dschat {
namespace {

#define DSCHAT_AVX512 __attribute__((target("avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni")))

DSCHAT_AVX512 inline __m256 dot_block_i8(__m256i w, __m256i x) {
  const __m256i abs_w = _mm256_abs_epi8(w);
  const __m256i x_signed = _mm256_sign_epi8(x, w);
  return _mm256_cvtepi32_ps(_mm256_dpbusd_epi32(_mm256_setzero_si256(), abs_w, x_signed));
}

DSCHAT_AVX512 inline float horizontal_sum(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

DSCHAT_AVX512 inline __m256i unpack_q4(const uint8_t* qs) {
  const __m128i packed = _mm_loadu_si128(reinterpret_cast<const __m128i*>(qs));
  const __m256i both = _mm256_set_m128i(_mm_srli_epi16(packed, 4), packed);
  return _mm256_sub_epi8(_mm256_and_si256(both, _mm256_set1_epi8(0x0f)), _mm256_set1_epi8(8));
}

template <typename Block, __m256i (*Load)(const Block&)>
DSCHAT_AVX512 inline float dot_blocks(const Block* w, const BlockQ8_0* x, int64_t blocks) {
  __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
  int64_t b = 0;
  for (; b + 2 <= blocks; b += 2) {
    const __m256i x0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x[b].qs));
    const __m256i x1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x[b + 1].qs));
    const __m256 s0 = _mm256_set1_ps(_cvtsh_ss(w[b].d) * _cvtsh_ss(x[b].d));
    const __m256 s1 = _mm256_set1_ps(_cvtsh_ss(w[b + 1].d) * _cvtsh_ss(x[b + 1].d));
    acc0 = _mm256_fmadd_ps(s0, dot_block_i8(Load(w[b]), x0), acc0);
    acc1 = _mm256_fmadd_ps(s1, dot_block_i8(Load(w[b + 1]), x1), acc1);
  }
  if (b < blocks) {
    const __m256i x0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x[b].qs));
    const __m256 s0 = _mm256_set1_ps(_cvtsh_ss(w[b].d) * _cvtsh_ss(x[b].d));
    acc0 = _mm256_fmadd_ps(s0, dot_block_i8(Load(w[b]), x0), acc0);
  }
  return horizontal_sum(_mm256_add_ps(acc0, acc1));
}

DSCHAT_AVX512 inline __m256i load_q8(const BlockQ8_0& b) {
  return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b.qs));
}
DSCHAT_AVX512 inline __m256i load_q4(const BlockQ4_0& b) { return unpack_q4(b.qs); }

}  // namespace

DSCHAT_AVX512 float dot_q8_0_q8_0_avx512(const BlockQ8_0* w, const BlockQ8_0* x, int64_t blocks) {
  return dot_blocks<BlockQ8_0, load_q8>(w, x, blocks);
}

DSCHAT_AVX512 float dot_q4_0_q8_0_avx512(const BlockQ4_0* w, const BlockQ8_0* x, int64_t blocks) {
  return dot_blocks<BlockQ4_0, load_q4>(w, x, blocks);
}

}  // namespace dschat
#endif
