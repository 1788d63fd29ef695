// The function target attributes of the x86 levels' kernels, one definition for every source of
// a level: each such source compiles its kernels for its instruction set and the rest of the
// program stays at the baseline (cpu_features.h chooses the level at run time).
#pragma once

#define DSCHAT_AVX2 __attribute__((target("avx2,fma,f16c")))
#define DSCHAT_AVX512 __attribute__((target("avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni")))

// GCC 12 reports its own _mm512_undefined_*() placeholders inside the AVX-512 intrinsics (cast,
// shuffle, extract, broadcast) as uninitialised, a known false positive: an AVX-512 source that
// meets it writes this once, after its includes.
#if defined(__GNUC__) && !defined(__clang__)
#define DSCHAT_AVX512_INTRINSICS_ARE_INITIALISED \
  _Pragma("GCC diagnostic ignored \"-Wuninitialized\"") _Pragma("GCC diagnostic ignored \"-Wmaybe-uninitialized\"")
#else
#define DSCHAT_AVX512_INTRINSICS_ARE_INITIALISED
#endif
