// FP8 E4M3 weights with 128 × 128 block scales beside them (the published DeepSeek-V3/R1 and
// Kimi-K2 checkpoints: `float8_e4m3fn` weights, F32 `weight_scale_inv`; WeightMatrix::scales).
// A row is one byte per weight; the kernels decode the bytes exactly (engine/quant/float8.h:
// subnormals, ±0, NaN), sum each row's products over one block of columns and multiply the sum by
// that block's scale. The activations stay float (no preparation). Internal to the level tables.
#pragma once

#include <cstddef>
#include <cstdint>

#include "engine/ops/weight_kernels.h"

namespace dschat {

// The stored values of a row, unscaled (the table's row_to_f32; weight_row_to_f32 then applies
// the block scales).
void fp8_row_to_f32_scalar(const std::byte* row, int64_t cols, float* out);
// The reference GEMV: per row and token, Σ_blocks scale_b · Σ_{k in b} e4m3(w[r,k]) · x[k].
void fp8_gemv_scalar(const WeightMatrix& w, const PreparedActivations& x, float* y, int64_t ldy, int64_t r0,
                     int64_t r1, KernelScratch& scratch);
// The table of the type for a level: its GEMV and row widening, the level's float GEMM (over rows
// widened with their scales applied).
WeightKernels fp8_weight_kernels(const char* level, GemvKernel gemv, GemmKernel gemm,
                                 void (*row_to_f32)(const std::byte*, int64_t, float*));

#if defined(__x86_64__)
// AVX2 + F16C: 16 bytes at a time widened to F16 by a shift (an E4M3 value times 2^-8 is an F16
// with the same bits moved, subnormals included) and to float by vcvtph2ps; 2^8 folded into the
// block scale.
void fp8_row_to_f32_avx2(const std::byte* row, int64_t cols, float* out);
void fp8_gemv_avx2(const WeightMatrix& w, const PreparedActivations& x, float* y, int64_t ldy, int64_t r0, int64_t r1,
                   KernelScratch& scratch);
#endif

}  // namespace dschat
