// Memory read bandwidth of this machine, the ceiling of a decode that streams its weights
// (docs/benchmarks.md, "Wide shape"): THREADS threads each sum their share of a BYTES buffer
// (much larger than the caches) with AVX2 loads, REPS times; prints the best pass in GB/s as a
// JSON line. Built by tools/bench/read_bandwidth.sh.
//   read_bandwidth [BYTES] [THREADS] [REPS]
#include <immintrin.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <thread>
#include <vector>

__attribute__((target("avx2"))) static uint64_t sum_bytes(const uint8_t* p, size_t n) {
  __m256i a0 = _mm256_setzero_si256(), a1 = a0, a2 = a0, a3 = a0;
  for (size_t i = 0; i + 128 <= n; i += 128) {
    a0 = _mm256_add_epi64(a0, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + i)));
    a1 = _mm256_add_epi64(a1, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + i + 32)));
    a2 = _mm256_add_epi64(a2, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + i + 64)));
    a3 = _mm256_add_epi64(a3, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + i + 96)));
  }
  const __m256i s = _mm256_add_epi64(_mm256_add_epi64(a0, a1), _mm256_add_epi64(a2, a3));
  alignas(32) uint64_t lanes[4];
  _mm256_store_si256(reinterpret_cast<__m256i*>(lanes), s);
  return lanes[0] + lanes[1] + lanes[2] + lanes[3];
}

int main(int argc, char** argv) {
  const size_t bytes = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : (size_t{1} << 30);
  const int threads = argc > 2 ? std::atoi(argv[2]) : 2;
  const int reps = argc > 3 ? std::atoi(argv[3]) : 5;
  std::vector<uint8_t> buffer(bytes);
  for (size_t i = 0; i < bytes; i += 4096) buffer[i] = static_cast<uint8_t>(i >> 12);  // fault every page in
  double best = 0;
  uint64_t sink = 0;
  for (int r = 0; r < reps; ++r) {
    std::vector<uint64_t> sums(static_cast<size_t>(threads));
    const auto start = std::chrono::steady_clock::now();
    std::vector<std::thread> pool;
    const size_t share = bytes / static_cast<size_t>(threads) / 128 * 128;
    for (int t = 0; t < threads; ++t) {
      pool.emplace_back([&, t] { sums[static_cast<size_t>(t)] = sum_bytes(buffer.data() + t * share, share); });
    }
    for (auto& th : pool) th.join();
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    best = std::max(best, static_cast<double>(share) * threads / s / 1e9);
    for (uint64_t v : sums) sink += v;
  }
  std::printf("{\"bytes\": %zu, \"threads\": %d, \"reps\": %d, \"best_gb_per_s\": %.2f, \"sink\": %llu}\n", bytes, threads,
              reps, best, static_cast<unsigned long long>(sink & 1));
  return 0;
}
