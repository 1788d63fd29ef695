// Dot products of a quantized weight row with a Q8_0-quantized activation row (activations are
// quantized on the fly, once per matmul call): integer products summed per block and scaled by
// d_w · d_x, as llama.cpp's ggml_vec_dot_q8_0_q8_0 / q4_0_q8_0. Block layouts: engine/quant/quantize.h.
#pragma once

#include <cstdint>

#include "engine/quant/quantize.h"

namespace dschat {

// Σ over `blocks` blocks of d_w·d_x·Σ_i w_i·x_i. One function per instruction set; the
// dispatched pair below picks the best the CPU has (see cpu_features.h).
using DotQ8Q8 = float (*)(const BlockQ8_0* w, const BlockQ8_0* x, int64_t blocks);
using DotQ4Q8 = float (*)(const BlockQ4_0* w, const BlockQ8_0* x, int64_t blocks);

float dot_q8_0_q8_0_scalar(const BlockQ8_0* w, const BlockQ8_0* x, int64_t blocks);
float dot_q4_0_q8_0_scalar(const BlockQ4_0* w, const BlockQ8_0* x, int64_t blocks);
#if defined(__x86_64__)
float dot_q8_0_q8_0_avx2(const BlockQ8_0* w, const BlockQ8_0* x, int64_t blocks);    // AVX2 + FMA
float dot_q4_0_q8_0_avx2(const BlockQ4_0* w, const BlockQ8_0* x, int64_t blocks);
float dot_q8_0_q8_0_avx512(const BlockQ8_0* w, const BlockQ8_0* x, int64_t blocks);  // AVX-512 VL/BW + VNNI
float dot_q4_0_q8_0_avx512(const BlockQ4_0* w, const BlockQ8_0* x, int64_t blocks);
#endif

// The kernels for an instruction-set level ("scalar", "avx2", "avx512"); nullptr members when
// the level is not compiled in.
struct QuantKernels {
  const char* name;
  DotQ8Q8 dot_q8_0;
  DotQ4Q8 dot_q4_0;
};
QuantKernels quant_kernels_for(const char* level);
// The best level this CPU supports (overridable with DSCHAT_SIMD=scalar|avx2|avx512), chosen once.
const QuantKernels& quant_kernels();

}  // namespace dschat
