#include "engine/io/safetensors.h"
#include "engine/io/safetensors_source.h"

#include <gtest/gtest.h>

#include "engine/quant/half_float.h"
#include "engine/model.h"
#include "tests/engine/checkpoint_writer.h"

namespace dschat {
namespace {

using nlohmann::json;
using test::TempDir;

std::vector<std::byte> zeros(size_t n) { return std::vector<std::byte>(n); }

// Expects ModelError mentioning every fragment (file names, tensor names, reasons).
template <typename F>
void expect_model_error(F&& f, std::initializer_list<std::string> fragments) {
  try {
    f();
    ADD_FAILURE() << "no ModelError";
  } catch (const ModelError& e) {
    std::string m = e.what();
    for (const std::string& s : fragments) EXPECT_NE(m.find(s), std::string::npos) << "'" << s << "' not in: " << m;
  }
}

TEST(Safetensors, ReadsTensorsOfEachDtype) {
  TempDir dir;
  test::write_safetensors(dir / "a.safetensors", {{"x", DType::F32, {2, 3}, {1, 2, 3, 4, 5, 6}},
                                                  {"y", DType::BF16, {2}, {1.5f, -2.0f}},
                                                  {"z", DType::F16, {3}, {0.5f, 65504.0f, -0.25f}}});
  SafetensorsFile f(dir / "a.safetensors");
  ASSERT_EQ(f.tensors().size(), 3u);
  const TensorInfo* x = f.find("x");
  ASSERT_NE(x, nullptr);
  EXPECT_EQ(x->dtype, DType::F32);
  EXPECT_EQ(x->shape, (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(x->nbytes, 24u);
  float v;
  std::memcpy(&v, x->data + 20, 4);
  EXPECT_EQ(v, 6.0f);
  const TensorInfo* y = f.find("y");
  uint16_t h;
  std::memcpy(&h, y->data + 2, 2);
  EXPECT_EQ(bf16_to_f32(h), -2.0f);
  const TensorInfo* z = f.find("z");
  std::memcpy(&h, z->data + 2, 2);
  EXPECT_EQ(f16_to_f32(h), 65504.0f);
  EXPECT_EQ(f.find("__metadata__"), nullptr);  // metadata is not a tensor
  EXPECT_EQ(f.find("nope"), nullptr);
}

TEST(Safetensors, RejectsBadHeaderLength) {
  TempDir dir;
  test::write_raw_safetensors(dir / "huge.safetensors", "{}", zeros(0), int64_t{1} << 40);
  expect_model_error([&] { SafetensorsFile f(dir / "huge.safetensors"); }, {"huge.safetensors", "header length", "100 MB"});
  test::write_raw_safetensors(dir / "past.safetensors", "{}", zeros(0), 4096);
  expect_model_error([&] { SafetensorsFile f(dir / "past.safetensors"); }, {"past.safetensors", "past the end"});
  std::ofstream(dir / "short.safetensors") << "abc";
  expect_model_error([&] { SafetensorsFile f(dir / "short.safetensors"); }, {"short.safetensors", "too short"});
}

// A header nested 200k deep (the shape of a tensor) is refused while parsing: it used to overflow
// the stack in the error message's dump(). Values that only fail a check are described, not dumped.
TEST(Safetensors, DeepNestingIsAClearError) {
  TempDir dir;
  const int depth = 200000;
  std::string shape = std::string(depth, '[') + std::string(depth, ']');
  test::write_raw_safetensors(dir / "deep.safetensors",
                              R"({"w": {"dtype": "F32", "shape": )" + shape + R"(, "data_offsets": [0, 0]}})", zeros(0));
  expect_model_error([&] { SafetensorsFile f(dir / "deep.safetensors"); },
                     {"deep.safetensors", "nested deeper than 256 levels"});
  test::write_raw_safetensors(dir / "nested.safetensors",
                              R"({"w": {"dtype": "F32", "shape": [[[[1]]]], "data_offsets": [0, 4]}})", zeros(4));
  expect_model_error([&] { SafetensorsFile f(dir / "nested.safetensors"); },
                     {"nested.safetensors", "shape an array of 1 elements"});
}

TEST(Safetensors, RejectsBadJson) {
  TempDir dir;
  test::write_raw_safetensors(dir / "bad.safetensors", "{\"x\": {\"dtype\": ", zeros(0));
  expect_model_error([&] { SafetensorsFile f(dir / "bad.safetensors"); }, {"bad.safetensors", "not valid JSON"});
  test::write_raw_safetensors(dir / "array.safetensors", "[1, 2]", zeros(0));
  expect_model_error([&] { SafetensorsFile f(dir / "array.safetensors"); }, {"array.safetensors", "not a JSON object"});
}

TEST(Safetensors, RejectsUnknownDtypeAndMalformedEntries) {
  TempDir dir;
  auto write = [&](const json& entry) {
    test::write_raw_safetensors(dir / "t.safetensors", json{{"w", entry}}.dump(), zeros(16));
  };
  write({{"dtype", "F12"}, {"shape", {2}}, {"data_offsets", {0, 4}}});
  expect_model_error([&] { SafetensorsFile f(dir / "t.safetensors"); }, {"t.safetensors", "'w'", "unknown dtype 'F12'"});
  write({{"dtype", "F32"}, {"shape", {-2}}, {"data_offsets", {0, 8}}});
  expect_model_error([&] { SafetensorsFile f(dir / "t.safetensors"); }, {"'w'", "shape"});
  write({{"dtype", "F32"}, {"shape", {2}}});
  expect_model_error([&] { SafetensorsFile f(dir / "t.safetensors"); }, {"'w'", "data_offsets"});
  write({{"dtype", "F32"}, {"shape", {2}}, {"data_offsets", {8, 0}}});
  expect_model_error([&] { SafetensorsFile f(dir / "t.safetensors"); }, {"'w'", "reversed"});
}

TEST(Safetensors, RejectsShapeBytesMismatch) {
  TempDir dir;
  test::write_raw_safetensors(dir / "t.safetensors",
                              json{{"w", {{"dtype", "BF16"}, {"shape", {3, 2}}, {"data_offsets", {0, 16}}}}}.dump(), zeros(16));
  expect_model_error([&] { SafetensorsFile f(dir / "t.safetensors"); },
                     {"t.safetensors", "'w'", "[3, 2]", "12 bytes", "16 bytes"});
}

TEST(Safetensors, RejectsOffsetsOutsideTheFile) {
  TempDir dir;
  test::write_raw_safetensors(dir / "t.safetensors",
                              json{{"w", {{"dtype", "F32"}, {"shape", {4}}, {"data_offsets", {8, 24}}}}}.dump(), zeros(16));
  expect_model_error([&] { SafetensorsFile f(dir / "t.safetensors"); }, {"t.safetensors", "'w'", "past the end of the data region"});
}

TEST(Safetensors, RejectsOverlappingTensors) {
  TempDir dir;
  json h{{"a", {{"dtype", "F32"}, {"shape", {2}}, {"data_offsets", {0, 8}}}},
         {"b", {{"dtype", "F32"}, {"shape", {2}}, {"data_offsets", {4, 12}}}}};
  test::write_raw_safetensors(dir / "t.safetensors", h.dump(), zeros(16));
  expect_model_error([&] { SafetensorsFile f(dir / "t.safetensors"); }, {"t.safetensors", "'a'", "'b'", "overlap"});
}

TEST(Safetensors, ShardedIndex) {
  TempDir dir;
  test::write_safetensors(dir / "model-00001-of-00002.safetensors", {{"a", DType::F32, {2}, {1, 2}}});
  test::write_safetensors(dir / "model-00002-of-00002.safetensors", {{"b", DType::F32, {1}, {3}}});
  json index{{"metadata", {{"total_size", 12}}},
             {"weight_map", {{"a", "model-00001-of-00002.safetensors"}, {"b", "model-00002-of-00002.safetensors"}}}};
  std::ofstream(dir / "model.safetensors.index.json") << index.dump();
  auto c = SafetensorsSource::open_directory(dir.path());
  ASSERT_NE(c->find("a"), nullptr);
  ASSERT_NE(c->find("b"), nullptr);
  EXPECT_NE(c->find("b")->file.find("model-00002-of-00002"), std::string::npos);
  EXPECT_EQ(c->files().size(), 2u);
  EXPECT_EQ(c->total_bytes(), 12u);

  // An index pointing at the wrong shard.
  index["weight_map"]["b"] = "model-00001-of-00002.safetensors";
  std::ofstream(dir / "model.safetensors.index.json") << index.dump();
  expect_model_error([&] { SafetensorsSource::open_directory(dir.path()); },
                     {"model.safetensors.index.json", "'b'", "model-00001-of-00002.safetensors", "does not hold it"});

  // A shard that does not exist.
  index["weight_map"]["b"] = "model-00003-of-00002.safetensors";
  std::ofstream(dir / "model.safetensors.index.json") << index.dump();
  expect_model_error([&] { SafetensorsSource::open_directory(dir.path()); },
                     {"model.safetensors.index.json", "model-00003-of-00002.safetensors", "does not exist"});

  // A name the file system refuses (longer than NAME_MAX): a ModelError, not a filesystem_error
  // (found by the safetensors_index fuzzer).
  index["weight_map"]["b"] = std::string(300, 'x') + ".safetensors";
  std::ofstream(dir / "model.safetensors.index.json") << index.dump();
  expect_model_error([&] { SafetensorsSource::open_directory(dir.path()); },
                     {"model.safetensors.index.json", "xxxx", "cannot be opened", "too long"});

  // A name that escapes the directory.
  index["weight_map"]["b"] = "../elsewhere.safetensors";
  std::ofstream(dir / "model.safetensors.index.json") << index.dump();
  expect_model_error([&] { SafetensorsSource::open_directory(dir.path()); }, {"'b'", "not a file in the model directory"});

  // A tensor the index does not list is reported.
  index["weight_map"].erase("b");
  std::ofstream(dir / "model.safetensors.index.json") << index.dump();
  c = SafetensorsSource::open_directory(dir.path());
  ASSERT_EQ(c->warnings().size(), 0u);  // shard 2 is not mentioned, so it is not read
  index["weight_map"]["b"] = "model-00002-of-00002.safetensors";
  index["weight_map"].erase("a");
  test::write_safetensors(dir / "model-00002-of-00002.safetensors", {{"b", DType::F32, {1}, {3}}, {"c", DType::F32, {1}, {4}}});
  std::ofstream(dir / "model.safetensors.index.json") << index.dump();
  c = SafetensorsSource::open_directory(dir.path());
  ASSERT_EQ(c->warnings().size(), 1u);
  EXPECT_NE(c->warnings()[0].find("'c'"), std::string::npos);

  // A malformed index.
  std::ofstream(dir / "model.safetensors.index.json") << "{\"weight_map\": 3}";
  expect_model_error([&] { SafetensorsSource::open_directory(dir.path()); }, {"model.safetensors.index.json", "weight_map"});
}

TEST(Safetensors, TensorInTwoShardsIsAnError) {
  TempDir dir;
  test::write_safetensors(dir / "s1.safetensors", {{"a", DType::F32, {1}, {1}}});
  test::write_safetensors(dir / "s2.safetensors", {{"a", DType::F32, {1}, {2}}});
  std::ofstream(dir / "model.safetensors.index.json") << json{{"weight_map", {{"a", "s1.safetensors"}, {"x", "s2.safetensors"}}}}.dump();
  expect_model_error([&] { SafetensorsSource::open_directory(dir.path()); }, {"'a'", "s1.safetensors", "s2.safetensors"});
}

TEST(Safetensors, DirectoryWithoutWeights) {
  TempDir dir;
  expect_model_error([&] { SafetensorsSource::open_directory(dir.path()); }, {dir.path().string(), "no model.safetensors"});
}

TEST(HalfFloat, RoundTripsAndRounds) {
  EXPECT_EQ(bf16_to_f32(f32_to_bf16(1.0f)), 1.0f);
  EXPECT_EQ(bf16_to_f32(f32_to_bf16(1.00390625f)), 1.0f);    // halfway: to even
  EXPECT_EQ(bf16_to_f32(f32_to_bf16(1.01171875f)), 1.015625f);  // halfway: to even (up)
  EXPECT_EQ(f16_to_f32(f32_to_f16(0.1f)), 0.0999755859375f);
  EXPECT_EQ(f16_to_f32(f32_to_f16(-65504.0f)), -65504.0f);
  EXPECT_EQ(f16_to_f32(0x0001), std::ldexp(1.0f, -24));  // smallest subnormal
  EXPECT_EQ(f16_to_f32(f32_to_f16(std::ldexp(3.0f, -24))), std::ldexp(3.0f, -24));
  EXPECT_TRUE(std::isinf(f16_to_f32(f32_to_f16(1e6f))));
  EXPECT_EQ(f16_to_f32(0x3c00), 1.0f);
  EXPECT_EQ(f16_to_f32(0xc000), -2.0f);
}

}  // namespace
}  // namespace dschat
