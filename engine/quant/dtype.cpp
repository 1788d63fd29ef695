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
    case DType::Q8_0:
    case DType::Q4_0:
    case DType::Q4_K:
    case DType::Q5_K:
    case DType::Q6_K:
    case DType::Q4_1:
    case DType::Q5_0:
    case DType::Q5_1:
    case DType::Q2_K:
    case DType::Q3_K:
    case DType::IQ4_NL:
    case DType::IQ4_XS:
    case DType::Q8_K:
    case DType::Q4_0_X8:
      return dtype_block_geometry(dtype).bytes;
  }
  return 1;
}

BlockGeometry dtype_block_geometry(DType dtype) {
  switch (dtype) {
    case DType::Q8_0: return {32, 34};
    case DType::Q4_0: return {32, 18};
    case DType::Q4_K: return {256, 144};
    case DType::Q5_K: return {256, 176};
    case DType::Q6_K: return {256, 210};
    case DType::Q4_1: return {32, 20};
    case DType::Q5_0: return {32, 22};
    case DType::Q5_1: return {32, 24};
    case DType::Q2_K: return {256, 84};
    case DType::Q3_K: return {256, 110};
    case DType::IQ4_NL: return {32, 18};
    case DType::IQ4_XS: return {256, 136};
    case DType::Q8_K: return {256, 292};
    case DType::Q4_0_X8: return {32, 18};  // per row: the group's bytes / 8
    // ggml_blocks.h / quantize.h static_assert these sizes
    default: return {1, dtype_size(dtype)};  // a plain type
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
    case DType::Q4_K: return "Q4_K";
    case DType::Q5_K: return "Q5_K";
    case DType::Q6_K: return "Q6_K";
    case DType::Q4_1: return "Q4_1";
    case DType::Q5_0: return "Q5_0";
    case DType::Q5_1: return "Q5_1";
    case DType::Q2_K: return "Q2_K";
    case DType::Q3_K: return "Q3_K";
    case DType::IQ4_NL: return "IQ4_NL";
    case DType::IQ4_XS: return "IQ4_XS";
    case DType::Q8_K: return "Q8_K";
    case DType::Q4_0_X8: return "Q4_0";  // Q4_0 as the file holds it, rows interleaved at load
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

int64_t dtype_interleaved_rows(DType dtype) { return dtype == DType::Q4_0_X8 ? 8 : 1; }

}  // namespace dschat
