#include <algorithm>
#include <vector>

#include "engine/ops/block_dot.h"
#include "engine/ops/block_gemv.h"
#include "engine/ops/q4_0_x8_kernels.h"
#include "engine/quant/q4_0_x8.h"

namespace dschat {

void q4_0_x8_row_to_f32_scalar(const std::byte* group, int64_t lane, int64_t cols, float* out) {
  std::vector<BlockQ4_0> row(static_cast<size_t>(cols / kQuantBlock));
  q4_0_x8_row(group, lane, static_cast<int64_t>(row.size()), row.data());
  dequantize_row_q4_0(row.data(), out, cols);
}

void q4_0_x8_gemv_scalar(const WeightMatrix& w, const PreparedActivations& x, float* y, int64_t ldy, int64_t r0,
                         int64_t r1, KernelScratch&) {
  const int64_t blocks = w.cols / kQuantBlock;
  const auto* xq = reinterpret_cast<const BlockQ8_0*>(x.data);
  std::vector<BlockQ4_0> row(static_cast<size_t>(blocks));
  for (int64_t r = r0; r < r1; ++r) {
    const int64_t group = r / kQ4_0x8Rows;
    q4_0_x8_row(w.row(group * kQ4_0x8Rows), r - group * kQ4_0x8Rows, blocks, row.data());
    for (int64_t t = 0; t < x.n; ++t) y[t * ldy + r] = dot_q4_0_q8_0_scalar(row.data(), xq + t * blocks, blocks);
  }
}

WeightKernels q4_0_x8_weight_kernels(const char* level, GemvKernel gemv, GemmKernel gemm,
                                     void (*group_row_to_f32)(const std::byte*, int64_t, int64_t, float*)) {
  WeightKernels k;
  k.type = DType::Q4_0_X8;
  k.level = level;
  k.block = dtype_block_geometry(DType::Q4_0_X8);
  k.interleaved_rows = kQ4_0x8Rows;
  k.group_row_to_f32 = group_row_to_f32;
  k.prepared_bytes = block_gemv::q8_activation_bytes;
  k.prepare = block_gemv::quantize_activations_q8_0;
  k.gemv = gemv;
  k.gemm = gemm;
  return k;
}

}  // namespace dschat
