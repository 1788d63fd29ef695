// FP8 E4M3 against the OCP 8-bit floating point specification (v1.0, table of E4M3 encodings):
// the expected values here are written out from the spec's definition, not computed by the
// code under test.
#include "engine/quant/float8.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>

namespace dschat {
namespace {

// The spec's E4M3 rows, each by its own formula: exponent bias 7, subnormal at exponent field 0.
double spec_value(int byte) {
  const int s = byte >> 7, e = (byte >> 3) & 15, m = byte & 7;
  const double sign = s ? -1.0 : 1.0;
  if (e == 0) return sign * (m / 8.0) * std::pow(2.0, -6);
  return sign * (1.0 + m / 8.0) * std::pow(2.0, e - 7);
}

TEST(Float8E4M3, EveryByteDecodesAsTheSpecificationSays) {
  for (int b = 0; b < 256; ++b) {
    const float got = e4m3_to_f32(static_cast<uint8_t>(b));
    if ((b & 0x7f) == 0x7f) {
      EXPECT_TRUE(std::isnan(got)) << "byte " << b;  // S.1111.111: the only NaNs; no infinities
      continue;
    }
    EXPECT_EQ(static_cast<double>(got), spec_value(b)) << "byte " << b;
  }
  // Landmarks quoted in the spec: max normal 448, min normal 2^-6, min subnormal 2^-9, -0.
  EXPECT_EQ(e4m3_to_f32(0x7e), 448.0f);
  EXPECT_EQ(e4m3_to_f32(0x08), 0.015625f);
  EXPECT_EQ(e4m3_to_f32(0x01), 0.001953125f);
  EXPECT_TRUE(std::signbit(e4m3_to_f32(0x80)) && e4m3_to_f32(0x80) == 0.0f);
}

TEST(Float8E4M3, EveryFiniteValueEncodesToItself) {
  for (int b = 0; b < 256; ++b) {
    if ((b & 0x7f) == 0x7f) continue;
    EXPECT_EQ(f32_to_e4m3(static_cast<float>(spec_value(b))), b) << "byte " << b;
  }
}

TEST(Float8E4M3, RoundsToNearestTiesToEvenAndSaturates) {
  // Between 1.0 (0x38) and 1.125 (0x39) the midpoint 1.0625 goes to the even mantissa (1.0);
  // between 1.125 and 1.25 (0x3a) the midpoint 1.1875 goes to 1.25.
  EXPECT_EQ(f32_to_e4m3(1.0625f), 0x38);
  EXPECT_EQ(f32_to_e4m3(1.1875f), 0x3a);
  EXPECT_EQ(f32_to_e4m3(1.07f), 0x39);
  // Subnormal midpoint: 2^-9 * 0.5 ties to 0; 2^-9 * 1.5 ties to 2 * 2^-9.
  EXPECT_EQ(f32_to_e4m3(std::ldexp(1.0f, -10)), 0x00);
  EXPECT_EQ(f32_to_e4m3(std::ldexp(3.0f, -10)), 0x02);
  // The largest subnormal rounds up into the first normal binade: 0.9375 * 2^-6 + half a step.
  EXPECT_EQ(f32_to_e4m3(std::ldexp(15.0f, -10)), 0x08);
  // Between 448 and the (absent) 480 everything saturates, as do infinities; NaN stays NaN.
  EXPECT_EQ(f32_to_e4m3(460.0f), 0x7e);
  EXPECT_EQ(f32_to_e4m3(1e30f), 0x7e);
  EXPECT_EQ(f32_to_e4m3(-INFINITY), 0xfe);
  EXPECT_EQ(f32_to_e4m3(NAN) & 0x7f, 0x7f);
  EXPECT_EQ(f32_to_e4m3(-0.0f), 0x80);
  EXPECT_EQ(f32_to_e4m3(-3.3f), 0x80 | f32_to_e4m3(3.3f));
}

TEST(Float8E4M3, EncodingIsTheNearestValue) {
  // Every encoding is a nearest representable value (checked against all 254 finite values).
  for (float x = -500.0f; x <= 500.0f; x += 0.37f) {
    const double got = e4m3_to_f32(f32_to_e4m3(x));
    double best = INFINITY;
    for (int b = 0; b < 256; ++b)
      if ((b & 0x7f) != 0x7f) best = std::fmin(best, std::fabs(spec_value(b) - std::fmax(-448.0, std::fmin(448.0, x))));
    EXPECT_EQ(std::fabs(got - std::fmax(-448.0, std::fmin(448.0, x))), best) << x;
  }
}

}  // namespace
}  // namespace dschat
