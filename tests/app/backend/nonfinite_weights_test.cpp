// NaN and Inf weights are a WARNING when the model loads (engine/deepseek/nonfinite_weights.h): exact counts
// per float format, the sampling of large tensors in big models, and LoadedModel::load on a
// model directory with a poisoned tensor.
#include <gtest/gtest.h>

#include <cstring>
#include <limits>

#include "app/backend/loaded_model.h"
#include "engine/deepseek/nonfinite_weights.h"
#include "tests/app/test_model_dir.h"

namespace dschat {
namespace {

template <typename T>
std::vector<std::byte> bytes_of(const std::vector<T>& values) {
  std::vector<std::byte> out(values.size() * sizeof(T));
  std::memcpy(out.data(), values.data(), out.size());
  return out;
}

bool any_mentions(const std::vector<std::string>& lines, const std::string& text) {
  for (const std::string& line : lines)
    if (line.find(text) != std::string::npos) return true;
  return false;
}

TEST(NonFiniteWeights, CountsNanAndInfinityInEveryFloatFormat) {
  const float nan = std::numeric_limits<float>::quiet_NaN(), inf = std::numeric_limits<float>::infinity();
  const std::vector<float> f32 = {0.0f, -0.0f, 1.0f, nan, -nan, inf, -inf, std::numeric_limits<float>::max(),
                                  -std::numeric_limits<float>::max(), std::numeric_limits<float>::denorm_min(),
                                  std::numeric_limits<float>::signaling_NaN()};
  auto b = bytes_of(f32);
  NonFiniteCount c = count_nonfinite(DType::F32, b.data(), b.size());
  EXPECT_EQ(c.nan, 3u);
  EXPECT_EQ(c.inf, 2u);
  EXPECT_EQ(c.checked, f32.size());

  const std::vector<double> f64 = {1.0, std::numeric_limits<double>::quiet_NaN(), -std::numeric_limits<double>::infinity(),
                                   std::numeric_limits<double>::max()};
  b = bytes_of(f64);
  c = count_nonfinite(DType::F64, b.data(), b.size());
  EXPECT_EQ(c.nan, 1u);
  EXPECT_EQ(c.inf, 1u);

  // IEEE half: exponent 0x7C00 (65504 = 0x7BFF is the largest finite). bfloat16: the top half of
  // a float (0x7F7F is the largest finite).
  const std::vector<uint16_t> f16 = {0x3C00, 0x7BFF, 0xFBFF, 0x7C00, 0xFC00, 0x7E00, 0x7C01, 0xFE00, 0x0001};
  b = bytes_of(f16);
  c = count_nonfinite(DType::F16, b.data(), b.size());
  EXPECT_EQ(c.nan, 3u);
  EXPECT_EQ(c.inf, 2u);
  const std::vector<uint16_t> bf16 = {0x3F80, 0x7F7F, 0xFF7F, 0x7F80, 0xFF80, 0x7FC0, 0x7F81, 0x0001};
  b = bytes_of(bf16);
  c = count_nonfinite(DType::BF16, b.data(), b.size());
  EXPECT_EQ(c.nan, 2u);
  EXPECT_EQ(c.inf, 2u);

  // Integer tensors are not weights: nothing counted even when their bits look like NaN.
  c = count_nonfinite(DType::I32, b.data(), 8);
  EXPECT_EQ(c.checked, 0u);
  // Unaligned data is fine.
  std::vector<std::byte> shifted(1 + 4 * 3);
  const float three[3] = {1.0f, nan, 2.0f};
  std::memcpy(shifted.data() + 1, three, sizeof three);
  EXPECT_EQ(count_nonfinite(DType::F32, shifted.data() + 1, 12).nan, 1u);
}

// Above the full-scan budget the small tensors are scanned whole and the large ones sampled: a
// NaN in a sampled block (the first) of a large tensor and one anywhere in a small tensor are
// found while less than everything is read; within the budget every value is read.
TEST(NonFiniteWeights, BigModelsScanSmallTensorsWholeAndSampleLargeOnes) {
  const size_t large_floats = 2 * kSmallTensorBytes / sizeof(float);  // 8 MiB
  std::vector<float> large(large_floats, 0.5f), clean(large_floats, 0.5f), small(1000, 1.0f);
  large[7] = std::numeric_limits<float>::quiet_NaN();
  small[999] = -std::numeric_limits<float>::infinity();
  auto tensor = [](const char* name, const std::vector<float>& v) {
    return ScannedTensor{name, "model.safetensors", DType::F32, reinterpret_cast<const std::byte*>(v.data()),
                         v.size() * sizeof(float)};
  };
  const std::vector<ScannedTensor> tensors = {tensor("large", large), tensor("clean", clean), tensor("norm", small)};
  const uint64_t total = (2 * large_floats + small.size()) * sizeof(float);

  NonFiniteReport sampled = scan_for_nonfinite(tensors, /*full_scan_bytes=*/1 << 20);
  EXPECT_EQ(sampled.bytes_total, total);
  EXPECT_LT(sampled.bytes_scanned, total / 4);
  EXPECT_GT(sampled.bytes_scanned, small.size() * sizeof(float));
  ASSERT_EQ(sampled.warnings.size(), 2u);
  EXPECT_TRUE(any_mentions(sampled.warnings, "tensor 'large' holds 1 NaN value"));
  EXPECT_TRUE(any_mentions(sampled.warnings, "tensor 'norm' holds 1 infinite value (of 1000 checked)"));
  EXPECT_TRUE(any_mentions(sampled.warnings, "model.safetensors"));

  NonFiniteReport full = scan_for_nonfinite(tensors);
  EXPECT_EQ(full.bytes_scanned, total);
  EXPECT_TRUE(any_mentions(full.warnings, "tensor 'large' holds 1 NaN value (of 2097152 checked)"));
}

TEST(NonFiniteWeights, ManyDamagedTensorsAreListedUpToFiveThenCounted) {
  std::vector<std::vector<float>> storage(8, std::vector<float>(4, std::numeric_limits<float>::infinity()));
  std::vector<ScannedTensor> tensors;
  for (size_t i = 0; i < storage.size(); ++i) {
    std::string name = "t";  // not "t" + ...: GCC 12 warns (-Wrestrict) on that
    name += std::to_string(i);
    tensors.push_back({name, "f", DType::F32, reinterpret_cast<const std::byte*>(storage[i].data()), 16});
  }
  NonFiniteReport report = scan_for_nonfinite(tensors);
  ASSERT_EQ(report.warnings.size(), 6u);
  EXPECT_NE(report.warnings[5].find("3 more tensors"), std::string::npos) << report.warnings[5];
}

TEST(NonFiniteWeights, LoadingAModelWithNanWeightsWarnsAndACleanOneDoesNot) {
  test::TempDir clean_dir, bad_dir;
  test::write_chat_model(clean_dir.path());
  auto clean = LoadedModel::load(clean_dir.path());
  EXPECT_TRUE(clean->warnings.empty()) << clean->warnings.front();

  test::write_chat_model(bad_dir.path());
  auto tensors = test::random_model_tensors(test::chat_model_config(), {});
  const std::string poisoned = "model.layers.1.post_attention_layernorm.weight";
  bool found = false;
  for (auto& t : tensors) {
    if (t.name != poisoned) continue;
    t.values[3] = std::numeric_limits<float>::quiet_NaN();
    t.values[5] = std::numeric_limits<float>::infinity();
    found = true;
  }
  ASSERT_TRUE(found);
  test::write_safetensors(bad_dir / "model.safetensors", tensors);
  auto bad = LoadedModel::load(bad_dir.path());
  ASSERT_EQ(bad->warnings.size(), 1u);
  const std::string& w = bad->warnings[0];
  EXPECT_EQ(w.rfind("WARNING: ", 0), 0u) << w;
  EXPECT_NE(w.find(poisoned), std::string::npos) << w;
  EXPECT_NE(w.find("1 NaN and 1 infinite values"), std::string::npos) << w;
  EXPECT_NE(w.find("model.safetensors"), std::string::npos) << w;
}

// The multi-token-prediction layer (model.layers.{num_hidden_layers}) is not used by the engine:
// the load-time scan leaves it out (reading it would only page it in), a scan of every tensor
// does not.
TEST(NonFiniteWeights, TheUnusedMultiTokenPredictionLayerIsNotScannedAtLoad) {
  test::TempDir dir;
  test::write_chat_model(dir.path());
  test::RandomModelOptions options;
  options.with_mtp_layer = true;
  auto tensors = test::random_model_tensors(test::chat_model_config(), options);
  const std::string mtp = "model.layers." + std::to_string(test::chat_model_config()["num_hidden_layers"].get<int>()) +
                          ".input_layernorm.weight";
  bool found = false;
  for (auto& t : tensors) {
    if (t.name != mtp) continue;
    t.values[0] = std::numeric_limits<float>::quiet_NaN();
    found = true;
  }
  ASSERT_TRUE(found);
  test::write_safetensors(dir / "model.safetensors", tensors);

  auto model = LoadedModel::load(dir.path());
  EXPECT_TRUE(model->warnings.empty()) << model->warnings.front();
  const NonFiniteReport all = scan_model_for_nonfinite(dir.path());
  ASSERT_EQ(all.warnings.size(), 1u);
  EXPECT_NE(all.warnings[0].find(mtp), std::string::npos) << all.warnings[0];
  const NonFiniteReport used = scan_model_for_nonfinite(dir.path(), model->model->config().num_hidden_layers);
  EXPECT_TRUE(used.warnings.empty());
  EXPECT_LT(used.bytes_total, all.bytes_total);
}

}  // namespace
}  // namespace dschat
