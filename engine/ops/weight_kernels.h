// The kernels of one weight type, one table per type, filled once for the CPU's instruction set
// ("scalar", "avx2", "avx512"; cpu_features.h). The matmul driver (matmul.h) looks the table up
// by the matrix's type, prepares the activations once per call in the form the table's GEMV
// reads (Q8_0 or Q8_K blocks for the integer dot products, a permuted float copy for the AVX-512
// BF16 kernel, nothing for the float kernels), then splits the rows across threads.
// The GGUF block types (ggml_blocks.h) have scalar and AVX2 kernels; the AVX-512 level's tables
// of those types hold the AVX2 GEMV (an AVX-512 CPU runs it) and the AVX-512 float GEMM, but for
// Q4_K, Q5_K, Q6_K and Q5_0, which have an AVX-512 GEMV of their own (ggml_gemv.h).
//
// Adding a weight type: one file with its kernels for each level, registered in each level's
// table function (kernels_scalar.cpp, kernels_avx2.cpp, kernels_avx512.cpp). Each level's functions are ordinary functions compiled with a target
// attribute (no ifuncs / target_clones: their resolvers run before sanitizer run-times start).
#pragma once

#include <cstddef>
#include <cstdint>

#include "engine/ops/weight_matrix.h"
#include "engine/ops/workspace.h"

namespace dschat {

struct WeightKernels;

// Activations x [n, cols] as a GEMV of one type's kernels reads them; `data` is null when the
// kernels read the floats themselves. Valid for every weight type whose kernels share `prepare`.
struct PreparedActivations {
  const float* x = nullptr;
  int64_t n = 0;
  int64_t cols = 0;
  const std::byte* data = nullptr;
  void (*prepared_by)(const float*, int64_t, int64_t, std::byte*) = nullptr;
};

// Output contract of gemv and gemm: y[t*ldy + r] = Σ_k w[r,k]·x[t*cols + k] for t < n and rows r
// in [r0, r1). Serial; `scratch` belongs to the calling thread.
using GemvKernel = void (*)(const WeightMatrix& w, const PreparedActivations& x, float* y, int64_t ldy, int64_t r0,
                            int64_t r1, KernelScratch& scratch);
using GemmKernel = void (*)(const WeightMatrix& w, const float* x, int64_t n, float* y, int64_t ldy, int64_t r0,
                            int64_t r1, KernelScratch& scratch);

struct WeightKernels {
  DType type = DType::F32;
  const char* level = "unavailable";
  BlockGeometry block{};  // weights per block along a row, bytes per block
  // Widens one row of `cols` weights (a whole number of blocks) to float, exactly.
  void (*row_to_f32)(const std::byte* row, int64_t cols, float* out) = nullptr;
  // Types whose rows are interleaved in groups (Q4_0_X8, engine/quant/q4_0_x8.h): the rows per
  // group (1: row-major), and the widening of row `lane` of the group at `group` (row_to_f32 is
  // null for them). Their GEMV and GEMM take any row range; row slices start on a group.
  int64_t interleaved_rows = 1;
  void (*group_row_to_f32)(const std::byte* group, int64_t lane, int64_t cols, float* out) = nullptr;
  // The interleaved type this level's GEMV runs faster than this type (DType::F32 when none):
  // the load repacks matrices of this type whose rows are a multiple of its group into it.
  DType repacked = DType::F32;
  // The GEMV serves up to gemv_max_tokens tokens (decode; every count for the types whose
  // integer GEMV beats the float GEMM at prefill too), the GEMM any number (prefill).
  int64_t gemv_max_tokens = 4;
  // Bytes of prepared activations for n tokens of `cols`, and their preparation; both null when
  // the GEMV reads the floats.
  size_t (*prepared_bytes)(int64_t cols, int64_t n) = nullptr;
  void (*prepare)(const float* x, int64_t cols, int64_t n, std::byte* out) = nullptr;
  GemvKernel gemv = nullptr;
  GemmKernel gemm = nullptr;

  bool available() const { return gemm != nullptr; }
};

// The table of `type` for `level`; available() is false when the level is not compiled in or
// has no kernels for the type.
WeightKernels weight_kernels_for(const char* level, DType type);
// The table of `type` for the best level this CPU runs (DSCHAT_SIMD lowers it), chosen once.
// Only for types with kernels (F32, F16, BF16 and the block types; Q8_K, an activation form,
// has an unavailable table).
const WeightKernels& weight_kernels(DType type);

// Each level's tables (kernels_scalar.cpp, kernels_avx2.cpp, kernels_avx512.cpp).
WeightKernels scalar_weight_kernels(DType type);
#if defined(__x86_64__)
WeightKernels avx2_weight_kernels(DType type);    // AVX2 + FMA + F16C
WeightKernels avx512_weight_kernels(DType type);  // + AVX-512 F/BW/VL/VNNI
#endif

}  // namespace dschat
