#include "engine/quant/ggml_dequantize.h"

#include "engine/quant/half_float.h"

namespace dschat {
namespace {

constexpr int64_t kBlock32 = 32;

inline float f(int v) { return static_cast<float>(v); }

// The 5-bit value j of a Q5_0 / Q5_1 block: nibble | (bit j of qh) << 4.
inline int q5_value(const uint8_t* qs, const uint8_t* qh, int j) {
  const uint32_t high = static_cast<uint32_t>(qh[0]) | static_cast<uint32_t>(qh[1]) << 8 |
                        static_cast<uint32_t>(qh[2]) << 16 | static_cast<uint32_t>(qh[3]) << 24;
  const int nibble = j < 16 ? qs[j] & 0x0f : qs[j - 16] >> 4;
  return nibble | static_cast<int>((high >> j) & 1) << 4;
}

inline int low_nibble_pair(const uint8_t* qs, int j) { return j < 16 ? qs[j] & 0x0f : qs[j - 16] >> 4; }

}  // namespace

void dequantize_row_q4_1(const BlockQ4_1* in, float* out, int64_t n) {
  for (int64_t b = 0; b < n / kBlock32; ++b) {
    const float d = f16_to_f32(in[b].d), m = f16_to_f32(in[b].m);
    for (int j = 0; j < 32; ++j) out[b * 32 + j] = d * f(low_nibble_pair(in[b].qs, j)) + m;
  }
}

void dequantize_row_q5_0(const BlockQ5_0* in, float* out, int64_t n) {
  for (int64_t b = 0; b < n / kBlock32; ++b) {
    const float d = f16_to_f32(in[b].d);
    for (int j = 0; j < 32; ++j) out[b * 32 + j] = d * f(q5_value(in[b].qs, in[b].qh, j) - 16);
  }
}

void dequantize_row_q5_1(const BlockQ5_1* in, float* out, int64_t n) {
  for (int64_t b = 0; b < n / kBlock32; ++b) {
    const float d = f16_to_f32(in[b].d), m = f16_to_f32(in[b].m);
    for (int j = 0; j < 32; ++j) out[b * 32 + j] = d * f(q5_value(in[b].qs, in[b].qh, j)) + m;
  }
}

void dequantize_row_iq4_nl(const BlockIQ4_NL* in, float* out, int64_t n) {
  for (int64_t b = 0; b < n / kBlock32; ++b) {
    const float d = f16_to_f32(in[b].d);
    for (int j = 0; j < 32; ++j) out[b * 32 + j] = d * f(kIq4Values[low_nibble_pair(in[b].qs, j)]);
  }
}

void dequantize_row_q2_k(const BlockQ2_K* in, float* out, int64_t n) {
  for (int64_t b = 0; b < n / kSuperBlock; ++b) {
    const BlockQ2_K& k = in[b];
    const float d = f16_to_f32(k.d), dmin = f16_to_f32(k.dmin);
    for (int half = 0; half < 2; ++half) {
      for (int i = 0; i < 4; ++i) {  // values 128·half + 32·i + l: bits 2i of byte 32·half + l
        const uint8_t* q = k.qs + 32 * half;
        float* o = out + b * kSuperBlock + 128 * half + 32 * i;
        for (int g = 0; g < 2; ++g) {
          const uint8_t sc = k.scales[8 * half + 2 * i + g];
          const float dl = d * f(sc & 0x0f), ml = dmin * f(sc >> 4);
          for (int l = 16 * g; l < 16 * g + 16; ++l) o[l] = dl * f((q[l] >> (2 * i)) & 3) - ml;
        }
      }
    }
  }
}

void dequantize_row_q3_k(const BlockQ3_K* in, float* out, int64_t n) {
  for (int64_t b = 0; b < n / kSuperBlock; ++b) {
    const BlockQ3_K& k = in[b];
    const float d = f16_to_f32(k.d);
    for (int half = 0; half < 2; ++half) {
      for (int i = 0; i < 4; ++i) {  // values 128·half + 32·i + l; high bit: bit 4·half + i of hmask[l]
        const uint8_t* q = k.qs + 32 * half;
        float* o = out + b * kSuperBlock + 128 * half + 32 * i;
        const int bit = 4 * half + i;
        for (int g = 0; g < 2; ++g) {
          const float dl = d * f(q3_k_scale(k.scales, 8 * half + 2 * i + g) - 32);
          for (int l = 16 * g; l < 16 * g + 16; ++l) {
            const int high_clear = ((k.hmask[l] >> bit) & 1) ^ 1;
            o[l] = dl * f(((q[l] >> (2 * i)) & 3) - 4 * high_clear);
          }
        }
      }
    }
  }
}

void dequantize_row_q4_k(const BlockQ4_K* in, float* out, int64_t n) {
  for (int64_t b = 0; b < n / kSuperBlock; ++b) {
    const BlockQ4_K& k = in[b];
    const float d = f16_to_f32(k.d), dmin = f16_to_f32(k.dmin);
    float* o = out + b * kSuperBlock;
    for (int j = 0; j < 8; ++j) {
      uint8_t s, m;
      k_scale_min(k.scales, j, s, m);
      const float ds = d * f(s), dm = dmin * f(m);
      const uint8_t* qs = k.qs + 32 * (j / 2);
      const int shift = 4 * (j % 2);
      for (int l = 0; l < 32; ++l) o[32 * j + l] = ds * f((qs[l] >> shift) & 0x0f) - dm;
    }
  }
}

void dequantize_row_q5_k(const BlockQ5_K* in, float* out, int64_t n) {
  for (int64_t b = 0; b < n / kSuperBlock; ++b) {
    const BlockQ5_K& k = in[b];
    const float d = f16_to_f32(k.d), dmin = f16_to_f32(k.dmin);
    float* o = out + b * kSuperBlock;
    for (int j = 0; j < 8; ++j) {
      uint8_t s, m;
      k_scale_min(k.scales, j, s, m);
      const float ds = d * f(s), dm = dmin * f(m);
      const uint8_t* qs = k.qs + 32 * (j / 2);
      const int shift = 4 * (j % 2);
      for (int l = 0; l < 32; ++l) {
        const int q = ((qs[l] >> shift) & 0x0f) | ((k.qh[l] >> j) & 1) << 4;
        o[32 * j + l] = ds * f(q) - dm;
      }
    }
  }
}

void dequantize_row_q6_k(const BlockQ6_K* in, float* out, int64_t n) {
  for (int64_t b = 0; b < n / kSuperBlock; ++b) {
    const BlockQ6_K& k = in[b];
    const float d = f16_to_f32(k.d);
    for (int half = 0; half < 2; ++half) {
      const uint8_t* ql = k.ql + 64 * half;
      const uint8_t* qh = k.qh + 32 * half;
      for (int i = 0; i < 4; ++i) {  // values 128·half + 32·i + l
        const uint8_t* low = ql + 32 * (i % 2);
        float* o = out + b * kSuperBlock + 128 * half + 32 * i;
        for (int g = 0; g < 2; ++g) {
          const float ds = d * f(k.scales[8 * half + 2 * i + g]);
          for (int l = 16 * g; l < 16 * g + 16; ++l) {
            const int q = ((low[l] >> (4 * (i / 2))) & 0x0f) | ((qh[l] >> (2 * i)) & 3) << 4;
            o[l] = ds * f(q - 32);
          }
        }
      }
    }
  }
}

void dequantize_row_q8_k(const BlockQ8_K* in, float* out, int64_t n) {
  for (int64_t b = 0; b < n / kSuperBlock; ++b) {
    for (int v = 0; v < 256; ++v) out[b * kSuperBlock + v] = in[b].d * f(in[b].qs[v]);
  }
}

void dequantize_row_iq4_xs(const BlockIQ4_XS* in, float* out, int64_t n) {
  for (int64_t b = 0; b < n / kSuperBlock; ++b) {
    const BlockIQ4_XS& k = in[b];
    const float d = f16_to_f32(k.d);
    float* o = out + b * kSuperBlock;
    for (int j = 0; j < 8; ++j) {
      const float dl = d * f(iq4_xs_scale(k, j) - 32);
      for (int l = 0; l < 32; ++l) o[32 * j + l] = dl * f(kIq4Values[low_nibble_pair(k.qs + 16 * j, l)]);
    }
  }
}

}  // namespace dschat
