// The AVX-512 GEMV of Q4_0_X8 (engine/quant/q4_0_x8.h), decode and prefill: the AVX2 kernel's
// scheme (q4_0_x8_avx2.cpp: one row per 32-bit lane, the stored nibble q = w + 8 unsigned, the
// −8·Σx bias per activation block made once per call) with the byte products done by VNNI:
// - vpdpbusd (AVX512VL + VNNI, on ymm) multiplies the u8 nibbles by the s8 activations, four
//   to a lane, and adds them to the lane's int32: one instruction where AVX2 needs maddubs, an
//   int16 add and (once per block) madd. A block is eight of them per token, in two chains of
//   four (the low and the high nibbles) so their 4-cycle latency overlaps;
// - 32 ymm registers hold a block's eight unpacked nibble vectors and the accumulators of up
//   to eight tokens, so the unpacking (12 ops per block of eight rows) is shared by eight tokens
//   instead of four.
// The sums are exact in int32 (|Σ q·x| ≤ 32·15·127 per block), then scaled as floats:
// d_w·(d_x·Σ q·x − 8·d_x·Σx), the same two roundings as the AVX2 kernel.
// Measured: docs/benchmarks.md, "The AVX-512 level on real widths".
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

constexpr int kMaxTokens = 8;  // tokens per pass over a group (registers: 8 nibbles + 8 sums)

// Σ of the eight int32 lanes.
DSCHAT_AVX512 inline int32_t sum_lanes(__m256i v) {
  __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4e));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xb1));
  return _mm_cvtsi128_si32(s);
}

DSCHAT_AVX512 inline __m256i broadcast_4_bytes(const int8_t* p) {
  int32_t v;
  std::memcpy(&v, p, sizeof v);
  return _mm256_set1_epi32(v);
}

// The eight rows of the group at `group` (rows first .. first+7) for T tokens (x[t], dx[t],
// bias[t] of token t), written to y[t*ldy + r] for the rows r in [r0, r1).
template <int T>
DSCHAT_AVX512 void group_tokens(const std::byte* group, int64_t blocks, int64_t first, const BlockQ8_0* const x[],
                                const float* const dx[], const float* const bias[], float* y, int64_t ldy, int64_t r0,
                                int64_t r1) {
  const __m256i low = _mm256_set1_epi8(0x0f);
  __m256 acc[T];
#pragma GCC unroll 8
  for (int t = 0; t < T; ++t) acc[t] = _mm256_setzero_ps();
  for (int64_t b = 0; b < blocks; ++b) {
    const std::byte* p = group + static_cast<size_t>(b) * kQ4_0x8BlockBytes;
    prefetch_q4_0_x8_ahead(p);
    __m256i lo[4], hi[4];  // chunk k: weights 4k..4k+3 (low nibbles) and 16+4k.. (high) of each row
#pragma GCC unroll 4
    for (int k = 0; k < 4; ++k) {
      const __m256i q = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + 16 + 32 * k));
      lo[k] = _mm256_and_si256(q, low);
      hi[k] = _mm256_and_si256(_mm256_srli_epi16(q, 4), low);
    }
    const __m256 dw = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
#pragma GCC unroll 8
    for (int t = 0; t < T; ++t) {
      const int8_t* xs = x[t][b].qs;
      __m256i s_lo = _mm256_dpbusd_epi32(_mm256_setzero_si256(), lo[0], broadcast_4_bytes(xs));
      __m256i s_hi = _mm256_dpbusd_epi32(_mm256_setzero_si256(), hi[0], broadcast_4_bytes(xs + 16));
#pragma GCC unroll 4
      for (int k = 1; k < 4; ++k) {
        s_lo = _mm256_dpbusd_epi32(s_lo, lo[k], broadcast_4_bytes(xs + 4 * k));
        s_hi = _mm256_dpbusd_epi32(s_hi, hi[k], broadcast_4_bytes(xs + 16 + 4 * k));
      }
      const __m256 qx = _mm256_cvtepi32_ps(_mm256_add_epi32(s_lo, s_hi));
      const __m256 block = _mm256_fmsub_ps(qx, _mm256_broadcast_ss(dx[t] + b), _mm256_broadcast_ss(bias[t] + b));
      acc[t] = _mm256_fmadd_ps(dw, block, acc[t]);
    }
  }
  const int64_t lo = std::max(r0, first), hi = std::min(r1, first + kQ4_0x8Rows);
  const __mmask8 rows = static_cast<__mmask8>(((1u << (hi - first)) - 1) & ~((1u << (lo - first)) - 1));
#pragma GCC unroll 8
  for (int t = 0; t < T; ++t) _mm256_mask_storeu_ps(y + t * ldy + first, rows, acc[t]);
}

}  // namespace

DSCHAT_AVX512 void q4_0_x8_gemv_avx512(const WeightMatrix& w, const PreparedActivations& x, float* y, int64_t ldy,
                                       int64_t r0, int64_t r1, KernelScratch& scratch) {
  if (r0 >= r1) return;
  const int64_t blocks = w.cols / kQuantBlock;
  const size_t group_bytes = kQ4_0x8Rows * w.row_bytes();
  const auto* xq = reinterpret_cast<const BlockQ8_0*>(x.data);
  // Per token and block: d_x as float and 8·d_x·Σ x, once per call (Σ x by vpdpbusd of ones).
  float* per_token = scratch.widened_floats(static_cast<size_t>(2 * blocks * x.n));
  const __m256i ones8 = _mm256_set1_epi8(1);
  for (int64_t t = 0; t < x.n; ++t) {
    float* dx = per_token + 2 * blocks * t;
    float* bias = dx + blocks;
    for (int64_t b = 0; b < blocks; ++b) {
      const BlockQ8_0& xb = xq[t * blocks + b];
      dx[b] = _cvtsh_ss(xb.d);
      const __m256i xv = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(xb.qs));
      const int32_t sum = sum_lanes(_mm256_dpbusd_epi32(_mm256_setzero_si256(), ones8, xv));
      bias[b] = 8.0f * dx[b] * static_cast<float>(sum);  // exact: |Σ x| ≤ 32·127
    }
  }
  // Groups outer, tokens inner (eight at a time): a group's 8 rows (144 bytes a block) stay in L1
  // while every token passes over them, so a prefill reads its weights once.
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
      with_token_count<kMaxTokens>(n, [&](auto tokens) DSCHAT_AVX512 {
        group_tokens<decltype(tokens)::value>(group, blocks, first, xs, dx, bias, yt, ldy, r0, r1);
      });
    }
  }
}

}  // namespace dschat
#endif
