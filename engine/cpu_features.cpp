#include "engine/cpu_features.h"

#include <cstdlib>

namespace dschat {

const CpuFeatures& cpu_features() {
  static const CpuFeatures features = [] {
    CpuFeatures f;
#if defined(__x86_64__) && defined(__GNUC__)
    __builtin_cpu_init();
    f.avx2 = __builtin_cpu_supports("avx2");
    f.fma = __builtin_cpu_supports("fma");
    f.f16c = __builtin_cpu_supports("f16c");
    f.avx512f = __builtin_cpu_supports("avx512f");
    f.avx512bw = __builtin_cpu_supports("avx512bw");
    f.avx512vl = __builtin_cpu_supports("avx512vl");
    f.avx512vnni = __builtin_cpu_supports("avx512vnni");
    f.avx512bf16 = __builtin_cpu_supports("avx512bf16");
#endif
    return f;
  }();
  return features;
}

std::string simd_level() {
  const CpuFeatures& f = cpu_features();
  int best = f.has_avx512_level() ? 2 : f.has_avx2_level() ? 1 : 0;
  if (const char* env = std::getenv("DSCHAT_SIMD")) {
    const std::string wanted = env;
    const int cap = wanted == "scalar" ? 0 : wanted == "avx2" ? 1 : 2;
    if (cap < best) best = cap;
  }
  return best == 2 ? "avx512" : best == 1 ? "avx2" : "scalar";
}

}  // namespace dschat
