// WeightBinder over both tensor formats: the checks of require() and their messages (a missing
// tensor named with the checkpoint, a wrong shape, dtype or layout with the file), the record of
// what was bound, and finish() sorting the rest into ignored and unexpected.
#include "engine/deepseek/weight_binder.h"

#include <gtest/gtest.h>

#include <cstring>
#include <fstream>
#include <functional>

#include "engine/io/model_error.h"
#include "engine/io/pt_tensor_source.h"
#include "engine/io/safetensors_source.h"
#include "tests/engine/checkpoint_writer.h"

namespace dschat {
namespace {

using test::TempDir;

const std::filesystem::path kViewsPt = std::filesystem::path(DSCHAT_TEST_DATA_DIR) / "pt" / "views" / "model.pt";

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const ModelError& e) {
    return e.what();
  }
  return "no ModelError";
}

TEST(WeightBinder, SafetensorsMissingTensorAndWrongShapeOrDtype) {
  TempDir dir;
  test::write_safetensors(dir / "model.safetensors", {{"w", DType::F32, {2, 3}, {1, 2, 3, 4, 5, 6}},
                                                      {"v", DType::BF16, {2}, {1.5f, -2.0f}},
                                                      {"extra", DType::F32, {1}, {0}},
                                                      {"cache.inv_freq", DType::F32, {1}, {0}}});
  auto source = SafetensorsSource::open_directory(dir.path());
  ModelWeights out;
  WeightBinder b(*source, out);
  const std::string file = (dir / "model.safetensors").string();
  EXPECT_EQ(error_of([&] { b.require("nope", {2, 3}); }), file + ": tensor 'nope' is missing (expected shape [2, 3])");
  EXPECT_EQ(error_of([&] { b.matrix("w", 3, 2); }), file + ": tensor 'w' has shape [2, 3], expected [3, 2]");
  EXPECT_TRUE(out.used.empty());

  WeightMatrix w = b.matrix("w", 2, 3);
  EXPECT_EQ(w.data, source->find("w")->data);  // in place: aligned
  EXPECT_EQ(b.vector("v", 2), (std::vector<float>{1.5f, -2.0f}));
  b.matrix("w", 2, 3);  // bound twice, recorded once
  ASSERT_EQ(out.used.size(), 2u);
  EXPECT_EQ(out.used[0], source->find("w"));

  b.finish([](const std::string& name) { return name.ends_with(".inv_freq"); });
  ASSERT_EQ(out.ignored.size(), 1u);
  EXPECT_EQ(out.ignored[0]->name, "cache.inv_freq");
  EXPECT_EQ(out.warnings, std::vector<std::string>{file + ": unexpected tensor 'extra' [1] (ignored)"});
}

TEST(WeightBinder, ShardsAreNamedAsTheCheckpointWhenATensorIsMissing) {
  TempDir dir;
  test::write_safetensors(dir / "a.safetensors", {{"a", DType::F32, {1}, {1}}});
  test::write_safetensors(dir / "b.safetensors", {{"b", DType::F32, {1}, {2}}});
  std::ofstream(dir / "model.safetensors.index.json")
      << nlohmann::json{{"weight_map", {{"a", "a.safetensors"}, {"b", "b.safetensors"}}}}.dump();
  auto source = SafetensorsSource::open_directory(dir.path());
  ModelWeights out;
  WeightBinder b(*source, out);
  EXPECT_EQ(error_of([&] { b.vector("c", 1); }),
            "the checkpoint (2 shards): tensor 'c' is missing (expected shape [1])");
  EXPECT_EQ(error_of([&] { b.vector("b", 2); }),
            (dir / "b.safetensors").string() + ": tensor 'b' has shape [1], expected [2]");
}

TEST(WeightBinder, PtMissingTensorWrongShapeDtypeAndLayout) {
  PtTensorSource source(kViewsPt);
  ModelWeights out;
  WeightBinder b(source, out);
  const std::string file = kViewsPt.string();
  EXPECT_EQ(error_of([&] { b.require("nope", {6, 5}); }), file + ": tensor 'nope' is missing (expected shape [6, 5])");
  EXPECT_EQ(error_of([&] { b.matrix("base", 5, 6); }), file + ": tensor 'base' has shape [6, 5], expected [5, 6]");
  EXPECT_EQ(error_of([&] { b.matrix("double", 2, 2); }),
            file + ": tensor 'double' has dtype F64, which no kernel computes with (weights: F32, F16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q2_K, Q3_K, "
                       "Q4_K, Q5_K, Q6_K, IQ4_NL, IQ4_XS, BF16)");
  EXPECT_EQ(error_of([&] { b.matrix("transposed", 5, 6); }),
            file + ": tensor 'transposed' is not contiguous (strides [1, 5])");
  EXPECT_EQ(error_of([&] { b.shape("nope", 2); }), file + ": tensor 'nope' is missing");
  EXPECT_EQ(error_of([&] { b.shape("base", 1); }), file + ": tensor 'base' has shape [6, 5], expected rank 1");
  EXPECT_TRUE(out.used.empty());

  WeightMatrix base = b.matrix("base", 6, 5);
  WeightMatrix rows = b.matrix("rows_2_to_4", 2, 5);
  EXPECT_EQ(rows.data, base.row(2));  // views into the one storage
  WeightMatrix stacked = b.stack_rows({{rows, 1, 1}, {base, 0, 2}}, "test");
  EXPECT_EQ(std::memcmp(stacked.row(0), base.row(3), base.row_bytes()), 0);
  EXPECT_EQ(std::memcmp(stacked.row(1), base.row(0), 2 * base.row_bytes()), 0);
  WeightMatrix joined = b.join_columns({base, base});
  EXPECT_EQ(joined.cols, 10);
  EXPECT_EQ(std::memcmp(joined.row(1) + base.row_bytes(), base.row(1), base.row_bytes()), 0);
  EXPECT_EQ(out.owned.size(), 2u);

  b.finish([](const std::string& name) { return name != "half"; });
  EXPECT_EQ(out.used.size(), 2u);
  EXPECT_EQ(out.ignored.size(), source.tensors().size() - 3);
  EXPECT_EQ(out.warnings, std::vector<std::string>{file + ": unexpected tensor 'half' [3, 4] (ignored)"});
}

}  // namespace
}  // namespace dschat
