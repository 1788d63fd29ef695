// .pt checkpoints as named tensor views, checked against what torch.load saw in the same files
// (manifest.json from tools/pt_variants/make_cases.py): dtype, shape, strides, storage offset,
// shared storages, and the float64 sum of every tensor's values read through its strides.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "engine/quant/half_float.h"
#include "engine/model.h"
#include "engine/io/pt_checkpoint.h"

namespace dschat {
namespace {

const std::filesystem::path kPtData = std::filesystem::path(DSCHAT_TEST_DATA_DIR) / "pt";

nlohmann::json read_json(const std::filesystem::path& path) {
  std::ifstream in(path);
  return nlohmann::json::parse(in);
}

const char* torch_dtype_name(DType d) {
  switch (d) {
    case DType::F32: return "float32";
    case DType::F64: return "float64";
    case DType::F16: return "float16";
    case DType::BF16: return "bfloat16";
    case DType::I64: return "int64";
    case DType::I32: return "int32";
    case DType::I16: return "int16";
    case DType::I8: return "int8";
    case DType::U8: return "uint8";
    case DType::Bool: return "bool";
    default: return "?";
  }
}

double element(const PtTensor& t, int64_t index) {
  const std::byte* p = t.data + index * static_cast<int64_t>(dtype_size(t.dtype));
  auto load = [&](auto v) {
    std::memcpy(&v, p, sizeof v);
    return v;
  };
  switch (t.dtype) {
    case DType::F32: return load(float{});
    case DType::F64: return load(double{});
    case DType::F16: return f16_to_f32(load(uint16_t{}));
    case DType::BF16: return bf16_to_f32(load(uint16_t{}));
    case DType::I64: return static_cast<double>(load(int64_t{}));
    case DType::I32: return load(int32_t{});
    case DType::I16: return load(int16_t{});
    case DType::I8: return load(int8_t{});
    case DType::U8: return load(uint8_t{});
    case DType::Bool: return load(uint8_t{}) ? 1.0 : 0.0;
    default: return NAN;
  }
}

// Sum of all elements, walking the shape with the tensor's own strides.
double strided_sum(const PtTensor& t) {
  if (t.element_count() == 0) return 0.0;
  std::vector<int64_t> index(t.shape.size(), 0);
  double sum = 0.0;
  for (;;) {
    int64_t offset = 0;
    for (size_t d = 0; d < index.size(); ++d) offset += index[d] * t.stride[d];
    sum += element(t, offset);
    size_t d = index.size();
    while (d > 0 && ++index[d - 1] == t.shape[d - 1]) index[--d] = 0;
    if (d == 0) return sum;
  }
}

void expect_matches_torch_load(const PtCheckpoint& ckpt, const nlohmann::json& manifest) {
  ASSERT_EQ(ckpt.tensors().size(), manifest["tensors"].size());
  size_t i = 0;
  for (const auto& expected : manifest["tensors"]) {
    const PtTensor& t = ckpt.tensors()[i++];
    SCOPED_TRACE(t.name);
    EXPECT_EQ(t.name, expected["name"].get<std::string>());  // state dict order is kept
    EXPECT_STREQ(torch_dtype_name(t.dtype), expected["dtype"].get<std::string>().c_str());
    EXPECT_EQ(t.shape, expected["shape"].get<std::vector<int64_t>>());
    EXPECT_EQ(t.stride, expected["stride"].get<std::vector<int64_t>>());
    EXPECT_EQ(t.storage_offset, expected["storage_offset"].get<int64_t>());
    std::vector<std::string> sharing;
    for (const PtTensor& other : ckpt.tensors()) {
      if (&other != &t && other.storage_key == t.storage_key) sharing.push_back(other.name);
    }
    EXPECT_EQ(sharing, expected["shares_storage_with"].get<std::vector<std::string>>());
    double want = expected["sum"].get<double>();
    EXPECT_NEAR(strided_sum(t), want, 1e-9 * (1.0 + std::abs(want)));
    if (!expected["first"].is_null()) {
      EXPECT_EQ(element(t, 0), expected["first"].get<double>());
    }
  }
}

TEST(PtCheckpoint, MayankRawStateDictMatchesTorchLoad) {
  PtCheckpoint ckpt(kPtData / "mayank" / "model.pt");
  EXPECT_EQ(ckpt.archive_prefix(), "best_deepseek_v3/");
  EXPECT_FALSE(ckpt.is_checkpoint_dict());
  expect_matches_torch_load(ckpt, read_json(kPtData / "mayank" / "manifest.json"));
  // Tied embeddings: two keys, one storage, one address.
  const PtTensor* wte = ckpt.find("wte.weight");
  const PtTensor* head = ckpt.find("lm_head.weight");
  ASSERT_TRUE(wte && head);
  EXPECT_EQ(wte->data, head->data);
  EXPECT_EQ(wte->storage_key, head->storage_key);
  EXPECT_NE(ckpt.find("h.0.attn.causal_mask"), nullptr);
  EXPECT_NE(ckpt.find("mtp_heads.0.combine_proj.weight"), nullptr);
}

TEST(PtCheckpoint, EraCheckpointDictWithConfigObject) {
  PtCheckpoint ckpt(kPtData / "era" / "model.pt");
  EXPECT_EQ(ckpt.archive_prefix(), "checkpoint_5500/");
  EXPECT_EQ(ckpt.state_dict_key(), "model_state_dict");
  expect_matches_torch_load(ckpt, read_json(kPtData / "era" / "manifest.json"));
  const Unpickled& p = ckpt.pickle();
  ASSERT_TRUE(ckpt.entry("global_step"));
  EXPECT_EQ(p.at(*ckpt.entry("global_step")).integer, 5500);
  ASSERT_TRUE(ckpt.entry("optimizer_state_dict"));
  auto config = ckpt.entry("config");
  ASSERT_TRUE(config);
  EXPECT_EQ(p.at(*config).kind, PickleKind::Object);
  EXPECT_EQ(p.at(*config).text, "model.DeepSeekV3Config");
  // Only the passed fields are in the object (case.json lists them); defaults are absent.
  auto about = read_json(kPtData / "era" / "case.json");
  for (const auto& field : about["config_object_fields"]) EXPECT_TRUE(p.get(*config, field.get<std::string>())) << field;
  for (const auto& [field, value] : about["class_defaults_used"].items()) EXPECT_FALSE(p.get(*config, field)) << field;
  for (const auto& [field, value] : about["config_object"].items()) {
    const PickleValue& v = p.at(*p.get(*config, field));
    if (value.is_boolean()) {
      EXPECT_EQ(v.boolean, value.get<bool>()) << field;
    } else if (value.is_number_integer()) {
      EXPECT_EQ(v.integer, value.get<int64_t>()) << field;
    } else if (value.is_number_float()) {
      EXPECT_EQ(v.real, value.get<double>()) << field;
    }
  }
  EXPECT_EQ(ckpt.find("model.embed_tokens.weight")->data, ckpt.find("lm_head.weight")->data);
}

TEST(PtCheckpoint, ViewsDtypesAndStridesMatchTorchLoad) {
  PtCheckpoint ckpt(kPtData / "views" / "model.pt");
  expect_matches_torch_load(ckpt, read_json(kPtData / "views" / "manifest.json"));
  EXPECT_TRUE(ckpt.find("base")->is_contiguous());
  EXPECT_TRUE(ckpt.find("rows_2_to_4")->is_contiguous());
  EXPECT_FALSE(ckpt.find("transposed")->is_contiguous());
  EXPECT_FALSE(ckpt.find("every_other")->is_contiguous());
  EXPECT_NO_THROW(ckpt.find("rows_2_to_4")->info("views.pt"));
  try {
    ckpt.find("transposed")->info("views.pt");
    FAIL() << "a non-contiguous tensor became a TensorInfo";
  } catch (const ModelError& e) {
    EXPECT_NE(std::string(e.what()).find("transposed"), std::string::npos);
  }
}

std::vector<std::byte> read_bytes(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::string s((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::vector<std::byte> b(s.size());
  std::memcpy(b.data(), s.data(), s.size());
  return b;
}

TEST(PtCheckpoint, TensorsReachingPastTheirStorageAreRejected) {
  // In the views pickle, column_3 is _rebuild_tensor_v2(storage, 3, (6,), (5,), ...):
  // BININT1 3, BININT1 6, TUPLE1, BININT1 5, TUPLE1. Make its stride 6: 3 + 5*6 = 33 > 29.
  auto bytes = read_bytes(kPtData / "views" / "model.pt");
  std::string s(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  size_t at = s.find(std::string("K\x03K\x06\x85", 5));
  ASSERT_NE(at, std::string::npos);
  size_t stride = s.find(std::string("K\x05\x85", 3), at);
  ASSERT_NE(stride, std::string::npos);
  auto bad = bytes;
  bad[stride + 1] = std::byte{6};
  try {
    PtCheckpoint ckpt(bad, "views-bad.pt");
    FAIL() << "out-of-bounds view accepted";
  } catch (const ModelError& e) {
    EXPECT_NE(std::string(e.what()).find("column_3"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("reaches element"), std::string::npos) << e.what();
  }
}

TEST(PtCheckpoint, EveryTruncationIsAClearError) {
  auto bytes = read_bytes(kPtData / "views" / "model.pt");
  for (size_t cut = 0; cut < bytes.size(); cut += 7) {
    std::span<const std::byte> prefix(bytes.data(), cut);
    EXPECT_THROW(PtCheckpoint(prefix, "truncated.pt"), ModelError) << cut;
  }
}

TEST(PtCheckpoint, NotATorchFile) {
  EXPECT_THROW(PtCheckpoint(kPtData / "mayank" / "ids.json"), ModelError);
  EXPECT_THROW(PtCheckpoint(kPtData / "does-not-exist.pt"), ModelError);
}

}  // namespace
}  // namespace dschat
