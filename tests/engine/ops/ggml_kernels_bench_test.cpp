// Micro-benchmark of the decode GEMV (one token) of the GGUF K-quant types through the matmul
// driver: weight bytes read per second at 1 and 2 threads on a small (2048 × 1408, in cache-ish)
// and a large (102400 × 2048, streamed from memory) matrix. Disabled: run by hand with
//   build/tests/engine_tests --gtest_also_run_disabled_tests --gtest_filter='*GgmlGemvBench*'
// (DSCHAT_SIMD=scalar|avx2 picks the level).
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <random>
#include <vector>

#include "engine/ops/cpu_features.h"
#include "engine/ops/matmul.h"
#include "engine/ops/weight_kernels.h"
#include "engine/ops/workspace.h"
#include "engine/quant/half_float.h"

#include "tests/engine/random_values.h"

namespace dschat {
namespace {

TEST(GgmlGemvBench, DISABLED_WeightBytesPerSecond) {
  for (DType type : {DType::Q4_K, DType::Q6_K, DType::Q5_K, DType::Q2_K, DType::Q3_K, DType::IQ4_XS, DType::Q4_1,
                     DType::Q5_0, DType::Q5_1, DType::IQ4_NL, DType::Q4_0, DType::Q8_0}) {
    for (auto [rows, cols] : {std::pair<int64_t, int64_t>{2048, 1408}, {102400, 2048}}) {
      if (cols % dtype_block_geometry(type).weights != 0) {
        // 1408 is not a multiple of 256: the K-quant shape of a 1408-wide input is its transpose
        std::swap(rows, cols);
      }
      WeightMatrix m{type, rows, cols, nullptr};
      std::vector<std::byte> data(m.bytes());
      std::mt19937_64 rng(1);
      for (size_t i = 0; i + 8 <= data.size(); i += 8) {
        const uint64_t v = rng() & 0x03ff03ff03ff03ffull;  // small positive fp16 wherever a scale lands
        std::memcpy(&data[i], &v, 8);
      }
      m.data = data.data();
      const std::vector<float> x = random_values(2, cols, 1.0f);
      std::vector<float> y(rows);
      for (int threads : {1, 2}) {
        ThreadPool pool(threads);
        Workspace workspace(pool);
        matmul(workspace, m, x.data(), 1, y.data());  // warm-up
        const int reps = std::max<int64_t>(3, 2'000'000'000 / static_cast<int64_t>(m.bytes()));
        double best = 1e30;
        for (int r = 0; r < reps; ++r) {
          const auto t0 = std::chrono::steady_clock::now();
          matmul(workspace, m, x.data(), 1, y.data());
          best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
        }
        std::printf("[ %-6s %s ] %6lld x %-5lld %2d thread(s): %7.1f us  %6.1f GB/s (best of %d)\n", dtype_name(type),
                    simd_level().c_str(), static_cast<long long>(rows), static_cast<long long>(cols), threads,
                    best * 1e6, m.bytes() / best / 1e9, reps);
      }
    }
  }
}

// Prefill (64 tokens, one thread): the table's GEMM (float GEMM over widened rows) against the
// integer GEMV run over all the tokens with activations quantized once — the choice of GEMM.
TEST(GgmlGemvBench, DISABLED_PrefillGemmAgainstGemvOverTokens) {
  const int64_t rows = 1408, cols = 2048, n = 64;
  for (DType type : {DType::Q4_K, DType::Q5_K, DType::Q6_K, DType::Q2_K, DType::Q3_K, DType::IQ4_XS, DType::Q4_1,
                     DType::Q5_0, DType::Q5_1, DType::IQ4_NL, DType::Q8_0, DType::Q4_0}) {
    WeightMatrix m{type, rows, cols, nullptr};
    std::vector<std::byte> data(m.bytes());
    std::mt19937_64 rng(1);
    for (size_t i = 0; i + 8 <= data.size(); i += 8) {
      const uint64_t v = rng() & 0x03ff03ff03ff03ffull;
      std::memcpy(&data[i], &v, 8);
    }
    m.data = data.data();
    const std::vector<float> x = random_values(2, n * cols, 1.0f);
    std::vector<float> y(n * rows);
    const WeightKernels& k = weight_kernels(type);
    KernelScratch scratch;
    std::vector<std::byte> prepared(k.prepared_bytes(cols, n));
    auto time = [&](auto&& fn) {
      double best = 1e30;
      for (int r = 0; r < 5; ++r) {
        const auto t0 = std::chrono::steady_clock::now();
        fn();
        best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
      }
      return best;
    };
    const double gemm = time([&] { k.gemm(m, x.data(), n, y.data(), rows, 0, rows, scratch); });
    const double gemv = time([&] {
      k.prepare(x.data(), cols, n, prepared.data());
      const PreparedActivations a{x.data(), n, cols, prepared.data(), k.prepare};
      k.gemv(m, a, y.data(), rows, 0, rows, scratch);
    });
    std::printf("[ %-6s %s ] prefill %lld tokens, %lld x %lld, 1 thread: GEMM %.1f ms, GEMV over tokens %.1f ms\n",
                dtype_name(type), simd_level().c_str(), static_cast<long long>(n), static_cast<long long>(rows),
                static_cast<long long>(cols), gemm * 1e3, gemv * 1e3);
  }
}

}  // namespace
}  // namespace dschat
