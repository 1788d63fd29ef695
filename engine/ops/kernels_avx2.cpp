// The AVX2 level (AVX2 + FMA + F16C, x86-64-v3), compiled with function target attributes so
// the rest of the build stays portable; picked at run time (weight_kernels.cpp).
// Float types: the loops of matmul_float_body.h compiled for this level (the GEMM), the GEMV of
// float_gemv_avx2.cpp. The GGUF block types: the
// dot products of ggml_dot_avx2.cpp, one per output (block_gemv.h). Q8_0 / Q4_0: one block
// dot product per output (block_gemv.h), signed int8 × int8 via the usual trick: maddubs needs
// unsigned × signed, so multiply |w| by x with w's sign moved onto it (sign_epi8), then widen
// pairs to int32 with madd(…, 1).
#include "engine/ops/block_dot.h"
#include "engine/ops/block_gemv.h"
#include "engine/ops/float_gemv.h"
#include "engine/ops/fp8_kernels.h"
#include "engine/ops/ggml_dot.h"
#include "engine/ops/ggml_gemv.h"
#include "engine/ops/ggml_widen.h"
#include "engine/ops/matmul_float_body.h"
#include "engine/ops/q4_0_x8_kernels.h"
#include "engine/ops/q8_0_kernels.h"
#include "engine/ops/row_products_body.h"
#include "engine/ops/vector_kernels.h"
#include "engine/ops/weight_kernels.h"
#include "engine/ops/simd_target.h"

#if defined(__x86_64__)
#include <immintrin.h>

#include <algorithm>
#include <cstring>
#include <limits>


namespace dschat {
namespace {

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

// The GEMV over four rows at a time (rows [r0, r1), x.n tokens of Q8_0 activations). A decoded
// token streams every weight once, so this loop decides decode speed; it is built to spend as
// few vector operations per weight block as it can:
// - each activation block is loaded once for the four rows; each row keeps its own 8-lane float
//   accumulator (four independent FMA chains), summed horizontally once at the end;
// - the scales d_w·d_x of eight blocks are made at once per row: the eight fp16 d_w gathered
//   through integer registers (idle otherwise), one vcvtph2ps, one multiply by the eight d_x;
//   each block then only broadcasts its scale from memory (a load, no vector ALU);
// - Q4_0 without sign juggling: the stored nibbles q = w + 8 are unsigned, so maddubs(q, x) gives
//   Σ q·x in int16 pairs (|pair| <= 2·15·128), and Σ (q - 8)·x·d_w·d_x = d_w·d_x·Σ q·x -
//   d_w·(8·d_x·Σ x); the last factor depends on the activations only (made once per call and
//   token) and enters eight blocks at a time as one FMA per row. The nibbles unpack as one
//   128-bit broadcast load, one variable shift (0 for the low half, 4 for the high) and one AND.
// - the next group's rows (contiguous) are prefetched at the pace this group is read (measured:
//   without it the kernel is ~25% slower from DRAM than from cache).
// Q8_0 keeps the sign trick on both operands (exact for a stored -128 too).
struct TokenScales {
  const float* dx;    // d_x per block, zero-padded to a multiple of 8
  const float* bias;  // Q4_0: 8·d_x·Σ x per block, zero-padded
};

// d_w of blocks c0 .. c0+7 of a row (fewer at the row's end: the rest 0) as eight fp16 values,
// packed in general registers (stores and a vector reload would stall on store forwarding).
template <size_t kBlockBytes>
DSCHAT_AVX2 inline __m128i block_scales_f16(const std::byte* row, int64_t c0, int64_t count) {
  const std::byte* p = row + static_cast<size_t>(c0) * kBlockBytes;
  const auto d = [p](int i) {
    uint16_t v;
    std::memcpy(&v, p + static_cast<size_t>(i) * kBlockBytes, sizeof v);
    return static_cast<uint64_t>(v);
  };
  uint64_t lo, hi;
  if (count == 8) {
    lo = d(0) | d(1) << 16 | d(2) << 32 | d(3) << 48;
    hi = d(4) | d(5) << 16 | d(6) << 32 | d(7) << 48;
  } else {
    lo = hi = 0;
    for (int i = 0; i < count; ++i) (i < 4 ? lo : hi) |= d(i) << (16 * (i % 4));
  }
  return _mm_set_epi64x(static_cast<long long>(hi), static_cast<long long>(lo));
}

template <bool Q4>
DSCHAT_AVX2 void gemv_four_rows(const WeightMatrix& w, const PreparedActivations& x, float* y, int64_t ldy, int64_t r0,
                                int64_t r1, KernelScratch& scratch) {
  constexpr int R = 4;
  constexpr size_t block_bytes = Q4 ? sizeof(BlockQ4_0) : sizeof(BlockQ8_0);
  const int64_t blocks = w.cols / kQuantBlock, padded = (blocks + 7) / 8 * 8;
  const size_t row_bytes = w.row_bytes();
  const auto* xq_all = reinterpret_cast<const BlockQ8_0*>(x.data);

  // Per token: d_x as float and (Q4_0) 8·d_x·Σ x, once per call.
  float* per_token = scratch.widened_floats(static_cast<size_t>(2 * padded * x.n));
  const __m256i ones8 = _mm256_set1_epi8(1);
  const __m256i ones16 = _mm256_set1_epi16(1);
  for (int64_t t = 0; t < x.n; ++t) {
    float* dx = per_token + 2 * padded * t;
    float* bias = dx + padded;
    for (int64_t b = 0; b < padded; ++b) {
      if (b >= blocks) {
        dx[b] = bias[b] = 0;
        continue;
      }
      const BlockQ8_0& xb = xq_all[t * blocks + b];
      dx[b] = _cvtsh_ss(xb.d);
      if constexpr (Q4) {
        const __m256i xq = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(xb.qs));
        const __m256i sum = _mm256_madd_epi16(_mm256_maddubs_epi16(ones8, xq), ones16);
        bias[b] = 8.0f * dx[b] * horizontal_sum(_mm256_cvtepi32_ps(sum));  // exact: |Σ x| < 2^24
      }
    }
  }

  const __m256i low_nibbles = _mm256_set1_epi8(0x0f);
  const __m256i high_half_shift = _mm256_set_epi32(4, 4, 4, 4, 0, 0, 0, 0);
  for (int64_t g = r0; g < r1; g += R) {
    const int count = static_cast<int>(std::min<int64_t>(R, r1 - g));
    const std::byte* row[R];
    for (int i = 0; i < R; ++i) row[i] = w.data + static_cast<size_t>(g + std::min(i, count - 1)) * row_bytes;
    const char* next = reinterpret_cast<const char*>(w.data + static_cast<size_t>(std::min(g + R, r1 - 1)) * row_bytes);
    const size_t next_step = R * row_bytes / static_cast<size_t>(blocks);
    for (int64_t t = 0; t < x.n; ++t) {
      const BlockQ8_0* xb = xq_all + t * blocks;
      const TokenScales ts{per_token + 2 * padded * t, per_token + 2 * padded * t + padded};
      __m256 acc[R];
#pragma GCC unroll 4
      for (int r = 0; r < R; ++r) acc[r] = _mm256_setzero_ps();
      for (int64_t c0 = 0; c0 < blocks; c0 += 8) {
        const int64_t c1 = std::min(blocks, c0 + 8);
        alignas(32) float scale[R][8];
        const __m256 dx8 = _mm256_loadu_ps(ts.dx + c0);
#pragma GCC unroll 4
        for (int r = 0; r < R; ++r) {
          const __m256 dw8 = _mm256_cvtph_ps(block_scales_f16<block_bytes>(row[r], c0, c1 - c0));
          _mm256_store_ps(scale[r], _mm256_mul_ps(dw8, dx8));
          if constexpr (Q4) acc[r] = _mm256_fnmadd_ps(dw8, _mm256_loadu_ps(ts.bias + c0), acc[r]);
        }
        for (int64_t b = c0; b < c1; ++b) {
          if (t == 0) {  // every line of the next group's share of this block (72 or 136 bytes)
            const char* p = next + static_cast<size_t>(b) * next_step;
            _mm_prefetch(p, _MM_HINT_T0);
            _mm_prefetch(p + 64, _MM_HINT_T0);
            if constexpr (!Q4) _mm_prefetch(p + 128, _MM_HINT_T0);
          }
          const __m256i xq = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(xb[b].qs));
#pragma GCC unroll 4
          for (int r = 0; r < R; ++r) {
            const std::byte* wb = row[r] + static_cast<size_t>(b) * block_bytes;
            __m256i pairs;
            if constexpr (Q4) {
              const __m256i packed = _mm256_broadcastsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(wb + 2)));
              const __m256i q = _mm256_and_si256(_mm256_srlv_epi32(packed, high_half_shift), low_nibbles);
              pairs = _mm256_maddubs_epi16(q, xq);
            } else {
              const __m256i wq = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(wb + 2));
              pairs = _mm256_maddubs_epi16(_mm256_sign_epi8(wq, wq), _mm256_sign_epi8(xq, wq));
            }
            const __m256 dot = _mm256_cvtepi32_ps(_mm256_madd_epi16(pairs, ones16));
            acc[r] = _mm256_fmadd_ps(dot, _mm256_broadcast_ss(&scale[r][b - c0]), acc[r]);
          }
        }
      }
      float sums[R];  // all four first: indexing acc by the run-time count would keep it in memory
#pragma GCC unroll 4
      for (int r = 0; r < R; ++r) sums[r] = horizontal_sum(acc[r]);
      for (int r = 0; r < count; ++r) y[t * ldy + g + r] = sums[r];
    }
  }
}

// Q8_0 / Q4_0 rows widened to float (d·q, exactly as row_widening.h: one rounding of the same
// product), for the GEMM's panels and the transposed products of the absorbed attention
// (W_UKᵀ q per head of every decoded token, ~9% of a Q4_0 decode with the portable loop).
template <bool Q4>
DSCHAT_AVX2 void widen_quantized_row(const std::byte* row, int64_t cols, float* out) {
  const int64_t blocks = cols / kQuantBlock;
  for (int64_t b = 0; b < blocks; ++b, out += kQuantBlock) {
    __m128i lo, hi;  // values 0..15 and 16..31 as int8
    __m256 d;
    if constexpr (Q4) {
      const auto& blk = reinterpret_cast<const BlockQ4_0*>(row)[b];
      const __m128i packed = _mm_loadu_si128(reinterpret_cast<const __m128i*>(blk.qs));
      lo = _mm_sub_epi8(_mm_and_si128(packed, _mm_set1_epi8(0x0f)), _mm_set1_epi8(8));
      hi = _mm_sub_epi8(_mm_and_si128(_mm_srli_epi16(packed, 4), _mm_set1_epi8(0x0f)), _mm_set1_epi8(8));
      d = _mm256_set1_ps(_cvtsh_ss(blk.d));
    } else {
      const auto& blk = reinterpret_cast<const BlockQ8_0*>(row)[b];
      lo = _mm_loadu_si128(reinterpret_cast<const __m128i*>(blk.qs));
      hi = _mm_loadu_si128(reinterpret_cast<const __m128i*>(blk.qs + 16));
      d = _mm256_set1_ps(_cvtsh_ss(blk.d));
    }
    _mm256_storeu_ps(out, _mm256_mul_ps(d, _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(lo))));
    _mm256_storeu_ps(out + 8, _mm256_mul_ps(d, _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_srli_si128(lo, 8)))));
    _mm256_storeu_ps(out + 16, _mm256_mul_ps(d, _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(hi))));
    _mm256_storeu_ps(out + 24, _mm256_mul_ps(d, _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_srli_si128(hi, 8)))));
  }
}

DSCHAT_AVX2 void float_rows(const WeightMatrix& w, const float* x, int64_t n, float* y, int64_t ldy, int64_t r0,
                            int64_t r1, KernelScratch& scratch) {
  float_body::rows(w, x, n, y, ldy, r0, r1, scratch);
}
DSCHAT_AVX2 void q8_0_gemv(const WeightMatrix& w, const PreparedActivations& x, float* y, int64_t ldy, int64_t r0,
                           int64_t r1, KernelScratch& scratch) {
  gemv_four_rows<false>(w, x, y, ldy, r0, r1, scratch);
}
DSCHAT_AVX2 void q4_0_gemv(const WeightMatrix& w, const PreparedActivations& x, float* y, int64_t ldy, int64_t r0,
                           int64_t r1, KernelScratch& scratch) {
  gemv_four_rows<true>(w, x, y, ldy, r0, r1, scratch);
}

DSCHAT_AVX2 float dot_f32_avx2(const float* a, const float* b, int64_t n) { return float_body::dot_f32(a, b, n); }
DSCHAT_AVX2 void softmax_avx2(float* v, int64_t n) { float_body::softmax(v, n); }
DSCHAT_AVX2 void silu_mul_avx2(float* g, const float* u, int64_t n) { float_body::silu_mul(g, u, n); }
DSCHAT_AVX2 void axpy_avx2(float a, const float* x, float* y, int64_t n) { float_body::axpy(a, x, y, n); }
// Two rows of A against four of B (8 ymm accumulators); four rows of P by two vectors of B.
DSCHAT_AVX2 void row_dots_avx2(const float* a, int64_t lda, int64_t m, const float* b, int64_t ldb, int64_t n,
                               int64_t k, float* c, int64_t ldc) {
  row_products::row_dots<8, 2, 4>(a, lda, m, b, ldb, n, k, c, ldc);
}
DSCHAT_AVX2 void weighted_row_sums_avx2(const float* p, int64_t ldp, int64_t m, const float* b, int64_t ldb,
                                        int64_t n, int64_t k, float* c, int64_t ldc) {
  row_products::weighted_row_sums<8, 4, 2>(p, ldp, m, b, ldb, n, k, c, ldc);
}

// The GEMVs of the GGUF block types (ggml_dot.h).
GemvKernel ggml_gemv(DType type) {
  switch (type) {
    case DType::Q4_1: return block_gemv::gemv<BlockQ4_1, BlockQ8_0, dot_q4_1_q8_0_avx2>;
    case DType::Q5_1: return block_gemv::gemv<BlockQ5_1, BlockQ8_0, dot_q5_1_q8_0_avx2>;
    case DType::IQ4_NL: return block_gemv::gemv<BlockIQ4_NL, BlockQ8_0, dot_iq4_nl_q8_0_avx2>;
    case DType::Q2_K: return block_gemv::gemv<BlockQ2_K, BlockQ8_K, dot_q2_k_q8_k_avx2>;
    case DType::Q3_K: return block_gemv::gemv<BlockQ3_K, BlockQ8_K, dot_q3_k_q8_k_avx2>;
    case DType::Q5_0:
    case DType::Q4_K:
    case DType::Q5_K:
    case DType::Q6_K: return ggml_gemv_avx2(type);  // four rows at a time, prefill unpacked once
    case DType::IQ4_XS: return block_gemv::gemv<BlockIQ4_XS, BlockQ8_K, dot_iq4_xs_q8_k_avx2>;
    default: return nullptr;
  }
}

}  // namespace

DSCHAT_AVX2 void q8_0_gemv_avx2(const WeightMatrix& w, const PreparedActivations& x, float* y, int64_t ldy,
                                int64_t r0, int64_t r1, KernelScratch& scratch) {
  gemv_four_rows<false>(w, x, y, ldy, r0, r1, scratch);
}

WeightKernels avx2_weight_kernels(DType type) {
  if (type == DType::F8_E4M3) return fp8_weight_kernels("avx2", fp8_gemv_avx2, float_rows, fp8_row_to_f32_avx2);
  if (type == DType::Q4_0_X8) {
    // Prefill too by the integer GEMV over activations quantized to Q8_0 once per call (as
    // llama.cpp's repacked Q4_0): docs/benchmarks.md "Q4_0 rows interleaved by eight".
    WeightKernels k = q4_0_x8_weight_kernels("avx2", q4_0_x8_gemv_avx2, float_rows, q4_0_x8_row_to_f32_avx2);
    k.gemv_max_tokens = std::numeric_limits<int64_t>::max();
    return k;
  }
  WeightKernels k = block_gemv::level_kernels(type, "avx2", float_rows, float_gemv_avx2, q8_0_gemv, q4_0_gemv, ggml_gemv);
  if (type == DType::Q8_0) k.row_to_f32 = widen_quantized_row<false>;
  if (type == DType::Q4_0) {
    k.row_to_f32 = widen_quantized_row<true>;
    k.repacked = DType::Q4_0_X8;  // its GEMV: docs/benchmarks.md, "Q4_0 rows interleaved by eight"
  }
  // The K-quants' and Q5_0's widening vectorised (the prefill GEMM widens every row), bit-identical.
  if (type == DType::Q4_K) k.row_to_f32 = widen_q4_k_avx2;
  if (type == DType::Q5_K) k.row_to_f32 = widen_q5_k_avx2;
  if (type == DType::Q6_K) k.row_to_f32 = widen_q6_k_avx2;
  if (type == DType::Q5_0) k.row_to_f32 = widen_q5_0_avx2;  // the down projections of Q4_K_M files
  // Prefill of Q4_K, Q5_K, Q6_K and Q2_K: the integer GEMV over every token (activations quantized
  // to Q8_K once per call, as llama.cpp does) was 1.2-2.5x faster than the float GEMM over widened
  // rows at 64 tokens (docs/engine.md; the K-quants' since over codes unpacked once per group, 2x
  // again: docs/benchmarks.md "K-quant GEMV"); the other types keep the float GEMM (Q5_0's
  // unpacked integer GEMV was no faster than it).
  if (type == DType::Q4_K || type == DType::Q5_K || type == DType::Q6_K || type == DType::Q2_K) {
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
  k.row_dots = row_dots_avx2;
  k.weighted_row_sums = weighted_row_sums_avx2;
  return k;
}

}  // namespace dschat
#endif
