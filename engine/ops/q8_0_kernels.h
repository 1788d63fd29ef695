// The Q8_0 GEMV of the AVX-512 level (q8_0_avx512.cpp): row-major Q8_0 weights against
// activations quantized to Q8_0 once per call, for decode and prefill alike, and that
// quantization. Internal to the level tables (kernels_avx512.cpp).
#pragma once

#include <cstddef>
#include <cstdint>

#include "engine/ops/weight_kernels.h"

namespace dschat {

#if defined(__x86_64__)
// The AVX2 level's Q8_0 GEMV (kernels_avx2.cpp, four rows at a time), which the AVX-512 level's
// runs for up to four tokens: from DRAM it read ~7% more bytes per second than a 4-row
// vpdpbusd tile (docs/benchmarks.md, "The AVX-512 level on real widths").
void q8_0_gemv_avx2(const WeightMatrix& w, const PreparedActivations& x, float* y, int64_t ldy, int64_t r0, int64_t r1,
                    KernelScratch& scratch);
// AVX-512 VL + VNNI, five tokens or more: eight rows transposed in registers per block (a row per
// 32-bit lane), vpdpbusd on the sign-flipped weights (w + 128); fewer tokens: q8_0_gemv_avx2.
void q8_0_gemv_avx512(const WeightMatrix& w, const PreparedActivations& x, float* y, int64_t ldy, int64_t r0,
                      int64_t r1, KernelScratch& scratch);
// n tokens of `cols` floats quantized to Q8_0 blocks, byte for byte quantize_row_q8_0's
// (q8_0_activations_avx512.cpp): the `prepare` of the level's Q8_0, Q4_0 and Q4_0_X8 tables.
void quantize_activations_q8_0_avx512(const float* x, int64_t cols, int64_t n, std::byte* out);
#endif

}  // namespace dschat
