#include "engine/quant/float8.h"

#include <array>
#include <cmath>
#include <cstring>

namespace dschat {

namespace {

float decode(uint8_t byte) {
  const int sign = byte >> 7;
  const int exponent = (byte >> 3) & 0xf;
  const int mantissa = byte & 0x7;
  if (exponent == 0xf && mantissa == 0x7) return std::nanf("");
  const float magnitude = exponent == 0 ? std::ldexp(static_cast<float>(mantissa), -9)  // m/8 * 2^-6
                                        : std::ldexp(static_cast<float>(8 + mantissa), exponent - 10);
  return sign ? -magnitude : magnitude;
}

const std::array<float, 256> kTable = [] {
  std::array<float, 256> table{};
  for (int b = 0; b < 256; ++b) table[b] = decode(static_cast<uint8_t>(b));
  return table;
}();

}  // namespace

const float* e4m3_table() { return kTable.data(); }

uint8_t f32_to_e4m3(float value) {
  if (std::isnan(value)) return 0x7f;
  const uint8_t sign = std::signbit(value) ? 0x80 : 0x00;
  float magnitude = std::fabs(value);
  if (magnitude >= kE4M3Max) return sign | 0x7e;  // saturate (also +-inf)
  // The spacing of representable values at this magnitude: 2^-9 below 2^-6 (subnormals), else
  // 2^(e-3) for magnitude in [2^e, 2^(e+1)). Rounding magnitude/spacing to the nearest integer,
  // ties to even (nearbyint in the default rounding mode), gives the value exactly.
  int e = 0;
  std::frexp(magnitude, &e);  // magnitude in [2^(e-1), 2^e)
  const int scale_exponent = e - 1 < -6 ? -9 : e - 1 - 3;
  const float steps = std::nearbyint(std::ldexp(magnitude, -scale_exponent));  // exact scaling
  const float rounded = std::ldexp(steps, scale_exponent);
  if (rounded >= kE4M3Max) return sign | 0x7e;
  // Encode the rounded value (it may have carried into the next binade).
  if (rounded < std::ldexp(1.0f, -6)) return sign | static_cast<uint8_t>(steps);  // subnormal or 0
  int re = 0;
  const float fraction = std::frexp(rounded, &re);  // rounded = fraction * 2^re, fraction in [0.5, 1)
  const int exponent_field = re - 1 + 7;
  const int mantissa = static_cast<int>(fraction * 16.0f) - 8;  // 1.mmm: (fraction*2 - 1) * 8
  return sign | static_cast<uint8_t>(exponent_field << 3) | static_cast<uint8_t>(mantissa);
}

}  // namespace dschat
