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
#include "engine/ops/workspace.h"
#include "engine/quant/half_float.h"

#include "tests/engine/random_values.h"

namespace dschat {
namespace {

TEST(GgmlGemvBench, DISABLED_WeightBytesPerSecond) {
  for (DType type : {DType::Q4_K, DType::Q6_K, DType::Q5_K, DType::Q4_0, DType::Q8_0}) {
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

}  // namespace
}  // namespace dschat
