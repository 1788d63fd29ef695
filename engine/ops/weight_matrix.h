// A weight matrix as the kernels see it: type + shape + pointer into the mapped checkpoint.
// Rows are output features, columns input features (PyTorch Linear [out, in]). A row is a run of
// whole blocks of its type (BlockGeometry: 1 value for F32/F16/BF16, 32 for Q8_0/Q4_0); the
// kernels for the type are chosen once per matrix type (weight_kernels.h).
#pragma once

#include <cstddef>
#include <cstdint>

#include "engine/quant/dtype.h"

namespace dschat {

// Scales stored beside the weights, one float per block of block_rows × block_cols weights
// (FP8 checkpoints: 128 × 128, `weight_scale_inv`); empty for types that carry their scales
// inside their blocks.
struct WeightScales {
  const float* data = nullptr;
  int64_t block_rows = 0;
  int64_t block_cols = 0;
};

struct WeightMatrix {
  DType dtype = DType::F32;
  int64_t rows = 0;  // output features
  int64_t cols = 0;  // input features
  const std::byte* data = nullptr;
  WeightScales scales{};

  bool empty() const { return data == nullptr; }
  BlockGeometry block() const { return dtype_block_geometry(dtype); }
  size_t row_bytes() const {
    const BlockGeometry b = block();
    return static_cast<size_t>(cols / b.weights) * b.bytes;
  }
  const std::byte* row(int64_t r) const { return data + static_cast<size_t>(r) * row_bytes(); }
  // Rows [first, first+count) as a matrix of their own (a view; used for per-head and per-expert slices).
  WeightMatrix row_slice(int64_t first, int64_t count) const { return {dtype, count, cols, row(first), scales}; }
  uint64_t bytes() const { return static_cast<uint64_t>(rows) * row_bytes(); }
};

// Widens row `r` of `w` to float32 into out[0..cols).
void weight_row_to_f32(const WeightMatrix& w, int64_t r, float* out);

}  // namespace dschat
