// Element types of weights and checkpoint tensors: sizes, names, and which are block types.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

namespace dschat {

// Storage types a checkpoint may hold. The kernels compute with F32, F16 and BF16 weights;
// the others are recognised (so files validate) but rejected when bound as weights.
enum class DType { F32, F16, BF16, F64, I64, I32, I16, I8, U8, Bool, F8_E4M3, F8_E5M2,
                   Q8_0, Q4_0 };  // the last two: block types made at load (quantize.h), never in files

// How a row of a type is laid out: `weights` consecutive values stored in `bytes` bytes (a plain
// element type is a block of 1; Q8_0 34 bytes per 32 values, Q4_0 18). Rows hold whole blocks.
struct BlockGeometry {
  int64_t weights = 1;
  size_t bytes = 4;
};
BlockGeometry dtype_block_geometry(DType dtype);
bool dtype_is_block(DType dtype);                       // more than one value per block (Q8_0 / Q4_0)
size_t dtype_block_bytes(DType dtype);                  // dtype_block_geometry(dtype).bytes

size_t dtype_size(DType dtype);                         // bytes per element (per block for block types)
const char* dtype_name(DType dtype);                    // safetensors spelling: "BF16"
std::optional<DType> dtype_from_name(const std::string& name);
bool dtype_is_weight(DType dtype);                      // F32, F16 or BF16

}  // namespace dschat
