// The AVX-512 GEMV of Q8_0 (row-major blocks) for five tokens or more (prefill),
// over activations quantized to Q8_0 once per call; fewer tokens (decode, bandwidth-bound) run
// the AVX2 level's GEMV, which read DRAM slightly faster (q8_0_kernels.h).
// - vpdpbusd (AVX512VL + VNNI, ymm) wants u8 × s8, so the weights are made unsigned by flipping
//   their sign bit (w + 128, one XOR per weight vector, shared by every token); the 128·Σx this
//   adds per block is made once per call and token and is where each row's sum starts.
// - Eight rows at a time, block by block: the eight rows' 32-byte blocks are transposed in
//   registers (24 unpacks and lane permutes) so that vector k holds bytes 4k..4k+3 of row r in
//   lane r, the layout Q4_0_X8 stores (engine/quant/q4_0_x8.h). A token's block is then eight
//   vpdpbusd against its four activation bytes broadcast, in two chains, one conversion and
//   one FMA by the eight rows' d_w (one vcvtph2ps, gathered through integer registers) times
//   the token's d_x: for all eight rows, where a row-major tile needs a conversion and an FMA per
//   row and token. The transposition is shared by up to eight tokens a pass (32 ymm registers:
//   8 weight vectors, 8 accumulators), and the group's rows (8 · 2176 bytes at 2048 columns)
//   stay in L1 while every token passes over them.
// Integer sums are exact (|lane| ≤ 32·255·127 + 128·32·127 < 2^24, so the conversion is too);
// the float scaling is d_w·d_x·Σ w·x per block, as the AVX2 kernel's. Measured: docs/benchmarks.md,
// "The AVX-512 level on real widths".
#include "engine/ops/q8_0_kernels.h"
#include "engine/ops/simd_target.h"
#include "engine/ops/token_count.h"

#if defined(__x86_64__)
#include <immintrin.h>

#include <algorithm>
#include <cstring>

#include "engine/quant/quantize.h"

namespace dschat {
namespace {

constexpr int kGroupRows = 8, kGroupTokens = 8;
// Fewer tokens run q8_0_gemv_avx2: decode, and MTP's verify of up to 3 drafts + 1, which must
// give bit for bit what one-token steps give (MtpVerify.BitIdenticalToOneTokenAppends).
constexpr int64_t kMinTokens = 5;

// Σ of the eight int32 lanes.
DSCHAT_AVX512 inline int32_t sum_lanes(__m256i v) {
  __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4e));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xb1));
  return _mm_cvtsi128_si32(s);
}

// Per token: d_x per block as float, and −128·Σx per block.
struct TokenTerms {
  const float* dx;
  const int32_t* offset;
};

// a[r] = the 8 dwords of row r → a[k] = dword k of rows 0..7.
DSCHAT_AVX512 inline void transpose_8x8(__m256i a[8]) {
  __m256i t[8], u[8];
#pragma GCC unroll 4
  for (int i = 0; i < 4; ++i) {
    t[2 * i] = _mm256_unpacklo_epi32(a[2 * i], a[2 * i + 1]);
    t[2 * i + 1] = _mm256_unpackhi_epi32(a[2 * i], a[2 * i + 1]);
  }
#pragma GCC unroll 2
  for (int h = 0; h < 2; ++h) {  // rows 0-3, 4-7
    u[4 * h + 0] = _mm256_unpacklo_epi64(t[4 * h], t[4 * h + 2]);
    u[4 * h + 1] = _mm256_unpackhi_epi64(t[4 * h], t[4 * h + 2]);
    u[4 * h + 2] = _mm256_unpacklo_epi64(t[4 * h + 1], t[4 * h + 3]);
    u[4 * h + 3] = _mm256_unpackhi_epi64(t[4 * h + 1], t[4 * h + 3]);
  }
#pragma GCC unroll 4
  for (int k = 0; k < 4; ++k) {
    a[k] = _mm256_permute2x128_si256(u[k], u[4 + k], 0x20);
    a[k + 4] = _mm256_permute2x128_si256(u[k], u[4 + k], 0x31);
  }
}

// Rows row[0..7] (the last repeated when fewer) for T tokens, written to y[t*ldy + i] for
// i < count.
template <int T>
DSCHAT_AVX512 void group_tokens(const std::byte* const row[kGroupRows], int64_t blocks, const BlockQ8_0* const x[],
                                const TokenTerms terms[], float* y, int64_t ldy, int count) {
  const __m256i flip = _mm256_set1_epi8(static_cast<char>(0x80));
  __m256 acc[T];
#pragma GCC unroll 8
  for (int t = 0; t < T; ++t) acc[t] = _mm256_setzero_ps();
  for (int64_t b = 0; b < blocks; ++b) {
    __m256i v[kGroupRows];
    uint64_t lo = 0, hi = 0;
#pragma GCC unroll 8
    for (int r = 0; r < kGroupRows; ++r) {
      const auto* wb = reinterpret_cast<const BlockQ8_0*>(row[r]) + b;
      v[r] = _mm256_xor_si256(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(wb->qs)), flip);
      (r < 4 ? lo : hi) |= static_cast<uint64_t>(wb->d) << (16 * (r % 4));
    }
    transpose_8x8(v);
    const __m256 dw = _mm256_cvtph_ps(_mm_set_epi64x(static_cast<long long>(hi), static_cast<long long>(lo)));
#pragma GCC unroll 8
    for (int t = 0; t < T; ++t) {
      const int8_t* xs = x[t][b].qs;
      __m256i s0 = _mm256_set1_epi32(terms[t].offset[b]), s1 = _mm256_setzero_si256();
#pragma GCC unroll 4
      for (int k = 0; k < 4; ++k) {
        int32_t x0, x1;
        std::memcpy(&x0, xs + 8 * k, sizeof x0);
        std::memcpy(&x1, xs + 8 * k + 4, sizeof x1);
        s0 = _mm256_dpbusd_epi32(s0, v[2 * k], _mm256_set1_epi32(x0));
        s1 = _mm256_dpbusd_epi32(s1, v[2 * k + 1], _mm256_set1_epi32(x1));
      }
      const __m256 dot = _mm256_cvtepi32_ps(_mm256_add_epi32(s0, s1));
      acc[t] = _mm256_fmadd_ps(_mm256_mul_ps(dw, _mm256_broadcast_ss(terms[t].dx + b)), dot, acc[t]);
    }
  }
  const __mmask8 rows = static_cast<__mmask8>((1u << count) - 1);
#pragma GCC unroll 8
  for (int t = 0; t < T; ++t) _mm256_mask_storeu_ps(y + t * ldy, rows, acc[t]);
}

}  // namespace

DSCHAT_AVX512 void q8_0_gemv_avx512(const WeightMatrix& w, const PreparedActivations& x, float* y, int64_t ldy,
                                    int64_t r0, int64_t r1, KernelScratch& scratch) {
  if (x.n < kMinTokens) {
    q8_0_gemv_avx2(w, x, y, ldy, r0, r1, scratch);
    return;
  }
  if (r0 >= r1) return;
  const int64_t blocks = w.cols / kQuantBlock;
  const size_t row_bytes = w.row_bytes();
  const auto* xq = reinterpret_cast<const BlockQ8_0*>(x.data);

  // Per token: d_x and −128·Σx per block (Σx by vpdpbusd of ones), once per call.
  float* per_token = scratch.widened_floats(static_cast<size_t>(2 * blocks * x.n));
  const __m256i ones8 = _mm256_set1_epi8(1);
  for (int64_t t = 0; t < x.n; ++t) {
    float* dx = per_token + 2 * blocks * t;
    auto* offset = reinterpret_cast<int32_t*>(dx + blocks);
    for (int64_t b = 0; b < blocks; ++b) {
      const BlockQ8_0& xb = xq[t * blocks + b];
      dx[b] = _cvtsh_ss(xb.d);
      const __m256i xv = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(xb.qs));
      offset[b] = -128 * sum_lanes(_mm256_dpbusd_epi32(_mm256_setzero_si256(), ones8, xv));
    }
  }

  // Groups of eight rows outer, tokens inner (eight at a time).
  const BlockQ8_0* xs[kGroupTokens];
  TokenTerms terms[kGroupTokens];
  for (int64_t g = r0; g < r1; g += kGroupRows) {
    const int count = static_cast<int>(std::min<int64_t>(kGroupRows, r1 - g));
    const std::byte* row[kGroupRows];
    for (int i = 0; i < kGroupRows; ++i) row[i] = w.data + static_cast<size_t>(g + std::min(i, count - 1)) * row_bytes;
    for (int64_t t0 = 0; t0 < x.n; t0 += kGroupTokens) {
      const int n = static_cast<int>(std::min<int64_t>(kGroupTokens, x.n - t0));
      for (int i = 0; i < n; ++i) {
        xs[i] = xq + (t0 + i) * blocks;
        const float* dx = per_token + 2 * blocks * (t0 + i);
        terms[i] = {dx, reinterpret_cast<const int32_t*>(dx + blocks)};
      }
      float* yt = y + t0 * ldy + g;
      with_token_count<kGroupTokens>(n, [&](auto tokens) DSCHAT_AVX512 {
        group_tokens<decltype(tokens)::value>(row, blocks, xs, terms, yt, ldy, count);
      });
    }
  }
}

}  // namespace dschat
#endif
