// Float rows to the GGUF block types of ggml_blocks.h.
//   Q8_K: the activation form of the 256-value types' integer dot products (engine/ops/ggml_dot.h):
//         per 256 values d = max|x|/127 (float), q = round(x / d), and the sums of each 16 q.
//   Q4_K, Q5_K: per sub-block of 32, the (scale, min) that minimise Σ w_i·(scale·q_i − min − x_i)²
//         with w_i = rms(x) + |x_i|, searched over a range of candidate scales, each with the
//         least-squares (scale, min) of its codes (the semantics of ggml's make_qkx2_quants, min
//         ≥ 0 subtracted); the eight scales and mins then quantized to 6 bits against the block's
//         largest (d, dmin fp16), and the codes recomputed for the stored scales.
//   Q6_K: per sub-block of 16, the signed scale maximising (Σ x²·x·q)² / Σ x²·q² over candidate
//         scales around max|x|/32 (ggml's make_qx_quants, weights x²), the sixteen scales
//         quantized to int8 against the largest (d fp16), codes recomputed.
//   Q5_0: per 32 values d = m / -16 (m the value of largest magnitude, sign kept),
//         q = min(31, trunc(x/d + 16.5)); Q5_1: d = (max − min)/31, m = min, q = trunc((x − min)/d + 0.5)
//         (quantize_row_q5_0_ref / _q5_1_ref: llama-quantize's fallbacks for rows that are not
//         whole 256-value blocks under Q4_K and Q5_K).
// The semantics of llama.cpp's reference quantizers (quantize_row_q*_K_ref, no importance
// matrix), including the search's origin following its best fit; byte-identical to ggml's output
// on the rows of tests/engine/quant/ggml_quantize_test.cpp.
#pragma once

#include <cstdint>

#include "engine/quant/ggml_blocks.h"

namespace dschat {

// n a multiple of kSuperBlock.
void quantize_row_q8_k(const float* x, BlockQ8_K* out, int64_t n);
void quantize_row_q4_k(const float* x, BlockQ4_K* out, int64_t n);
void quantize_row_q5_k(const float* x, BlockQ5_K* out, int64_t n);
void quantize_row_q6_k(const float* x, BlockQ6_K* out, int64_t n);
// n a multiple of 32.
void quantize_row_q5_0(const float* x, BlockQ5_0* out, int64_t n);
void quantize_row_q5_1(const float* x, BlockQ5_1* out, int64_t n);

}  // namespace dschat
