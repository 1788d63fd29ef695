// A weight matrix as the kernels see it: type + shape + pointer into the mapped checkpoint.
// Rows are output features, columns input features (PyTorch Linear [out, in]). A row is a run of
// whole blocks of its type (BlockGeometry: 1 value for F32/F16/BF16, 32 for Q8_0/Q4_0); the
// kernels for the type are chosen once per matrix type (weight_kernels.h).
#pragma once

#include <cstddef>
#include <cstdint>
#include <stdexcept>

#include "engine/quant/dtype.h"

namespace dschat {

// Scales stored beside the weights, one float per block of block_rows × block_cols weights
// (FP8 checkpoints: 128 × 128, `weight_scale_inv` [ceil(rows/128), ceil(cols/128)], edge blocks
// partial; dequantized weight = stored value × its block's scale); empty for types that carry
// their scales inside their blocks. `first_row` is the row of the whole tensor a view's row 0 is,
// so a row slice at any offset (per head, per expert) finds its blocks' scales.
struct WeightScales {
  const float* data = nullptr;
  int64_t block_rows = 0;
  int64_t block_cols = 0;
  int64_t first_row = 0;

  bool empty() const { return data == nullptr; }
  // Scales per block row: ceil(cols / block_cols).
  int64_t blocks_per_row(int64_t cols) const { return (cols + block_cols - 1) / block_cols; }
  // The ceil(cols / block_cols) scales of the blocks row `r` of the view lies in.
  const float* row(int64_t r, int64_t cols) const {
    return data + static_cast<size_t>((first_row + r) / block_rows) * static_cast<size_t>(blocks_per_row(cols));
  }
  WeightScales from_row(int64_t r) const { return {data, block_rows, block_cols, first_row + r}; }
};

// Callers that split a matrix's rows (across threads, into slices) split at multiples of this:
// the group of the interleaved layouts (dtype_interleaved_rows), a multiple of the kernels' row
// groups of four.
constexpr int64_t kRowBlock = 8;

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
  // Rows [first, first+count) as a matrix of their own (a view; used for per-head and per-expert
  // slices). An interleaved type's slice starts on a group (callers split at kRowBlock).
  WeightMatrix row_slice(int64_t first, int64_t count) const {
    if (first % dtype_interleaved_rows(dtype) != 0) throw std::logic_error("row slice inside an interleaved row group");
    return {dtype, count, cols, row(first), scales.empty() ? scales : scales.from_row(first)};
  }
  uint64_t bytes() const { return static_cast<uint64_t>(rows) * row_bytes(); }
};

// Widens row `r` of `w` to float32 into out[0..cols), its block scales applied.
void weight_row_to_f32(const WeightMatrix& w, int64_t r, float* out);

}  // namespace dschat
