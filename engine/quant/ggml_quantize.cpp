#include "engine/quant/ggml_quantize.h"

#include <algorithm>
#include <cmath>
#include <cstring>

namespace dschat {
namespace {

// Round to nearest (ties to even) for |v| < 2^22 (the trick of quantize.cpp).
inline int nearest_int(float v) {
  const float shifted = v + 12582912.0f;
  int32_t bits;
  std::memcpy(&bits, &shifted, sizeof bits);
  return (bits & 0x007fffff) - 0x00400000;
}

}  // namespace

void quantize_row_q8_k(const float* x, BlockQ8_K* out, int64_t n) {
  for (int64_t b = 0; b < n / kSuperBlock; ++b) {
    const float* v = x + b * kSuperBlock;
    BlockQ8_K& q = out[b];
    float amax = 0;
    for (int i = 0; i < kSuperBlock; ++i) amax = std::max(amax, std::fabs(v[i]));
    const float inv = amax != 0 ? 127.0f / amax : 0.0f;
    q.d = amax / 127.0f;
    for (int i = 0; i < kSuperBlock; ++i) q.qs[i] = static_cast<int8_t>(std::clamp(nearest_int(v[i] * inv), -127, 127));
    for (int g = 0; g < 16; ++g) {
      int sum = 0;
      for (int i = 0; i < 16; ++i) sum += q.qs[16 * g + i];
      q.bsums[g] = static_cast<int16_t>(sum);
    }
  }
}

}  // namespace dschat
