#include "engine/quant/dtype.h"

namespace dschat {

size_t dtype_size(DType dtype) {
  switch (dtype) {
    case DType::F64:
    case DType::I64: return 8;
    case DType::F32:
    case DType::I32: return 4;
    case DType::F16:
    case DType::BF16:
    case DType::I16: return 2;
    case DType::I8:
    case DType::U8:
    case DType::Bool:
    case DType::F8_E4M3:
    case DType::F8_E5M2: return 1;
    case DType::Q8_0: return 34;
    case DType::Q4_0: return 18;
  }
  return 1;
}

BlockGeometry dtype_block_geometry(DType dtype) {
  switch (dtype) {
    case DType::Q8_0: return {32, 34};
    case DType::Q4_0: return {32, 18};
    default: return {1, dtype_size(dtype)};
  }
}

bool dtype_is_block(DType dtype) { return dtype_block_geometry(dtype).weights > 1; }

size_t dtype_block_bytes(DType dtype) { return dtype_block_geometry(dtype).bytes; }

const char* dtype_name(DType dtype) {
  switch (dtype) {
    case DType::F32: return "F32";
    case DType::F16: return "F16";
    case DType::BF16: return "BF16";
    case DType::F64: return "F64";
    case DType::I64: return "I64";
    case DType::I32: return "I32";
    case DType::I16: return "I16";
    case DType::I8: return "I8";
    case DType::U8: return "U8";
    case DType::Bool: return "BOOL";
    case DType::F8_E4M3: return "F8_E4M3";
    case DType::F8_E5M2: return "F8_E5M2";
    case DType::Q8_0: return "Q8_0";
    case DType::Q4_0: return "Q4_0";
  }
  return "?";
}

std::optional<DType> dtype_from_name(const std::string& name) {
  for (DType d : {DType::F32, DType::F16, DType::BF16, DType::F64, DType::I64, DType::I32, DType::I16,
                  DType::I8, DType::U8, DType::Bool, DType::F8_E4M3, DType::F8_E5M2}) {
    if (name == dtype_name(d)) return d;
  }
  return std::nullopt;
}

bool dtype_is_weight(DType dtype) {
  return dtype == DType::F32 || dtype == DType::F16 || dtype == DType::BF16;
}

}  // namespace dschat
