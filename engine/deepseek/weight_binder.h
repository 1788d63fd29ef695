// Binds checkpoint tensors by name into ModelWeights, whatever the format (any TensorSource):
// each tensor checked for presence, shape, dtype and contiguity with an error naming the file and
// tensor, views into the mapped bytes (aligned private copies where they are not aligned), and
// the copies that rearrange rows and columns. Records what it binds (ModelWeights::used) and,
// at the end, what it leaves (ModelWeights::ignored, or a warning).
#pragma once

#include <cstdint>
#include <functional>
#include <set>
#include <string>
#include <vector>

#include "engine/deepseek/model_weights.h"
#include "engine/io/tensor_source.h"
#include "engine/ops/weight_matrix.h"

namespace dschat {

class WeightBinder {
 public:
  WeightBinder(const TensorSource& source, ModelWeights& out) : source_(source), out_(out) {}

  const TensorSource& source() const { return source_; }
  const TensorInfo* find(const std::string& name) const { return source_.find(name); }
  bool is_bound(const std::string& name) const { return bound_.count(name) > 0; }

  // Throws ModelError "<source label>: <what>".
  [[noreturn]] void fail(const std::string& what) const;

  // The tensor, checked: present, of `shape`, of a dtype the kernels compute with
  // (weight_kernels(dtype).available(): F32, F16, BF16, Q8_0, Q4_0), contiguous.
  const TensorInfo& require(const std::string& name, const std::vector<int64_t>& shape);
  // Shape of a tensor that must exist and have `rank` dimensions (for inferring sizes).
  const std::vector<int64_t>& shape(const std::string& name, size_t rank) const;

  // An F8_E4M3 matrix gets its F32 block scales `name + "_scale_inv"` [ceil(rows/128),
  // ceil(cols/128)] (the published FP8 checkpoints); missing, mis-shaped or not F32 is an error.
  WeightMatrix matrix(const std::string& name, int64_t rows, int64_t cols);
  // The block size of FP8 checkpoints (quantization_config.weight_block_size, checked by the config).
  static constexpr int64_t kFp8Block = 128;
  // [E, rows, cols] stacked experts (MLX SwitchLinear) -> one view per expert.
  std::vector<WeightMatrix> stacked(const std::string& name, int64_t experts, int64_t rows, int64_t cols);
  // Small vectors (norm weights, biases) are widened to float once.
  std::vector<float> vector(const std::string& name, int64_t size);

  // Row blocks of several matrices (same dtype and columns) copied into one matrix, in order.
  struct Rows {
    WeightMatrix from;
    int64_t first, count;
  };
  WeightMatrix stack_rows(const std::vector<Rows>& parts, const std::string& what);
  // Column blocks [rows, cols_i] side by side (the down projections of several shared experts).
  WeightMatrix join_columns(const std::vector<WeightMatrix>& parts);

  // Every tensor not bound goes to ModelWeights::ignored when `expected` says so, else becomes an
  // "unexpected tensor" warning. (The source's own warnings are the caller's to add.)
  void finish(const std::function<bool(const std::string& name)>& expected);

 private:
  // The bytes in place when aligned for their element type; otherwise an aligned private copy.
  const std::byte* aligned_data(const TensorInfo& t);
  WeightScales block_scales(const std::string& name, const TensorInfo& weight);

  const TensorSource& source_;
  ModelWeights& out_;
  std::set<std::string> bound_;
};

}  // namespace dschat
