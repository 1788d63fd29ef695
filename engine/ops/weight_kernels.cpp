#include "engine/ops/weight_kernels.h"

#include <array>
#include <string>

#include "engine/ops/cpu_features.h"
#include "engine/ops/vector_kernels.h"

namespace dschat {

WeightKernels weight_kernels_for(const char* level, DType type) {
  const std::string l = level;
#if defined(__x86_64__)
  if (l == "avx512") return avx512_weight_kernels(type);
  if (l == "avx2") return avx2_weight_kernels(type);
#endif
  if (l == "scalar") return scalar_weight_kernels(type);
  return {};
}

const WeightKernels& weight_kernels(DType type) {
  // One table per type, indexed by the enum, filled at first use for the chosen level.
  constexpr size_t kTypes = static_cast<size_t>(kLastDType) + 1;
  static const std::array<WeightKernels, kTypes> tables = [] {
    std::array<WeightKernels, kTypes> t{};
    const std::string level = simd_level();
    for (size_t i = 0; i < kTypes; ++i) t[i] = weight_kernels_for(level.c_str(), static_cast<DType>(i));
    return t;
  }();
  return tables[static_cast<size_t>(type)];
}

VectorKernels vector_kernels_for(const char* level) {
  const std::string l = level;
#if defined(__x86_64__)
  if (l == "avx512") return avx512_vector_kernels();
  if (l == "avx2") return avx2_vector_kernels();
#endif
  if (l == "scalar") return scalar_vector_kernels();
  return {};
}

const VectorKernels& vector_kernels() {
  static const VectorKernels kernels = vector_kernels_for(simd_level().c_str());
  return kernels;
}

}  // namespace dschat
