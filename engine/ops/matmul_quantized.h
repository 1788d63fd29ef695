// y = x · Wᵀ for block-quantized weights (Q8_0, Q4_0): the activations are quantized to Q8_0
// on the fly (once per call, per thread) and every output is an integer block dot product
// (quantize.h). Called by matmul_rows() for block dtypes.
#pragma once

#include <cstdint>

#include "engine/ops/weight_matrix.h"

namespace dschat {

constexpr int64_t kQuantizedMatmulMaxTokens = 4;

// Same contract as matmul_rows(): y[t*ldy + r] for t < n, r in [row_begin, row_end).
// w.cols must be a multiple of 32 (weight conversion keeps other matrices unquantized).
void matmul_rows_quantized(const WeightMatrix& w, const float* x, int64_t n, float* y, int64_t ldy,
                           int64_t row_begin, int64_t row_end);

}  // namespace dschat
