#include <gtest/gtest.h>

#include <limits>

#include "engine/deepseek/deepseek_model.h"
#include "engine/model.h"
#include "tests/engine/checkpoint_writer.h"

namespace dschat {
namespace {

using nlohmann::json;
using test::TempDir;

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

// Rewrites dir/model.safetensors after `edit` changes the tensor list.
template <typename Edit>
void write_edited(const std::filesystem::path& dir, const json& config, Edit&& edit) {
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "config.json") << config.dump();
  auto tensors = test::random_model_tensors(config, {});
  edit(tensors);
  test::write_safetensors(dir / "model.safetensors", tensors);
}

uint64_t bound_elements(const Model& model) {
  const auto& w = dynamic_cast<const DeepSeekModel&>(model).weights();
  uint64_t n = 0;
  for (const TensorInfo* t : w.used) n += static_cast<uint64_t>(t->element_count());
  return n;
}

TEST(ModelLoading, LoadsAndCountsParameters) {
  TempDir dir;
  json config = test::small_config();
  test::write_random_model(dir.path(), config);
  auto model = Model::load(dir.path());
  EXPECT_EQ(model->config().hidden_size, 32);
  // The count from the config equals the elements of the tensors actually bound.
  EXPECT_EQ(model->parameter_count(), bound_elements(*model));
  EXPECT_EQ(model->weight_bytes(), bound_elements(*model) * 4);
  std::string info = model->describe();
  EXPECT_NE(info.find("parameters: "), std::string::npos);
  EXPECT_NE(info.find("warnings: none"), std::string::npos);

  ParameterCounts p = count_parameters(model->config());
  // Layers 1 and 2 are MoE with 8 experts of 3·32·12 parameters, 3 used per token.
  EXPECT_EQ(p.total() - p.active_per_token, 2u * (8 - 3) * 3 * 32 * 12);

  config["tie_word_embeddings"] = true;
  config["q_lora_rank"] = nullptr;
  TempDir tied;
  test::write_random_model(tied.path(), config);
  auto tied_model = Model::load(tied.path());
  EXPECT_EQ(tied_model->parameter_count(), bound_elements(*tied_model));
}

// What a decoded token reads (bench's GB/s), from the config's parameter counts: the active
// parameters less the vectors (norms, the routers' score biases) and the embedding table but for
// its one row, four bytes each; a tied head reads the whole table.
TEST(ModelLoading, DecodeWeightBytesAreTheActiveMatrices) {
  for (const bool tie : {false, true}) {
    TempDir dir;
    json config = test::small_config();
    config["tie_word_embeddings"] = tie;
    test::write_random_model(dir.path(), config);
    auto model = Model::load(dir.path());
    const ModelConfig& c = model->config();
    const ParameterCounts p = count_parameters(c);
    uint64_t moe_layers = 0;
    for (int l = 0; l < c.num_hidden_layers; ++l) moe_layers += c.is_moe_layer(l) ? 1 : 0;
    const uint64_t biases = c.topk_method == TopkMethod::NoAuxTc ? moe_layers * c.n_routed_experts : 0;
    const uint64_t table = uint64_t(c.vocab_size) * c.hidden_size;
    const uint64_t matrices = p.active_per_token - p.norms - biases - (tie ? 0 : table - c.hidden_size);
    EXPECT_EQ(model->decode_weight_bytes(), 4 * matrices) << "tied " << tie;
    EXPECT_LT(model->decode_weight_bytes(), model->weight_bytes());
  }
}

TEST(ModelLoading, MissingTensorNamesFileAndTensor) {
  TempDir dir;
  write_edited(dir.path(), test::small_config(), [](auto& ts) {
    std::erase_if(ts, [](const test::TestTensor& t) { return t.name == "model.layers.1.mlp.experts.3.up_proj.weight"; });
  });
  expect_model_error([&] { Model::load(dir.path()); },
                     {"model.safetensors", "'model.layers.1.mlp.experts.3.up_proj.weight'", "missing", "[12, 32]"});
}

TEST(ModelLoading, WrongShapeNamesFileAndTensor) {
  TempDir dir;
  write_edited(dir.path(), test::small_config(), [](auto& ts) {
    for (auto& t : ts) {
      if (t.name == "model.layers.0.self_attn.kv_b_proj.weight") t.shape = {t.shape[1], t.shape[0]};
    }
  });
  expect_model_error([&] { Model::load(dir.path()); },
                     {"model.safetensors", "'model.layers.0.self_attn.kv_b_proj.weight'", "[16, 66]", "expected [66, 16]"});
}

// Sizes in config.json are checked against the tensors before anything is allocated from them.
// A layer count of 2^31-1 used to size the layer table first (std::bad_alloc; 3e6 layers took
// 2.3 GB and 12 s before the missing tensor was named); a kv_lora_rank of 2^31-1 overflowed an
// int and showed a negative expected shape.
TEST(ModelLoading, HugeSizesInTheConfigAreCheckedAgainstTheTensorsFirst) {
  TempDir dir;
  json config = test::small_config();
  test::write_random_model(dir.path(), config);
  const int layers = config["num_hidden_layers"].get<int>();
  config["num_hidden_layers"] = std::numeric_limits<int32_t>::max();
  std::ofstream(dir.path() / "config.json", std::ios::trunc) << config.dump();
  expect_model_error([&] { Model::load(dir.path()); },
                     {"model.safetensors", "'model.layers." + std::to_string(layers) + ".", "is missing"});

  config = test::small_config();
  config["kv_lora_rank"] = std::numeric_limits<int32_t>::max();
  std::ofstream(dir.path() / "config.json", std::ios::trunc) << config.dump();
  const int64_t expected_rows = int64_t{std::numeric_limits<int32_t>::max()} + config["qk_rope_head_dim"].get<int64_t>();
  expect_model_error([&] { Model::load(dir.path()); },
                     {"'model.layers.0.self_attn.kv_a_proj_with_mqa.weight'", "expected [" + std::to_string(expected_rows) + ", "});
}

TEST(ModelLoading, NonFloatWeightIsAnError) {
  TempDir dir;
  json config = test::small_config();
  std::ofstream((std::filesystem::create_directories(dir.path()), dir / "config.json")) << config.dump();
  auto tensors = test::random_model_tensors(config, {});
  json header = json::object();
  std::vector<std::byte> data;
  for (const auto& t : tensors) {
    auto bytes = test::encode(t);
    std::string dtype = t.name == "model.norm.weight" ? "I32" : "F32";
    header[t.name] = {{"dtype", dtype}, {"shape", t.shape}, {"data_offsets", {data.size(), data.size() + bytes.size()}}};
    data.insert(data.end(), bytes.begin(), bytes.end());
  }
  test::write_raw_safetensors(dir / "model.safetensors", header.dump(), data);
  expect_model_error([&] { Model::load(dir.path()); }, {"model.safetensors", "'model.norm.weight'", "I32"});
}

TEST(ModelLoading, UnexpectedTensorsAreReportedAndMtpLayerIgnored) {
  TempDir dir;
  json config = test::small_config();
  config["num_nextn_predict_layers"] = 1;
  std::filesystem::create_directories(dir.path());
  std::ofstream(dir / "config.json") << config.dump();
  test::RandomModelOptions options;
  options.with_mtp_layer = true;  // model.layers.3.* : expected, ignored
  auto tensors = test::random_model_tensors(config, options);
  tensors.push_back({"model.layers.0.self_attn.extra.weight", DType::F32, {2}, {1, 2}});
  tensors.push_back({"model.layers.0.self_attn.rotary_emb.inv_freq", DType::F32, {4}, {1, 2, 3, 4}});
  test::write_safetensors(dir / "model.safetensors", tensors);
  auto model = Model::load(dir.path());
  const auto& w = dynamic_cast<const DeepSeekModel&>(*model).weights();
  ASSERT_EQ(w.warnings.size(), 1u);
  EXPECT_NE(w.warnings[0].find("model.safetensors"), std::string::npos);
  EXPECT_NE(w.warnings[0].find("'model.layers.0.self_attn.extra.weight'"), std::string::npos);
  EXPECT_GT(w.ignored.size(), 10u);  // the MTP layer and the rotary cache
  for (const TensorInfo* t : w.ignored) {
    EXPECT_TRUE(t->name.rfind("model.layers.3.", 0) == 0 || t->name.find("rotary_emb") != std::string::npos) << t->name;
  }
  EXPECT_NE(model->describe().find("extra.weight"), std::string::npos);
}

// A header of many stray tensors: the first 20 named, the rest counted in one line.
TEST(ModelLoading, ManyUnexpectedTensorsAreSummarised) {
  TempDir dir;
  json config = test::small_config();
  std::filesystem::create_directories(dir.path());
  std::ofstream(dir / "config.json") << config.dump();
  auto tensors = test::random_model_tensors(config, {});
  for (int i = 0; i < 1000; ++i) tensors.push_back({"stray." + std::to_string(i), DType::F32, {1}, {1}});
  test::write_safetensors(dir / "model.safetensors", tensors);
  auto model = Model::load(dir.path());
  const auto& w = dynamic_cast<const DeepSeekModel&>(*model).weights();
  ASSERT_EQ(w.warnings.size(), 21u);
  EXPECT_NE(w.warnings[0].find("unexpected tensor 'stray."), std::string::npos) << w.warnings[0];
  EXPECT_EQ(w.warnings[20], "... and 980 more unexpected tensors (ignored)");
}

TEST(ModelLoading, MixedDtypesAndMlxLayout) {
  TempDir dir;
  test::RandomModelOptions options;
  options.dtype = DType::BF16;
  options.mlx_layout = true;
  json config = test::small_config();
  std::filesystem::create_directories(dir.path());
  std::ofstream(dir / "config.json") << config.dump();
  auto tensors = test::random_model_tensors(config, options);
  for (auto& t : tensors) {
    if (t.name.find("e_score_correction_bias") != std::string::npos) t.dtype = DType::F32;  // mixed
  }
  test::write_safetensors(dir / "weights.safetensors", tensors);
  auto model = Model::load(dir.path());
  const auto& w = dynamic_cast<const DeepSeekModel&>(*model).weights();
  EXPECT_EQ(w.layout, CheckpointLayout::Mlx);
  // Experts are views into the stacked tensor: expert e starts e·rows rows after expert 0.
  const MoeWeights& moe = w.layers[1].moe;
  ASSERT_EQ(moe.experts.size(), 8u);
  EXPECT_EQ(moe.experts[5].gate_proj.data, moe.experts[0].gate_proj.data + 5 * 12 * 32 * 2);
  EXPECT_EQ(moe.experts[5].down_proj.rows, 32);
  EXPECT_EQ(moe.experts[5].down_proj.cols, 12);
  EXPECT_NE(model->describe().find("BF16"), std::string::npos);
  EXPECT_NE(model->describe().find("F32"), std::string::npos);
}

TEST(ModelLoading, MissingConfigOrDirectory) {
  TempDir dir;
  expect_model_error([&] { Model::load(dir.path()); }, {dir.path().string(), "config.json"});
  expect_model_error([&] { Model::load(dir / "nope"); }, {"nope", "no such"});
  std::ofstream(dir / "config.json") << test::small_config().dump();
  expect_model_error([&] { Model::load(dir.path()); }, {dir.path().string(), "no model.safetensors"});
}

TEST(ModelLoading, ProgressIsMonotoneToTheTotalAndCancellable) {
  TempDir dir;
  test::write_random_model(dir.path(), test::small_config());
  std::vector<std::pair<uint64_t, uint64_t>> calls;
  LoadOptions options;
  options.progress = [&](uint64_t done, uint64_t total) {
    calls.emplace_back(done, total);
    return true;
  };
  auto model = Model::load(dir.path(), options);
  ASSERT_GE(calls.size(), 3u);
  EXPECT_EQ(calls.front().first, 0u);
  for (size_t i = 1; i < calls.size(); ++i) {
    EXPECT_GE(calls[i].first, calls[i - 1].first);
    EXPECT_EQ(calls[i].second, calls[0].second);
  }
  EXPECT_EQ(calls.back().first, calls.back().second);
  EXPECT_EQ(calls.back().second, model->weight_bytes());

  int seen = 0;
  options.progress = [&](uint64_t, uint64_t) { return ++seen < 5; };
  EXPECT_THROW(Model::load(dir.path(), options), LoadCancelled);
  EXPECT_EQ(seen, 5);
}

TEST(ModelLoading, WeightTypeConversionReportsProgressAndSmallerWeights) {
  TempDir dir;
  test::write_random_model(dir.path(), test::small_config());
  const uint64_t native = Model::load(dir.path())->weight_bytes();
  LoadOptions options;
  options.weight_type = WeightType::Q4_0;
  uint64_t last_done = 0, last_total = 0;
  options.progress = [&](uint64_t done, uint64_t total) {
    EXPECT_GE(done, last_done);
    last_done = done;
    last_total = total;
    return true;
  };
  auto model = Model::load(dir.path(), options);
  EXPECT_EQ(last_done, last_total);
  EXPECT_LT(model->weight_bytes(), native);
}

}  // namespace
}  // namespace dschat
