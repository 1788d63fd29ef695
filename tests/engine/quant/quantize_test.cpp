// Q8_0 / Q4_0 block formats against their definition (llama.cpp semantics, quantize.h): scales,
// nibble layout, round-trip error bounds, and the scalar dot products against a double-precision
// sum over the dequantized values.
#include "engine/ops/block_dot.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "engine/quant/half_float.h"

#include "tests/engine/random_values.h"

namespace dschat {
namespace {

TEST(Quantize, Q8_0ScaleIsMaxMagnitudeOver127AndErrorIsHalfAStep) {
  const int64_t n = 7 * kQuantBlock;
  std::vector<float> x = random_values(1, n, 0.7f);
  x[5] = -3.0f;  // block 0's largest magnitude is negative
  std::vector<BlockQ8_0> q(n / kQuantBlock);
  quantize_row_q8_0(x.data(), q.data(), n);
  std::vector<float> back(n);
  dequantize_row_q8_0(q.data(), back.data(), n);
  for (int64_t b = 0; b < n / kQuantBlock; ++b) {
    float amax = 0;
    for (int i = 0; i < kQuantBlock; ++i) amax = std::max(amax, std::fabs(x[b * kQuantBlock + i]));
    const float d = f16_to_f32(q[b].d);
    EXPECT_NEAR(d, amax / 127.0f, amax / 127.0f * 1e-3f) << "block " << b;
    for (int i = 0; i < kQuantBlock; ++i) {
      const int64_t j = b * kQuantBlock + i;
      EXPECT_LE(std::abs(static_cast<int>(q[b].qs[i])), 127);
      EXPECT_LE(std::fabs(back[j] - x[j]), 0.5f * d + amax * 1e-3f) << "value " << j;
    }
  }
  EXPECT_EQ(q[0].qs[5], -127);
}

TEST(Quantize, Q4_0KeepsSignOfLargestValueAndPacksLowThenHighNibbles) {
  const int64_t n = 3 * kQuantBlock;
  std::vector<float> x = random_values(2, n, 1.0f);
  x[kQuantBlock + 20] = 5.0f;  // block 1: largest magnitude positive -> negative scale
  x[3] = -6.0f;                // block 0: negative -> positive scale
  std::vector<BlockQ4_0> q(n / kQuantBlock);
  quantize_row_q4_0(x.data(), q.data(), n);
  EXPECT_NEAR(f16_to_f32(q[0].d), 6.0f / 8.0f, 1e-3f);
  EXPECT_NEAR(f16_to_f32(q[1].d), -5.0f / 8.0f, 1e-3f);
  EXPECT_EQ(q[0].qs[3] & 0x0f, 0);         // -6 / 0.75 + 8 = 0, value 3 in byte 3's low nibble
  EXPECT_EQ(q[1].qs[4] >> 4, 0);           // value 20 lives in byte 4's high nibble
  std::vector<float> back(n);
  dequantize_row_q4_0(q.data(), back.data(), n);
  for (int64_t b = 0; b < n / kQuantBlock; ++b) {
    const float d = std::fabs(f16_to_f32(q[b].d));
    for (int i = 0; i < kQuantBlock; ++i) {
      const int64_t j = b * kQuantBlock + i;
      // Steps of d; the clamp at +7 can cost one more step at the positive end of the range.
      EXPECT_LE(std::fabs(back[j] - x[j]), 1.0f * d + 1e-3f) << "value " << j;
    }
  }
  EXPECT_FLOAT_EQ(back[3], -6.0f * (f16_to_f32(q[0].d) / 0.75f));
}

TEST(Quantize, ZeroBlockQuantizesToZero) {
  std::vector<float> x(kQuantBlock, 0.0f);
  BlockQ8_0 q8;
  BlockQ4_0 q4;
  quantize_row_q8_0(x.data(), &q8, kQuantBlock);
  quantize_row_q4_0(x.data(), &q4, kQuantBlock);
  std::vector<float> back(kQuantBlock, 1.0f);
  dequantize_row_q8_0(&q8, back.data(), kQuantBlock);
  for (float v : back) EXPECT_EQ(v, 0.0f);
  dequantize_row_q4_0(&q4, back.data(), kQuantBlock);
  for (float v : back) EXPECT_EQ(v, 0.0f);
}

// The scalar dot products equal Σ dequant(w)·dequant(x) computed in double.
TEST(Quantize, ScalarDotProductsMatchDequantizedSums) {
  for (int64_t blocks : {1, 2, 5, 17}) {
    const int64_t n = blocks * kQuantBlock;
    std::vector<float> w = random_values(10 + blocks, n, 0.05f), x = random_values(20 + blocks, n, 2.0f);
    std::vector<BlockQ8_0> w8(blocks), x8(blocks);
    std::vector<BlockQ4_0> w4(blocks);
    quantize_row_q8_0(w.data(), w8.data(), n);
    quantize_row_q4_0(w.data(), w4.data(), n);
    quantize_row_q8_0(x.data(), x8.data(), n);
    std::vector<float> dw8(n), dw4(n), dx(n);
    dequantize_row_q8_0(w8.data(), dw8.data(), n);
    dequantize_row_q4_0(w4.data(), dw4.data(), n);
    dequantize_row_q8_0(x8.data(), dx.data(), n);
    double ref8 = 0, ref4 = 0, scale = 0;
    for (int64_t i = 0; i < n; ++i) {
      ref8 += double(dw8[i]) * dx[i];
      ref4 += double(dw4[i]) * dx[i];
      scale += std::fabs(double(dw8[i]) * dx[i]);
    }
    EXPECT_NEAR(dot_q8_0_q8_0_scalar(w8.data(), x8.data(), blocks), ref8, 1e-5 * scale + 1e-6) << blocks;
    EXPECT_NEAR(dot_q4_0_q8_0_scalar(w4.data(), x8.data(), blocks), ref4, 1e-5 * scale + 1e-6) << blocks;
  }
}

}  // namespace
}  // namespace dschat
