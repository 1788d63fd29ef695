// The GEMV of the block-quantized types on the levels that take one row at a time (scalar,
// AVX2): the activations are quantized once per call (prepare: Q8_0 for the 32-value types, Q8_K
// for the 256-value ones), and every output is one block dot product of block_dot.h / ggml_dot.h;
// and the table those levels make of it. Internal to kernels_scalar.cpp, kernels_avx2.cpp and
// (for the GGUF types, which have no AVX-512 kernels) kernels_avx512.cpp.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>

#include "engine/ops/row_widening.h"
#include "engine/ops/weight_kernels.h"
#include "engine/quant/ggml_quantize.h"
#include "engine/quant/quantize.h"

namespace dschat::block_gemv {

inline size_t q8_activation_bytes(int64_t cols, int64_t n) {
  return static_cast<size_t>(n * (cols / kQuantBlock)) * sizeof(BlockQ8_0);
}

inline void quantize_activations_q8_0(const float* x, int64_t cols, int64_t n, std::byte* out) {
  auto* blocks = reinterpret_cast<BlockQ8_0*>(out);
  for (int64_t t = 0; t < n; ++t) quantize_row_q8_0(x + t * cols, blocks + t * (cols / kQuantBlock), cols);
}

inline size_t q8_k_activation_bytes(int64_t cols, int64_t n) {
  return static_cast<size_t>(n * (cols / kSuperBlock)) * sizeof(BlockQ8_K);
}

inline void quantize_activations_q8_k(const float* x, int64_t cols, int64_t n, std::byte* out) {
  auto* blocks = reinterpret_cast<BlockQ8_K*>(out);
  for (int64_t t = 0; t < n; ++t) quantize_row_q8_k(x + t * cols, blocks + t * (cols / kSuperBlock), cols);
}

// y[t*ldy + r] = dot(row r, token t) for rows [r0, r1): rows in groups of four so a group's
// weights stay in L1 while every token passes over them. An activation block covers as many
// values as a weight block (Q8_0: 32, Q8_K: 256).
template <typename Block, typename Activations, float (*Dot)(const Block*, const Activations*, int64_t)>
[[gnu::always_inline]] inline void rows(const WeightMatrix& w, const PreparedActivations& x, float* y, int64_t ldy,
                                        int64_t r0, int64_t r1) {
  const int64_t blocks = w.cols / dtype_block_geometry(w.dtype).weights;
  const auto* xq = reinterpret_cast<const Activations*>(x.data);
  constexpr int64_t kRowGroup = 4;
  for (int64_t g = r0; g < r1; g += kRowGroup) {
    const int64_t g1 = std::min(r1, g + kRowGroup);
    for (int64_t t = 0; t < x.n; ++t) {
      for (int64_t r = g; r < g1; ++r) {
        y[t * ldy + r] = Dot(reinterpret_cast<const Block*>(w.row(r)), xq + t * blocks, blocks);
      }
    }
  }
}

// A GEMV over one dot product of ggml_dot.h: the GGUF types' entries in the level tables.
template <typename Block, typename Activations, float (*Dot)(const Block*, const Activations*, int64_t)>
void gemv(const WeightMatrix& w, const PreparedActivations& x, float* y, int64_t ldy, int64_t r0, int64_t r1,
          KernelScratch&) {
  rows<Block, Activations, Dot>(w, x, y, ldy, r0, r1);
}

// The table of `type` for a level built from these pieces: its float loops (GEMM of every type,
// GEMV of the float types), its Q8_0 / Q4_0 GEMVs, and `ggml_gemv(type)`, the GEMV of a GGUF
// block type (null when the level has none), all over activations quantized once per call.
inline WeightKernels level_kernels(DType type, const char* level, GemmKernel float_rows, GemvKernel float_gemv,
                                   GemvKernel q8_0_gemv, GemvKernel q4_0_gemv, GemvKernel (*ggml_gemv)(DType)) {
  WeightKernels k;
  k.type = type;
  k.level = level;
  k.block = dtype_block_geometry(type);
  k.row_to_f32 = row_widening::function_for(type);
  k.gemm = float_rows;
  switch (type) {
    case DType::F32:
    case DType::F16:
    case DType::BF16: k.gemv = float_gemv; break;
    case DType::Q8_0:
    case DType::Q4_0:
      k.prepared_bytes = q8_activation_bytes;
      k.prepare = quantize_activations_q8_0;
      k.gemv = type == DType::Q8_0 ? q8_0_gemv : q4_0_gemv;
      break;
    default:
      k.gemv = ggml_gemv(type);
      if (k.gemv == nullptr || k.row_to_f32 == nullptr) return {};
      if (k.block.weights == kSuperBlock) {
        k.prepared_bytes = q8_k_activation_bytes;
        k.prepare = quantize_activations_q8_k;
      } else {
        k.prepared_bytes = q8_activation_bytes;
        k.prepare = quantize_activations_q8_0;
      }
  }
  return k;
}

}  // namespace dschat::block_gemv
