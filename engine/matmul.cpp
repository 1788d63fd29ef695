#include "engine/matmul.h"

#include <algorithm>
#include <cstring>
#include <vector>

#include "engine/half_float.h"

namespace dschat {

void weight_row_to_f32(const WeightMatrix& w, int64_t r, float* out) {
  const std::byte* p = w.row(r);
  switch (w.dtype) {
    case DType::F32:
      std::memcpy(out, p, static_cast<size_t>(w.cols) * 4);
      return;
    case DType::BF16: {
      const uint16_t* h = reinterpret_cast<const uint16_t*>(p);
      for (int64_t i = 0; i < w.cols; ++i) out[i] = bf16_to_f32(h[i]);
      return;
    }
    case DType::F16: {
      const uint16_t* h = reinterpret_cast<const uint16_t*>(p);
      for (int64_t i = 0; i < w.cols; ++i) out[i] = f16_to_f32(h[i]);
      return;
    }
    default:
      std::memset(out, 0, static_cast<size_t>(w.cols) * 4);  // not reachable: binding rejects other dtypes
  }
}

float dot_f32(const float* a, const float* b, int64_t n) {
  float acc[16] = {};
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    for (int j = 0; j < 16; ++j) acc[j] += a[i + j] * b[i + j];
  }
  float s = 0;
  for (int j = 0; j < 16; ++j) s += acc[j];
  for (; i < n; ++i) s += a[i] * b[i];
  return s;
}

namespace {

// Four dot products sharing the loads of x.
inline void dot4_f32(const float* w0, const float* w1, const float* w2, const float* w3, const float* x,
                     int64_t n, float* out) {
  float a0[8] = {}, a1[8] = {}, a2[8] = {}, a3[8] = {};
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    for (int j = 0; j < 8; ++j) {
      float xv = x[i + j];
      a0[j] += w0[i + j] * xv;
      a1[j] += w1[i + j] * xv;
      a2[j] += w2[i + j] * xv;
      a3[j] += w3[i + j] * xv;
    }
  }
  float s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  for (int j = 0; j < 8; ++j) {
    s0 += a0[j];
    s1 += a1[j];
    s2 += a2[j];
    s3 += a3[j];
  }
  for (; i < n; ++i) {
    s0 += w0[i] * x[i];
    s1 += w1[i] * x[i];
    s2 += w2[i] * x[i];
    s3 += w3[i] * x[i];
  }
  out[0] = s0;
  out[1] = s1;
  out[2] = s2;
  out[3] = s3;
}

constexpr int64_t kRowBlock = 4;
constexpr int64_t kTokenBlock = 16;

}  // namespace

void matmul_rows(const WeightMatrix& w, const float* x, int64_t n, float* y, int64_t ldy, int64_t row_begin,
                 int64_t row_end) {
  const int64_t cols = w.cols;
  thread_local std::vector<float> converted;  // kRowBlock rows widened to float (F16/BF16)
  if (w.dtype != DType::F32 && static_cast<int64_t>(converted.size()) < kRowBlock * cols) {
    converted.resize(static_cast<size_t>(kRowBlock * cols));
  }
  for (int64_t r = row_begin; r < row_end; r += kRowBlock) {
    int64_t count = std::min(kRowBlock, row_end - r);
    const float* rows[kRowBlock];
    for (int64_t k = 0; k < kRowBlock; ++k) {
      int64_t rr = r + std::min(k, count - 1);  // pad a short block by repeating its last row
      if (w.dtype == DType::F32) {
        rows[k] = reinterpret_cast<const float*>(w.row(rr));
      } else {
        if (k < count) weight_row_to_f32(w, rr, converted.data() + k * cols);
        rows[k] = converted.data() + std::min(k, count - 1) * cols;
      }
    }
    for (int64_t t0 = 0; t0 < n; t0 += kTokenBlock) {
      int64_t t1 = std::min(n, t0 + kTokenBlock);
      for (int64_t t = t0; t < t1; ++t) {
        float out[kRowBlock];
        dot4_f32(rows[0], rows[1], rows[2], rows[3], x + t * cols, cols, out);
        for (int64_t k = 0; k < count; ++k) y[t * ldy + r + k] = out[k];
      }
    }
  }
}

void matmul(ThreadPool& pool, const WeightMatrix& w, const float* x, int64_t n, float* y, int64_t ldy) {
  if (ldy == 0) ldy = w.rows;
  // Enough rows per task that the split pays for itself (~32k multiply-adds at least).
  int64_t work_per_row = std::max<int64_t>(1, w.cols * n);
  int64_t min_rows = (32768 + work_per_row - 1) / work_per_row;
  int64_t grain_blocks = (min_rows + kRowBlock - 1) / kRowBlock;
  int64_t blocks = (w.rows + kRowBlock - 1) / kRowBlock;
  pool.parallel_for(blocks, grain_blocks, [&](int64_t b0, int64_t b1) {
    matmul_rows(w, x, n, y, ldy, b0 * kRowBlock, std::min(w.rows, b1 * kRowBlock));
  });
}

void matmul_transposed_vector(const WeightMatrix& w, const float* a, float* out) {
  const int64_t cols = w.cols;
  std::fill(out, out + cols, 0.0f);
  thread_local std::vector<float> row;
  if (static_cast<int64_t>(row.size()) < cols) row.resize(static_cast<size_t>(cols));
  for (int64_t r = 0; r < w.rows; ++r) {
    const float* wr;
    if (w.dtype == DType::F32) {
      wr = reinterpret_cast<const float*>(w.row(r));
    } else {
      weight_row_to_f32(w, r, row.data());
      wr = row.data();
    }
    const float ar = a[r];
    for (int64_t c = 0; c < cols; ++c) out[c] += ar * wr[c];
  }
}

}  // namespace dschat
