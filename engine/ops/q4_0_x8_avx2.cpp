// The AVX2 GEMV of Q4_0_X8 (engine/quant/q4_0_x8.h). A block of a group is a 16-byte vector of
// the eight rows' fp16 scales and four 32-byte vectors of nibbles in which each 32-bit lane
// belongs to one row, so:
// - the nibbles unpack with one AND (low) and one shift + AND (high) per vector, and maddubs of
//   them with the activation's matching four bytes, broadcast to every lane, leaves each row's
//   products in its own lane; the eight products of a block add up in int16 (|pair| ≤ 2·15·127,
//   eight of them ≤ 30480: no overflow) and one madd widens them to int32, still one row a lane;
// - the stored nibbles are q = w + 8 (unsigned, as maddubs wants), so a row's block dot product
//   is d_w·(d_x·Σ q·x − 8·d_x·Σ x): Σ x per activation block is made once per call, and the eight
//   rows take it with one fmsub and one FMA by their eight d_w (one vcvtph2ps);
// - a group's result is eight rows' sums in one vector: no horizontal reduction.
// Per block of eight rows that is 12 unpacking ops shared by the tokens, then per token 8
// maddubs, 8 adds and 4 ops of scaling (the row-major kernel: ~7 per row and token).
#include "engine/ops/q4_0_x8_kernels.h"
#include "engine/ops/simd_target.h"
#include "engine/ops/token_count.h"

#if defined(__x86_64__)
#include <immintrin.h>

#include <algorithm>
#include <cstring>

#include "engine/quant/q4_0_x8.h"
#include "engine/quant/quantize.h"

namespace dschat {
namespace {

DSCHAT_AVX2 inline float horizontal_sum(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

DSCHAT_AVX2 inline __m256i broadcast_4_bytes(const int8_t* p) {
  int32_t v;
  std::memcpy(&v, p, sizeof v);
  return _mm256_set1_epi32(v);
}

// The eight rows of group `g` for T tokens (x[t], dx[t], bias[t] of token t), written to
// y[t*ldy + r] for the rows r in [r0, r1).
template <int T>
DSCHAT_AVX2 void group_tokens(const std::byte* group, int64_t blocks, int64_t first, const BlockQ8_0* const x[],
                              const float* const dx[], const float* const bias[], float* y, int64_t ldy, int64_t r0,
                              int64_t r1) {
  const __m256i low = _mm256_set1_epi8(0x0f);
  const __m256i ones16 = _mm256_set1_epi16(1);
  __m256 acc[T];
#pragma GCC unroll 4
  for (int t = 0; t < T; ++t) acc[t] = _mm256_setzero_ps();
  for (int64_t b = 0; b < blocks; ++b) {
    const std::byte* p = group + static_cast<size_t>(b) * kQ4_0x8BlockBytes;
    prefetch_q4_0_x8_ahead(p);
    __m256i sum[T];
#pragma GCC unroll 4
    for (int k = 0; k < 4; ++k) {
      const __m256i q = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + 16 + 32 * k));
      const __m256i lo = _mm256_and_si256(q, low);
      const __m256i hi = _mm256_and_si256(_mm256_srli_epi16(q, 4), low);
#pragma GCC unroll 4
      for (int t = 0; t < T; ++t) {
        const int8_t* xs = x[t][b].qs;
        const __m256i pairs = _mm256_add_epi16(_mm256_maddubs_epi16(lo, broadcast_4_bytes(xs + 4 * k)),
                                               _mm256_maddubs_epi16(hi, broadcast_4_bytes(xs + 16 + 4 * k)));
        sum[t] = k == 0 ? pairs : _mm256_add_epi16(sum[t], pairs);
      }
    }
    const __m256 dw = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
#pragma GCC unroll 4
    for (int t = 0; t < T; ++t) {
      const __m256 qx = _mm256_cvtepi32_ps(_mm256_madd_epi16(sum[t], ones16));
      const __m256 block = _mm256_fmsub_ps(qx, _mm256_broadcast_ss(dx[t] + b), _mm256_broadcast_ss(bias[t] + b));
      acc[t] = _mm256_fmadd_ps(dw, block, acc[t]);
    }
  }
  const int64_t lo = std::max(r0, first), hi = std::min(r1, first + kQ4_0x8Rows);
#pragma GCC unroll 4
  for (int t = 0; t < T; ++t) {
    if (lo == first && hi == first + kQ4_0x8Rows) {
      _mm256_storeu_ps(y + t * ldy + first, acc[t]);
    } else {
      alignas(32) float rows[kQ4_0x8Rows];
      _mm256_store_ps(rows, acc[t]);
      for (int64_t r = lo; r < hi; ++r) y[t * ldy + r] = rows[r - first];
    }
  }
}

}  // namespace

DSCHAT_AVX2 void q4_0_x8_gemv_avx2(const WeightMatrix& w, const PreparedActivations& x, float* y, int64_t ldy,
                                   int64_t r0, int64_t r1, KernelScratch& scratch) {
  if (r0 >= r1) return;
  const int64_t blocks = w.cols / kQuantBlock;
  const size_t group_bytes = kQ4_0x8Rows * w.row_bytes();
  const auto* xq = reinterpret_cast<const BlockQ8_0*>(x.data);
  // Per token and block: d_x as float and 8·d_x·Σ x, once per call.
  float* per_token = scratch.widened_floats(static_cast<size_t>(2 * blocks * x.n));
  const __m256i ones8 = _mm256_set1_epi8(1);
  const __m256i ones16 = _mm256_set1_epi16(1);
  for (int64_t t = 0; t < x.n; ++t) {
    float* dx = per_token + 2 * blocks * t;
    float* bias = dx + blocks;
    for (int64_t b = 0; b < blocks; ++b) {
      const BlockQ8_0& xb = xq[t * blocks + b];
      dx[b] = _cvtsh_ss(xb.d);
      const __m256i xv = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(xb.qs));
      const __m256i sum = _mm256_madd_epi16(_mm256_maddubs_epi16(ones8, xv), ones16);
      bias[b] = 8.0f * dx[b] * horizontal_sum(_mm256_cvtepi32_ps(sum));  // exact: |Σ x| < 2^24
    }
  }
  // Groups outer, tokens inner (four at a time): a group's 8 rows (144 bytes a block) stay in L1
  // while every token passes over them, so a prefill reads its weights once.
  constexpr int kMaxTokens = 4;  // tokens per pass over a group (16 ymm registers)
  const BlockQ8_0* xs[kMaxTokens];
  const float* dx[kMaxTokens];
  const float* bias[kMaxTokens];
  for (int64_t g = r0 / kQ4_0x8Rows; g * kQ4_0x8Rows < r1; ++g) {
    const std::byte* group = w.data + static_cast<size_t>(g) * group_bytes;
    for (int64_t t0 = 0; t0 < x.n; t0 += kMaxTokens) {
      const int n = static_cast<int>(std::min<int64_t>(kMaxTokens, x.n - t0));
      for (int i = 0; i < n; ++i) {
        xs[i] = xq + (t0 + i) * blocks;
        dx[i] = per_token + 2 * blocks * (t0 + i);
        bias[i] = dx[i] + blocks;
      }
      float* yt = y + t0 * ldy;
      const int64_t first = g * kQ4_0x8Rows;
      with_token_count<kMaxTokens>(n, [&](auto tokens) DSCHAT_AVX2 {
        group_tokens<decltype(tokens)::value>(group, blocks, first, xs, dx, bias, yt, ldy, r0, r1);
      });
    }
  }
}

// Row `lane` of a group widened to float: its four 4-byte pieces of each block gathered into
// one 16-byte Q4_0 block's qs, then d·(q − 8) as Q4_0's AVX2 widening (one rounding, exact).
DSCHAT_AVX2 void q4_0_x8_row_to_f32_avx2(const std::byte* group, int64_t lane, int64_t cols, float* out) {
  const int64_t blocks = cols / kQuantBlock;
  for (int64_t b = 0; b < blocks; ++b, out += kQuantBlock) {
    const std::byte* p = group + static_cast<size_t>(b) * kQ4_0x8BlockBytes;
    int32_t piece[4];
    for (int k = 0; k < 4; ++k) std::memcpy(&piece[k], p + 16 + 32 * k + 4 * lane, 4);
    uint16_t d16;
    std::memcpy(&d16, p + 2 * lane, sizeof d16);
    const __m128i packed = _mm_set_epi32(piece[3], piece[2], piece[1], piece[0]);
    const __m128i lo = _mm_sub_epi8(_mm_and_si128(packed, _mm_set1_epi8(0x0f)), _mm_set1_epi8(8));
    const __m128i hi = _mm_sub_epi8(_mm_and_si128(_mm_srli_epi16(packed, 4), _mm_set1_epi8(0x0f)), _mm_set1_epi8(8));
    const __m256 d = _mm256_set1_ps(_cvtsh_ss(d16));
    _mm256_storeu_ps(out, _mm256_mul_ps(d, _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(lo))));
    _mm256_storeu_ps(out + 8, _mm256_mul_ps(d, _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_srli_si128(lo, 8)))));
    _mm256_storeu_ps(out + 16, _mm256_mul_ps(d, _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(hi))));
    _mm256_storeu_ps(out + 24, _mm256_mul_ps(d, _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_srli_si128(hi, 8)))));
  }
}

}  // namespace dschat
#endif
