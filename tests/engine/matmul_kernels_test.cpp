// Every SIMD kernel the CPU can run equals the portable scalar reference on random data with odd
// block and row counts; the quantized matmul equals a float matmul over the dequantized weights
// (with Q8_0 activations); weight conversion at load keeps logits close to F32.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "engine/cpu_features.h"
#include "engine/matmul.h"
#include "engine/matmul_quantized.h"
#include "engine/quantize.h"

#include "tests/engine/random_values.h"

namespace dschat {
namespace {

bool level_runs_here(const std::string& level) {
  const CpuFeatures& f = cpu_features();
  if (level == "avx512") return f.has_avx512_level();
  if (level == "avx2") return f.has_avx2_level();
  return true;
}

class SimdKernels : public ::testing::TestWithParam<std::string> {};

TEST_P(SimdKernels, EqualScalarReferenceOnOddSizes) {
  const std::string level = GetParam();
  if (!level_runs_here(level)) GTEST_SKIP() << "this CPU has no " << level;
  const QuantKernels k = quant_kernels_for(level.c_str());
  ASSERT_NE(k.dot_q8_0, nullptr);
  for (int64_t blocks : {1, 2, 3, 7, 16, 33}) {
    const int64_t n = blocks * kQuantBlock;
    for (int trial = 0; trial < 5; ++trial) {
      const uint64_t seed = 1000 * blocks + trial;
      std::vector<float> w = random_values(seed, n, 0.1f), x = random_values(seed + 1, n, 3.0f);
      std::vector<BlockQ8_0> w8(blocks), x8(blocks);
      std::vector<BlockQ4_0> w4(blocks);
      quantize_row_q8_0(w.data(), w8.data(), n);
      quantize_row_q4_0(w.data(), w4.data(), n);
      quantize_row_q8_0(x.data(), x8.data(), n);
      if (trial == 4) {  // extremes: -127/127 everywhere (maddubs saturation would show here)
        for (auto& b : w8) for (auto& q : b.qs) q = static_cast<int8_t>(&q - b.qs) % 2 ? 127 : -127;
        for (auto& b : x8) for (auto& q : b.qs) q = static_cast<int8_t>(&q - b.qs) % 2 ? 127 : -127;
        for (auto& b : w4) for (auto& q : b.qs) q = 0x0f;
      }
      const float ref8 = dot_q8_0_q8_0_scalar(w8.data(), x8.data(), blocks);
      const float ref4 = dot_q4_0_q8_0_scalar(w4.data(), x8.data(), blocks);
      const float tol8 = 1e-5f * std::fabs(ref8) + 1e-5f, tol4 = 1e-5f * std::fabs(ref4) + 1e-5f;
      EXPECT_NEAR(k.dot_q8_0(w8.data(), x8.data(), blocks), ref8, tol8) << level << " blocks " << blocks;
      EXPECT_NEAR(k.dot_q4_0(w4.data(), x8.data(), blocks), ref4, tol4) << level << " blocks " << blocks;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Levels, SimdKernels, ::testing::Values("scalar", "avx2", "avx512"));

TEST(SimdKernels, DispatchPicksASupportedLevel) {
  const std::string level = simd_level();
  EXPECT_TRUE(level_runs_here(level)) << level;
  EXPECT_EQ(std::string(quant_kernels().name), level);
}

// matmul over a quantized matrix (odd rows) = Σ dequant(w)·dequant(q8(x)) for a few tokens
// (integer kernels), Σ dequant(w)·x for more (float GEMM over dequantized rows).
TEST(QuantizedMatmul, EqualsFloatMatmulOfDequantizedOperands) {
  for (int64_t n : {int64_t{3}, kQuantizedMatmulMaxTokens + 5}) {
  const int64_t rows = 37, cols = 5 * kQuantBlock;
  std::vector<float> w = random_values(7, rows * cols, 0.05f), x = random_values(8, n * cols, 1.0f);
  for (DType dtype : {DType::Q8_0, DType::Q4_0}) {
    WeightMatrix m{dtype, rows, cols, nullptr};
    std::vector<std::byte> storage(m.bytes());
    m.data = storage.data();
    for (int64_t r = 0; r < rows; ++r) {
      auto* dst = const_cast<std::byte*>(m.row(r));
      if (dtype == DType::Q8_0) quantize_row_q8_0(w.data() + r * cols, reinterpret_cast<BlockQ8_0*>(dst), cols);
      else quantize_row_q4_0(w.data() + r * cols, reinterpret_cast<BlockQ4_0*>(dst), cols);
    }
    std::vector<float> y(n * rows, 0.0f);
    ThreadPool pool(2);
    matmul(pool, m, x.data(), n, y.data());
    std::vector<float> wr(cols), xq(cols);
    std::vector<BlockQ8_0> xb(cols / kQuantBlock);
    for (int64_t t = 0; t < n; ++t) {
      if (n <= kQuantizedMatmulMaxTokens) {
        quantize_row_q8_0(x.data() + t * cols, xb.data(), cols);
        dequantize_row_q8_0(xb.data(), xq.data(), cols);
      } else {
        std::copy(x.data() + t * cols, x.data() + (t + 1) * cols, xq.data());
      }
      for (int64_t r = 0; r < rows; ++r) {
        weight_row_to_f32(m, r, wr.data());
        double ref = 0, scale = 0;
        for (int64_t i = 0; i < cols; ++i) {
          ref += double(wr[i]) * xq[i];
          scale += std::fabs(double(wr[i]) * xq[i]);
        }
        EXPECT_NEAR(y[t * rows + r], ref, 1e-5 * scale + 1e-6) << dtype_name(dtype) << " n " << n << " r " << r;
      }
    }
  }
  }
}

}  // namespace
}  // namespace dschat
