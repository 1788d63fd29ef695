// Dot products of a row of a GGUF block type (ggml_blocks.h) with activations quantized once per
// matmul, in the pairings of llama.cpp's vec_dot: the 32-value types with Q8_0 activations
// (quantize.h), the 256-value types (K-quants, IQ4_XS) with Q8_K (ggml_quantize.h). Integer
// products are summed per sub-block, multiplied by the sub-block's integer scale, and scaled by
// the fp16 super-block scale times the activation scale; a per-block minimum (Q4_1, Q5_1:
// m·Σx; Q2_K, Q4_K, Q5_K: dmin·Σ_j m_j·Σ_{j} x) uses the activations' block sums (Q8_K's bsums).
// The scalar functions are the reference (ggml_dot_scalar.cpp); the AVX2 ones are the AVX2
// level's GEMV, and the AVX-512 level's too (ggml_dot_avx2.cpp), for the types without a
// four-row GEMV (ggml_gemv.h: Q4_K, Q5_K, Q6_K and Q5_0 have one at both levels).
#pragma once

#include <cstdint>

#include "engine/quant/ggml_blocks.h"
#include "engine/quant/quantize.h"

namespace dschat {

// Σ over `blocks` blocks of the block's dot product.
#define DSCHAT_GGML_DOTS(level)                                                                 \
  float dot_q4_1_q8_0_##level(const BlockQ4_1* w, const BlockQ8_0* x, int64_t blocks);          \
  float dot_q5_0_q8_0_##level(const BlockQ5_0* w, const BlockQ8_0* x, int64_t blocks);          \
  float dot_q5_1_q8_0_##level(const BlockQ5_1* w, const BlockQ8_0* x, int64_t blocks);          \
  float dot_iq4_nl_q8_0_##level(const BlockIQ4_NL* w, const BlockQ8_0* x, int64_t blocks);      \
  float dot_q2_k_q8_k_##level(const BlockQ2_K* w, const BlockQ8_K* x, int64_t blocks);          \
  float dot_q3_k_q8_k_##level(const BlockQ3_K* w, const BlockQ8_K* x, int64_t blocks);          \
  float dot_q4_k_q8_k_##level(const BlockQ4_K* w, const BlockQ8_K* x, int64_t blocks);          \
  float dot_q5_k_q8_k_##level(const BlockQ5_K* w, const BlockQ8_K* x, int64_t blocks);          \
  float dot_q6_k_q8_k_##level(const BlockQ6_K* w, const BlockQ8_K* x, int64_t blocks);          \
  float dot_iq4_xs_q8_k_##level(const BlockIQ4_XS* w, const BlockQ8_K* x, int64_t blocks);

DSCHAT_GGML_DOTS(scalar)
#if defined(__x86_64__)
DSCHAT_GGML_DOTS(avx2)  // AVX2 + FMA + F16C
#endif
#undef DSCHAT_GGML_DOTS

}  // namespace dschat
