// The four-row GEMVs of ggml_gemv.h (Q4_K, Q5_K, Q6_K over Q8_K activations, Q5_0 over Q8_0) of
// every level this CPU runs, against the scalar reference dot products (ggml_dot_scalar.cpp) on
// the same quantized activations: every row of a range that starts and ends off a group of four,
// 1 to 9 tokens (the decode path below three tokens, the unpacked prefill path from three, two
// tokens a pass and a last one alone on the AVX-512 level), rows longer than one unpacked span
// (K-quants 8 super-blocks, Q5_0 64 blocks, the latter not a multiple of the eight blocks scaled
// at once), and nothing written outside the range. Weights are random bytes with finite fp16
// scales, and all-0xff blocks (the largest codes and scales, where a saturating product would show).
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "engine/ops/cpu_features.h"
#include "engine/ops/ggml_dot.h"
#include "engine/ops/ggml_gemv.h"
#include "engine/ops/weight_kernels.h"
#include "engine/ops/workspace.h"
#include "engine/quant/ggml_dequantize.h"
#include "engine/quant/ggml_quantize.h"
#include "engine/quant/half_float.h"
#include "engine/quant/quantize.h"

#include "tests/engine/random_values.h"

namespace dschat {
namespace {

#if defined(__x86_64__)

bool level_runs_here(const std::string& level) {
  const CpuFeatures& f = cpu_features();
  return level == "avx512" ? f.has_avx512_level() : f.has_avx2_level();
}

GemvKernel kernel_for(const std::string& level, DType type) {
  return level == "avx512" ? ggml_gemv_avx512(type) : ggml_gemv_avx2(type);
}

// Offsets of the fp16 d (and dmin) of a block.
std::vector<size_t> half_fields(DType type) {
  switch (type) {
    case DType::Q6_K:
      return {208};
    case DType::Q5_0:
      return {0};
    default:
      return {0, 2};
  }
}

std::vector<std::byte> random_blocks(DType type, int64_t blocks, uint64_t seed, bool all_ones) {
  const BlockGeometry g = dtype_block_geometry(type);
  std::vector<std::byte> data(static_cast<size_t>(blocks) * g.bytes);
  std::mt19937_64 rng(seed);
  for (auto& b : data) b = std::byte(all_ones ? 0xff : rng() & 0xff);
  std::uniform_real_distribution<float> magnitude(1e-3f, 1e-2f);
  for (int64_t b = 0; b < blocks; ++b) {
    for (size_t off : half_fields(type)) {
      const uint16_t h = f32_to_f16(magnitude(rng) * (rng() & 1 ? -1.0f : 1.0f));
      std::memcpy(data.data() + static_cast<size_t>(b) * g.bytes + off, &h, 2);
    }
  }
  return data;
}

// Σ of the reference block dot products over a row; x points at the token's Q8_K or Q8_0 blocks.
float reference_dot(DType type, const std::byte* row, const std::byte* x, int64_t blocks) {
  const auto* xk = reinterpret_cast<const BlockQ8_K*>(x);
  switch (type) {
    case DType::Q5_0:
      return dot_q5_0_q8_0_scalar(reinterpret_cast<const BlockQ5_0*>(row), reinterpret_cast<const BlockQ8_0*>(x),
                                  blocks);
    case DType::Q4_K:
      return dot_q4_k_q8_k_scalar(reinterpret_cast<const BlockQ4_K*>(row), xk, blocks);
    case DType::Q5_K:
      return dot_q5_k_q8_k_scalar(reinterpret_cast<const BlockQ5_K*>(row), xk, blocks);
    default:
      return dot_q6_k_q8_k_scalar(reinterpret_cast<const BlockQ6_K*>(row), xk, blocks);
  }
}

void widen(DType type, const std::byte* row, int64_t cols, float* out) {
  switch (type) {
    case DType::Q5_0:
      dequantize_row_q5_0(reinterpret_cast<const BlockQ5_0*>(row), out, cols);
      break;
    case DType::Q4_K:
      dequantize_row_q4_k(reinterpret_cast<const BlockQ4_K*>(row), out, cols);
      break;
    case DType::Q5_K:
      dequantize_row_q5_k(reinterpret_cast<const BlockQ5_K*>(row), out, cols);
      break;
    default:
      dequantize_row_q6_k(reinterpret_cast<const BlockQ6_K*>(row), out, cols);
      break;
  }
}

class GgmlGemv : public ::testing::TestWithParam<std::tuple<std::string, DType>> {};

TEST_P(GgmlGemv, RowGroupsEqualScalarReferenceForEveryRowAndToken) {
  const auto [level, type] = GetParam();
  if (!level_runs_here(level)) GTEST_SKIP() << "this CPU has no " << level;
  const GemvKernel gemv = kernel_for(level, type);
  ASSERT_NE(gemv, nullptr);
  const int64_t rows = 11, block = dtype_block_geometry(type).weights;
  const bool k_quant = block == kSuperBlock;
  // Activation blocks of a token, bytes each: Q8_K for the K-quants, Q8_0 for Q5_0.
  const size_t x_block_bytes = k_quant ? sizeof(BlockQ8_K) : sizeof(BlockQ8_0);
  for (int64_t blocks : {int64_t{1}, int64_t{3}, k_quant ? int64_t{19} : int64_t{70}}) {
    const int64_t cols = blocks * block;
    for (bool all_ones : {false, true}) {
      std::vector<std::byte> data = random_blocks(type, rows * blocks, 1000 * blocks + all_ones, all_ones);
      const WeightMatrix m{type, rows, cols, data.data()};
      for (int64_t n : {1, 2, 3, 4, 9}) {
        std::vector<float> x = random_values(17 * blocks + n, n * cols, 1.0f);
        if (all_ones) {  // activations that quantize to ±127 everywhere
          for (int64_t i = 0; i < n * cols; ++i) x[i] = i % 3 ? 1.0f : -1.0f;
        }
        std::vector<std::byte> xq(static_cast<size_t>(n * blocks) * x_block_bytes);
        const auto token_blocks = [&](int64_t t) {
          return xq.data() + static_cast<size_t>(t * blocks) * x_block_bytes;
        };
        for (int64_t t = 0; t < n; ++t) {
          if (k_quant)
            quantize_row_q8_k(x.data() + t * cols, reinterpret_cast<BlockQ8_K*>(token_blocks(t)), cols);
          else
            quantize_row_q8_0(x.data() + t * cols, reinterpret_cast<BlockQ8_0*>(token_blocks(t)), cols);
        }
        const PreparedActivations a{x.data(), n, cols, xq.data(), nullptr};
        for (auto [r0, r1] : {std::pair<int64_t, int64_t>{1, 10}, {2, 11}, {0, 11}, {5, 6}}) {
          const int64_t ldy = rows + 3;
          const float sentinel = -12345.0f;
          std::vector<float> y(static_cast<size_t>(n * ldy), sentinel);
          KernelScratch scratch;
          gemv(m, a, y.data(), ldy, r0, r1, scratch);
          std::vector<float> wd(cols), xd(cols);
          for (int64_t t = 0; t < n; ++t) {
            if (k_quant)
              dequantize_row_q8_k(reinterpret_cast<const BlockQ8_K*>(token_blocks(t)), xd.data(), cols);
            else
              dequantize_row_q8_0(reinterpret_cast<const BlockQ8_0*>(token_blocks(t)), xd.data(), cols);
            for (int64_t r = 0; r < ldy; ++r) {
              const float got = y[t * ldy + r];
              if (r < r0 || r >= r1) {
                ASSERT_EQ(got, sentinel) << level << " wrote outside its rows: r " << r << " t " << t;
                continue;
              }
              const float ref = reference_dot(type, m.row(r), token_blocks(t), blocks);
              widen(type, m.row(r), cols, wd.data());
              double magnitude = 0;
              for (int64_t i = 0; i < cols; ++i) magnitude += std::fabs(double(wd[i]) * xd[i]);
              // Integer sums exact on both sides; float rounding of the per-super-block scaling
              // and the sums in another order: a few ulps of Σ|w·x|.
              ASSERT_NEAR(got, ref, 2e-6 * magnitude + 1e-7)
                  << level << " " << dtype_name(type) << " blocks " << blocks << " n " << n << " t " << t << " r " << r
                  << " range " << r0 << ".." << r1;
            }
          }
        }
      }
    }
  }
}

// The level tables take these kernels; the K-quants prefill by them over every token count (Q5_0
// by the float GEMM).
TEST_P(GgmlGemv, LevelTablesUseThem) {
  const auto [level, type] = GetParam();
  if (!level_runs_here(level)) GTEST_SKIP() << "this CPU has no " << level;
  const WeightKernels k = weight_kernels_for(level.c_str(), type);
  EXPECT_EQ(k.gemv, kernel_for(level, type)) << level << " " << dtype_name(type);
  if (type != DType::Q5_0) {
    EXPECT_EQ(k.gemv_max_tokens, std::numeric_limits<int64_t>::max());
  }
}

INSTANTIATE_TEST_SUITE_P(LevelsAndTypes, GgmlGemv,
                         ::testing::Combine(::testing::Values("avx2", "avx512"),
                                            ::testing::Values(DType::Q5_0, DType::Q4_K, DType::Q5_K, DType::Q6_K)),
                         [](const auto& info) {
                           return std::get<0>(info.param) + "_" + dtype_name(std::get<1>(info.param));
                         });

#endif

}  // namespace
}  // namespace dschat
