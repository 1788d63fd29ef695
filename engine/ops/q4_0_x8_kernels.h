// The kernels of Q4_0_X8, Q4_0 with its rows interleaved by eight (engine/quant/q4_0_x8.h): the
// layout the load repacks Q4_0 matrices into when a level's GEMV runs it faster (the AVX2 level;
// WeightKernels::repacked). Activations are quantized to Q8_0 once per call, as for Q4_0, so a
// Q4_0 and a Q4_0_X8 matrix share one preparation. Internal to the level tables.
#pragma once

#include <cstddef>
#include <cstdint>

#include "engine/ops/weight_kernels.h"
#include "engine/quant/q4_0_x8.h"

#if defined(__x86_64__)
#include <xmmintrin.h>
#endif

namespace dschat {

// Blocks ahead of the one being read that the GEMVs prefetch: 32 × 144 bytes = 4.6 KB, past the
// next 4 KiB page (the hardware prefetcher stops at page boundaries). Against 8 blocks (1.2 KB),
// one thread streaming Q4_0_X8 experts from memory read 5-14% more per second in 9 of 10 paired
// runs, both levels (gemv_bandwidth 1408 2048 64 q4_0_x8 1: e.g. 22.5 -> 25.3 GB/s).
constexpr int64_t kQ4_0x8PrefetchBlocks = 32;

// Row `lane` of a group widened to float, exactly (d·(q − 8), as Q4_0's widening).
void q4_0_x8_row_to_f32_scalar(const std::byte* group, int64_t lane, int64_t cols, float* out);
// The reference GEMV: each row de-interleaved and dotted with Q4_0's reference block dot product.
void q4_0_x8_gemv_scalar(const WeightMatrix& w, const PreparedActivations& x, float* y, int64_t ldy, int64_t r0,
                         int64_t r1, KernelScratch& scratch);
// The table for a level: its GEMV and group widening, the level's float GEMM (over widened rows).
WeightKernels q4_0_x8_weight_kernels(const char* level, GemvKernel gemv, GemmKernel gemm,
                                     void (*group_row_to_f32)(const std::byte*, int64_t, int64_t, float*));

#if defined(__x86_64__)
// The GEMVs' prefetch while they read the group block at `block`: the 144 bytes
// kQ4_0x8PrefetchBlocks blocks ahead (three lines cover them at any alignment).
inline void prefetch_q4_0_x8_ahead(const std::byte* block) {
  const char* ahead = reinterpret_cast<const char*>(block) + kQ4_0x8PrefetchBlocks * kQ4_0x8BlockBytes;
  _mm_prefetch(ahead, _MM_HINT_T0);
  _mm_prefetch(ahead + 64, _MM_HINT_T0);
  _mm_prefetch(ahead + 128, _MM_HINT_T0);
}

// AVX2: one 32-bit lane per row, so a block's eight rows are summed vertically and scaled by one
// multiply (q4_0_x8_avx2.cpp).
void q4_0_x8_gemv_avx2(const WeightMatrix& w, const PreparedActivations& x, float* y, int64_t ldy, int64_t r0,
                       int64_t r1, KernelScratch& scratch);
void q4_0_x8_row_to_f32_avx2(const std::byte* group, int64_t lane, int64_t cols, float* out);
// AVX-512 (VL + VNNI): the same lanes, the byte products by vpdpbusd, eight tokens a pass
// (q4_0_x8_avx512.cpp).
void q4_0_x8_gemv_avx512(const WeightMatrix& w, const PreparedActivations& x, float* y, int64_t ldy, int64_t r0,
                         int64_t r1, KernelScratch& scratch);
#endif

}  // namespace dschat
