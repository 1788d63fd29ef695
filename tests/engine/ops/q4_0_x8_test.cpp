// Q4_0 rows interleaved by eight (engine/quant/q4_0_x8.h): the layout as its header defines it,
// byte for byte; its GEMV on every level against Q4_0's scalar block dot product of the same
// rows; its widening equal to Q4_0's dequantization bit for bit.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "engine/ops/block_dot.h"
#include "engine/ops/cpu_features.h"
#include "engine/ops/weight_kernels.h"
#include "engine/ops/workspace.h"
#include "engine/quant/half_float.h"
#include "engine/quant/q4_0_x8.h"
#include "engine/quant/quantize.h"
#include "tests/engine/random_values.h"

namespace dschat {
namespace {

bool level_runs_here(const std::string& level) {
  const CpuFeatures& f = cpu_features();
  if (level == "avx512") return f.has_avx512_level();
  if (level == "avx2") return f.has_avx2_level();
  return true;
}

// `rows` random rows of `blocks` Q4_0 blocks, row-major, with the extreme nibbles 0 and 15 in
// the first row.
std::vector<BlockQ4_0> random_q4_0(int64_t rows, int64_t blocks, uint32_t seed) {
  const int64_t cols = blocks * kQuantBlock;
  const std::vector<float> w = random_values(seed, rows * cols, 0.1f);
  std::vector<BlockQ4_0> q(static_cast<size_t>(rows * blocks));
  for (int64_t r = 0; r < rows; ++r) quantize_row_q4_0(w.data() + r * cols, q.data() + r * blocks, cols);
  q[0].qs[0] = 0xf0;
  q[0].qs[1] = 0x0f;
  return q;
}

// The whole matrix interleaved, group after group.
std::vector<std::byte> interleave(const std::vector<BlockQ4_0>& q, int64_t rows, int64_t blocks) {
  std::vector<std::byte> out(q.size() * sizeof(BlockQ4_0));
  for (int64_t g = 0; g < rows / kQ4_0x8Rows; ++g) {
    const BlockQ4_0* group[kQ4_0x8Rows];
    for (int64_t i = 0; i < kQ4_0x8Rows; ++i) group[i] = q.data() + (g * kQ4_0x8Rows + i) * blocks;
    interleave_q4_0_rows(group, blocks, out.data() + g * kQ4_0x8Rows * blocks * sizeof(BlockQ4_0));
  }
  return out;
}

TEST(Q4_0x8Layout, BytesAreWhereTheHeaderSaysAndRowsComeBackExactly) {
  const int64_t rows = 16, blocks = 3;
  const std::vector<BlockQ4_0> q = random_q4_0(rows, blocks, 5);
  const std::vector<std::byte> x8 = interleave(q, rows, blocks);
  ASSERT_EQ(x8.size(), q.size() * 18);
  for (int64_t r = 0; r < rows; ++r) {
    const std::byte* group = x8.data() + (r / 8) * 8 * blocks * 18;
    const int64_t lane = r % 8;
    for (int64_t b = 0; b < blocks; ++b) {
      const BlockQ4_0& in = q[r * blocks + b];
      const std::byte* block = group + b * 144;
      EXPECT_EQ(std::memcmp(block + 2 * lane, &in.d, 2), 0) << "scale of row " << r << " block " << b;
      for (int j = 0; j < 16; ++j) {  // qs[j] = qs[4k + i]: chunk k, byte i of the lane
        EXPECT_EQ(static_cast<uint8_t>(block[16 + 32 * (j / 4) + 4 * lane + j % 4]), in.qs[j])
            << "row " << r << " block " << b << " byte " << j;
      }
    }
    std::vector<BlockQ4_0> back(static_cast<size_t>(blocks));
    q4_0_x8_row(group, lane, blocks, back.data());
    EXPECT_EQ(std::memcmp(back.data(), q.data() + r * blocks, blocks * sizeof(BlockQ4_0)), 0) << "row " << r;
  }
}

class Q4_0x8Kernels : public ::testing::TestWithParam<std::string> {};

// Rows [r0, r1) starting and ending inside a group, 1-20 tokens: each output is Q4_0's scalar
// block dot product of that row within 2e-6 of Σ|w·x| (a 2e-5 relative error on one row fails
// it), the scalar level's exactly, and nothing outside the range is written.
TEST_P(Q4_0x8Kernels, GemvEqualsQ4_0ReferenceForEveryRowAndToken) {
  const std::string level = GetParam();
  if (!level_runs_here(level)) GTEST_SKIP() << "this CPU has no " << level;
  const WeightKernels k = weight_kernels_for(level.c_str(), DType::Q4_0_X8);
  ASSERT_TRUE(k.available());
  ASSERT_EQ(k.interleaved_rows, 8);
  const int64_t rows = 32, blocks = 11, cols = blocks * kQuantBlock;
  const std::vector<BlockQ4_0> q = random_q4_0(rows, blocks, 9);
  const std::vector<std::byte> x8 = interleave(q, rows, blocks);
  const WeightMatrix m{DType::Q4_0_X8, rows, cols, x8.data()};
  for (int64_t n : {1, 2, 3, 4, 5, 8, 9, 13, 20}) {  // past the kernels' token tiles (4, 8) and their remainders
    const std::vector<float> x = random_values(20 + n, n * cols, 2.0f);
    std::vector<std::byte> prepared(k.prepared_bytes(cols, n));
    k.prepare(x.data(), cols, n, prepared.data());
    const PreparedActivations a{x.data(), n, cols, prepared.data(), k.prepare};
    const auto* xq = reinterpret_cast<const BlockQ8_0*>(prepared.data());
    // Whole groups, ranges starting and ending inside groups, one row, one group.
    for (const auto& [r0, r1] : {std::pair<int64_t, int64_t>{0, 32}, {3, 29}, {9, 10}, {8, 16}, {17, 32}, {0, 5}}) {
      const int64_t ldy = rows + 5;
      const float sentinel = -12345.0f;
      std::vector<float> y(n * ldy, sentinel);
      KernelScratch scratch;
      k.gemv(m, a, y.data(), ldy, r0, r1, scratch);
      for (int64_t t = 0; t < n; ++t) {
        for (int64_t r = 0; r < ldy; ++r) {
          const float got = y[t * ldy + r];
          if (r < r0 || r >= r1) {
            EXPECT_EQ(got, sentinel) << level << " wrote outside its rows: r " << r;
            continue;
          }
          const BlockQ4_0* row = q.data() + r * blocks;
          const float ref = dot_q4_0_q8_0_scalar(row, xq + t * blocks, blocks);
          double magnitude = 0;
          for (int64_t b = 0; b < blocks; ++b) {
            const double scale = double(f16_to_f32(row[b].d)) * f16_to_f32(xq[t * blocks + b].d);
            for (int j = 0; j < 16; ++j) {
              magnitude += std::fabs(scale * ((row[b].qs[j] & 15) - 8) * xq[t * blocks + b].qs[j]);
              magnitude += std::fabs(scale * ((row[b].qs[j] >> 4) - 8) * xq[t * blocks + b].qs[j + 16]);
            }
          }
          if (level == "scalar") {
            EXPECT_EQ(got, ref) << "n " << n << " t " << t << " r " << r;
          } else {
            EXPECT_NEAR(got, ref, 2e-6 * magnitude + 1e-7) << level << " n " << n << " t " << t << " r " << r;
          }
        }
      }
    }
  }
}

TEST_P(Q4_0x8Kernels, RowWideningEqualsQ4_0DequantizationExactly) {
  const std::string level = GetParam();
  if (!level_runs_here(level)) GTEST_SKIP() << "this CPU has no " << level;
  const WeightKernels k = weight_kernels_for(level.c_str(), DType::Q4_0_X8);
  ASSERT_NE(k.group_row_to_f32, nullptr);
  EXPECT_EQ(k.row_to_f32, nullptr);
  const int64_t rows = 8, blocks = 4, cols = blocks * kQuantBlock;
  const std::vector<BlockQ4_0> q = random_q4_0(rows, blocks, 13);
  const std::vector<std::byte> x8 = interleave(q, rows, blocks);
  for (int64_t r = 0; r < rows; ++r) {
    std::vector<float> want(cols), got(cols, -1.0f);
    dequantize_row_q4_0(q.data() + r * blocks, want.data(), cols);
    k.group_row_to_f32(x8.data(), r, cols, got.data());
    EXPECT_EQ(std::memcmp(want.data(), got.data(), cols * sizeof(float)), 0) << level << " row " << r;
  }
}

INSTANTIATE_TEST_SUITE_P(Levels, Q4_0x8Kernels, ::testing::Values("scalar", "avx2", "avx512"));

}  // namespace
}  // namespace dschat
