// The published FP8 layout (tests/data/engine/fp8_v3, made by tools/make_fp8_checkpoint.py; its
// logits are checked by golden_test.cpp): bad directories are errors naming the tensor or file,
// --type converts from the dequantized weights, info names the weight type.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "engine/deepseek/model_config.h"
#include "engine/deepseek/model_weights.h"
#include "engine/deepseek/nonfinite_weights.h"
#include "engine/deepseek/weight_conversion.h"
#include "engine/io/model_error.h"
#include "engine/io/safetensors_source.h"
#include "engine/model.h"
#include "engine/quant/float8.h"
#include "engine/quant/half_float.h"
#include "engine/quant/quantize.h"
#include "tests/engine/checkpoint_writer.h"

namespace dschat {
namespace {

namespace fs = std::filesystem;
const fs::path kFp8Model = fs::path(DSCHAT_TEST_DATA_DIR) / "engine" / "fp8_v3" / "model";
// Layer 1 lives in the third shard (the embedding, then one shard per layer).
const std::string kShard = "model-00003-of-000008.safetensors";
const std::string kScale = "model.layers.1.self_attn.kv_b_proj.weight_scale_inv";

fs::path copy_model(const test::TempDir& dir) {
  const fs::path out = dir / "model";
  fs::copy(kFp8Model, out, fs::copy_options::recursive);
  return out;
}

std::string read(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

// Replaces `from` by `to` (same length, so offsets stay valid) once in a file.
void patch(const fs::path& file, const std::string& from, const std::string& to) {
  ASSERT_EQ(from.size(), to.size());
  std::string bytes = read(file);
  const size_t at = bytes.find(from);
  ASSERT_NE(at, std::string::npos) << from << " not in " << file;
  bytes.replace(at, from.size(), to);
  std::ofstream(file, std::ios::binary | std::ios::trunc) << bytes;
}

std::string load_error(const fs::path& dir) {
  try {
    Model::load(dir);
  } catch (const ModelError& e) {
    return e.what();
  }
  return "(loaded)";
}

void expect_contains(const std::string& s, std::initializer_list<std::string> parts) {
  for (const std::string& p : parts) EXPECT_NE(s.find(p), std::string::npos) << "'" << p << "' not in: " << s;
}

TEST(Fp8Model, MissingShardIsAnErrorNamingIt) {
  test::TempDir tmp;
  const fs::path dir = copy_model(tmp);
  fs::remove(dir / kShard);
  expect_contains(load_error(dir), {kShard});
}

TEST(Fp8Model, MissingScaleIsAnErrorNamingTheTensor) {
  test::TempDir tmp;
  const fs::path dir = copy_model(tmp);
  const std::string renamed = "model.layers.1.self_attn.kv_b_proj.weight_scale_xxx";
  patch(dir / kShard, "\"" + kScale + "\"", "\"" + renamed + "\"");
  patch(dir / "model.safetensors.index.json", "\"" + kScale + "\"", "\"" + renamed + "\"");
  expect_contains(load_error(dir), {"model.layers.1.self_attn.kv_b_proj.weight'", "F8_E4M3", kScale, "missing",
                                    "[1, 2]"});
}

TEST(Fp8Model, ScaleOfTheWrongShapeOrDtypeIsAnErrorNamingIt) {
  {
    test::TempDir tmp;
    const fs::path dir = copy_model(tmp);
    patch(dir / kShard, "\"" + kScale + "\":{\"dtype\":\"F32\",\"shape\":[1,2]",
          "\"" + kScale + "\":{\"dtype\":\"F32\",\"shape\":[2,1]");
    expect_contains(load_error(dir), {kShard, kScale, "[2, 1]", "expected [1, 2]"});
  }
  {
    test::TempDir tmp;
    const fs::path dir = copy_model(tmp);
    patch(dir / kShard, "\"" + kScale + "\":{\"dtype\":\"F32\"", "\"" + kScale + "\":{\"dtype\":\"I32\"");
    expect_contains(load_error(dir), {kShard, kScale, "I32", "expected F32"});
  }
}

TEST(Fp8Model, UnsupportedQuantizationConfigIsAClearError) {
  test::TempDir tmp;
  const fs::path dir = copy_model(tmp);
  nlohmann::json config = nlohmann::json::parse(read(dir / "config.json"));
  config["quantization_config"]["weight_block_size"] = {64, 64};
  std::ofstream(dir / "config.json", std::ios::trunc) << config.dump();
  expect_contains(load_error(dir), {"weight_block_size", "[128, 128]"});
}

// The dequantized row as DeepSeek's weight_dequant defines it, from the bound bytes and scales.
std::vector<float> dequantized_row(const WeightMatrix& w, int64_t r) {
  EXPECT_EQ(w.dtype, DType::F8_E4M3);
  std::vector<float> row(w.cols);
  const auto* q = reinterpret_cast<const uint8_t*>(w.row(r));
  const int64_t per_row = (w.cols + 127) / 128;
  for (int64_t c = 0; c < w.cols; ++c) {
    row[c] = e4m3_to_f32(q[c]) * w.scales.data[((w.scales.first_row + r) / 128) * per_row + c / 128];
  }
  return row;
}

TEST(Fp8Model, TypeConversionQuantizesTheDequantizedWeights) {
  const ModelConfig config = load_model_config(kFp8Model / "config.json");
  EXPECT_TRUE(config.fp8_block_scales);
  auto source = SafetensorsSource::open_directory(kFp8Model);
  auto fp8 = bind_model_weights(config, *source);
  auto q8 = bind_model_weights(config, *source);
  auto bf16 = bind_model_weights(config, *source);
  convert_model_weights(*q8, WeightType::Q8_0, WeightType::Native, {}, 1, /*repack=*/false);
  convert_model_weights(*bf16, WeightType::BF16, WeightType::Native, {}, 1, /*repack=*/false);
  ASSERT_EQ(fp8->mtp.size(), 1u);
  struct Case {
    const char* what;
    const WeightMatrix& from;
    const WeightMatrix& q8;
    const WeightMatrix& bf16;
  };
  const std::vector<Case> cases = {
      {"q_a_proj", fp8->layers[0].attention.q_a_proj, q8->layers[0].attention.q_a_proj, bf16->layers[0].attention.q_a_proj},
      {"o_proj", fp8->layers[2].attention.o_proj, q8->layers[2].attention.o_proj, bf16->layers[2].attention.o_proj},
      {"expert 5 up", fp8->layers[3].moe.experts[5].up_proj, q8->layers[3].moe.experts[5].up_proj,
       bf16->layers[3].moe.experts[5].up_proj},
      {"mtp eh_proj", fp8->mtp[0].eh_proj, q8->mtp[0].eh_proj, bf16->mtp[0].eh_proj},
      // 136 columns: not whole Q8_0 blocks, so --type q8_0 keeps it as BF16.
      {"kv_b_proj", fp8->layers[1].attention.kv_b_proj, q8->layers[1].attention.kv_b_proj,
       bf16->layers[1].attention.kv_b_proj},
  };
  for (const Case& c : cases) {
    ASSERT_EQ(c.from.dtype, DType::F8_E4M3) << c.what;
    ASSERT_EQ(c.bf16.dtype, DType::BF16) << c.what;
    const bool blocks = c.from.cols % kQuantBlock == 0;
    ASSERT_EQ(c.q8.dtype, blocks ? DType::Q8_0 : DType::BF16) << c.what;
    for (int64_t r = 0; r < c.from.rows; ++r) {
      const std::vector<float> row = dequantized_row(c.from, r);
      std::vector<uint16_t> h(row.size());
      for (size_t i = 0; i < row.size(); ++i) h[i] = f32_to_bf16(row[i]);
      ASSERT_EQ(std::memcmp(c.bf16.row(r), h.data(), c.bf16.row_bytes()), 0) << c.what << " BF16 row " << r;
      if (blocks) {
        std::vector<BlockQ8_0> q(row.size() / kQuantBlock);
        quantize_row_q8_0(row.data(), q.data(), c.from.cols);
        ASSERT_EQ(std::memcmp(c.q8.row(r), q.data(), c.q8.row_bytes()), 0) << c.what << " Q8_0 row " << r;
      }
    }
  }
}

TEST(Fp8Model, NanBytesAreCountedAsNan) {
  const uint8_t bytes[] = {0x7f, 0x00, 0xff, 0x7e, 0xfe, 0x80, 0x7f};
  const NonFiniteCount c = count_nonfinite(DType::F8_E4M3, reinterpret_cast<const std::byte*>(bytes), sizeof bytes);
  EXPECT_EQ(c.nan, 3u);
  EXPECT_EQ(c.inf, 0u);
  EXPECT_EQ(c.checked, sizeof bytes);
  const uint8_t clean[] = {0x7e, 0xfe, 0x01, 0x00};
  EXPECT_EQ(count_nonfinite(DType::F8_E4M3, reinterpret_cast<const std::byte*>(clean), sizeof clean).nan, 0u);
}

TEST(Fp8Model, InfoNamesTheWeightType) {
  auto model = Model::load(kFp8Model);
  expect_contains(model->describe(), {"FP8 e4m3 (128x128 blocks)", "F8_E4M3 (", "multi-token prediction: 1"});
}

}  // namespace
}  // namespace dschat
