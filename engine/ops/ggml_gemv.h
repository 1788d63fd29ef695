// Four-row GEMVs of GGUF block types (ggml_gemv_body.h): the K-quants Q4_K, Q5_K and Q6_K over
// Q8_K activations (block_gemv.h's quantize_activations_q8_k), their prefill over codes unpacked
// once per group; Q5_0 over Q8_0 activations. Internal to the level tables.
#pragma once

#include "engine/ops/weight_kernels.h"

namespace dschat {

#if defined(__x86_64__)
// The GEMV of `type` (Q5_0, Q4_K, Q5_K, Q6_K), null for the others. AVX2: maddubs + madd
// (ggml_gemv_avx2.cpp); AVX-512 (F/BW/VL/VNNI): maddubs + vpdpwssd (ggml_gemv_avx512.cpp).
GemvKernel ggml_gemv_avx2(DType type);
GemvKernel ggml_gemv_avx512(DType type);
#endif

}  // namespace dschat
