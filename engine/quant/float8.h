// FP8 E4M3 (OCP 8-bit Floating Point Specification, "OFP8", v1.0, the "fn" variant of
// PyTorch's float8_e4m3fn): 1 sign bit, 4 exponent bits (bias 7), 3 mantissa bits, no
// infinities; S.1111.111 is NaN, so the largest finite magnitude is 1.75 * 2^8 = 448.
// Exponent field 0 encodes subnormals: mantissa/8 * 2^-6.
// Used by the FP8 block-quantized DeepSeek-V3 checkpoints and the FP8 latent cache.
#pragma once

#include <cstdint>

namespace dschat {

inline constexpr float kE4M3Max = 448.0f;

// All 256 decoded values, indexed by the byte (exact: every E4M3 value is a float).
const float* e4m3_table();

inline float e4m3_to_f32(uint8_t byte) { return e4m3_table()[byte]; }

// Round to nearest, ties to even; magnitudes above 448 saturate to ±448 (the conversion the
// OCP spec calls "saturating", which is what DeepSeek's quantizer relies on after scaling each
// block so that its largest magnitude maps to 448); NaN -> 0x7f.
uint8_t f32_to_e4m3(float value);

}  // namespace dschat
