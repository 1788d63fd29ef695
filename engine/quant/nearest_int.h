// Round to nearest (ties to even) for |v| < 2^22 without a libm call: adding 1.5·2^23 leaves the
// integer in the low mantissa bits (the same trick as llama.cpp's nearest_int). The quantizers'
// rounding (quantize.cpp, ggml_quantize.cpp), so their codes equal ggml's.
#pragma once

#include <cstdint>
#include <cstring>

namespace dschat {

inline int nearest_int(float v) {
  const float shifted = v + 12582912.0f;
  int32_t bits;
  std::memcpy(&bits, &shifted, sizeof bits);
  return (bits & 0x007fffff) - 0x00400000;
}

}  // namespace dschat
