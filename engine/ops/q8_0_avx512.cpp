// The AVX-512 GEMV of Q8_0 (row-major blocks), decode and prefill, over activations quantized
// to Q8_0 once per call:
// - vpdpbusd (AVX512VL + VNNI, ymm) wants u8 × s8, so the weights are made unsigned by flipping
//   their sign bit (w + 128, one XOR per weight vector, shared by every token), and each lane
//   sums four (w + 128)·x into int32. The 128·Σx this adds per block is made once per call and
//   token and is where the dot product starts: lane 0 of the accumulator holds −128·Σx (the
//   eight lanes share one scale, so only their sum matters). One instruction per 32 weights and
//   token, where AVX2 takes two sign flips, maddubs and madd;
// - a tile of 4 rows × up to 4 tokens: each weight vector is loaded and flipped once for the
//   four tokens, each activation vector once for the four rows, and the 16 accumulators (8
//   float lanes each, scaled per block by d_w·d_x) are reduced horizontally once at the end;
// - the scales d_w·d_x are made eight blocks at a time per row and token (the eight fp16 d_w
//   gathered through integer registers, one vcvtph2ps, one multiply by the eight d_x), and
//   each block then broadcasts its own from memory;
// - the next four rows are prefetched at the pace these are read (the first token tile only).
// Integer sums are exact (|lane| ≤ 4·255·127 + 128·32·127 < 2^24, so the conversion is too);
// the float scaling rounds as the AVX2 kernel's. Measured: docs/benchmarks.md, "The AVX-512
// level on real widths".
#include "engine/ops/q8_0_kernels.h"

#if defined(__x86_64__)
#include <immintrin.h>

#include <algorithm>
#include <cstring>

#include "engine/quant/quantize.h"

namespace dschat {
namespace {

#define DSCHAT_AVX512 __attribute__((target("avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni")))

constexpr int kRows = 4;    // rows per tile
constexpr int kTokens = 4;  // tokens per tile

// d_w of blocks c0 .. c0+count-1 of a row (count ≤ 8, the rest 0) as eight fp16 values, packed in
// general registers (stores and a vector reload would stall on store forwarding).
inline __m128i block_scales_f16(const std::byte* row, int64_t c0, int64_t count) {
  const std::byte* p = row + static_cast<size_t>(c0) * sizeof(BlockQ8_0);
  const auto d = [p](int i) {
    uint16_t v;
    std::memcpy(&v, p + static_cast<size_t>(i) * sizeof(BlockQ8_0), sizeof v);
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

// Σ of the eight int32 lanes.
DSCHAT_AVX512 inline int32_t sum_lanes(__m256i v) {
  __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4e));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xb1));
  return _mm_cvtsi128_si32(s);
}

// [Σa, Σb, Σc, Σd] of four 8-lane vectors.
DSCHAT_AVX512 inline __m128 sum4(__m256 a, __m256 b, __m256 c, __m256 d) {
  const __m256 abcd = _mm256_hadd_ps(_mm256_hadd_ps(a, b), _mm256_hadd_ps(c, d));
  return _mm_add_ps(_mm256_castps256_ps128(abcd), _mm256_extractf128_ps(abcd, 1));
}

// Per token: d_x per block as float, and −128·Σx per block; both zero-padded to `padded` blocks.
struct TokenTerms {
  const float* dx;
  const int32_t* offset;
};

// Rows row[0..3] (the last repeated when fewer) for T tokens, written to y[t*ldy + i] for
// i < count. `next`: the next rows to prefetch, `next_step` bytes of them per block (null: none).
template <int T>
DSCHAT_AVX512 void tile(const std::byte* const row[kRows], int64_t blocks, const BlockQ8_0* const x[],
                        const TokenTerms terms[], const char* next, size_t next_step, float* y, int64_t ldy,
                        int count) {
  const __m256i flip = _mm256_set1_epi8(static_cast<char>(0x80));
  __m256 acc[kRows][T];
#pragma GCC unroll 4
  for (int r = 0; r < kRows; ++r) {
#pragma GCC unroll 4
    for (int t = 0; t < T; ++t) acc[r][t] = _mm256_setzero_ps();
  }
  for (int64_t c0 = 0; c0 < blocks; c0 += 8) {
    const int64_t c1 = std::min(blocks, c0 + 8);
    alignas(32) float scale[kRows][T][8];
#pragma GCC unroll 4
    for (int r = 0; r < kRows; ++r) {
      const __m256 dw8 = _mm256_cvtph_ps(block_scales_f16(row[r], c0, c1 - c0));
#pragma GCC unroll 4
      for (int t = 0; t < T; ++t) _mm256_store_ps(scale[r][t], _mm256_mul_ps(dw8, _mm256_loadu_ps(terms[t].dx + c0)));
    }
    for (int64_t b = c0; b < c1; ++b) {
      if (next != nullptr) {  // every line of the next rows' share of this block (136 bytes)
        const char* p = next + static_cast<size_t>(b) * next_step;
        _mm_prefetch(p, _MM_HINT_T0);
        _mm_prefetch(p + 64, _MM_HINT_T0);
        _mm_prefetch(p + 128, _MM_HINT_T0);
      }
      __m256i wv[kRows];
#pragma GCC unroll 4
      for (int r = 0; r < kRows; ++r) {
        const auto* wb = reinterpret_cast<const BlockQ8_0*>(row[r]) + b;
        wv[r] = _mm256_xor_si256(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(wb->qs)), flip);
      }
#pragma GCC unroll 4
      for (int t = 0; t < T; ++t) {
        const __m256i xv = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x[t][b].qs));
        const __m256i start = _mm256_zextsi128_si256(_mm_cvtsi32_si128(terms[t].offset[b]));
#pragma GCC unroll 4
        for (int r = 0; r < kRows; ++r) {
          const __m256 dot = _mm256_cvtepi32_ps(_mm256_dpbusd_epi32(start, wv[r], xv));
          acc[r][t] = _mm256_fmadd_ps(dot, _mm256_broadcast_ss(&scale[r][t][b - c0]), acc[r][t]);
        }
      }
    }
  }
  const __mmask8 rows = static_cast<__mmask8>((1u << count) - 1);
#pragma GCC unroll 4
  for (int t = 0; t < T; ++t) {
    _mm_mask_storeu_ps(y + t * ldy, rows, sum4(acc[0][t], acc[1][t], acc[2][t], acc[3][t]));
  }
}

// Prefill: eight rows at a time transposed in registers into the Q4_0_X8-like form (vector k,
// lane r: bytes 4k..4k+3 of row r's block), once per block for up to eight tokens; then each
// token's block is eight vpdpbusd with its four activation bytes broadcast, one conversion and
// one FMA for all eight rows (the 4×4 tile needs a conversion and an FMA per row and token).
constexpr int kGroupRows = 8, kGroupTokens = 8;

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
  if (r0 >= r1) return;
  const int64_t blocks = w.cols / kQuantBlock, padded = (blocks + 7) / 8 * 8;
  const size_t row_bytes = w.row_bytes();
  const auto* xq = reinterpret_cast<const BlockQ8_0*>(x.data);

  // Per token: d_x and −128·Σx per block (Σx by vpdpbusd of ones), once per call.
  float* per_token = scratch.widened_floats(static_cast<size_t>(2 * padded * x.n));
  const __m256i ones8 = _mm256_set1_epi8(1);
  for (int64_t t = 0; t < x.n; ++t) {
    float* dx = per_token + 2 * padded * t;
    auto* offset = reinterpret_cast<int32_t*>(dx + padded);
    for (int64_t b = 0; b < padded; ++b) {
      if (b >= blocks) {
        dx[b] = 0;
        offset[b] = 0;
        continue;
      }
      const BlockQ8_0& xb = xq[t * blocks + b];
      dx[b] = _cvtsh_ss(xb.d);
      const __m256i xv = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(xb.qs));
      offset[b] = -128 * sum_lanes(_mm256_dpbusd_epi32(_mm256_setzero_si256(), ones8, xv));
    }
  }

  if (x.n >= kTokens) {  // prefill: groups of eight rows transposed in registers
    const BlockQ8_0* xs[kGroupTokens];
    TokenTerms terms[kGroupTokens];
    for (int64_t g = r0; g < r1; g += kGroupRows) {
      const int count = static_cast<int>(std::min<int64_t>(kGroupRows, r1 - g));
      const std::byte* row[kGroupRows];
      for (int i = 0; i < kGroupRows; ++i)
        row[i] = w.data + static_cast<size_t>(g + std::min(i, count - 1)) * row_bytes;
      for (int64_t t0 = 0; t0 < x.n; t0 += kGroupTokens) {
        const int n = static_cast<int>(std::min<int64_t>(kGroupTokens, x.n - t0));
        for (int i = 0; i < n; ++i) {
          xs[i] = xq + (t0 + i) * blocks;
          const float* dx = per_token + 2 * padded * (t0 + i);
          terms[i] = {dx, reinterpret_cast<const int32_t*>(dx + padded)};
        }
        float* yt = y + t0 * ldy + g;
        switch (n) {
          case 1:
            group_tokens<1>(row, blocks, xs, terms, yt, ldy, count);
            break;
          case 2:
            group_tokens<2>(row, blocks, xs, terms, yt, ldy, count);
            break;
          case 3:
            group_tokens<3>(row, blocks, xs, terms, yt, ldy, count);
            break;
          case 4:
            group_tokens<4>(row, blocks, xs, terms, yt, ldy, count);
            break;
          case 5:
            group_tokens<5>(row, blocks, xs, terms, yt, ldy, count);
            break;
          case 6:
            group_tokens<6>(row, blocks, xs, terms, yt, ldy, count);
            break;
          case 7:
            group_tokens<7>(row, blocks, xs, terms, yt, ldy, count);
            break;
          default:
            group_tokens<8>(row, blocks, xs, terms, yt, ldy, count);
            break;
        }
      }
    }
    return;
  }

  const BlockQ8_0* xs[kTokens];
  TokenTerms terms[kTokens];
  const size_t next_step = kRows * row_bytes / static_cast<size_t>(blocks);
  for (int64_t g = r0; g < r1; g += kRows) {
    const int count = static_cast<int>(std::min<int64_t>(kRows, r1 - g));
    const std::byte* row[kRows];
    for (int i = 0; i < kRows; ++i) row[i] = w.data + static_cast<size_t>(g + std::min(i, count - 1)) * row_bytes;
    const char* next =
        reinterpret_cast<const char*>(w.data + static_cast<size_t>(std::min(g + kRows, r1 - 1)) * row_bytes);
    for (int64_t t0 = 0; t0 < x.n; t0 += kTokens) {
      const int n = static_cast<int>(std::min<int64_t>(kTokens, x.n - t0));
      for (int i = 0; i < n; ++i) {
        xs[i] = xq + (t0 + i) * blocks;
        const float* dx = per_token + 2 * padded * (t0 + i);
        terms[i] = {dx, reinterpret_cast<const int32_t*>(dx + padded)};
      }
      const char* prefetch = t0 == 0 ? next : nullptr;
      float* yt = y + t0 * ldy + g;
      switch (n) {
        case 1:
          tile<1>(row, blocks, xs, terms, prefetch, next_step, yt, ldy, count);
          break;
        case 2:
          tile<2>(row, blocks, xs, terms, prefetch, next_step, yt, ldy, count);
          break;
        case 3:
          tile<3>(row, blocks, xs, terms, prefetch, next_step, yt, ldy, count);
          break;
        default:
          tile<4>(row, blocks, xs, terms, prefetch, next_step, yt, ldy, count);
          break;
      }
    }
  }
}

}  // namespace dschat
#endif
