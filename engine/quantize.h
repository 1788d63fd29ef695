// Block-quantized weights and activations with llama.cpp's Q8_0 / Q4_0 semantics:
//   Q8_0: blocks of 32 values, one fp16 scale d = max|x| / 127, q = round(x / d) in [-127, 127];
//         x ≈ d · q.                                          (34 bytes per 32 values)
//   Q4_0: blocks of 32 values, one fp16 scale d = m / -8 where m is the value of largest
//         magnitude (sign kept), q = clamp(round(x / d) + 8, 0, 15); x ≈ d · (q - 8). Byte j of
//         the 16 holds value j in its low nibble and value j+16 in its high nibble. (18 bytes)
// Dot products of a quantized weight row with a Q8_0-quantized activation row (activations are
// quantized on the fly, once per matmul call) sum integer products per block and scale by
// d_w · d_x, as llama.cpp's ggml_vec_dot_q8_0_q8_0 / q4_0_q8_0.
#pragma once

#include <cstddef>
#include <cstdint>

namespace dschat {

constexpr int64_t kQuantBlock = 32;

struct BlockQ8_0 {
  uint16_t d;  // fp16 scale
  int8_t qs[kQuantBlock];
};
static_assert(sizeof(BlockQ8_0) == 34);

struct BlockQ4_0 {
  uint16_t d;  // fp16 scale
  uint8_t qs[kQuantBlock / 2];
};
static_assert(sizeof(BlockQ4_0) == 18);

// Quantize / widen one row of `n` floats (n a multiple of kQuantBlock).
void quantize_row_q8_0(const float* x, BlockQ8_0* out, int64_t n);
void quantize_row_q4_0(const float* x, BlockQ4_0* out, int64_t n);
void dequantize_row_q8_0(const BlockQ8_0* in, float* out, int64_t n);
void dequantize_row_q4_0(const BlockQ4_0* in, float* out, int64_t n);

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
