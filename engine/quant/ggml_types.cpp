#include "engine/quant/ggml_types.h"

#include <array>

namespace dschat {
namespace {

constexpr int64_t kQK_K = 256;  // super-block of the K-quants and most IQ types

// {id, name, {values per block, bytes per block}, dtype}
const std::array<GgmlType, 35> kTypes = {{
    {0, "F32", {1, 4}, DType::F32},
    {1, "F16", {1, 2}, DType::F16},
    {2, "Q4_0", {32, 2 + 16}, DType::Q4_0},
    {3, "Q4_1", {32, 2 + 2 + 16}, DType::Q4_1},
    {6, "Q5_0", {32, 2 + 4 + 16}, DType::Q5_0},
    {7, "Q5_1", {32, 2 + 2 + 4 + 16}, DType::Q5_1},
    {8, "Q8_0", {32, 2 + 32}, DType::Q8_0},
    {9, "Q8_1", {32, 4 + 4 + 32}, std::nullopt},
    {10, "Q2_K", {kQK_K, 2 + 2 + kQK_K / 16 + kQK_K / 4}, DType::Q2_K},
    {11, "Q3_K", {kQK_K, 2 + kQK_K / 4 + kQK_K / 8 + 12}, DType::Q3_K},
    {12, "Q4_K", {kQK_K, 2 + 2 + kQK_K / 2 + 12}, DType::Q4_K},
    {13, "Q5_K", {kQK_K, 2 + 2 + kQK_K / 2 + kQK_K / 8 + 12}, DType::Q5_K},
    {14, "Q6_K", {kQK_K, 2 + kQK_K / 2 + kQK_K / 4 + kQK_K / 16}, DType::Q6_K},
    {15, "Q8_K", {kQK_K, 4 + kQK_K + kQK_K / 8}, std::nullopt},
    {16, "IQ2_XXS", {kQK_K, 2 + kQK_K / 4}, std::nullopt},
    {17, "IQ2_XS", {kQK_K, 2 + kQK_K / 4 + kQK_K / 32}, std::nullopt},
    {18, "IQ3_XXS", {kQK_K, 2 + kQK_K / 4 + kQK_K / 8}, std::nullopt},
    {19, "IQ1_S", {kQK_K, 2 + kQK_K / 8 + kQK_K / 16}, std::nullopt},
    {20, "IQ4_NL", {32, 2 + 16}, DType::IQ4_NL},
    {21, "IQ3_S", {kQK_K, 2 + kQK_K / 4 + kQK_K / 8 + kQK_K / 32 + 4}, std::nullopt},
    {22, "IQ2_S", {kQK_K, 2 + kQK_K / 4 + kQK_K / 16}, std::nullopt},
    {23, "IQ4_XS", {kQK_K, 2 + 2 + kQK_K / 2 + kQK_K / 64}, DType::IQ4_XS},
    {24, "I8", {1, 1}, DType::I8},
    {25, "I16", {1, 2}, DType::I16},
    {26, "I32", {1, 4}, DType::I32},
    {27, "I64", {1, 8}, DType::I64},
    {28, "F64", {1, 8}, DType::F64},
    {29, "IQ1_M", {kQK_K, kQK_K / 8 + kQK_K / 16 + kQK_K / 32}, std::nullopt},
    {30, "BF16", {1, 2}, DType::BF16},
    {34, "TQ1_0", {kQK_K, 2 + 4 * 13}, std::nullopt},
    {35, "TQ2_0", {kQK_K, 2 + 64}, std::nullopt},
    {39, "MXFP4", {32, 1 + 16}, std::nullopt},
    {40, "NVFP4", {64, 4 + 32}, std::nullopt},
    {41, "Q1_0", {128, 2 + 16}, std::nullopt},
    {42, "Q2_0", {64, 2 + 16}, std::nullopt},
}};

}  // namespace

const GgmlType* ggml_type(uint32_t id) {
  for (const GgmlType& t : kTypes) {
    if (t.id == id) return &t;
  }
  return nullptr;
}

std::optional<uint32_t> ggml_type_id(DType dtype) {
  for (const GgmlType& t : kTypes) {
    if (t.dtype == dtype) return t.id;
  }
  return std::nullopt;
}

}  // namespace dschat
