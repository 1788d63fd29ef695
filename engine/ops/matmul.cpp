#include "engine/ops/matmul.h"

#include <algorithm>
#include <cstring>
#include <string>

#include "engine/ops/cpu_features.h"
#include "engine/quant/half_float.h"
#include "engine/ops/matmul_float_body.h"
#include "engine/ops/matmul_kernels.h"
#include "engine/quant/quantize.h"

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
    case DType::Q8_0:
      dequantize_row_q8_0(reinterpret_cast<const BlockQ8_0*>(p), out, w.cols);
      return;
    case DType::Q4_0:
      dequantize_row_q4_0(reinterpret_cast<const BlockQ4_0*>(p), out, w.cols);
      return;
    default:
      std::memset(out, 0, static_cast<size_t>(w.cols) * 4);  // not reachable: binding rejects other dtypes
  }
}

// The portable build of the float loops (SSE2 on x86-64).
MatmulKernels matmul_kernels_scalar() {
  MatmulKernels k;
  k.name = "scalar";
  k.dot_f32 = [](const float* a, const float* b, int64_t n) { return float_body::dot_f32(a, b, n); };
  k.rows = [](const WeightMatrix& w, const float* x, int64_t n, float* y, int64_t ldy, int64_t r0, int64_t r1) {
    float_body::rows(w, x, n, y, ldy, r0, r1);
  };
  k.transposed_vector = [](const WeightMatrix& w, const float* a, float* out) {
    float_body::transposed_vector(w, a, out);
  };
  k.softmax = [](float* v, int64_t n) { float_body::softmax(v, n); };
  k.silu_mul = [](float* g, const float* u, int64_t n) { float_body::silu_mul(g, u, n); };
  return k;
}

MatmulKernels matmul_kernels_for(const char* level) {
  const std::string l = level;
#if defined(__x86_64__)
  if (l == "avx512") return matmul_kernels_avx512();
  if (l == "avx2") return matmul_kernels_avx2();
#endif
  if (l == "scalar") return matmul_kernels_scalar();
  return {};
}

const MatmulKernels& matmul_kernels() {
  static const MatmulKernels kernels = matmul_kernels_for(simd_level().c_str());
  return kernels;
}

float dot_f32(const float* a, const float* b, int64_t n) { return matmul_kernels().dot_f32(a, b, n); }

void silu_mul(float* g, const float* u, int64_t n) { matmul_kernels().silu_mul(g, u, n); }

void matmul_rows(const WeightMatrix& w, const float* x, int64_t n, float* y, int64_t ldy, int64_t row_begin,
                 int64_t row_end) {
  matmul_kernels().rows(w, x, n, y, ldy, row_begin, row_end);
}

void matmul(ThreadPool& pool, const WeightMatrix& w, const float* x, int64_t n, float* y, int64_t ldy) {
  if (ldy == 0) ldy = w.rows;
  constexpr int64_t kRowBlock = float_body::kRowBlock;
  // Enough rows per task that the split pays for itself (~32k multiply-adds at least).
  int64_t work_per_row = std::max<int64_t>(1, w.cols * n);
  int64_t min_rows = (32768 + work_per_row - 1) / work_per_row;
  int64_t grain_blocks = (min_rows + kRowBlock - 1) / kRowBlock;
  int64_t blocks = (w.rows + kRowBlock - 1) / kRowBlock;
  const MatmulKernels& k = matmul_kernels();
  pool.parallel_for(blocks, grain_blocks, [&](int64_t b0, int64_t b1) {
    k.rows(w, x, n, y, ldy, b0 * kRowBlock, std::min(w.rows, b1 * kRowBlock));
  });
}

void matmul_transposed_vector(const WeightMatrix& w, const float* a, float* out) {
  matmul_kernels().transposed_vector(w, a, out);
}

}  // namespace dschat
