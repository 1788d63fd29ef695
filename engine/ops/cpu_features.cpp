#include "engine/ops/cpu_features.h"

#include <cstdint>
#include <cstdlib>

#if defined(__x86_64__) && defined(__GNUC__)
#include <cpuid.h>
#endif

namespace dschat {
namespace {

#if defined(__x86_64__) && defined(__GNUC__)
// XCR0: which register states the OS saves on a context switch (Intel SDM Vol. 1 §13.3). AVX
// needs XMM|YMM (bits 1, 2); AVX-512 also opmask, ZMM_Hi256 and Hi16_ZMM (bits 5, 6, 7).
uint64_t read_xcr0() {
  uint32_t eax = 0, edx = 0;
  __asm__ volatile("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
  return (static_cast<uint64_t>(edx) << 32) | eax;
}

bool bit(uint32_t reg, int n) { return (reg >> n) & 1u; }

// CPUID bits (Intel SDM Vol. 2A, CPUID, tables 3-10 and 3-8): leaf 1 ECX: fma 12, osxsave 27,
// avx 28, f16c 29; leaf 7.0 EBX: avx2 5, avx512f 16, avx512bw 30, avx512vl 31; ECX: avx512vnni 11;
// leaf 7.1 EAX: avx512bf16 5.
CpuFeatures query_cpu() {
  CpuFeatures f;
  uint32_t eax, ebx, ecx, edx;
  if (!__get_cpuid(1, &eax, &ebx, &ecx, &edx)) return f;
  const bool os_saves_avx = bit(ecx, 27) && bit(ecx, 28) && (read_xcr0() & 0x6) == 0x6;
  if (!os_saves_avx) return f;
  const bool os_saves_avx512 = (read_xcr0() & 0xe6) == 0xe6;
  f.fma = bit(ecx, 12);
  f.f16c = bit(ecx, 29);
  if (__get_cpuid_max(0, nullptr) < 7) return f;
  __cpuid_count(7, 0, eax, ebx, ecx, edx);
  const uint32_t max_subleaf = eax;
  f.avx2 = bit(ebx, 5);
  if (!os_saves_avx512) return f;
  f.avx512f = bit(ebx, 16);
  f.avx512bw = bit(ebx, 30);
  f.avx512vl = bit(ebx, 31);
  f.avx512vnni = bit(ecx, 11);
  if (max_subleaf >= 1) {
    __cpuid_count(7, 1, eax, ebx, ecx, edx);
    f.avx512bf16 = bit(eax, 5);
  }
  return f;
}
#else
CpuFeatures query_cpu() { return {}; }
#endif

}  // namespace

const CpuFeatures& cpu_features() {
  static const CpuFeatures features = query_cpu();
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
