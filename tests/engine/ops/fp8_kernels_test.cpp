// FP8 E4M3 weights with 128x128 block scales: every level's GEMV and GEMM equal the float product
// with the matrix dequantized here from the bytes and scales (e4m3 value × its block's scale), for
// random matrices whose edge blocks are partial, row slices inside a block included.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "engine/ops/cpu_features.h"
#include "engine/ops/matmul.h"
#include "engine/ops/weight_kernels.h"
#include "engine/quant/float8.h"

namespace dschat {
namespace {

bool level_runs_here(const std::string& level) {
  const CpuFeatures& f = cpu_features();
  if (level == "avx512") return f.has_avx512_level();
  if (level == "avx2") return f.has_avx2_level();
  return true;
}

struct Fp8Matrix {
  int64_t rows, cols;
  std::vector<uint8_t> bytes;
  std::vector<float> scales;  // [ceil(rows/128), ceil(cols/128)]
  WeightMatrix view() const {
    return {DType::F8_E4M3, rows, cols, reinterpret_cast<const std::byte*>(bytes.data()),
            WeightScales{scales.data(), 128, 128, 0}};
  }
  // The dequantized weight, independently of the kernels.
  float at(int64_t r, int64_t c) const {
    const int64_t per_row = (cols + 127) / 128;
    return e4m3_to_f32(bytes[r * cols + c]) * scales[(r / 128) * per_row + c / 128];
  }
};

Fp8Matrix random_matrix(int64_t rows, int64_t cols, uint32_t seed) {
  std::mt19937 g(seed);
  Fp8Matrix m{rows, cols, std::vector<uint8_t>(rows * cols), {}};
  for (auto& b : m.bytes) {
    do b = static_cast<uint8_t>(g() & 0xff);
    while ((b & 0x7f) == 0x7f);  // no NaN (tested apart)
  }
  std::uniform_real_distribution<float> s(1e-4f, 3e-3f);
  m.scales.resize(((rows + 127) / 128) * ((cols + 127) / 128));
  for (auto& v : m.scales) v = s(g);
  return m;
}

std::vector<float> random_x(int64_t n, uint32_t seed) {
  std::mt19937 g(seed);
  std::normal_distribution<float> d(0.0f, 1.0f);
  std::vector<float> x(n);
  for (auto& v : x) v = d(g);
  return x;
}

// y[t][r] through one level's table: GEMV for up to gemv_max_tokens tokens, GEMM beyond.
std::vector<float> run(const WeightKernels& k, const WeightMatrix& w, const std::vector<float>& x, int64_t n) {
  std::vector<float> y(n * w.rows, -1.0f);
  KernelScratch scratch;
  if (n <= k.gemv_max_tokens) {
    k.gemv(w, PreparedActivations{x.data(), n, w.cols, nullptr, nullptr}, y.data(), w.rows, 0, w.rows, scratch);
  } else {
    k.gemm(w, x.data(), n, y.data(), w.rows, 0, w.rows, scratch);
  }
  return y;
}

void expect_product(const Fp8Matrix& m, int64_t first_row, const WeightMatrix& w, const std::vector<float>& x,
                    int64_t n, const std::vector<float>& y, const std::string& what) {
  for (int64_t t = 0; t < n; ++t) {
    for (int64_t r = 0; r < w.rows; ++r) {
      double ref = 0, mag = 0;
      for (int64_t c = 0; c < w.cols; ++c) {
        const double p = double(m.at(first_row + r, c)) * x[t * w.cols + c];
        ref += p;
        mag += std::fabs(p);
      }
      ASSERT_NEAR(y[t * w.rows + r], ref, 1e-5 * mag + 1e-30) << what << " token " << t << " row " << r;
    }
  }
}

class Fp8Kernels : public ::testing::TestWithParam<const char*> {};

TEST_P(Fp8Kernels, GemvAndGemmEqualTheDequantizedProduct) {
  const std::string level = GetParam();
  if (!level_runs_here(level)) GTEST_SKIP() << "this CPU has no " << level;
  const WeightKernels k = weight_kernels_for(level.c_str(), DType::F8_E4M3);
  ASSERT_TRUE(k.available()) << level;
  EXPECT_EQ(k.gemv_max_tokens, 4);
  // 300 x 333: blocks of 128 rows (128, 128, 44) and columns (128, 128, 77); 333 is not a
  // multiple of 16 either (the vector loops' tails).
  const Fp8Matrix m = random_matrix(300, 333, 1);
  for (int64_t n : {1, 2, 3, 4, 5, 9}) {
    const std::vector<float> x = random_x(n * m.cols, 10 + n);
    expect_product(m, 0, m.view(), x, n, run(k, m.view(), x, n), level + " n=" + std::to_string(n));
    // Slices as the model takes them (kv_b per head, one expert of a stack): rows 64..64+150 start
    // inside a block, so their scales are those of the whole tensor's rows.
    const WeightMatrix slice = m.view().row_slice(64, 150);
    expect_product(m, 64, slice, x, n, run(k, slice, x, n), level + " slice n=" + std::to_string(n));
    const WeightMatrix nested = slice.row_slice(70, 30);  // rows 134..163 of the tensor
    expect_product(m, 134, nested, x, n, run(k, nested, x, n), level + " nested slice");
  }
  // 150 columns: a block of 128, then 22 = 16 + 6 (the AVX2 GEMV's 32-, 16- and 1-byte steps).
  const Fp8Matrix narrow = random_matrix(40, 150, 2);
  for (int64_t n : {1, 4}) {
    const std::vector<float> x = random_x(n * narrow.cols, 20 + n);
    expect_product(narrow, 0, narrow.view(), x, n, run(k, narrow.view(), x, n), level + " 150 wide n=" + std::to_string(n));
  }
}

TEST_P(Fp8Kernels, RowWideningIsExact) {
  const std::string level = GetParam();
  if (!level_runs_here(level)) GTEST_SKIP() << "this CPU has no " << level;
  const WeightKernels k = weight_kernels_for(level.c_str(), DType::F8_E4M3);
  std::vector<uint8_t> all(256 + 19);  // every byte, NaNs included, then a tail shorter than 16
  for (size_t i = 0; i < all.size(); ++i) all[i] = static_cast<uint8_t>(i * 7);
  for (int i = 0; i < 256; ++i) all[i] = static_cast<uint8_t>(i);
  std::vector<float> out(all.size());
  k.row_to_f32(reinterpret_cast<const std::byte*>(all.data()), static_cast<int64_t>(all.size()), out.data());
  for (size_t i = 0; i < all.size(); ++i) {
    const float want = e4m3_to_f32(all[i]);
    if (std::isnan(want)) {
      EXPECT_TRUE(std::isnan(out[i])) << level << " byte " << int(all[i]);
    } else {
      EXPECT_EQ(out[i], want) << level << " byte " << int(all[i]);
      EXPECT_EQ(std::signbit(out[i]), std::signbit(want)) << level << " byte " << int(all[i]);
    }
  }
}

TEST_P(Fp8Kernels, NanWeightGivesNan) {
  const std::string level = GetParam();
  if (!level_runs_here(level)) GTEST_SKIP() << "this CPU has no " << level;
  const WeightKernels k = weight_kernels_for(level.c_str(), DType::F8_E4M3);
  // 150 columns: NaN bytes (+ and -) where the GEMV takes 32 bytes, 16 bytes and one at a time.
  Fp8Matrix m = random_matrix(6, 150, 3);
  m.bytes[1 * 150 + 5] = 0x7f;
  m.bytes[2 * 150 + 40] = 0xff;
  m.bytes[4 * 150 + 131] = 0x7f;
  m.bytes[5 * 150 + 147] = 0xff;
  for (int64_t n : {1, 3}) {
    const std::vector<float> x = random_x(n * 150, 4);
    const std::vector<float> y = run(k, m.view(), x, n);
    for (int64_t t = 0; t < n; ++t) {
      for (int64_t r = 0; r < 6; ++r) {
        EXPECT_EQ(std::isnan(y[t * 6 + r]), r != 0 && r != 3) << level << " token " << t << " row " << r;
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Levels, Fp8Kernels, ::testing::Values("scalar", "avx2", "avx512"));

TEST(Fp8Kernels, WeightRowToF32AppliesTheBlockScales) {
  const Fp8Matrix m = random_matrix(200, 150, 5);
  const WeightMatrix slice = m.view().row_slice(100, 100);  // crosses the block boundary at row 128
  std::vector<float> row(150);
  for (int64_t r = 0; r < slice.rows; ++r) {
    weight_row_to_f32(slice, r, row.data());
    for (int64_t c = 0; c < 150; ++c) ASSERT_EQ(row[c], m.at(100 + r, c)) << r << "," << c;
  }
  // The matmul driver (threads, row blocks) over the chosen level.
  ThreadPool pool(2);
  Workspace ws(pool);
  const std::vector<float> x = random_x(3 * 150, 6);
  std::vector<float> y(3 * 200);
  matmul(ws, m.view(), x.data(), 3, y.data());
  expect_product(m, 0, m.view(), x, 3, y, "matmul");
}

}  // namespace
}  // namespace dschat
