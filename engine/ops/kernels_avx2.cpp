// The AVX2 level (AVX2 + FMA + F16C, x86-64-v3), compiled with function target attributes so
// the rest of the build stays portable; picked at run time (weight_kernels.cpp).
// Float types: the loops of matmul_float_body.h compiled for this level. The GGUF block types: the
// dot products of ggml_dot_avx2.cpp, one per output (block_gemv.h). Q8_0 / Q4_0: one block
// dot product per output (block_gemv.h), signed int8 × int8 via the usual trick: maddubs needs
// unsigned × signed, so multiply |w| by x with w's sign moved onto it (sign_epi8), then widen
// pairs to int32 with madd(…, 1).
#include "engine/ops/block_dot.h"
#include "engine/ops/block_gemv.h"
#include "engine/ops/ggml_dot.h"
#include "engine/ops/ggml_widen.h"
#include "engine/ops/matmul_float_body.h"
#include "engine/ops/vector_kernels.h"
#include "engine/ops/weight_kernels.h"

#if defined(__x86_64__)
#include <immintrin.h>

#include <cstring>
#include <limits>


namespace dschat {
namespace {

#define DSCHAT_AVX2 __attribute__((target("avx2,fma,f16c")))

DSCHAT_AVX2 inline __m256 dot_block_i8(__m256i w, __m256i x) {
  const __m256i abs_w = _mm256_sign_epi8(w, w);
  const __m256i x_signed = _mm256_sign_epi8(x, w);
  const __m256i pairs = _mm256_maddubs_epi16(abs_w, x_signed);  // |w|<=128, |x|<=127: no saturation
  return _mm256_cvtepi32_ps(_mm256_madd_epi16(pairs, _mm256_set1_epi16(1)));
}

DSCHAT_AVX2 inline float horizontal_sum(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

// The 32 nibbles of a Q4_0 block as int8 in [-8, 7]: bytes 0..15 the low nibbles, 16..31 the high.
DSCHAT_AVX2 inline __m256i unpack_q4(const uint8_t* qs) {
  const __m128i packed = _mm_loadu_si128(reinterpret_cast<const __m128i*>(qs));
  const __m256i both = _mm256_set_m128i(_mm_srli_epi16(packed, 4), packed);
  return _mm256_sub_epi8(_mm256_and_si256(both, _mm256_set1_epi8(0x0f)), _mm256_set1_epi8(8));
}

}  // namespace

DSCHAT_AVX2 float dot_q8_0_q8_0_avx2(const BlockQ8_0* w, const BlockQ8_0* x, int64_t blocks) {
  __m256 acc = _mm256_setzero_ps();
  for (int64_t b = 0; b < blocks; ++b) {
    const __m256i wq = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(w[b].qs));
    const __m256i xq = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x[b].qs));
    const __m256 scale = _mm256_set1_ps(_cvtsh_ss(w[b].d) * _cvtsh_ss(x[b].d));
    acc = _mm256_fmadd_ps(scale, dot_block_i8(wq, xq), acc);
  }
  return horizontal_sum(acc);
}

DSCHAT_AVX2 float dot_q4_0_q8_0_avx2(const BlockQ4_0* w, const BlockQ8_0* x, int64_t blocks) {
  __m256 acc = _mm256_setzero_ps();
  for (int64_t b = 0; b < blocks; ++b) {
    const __m256i wq = unpack_q4(w[b].qs);
    const __m256i xq = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x[b].qs));
    const __m256 scale = _mm256_set1_ps(_cvtsh_ss(w[b].d) * _cvtsh_ss(x[b].d));
    acc = _mm256_fmadd_ps(scale, dot_block_i8(wq, xq), acc);
  }
  return horizontal_sum(acc);
}

namespace {

DSCHAT_AVX2 void float_rows(const WeightMatrix& w, const float* x, int64_t n, float* y, int64_t ldy, int64_t r0,
                            int64_t r1, KernelScratch& scratch) {
  float_body::rows(w, x, n, y, ldy, r0, r1, scratch);
}
DSCHAT_AVX2 void float_gemv(const WeightMatrix& w, const PreparedActivations& x, float* y, int64_t ldy, int64_t r0,
                            int64_t r1, KernelScratch& scratch) {
  float_body::rows(w, x.x, x.n, y, ldy, r0, r1, scratch);
}
DSCHAT_AVX2 void q8_0_gemv(const WeightMatrix& w, const PreparedActivations& x, float* y, int64_t ldy, int64_t r0,
                           int64_t r1, KernelScratch&) {
  block_gemv::rows<BlockQ8_0, BlockQ8_0, dot_q8_0_q8_0_avx2>(w, x, y, ldy, r0, r1);
}
DSCHAT_AVX2 void q4_0_gemv(const WeightMatrix& w, const PreparedActivations& x, float* y, int64_t ldy, int64_t r0,
                           int64_t r1, KernelScratch&) {
  block_gemv::rows<BlockQ4_0, BlockQ8_0, dot_q4_0_q8_0_avx2>(w, x, y, ldy, r0, r1);
}

DSCHAT_AVX2 float dot_f32_avx2(const float* a, const float* b, int64_t n) { return float_body::dot_f32(a, b, n); }
DSCHAT_AVX2 void softmax_avx2(float* v, int64_t n) { float_body::softmax(v, n); }
DSCHAT_AVX2 void silu_mul_avx2(float* g, const float* u, int64_t n) { float_body::silu_mul(g, u, n); }
DSCHAT_AVX2 void axpy_avx2(float a, const float* x, float* y, int64_t n) { float_body::axpy(a, x, y, n); }

// The GEMVs of the GGUF block types (ggml_dot.h).
GemvKernel ggml_gemv(DType type) {
  switch (type) {
    case DType::Q4_1: return block_gemv::gemv<BlockQ4_1, BlockQ8_0, dot_q4_1_q8_0_avx2>;
    case DType::Q5_0: return block_gemv::gemv<BlockQ5_0, BlockQ8_0, dot_q5_0_q8_0_avx2>;
    case DType::Q5_1: return block_gemv::gemv<BlockQ5_1, BlockQ8_0, dot_q5_1_q8_0_avx2>;
    case DType::IQ4_NL: return block_gemv::gemv<BlockIQ4_NL, BlockQ8_0, dot_iq4_nl_q8_0_avx2>;
    case DType::Q2_K: return block_gemv::gemv<BlockQ2_K, BlockQ8_K, dot_q2_k_q8_k_avx2>;
    case DType::Q3_K: return block_gemv::gemv<BlockQ3_K, BlockQ8_K, dot_q3_k_q8_k_avx2>;
    case DType::Q4_K: return block_gemv::gemv<BlockQ4_K, BlockQ8_K, dot_q4_k_q8_k_avx2>;
    case DType::Q5_K: return block_gemv::gemv<BlockQ5_K, BlockQ8_K, dot_q5_k_q8_k_avx2>;
    case DType::Q6_K: return block_gemv::gemv<BlockQ6_K, BlockQ8_K, dot_q6_k_q8_k_avx2>;
    case DType::IQ4_XS: return block_gemv::gemv<BlockIQ4_XS, BlockQ8_K, dot_iq4_xs_q8_k_avx2>;
    default: return nullptr;
  }
}

}  // namespace

WeightKernels avx2_weight_kernels(DType type) {
  WeightKernels k = block_gemv::level_kernels(type, "avx2", float_rows, float_gemv, q8_0_gemv, q4_0_gemv, ggml_gemv);
  // The K-quants' widening vectorised (the prefill GEMM widens every row), bit-identical.
  if (type == DType::Q4_K) k.row_to_f32 = widen_q4_k_avx2;
  if (type == DType::Q5_K) k.row_to_f32 = widen_q5_k_avx2;
  if (type == DType::Q6_K) k.row_to_f32 = widen_q6_k_avx2;
  // Prefill of Q4_K, Q6_K and Q2_K: the integer GEMV over every token (activations quantized to
  // Q8_K once per call, as llama.cpp does) was 1.2-2.5x faster than the float GEMM over widened
  // rows at 64 tokens (docs/engine.md); the other types keep the float GEMM.
  if (type == DType::Q4_K || type == DType::Q6_K || type == DType::Q2_K) {
    k.gemv_max_tokens = std::numeric_limits<int64_t>::max();
  }
  return k;
}

VectorKernels avx2_vector_kernels() {
  VectorKernels k;
  k.name = "avx2";
  k.dot_f32 = dot_f32_avx2;
  k.softmax = softmax_avx2;
  k.silu_mul = silu_mul_avx2;
  k.axpy = axpy_avx2;
  return k;
}

}  // namespace dschat
#endif
