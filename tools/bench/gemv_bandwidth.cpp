// Kernel-only GEMV bandwidth: bytes of the weights read per second by matmul() (the engine's
// real path: dispatch level, thread split) for one token, on matrices large enough together to
// come from DRAM (a set of expert-sized matrices cycled through, or one vocab-sized matrix).
// Built and run by tools/bench/gemv_bandwidth.sh; not part of the build or the tests.
//   gemv_bandwidth ROWS COLS COPIES TYPE THREADS SECONDS [TOKENS]
// TYPE: q8_0, q4_0 (row-major, as stored), q4_0_x8 (Q4_0 rows interleaved by eight as the load
// repacks them for the AVX2 and AVX-512 levels, engine/quant/q4_0_x8.h), q4_k, q5_k, q6_k. TOKENS
// (default 1) above 1 times the prefill path of that many tokens; gb_per_s stays bytes of weights
// per second (each read once per call), tokens_per_s and gmac_per_cpu_s are the prefill figures.
#include <ctime>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "engine/ops/cpu_features.h"
#include "engine/ops/matmul.h"
#include "engine/ops/thread_pool.h"
#include "engine/ops/workspace.h"
#include "engine/quant/ggml_quantize.h"
#include "engine/quant/q4_0_x8.h"
#include "engine/quant/quantize.h"

using namespace dschat;

int main(int argc, char** argv) {
  if (argc != 7 && argc != 8) {
    std::fprintf(stderr, "usage: %s ROWS COLS COPIES q8_0|q4_0|q4_0_x8|q4_k|q5_k|q6_k THREADS SECONDS [TOKENS]\n", argv[0]);
    return 2;
  }
  const int64_t rows = std::atoll(argv[1]), cols = std::atoll(argv[2]), copies = std::atoll(argv[3]);
  const std::string type = argv[4];
  const int threads = std::atoi(argv[5]);
  const double seconds = std::atof(argv[6]);
  const int64_t tokens = argc == 8 ? std::atoll(argv[7]) : 1;
  const DType dtype = type == "q8_0"      ? DType::Q8_0
                      : type == "q4_0_x8" ? DType::Q4_0_X8
                      : type == "q4_k"    ? DType::Q4_K
                      : type == "q5_k"    ? DType::Q5_K
                      : type == "q6_k"    ? DType::Q6_K
                                          : DType::Q4_0;

  std::mt19937 rng(1);
  std::normal_distribution<float> normal(0.0f, 0.02f);
  std::vector<float> row(static_cast<size_t>(cols)), x(static_cast<size_t>(cols * tokens)),
      y(static_cast<size_t>(rows * tokens));
  for (float& v : x) v = normal(rng) * 50;
  WeightMatrix shape{dtype, rows, cols, nullptr};
  std::vector<std::vector<std::byte>> storage(static_cast<size_t>(copies));
  for (auto& s : storage) {
    s.resize(shape.bytes());
    for (int64_t r = 0; r < rows; ++r) {
      for (float& v : row) v = normal(rng);
      auto* dst = s.data() + r * shape.row_bytes();
      switch (dtype) {
        case DType::Q8_0:
          quantize_row_q8_0(row.data(), reinterpret_cast<BlockQ8_0*>(dst), cols);
          break;
        case DType::Q4_K:
          quantize_row_q4_k(row.data(), reinterpret_cast<BlockQ4_K*>(dst), cols);
          break;
        case DType::Q5_K:
          quantize_row_q5_k(row.data(), reinterpret_cast<BlockQ5_K*>(dst), cols);
          break;
        case DType::Q6_K:
          quantize_row_q6_k(row.data(), reinterpret_cast<BlockQ6_K*>(dst), cols);
          break;
        default:
          quantize_row_q4_0(row.data(), reinterpret_cast<BlockQ4_0*>(dst), cols);
      }
    }
    if (dtype == DType::Q4_0_X8) {  // the row-major Q4_0 rows interleaved, group by group
      const std::vector<std::byte> plain = s;
      const BlockQ4_0* group[kQ4_0x8Rows];
      for (int64_t g = 0; g < rows / kQ4_0x8Rows; ++g) {
        for (int64_t i = 0; i < kQ4_0x8Rows; ++i)
          group[i] = reinterpret_cast<const BlockQ4_0*>(plain.data() + (g * kQ4_0x8Rows + i) * shape.row_bytes());
        interleave_q4_0_rows(group, cols / kQuantBlock, s.data() + g * kQ4_0x8Rows * shape.row_bytes());
      }
    }
  }
  ThreadPool pool(threads);
  Workspace workspace(pool);
  // CPU time beside wall time: on a shared machine the wall figure is what the others leave, and
  // bytes per CPU second (1 thread) is the kernel's own speed.
  const auto cpu_now = [] {
    timespec ts{};
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
  };
  const double cpu0 = cpu_now();
  const auto t0 = std::chrono::steady_clock::now();
  int64_t calls = 0;
  double elapsed = 0;
  float checksum = 0;
  while (elapsed < seconds) {
    WeightMatrix m = shape;
    m.data = storage[static_cast<size_t>(calls % copies)].data();
    matmul(workspace, m, x.data(), tokens, y.data());
    checksum += y[static_cast<size_t>(calls % rows)];
    ++calls;
    elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  }
  const double cpu = cpu_now() - cpu0;
  const double bytes = static_cast<double>(shape.bytes()) * static_cast<double>(calls);
  std::printf(
      "{\"level\": \"%s\", \"type\": \"%s\", \"rows\": %lld, \"cols\": %lld, \"copies\": %lld, "
      "\"threads\": %d, \"tokens\": %lld, \"matrix_mb\": %.2f, \"us_per_call\": %.1f, \"gb_per_s\": %.2f, "
      "\"gb_per_cpu_s\": %.2f, \"tokens_per_s\": %.1f, \"gmac_per_cpu_s\": %.1f, \"checksum\": %g}\n",
      simd_level().c_str(), type.c_str(), static_cast<long long>(rows), static_cast<long long>(cols),
      static_cast<long long>(copies), threads, static_cast<long long>(tokens), static_cast<double>(shape.bytes()) / 1e6,
      elapsed / static_cast<double>(calls) * 1e6, bytes / elapsed / 1e9, bytes / cpu / 1e9,
      static_cast<double>(calls * tokens) / elapsed,
      static_cast<double>(rows * cols * tokens) * static_cast<double>(calls) / cpu / 1e9, static_cast<double>(checksum));
  return 0;
}
