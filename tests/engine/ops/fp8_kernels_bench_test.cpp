// Micro-benchmark of the FP8 (E4M3, 128x128 block scales) decode GEMV against BF16 through the
// matmul driver: weight bytes read per second at 1 and 2 threads, a 2048 × 1408 matrix (about the
// in-cache size of a V3 expert) and a streamed 102400 × 2048 one. Disabled: run by hand with
//   build/tests/engine_tests --gtest_also_run_disabled_tests --gtest_filter='*Fp8GemvBench*'
// (DSCHAT_SIMD=scalar|avx2 picks the level).
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <random>
#include <vector>

#include "engine/ops/cpu_features.h"
#include "engine/ops/matmul.h"
#include "engine/ops/workspace.h"
#include "tests/engine/random_values.h"

namespace dschat {
namespace {

TEST(Fp8GemvBench, DISABLED_WeightBytesPerSecond) {
  for (auto [rows, cols] : {std::pair<int64_t, int64_t>{2048, 1408}, {1408, 2048}, {102400, 2048}}) {
    for (DType type : {DType::F8_E4M3, DType::BF16}) {
      WeightMatrix m{type, rows, cols, nullptr};
      std::vector<std::byte> data(m.bytes());
      std::mt19937 rng(1);
      for (auto& b : data) b = static_cast<std::byte>(rng() & 0x3f);  // finite, small in both types
      m.data = data.data();
      std::vector<float> scales(((rows + 127) / 128) * ((cols + 127) / 128), 1e-3f);
      if (type == DType::F8_E4M3) m.scales = {scales.data(), 128, 128, 0};
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
        std::printf("[ %-7s %s ] %6lld x %-5lld %d thread(s): %8.1f us  %6.1f GB/s  %6.2f Gweights/s (best of %d)\n",
                    dtype_name(type), simd_level().c_str(), static_cast<long long>(rows),
                    static_cast<long long>(cols), threads, best * 1e6, m.bytes() / best / 1e9,
                    double(rows) * cols / best / 1e9, reps);
      }
    }
  }
}

}  // namespace
}  // namespace dschat
