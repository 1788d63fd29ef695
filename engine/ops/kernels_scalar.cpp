// The portable level ("scalar": SSE2 on x86-64): the float loops of matmul_float_body.h compiled
// without a target attribute, the reference block dot products of block_dot.h and ggml_dot.h,
// and the exact row widening every level shares (row_widening.h).
#include "engine/ops/block_dot.h"
#include "engine/ops/block_gemv.h"
#include "engine/ops/fp8_kernels.h"
#include "engine/ops/ggml_dot.h"
#include "engine/ops/matmul_float_body.h"
#include "engine/ops/q4_0_x8_kernels.h"
#include "engine/ops/row_products_body.h"
#include "engine/ops/vector_kernels.h"
#include "engine/ops/weight_kernels.h"

namespace dschat {
namespace {

void float_rows(const WeightMatrix& w, const float* x, int64_t n, float* y, int64_t ldy, int64_t r0, int64_t r1,
                KernelScratch& scratch) {
  float_body::rows(w, x, n, y, ldy, r0, r1, scratch);
}

void float_gemv(const WeightMatrix& w, const PreparedActivations& x, float* y, int64_t ldy, int64_t r0, int64_t r1,
                KernelScratch& scratch) {
  float_body::rows(w, x.x, x.n, y, ldy, r0, r1, scratch);
}

void q8_0_gemv(const WeightMatrix& w, const PreparedActivations& x, float* y, int64_t ldy, int64_t r0, int64_t r1,
               KernelScratch&) {
  block_gemv::rows<BlockQ8_0, BlockQ8_0, dot_q8_0_q8_0_scalar>(w, x, y, ldy, r0, r1);
}

void q4_0_gemv(const WeightMatrix& w, const PreparedActivations& x, float* y, int64_t ldy, int64_t r0, int64_t r1,
               KernelScratch&) {
  block_gemv::rows<BlockQ4_0, BlockQ8_0, dot_q4_0_q8_0_scalar>(w, x, y, ldy, r0, r1);
}

// The GEMVs of the GGUF block types (ggml_dot.h).
GemvKernel ggml_gemv(DType type) {
  switch (type) {
    case DType::Q4_1: return block_gemv::gemv<BlockQ4_1, BlockQ8_0, dot_q4_1_q8_0_scalar>;
    case DType::Q5_0: return block_gemv::gemv<BlockQ5_0, BlockQ8_0, dot_q5_0_q8_0_scalar>;
    case DType::Q5_1: return block_gemv::gemv<BlockQ5_1, BlockQ8_0, dot_q5_1_q8_0_scalar>;
    case DType::IQ4_NL: return block_gemv::gemv<BlockIQ4_NL, BlockQ8_0, dot_iq4_nl_q8_0_scalar>;
    case DType::Q2_K: return block_gemv::gemv<BlockQ2_K, BlockQ8_K, dot_q2_k_q8_k_scalar>;
    case DType::Q3_K: return block_gemv::gemv<BlockQ3_K, BlockQ8_K, dot_q3_k_q8_k_scalar>;
    case DType::Q4_K: return block_gemv::gemv<BlockQ4_K, BlockQ8_K, dot_q4_k_q8_k_scalar>;
    case DType::Q5_K: return block_gemv::gemv<BlockQ5_K, BlockQ8_K, dot_q5_k_q8_k_scalar>;
    case DType::Q6_K: return block_gemv::gemv<BlockQ6_K, BlockQ8_K, dot_q6_k_q8_k_scalar>;
    case DType::IQ4_XS: return block_gemv::gemv<BlockIQ4_XS, BlockQ8_K, dot_iq4_xs_q8_k_scalar>;
    default: return nullptr;
  }
}

}  // namespace

WeightKernels scalar_weight_kernels(DType type) {
  if (type == DType::F8_E4M3) return fp8_weight_kernels("scalar", fp8_gemv_scalar, float_rows, fp8_row_to_f32_scalar);
  if (type == DType::Q4_0_X8) return q4_0_x8_weight_kernels("scalar", q4_0_x8_gemv_scalar, float_rows, q4_0_x8_row_to_f32_scalar);
  return block_gemv::level_kernels(type, "scalar", float_rows, float_gemv, q8_0_gemv, q4_0_gemv, ggml_gemv);
}

VectorKernels scalar_vector_kernels() {
  VectorKernels k;
  k.name = "scalar";
  k.dot_f32 = [](const float* a, const float* b, int64_t n) { return float_body::dot_f32(a, b, n); };
  k.softmax = [](float* v, int64_t n) { float_body::softmax(v, n); };
  k.silu_mul = [](float* g, const float* u, int64_t n) { float_body::silu_mul(g, u, n); };
  k.axpy = [](float a, const float* x, float* y, int64_t n) { float_body::axpy(a, x, y, n); };
  k.row_dots = [](const float* a, int64_t lda, int64_t m, const float* b, int64_t ldb, int64_t n, int64_t kk,
                  float* c, int64_t ldc) { row_products::row_dots<8, 2, 2>(a, lda, m, b, ldb, n, kk, c, ldc); };
  k.weighted_row_sums = [](const float* p, int64_t ldp, int64_t m, const float* b, int64_t ldb, int64_t n, int64_t kk,
                           float* c, int64_t ldc) {
    row_products::weighted_row_sums<8, 2, 2>(p, ldp, m, b, ldb, n, kk, c, ldc);
  };
  return k;
}

}  // namespace dschat
