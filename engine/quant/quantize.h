// Block-quantized weights and activations with llama.cpp's Q8_0 / Q4_0 semantics:
//   Q8_0: blocks of 32 values, one fp16 scale d = max|x| / 127, q = round(x / d) in [-127, 127];
//         x ≈ d · q.                                          (34 bytes per 32 values)
//   Q4_0: blocks of 32 values, one fp16 scale d = m / -8 where m is the value of largest
//         magnitude (sign kept), q = clamp(round(x / d) + 8, 0, 15); x ≈ d · (q - 8). Byte j of
//         the 16 holds value j in its low nibble and value j+16 in its high nibble. (18 bytes)
// Their dot products are kernels: engine/ops/block_dot.h.
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

}  // namespace dschat
