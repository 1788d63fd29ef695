// The reference dot products of ggml_dot.h: integer sums per sub-block, in the plainest form.
#include "engine/ops/ggml_dot.h"

#include "engine/quant/half_float.h"

namespace dschat {
namespace {

inline float h(uint16_t v) { return f16_to_f32(v); }

// Nibble j of a 32-value block's 16 bytes (j < 16 low, else high of byte j − 16).
inline int nibble32(const uint8_t* qs, int j) { return j < 16 ? qs[j] & 0x0f : qs[j - 16] >> 4; }

inline int fifth_bit(const uint8_t* qh, int j) { return (qh[j / 8] >> (j % 8)) & 1; }

inline int32_t block_sum(const BlockQ8_0& x) {
  int32_t s = 0;
  for (int8_t q : x.qs) s += q;
  return s;
}

}  // namespace

float dot_q4_1_q8_0_scalar(const BlockQ4_1* w, const BlockQ8_0* x, int64_t blocks) {
  float sum = 0;
  for (int64_t b = 0; b < blocks; ++b) {
    int32_t acc = 0;
    for (int j = 0; j < 32; ++j) acc += nibble32(w[b].qs, j) * x[b].qs[j];
    const float dx = h(x[b].d);
    sum += h(w[b].d) * dx * static_cast<float>(acc) + h(w[b].m) * dx * static_cast<float>(block_sum(x[b]));
  }
  return sum;
}

float dot_q5_0_q8_0_scalar(const BlockQ5_0* w, const BlockQ8_0* x, int64_t blocks) {
  float sum = 0;
  for (int64_t b = 0; b < blocks; ++b) {
    int32_t acc = 0;
    for (int j = 0; j < 32; ++j) acc += ((nibble32(w[b].qs, j) | fifth_bit(w[b].qh, j) << 4) - 16) * x[b].qs[j];
    sum += h(w[b].d) * h(x[b].d) * static_cast<float>(acc);
  }
  return sum;
}

float dot_q5_1_q8_0_scalar(const BlockQ5_1* w, const BlockQ8_0* x, int64_t blocks) {
  float sum = 0;
  for (int64_t b = 0; b < blocks; ++b) {
    int32_t acc = 0;
    for (int j = 0; j < 32; ++j) acc += (nibble32(w[b].qs, j) | fifth_bit(w[b].qh, j) << 4) * x[b].qs[j];
    const float dx = h(x[b].d);
    sum += h(w[b].d) * dx * static_cast<float>(acc) + h(w[b].m) * dx * static_cast<float>(block_sum(x[b]));
  }
  return sum;
}

float dot_iq4_nl_q8_0_scalar(const BlockIQ4_NL* w, const BlockQ8_0* x, int64_t blocks) {
  float sum = 0;
  for (int64_t b = 0; b < blocks; ++b) {
    int32_t acc = 0;
    for (int j = 0; j < 32; ++j) acc += kIq4Values[nibble32(w[b].qs, j)] * x[b].qs[j];
    sum += h(w[b].d) * h(x[b].d) * static_cast<float>(acc);
  }
  return sum;
}

float dot_q2_k_q8_k_scalar(const BlockQ2_K* w, const BlockQ8_K* x, int64_t blocks) {
  float sum = 0;
  for (int64_t b = 0; b < blocks; ++b) {
    int32_t acc = 0, mins = 0;
    for (int half = 0; half < 2; ++half) {
      for (int i = 0; i < 4; ++i) {  // values 128·half + 32·i + l: bits 2i of byte 32·half + l
        const uint8_t* q = w[b].qs + 32 * half;
        const int8_t* xv = x[b].qs + 128 * half + 32 * i;
        for (int g = 0; g < 2; ++g) {  // sub-block j of 16
          const int j = 8 * half + 2 * i + g;
          int32_t part = 0;
          for (int l = 16 * g; l < 16 * g + 16; ++l) part += ((q[l] >> (2 * i)) & 3) * xv[l];
          acc += (w[b].scales[j] & 0x0f) * part;
          mins += (w[b].scales[j] >> 4) * x[b].bsums[j];
        }
      }
    }
    sum += x[b].d * (h(w[b].d) * static_cast<float>(acc) - h(w[b].dmin) * static_cast<float>(mins));
  }
  return sum;
}

float dot_q3_k_q8_k_scalar(const BlockQ3_K* w, const BlockQ8_K* x, int64_t blocks) {
  float sum = 0;
  for (int64_t b = 0; b < blocks; ++b) {
    int32_t acc = 0;
    for (int half = 0; half < 2; ++half) {
      for (int i = 0; i < 4; ++i) {  // values 128·half + 32·i + l; high bit: bit 4·half + i of hmask[l]
        const uint8_t* q = w[b].qs + 32 * half;
        const int8_t* xv = x[b].qs + 128 * half + 32 * i;
        const int bit = 4 * half + i;
        for (int g = 0; g < 2; ++g) {
          int32_t part = 0;
          for (int l = 16 * g; l < 16 * g + 16; ++l) {
            const int high_clear = ((w[b].hmask[l] >> bit) & 1) ^ 1;
            part += (((q[l] >> (2 * i)) & 3) - 4 * high_clear) * xv[l];
          }
          acc += (q3_k_scale(w[b].scales, 8 * half + 2 * i + g) - 32) * part;
        }
      }
    }
    sum += x[b].d * h(w[b].d) * static_cast<float>(acc);
  }
  return sum;
}

float dot_q4_k_q8_k_scalar(const BlockQ4_K* w, const BlockQ8_K* x, int64_t blocks) {
  float sum = 0;
  for (int64_t b = 0; b < blocks; ++b) {
    int32_t acc = 0, mins = 0;
    for (int j = 0; j < 8; ++j) {
      uint8_t s, m;
      k_scale_min(w[b].scales, j, s, m);
      int32_t part = 0;
      for (int l = 0; l < 32; ++l) part += ((w[b].qs[32 * (j / 2) + l] >> (4 * (j % 2))) & 0x0f) * x[b].qs[32 * j + l];
      acc += s * part;
      mins += m * (x[b].bsums[2 * j] + x[b].bsums[2 * j + 1]);
    }
    sum += x[b].d * (h(w[b].d) * static_cast<float>(acc) - h(w[b].dmin) * static_cast<float>(mins));
  }
  return sum;
}

float dot_q5_k_q8_k_scalar(const BlockQ5_K* w, const BlockQ8_K* x, int64_t blocks) {
  float sum = 0;
  for (int64_t b = 0; b < blocks; ++b) {
    int32_t acc = 0, mins = 0;
    for (int j = 0; j < 8; ++j) {
      uint8_t s, m;
      k_scale_min(w[b].scales, j, s, m);
      int32_t part = 0;
      for (int l = 0; l < 32; ++l) {
        const int q = ((w[b].qs[32 * (j / 2) + l] >> (4 * (j % 2))) & 0x0f) | ((w[b].qh[l] >> j) & 1) << 4;
        part += q * x[b].qs[32 * j + l];
      }
      acc += s * part;
      mins += m * (x[b].bsums[2 * j] + x[b].bsums[2 * j + 1]);
    }
    sum += x[b].d * (h(w[b].d) * static_cast<float>(acc) - h(w[b].dmin) * static_cast<float>(mins));
  }
  return sum;
}

float dot_q6_k_q8_k_scalar(const BlockQ6_K* w, const BlockQ8_K* x, int64_t blocks) {
  float sum = 0;
  for (int64_t b = 0; b < blocks; ++b) {
    int32_t acc = 0;
    for (int half = 0; half < 2; ++half) {
      const uint8_t* ql = w[b].ql + 64 * half;
      const uint8_t* qh = w[b].qh + 32 * half;
      for (int i = 0; i < 4; ++i) {  // values 128·half + 32·i + l
        const uint8_t* low = ql + 32 * (i % 2);
        const int8_t* xv = x[b].qs + 128 * half + 32 * i;
        for (int g = 0; g < 2; ++g) {
          int32_t part = 0;
          for (int l = 16 * g; l < 16 * g + 16; ++l) {
            const int q = ((low[l] >> (4 * (i / 2))) & 0x0f) | ((qh[l] >> (2 * i)) & 3) << 4;
            part += (q - 32) * xv[l];
          }
          acc += w[b].scales[8 * half + 2 * i + g] * part;
        }
      }
    }
    sum += x[b].d * h(w[b].d) * static_cast<float>(acc);
  }
  return sum;
}

float dot_iq4_xs_q8_k_scalar(const BlockIQ4_XS* w, const BlockQ8_K* x, int64_t blocks) {
  float sum = 0;
  for (int64_t b = 0; b < blocks; ++b) {
    int32_t acc = 0;
    for (int j = 0; j < 8; ++j) {
      int32_t part = 0;
      for (int l = 0; l < 32; ++l) part += kIq4Values[nibble32(w[b].qs + 16 * j, l)] * x[b].qs[32 * j + l];
      acc += (iq4_xs_scale(w[b], j) - 32) * part;
    }
    sum += x[b].d * h(w[b].d) * static_cast<float>(acc);
  }
  return sum;
}

}  // namespace dschat
