// Every level's kernels the CPU can run, for every GGUF block type (ggml_blocks.h): the GEMV (a
// few tokens, activations quantized by the table's own prepare) equals the double-precision dot
// product of the widened weights with the same quantized activations (Q8_0 for the 32-value
// types, Q8_K for the 256-value ones); the GEMM (more tokens) equals it with the float
// activations; and both are within the activation rounding's bound of the exact float product.
// Weights are random valid blocks: random bytes with finite fp16 scales, plus all-0x00 and
// all-0xff blocks (the largest codes, where a saturating integer product would show).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "engine/ops/cpu_features.h"
#include "engine/ops/matmul.h"
#include "engine/ops/weight_kernels.h"
#include "engine/ops/workspace.h"
#include "engine/quant/ggml_dequantize.h"
#include "engine/quant/ggml_quantize.h"
#include "engine/quant/half_float.h"
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

// Byte offsets of each type's fp16 fields (ggml-common.h).
std::vector<size_t> half_fields(DType type) {
  switch (type) {
    case DType::Q4_1:
    case DType::Q5_1:
    case DType::Q4_K:
    case DType::Q5_K: return {0, 2};
    case DType::Q2_K: return {80, 82};
    case DType::Q3_K: return {108};
    case DType::Q6_K: return {208};
    default: return {0};  // Q5_0, IQ4_NL, IQ4_XS
  }
}

enum class Fill { Random, Zeros, Ones };

// rows × cols weights of `type` as random valid blocks (or all bytes 0x00 / 0xff), scales fp16
// of magnitude 1e-3..1e-2 and either sign.
std::vector<std::byte> random_blocks(DType type, int64_t rows, int64_t cols, uint64_t seed, Fill fill) {
  const BlockGeometry g = dtype_block_geometry(type);
  const int64_t blocks = rows * cols / g.weights;
  std::vector<std::byte> data(static_cast<size_t>(blocks) * g.bytes);
  std::mt19937_64 rng(seed);
  for (auto& b : data) b = std::byte(fill == Fill::Random ? rng() & 0xff : fill == Fill::Ones ? 0xff : 0);
  std::uniform_real_distribution<float> magnitude(1e-3f, 1e-2f);
  for (int64_t b = 0; b < blocks; ++b) {
    for (size_t off : half_fields(type)) {
      const float v = magnitude(rng) * (rng() & 1 ? -1.0f : 1.0f);
      const uint16_t h = f32_to_f16(v);
      std::memcpy(data.data() + static_cast<size_t>(b) * g.bytes + off, &h, 2);
    }
  }
  return data;
}

// The activations the GEMV multiplies: x rounded to the table's activation blocks. Also the
// largest rounding error of each value (its block's |d|·(0.5 + fp16 rounding of d)).
std::vector<float> quantized_activations(DType type, const std::vector<float>& x, int64_t n, int64_t cols,
                                         std::vector<float>* error_bound) {
  std::vector<float> out(x.size());
  if (error_bound) error_bound->assign(x.size(), 0.0f);
  if (dtype_block_geometry(type).weights == kSuperBlock) {
    std::vector<BlockQ8_K> q(cols / kSuperBlock);
    for (int64_t t = 0; t < n; ++t) {
      quantize_row_q8_k(x.data() + t * cols, q.data(), cols);
      dequantize_row_q8_k(q.data(), out.data() + t * cols, cols);
      if (error_bound) {
        for (int64_t i = 0; i < cols; ++i) (*error_bound)[t * cols + i] = 0.5001f * q[i / kSuperBlock].d;
      }
    }
  } else {
    std::vector<BlockQ8_0> q(cols / kQuantBlock);
    for (int64_t t = 0; t < n; ++t) {
      quantize_row_q8_0(x.data() + t * cols, q.data(), cols);
      dequantize_row_q8_0(q.data(), out.data() + t * cols, cols);
      if (error_bound) {
        // |f16(d)·q − x| ≤ |f16(d) − d|·127 + d/2 ≤ (2^-11·127 + 0.5)·d
        for (int64_t i = 0; i < cols; ++i) (*error_bound)[t * cols + i] = 0.563f * f16_to_f32(q[i / kQuantBlock].d);
      }
    }
  }
  return out;
}

// y through one level's table: GEMV over activations it prepared itself, or GEMM.
void level_rows(const WeightKernels& k, const WeightMatrix& m, const float* x, int64_t n, float* y, int64_t ldy,
                int64_t r0, int64_t r1, bool use_gemm) {
  KernelScratch scratch;
  if (use_gemm) {
    k.gemm(m, x, n, y, ldy, r0, r1, scratch);
    return;
  }
  PreparedActivations a{x, n, m.cols, nullptr, k.prepare};
  std::vector<std::byte> prepared(k.prepared_bytes(m.cols, n));
  k.prepare(x, m.cols, n, prepared.data());
  a.data = prepared.data();
  k.gemv(m, a, y, ldy, r0, r1, scratch);
}

const DType kGgmlTypes[] = {DType::Q4_K, DType::Q5_K, DType::Q6_K, DType::Q4_1,   DType::Q5_0,
                            DType::Q5_1, DType::Q2_K, DType::Q3_K, DType::IQ4_NL, DType::IQ4_XS};

class GgmlKernels : public ::testing::TestWithParam<std::tuple<std::string, DType>> {};

TEST_P(GgmlKernels, GemvAndGemmEqualDoubleReferenceAndBoundedByActivationRounding) {
  const auto [level, type] = GetParam();
  if (!level_runs_here(level)) GTEST_SKIP() << "this CPU has no " << level;
  const WeightKernels k = weight_kernels_for(level.c_str(), type);
  ASSERT_TRUE(k.available()) << level << " " << dtype_name(type);
  ASSERT_EQ(std::string(k.level), level);
  const int64_t block = dtype_block_geometry(type).weights;
  const int64_t rows = 13, r0 = 1, r1 = rows, ldy = rows + 1;
  for (int64_t blocks : {int64_t{1}, int64_t{3}, block == 32 ? int64_t{17} : int64_t{6}}) {
    const int64_t cols = blocks * block;
    for (Fill fill : {Fill::Random, Fill::Zeros, Fill::Ones}) {
      // 7 tokens: the GEMM, and the GEMV too where the table serves prefill with it.
      const std::pair<int64_t, bool> token_cases[] = {{1, false}, {3, false}, {7, true}, {7, false}};
      for (auto [n, use_gemm] : token_cases) {
        if (!use_gemm && n > k.gemv_max_tokens) continue;
        const uint64_t seed = 7919 * blocks + 31 * n + static_cast<int>(fill) + use_gemm;
        std::vector<std::byte> data = random_blocks(type, rows, cols, seed, fill);
        const WeightMatrix m{type, rows, cols, data.data()};
        std::vector<float> x = random_values(seed + 1, n * cols, 1.0f);
        if (fill == Fill::Ones) {  // activations that quantize to ±127 everywhere
          for (int64_t i = 0; i < n * cols; ++i) x[i] = i % 3 ? 1.0f : -1.0f;
        }
        const bool gemv = !use_gemm;
        std::vector<float> bound;
        const std::vector<float> xq = gemv ? quantized_activations(type, x, n, cols, &bound) : x;
        std::vector<float> y(n * ldy, -1.0f), wr(cols);
        level_rows(k, m, x.data(), n, y.data(), ldy, r0, r1, use_gemm);
        for (int64_t t = 0; t < n; ++t) {
          ASSERT_EQ(y[t * ldy], -1.0f) << "wrote outside its rows";
          for (int64_t r = r0; r < r1; ++r) {
            k.row_to_f32(m.row(r), cols, wr.data());
            double ref = 0, exact = 0, scale = 0, rounding = 0;
            for (int64_t i = 0; i < cols; ++i) {
              ref += double(wr[i]) * xq[t * cols + i];
              exact += double(wr[i]) * x[t * cols + i];
              scale += std::fabs(double(wr[i]) * xq[t * cols + i]);
              if (gemv) rounding += std::fabs(double(wr[i])) * bound[t * cols + i];
            }
            // Integer sums are exact; what remains is float rounding of the per-block scale
            // products and their sum (and of the minimum terms): a few ulps of Σ|w·x|.
            const double tol = 2e-6 * scale + 1e-6;
            ASSERT_NEAR(y[t * ldy + r], ref, tol) << level << " " << dtype_name(type) << " cols " << cols << " n " << n
                                                  << " t " << t << " r " << r;
            // Against the float activations: at most Σ|w|·(activation rounding), a bound that holds
            // value by value (0 for the GEMM, which takes the floats).
            ASSERT_NEAR(y[t * ldy + r], exact, rounding + tol + 1e-6 * std::fabs(exact))
                << level << " " << dtype_name(type) << " exact, cols " << cols << " n " << n;
          }
        }
      }
    }
  }
}

// The driver (matmul over the pool) gives what the chosen level's kernels give.
TEST_P(GgmlKernels, MatmulDriverUsesTheTypesTable) {
  const auto [level, type] = GetParam();
  if (level != simd_level()) GTEST_SKIP() << level << " is not the chosen level";
  const int64_t rows = 21, cols = 2 * dtype_block_geometry(type).weights;
  std::vector<std::byte> data = random_blocks(type, rows, cols, 5, Fill::Random);
  const WeightMatrix m{type, rows, cols, data.data()};
  ThreadPool pool(2);
  Workspace workspace(pool);
  for (int64_t n : {int64_t{2}, int64_t{9}}) {
    std::vector<float> x = random_values(11 + n, n * cols, 1.0f), y(n * rows), direct(n * rows);
    matmul(workspace, m, x.data(), n, y.data());
    const WeightKernels& k = weight_kernels(type);
    level_rows(k, m, x.data(), n, direct.data(), rows, 0, rows, n > k.gemv_max_tokens);
    EXPECT_EQ(y, direct) << dtype_name(type) << " n " << n;
  }
}

// Selection on an AVX-512 CPU: these types (but for the GEMV of Q5_0 and the K-quants) have no
// AVX-512 kernels, so that level's table holds the AVX2 GEMV, activation preparation and
// integer-prefill choice (run only where AVX-512, hence AVX2, is present) and its own float GEMM,
// used past the AVX2 GEMV's token count.
TEST(GgmlKernels, Avx512LevelUsesTheAvx2GemvAndItsOwnGemm) {
  for (DType type : kGgmlTypes) {
    const WeightKernels avx512 = weight_kernels_for("avx512", type), avx2 = weight_kernels_for("avx2", type);
    ASSERT_TRUE(avx512.available()) << dtype_name(type);
    EXPECT_STREQ(avx512.level, "avx512");
    // Q5_0 and the K-quants have this level's own GEMV (ggml_gemv_avx512.cpp, ggml_gemv_test).
    const bool own_gemv = type == DType::Q5_0 || type == DType::Q4_K || type == DType::Q5_K || type == DType::Q6_K;
    if (!own_gemv) {
      EXPECT_EQ(avx512.gemv, avx2.gemv) << dtype_name(type);
    }
    EXPECT_EQ(avx512.prepare, avx2.prepare) << dtype_name(type);
    EXPECT_EQ(avx512.gemm, weight_kernels_for("avx512", DType::Q8_0).gemm) << dtype_name(type);
    EXPECT_EQ(avx512.gemv_max_tokens, avx2.gemv_max_tokens) << dtype_name(type);
  }
}

INSTANTIATE_TEST_SUITE_P(LevelsAndTypes, GgmlKernels,
                         ::testing::Combine(::testing::Values("scalar", "avx2", "avx512"), ::testing::ValuesIn(kGgmlTypes)),
                         [](const auto& info) {
                           return std::get<0>(info.param) + "_" + dtype_name(std::get<1>(info.param));
                         });

}  // namespace
}  // namespace dschat
