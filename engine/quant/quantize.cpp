#include "engine/quant/quantize.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "engine/quant/half_float.h"
#include "engine/quant/nearest_int.h"

namespace dschat {

void quantize_row_q8_0(const float* x, BlockQ8_0* out, int64_t n) {
  for (int64_t b = 0; b < n / kQuantBlock; ++b) {
    const float* v = x + b * kQuantBlock;
    float amax = 0;
    for (int i = 0; i < kQuantBlock; ++i) amax = std::max(amax, std::fabs(v[i]));
    const float d = amax / 127.0f;
    const float inv = d != 0 ? 1.0f / d : 0.0f;
    out[b].d = f32_to_f16(d);
    for (int i = 0; i < kQuantBlock; ++i) out[b].qs[i] = static_cast<int8_t>(nearest_int(v[i] * inv));
  }
}

void quantize_row_q4_0(const float* x, BlockQ4_0* out, int64_t n) {
  for (int64_t b = 0; b < n / kQuantBlock; ++b) {
    const float* v = x + b * kQuantBlock;
    float amax = 0, m = 0;  // m: the value of largest magnitude, sign kept
    for (int i = 0; i < kQuantBlock; ++i) {
      if (std::fabs(v[i]) > amax) {
        amax = std::fabs(v[i]);
        m = v[i];
      }
    }
    const float d = m / -8.0f;
    const float inv = d != 0 ? 1.0f / d : 0.0f;
    out[b].d = f32_to_f16(d);
    auto q = [&](int i) {
      return static_cast<uint8_t>(std::clamp(nearest_int(v[i] * inv) + 8, 0, 15));
    };
    for (int j = 0; j < kQuantBlock / 2; ++j) out[b].qs[j] = static_cast<uint8_t>(q(j) | (q(j + 16) << 4));
  }
}

void dequantize_row_q8_0(const BlockQ8_0* in, float* out, int64_t n) {
  for (int64_t b = 0; b < n / kQuantBlock; ++b) {
    const float d = f16_to_f32(in[b].d);
    for (int i = 0; i < kQuantBlock; ++i) out[b * kQuantBlock + i] = d * static_cast<float>(in[b].qs[i]);
  }
}

void dequantize_row_q4_0(const BlockQ4_0* in, float* out, int64_t n) {
  for (int64_t b = 0; b < n / kQuantBlock; ++b) {
    const float d = f16_to_f32(in[b].d);
    float* o = out + b * kQuantBlock;
    for (int j = 0; j < kQuantBlock / 2; ++j) {
      o[j] = d * static_cast<float>((in[b].qs[j] & 0x0f) - 8);
      o[j + 16] = d * static_cast<float>((in[b].qs[j] >> 4) - 8);
    }
  }
}

}  // namespace dschat
