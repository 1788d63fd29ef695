// Every level's kernels the CPU can run, for every weight type, equal the portable scalar
// reference on random data with odd block and row counts; the quantized matmul equals a float
// matmul over the dequantized weights (with Q8_0 activations).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "engine/ops/cpu_features.h"
#include "engine/quant/half_float.h"
#include "engine/ops/block_dot.h"
#include "engine/ops/block_gemv.h"
#include "engine/ops/matmul.h"
#include "engine/ops/vector_kernels.h"
#include "engine/ops/weight_kernels.h"
#include "engine/ops/workspace.h"

#include "tests/engine/random_values.h"

namespace dschat {
namespace {

bool level_runs_here(const std::string& level) {
  const CpuFeatures& f = cpu_features();
  if (level == "avx512") return f.has_avx512_level();
  if (level == "avx2") return f.has_avx2_level();
  return true;
}

// y[t*ldy + r] for rows [r0, r1) through one level's table: its GEMV over activations it prepared
// itself for a few tokens, its GEMM for more.
void level_rows(const WeightKernels& k, const WeightMatrix& m, const float* x, int64_t n, float* y, int64_t ldy,
                int64_t r0, int64_t r1) {
  KernelScratch scratch;
  if (n > k.gemv_max_tokens) {
    k.gemm(m, x, n, y, ldy, r0, r1, scratch);
    return;
  }
  PreparedActivations a{x, n, m.cols, nullptr, k.prepare};
  std::vector<std::byte> prepared;
  if (k.prepare) {
    prepared.resize(k.prepared_bytes(m.cols, n));
    k.prepare(x, m.cols, n, prepared.data());
    a.data = prepared.data();
  }
  k.gemv(m, a, y, ldy, r0, r1, scratch);
}

class SimdKernels : public ::testing::TestWithParam<std::string> {};

// Each level's Q8_0 and Q4_0 GEMV (its own activation quantization included) = the scalar block
// dot products over the reference quantization of the same activations.
TEST_P(SimdKernels, EqualScalarReferenceOnOddSizes) {
  const std::string level = GetParam();
  if (!level_runs_here(level)) GTEST_SKIP() << "this CPU has no " << level;
  const WeightKernels k8 = weight_kernels_for(level.c_str(), DType::Q8_0);
  const WeightKernels k4 = weight_kernels_for(level.c_str(), DType::Q4_0);
  ASSERT_TRUE(k8.available() && k4.available());
  for (int64_t blocks : {1, 2, 3, 7, 16, 33}) {
    const int64_t n = blocks * kQuantBlock;
    for (int trial = 0; trial < 5; ++trial) {
      const uint64_t seed = 1000 * blocks + trial;
      std::vector<float> w = random_values(seed, n, 0.1f), x = random_values(seed + 1, n, 3.0f);
      std::vector<BlockQ8_0> w8(blocks), x8(blocks);
      std::vector<BlockQ4_0> w4(blocks);
      quantize_row_q8_0(w.data(), w8.data(), n);
      quantize_row_q4_0(w.data(), w4.data(), n);
      if (trial == 4) {  // extremes: -127/127 everywhere (maddubs saturation would show here)
        for (auto& b : w8) for (auto& q : b.qs) q = static_cast<int8_t>(&q - b.qs) % 2 ? 127 : -127;
        for (int64_t i = 0; i < n; ++i) x[i] = i % 2 ? 1.0f : -1.0f;  // quantizes to ±127
        for (auto& b : w4) for (auto& q : b.qs) q = 0x0f;
      }
      quantize_row_q8_0(x.data(), x8.data(), n);
      const float ref8 = dot_q8_0_q8_0_scalar(w8.data(), x8.data(), blocks);
      const float ref4 = dot_q4_0_q8_0_scalar(w4.data(), x8.data(), blocks);
      const float tol8 = 1e-5f * std::fabs(ref8) + 1e-5f, tol4 = 1e-5f * std::fabs(ref4) + 1e-5f;
      float y8 = 0, y4 = 0;
      level_rows(k8, {DType::Q8_0, 1, n, reinterpret_cast<const std::byte*>(w8.data())}, x.data(), 1, &y8, 1, 0, 1);
      level_rows(k4, {DType::Q4_0, 1, n, reinterpret_cast<const std::byte*>(w4.data())}, x.data(), 1, &y4, 1, 0, 1);
      EXPECT_NEAR(y8, ref8, tol8) << level << " blocks " << blocks;
      EXPECT_NEAR(y4, ref4, tol4) << level << " blocks " << blocks;
    }
  }
}

// The GEMVs take rows in groups (four at a time): every row of a range that starts and ends off
// a group boundary, for 1..4 tokens (more for the GEMVs that also prefill), written at y[t*ldy + r] and nowhere else, equals the scalar
// block dot product of that row; the bound is float rounding of Σ|terms|, not a loose one.
TEST_P(SimdKernels, RowGroupsEqualScalarReferenceForEveryRowAndToken) {
  const std::string level = GetParam();
  if (!level_runs_here(level)) GTEST_SKIP() << "this CPU has no " << level;
  const int64_t rows = 11, blocks = 9, cols = blocks * kQuantBlock;
  std::vector<float> w = random_values(41, rows * cols, 0.1f);
  for (DType dtype : {DType::Q8_0, DType::Q4_0}) {
    const WeightKernels k = weight_kernels_for(level.c_str(), dtype);
    ASSERT_TRUE(k.available());
    WeightMatrix m{dtype, rows, cols, nullptr};
    std::vector<std::byte> storage(m.bytes());
    m.data = storage.data();
    for (int64_t r = 0; r < rows; ++r) {
      auto* dst = const_cast<std::byte*>(m.row(r));
      if (dtype == DType::Q8_0) quantize_row_q8_0(w.data() + r * cols, reinterpret_cast<BlockQ8_0*>(dst), cols);
      else quantize_row_q4_0(w.data() + r * cols, reinterpret_cast<BlockQ4_0*>(dst), cols);
    }
    // 1..4 tokens (decode), and for the GEMVs that prefill too, token counts past their tiles.
    for (int64_t n : {1, 2, 3, 4, 5, 7, 9, 14}) {
      if (n > k.gemv_max_tokens) continue;
      std::vector<float> x = random_values(42 + n, n * cols, 2.0f);
      const int64_t r0 = 1, r1 = rows - 1, ldy = rows + 3;
      const float sentinel = -12345.0f;
      std::vector<float> y(n * ldy, sentinel);
      level_rows(k, m, x.data(), n, y.data(), ldy, r0, r1);
      std::vector<BlockQ8_0> xb(blocks);
      for (int64_t t = 0; t < n; ++t) {
        quantize_row_q8_0(x.data() + t * cols, xb.data(), cols);
        std::vector<float> xd(cols), wd(cols);
        dequantize_row_q8_0(xb.data(), xd.data(), cols);
        for (int64_t r = 0; r < ldy; ++r) {
          const float got = y[t * ldy + r];
          if (r < r0 || r >= r1) {
            EXPECT_EQ(got, sentinel) << level << " wrote outside its rows: r " << r;
            continue;
          }
          const std::byte* row = m.row(r);
          const float ref = dtype == DType::Q8_0
                                ? dot_q8_0_q8_0_scalar(reinterpret_cast<const BlockQ8_0*>(row), xb.data(), blocks)
                                : dot_q4_0_q8_0_scalar(reinterpret_cast<const BlockQ4_0*>(row), xb.data(), blocks);
          weight_row_to_f32(m, r, wd.data());
          double magnitude = 0;
          for (int64_t i = 0; i < cols; ++i) magnitude += std::fabs(double(wd[i]) * xd[i]);
          EXPECT_NEAR(got, ref, 2e-6 * magnitude + 1e-7) << level << " " << dtype_name(dtype) << " n " << n << " t "
                                                         << t << " r " << r;
        }
      }
    }
  }
}

// Each level's preparation of Q8_0 activations (for Q8_0, Q4_0 and Q4_0_X8 weights) is the
// reference quantize_row_q8_0 byte for byte: random blocks of several magnitudes, a zero block,
// a block whose scale is an fp16 subnormal, and values exactly halfway between two codes (ties
// go to even).
TEST_P(SimdKernels, ActivationPreparationIsTheReferenceQuantizationByteForByte) {
  const std::string level = GetParam();
  if (!level_runs_here(level)) GTEST_SKIP() << "this CPU has no " << level;
  const int64_t blocks = 7, cols = blocks * kQuantBlock, n = 3;
  std::vector<float> x = random_values(77, n * cols, 1.0f);
  for (int64_t i = 0; i < cols; ++i) x[i] *= std::pow(10.0f, static_cast<float>(i / kQuantBlock) - 3);
  for (int64_t i = 0; i < kQuantBlock; ++i) {
    x[cols + i] = 0.0f;                                  // token 1, block 0: all zero
    x[cols + kQuantBlock + i] = 5e-4f * (i % 5 - 2);     // block 1: d = 7.9e-6, an fp16 subnormal
    x[2 * cols + i] = i == 0 ? 127.0f : (i % 7) - 3.5f;  // token 2, block 0: d = 1, ties at ±k.5
  }
  std::vector<std::byte> want(block_gemv::q8_activation_bytes(cols, n));
  block_gemv::quantize_activations_q8_0(x.data(), cols, n, want.data());
  for (DType dtype : {DType::Q8_0, DType::Q4_0, DType::Q4_0_X8}) {
    const WeightKernels k = weight_kernels_for(level.c_str(), dtype);
    ASSERT_TRUE(k.available() && k.prepare != nullptr) << level << " " << dtype_name(dtype);
    ASSERT_EQ(k.prepared_bytes(cols, n), want.size());
    std::vector<std::byte> got(want.size(), std::byte{0x55});
    k.prepare(x.data(), cols, n, got.data());
    for (size_t i = 0; i < want.size(); ++i) {
      ASSERT_EQ(got[i], want[i]) << level << " " << dtype_name(dtype) << " byte " << i << " (block "
                                 << i / sizeof(BlockQ8_0) << ")";
    }
  }
}

// Each level's row widening of the block types is the reference dequantization, bit for bit
// (d·q is one rounding whatever the instruction), including the extreme codes (-128, nibble 0/15).
TEST_P(SimdKernels, RowWideningEqualsReferenceDequantizationExactly) {
  const std::string level = GetParam();
  if (!level_runs_here(level)) GTEST_SKIP() << "this CPU has no " << level;
  const int64_t blocks = 5, cols = blocks * kQuantBlock;
  std::vector<float> w = random_values(77, cols, 0.3f);
  std::vector<BlockQ8_0> w8(blocks);
  std::vector<BlockQ4_0> w4(blocks);
  quantize_row_q8_0(w.data(), w8.data(), cols);
  quantize_row_q4_0(w.data(), w4.data(), cols);
  w8[1].qs[3] = -128;
  w4[2].qs[0] = 0xf0;
  std::vector<float> ref8(cols), ref4(cols), got8(cols, -1.0f), got4(cols, -1.0f);
  dequantize_row_q8_0(w8.data(), ref8.data(), cols);
  dequantize_row_q4_0(w4.data(), ref4.data(), cols);
  weight_kernels_for(level.c_str(), DType::Q8_0).row_to_f32(reinterpret_cast<const std::byte*>(w8.data()), cols, got8.data());
  weight_kernels_for(level.c_str(), DType::Q4_0).row_to_f32(reinterpret_cast<const std::byte*>(w4.data()), cols, got4.data());
  for (int64_t i = 0; i < cols; ++i) {
    ASSERT_EQ(got8[i], ref8[i]) << level << " Q8_0 i " << i;
    ASSERT_EQ(got4[i], ref4[i]) << level << " Q4_0 i " << i;
  }
}

INSTANTIATE_TEST_SUITE_P(Levels, SimdKernels, ::testing::Values("scalar", "avx2", "avx512"));

TEST(SimdKernels, DispatchPicksASupportedLevel) {
  const std::string level = simd_level();
  EXPECT_TRUE(level_runs_here(level)) << level;
  for (DType type : {DType::F32, DType::F16, DType::BF16, DType::Q8_0, DType::Q4_0, DType::Q4_K, DType::Q5_K,
                     DType::Q6_K, DType::Q4_1, DType::Q5_0, DType::Q5_1, DType::Q2_K, DType::Q3_K, DType::IQ4_NL,
                     DType::IQ4_XS}) {
    EXPECT_EQ(std::string(weight_kernels(type).level), level) << dtype_name(type);
    EXPECT_EQ(weight_kernels(type).block.bytes, dtype_block_bytes(type)) << dtype_name(type);
  }
}

// A weight matrix of `dtype` holding (a rounding of) `values` [rows, cols].
WeightMatrix make_matrix(DType dtype, int64_t rows, int64_t cols, const std::vector<float>& values,
                         std::vector<std::byte>& storage) {
  WeightMatrix m{dtype, rows, cols, nullptr};
  storage.assign(m.bytes(), std::byte{0});
  m.data = storage.data();
  for (int64_t r = 0; r < rows; ++r) {
    auto* dst = const_cast<std::byte*>(m.row(r));
    const float* v = values.data() + r * cols;
    switch (dtype) {
      case DType::F32: std::memcpy(dst, v, cols * sizeof(float)); break;
      case DType::BF16:
        for (int64_t i = 0; i < cols; ++i) reinterpret_cast<uint16_t*>(dst)[i] = f32_to_bf16(v[i]);
        break;
      case DType::F16:
        for (int64_t i = 0; i < cols; ++i) reinterpret_cast<uint16_t*>(dst)[i] = f32_to_f16(v[i]);
        break;
      case DType::Q8_0: quantize_row_q8_0(v, reinterpret_cast<BlockQ8_0*>(dst), cols); break;
      case DType::Q4_0: quantize_row_q4_0(v, reinterpret_cast<BlockQ4_0*>(dst), cols); break;
      default: break;
    }
  }
  return m;
}

// The activations a kernel is expected to multiply: x itself, or its Q8_0 rounding where the
// integer kernels of table `k` run (block weights, up to its GEMV's token count).
std::vector<float> expected_activations(const WeightKernels& k, DType dtype, int64_t n, int64_t cols,
                                        const std::vector<float>& x) {
  if (!dtype_is_block(dtype) || n > k.gemv_max_tokens) return x;
  std::vector<float> out(x.size());
  std::vector<BlockQ8_0> q(cols / kQuantBlock);
  for (int64_t t = 0; t < n; ++t) {
    quantize_row_q8_0(x.data() + t * cols, q.data(), cols);
    dequantize_row_q8_0(q.data(), out.data() + t * cols, cols);
  }
  return out;
}

class FloatKernels : public ::testing::TestWithParam<std::string> {};

// Every level's rows kernel = a double-precision sum over the widened weights, for every dtype,
// odd row counts and row ranges, odd widths (float dtypes), one token and GEMM-sized batches.
TEST_P(FloatKernels, RowsEqualDoubleReferenceForEveryDtype) {
  const std::string level = GetParam();
  if (!level_runs_here(level)) GTEST_SKIP() << "this CPU has no " << level;
  for (DType dtype : {DType::F32, DType::BF16, DType::F16, DType::Q8_0, DType::Q4_0}) {
    const WeightKernels k = weight_kernels_for(level.c_str(), dtype);
    ASSERT_TRUE(k.available()) << level << " " << dtype_name(dtype);
    for (int64_t cols : {int64_t{7}, int64_t{64}, int64_t{161}, int64_t{544}}) {
      if (dtype_is_block(dtype) && cols % kQuantBlock != 0) continue;
      for (int64_t n : {int64_t{1}, int64_t{2}, int64_t{3}, int64_t{4}, int64_t{5}, int64_t{19}}) {
        const int64_t rows = 37;
        std::vector<float> wv = random_values(cols * 31 + n, rows * cols, 0.05f);
        std::vector<float> x = random_values(cols * 17 + n, n * cols, 1.0f);
        std::vector<std::byte> storage;
        const WeightMatrix m = make_matrix(dtype, rows, cols, wv, storage);
        const std::vector<float> xe = expected_activations(k, dtype, n, cols, x);
        const int64_t r0 = 3, r1 = rows, ldy = rows + 2;
        std::vector<float> y(n * ldy, -1.0f), wr(cols);
        level_rows(k, m, x.data(), n, y.data(), ldy, r0, r1);
        for (int64_t t = 0; t < n; ++t) {
          for (int64_t r = 0; r < ldy; ++r) {
            if (r < r0 || r >= r1) {
              ASSERT_EQ(y[t * ldy + r], -1.0f) << "wrote outside its rows: r " << r;
              continue;
            }
            weight_row_to_f32(m, r, wr.data());
            double ref = 0, scale = 0;
            for (int64_t i = 0; i < cols; ++i) {
              ref += double(wr[i]) * xe[t * cols + i];
              scale += std::fabs(double(wr[i]) * xe[t * cols + i]);
            }
            ASSERT_NEAR(y[t * ldy + r], ref, 1e-5 * scale + 1e-7)
                << level << " " << dtype_name(dtype) << " cols " << cols << " n " << n << " t " << t << " r " << r;
          }
        }
      }
    }
  }
}

// A GEMV of n tokens gives bit for bit the outputs of n one-token GEMVs (MTP's verify pass of
// k+1 tokens must equal k+1 decode steps exactly), for the float dtypes at every level, and the
// GEMM's per-token product within float rounding.
TEST_P(FloatKernels, SeveralTokensEqualOneTokenCallsBitForBit) {
  const std::string level = GetParam();
  if (!level_runs_here(level)) GTEST_SKIP() << "this CPU has no " << level;
  for (DType dtype : {DType::F32, DType::BF16, DType::F16}) {
    const WeightKernels k = weight_kernels_for(level.c_str(), dtype);
    ASSERT_TRUE(k.available()) << level << " " << dtype_name(dtype);
    for (int64_t cols : {int64_t{13}, int64_t{512}, int64_t{520}}) {
      const int64_t rows = 23;
      std::vector<float> wv = random_values(cols * 7 + 1, rows * cols, 0.05f);
      std::vector<std::byte> storage;
      const WeightMatrix m = make_matrix(dtype, rows, cols, wv, storage);
      for (int64_t n = 2; n <= std::min<int64_t>(4, k.gemv_max_tokens); ++n) {
        std::vector<float> x = random_values(cols * 5 + n, n * cols, 1.0f);
        const int64_t r0 = 2, r1 = rows - 1;
        std::vector<float> batched(n * rows, 0.0f), single(rows, 0.0f), gemm(rows, 0.0f);
        level_rows(k, m, x.data(), n, batched.data(), rows, r0, r1);
        for (int64_t t = 0; t < n; ++t) {
          level_rows(k, m, x.data() + t * cols, 1, single.data(), rows, r0, r1);
          KernelScratch scratch;
          k.gemm(m, x.data() + t * cols, 1, gemm.data(), rows, r0, r1, scratch);
          for (int64_t r = r0; r < r1; ++r) {
            ASSERT_EQ(std::memcmp(&batched[t * rows + r], &single[r], sizeof(float)), 0)
                << level << " " << dtype_name(dtype) << " cols " << cols << " n " << n << " t " << t << " r " << r
                << ": " << batched[t * rows + r] << " vs " << single[r];
            // (Not compared bit for bit with the GEMM: whether the compiler contracts the GEMM's
            // `acc += w * x` into an FMA depends on the optimisation level; -O1 does not.)
            std::vector<float> wr(cols);
            weight_row_to_f32(m, r, wr.data());
            double magnitude = 0;
            for (int64_t i = 0; i < cols; ++i) magnitude += std::fabs(double(wr[i]) * x[t * cols + i]);
            ASSERT_NEAR(gemm[r], batched[t * rows + r], 1e-6 * magnitude + 1e-7);
          }
        }
      }
    }
  }
}

TEST_P(FloatKernels, DotAndTransposedVectorEqualDoubleReference) {
  const std::string level = GetParam();
  if (!level_runs_here(level)) GTEST_SKIP() << "this CPU has no " << level;
  const VectorKernels k = vector_kernels_for(level.c_str());
  for (int64_t n : {int64_t{1}, int64_t{15}, int64_t{16}, int64_t{33}, int64_t{128}, int64_t{131}}) {
    std::vector<float> a = random_values(n, n, 1.0f), b = random_values(n + 1, n, 1.0f);
    double ref = 0, scale = 0;
    for (int64_t i = 0; i < n; ++i) {
      ref += double(a[i]) * b[i];
      scale += std::fabs(double(a[i]) * b[i]);
    }
    EXPECT_NEAR(k.dot_f32(a.data(), b.data(), n), ref, 1e-5 * scale) << level << " n " << n;
  }
  for (DType dtype : {DType::F32, DType::BF16, DType::F16}) {
    const int64_t rows = 33, cols = 131;
    std::vector<float> wv = random_values(5, rows * cols, 0.05f), a = random_values(6, rows, 1.0f);
    std::vector<std::byte> storage;
    const WeightMatrix m = make_matrix(dtype, rows, cols, wv, storage);
    // The transposed product as matmul_transposed_vector forms it: Σ_r a[r]·row r, by this level's axpy.
    std::vector<float> out(cols, 0.0f), wr(cols);
    for (int64_t r = 0; r < rows; ++r) {
      weight_row_to_f32(m, r, wr.data());
      k.axpy(a[r], wr.data(), out.data(), cols);
    }
    if (level == simd_level()) {
      std::vector<float> driver(cols);
      KernelScratch scratch;
      matmul_transposed_vector(m, a.data(), driver.data(), scratch);
      ASSERT_EQ(driver, out) << dtype_name(dtype);
    }
    std::vector<double> ref(cols, 0.0), scale(cols, 0.0);
    for (int64_t r = 0; r < rows; ++r) {
      weight_row_to_f32(m, r, wr.data());
      for (int64_t c = 0; c < cols; ++c) {
        ref[c] += double(a[r]) * wr[c];
        scale[c] += std::fabs(double(a[r]) * wr[c]);
      }
    }
    for (int64_t c = 0; c < cols; ++c) {
      ASSERT_NEAR(out[c], ref[c], 1e-5 * scale[c] + 1e-7) << level << " " << dtype_name(dtype) << " c " << c;
    }
  }
}

// The small products of attention over a cached tile, against double sums: shapes with tails in
// every blocked dimension (rows of A/P, rows of B, columns), strides wider than the rows, and
// each output row the same bits when its row is computed alone (m = 1) as among m rows.
TEST_P(FloatKernels, RowProductsEqualDoubleReferenceWhateverTheRowCount) {
  const std::string level = GetParam();
  if (!level_runs_here(level)) GTEST_SKIP() << "this CPU has no " << level;
  const VectorKernels k = vector_kernels_for(level.c_str());
  struct Shape {
    int64_t m, n, cols;
  };
  for (const Shape sh : {Shape{8, 64, 512}, Shape{7, 13, 64}, Shape{1, 1, 1}, Shape{5, 9, 131}, Shape{16, 64, 576}}) {
    const int64_t lda = sh.cols + 3, ldb = sh.cols + 5, ldc = sh.n + 2;
    std::vector<float> a = random_values(sh.m + 90, sh.m * lda, 1.0f), b = random_values(sh.n + 91, sh.n * ldb, 1.0f);
    // row_dots: C = A·Bᵀ.
    std::vector<float> c(sh.m * ldc, -7.0f);
    k.row_dots(a.data(), lda, sh.m, b.data(), ldb, sh.n, sh.cols, c.data(), ldc);
    for (int64_t i = 0; i < sh.m; ++i) {
      std::vector<float> alone(sh.n);
      k.row_dots(a.data() + i * lda, lda, 1, b.data(), ldb, sh.n, sh.cols, alone.data(), sh.n);
      for (int64_t j = 0; j < sh.n; ++j) {
        double ref = 0, scale = 0;
        for (int64_t x = 0; x < sh.cols; ++x) {
          ref += double(a[i * lda + x]) * b[j * ldb + x];
          scale += std::fabs(double(a[i * lda + x]) * b[j * ldb + x]);
        }
        ASSERT_NEAR(c[i * ldc + j], ref, 1e-5 * scale + 1e-7) << level << " row_dots " << i << "," << j;
        ASSERT_EQ(c[i * ldc + j], alone[j]) << level << " row " << i << " alone differs";
      }
      ASSERT_EQ(c[i * ldc + sh.n], -7.0f) << "row_dots wrote past n";
    }
    // weighted_row_sums: C += P·B, P [m, n] (the softmax weights), C [m, cols] with a start value.
    const int64_t ldp = sh.n + 1, ldo = sh.cols + 4;
    std::vector<float> p = random_values(sh.m + 92, sh.m * ldp, 1.0f), start = random_values(93, sh.m * ldo, 1.0f);
    std::vector<float> o = start;
    k.weighted_row_sums(p.data(), ldp, sh.m, b.data(), ldb, sh.n, sh.cols, o.data(), ldo);
    for (int64_t i = 0; i < sh.m; ++i) {
      std::vector<float> alone(start.begin() + i * ldo, start.begin() + (i + 1) * ldo);
      k.weighted_row_sums(p.data() + i * ldp, ldp, 1, b.data(), ldb, sh.n, sh.cols, alone.data(), ldo);
      for (int64_t x = 0; x < sh.cols; ++x) {
        double ref = start[i * ldo + x], scale = std::fabs(ref);
        for (int64_t t = 0; t < sh.n; ++t) {
          ref += double(p[i * ldp + t]) * b[t * ldb + x];
          scale += std::fabs(double(p[i * ldp + t]) * b[t * ldb + x]);
        }
        ASSERT_NEAR(o[i * ldo + x], ref, 1e-5 * scale + 1e-7) << level << " weighted_row_sums " << i << "," << x;
        ASSERT_EQ(o[i * ldo + x], alone[x]) << level << " row " << i << " alone differs";
      }
      for (int64_t x = sh.cols; x < ldo; ++x) ASSERT_EQ(o[i * ldo + x], start[i * ldo + x]) << "wrote past cols";
    }
  }
}

TEST_P(FloatKernels, SoftmaxEqualsDoubleReference) {
  const std::string level = GetParam();
  if (!level_runs_here(level)) GTEST_SKIP() << "this CPU has no " << level;
  const VectorKernels k = vector_kernels_for(level.c_str());
  for (int64_t n : {int64_t{1}, int64_t{5}, int64_t{16}, int64_t{17}, int64_t{300}}) {
    std::vector<float> v = random_values(n + 50, n, 8.0f);  // scores spanning e^-40..e^40
    if (n == 300) v[7] = -1e30f;                            // a masked-out score underflows to 0
    double max_v = *std::max_element(v.begin(), v.end()), sum = 0;
    std::vector<double> ref(n);
    for (int64_t i = 0; i < n; ++i) sum += ref[i] = std::exp(double(v[i]) - max_v);
    k.softmax(v.data(), n);
    for (int64_t i = 0; i < n; ++i) ASSERT_NEAR(v[i], ref[i] / sum, 2e-5 * ref[i] / sum + 1e-9) << level << " n " << n << " i " << i;
  }
}

// SiLU(g)·u against a double-precision z / (1 + e^-z), over the range where σ saturates both ways.
TEST_P(FloatKernels, SiluMulEqualsDoubleReference) {
  const std::string level = GetParam();
  if (!level_runs_here(level)) GTEST_SKIP() << "this CPU has no " << level;
  const VectorKernels k = vector_kernels_for(level.c_str());
  ASSERT_NE(k.silu_mul, nullptr);
  for (int64_t n : {int64_t{1}, int64_t{15}, int64_t{16}, int64_t{33}, int64_t{768}}) {
    std::vector<float> g = random_values(n + 70, n, 12.0f), u = random_values(n + 71, n, 2.0f);
    if (n == 768) g[3] = -100.0f, g[4] = 100.0f, g[5] = 0.0f;  // e^±100 and the origin
    for (bool with_u : {true, false}) {
      std::vector<float> out = g;
      k.silu_mul(out.data(), with_u ? u.data() : nullptr, n);
      for (int64_t i = 0; i < n; ++i) {
        const double z = g[i], ref = z / (1.0 + std::exp(-z)) * (with_u ? double(u[i]) : 1.0);
        ASSERT_NEAR(out[i], ref, 1e-6 * std::fabs(ref) + 1e-30) << level << " n " << n << " i " << i << " z " << z;
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Levels, FloatKernels, ::testing::Values("scalar", "avx2", "avx512"));

TEST(FloatKernels, DispatchPicksTheSameLevelAsTheQuantizedKernels) {
  EXPECT_EQ(std::string(vector_kernels().name), simd_level());
}

// matmul over a quantized matrix (odd rows) = Σ dequant(w)·dequant(q8(x)) for a few tokens
// (integer kernels), Σ dequant(w)·x for more (float GEMM over dequantized rows).
TEST(QuantizedMatmul, EqualsFloatMatmulOfDequantizedOperands) {
  for (int64_t n : {int64_t{3}, int64_t{9}}) {
  const int64_t rows = 37, cols = 5 * kQuantBlock;
  std::vector<float> w = random_values(7, rows * cols, 0.05f), x = random_values(8, n * cols, 1.0f);
  for (DType dtype : {DType::Q8_0, DType::Q4_0}) {
    const int64_t gemv_max = weight_kernels(dtype).gemv_max_tokens;  // 9 tokens: GEMM or integer prefill
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
    Workspace workspace(pool);
    matmul(workspace, m, x.data(), n, y.data());
    std::vector<float> wr(cols), xq(cols);
    std::vector<BlockQ8_0> xb(cols / kQuantBlock);
    for (int64_t t = 0; t < n; ++t) {
      if (n <= gemv_max) {
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
