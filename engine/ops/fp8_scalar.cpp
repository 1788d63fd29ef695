// FP8 E4M3 block-scaled weights, the portable level (fp8_kernels.h).
#include <algorithm>

#include "engine/ops/fp8_kernels.h"
#include "engine/quant/float8.h"

namespace dschat {

void fp8_row_to_f32_scalar(const std::byte* row, int64_t cols, float* out) {
  const float* table = e4m3_table();
  const auto* q = reinterpret_cast<const uint8_t*>(row);
  for (int64_t i = 0; i < cols; ++i) out[i] = table[q[i]];
}

void fp8_gemv_scalar(const WeightMatrix& w, const PreparedActivations& x, float* y, int64_t ldy, int64_t r0,
                     int64_t r1, KernelScratch&) {
  const float* table = e4m3_table();
  const int64_t cols = w.cols, bc = w.scales.block_cols;
  for (int64_t r = r0; r < r1; ++r) {
    const auto* q = reinterpret_cast<const uint8_t*>(w.row(r));
    const float* scale = w.scales.row(r, cols);
    for (int64_t t = 0; t < x.n; ++t) {
      const float* xt = x.x + t * cols;
      float acc = 0.0f;
      for (int64_t c0 = 0, b = 0; c0 < cols; c0 += bc, ++b) {
        const int64_t c1 = std::min(cols, c0 + bc);
        float part = 0.0f;
        for (int64_t c = c0; c < c1; ++c) part += table[q[c]] * xt[c];
        acc += part * scale[b];
      }
      y[t * ldy + r] = acc;
    }
  }
}

WeightKernels fp8_weight_kernels(const char* level, GemvKernel gemv, GemmKernel gemm,
                                 void (*row_to_f32)(const std::byte*, int64_t, float*)) {
  WeightKernels k;
  k.type = DType::F8_E4M3;
  k.level = level;
  k.block = dtype_block_geometry(DType::F8_E4M3);
  k.row_to_f32 = row_to_f32;
  k.gemv = gemv;
  k.gemm = gemm;
  return k;
}

}  // namespace dschat
