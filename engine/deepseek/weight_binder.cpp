#include "engine/deepseek/weight_binder.h"

#include <cstring>

#include "engine/io/model_error.h"
#include "engine/ops/weight_kernels.h"
#include "engine/quant/ggml_types.h"

namespace dschat {
namespace {

// The weight types this build has kernels for, in ggml's order: "F32, F16, Q4_0, Q8_0, BF16".
std::string weight_type_names() {
  std::string names;
  for (uint32_t id = 0; id < 64; ++id) {
    const GgmlType* t = ggml_type(id);
    if (t && t->dtype && weight_kernels(*t->dtype).available()) names += (names.empty() ? "" : ", ") + std::string(t->name);
  }
  return names;
}

// The alignment the kernels read an element type at: its size for plain types, that of the fp16
// scale that opens every block for block types (ggml's blocks are packed: a Q8_0 row of a GGUF file
// starts at any even address).
size_t required_alignment(DType dtype) { return dtype_is_block(dtype) ? 2 : dtype_size(dtype); }

}  // namespace

void WeightBinder::fail(const std::string& what) const { throw ModelError(source_.label() + ": " + what); }

const TensorInfo& WeightBinder::require(const std::string& name, const std::vector<int64_t>& shape) {
  const TensorInfo* t = source_.find(name);
  if (!t) fail("tensor '" + name + "' is missing (expected shape " + shape_string(shape) + ")");
  const std::string what = t->file + ": tensor '" + name + "'";
  if (t->shape != shape)
    throw ModelError(what + " has shape " + t->shape_string() + ", expected " + shape_string(shape));
  if (!weight_kernels(t->dtype).available()) {
    throw ModelError(what + " has dtype " + dtype_name(t->dtype) + ", which no kernel computes with (weights: " +
                     weight_type_names() + ")");
  }
  if (!t->stride.empty()) throw ModelError(what + " is not contiguous (strides " + shape_string(t->stride) + ")");
  if (bound_.insert(name).second) out_.used.push_back(t);
  return *t;
}

const std::vector<int64_t>& WeightBinder::shape(const std::string& name, size_t rank) const {
  const TensorInfo* t = source_.find(name);
  if (!t) fail("tensor '" + name + "' is missing");
  if (t->shape.size() != rank) {
    fail("tensor '" + name + "' has shape " + t->shape_string() + ", expected rank " + std::to_string(rank));
  }
  return t->shape;
}

WeightMatrix WeightBinder::matrix(const std::string& name, int64_t rows, int64_t cols) {
  const TensorInfo& t = require(name, {rows, cols});
  WeightMatrix m{t.dtype, rows, cols, aligned_data(t)};
  if (t.dtype == DType::F8_E4M3) m.scales = block_scales(name, t);
  return m;
}

WeightScales WeightBinder::block_scales(const std::string& name, const TensorInfo& weight) {
  // fp8_cast_bf16.py: `name` ends in "weight", its scales are `name + "_scale_inv"`.
  const std::string scale_name = name + "_scale_inv";
  const std::string what = weight.file + ": tensor '" + name + "'";
  const TensorInfo* s = source_.find(scale_name);
  const int64_t rows = weight.shape[0], cols = weight.shape[1];
  const std::vector<int64_t> shape = {(rows + kFp8Block - 1) / kFp8Block, (cols + kFp8Block - 1) / kFp8Block};
  if (!s) {
    throw ModelError(what + " is F8_E4M3 but its block scales '" + scale_name + "' are missing (expected F32 " +
                     shape_string(shape) + ", one per " + std::to_string(kFp8Block) + "x" +
                     std::to_string(kFp8Block) + " block)");
  }
  const std::string swhat = s->file + ": tensor '" + scale_name + "'";
  if (s->dtype != DType::F32) {
    throw ModelError(swhat + " (block scales of '" + name + "') has dtype " + dtype_name(s->dtype) + ", expected F32");
  }
  if (s->shape != shape) {
    throw ModelError(swhat + " (block scales of '" + name + "' " + weight.shape_string() + ") has shape " +
                     s->shape_string() + ", expected " + shape_string(shape) + " (one per " +
                     std::to_string(kFp8Block) + "x" + std::to_string(kFp8Block) + " block)");
  }
  if (!s->stride.empty()) throw ModelError(swhat + " is not contiguous (strides " + shape_string(s->stride) + ")");
  if (bound_.insert(scale_name).second) out_.used.push_back(s);
  return {reinterpret_cast<const float*>(aligned_data(*s)), kFp8Block, kFp8Block, 0};
}

std::vector<WeightMatrix> WeightBinder::stacked(const std::string& name, int64_t experts, int64_t rows, int64_t cols) {
  const TensorInfo& t = require(name, {experts, rows, cols});
  if (t.dtype == DType::F8_E4M3) fail("tensor '" + name + "': stacked F8_E4M3 experts are not supported");
  WeightMatrix all{t.dtype, experts * rows, cols, aligned_data(t)};
  std::vector<WeightMatrix> views;
  for (int64_t e = 0; e < experts; ++e) views.push_back(all.row_slice(e * rows, rows));
  return views;
}

std::vector<float> WeightBinder::vector(const std::string& name, int64_t size) {
  const TensorInfo& t = require(name, {size});
  if (t.dtype == DType::F8_E4M3) {
    throw ModelError(t.file + ": tensor '" + name + "' is F8_E4M3: vectors (norms, biases) must be F32, F16 or BF16");
  }
  std::vector<float> v(static_cast<size_t>(size));
  if (size > 0) {
    std::vector<std::byte> copy(t.nbytes);  // alignment-safe
    std::memcpy(copy.data(), t.data, t.nbytes);
    weight_row_to_f32({t.dtype, 1, size, copy.data()}, 0, v.data());
  }
  return v;
}

WeightMatrix WeightBinder::stack_rows(const std::vector<Rows>& parts, const std::string& what) {
  if (parts.empty()) fail(what + ": nothing to stack");
  const DType dtype = parts[0].from.dtype;
  const int64_t cols = parts[0].from.cols;
  int64_t rows = 0;
  for (const Rows& p : parts) {
    if (p.from.dtype != dtype || p.from.cols != cols) fail(what + ": parts differ in dtype or columns");
    if (!p.from.scales.empty()) fail(what + ": rows with block scales (FP8) cannot be stacked");
    rows += p.count;
  }
  const size_t row_bytes = static_cast<size_t>(cols) * dtype_size(dtype);
  out_.owned.emplace_back(rows * row_bytes);
  std::byte* dst = out_.owned.back().data();
  for (const Rows& p : parts) {
    std::memcpy(dst, p.from.row(p.first), p.count * row_bytes);
    dst += p.count * row_bytes;
  }
  return {dtype, rows, cols, out_.owned.back().data()};
}

WeightMatrix WeightBinder::join_columns(const std::vector<WeightMatrix>& parts) {
  const DType dtype = parts[0].dtype;
  const int64_t rows = parts[0].rows;
  int64_t cols = 0;
  for (const WeightMatrix& p : parts) {
    if (p.dtype != dtype || p.rows != rows) fail("shared experts differ in dtype or shape");
    if (!p.scales.empty()) fail("shared experts with block scales (FP8) cannot be joined");
    cols += p.cols;
  }
  const size_t es = dtype_size(dtype);
  out_.owned.emplace_back(rows * cols * es);
  std::byte* dst = out_.owned.back().data();
  for (int64_t r = 0; r < rows; ++r) {
    for (const WeightMatrix& p : parts) {
      std::memcpy(dst, p.row(r), p.row_bytes());
      dst += p.row_bytes();
    }
  }
  return {dtype, rows, cols, out_.owned.back().data()};
}

void WeightBinder::finish(const std::function<bool(const std::string& name)>& expected) {
  // A file of a million stray tensors gets a summary, not a million lines.
  constexpr size_t kListedUnexpected = 20;
  size_t unexpected = 0;
  for (const TensorInfo* t : source_.tensors()) {
    if (is_bound(t->name)) continue;
    if (expected(t->name)) {
      out_.ignored.push_back(t);
    } else if (++unexpected <= kListedUnexpected) {
      out_.warnings.push_back(t->file + ": unexpected tensor '" + t->name + "' " + t->shape_string() + " (ignored)");
    }
  }
  if (unexpected > kListedUnexpected) {
    out_.warnings.push_back("... and " + std::to_string(unexpected - kListedUnexpected) +
                            " more unexpected tensors (ignored)");
  }
}

const std::byte* WeightBinder::aligned_data(const TensorInfo& t) {
  if (reinterpret_cast<uintptr_t>(t.data) % required_alignment(t.dtype) == 0) return t.data;
  out_.owned.emplace_back(t.nbytes);
  std::memcpy(out_.owned.back().data(), t.data, t.nbytes);
  return out_.owned.back().data();
}

}  // namespace dschat
