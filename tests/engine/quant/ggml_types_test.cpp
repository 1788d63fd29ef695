// The ggml type table against dschat's own block layouts (engine/quant/ggml_blocks.h via dtype.h):
// the GGUF reader sizes tensors by the table, the kernels walk rows by the DType, so the two must
// agree for every type that maps to a DType.
#include "engine/quant/ggml_types.h"

#include <gtest/gtest.h>

#include <string>

namespace dschat {
namespace {

TEST(GgmlTypes, EveryMappedTypeHasTheGeometryAndNameOfItsDType) {
  int mapped = 0;
  for (uint32_t id = 0; id < 64; ++id) {
    const GgmlType* t = ggml_type(id);
    if (!t || !t->dtype) continue;
    ++mapped;
    const BlockGeometry g = dtype_block_geometry(*t->dtype);
    EXPECT_EQ(g.weights, t->block.weights) << t->name;
    EXPECT_EQ(g.bytes, t->block.bytes) << t->name;
    EXPECT_EQ(std::string(dtype_name(*t->dtype)), t->name) << "id " << id;
    EXPECT_EQ(ggml_type_id(*t->dtype), id) << t->name;
  }
  // F32 F16 BF16 F64 I8 I16 I32 I64, Q8_0 Q4_0 Q4_1 Q5_0 Q5_1, Q2_K..Q6_K, IQ4_NL, IQ4_XS
  // (Q8_K is dschat's activation type only: no file holds weights in it).
  EXPECT_EQ(mapped, 8 + 5 + 5 + 2);
}

}  // namespace
}  // namespace dschat
