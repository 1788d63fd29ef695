// Dot products of a quantized weight row with a Q8_0-quantized activation row: integer products
// summed per block and scaled by d_w · d_x, as llama.cpp's ggml_vec_dot_q8_0_q8_0 / q4_0_q8_0.
// Block layouts: engine/quant/quantize.h. The scalar functions are the reference every level's
// GEMV is tested against; the AVX2 ones are the AVX2 level's (kernels_avx2.cpp). The AVX-512
// level has a GEMV of its own over four rows at once (kernels_avx512.cpp).
#pragma once

#include <cstdint>

#include "engine/quant/quantize.h"

namespace dschat {

// Σ over `blocks` blocks of d_w·d_x·Σ_i w_i·x_i.
using DotQ8Q8 = float (*)(const BlockQ8_0* w, const BlockQ8_0* x, int64_t blocks);
using DotQ4Q8 = float (*)(const BlockQ4_0* w, const BlockQ8_0* x, int64_t blocks);

float dot_q8_0_q8_0_scalar(const BlockQ8_0* w, const BlockQ8_0* x, int64_t blocks);
float dot_q4_0_q8_0_scalar(const BlockQ4_0* w, const BlockQ8_0* x, int64_t blocks);
#if defined(__x86_64__)
float dot_q8_0_q8_0_avx2(const BlockQ8_0* w, const BlockQ8_0* x, int64_t blocks);  // AVX2 + FMA
float dot_q4_0_q8_0_avx2(const BlockQ4_0* w, const BlockQ8_0* x, int64_t blocks);
#endif

}  // namespace dschat
