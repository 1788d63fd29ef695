// One weight row widened to float32, exactly, for each type with kernels: F32 copied, F16/BF16
// converted, Q8_0/Q4_0 dequantized (d·q). Internal to the kernel tables.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "engine/quant/dtype.h"
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

inline Function function_for(DType type) {
  switch (type) {
    case DType::F32: return f32;
    case DType::BF16: return bf16;
    case DType::F16: return f16;
    case DType::Q8_0: return q8_0;
    case DType::Q4_0: return q4_0;
    default: return nullptr;
  }
}

}  // namespace dschat::row_widening
