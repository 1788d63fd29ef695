// Normally distributed test data with a fixed seed, shared by the kernel tests.
#pragma once

#include <cstdint>
#include <random>
#include <vector>

namespace dschat {

inline std::vector<float> random_values(uint64_t seed, int64_t n, float scale) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> normal(0.0f, scale);
  std::vector<float> v(n);
  for (float& x : v) x = normal(rng);
  return v;
}

}  // namespace dschat
