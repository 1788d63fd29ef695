// The GGUF block types widen to float bit-identically to gguf-py's numpy dequantization: golden
// files tests/data/quant/<TYPE>.bin made by tools/make_ggml_quant_goldens.py (random valid
// blocks, fp16 scales of both signs, a subnormal and a zero among them). Checked through every
// level's table the CPU runs: the scalar widening (engine/quant/ggml_dequantize.cpp) and the
// AVX2 one of the K-quants (engine/ops/ggml_widen_avx2.cpp).
#include <gtest/gtest.h>

#include <cstring>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "engine/ops/cpu_features.h"
#include "engine/ops/weight_kernels.h"
#include "engine/quant/dtype.h"
#include "engine/quant/ggml_dequantize.h"

namespace dschat {
namespace {

struct Golden {
  uint32_t ggml_type = 0, rows = 0, cols = 0, row_bytes = 0;
  std::vector<std::byte> blocks;
  std::vector<float> values;
};

Golden read_golden(const std::string& name) {
  const std::string path = std::string(DSCHAT_TEST_DATA_DIR) + "/quant/" + name + ".bin";
  std::ifstream in(path, std::ios::binary);
  std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  Golden g;
  if (bytes.size() < 20 || std::memcmp(bytes.data(), "DQG1", 4) != 0) {
    ADD_FAILURE() << path << ": missing or not a DQG1 file";
    return g;
  }
  std::memcpy(&g.ggml_type, bytes.data() + 4, 16);  // four little-endian uint32 (x86-64)
  const size_t block_bytes = size_t{g.rows} * g.row_bytes, value_bytes = size_t{g.rows} * g.cols * sizeof(float);
  if (bytes.size() != 20 + block_bytes + value_bytes) {
    ADD_FAILURE() << path << ": size does not match its header";
    return g;
  }
  g.blocks.resize(block_bytes);
  g.values.resize(size_t{g.rows} * g.cols);
  std::memcpy(g.blocks.data(), bytes.data() + 20, block_bytes);
  std::memcpy(g.values.data(), bytes.data() + 20 + block_bytes, value_bytes);
  return g;
}

// ggml's type ids (ggml.h), to check each file holds the type its name says.
struct Case {
  DType type;
  uint32_t ggml_id;
};
const Case kCases[] = {{DType::Q4_1, 3},  {DType::Q5_0, 6},  {DType::Q5_1, 7},   {DType::Q2_K, 10},
                       {DType::Q3_K, 11}, {DType::Q4_K, 12}, {DType::Q5_K, 13},  {DType::Q6_K, 14},
                       {DType::IQ4_NL, 20}, {DType::IQ4_XS, 23}};

TEST(GgmlDequantize, EveryValueBitIdenticalToGgufPy) {
  for (const Case& c : kCases) {
    const Golden g = read_golden(dtype_name(c.type));
    ASSERT_EQ(g.ggml_type, c.ggml_id) << dtype_name(c.type);
    const WeightMatrix m{c.type, g.rows, g.cols, g.blocks.data()};
    ASSERT_EQ(m.row_bytes(), g.row_bytes) << dtype_name(c.type) << ": geometry disagrees with ggml";
    for (const char* level : {"scalar", "avx2", "avx512"}) {
      const WeightKernels k = weight_kernels_for(level, c.type);
      ASSERT_TRUE(k.available()) << level << " " << dtype_name(c.type);
      // The AVX2 level widens K-quants with AVX2 code (the AVX-512 table shares it).
      if (std::string(level) != "scalar" && !cpu_features().has_avx2_level()) continue;
      std::vector<float> out(g.cols);
      for (uint32_t r = 0; r < g.rows; ++r) {
        k.row_to_f32(m.row(r), g.cols, out.data());
        for (uint32_t i = 0; i < g.cols; ++i) {
          uint32_t got, want;
          std::memcpy(&got, &out[i], 4);
          std::memcpy(&want, &g.values[size_t{r} * g.cols + i], 4);
          ASSERT_EQ(got, want) << level << " " << dtype_name(c.type) << " row " << r << " value " << i << ": "
                               << out[i] << " vs " << g.values[size_t{r} * g.cols + i];
        }
      }
    }
  }
}

TEST(GgmlDequantize, GeometryIsGgmls) {
  // Values and bytes per block from ggml-common.h.
  EXPECT_EQ(dtype_block_geometry(DType::Q4_K).weights, 256);
  EXPECT_EQ(dtype_block_bytes(DType::Q4_K), 144u);
  EXPECT_EQ(dtype_block_bytes(DType::Q5_K), 176u);
  EXPECT_EQ(dtype_block_bytes(DType::Q6_K), 210u);
  EXPECT_EQ(dtype_block_bytes(DType::Q2_K), 84u);
  EXPECT_EQ(dtype_block_bytes(DType::Q3_K), 110u);
  EXPECT_EQ(dtype_block_bytes(DType::IQ4_XS), 136u);
  EXPECT_EQ(dtype_block_bytes(DType::Q8_K), 292u);
  EXPECT_EQ(dtype_block_geometry(DType::Q5_1).weights, 32);
  EXPECT_EQ(dtype_block_bytes(DType::Q4_1), 20u);
  EXPECT_EQ(dtype_block_bytes(DType::Q5_0), 22u);
  EXPECT_EQ(dtype_block_bytes(DType::Q5_1), 24u);
  EXPECT_EQ(dtype_block_bytes(DType::IQ4_NL), 18u);
  for (const Case& c : kCases) EXPECT_TRUE(dtype_is_block(c.type)) << dtype_name(c.type);
  EXPECT_STREQ(dtype_name(DType::IQ4_XS), "IQ4_XS");
  EXPECT_FALSE(dtype_from_name("Q4_K").has_value());  // not a safetensors type
  EXPECT_FALSE(weight_kernels_for("scalar", DType::Q8_K).available());  // activations only
}

}  // namespace
}  // namespace dschat
