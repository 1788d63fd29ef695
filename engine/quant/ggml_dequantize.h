// Exact widening of the GGUF block types of ggml_blocks.h to float: each value computed with the
// same float32 operations, in the same order, as gguf-py's numpy dequantization
// (gguf-py/gguf/quants.py), so the results are bit-identical to it (tests/engine/quant/
// ggml_dequantize_test.cpp against tools/make_ggml_quant_goldens.py). Every product here is
// exact in float (an fp16 scale's 11 significant bits times integer scales and codes stay within
// 24 bits), so only the one addition of a minimum rounds, and a contracted multiply-add (FMA,
// under -march=native) gives the same bits.
#pragma once

#include <cstdint>

#include "engine/quant/ggml_blocks.h"

namespace dschat {

// out[0..n) from n / (values per block) blocks; n a whole number of blocks.
void dequantize_row_q4_1(const BlockQ4_1* in, float* out, int64_t n);
void dequantize_row_q5_0(const BlockQ5_0* in, float* out, int64_t n);
void dequantize_row_q5_1(const BlockQ5_1* in, float* out, int64_t n);
void dequantize_row_iq4_nl(const BlockIQ4_NL* in, float* out, int64_t n);
void dequantize_row_q2_k(const BlockQ2_K* in, float* out, int64_t n);
void dequantize_row_q3_k(const BlockQ3_K* in, float* out, int64_t n);
void dequantize_row_q4_k(const BlockQ4_K* in, float* out, int64_t n);
void dequantize_row_q5_k(const BlockQ5_K* in, float* out, int64_t n);
void dequantize_row_q6_k(const BlockQ6_K* in, float* out, int64_t n);
void dequantize_row_q8_k(const BlockQ8_K* in, float* out, int64_t n);
void dequantize_row_iq4_xs(const BlockIQ4_XS* in, float* out, int64_t n);

}  // namespace dschat
