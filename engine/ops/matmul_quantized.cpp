#include "engine/ops/matmul_quantized.h"

#include <algorithm>
#include <vector>

#include "engine/ops/block_dot.h"

namespace dschat {

void matmul_rows_quantized(const WeightMatrix& w, const float* x, int64_t n, float* y, int64_t ldy,
                           int64_t row_begin, int64_t row_end) {
  const int64_t blocks = w.cols / kQuantBlock;
  thread_local std::vector<BlockQ8_0> xq;
  if (static_cast<int64_t>(xq.size()) < n * blocks) xq.resize(static_cast<size_t>(n * blocks));
  for (int64_t t = 0; t < n; ++t) quantize_row_q8_0(x + t * w.cols, xq.data() + t * blocks, w.cols);

  const QuantKernels& k = quant_kernels();
  // Rows in small groups so a group's weights stay in L1 while every token passes over them.
  constexpr int64_t kRowGroup = 4;
  for (int64_t r0 = row_begin; r0 < row_end; r0 += kRowGroup) {
    const int64_t r1 = std::min(row_end, r0 + kRowGroup);
    for (int64_t t = 0; t < n; ++t) {
      const BlockQ8_0* xt = xq.data() + t * blocks;
      float* yt = y + t * ldy;
      for (int64_t r = r0; r < r1; ++r) {
        if (w.dtype == DType::Q8_0) {
          yt[r] = k.dot_q8_0(reinterpret_cast<const BlockQ8_0*>(w.row(r)), xt, blocks);
        } else {
          yt[r] = k.dot_q4_0(reinterpret_cast<const BlockQ4_0*>(w.row(r)), xt, blocks);
        }
      }
    }
  }
}

}  // namespace dschat
