#include "engine/ops/block_dot.h"

#include "engine/quant/half_float.h"

namespace dschat {

float dot_q8_0_q8_0_scalar(const BlockQ8_0* w, const BlockQ8_0* x, int64_t blocks) {
  float sum = 0;
  for (int64_t b = 0; b < blocks; ++b) {
    int32_t acc = 0;
    for (int i = 0; i < kQuantBlock; ++i) acc += static_cast<int32_t>(w[b].qs[i]) * x[b].qs[i];
    sum += f16_to_f32(w[b].d) * f16_to_f32(x[b].d) * static_cast<float>(acc);
  }
  return sum;
}

float dot_q4_0_q8_0_scalar(const BlockQ4_0* w, const BlockQ8_0* x, int64_t blocks) {
  float sum = 0;
  for (int64_t b = 0; b < blocks; ++b) {
    int32_t acc = 0;
    for (int j = 0; j < kQuantBlock / 2; ++j) {
      acc += ((w[b].qs[j] & 0x0f) - 8) * static_cast<int32_t>(x[b].qs[j]);
      acc += ((w[b].qs[j] >> 4) - 8) * static_cast<int32_t>(x[b].qs[j + 16]);
    }
    sum += f16_to_f32(w[b].d) * f16_to_f32(x[b].d) * static_cast<float>(acc);
  }
  return sum;
}

}  // namespace dschat
