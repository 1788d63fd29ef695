// A weight matrix as the kernels see it: dtype + shape + pointer into the mapped checkpoint.
// Rows are output features, columns input features (PyTorch Linear [out, in]). Kernels dispatch
// on `dtype`; a later quantized dtype only needs row_bytes() and a row decoder.
#pragma once

#include <cstddef>
#include <cstdint>

#include "engine/quant/dtype.h"

namespace dschat {

struct WeightMatrix {
  DType dtype = DType::F32;
  int64_t rows = 0;  // output features
  int64_t cols = 0;  // input features
  const std::byte* data = nullptr;

  bool empty() const { return data == nullptr; }
  size_t row_bytes() const {
    return dtype_is_block(dtype) ? static_cast<size_t>(cols / 32) * dtype_block_bytes(dtype)
                                 : static_cast<size_t>(cols) * dtype_size(dtype);
  }
  const std::byte* row(int64_t r) const { return data + static_cast<size_t>(r) * row_bytes(); }
  // Rows [first, first+count) as a matrix of their own (a view; used for per-head and per-expert slices).
  WeightMatrix row_slice(int64_t first, int64_t count) const { return {dtype, count, cols, row(first)}; }
  uint64_t bytes() const { return static_cast<uint64_t>(rows) * row_bytes(); }
};

// Widens row `r` of `w` to float32 into out[0..cols).
void weight_row_to_f32(const WeightMatrix& w, int64_t r, float* out);

}  // namespace dschat
