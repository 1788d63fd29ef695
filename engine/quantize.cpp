#include "engine/quantize.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>

#include "engine/cpu_features.h"
#include "engine/half_float.h"

namespace dschat {
namespace {

// Round to nearest (ties to even) for |v| < 2^22 without a libm call: adding 1.5·2^23 leaves the
// integer in the low mantissa bits (the same trick as llama.cpp's nearest_int).
inline int nearest_int(float v) {
  const float shifted = v + 12582912.0f;
  int32_t bits;
  std::memcpy(&bits, &shifted, sizeof bits);
  return (bits & 0x007fffff) - 0x00400000;
}

}  // namespace

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

QuantKernels quant_kernels_for(const char* level) {
  const std::string l = level;
#if defined(__x86_64__)
  if (l == "avx512") return {"avx512", dot_q8_0_q8_0_avx512, dot_q4_0_q8_0_avx512};
  if (l == "avx2") return {"avx2", dot_q8_0_q8_0_avx2, dot_q4_0_q8_0_avx2};
#endif
  if (l == "scalar") return {"scalar", dot_q8_0_q8_0_scalar, dot_q4_0_q8_0_scalar};
  return {"unavailable", nullptr, nullptr};
}

const QuantKernels& quant_kernels() {
  static const QuantKernels kernels = quant_kernels_for(simd_level().c_str());
  return kernels;
}

}  // namespace dschat
