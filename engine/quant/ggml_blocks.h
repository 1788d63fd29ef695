// The block layouts of the GGUF weight types beyond Q8_0 / Q4_0 (quantize.h), byte for byte as
// ggml-common.h defines them, and the unpacking of their packed scales. A weight is
//   Q4_1, Q5_1        d·q + m                 blocks of 32, q 4 / 5 bits unsigned
//   Q5_0              d·(q − 16)              blocks of 32, q 5 bits
//   IQ4_NL            d·kIq4Values[q]         blocks of 32, q a 4-bit index into a non-linear grid
//   Q2_K              d·s_j·q − dmin·m_j      256 = 16 sub-blocks of 16, s_j m_j 4 bits, q 2 bits
//   Q3_K              d·(s_j − 32)·q          16 × 16, s_j 6 bits, q in [−4, 3] (2 bits + hmask)
//   Q4_K, Q5_K        d·s_j·q − dmin·m_j      256 = 8 sub-blocks of 32, s_j m_j 6 bits, q 4 / 5 bits
//   Q6_K              d·s_j·(q − 32)          16 × 16, s_j int8, q 6 bits
//   IQ4_XS            d·(s_j − 32)·kIq4Values[q]  8 × 32, s_j 6 bits
// d, dmin, m are fp16. Q8_K is not a weight type of ours but the activations of the 256-value
// types' dot products: a float scale, 256 int8 and the sums of each 16 of them.
// Nibble order (all 4-bit fields): Q4_K / Q5_K: per 64 values, byte l (of 32) holds values l and
// l+32 in its low / high nibble; Q6_K's ql the same per 128 values with 64 bytes; the 32-value
// blocks (Q4_1, Q5_0, Q5_1, IQ4_NL, as Q4_0) and IQ4_XS's sub-blocks: byte l (of 16) holds l and l+16.
#pragma once

#include <cstdint>

namespace dschat {

constexpr int64_t kSuperBlock = 256;  // ggml's QK_K

struct BlockQ4_1 {
  uint16_t d, m;
  uint8_t qs[16];
};
struct BlockQ5_0 {
  uint16_t d;
  uint8_t qh[4];  // bit j of the little-endian uint32: the fifth bit of value j
  uint8_t qs[16];
};
struct BlockQ5_1 {
  uint16_t d, m;
  uint8_t qh[4];
  uint8_t qs[16];
};
struct BlockIQ4_NL {
  uint16_t d;
  uint8_t qs[16];
};
struct BlockQ2_K {
  uint8_t scales[16];  // low nibble s_j, high nibble m_j
  uint8_t qs[64];      // per 128 values: byte l holds values l, l+32, l+64, l+96 at bits 0, 2, 4, 6
  uint16_t d, dmin;
};
struct BlockQ3_K {
  uint8_t hmask[32];  // bit b of byte l: the high bit of value 32·b + l (set means no −4)
  uint8_t qs[64];     // low 2 bits, as Q2_K
  uint8_t scales[12];
  uint16_t d;
};
struct BlockQ4_K {
  uint16_t d, dmin;
  uint8_t scales[12];
  uint8_t qs[128];
};
struct BlockQ5_K {
  uint16_t d, dmin;
  uint8_t scales[12];
  uint8_t qh[32];  // bit b of byte l: the fifth bit of value 32·b + l
  uint8_t qs[128];
};
struct BlockQ6_K {
  uint8_t ql[128];  // low 4 bits: per 128 values, bytes 0..63 hold l and l+64 (l < 64)
  uint8_t qh[64];   // high 2 bits: per 128 values, byte l holds l, l+32, l+64, l+96 at bits 0, 2, 4, 6
  int8_t scales[16];
  uint16_t d;
};
struct BlockQ8_K {
  float d;
  int8_t qs[256];
  int16_t bsums[16];  // Σ qs over each 16
};
struct BlockIQ4_XS {
  uint16_t d;
  uint16_t scales_h;   // high 2 bits of s_j at bits 2j
  uint8_t scales_l[4];  // low 4 bits of s_j: nibble j % 2 of byte j / 2
  uint8_t qs[128];
};

static_assert(sizeof(BlockQ4_1) == 20 && sizeof(BlockQ5_0) == 22 && sizeof(BlockQ5_1) == 24);
static_assert(sizeof(BlockIQ4_NL) == 18 && sizeof(BlockIQ4_XS) == 136);
static_assert(sizeof(BlockQ2_K) == 84 && sizeof(BlockQ3_K) == 110 && sizeof(BlockQ4_K) == 144);
static_assert(sizeof(BlockQ5_K) == 176 && sizeof(BlockQ6_K) == 210 && sizeof(BlockQ8_K) == 292);

// IQ4_NL / IQ4_XS's grid of 16 values.
inline constexpr int8_t kIq4Values[16] = {-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113};

// Q4_K / Q5_K: scale and min of sub-block j (0..7), 6 bits each. Bytes 0..3 hold s_0..3 in
// their low 6 bits, bytes 4..7 m_0..3; s_4..7 / m_4..7 are the low / high nibbles of bytes
// 8..11 with their top two bits in the top bits of bytes 0..3 / 4..7.
inline void k_scale_min(const uint8_t* scales, int j, uint8_t& s, uint8_t& m) {
  if (j < 4) {
    s = scales[j] & 63;
    m = scales[j + 4] & 63;
  } else {
    s = static_cast<uint8_t>((scales[j + 4] & 0x0f) | ((scales[j - 4] >> 6) << 4));
    m = static_cast<uint8_t>((scales[j + 4] >> 4) | ((scales[j] >> 6) << 4));
  }
}

// Q3_K: the 6-bit scale of sub-block j (0..15), before the −32: the low 4 bits are nibble j / 8
// of byte j % 8, the high 2 bits bits 2·(j / 4) of byte 8 + j % 4.
inline int q3_k_scale(const uint8_t* scales, int j) {
  const int low = (scales[j % 8] >> (4 * (j / 8))) & 0x0f;
  const int high = (scales[8 + j % 4] >> (2 * (j / 4))) & 3;
  return low | (high << 4);
}

// IQ4_XS: the 6-bit scale of sub-block j (0..7), before the −32.
inline int iq4_xs_scale(const BlockIQ4_XS& b, int j) {
  return ((b.scales_l[j / 2] >> (4 * (j % 2))) & 0x0f) | (((b.scales_h >> (2 * j)) & 3) << 4);
}

}  // namespace dschat
