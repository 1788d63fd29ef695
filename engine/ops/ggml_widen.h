// AVX2 row widening of the K-quants and Q5_0 (the AVX2 level's row_to_f32 for Q4_K, Q5_K, Q6_K
// and Q5_0: the prefill GEMM widens every weight row once per call). Bit-identical to the scalar widening of
// engine/quant/ggml_dequantize.h: each value is (d·s)·q − d_min·m or (d·s)·q with the product
// exact in float, so vector arithmetic, fused or not, rounds exactly where the scalar code does.
#pragma once

#include <cstddef>
#include <cstdint>

namespace dschat {

#if defined(__x86_64__)
void widen_q4_k_avx2(const std::byte* row, int64_t cols, float* out);
void widen_q5_k_avx2(const std::byte* row, int64_t cols, float* out);
void widen_q6_k_avx2(const std::byte* row, int64_t cols, float* out);
void widen_q5_0_avx2(const std::byte* row, int64_t cols, float* out);  // Q5_0: d·(q − 16), exact
#endif

}  // namespace dschat
