// Which SIMD instruction sets the running CPU has (queried once, at first use), and the level
// the kernels dispatch to.
#pragma once

#include <string>

namespace dschat {

struct CpuFeatures {
  bool avx2 = false, fma = false, f16c = false;
  bool avx512f = false, avx512bw = false, avx512vl = false, avx512vnni = false, avx512bf16 = false;

  bool has_avx2_level() const { return avx2 && fma && f16c; }
  bool has_avx512_level() const { return has_avx2_level() && avx512f && avx512bw && avx512vl && avx512vnni; }
};

const CpuFeatures& cpu_features();

// "avx512", "avx2" or "scalar": the best level the CPU has, lowered (never raised) by the
// environment variable DSCHAT_SIMD=scalar|avx2|avx512.
std::string simd_level();

}  // namespace dschat
