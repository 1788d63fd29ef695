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
    float* o = out + b * kSuperBlock;
    for (int v = 0; v < 256; ++v) {
      const int j = v / 16, half = v / 128, w = v % 128;
      const float dl = d * f(k.scales[j] & 0x0f), ml = dmin * f(k.scales[j] >> 4);
      const int q = (k.qs[32 * half + w % 32] >> (2 * (w / 32))) & 3;
      o[v] = dl * f(q) - ml;
    }
  }
}

void dequantize_row_q3_k(const BlockQ3_K* in, float* out, int64_t n) {
  for (int64_t b = 0; b < n / kSuperBlock; ++b) {
    const BlockQ3_K& k = in[b];
    const float d = f16_to_f32(k.d);
    float* o = out + b * kSuperBlock;
    for (int v = 0; v < 256; ++v) {
      const int half = v / 128, w = v % 128;
      const float dl = d * f(q3_k_scale(k.scales, v / 16) - 32);
      const int low = (k.qs[32 * half + w % 32] >> (2 * (w / 32))) & 3;
      const int high_clear = ((k.hmask[v % 32] >> (v / 32)) & 1) ^ 1;
      o[v] = dl * f(low - 4 * high_clear);
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
    float* o = out + b * kSuperBlock;
    for (int v = 0; v < 256; ++v) {
      const int half = v / 128, w = v % 128;
      const uint8_t* ql = k.ql + 64 * half;
      const int low = w < 64 ? ql[w] & 0x0f : ql[w - 64] >> 4;
      const int high = (k.qh[32 * half + w % 32] >> (2 * (w / 32))) & 3;
      o[v] = (d * f(k.scales[v / 16])) * f((low | high << 4) - 32);
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
