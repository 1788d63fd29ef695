// Element types of weights and checkpoint tensors: sizes, names, and which are block types.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

namespace dschat {

// Storage types a checkpoint may hold. The plain types are safetensors' (dtype_from_name); the
// block types from Q8_0 on are ggml's, read from GGUF files or made at load (--type q8_0/q4_0,
// quantize.h); their layouts are quantize.h (Q8_0, Q4_0) and ggml_blocks.h (the others). Q8_K is
// the activation type of the 256-value types' dot products. The kernels have tables for F32,
// F16, BF16 and the block types but Q8_K (weight_kernels.h); safetensors' other types are
// recognised (so files validate) but rejected when bound as weights.
// Q4_0_X8 is Q4_0 with rows interleaved by eight for the GEMV (q4_0_x8.h), a layout made at load.
// New values go at the end: the enum indexes the kernel tables (weight_kernels.cpp).
enum class DType { F32, F16, BF16, F64, I64, I32, I16, I8, U8, Bool, F8_E4M3, F8_E5M2,
                   Q8_0, Q4_0,
                   Q4_K, Q5_K, Q6_K, Q4_1, Q5_0, Q5_1, Q2_K, Q3_K, IQ4_NL, IQ4_XS, Q8_K,
                   Q4_0_X8 };
inline constexpr DType kLastDType = DType::Q4_0_X8;

// How a row of a type is laid out: `weights` consecutive values stored in `bytes` bytes (a plain
// element type is a block of 1; Q8_0 34 bytes per 32 values, Q4_0 18, Q4_K 144 per 256, ...).
// Rows hold whole blocks.
struct BlockGeometry {
  int64_t weights = 1;
  size_t bytes = 4;
};
BlockGeometry dtype_block_geometry(DType dtype);
bool dtype_is_block(DType dtype);                       // more than one value per block (Q8_0 on)
size_t dtype_block_bytes(DType dtype);                  // dtype_block_geometry(dtype).bytes

size_t dtype_size(DType dtype);                         // bytes per element (per block for block types)
const char* dtype_name(DType dtype);                    // safetensors / ggml spelling: "BF16", "Q4_K"
std::optional<DType> dtype_from_name(const std::string& name);  // safetensors' types only
bool dtype_is_weight(DType dtype);                      // F32, F16 or BF16
// Rows per interleaved group (Q4_0_X8: 8), 1 for the row-major types.
int64_t dtype_interleaved_rows(DType dtype);

}  // namespace dschat
