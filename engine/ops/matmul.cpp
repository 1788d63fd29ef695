#include "engine/ops/matmul.h"

#include <algorithm>
#include <cstring>

#include "engine/ops/vector_kernels.h"

namespace dschat {

void weight_row_to_f32(const WeightMatrix& w, int64_t r, float* out) {
  const WeightKernels& k = weight_kernels(w.dtype);
  if (k.interleaved_rows > 1 && k.group_row_to_f32) {
    const int64_t group = r / k.interleaved_rows;
    k.group_row_to_f32(w.row(group * k.interleaved_rows), r - group * k.interleaved_rows, w.cols, out);
  } else if (k.row_to_f32) {
    k.row_to_f32(w.row(r), w.cols, out);
  } else {  // not reachable: binding rejects types without kernels
    std::memset(out, 0, static_cast<size_t>(w.cols) * sizeof(float));
    return;
  }
  if (w.scales.empty()) return;
  const float* scale = w.scales.row(r, w.cols);
  for (int64_t c0 = 0, b = 0; c0 < w.cols; c0 += w.scales.block_cols, ++b) {
    const int64_t c1 = std::min(w.cols, c0 + w.scales.block_cols);
    for (int64_t c = c0; c < c1; ++c) out[c] *= scale[b];
  }
}

PreparedActivations prepare_activations(const WeightMatrix& w, const float* x, int64_t n,
                                        std::vector<std::byte>& storage) {
  const WeightKernels& k = weight_kernels(w.dtype);
  PreparedActivations a{x, n, w.cols, nullptr, nullptr};
  if (n <= k.gemv_max_tokens && k.prepare != nullptr) {
    const size_t bytes = k.prepared_bytes(w.cols, n);
    if (storage.size() < bytes) storage.resize(bytes);
    k.prepare(x, w.cols, n, storage.data());
    a.data = storage.data();
    a.prepared_by = k.prepare;
  }
  return a;
}

PreparedActivations prepare_activations(const WeightMatrix& w, const float* x, int64_t n, KernelScratch& scratch) {
  return prepare_activations(w, x, n, scratch.prepared);
}

void matmul_rows(const WeightMatrix& w, const PreparedActivations& x, float* y, int64_t ldy, int64_t row_begin,
                 int64_t row_end, KernelScratch& scratch) {
  if (row_begin >= row_end || x.n <= 0) return;
  const WeightKernels& k = weight_kernels(w.dtype);
  if (x.n > k.gemv_max_tokens) {
    k.gemm(w, x.x, x.n, y, ldy, row_begin, row_end, scratch);
  } else if (x.prepared_by == k.prepare) {
    k.gemv(w, x, y, ldy, row_begin, row_end, scratch);
  } else {
    k.gemv(w, prepare_activations(w, x.x, x.n, scratch), y, ldy, row_begin, row_end, scratch);
  }
}

void matmul_rows(const WeightMatrix& w, const float* x, int64_t n, float* y, int64_t ldy, int64_t row_begin,
                 int64_t row_end, KernelScratch& scratch) {
  matmul_rows(w, prepare_activations(w, x, n, scratch), y, ldy, row_begin, row_end, scratch);
}

void matmul(Workspace& workspace, const WeightMatrix& w, const float* x, int64_t n, float* y, int64_t ldy) {
  if (ldy == 0) ldy = w.rows;
  // Rows in blocks of kRowBlock, enough per task that the split pays.
  const int64_t blocks = (w.rows + kRowBlock - 1) / kRowBlock;
  const int64_t grain = ThreadPool::grain(kRowBlock * w.cols * n);
  const PreparedActivations a = prepare_activations(w, x, n, workspace.call());
  workspace.parallel_for(blocks, grain, [&](int64_t b0, int64_t b1, KernelScratch& scratch) {
    matmul_rows(w, a, y, ldy, b0 * kRowBlock, std::min(w.rows, b1 * kRowBlock), scratch);
  });
}

void matmul_transposed_vector(const WeightMatrix& w, const float* a, float* out, KernelScratch& scratch) {
  const VectorKernels& v = vector_kernels();
  std::fill(out, out + w.cols, 0.0f);
  float* widened = w.dtype == DType::F32 ? nullptr : scratch.widened_floats(static_cast<size_t>(w.cols));
  for (int64_t r = 0; r < w.rows; ++r) {
    const float* row = reinterpret_cast<const float*>(w.row(r));
    if (widened) {
      weight_row_to_f32(w, r, widened);
      row = widened;
    }
    v.axpy(a[r], row, out, w.cols);
  }
}

float dot_f32(const float* a, const float* b, int64_t n) { return vector_kernels().dot_f32(a, b, n); }
void softmax(float* v, int64_t n) { vector_kernels().softmax(v, n); }
void silu_mul(float* g, const float* u, int64_t n) { vector_kernels().silu_mul(g, u, n); }
void row_dots(const float* a, int64_t lda, int64_t m, const float* b, int64_t ldb, int64_t n, int64_t k, float* c,
              int64_t ldc) {
  vector_kernels().row_dots(a, lda, m, b, ldb, n, k, c, ldc);
}
void weighted_row_sums(const float* p, int64_t ldp, int64_t m, const float* b, int64_t ldb, int64_t n, int64_t k,
                       float* c, int64_t ldc) {
  vector_kernels().weighted_row_sums(p, ldp, m, b, ldb, n, k, c, ldc);
}

}  // namespace dschat
