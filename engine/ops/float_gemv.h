// The float types' GEMV (F32, F16, BF16 weights; the 1–4 tokens of decode and of an MTP verify
// pass) for the AVX2 level. Internal to the level tables (kernels_avx2.cpp).
//
// Each weight row is widened to fp32 in registers (BF16 is the top half of an fp32: zero-extend
// and shift by 16; F16: vcvtph2ps; both exact) and multiplied into a tile of R rows × T tokens, so
// T tokens load and widen each weight once: verifying T tokens costs about one token's weight
// traffic, not T. Every (row, token) sum keeps the order of the one-token product of
// matmul_float_body.h (8 lanes accumulated by FMA along the row, the lanes summed as
// float_body::horizontal_sum, then the columns past the last multiple of 8), so a T-token call
// gives bit for bit the outputs of T one-token calls (and of float_body::rows where the compiler
// contracts its `acc += w * x` into an FMA, as GCC does at -O2 and above, not at -O1).
#pragma once

#include "engine/ops/weight_kernels.h"

namespace dschat {

#if defined(__x86_64__)
// y[t*ldy + r] = Σ_k w[r,k]·x.x[t*cols + k] for t < x.n, r in [r0, r1); w.dtype F32, F16 or BF16.
void float_gemv_avx2(const WeightMatrix& w, const PreparedActivations& x, float* y, int64_t ldy, int64_t r0,
                     int64_t r1, KernelScratch& scratch);
#endif

}  // namespace dschat
