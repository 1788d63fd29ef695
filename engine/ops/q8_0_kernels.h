// The Q8_0 GEMV of the AVX-512 level (q8_0_avx512.cpp): row-major Q8_0 weights against
// activations quantized to Q8_0 once per call (the AVX2 level's preparation, block_gemv.h), for
// decode and prefill alike. Internal to the level tables (kernels_avx512.cpp).
#pragma once

#include <cstdint>

#include "engine/ops/weight_kernels.h"

namespace dschat {

#if defined(__x86_64__)
// AVX-512 VL + VNNI: vpdpbusd on the sign-flipped weights (w + 128) in tiles of 4 rows × 4 tokens.
void q8_0_gemv_avx512(const WeightMatrix& w, const PreparedActivations& x, float* y, int64_t ldy, int64_t r0,
                      int64_t r1, KernelScratch& scratch);
#endif

}  // namespace dschat
