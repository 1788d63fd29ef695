// ggml's tensor type ids (the `type` of a GGUF tensor info): name, block geometry along a row, and
// the DType dschat computes with when it has one. Facts from ggml/include/ggml.h (ids) and
// gguf-py/gguf/constants.py GGML_QUANT_SIZES (geometry). Every id ggml has ever written to a file
// is listed, so a type dschat has no kernels for is an error naming it ("IQ2_XXS"), not "type 16".
// A new weight type is one `dtype` filled in here (and its kernels in engine/ops).
#pragma once

#include <cstdint>
#include <optional>

#include "engine/quant/dtype.h"

namespace dschat {

struct GgmlType {
  uint32_t id = 0;
  const char* name = "";
  BlockGeometry block{};        // values per block along a row (ne[0]), bytes per block
  std::optional<DType> dtype;   // empty: dschat cannot read tensors of this type
};

// The type of ggml id `id`; nullptr for an id ggml never assigned or has removed (4, 5, 31-33, 36-38).
const GgmlType* ggml_type(uint32_t id);
// The ggml id of a DType that has one (F32, F16, BF16, Q8_0, Q4_0, ...), else nullopt.
std::optional<uint32_t> ggml_type_id(DType dtype);

}  // namespace dschat
