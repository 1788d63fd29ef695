// One weight row widened to float32, exactly, for each type with kernels: F32 copied, F16/BF16
// converted, Q8_0/Q4_0 dequantized (d·q), the GGUF block types as gguf-py does
// (ggml_dequantize.h). Internal to the kernel tables.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "engine/quant/dtype.h"
#include "engine/quant/ggml_dequantize.h"
#include "engine/quant/half_float.h"
#include "engine/quant/quantize.h"

namespace dschat::row_widening {

inline void f32(const std::byte* row, int64_t cols, float* out) {
  std::memcpy(out, row, static_cast<size_t>(cols) * sizeof(float));
}

inline void bf16(const std::byte* row, int64_t cols, float* out) {
  const auto* h = reinterpret_cast<const uint16_t*>(row);
  for (int64_t i = 0; i < cols; ++i) out[i] = bf16_to_f32(h[i]);
}

inline void f16(const std::byte* row, int64_t cols, float* out) {
  const auto* h = reinterpret_cast<const uint16_t*>(row);
  for (int64_t i = 0; i < cols; ++i) out[i] = f16_to_f32(h[i]);
}

inline void q8_0(const std::byte* row, int64_t cols, float* out) {
  dequantize_row_q8_0(reinterpret_cast<const BlockQ8_0*>(row), out, cols);
}

inline void q4_0(const std::byte* row, int64_t cols, float* out) {
  dequantize_row_q4_0(reinterpret_cast<const BlockQ4_0*>(row), out, cols);
}

using Function = void (*)(const std::byte*, int64_t, float*);

// The dequantization of ggml_dequantize.h for a row of Block.
template <typename Block, void (*Dequantize)(const Block*, float*, int64_t)>
void ggml_row(const std::byte* row, int64_t cols, float* out) {
  Dequantize(reinterpret_cast<const Block*>(row), out, cols);
}

inline Function function_for(DType type) {
  switch (type) {
    case DType::F32: return f32;
    case DType::BF16: return bf16;
    case DType::F16: return f16;
    case DType::Q8_0: return q8_0;
    case DType::Q4_0: return q4_0;
    case DType::Q4_1: return ggml_row<BlockQ4_1, dequantize_row_q4_1>;
    case DType::Q5_0: return ggml_row<BlockQ5_0, dequantize_row_q5_0>;
    case DType::Q5_1: return ggml_row<BlockQ5_1, dequantize_row_q5_1>;
    case DType::IQ4_NL: return ggml_row<BlockIQ4_NL, dequantize_row_iq4_nl>;
    case DType::Q2_K: return ggml_row<BlockQ2_K, dequantize_row_q2_k>;
    case DType::Q3_K: return ggml_row<BlockQ3_K, dequantize_row_q3_k>;
    case DType::Q4_K: return ggml_row<BlockQ4_K, dequantize_row_q4_k>;
    case DType::Q5_K: return ggml_row<BlockQ5_K, dequantize_row_q5_k>;
    case DType::Q6_K: return ggml_row<BlockQ6_K, dequantize_row_q6_k>;
    case DType::IQ4_XS: return ggml_row<BlockIQ4_XS, dequantize_row_iq4_xs>;
    case DType::Q8_K: return ggml_row<BlockQ8_K, dequantize_row_q8_k>;
    default: return nullptr;
  }
}

}  // namespace dschat::row_widening
