// The four-row GEMVs of the K-quants (Q4_K, Q5_K, Q6_K, over Q8_K activations) and of Q5_0 (over
// Q8_0, at the end of the file), written once and compiled per level: ggml_gemv_avx2.cpp and
// ggml_gemv_avx512.cpp define KQ_TARGET (the function target attribute), KQ_VNNI (1: the
// multiply-accumulates by vpdpwssd / vpdpbusd) and KQ_TOKENS (tokens per pass of the K-quant
// prefill loop) and include this file once, inside no namespace; everything here lands in an
// anonymous namespace of that file.
//
// A super-block of 256 values is eight pieces of 32 (piece p: values 32p .. 32p+31, the layout of
// Q8_K's qs). Each type gives, per piece, the 32 unsigned codes as bytes in value order and a
// vector of 16 int16 scale factors for the 16 int16 pair sums of maddubs(codes, x); per
// super-block, 16 int16 coefficients c_j of the activations' 16-value sums bsums_j, and two
// floats d, e, so that the super-block's dot product is
//   d_x · (d · Σ_p Σ_lanes scale·maddubs(codes_p, x_p) + e · Σ_j c_j · bsums_j)
//   Q4_K, Q5_K   d·s_j·q − dmin·m_j:   scale = s_p (all lanes), c_j = m_{j/2}, e = −dmin
//   Q6_K         d·s_j·(q − 32):      scale = s_2p (lanes 0..7) | s_2p+1 (8..15), c_j = s_j,
//                                     e = −32·d (folded into the integer sum as a shift by 5)
// No int16 pair saturates (2·63·127 < 32767) and the int32 sums stay below 2^29.
//
// Rows in groups of R sharing each activation load (one 8-lane int32 sum per row and
// super-block, converted and scaled once per super-block, one float accumulator per row, summed
// horizontally once per row and token). Two sources of a group's codes and scales:
// - decode (few tokens): unpacked from the blocks in registers each time, the next group's rows
//   prefetched at the pace this group is read;
// - prefill (kUnpackTokens and more): unpacked once per group and span of kSpanBlocks
//   super-blocks into the thread's scratch (codes, scale vectors, coefficients, d, e: 576 bytes
//   per row and super-block, 18 KB for four rows of 2048 columns: L1), then every token passes
//   over it with only the multiply-accumulates left (maddubs, madd + add or vpdpwssd).
#if !defined(KQ_TARGET) || !defined(KQ_VNNI) || !defined(KQ_TOKENS)
#error "define KQ_TARGET, KQ_VNNI and KQ_TOKENS before including ggml_gemv_body.h"
#endif

#include <immintrin.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <type_traits>

#include "engine/ops/weight_kernels.h"
#include "engine/quant/ggml_blocks.h"
#include "engine/quant/quantize.h"

namespace dschat {
namespace {

KQ_TARGET inline __m256i kq_load(const void* p) { return _mm256_loadu_si256(static_cast<const __m256i*>(p)); }

KQ_TARGET inline float kq_horizontal_sum(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

// sum + Σ over lane pairs of scale16 · maddubs(codes, x): codes unsigned, x signed.
KQ_TARGET inline __m256i kq_mac(__m256i sum, __m256i codes, __m256i x, __m256i scale16) {
  const __m256i pairs = _mm256_maddubs_epi16(codes, x);
#if KQ_VNNI
  return _mm256_dpwssd_epi32(sum, pairs, scale16);
#else
  return _mm256_add_epi32(sum, _mm256_madd_epi16(pairs, scale16));
#endif
}

// What a type decodes once per super-block: its pieces' scale factors (Q4_K/Q5_K: s_p as a
// 32-bit word of two equal int16, broadcast from memory: a load, no shuffle; Q6_K: its 16 int8
// scales), c_j, d, e.
struct KqDecoded {
  alignas(32) uint32_t words[8];
  __m128i scales;
  __m256i c16;
  float d, e;
};

// Q4_K / Q5_K's eight 6-bit scales and mins (ggml_blocks.h k_scale_min) as bytes: the low 64
// bits s_0..7, the high m_0..7. Bytes 0..3 / 4..7 of the 12 hold s_0..3 / m_0..3 (low 6 bits)
// and the top 2 bits of s_4..7 / m_4..7; bytes 8..11 their low 4 bits (s low nibble, m high).
KQ_TARGET inline __m128i kq_scales_mins(const uint8_t* packed) {
  uint64_t a01;
  uint32_t a2;
  std::memcpy(&a01, packed, 8);
  std::memcpy(&a2, packed + 8, 4);
  const uint64_t low6 = a01 & 0x3f3f3f3f3f3f3f3full;         // s_0..3, m_0..3
  const uint64_t top2 = (a01 >> 6) & 0x0303030303030303ull;  // top bits of s_4..7, m_4..7
  const uint32_t s47 = (a2 & 0x0f0f0f0f) | static_cast<uint32_t>(top2) << 4;
  const uint32_t m47 = ((a2 >> 4) & 0x0f0f0f0f) | static_cast<uint32_t>(top2 >> 32) << 4;
  return _mm_set_epi32(static_cast<int>(m47), static_cast<int>(low6 >> 32), static_cast<int>(s47),
                       static_cast<int>(low6));
}

// Eight values below 2^16 as 32-bit words v | v << 16.
KQ_TARGET inline __m256i kq_words(__m256i v32) { return _mm256_or_si256(v32, _mm256_slli_epi32(v32, 16)); }

template <bool kFive>
struct KqQ45 {
  using Block = std::conditional_t<kFive, BlockQ5_K, BlockQ4_K>;
  static constexpr bool kFoldCorrection = false;

  KQ_TARGET static inline void decode(const Block& b, KqDecoded& k) {
    const __m128i sm = kq_scales_mins(b.scales);
    _mm256_store_si256(reinterpret_cast<__m256i*>(k.words), kq_words(_mm256_cvtepu8_epi32(sm)));
    k.c16 = _mm256_cvtepu8_epi16(_mm_unpackhi_epi8(sm, sm));  // m_0 m_0 m_1 m_1 ...
    k.d = _cvtsh_ss(b.d);
    k.e = -_cvtsh_ss(b.dmin);
  }
  KQ_TARGET static inline __m256i scale(const KqDecoded& k, int p) {
    return _mm256_set1_epi32(static_cast<int>(k.words[p]));
  }
  // Byte l of qs[32c + l] holds values 64c + l (low nibble) and 64c + 32 + l (high); Q5_K's
  // fifth bit of value 32p + l is bit p of qh[l].
  KQ_TARGET static inline __m256i codes(const Block& b, int p) {
    const __m256i low4 = _mm256_set1_epi8(0x0f);
    const __m256i q = kq_load(b.qs + 32 * (p / 2));
    __m256i c = p % 2 ? _mm256_and_si256(_mm256_srli_epi16(q, 4), low4) : _mm256_and_si256(q, low4);
    if constexpr (kFive) {
      const __m256i qh = kq_load(b.qh);
      const __m256i bit = p <= 4 ? _mm256_slli_epi16(qh, 4 - p) : _mm256_srli_epi16(qh, p - 4);
      c = _mm256_or_si256(c, _mm256_and_si256(bit, _mm256_set1_epi8(0x10)));
    }
    return c;
  }
};

struct KqQ6 {
  using Block = BlockQ6_K;
  static constexpr bool kFoldCorrection = true;  // e = −32·d: the sum minus c·bsums shifted by 5

  KQ_TARGET static inline void decode(const Block& b, KqDecoded& k) {
    const __m128i s8 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(b.scales));
    k.scales = s8;
    k.c16 = _mm256_cvtepi8_epi16(s8);
    k.d = _cvtsh_ss(b.d);
    k.e = -32.0f * k.d;
  }
  // Lanes 0..7 (values 32p .. 32p+15) s_2p, lanes 8..15 s_2p+1 (signed: a shuffle and a widening).
  KQ_TARGET static inline __m256i scale(const KqDecoded& k, int p) {
    const __m128i index = _mm_set_epi64x(0x0101010101010101ll * (2 * p + 1), 0x0101010101010101ll * (2 * p));
    return _mm256_cvtepi8_epi16(_mm_shuffle_epi8(k.scales, index));
  }
  // Value 128h + 32i + l: low 4 bits in ql[64h + 32(i%2) + l] (high nibble for i >= 2), high 2
  // bits at bits 2i of qh[32h + l].
  KQ_TARGET static inline __m256i codes(const Block& b, int p) {
    const int h = p / 4, i = p % 4;
    const __m256i low4 = _mm256_set1_epi8(0x0f), top2 = _mm256_set1_epi8(0x30);
    const __m256i ql = kq_load(b.ql + 64 * h + 32 * (i % 2));
    const __m256i low = i < 2 ? _mm256_and_si256(ql, low4) : _mm256_and_si256(_mm256_srli_epi16(ql, 4), low4);
    const __m256i qh = kq_load(b.qh + 32 * h);
    const __m256i high = i == 3 ? _mm256_srli_epi16(qh, 2) : i == 2 ? qh : _mm256_slli_epi16(qh, 4 - 2 * i);
    return _mm256_or_si256(low, _mm256_and_si256(high, top2));
  }
};

// A row's super-block as the prefill path keeps it (32-byte aligned fields).
struct alignas(32) KqUnpacked {
  uint8_t codes[256];
  int16_t scale[8][16];
  int16_t c16[16];
  float d, e;
  uint8_t pad[24];
};
static_assert(sizeof(KqUnpacked) == 576);

template <typename K>
KQ_TARGET inline void kq_unpack(const typename K::Block& b, KqUnpacked& u) {
  KqDecoded k;
  K::decode(b, k);
#pragma GCC unroll 8
  for (int p = 0; p < 8; ++p) {
    _mm256_store_si256(reinterpret_cast<__m256i*>(u.codes + 32 * p), K::codes(b, p));
    _mm256_store_si256(reinterpret_cast<__m256i*>(u.scale[p]), K::scale(k, p));
  }
  _mm256_store_si256(reinterpret_cast<__m256i*>(u.c16), k.c16);
  u.d = k.d;
  u.e = k.e;
}

// acc += d_x·(d·sum + e·(c·bsums)) for one row's super-block.
template <typename K>
KQ_TARGET inline __m256 kq_scale_in(__m256 acc, __m256i sum, __m256i c16, float d, float e, const BlockQ8_K& x) {
  const __m256i corr = _mm256_madd_epi16(c16, kq_load(x.bsums));
  if constexpr (K::kFoldCorrection) {
    sum = _mm256_sub_epi32(sum, _mm256_slli_epi32(corr, 5));
    return _mm256_fmadd_ps(_mm256_set1_ps(d * x.d), _mm256_cvtepi32_ps(sum), acc);
  } else {
    acc = _mm256_fmadd_ps(_mm256_set1_ps(d * x.d), _mm256_cvtepi32_ps(sum), acc);
    return _mm256_fmadd_ps(_mm256_set1_ps(e * x.d), _mm256_cvtepi32_ps(corr), acc);
  }
}

// out[r] = Σ over super-blocks [b0, b1) of row r's dot product with x, from the blocks.
// `next` (or null): the next group's bytes, prefetched `next_lines` lines per super-block.
template <typename K, int R>
KQ_TARGET inline void kq_rows_direct(const typename K::Block* const row[R], const BlockQ8_K* x, int64_t blocks,
                                     const char* next, size_t next_step, int next_lines, float out[R]) {
  __m256 acc[R];
#pragma GCC unroll 8
  for (int r = 0; r < R; ++r) acc[r] = _mm256_setzero_ps();
  for (int64_t b = 0; b < blocks; ++b) {
    if (next != nullptr) {
      const char* p = next + static_cast<size_t>(b) * next_step;
      for (int l = 0; l < next_lines; ++l) _mm_prefetch(p + 64 * l, _MM_HINT_T0);
    }
    KqDecoded k[R];
    __m256i sum[2][R];  // even and odd pieces: two accumulation chains per row
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r) {
      K::decode(row[r][b], k[r]);
      sum[0][r] = sum[1][r] = _mm256_setzero_si256();
    }
#pragma GCC unroll 8
    for (int p = 0; p < 8; ++p) {
      const __m256i xv = kq_load(x[b].qs + 32 * p);
#pragma GCC unroll 8
      for (int r = 0; r < R; ++r) sum[p % 2][r] = kq_mac(sum[p % 2][r], K::codes(row[r][b], p), xv, K::scale(k[r], p));
    }
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r) {
      acc[r] = kq_scale_in<K>(acc[r], _mm256_add_epi32(sum[0][r], sum[1][r]), k[r].c16, k[r].d, k[r].e, x[b]);
    }
  }
#pragma GCC unroll 8
  for (int r = 0; r < R; ++r) out[r] = kq_horizontal_sum(acc[r]);
}

// The same from unpacked super-blocks for T tokens (x[t] token t's first block), u[r] row r's
// first: each code and scale vector loaded once for the T tokens, each activation vector once
// for the R rows (loads, not arithmetic, bound this loop at one token).
template <typename K, int R, int T>
KQ_TARGET inline void kq_rows_unpacked(const KqUnpacked* const u[R], const BlockQ8_K* const x[T], int64_t blocks,
                                       float out[T][R]) {
  __m256 acc[T][R];
#pragma GCC unroll 8
  for (int t = 0; t < T; ++t) {
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r) acc[t][r] = _mm256_setzero_ps();
  }
  for (int64_t b = 0; b < blocks; ++b) {
    __m256i sum[T][R];
#pragma GCC unroll 8
    for (int t = 0; t < T; ++t) {
#pragma GCC unroll 8
      for (int r = 0; r < R; ++r) sum[t][r] = _mm256_setzero_si256();
    }
#pragma GCC unroll 8
    for (int p = 0; p < 8; ++p) {
      __m256i xv[T];
#pragma GCC unroll 8
      for (int t = 0; t < T; ++t) xv[t] = kq_load(x[t][b].qs + 32 * p);
#pragma GCC unroll 8
      for (int r = 0; r < R; ++r) {
        const KqUnpacked& ub = u[r][b];
        const __m256i codes = _mm256_load_si256(reinterpret_cast<const __m256i*>(ub.codes + 32 * p));
        const __m256i scale = _mm256_load_si256(reinterpret_cast<const __m256i*>(ub.scale[p]));
#pragma GCC unroll 8
        for (int t = 0; t < T; ++t) sum[t][r] = kq_mac(sum[t][r], codes, xv[t], scale);
      }
    }
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r) {
      const KqUnpacked& ub = u[r][b];
      const __m256i c16 = _mm256_load_si256(reinterpret_cast<const __m256i*>(ub.c16));
#pragma GCC unroll 8
      for (int t = 0; t < T; ++t) acc[t][r] = kq_scale_in<K>(acc[t][r], sum[t][r], c16, ub.d, ub.e, x[t][b]);
    }
  }
#pragma GCC unroll 8
  for (int t = 0; t < T; ++t) {
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r) out[t][r] = kq_horizontal_sum(acc[t][r]);
  }
}

constexpr int64_t kUnpackTokens = 3;  // from this many tokens on, a group is unpacked once
constexpr int64_t kSpanBlocks = 8;    // super-blocks of a group unpacked at a time (L1-sized)

// The GEMV entry: y[t*ldy + r] for rows [r0, r1), x.n tokens of Q8_K activations.
template <typename K, int R>
KQ_TARGET void kq_gemv(const WeightMatrix& w, const PreparedActivations& x, float* y, int64_t ldy, int64_t r0,
                       int64_t r1, KernelScratch& scratch) {
  using Block = typename K::Block;
  const int64_t blocks = w.cols / kSuperBlock;
  const size_t row_bytes = w.row_bytes();
  const auto* xq = reinterpret_cast<const BlockQ8_K*>(x.data);
  const auto row_at = [&](int64_t r) {
    return reinterpret_cast<const Block*>(w.data + static_cast<size_t>(r) * row_bytes);
  };

  if (x.n < kUnpackTokens) {
    const size_t next_step = R * sizeof(Block);
    const int next_lines = static_cast<int>((next_step + 63) / 64);
    for (int64_t g = r0; g < r1; g += R) {
      const int count = static_cast<int>(std::min<int64_t>(R, r1 - g));
      const Block* row[R];
      for (int i = 0; i < R; ++i) row[i] = row_at(g + std::min(i, count - 1));
      const char* next = g + R < r1 ? reinterpret_cast<const char*>(row_at(g + R)) : nullptr;
      for (int64_t t = 0; t < x.n; ++t) {
        float sums[R];
        kq_rows_direct<K, R>(row, xq + t * blocks, blocks, t == 0 ? next : nullptr, next_step, next_lines, sums);
        for (int r = 0; r < count; ++r) y[t * ldy + g + r] = sums[r];
      }
    }
    return;
  }

  // Prefill: unpack a group's span once, then every token over it. The scratch floats hold the
  // unpacked records (aligned up to 32 bytes).
  const int64_t span = std::min(kSpanBlocks, blocks);
  float* raw = scratch.widened_floats(static_cast<size_t>(R * span) * sizeof(KqUnpacked) / sizeof(float) + 8);
  auto* unpacked = reinterpret_cast<KqUnpacked*>((reinterpret_cast<uintptr_t>(raw) + 31) & ~uintptr_t{31});
  for (int64_t g = r0; g < r1; g += R) {
    const int count = static_cast<int>(std::min<int64_t>(R, r1 - g));
    for (int64_t b0 = 0; b0 < blocks; b0 += span) {
      const int64_t nb = std::min(span, blocks - b0);
      const KqUnpacked* u[R];
      for (int i = 0; i < R; ++i) {
        const Block* row = row_at(g + std::min(i, count - 1)) + b0;
        KqUnpacked* dst = unpacked + i * span;
        if (i < count) {
          for (int64_t b = 0; b < nb; ++b) kq_unpack<K>(row[b], dst[b]);
        }
        u[i] = unpacked + std::min(i, count - 1) * span;
      }
      // Tokens KQ_TOKENS at a time (the last ones one by one).
      for (int64_t t0 = 0; t0 < x.n;) {
        const int tokens = x.n - t0 >= KQ_TOKENS ? KQ_TOKENS : 1;
        const BlockQ8_K* xt[KQ_TOKENS];
        float sums[KQ_TOKENS][R];
        for (int t = 0; t < tokens; ++t) xt[t] = xq + (t0 + t) * blocks + b0;
        if (tokens == KQ_TOKENS)
          kq_rows_unpacked<K, R, KQ_TOKENS>(u, xt, nb, sums);
        else
          kq_rows_unpacked<K, R, 1>(u, xt, nb, sums);
        for (int t = 0; t < tokens; ++t) {
          float* yt = y + (t0 + t) * ldy + g;
          if (b0 == 0) {
            for (int r = 0; r < count; ++r) yt[r] = sums[t][r];
          } else {
            for (int r = 0; r < count; ++r) yt[r] += sums[t][r];
          }
        }
        t0 += tokens;
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Q5_0 (32 values, fp16 d, 5-bit q = nibble | fifth bit << 4, w = d·(q − 16)) over Q8_0
// activations, four rows at a time as kernels_avx2.cpp's Q4_0 GEMV: the codes are unsigned, so
// Σ (q − 16)·x·d_w·d_x = d_w·(d_x·Σ q·x) − d_w·(16·d_x·Σ x), the last factor made once per call and
// token and taken eight blocks at a time as one FMA per row; the eight blocks' d_w gathered
// through general registers and converted by one vcvtph2ps. Per row and block: the nibbles (a
// broadcast load, vpsrlvd, AND), the fifth bits (AVX2: shuffle, AND, compare, AND, OR; AVX-512:
// one masked byte add under the 32-bit qh as a mask), the product (AVX2: maddubs + madd;
// VNNI: one vpdpbusd), a convert and an FMA.

// d of blocks c0 .. c0+7 of a row (fewer at its end: the rest 0) as eight fp16 in a vector.
KQ_TARGET inline __m128i q5_0_scales_f16(const BlockQ5_0* row, int64_t c0, int64_t count) {
  const auto d = [&](int64_t i) { return static_cast<uint64_t>(row[c0 + i].d); };
  uint64_t lo = 0, hi = 0;
  if (count == 8) {
    lo = d(0) | d(1) << 16 | d(2) << 32 | d(3) << 48;
    hi = d(4) | d(5) << 16 | d(6) << 32 | d(7) << 48;
  } else {
    for (int64_t i = 0; i < count; ++i) (i < 4 ? lo : hi) |= d(i) << (16 * (i % 4));
  }
  return _mm_set_epi64x(static_cast<long long>(hi), static_cast<long long>(lo));
}

KQ_TARGET inline __m256i q5_0_codes(const BlockQ5_0& b) {
  const __m256i packed = _mm256_broadcastsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(b.qs)));
  const __m256i nibbles =
      _mm256_and_si256(_mm256_srlv_epi32(packed, _mm256_set_epi32(4, 4, 4, 4, 0, 0, 0, 0)), _mm256_set1_epi8(0x0f));
  uint32_t bits;
  std::memcpy(&bits, b.qh, 4);
#if KQ_VNNI
  return _mm256_mask_add_epi8(nibbles, static_cast<__mmask32>(bits), nibbles, _mm256_set1_epi8(16));
#else
  const __m256i spread = _mm256_shuffle_epi8(
      _mm256_set1_epi32(static_cast<int>(bits)),
      _mm256_set_epi64x(0x0303030303030303, 0x0202020202020202, 0x0101010101010101, 0x0000000000000000));
  const __m256i bit = _mm256_set1_epi64x(static_cast<int64_t>(0x8040201008040201ull));
  const __m256i fifth = _mm256_and_si256(_mm256_cmpeq_epi8(_mm256_and_si256(spread, bit), bit), _mm256_set1_epi8(0x10));
  return _mm256_or_si256(nibbles, fifth);
#endif
}

// Σ codes·x over the block as 8 int32 lanes.
KQ_TARGET inline __m256i q5_0_products(__m256i codes, __m256i x) {
#if KQ_VNNI
  return _mm256_dpbusd_epi32(_mm256_setzero_si256(), codes, x);
#else
  return _mm256_madd_epi16(_mm256_maddubs_epi16(codes, x), _mm256_set1_epi16(1));
#endif
}

// acc[r] += (Σ codes·x of row r's block b)·scale[8·r]: the codes unpacked (from `unpacked[r]`,
// block s0 first) or made from the row's block.
template <int R>
[[gnu::always_inline]] KQ_TARGET inline void q5_0_block(__m256 acc[R], const BlockQ5_0* const row[R],
                                                        const uint8_t* const unpacked[R], bool unpack,
                                                        const BlockQ8_0* xb, int64_t s0, int64_t b,
                                                        const float* scale) {
  const __m256i xv = kq_load(xb[b].qs);
#pragma GCC unroll 8
  for (int r = 0; r < R; ++r) {
    const __m256i c = unpack ? _mm256_load_si256(reinterpret_cast<const __m256i*>(unpacked[r] + 32 * (b - s0)))
                             : q5_0_codes(row[r][b]);
    const __m256 dot = _mm256_cvtepi32_ps(q5_0_products(c, xv));
    acc[r] = _mm256_fmadd_ps(dot, _mm256_broadcast_ss(scale + 8 * r), acc[r]);
  }
}

template <int R>
KQ_TARGET void q5_0_gemv(const WeightMatrix& w, const PreparedActivations& x, float* y, int64_t ldy, int64_t r0,
                         int64_t r1, KernelScratch& scratch) {
  const int64_t blocks = w.cols / 32, padded = (blocks + 7) / 8 * 8;
  const size_t row_bytes = w.row_bytes();
  const auto* xq_all = reinterpret_cast<const BlockQ8_0*>(x.data);
  const auto row_at = [&](int64_t r) {
    return reinterpret_cast<const BlockQ5_0*>(w.data + static_cast<size_t>(r) * row_bytes);
  };
  // Prefill (kUnpackTokens and more): a group's codes unpacked once per span of 64 blocks (8 KB
  // for four rows), every token then reading them; decode: one span, codes made in registers.
  const bool unpack = x.n >= kUnpackTokens;
  const int64_t span = unpack ? std::min<int64_t>(64, padded) : padded;

  // Per token: d_x and 16·d_x·Σ x per block (zero-padded to a multiple of 8), once per call; then
  // the unpacked codes (32-byte aligned).
  const size_t token_floats = static_cast<size_t>(2 * padded * x.n);
  float* per_token = scratch.widened_floats(token_floats + (unpack ? static_cast<size_t>(R * span * 9 + 8) : 0));
  auto* codes_buffer =
      reinterpret_cast<uint8_t*>((reinterpret_cast<uintptr_t>(per_token + token_floats) + 31) & ~uintptr_t{31});
  auto* dw_buffer = reinterpret_cast<float*>(codes_buffer + 32 * R * span);  // d_w as float, zero past the row
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
      const __m256i sum = q5_0_products(_mm256_set1_epi8(1), kq_load(xb.qs));
      bias[b] = 16.0f * dx[b] * kq_horizontal_sum(_mm256_cvtepi32_ps(sum));  // exact: |Σ x| < 2^24
    }
  }

  const size_t next_step = R * sizeof(BlockQ5_0);
  for (int64_t g = r0; g < r1; g += R) {
    const int count = static_cast<int>(std::min<int64_t>(R, r1 - g));
    const BlockQ5_0* row[R];
    for (int i = 0; i < R; ++i) row[i] = row_at(g + std::min(i, count - 1));
    const char* next = unpack ? nullptr : reinterpret_cast<const char*>(row_at(std::min(g + R, r1 - 1)));
    for (int64_t s0 = 0; s0 < blocks; s0 += span) {
      const int64_t s1 = std::min(blocks, s0 + span);
      if (unpack) {
        for (int i = 0; i < count; ++i) {
          for (int64_t b = s0; b < s1; ++b) {
            _mm256_store_si256(reinterpret_cast<__m256i*>(codes_buffer + 32 * (i * span + b - s0)),
                               q5_0_codes(row[i][b]));
          }
          for (int64_t b = s0; b < s0 + span; ++b)
            dw_buffer[i * span + b - s0] = b < s1 ? _cvtsh_ss(row[i][b].d) : 0.0f;
        }
      }
      const float* dw_row[R];
      for (int i = 0; i < R; ++i) dw_row[i] = dw_buffer + std::min(i, count - 1) * span;
      const uint8_t* unpacked[R];  // row r's codes of block s0 (unpack only)
      for (int i = 0; i < R; ++i) unpacked[i] = codes_buffer + 32 * std::min(i, count - 1) * span;
      for (int64_t t = 0; t < x.n; ++t) {
        const BlockQ8_0* xb = xq_all + t * blocks;
        const float* dx = per_token + 2 * padded * t;
        const float* bias = dx + padded;
        __m256 acc[R], acc_odd[R];
#pragma GCC unroll 8
        for (int r = 0; r < R; ++r) acc[r] = acc_odd[r] = _mm256_setzero_ps();
        for (int64_t c0 = s0; c0 < s1; c0 += 8) {
          const int64_t c1 = std::min(s1, c0 + 8);
          alignas(32) float scale[R][8];
          const __m256 dx8 = _mm256_loadu_ps(dx + c0);
#pragma GCC unroll 8
          for (int r = 0; r < R; ++r) {
            const __m256 dw8 =
                unpack ? _mm256_loadu_ps(dw_row[r] + (c0 - s0)) : _mm256_cvtph_ps(q5_0_scales_f16(row[r], c0, c1 - c0));
            _mm256_store_ps(scale[r], _mm256_mul_ps(dw8, dx8));
            acc[r] = _mm256_fnmadd_ps(dw8, _mm256_loadu_ps(bias + c0), acc[r]);
          }
          // Even blocks into acc, odd into acc_odd: two FMA chains per row.
          for (int64_t b = c0; b < c1; b += 2) {
            if (t == 0 && next != nullptr) {  // every line of the next group's share of two blocks (176 bytes)
              const char* p = next + static_cast<size_t>(b) * next_step;
              _mm_prefetch(p, _MM_HINT_T0);
              _mm_prefetch(p + 64, _MM_HINT_T0);
              _mm_prefetch(p + 128, _MM_HINT_T0);
            }
            q5_0_block<R>(acc, row, unpacked, unpack, xb, s0, b, scale[0] + (b - c0));
            if (b + 1 < c1) q5_0_block<R>(acc_odd, row, unpacked, unpack, xb, s0, b + 1, scale[0] + (b + 1 - c0));
          }
        }
#pragma GCC unroll 8
        for (int r = 0; r < R; ++r) acc[r] = _mm256_add_ps(acc[r], acc_odd[r]);
        float sums[R];
#pragma GCC unroll 8
        for (int r = 0; r < R; ++r) sums[r] = kq_horizontal_sum(acc[r]);
        float* yt = y + t * ldy + g;
        if (s0 == 0) {
          for (int r = 0; r < count; ++r) yt[r] = sums[r];
        } else {
          for (int r = 0; r < count; ++r) yt[r] += sums[r];
        }
      }
    }
  }
}

}  // namespace
}  // namespace dschat
