// GGUF files made by llama.cpp's own converter and llama-quantize (tools/make_gguf_goldens.py,
// tests/data/gguf/): loaded memory-mapped, their config read from the metadata, and both forward
// paths against the float64 reference run on the file's own weights, dequantized by gguf-py
// (<case>.<type>.logits.npy). So the tolerance measures the engine's arithmetic only:
//   F32/F16/BF16: float32 accumulation, 1e-4 as the other engine goldens, both paths;
//   Q8_0/Q4_0: the integer GEMV (decode, one token at a time) quantizes the activations to Q8_0
//   blocks (a relative error of up to 1/254 of a block's largest value per value): measured 2.1%
//   of max |logit| on v3_qlora (2 layers; the same as `--type q8_0` on its Hugging Face
//   directory), 6.0% on v2_lite_no_qlora (27 layers compound it), so 3e-2 and 8e-2. The batched
//   pass of Q8_0 widens the weights (measured 3e-7: 1e-4); that of Q4_0 runs the integer GEMV of its
//   interleaved layout over every token on AVX2 (activations in Q8_0, as llama.cpp's repacked
//   Q4_0), measured 1.4e-2: 3e-2 as decode.
//   Q4_K_M/Q6_K (v3_kquant): Q4_K and Q6_K prefill by the integer GEMV too (activations in Q8_K
//   blocks of 256), so both paths carry the activation rounding: measured 1.9-2.6e-2: 3e-2.
#include <gtest/gtest.h>

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "engine/deepseek/deepseek_model.h"
#include "engine/io/gguf_source.h"
#include "engine/io/model_error.h"
#include "engine/model.h"
#include "tests/engine/npy_file.h"

namespace dschat {
namespace {

namespace fs = std::filesystem;
const fs::path kDir = fs::path(DSCHAT_TEST_DATA_DIR) / "gguf";

double relative_max_abs(const std::vector<float>& got, const std::vector<float>& golden) {
  double diff = 0, scale = 0;
  for (size_t i = 0; i < golden.size(); ++i) {
    diff = std::max(diff, std::fabs(double(got[i]) - golden[i]));
    scale = std::max(scale, std::fabs(double(golden[i])));
  }
  return diff / scale;
}

struct GgufCase {
  std::string name, type;
  double full_tolerance, step_tolerance;
};

class GgufGolden : public ::testing::TestWithParam<GgufCase> {};

TEST_P(GgufGolden, BothPathsMatchTheReferenceOnTheFilesWeights) {
  const GgufCase& c = GetParam();
  const fs::path file = kDir / (c.name + "." + c.type + ".gguf");
  LoadOptions options;
  options.threads = 2;
  auto model = Model::load(file, options);
  const int64_t vocab = model->config().vocab_size;
  std::ifstream case_file(kDir / (c.name + ".case.json"));
  const auto ids = nlohmann::json::parse(case_file).at("ids").get<std::vector<int32_t>>();
  NpyArray golden = read_npy(kDir / (c.name + "." + c.type + ".logits.npy"));
  ASSERT_EQ(golden.shape, (std::vector<int64_t>{static_cast<int64_t>(ids.size()), vocab}));

  auto full_ctx = InferenceContext::create(*model, static_cast<int>(ids.size()));
  std::vector<float> full(ids.size() * vocab);
  ASSERT_TRUE(full_ctx->append(ids, {}, nullptr, full));
  auto step_ctx = InferenceContext::create(*model, static_cast<int>(ids.size()));
  std::vector<float> steps(ids.size() * vocab);
  for (size_t i = 0; i < ids.size(); ++i) {
    ASSERT_TRUE(step_ctx->append(std::span(ids).subspan(i, 1), std::span(steps).subspan(i * vocab, vocab)));
  }
  const double full_rel = relative_max_abs(full, golden.data);
  const double step_rel = relative_max_abs(steps, golden.data);
  std::printf("[ gguf     ] %-18s %-5s full-sequence %.2e (tolerance %.0e)  token-by-token %.2e (%.0e)\n",
              c.name.c_str(), c.type.c_str(), full_rel, c.full_tolerance, step_rel, c.step_tolerance);
  EXPECT_LT(full_rel, c.full_tolerance);
  EXPECT_LT(step_rel, c.step_tolerance);
  EXPECT_LT(relative_max_abs(full, steps), std::max(c.full_tolerance, c.step_tolerance));  // the two paths agree
}

INSTANTIATE_TEST_SUITE_P(LlamaCppFiles, GgufGolden,
                         ::testing::Values(GgufCase{"v3_qlora", "F32", 1e-4, 1e-4}, GgufCase{"v3_qlora", "F16", 1e-4, 1e-4},
                                           GgufCase{"v3_qlora", "BF16", 1e-4, 1e-4},
                                           // Q8_0 and Q4_0 prefill by the integer GEMV (activations quantized
                                           // to Q8_0, as llama.cpp does) where a level has one for every
                                           // token count (AVX-512: both; AVX2: Q4_0), so the full sequence
                                           // carries the token-by-token path's error there.
                                           GgufCase{"v3_qlora", "Q8_0", 3e-2, 3e-2},
                                           GgufCase{"v3_qlora", "Q4_0", 3e-2, 3e-2},
                                           GgufCase{"v3_yarn", "Q8_0", 3e-2, 3e-2},
                                           GgufCase{"v2_lite_no_qlora", "Q8_0", 8e-2, 8e-2},
                                           GgufCase{"v3_kquant", "Q4_K_M", 3e-2, 3e-2},
                                           GgufCase{"v3_kquant", "Q6_K", 3e-2, 3e-2}),
                         [](const auto& info) { return info.param.name + "_" + info.param.type; });

TEST(GgufModel, ConfigFromTheMetadataAndTheTensorsPresent) {
  LoadOptions options;
  options.threads = 1;
  auto v3 = Model::load(kDir / "v3_qlora.Q8_0.gguf", options);
  const ModelConfig& a = v3->config();
  EXPECT_EQ(a.num_hidden_layers, 2);
  EXPECT_EQ(a.hidden_size, 64);
  EXPECT_EQ(a.num_attention_heads, 2);
  EXPECT_EQ(a.q_lora_rank, 32);  // attn_q_a present
  EXPECT_EQ(a.kv_lora_rank, 32);
  EXPECT_EQ(a.qk_nope_head_dim, 32);
  EXPECT_EQ(a.qk_rope_head_dim, 16);
  EXPECT_EQ(a.v_head_dim, 32);
  EXPECT_EQ(a.n_routed_experts, 4);
  EXPECT_EQ(a.num_experts_per_tok, 2);
  EXPECT_EQ(a.n_shared_experts, 1);
  EXPECT_EQ(a.first_k_dense_replace, 1);
  EXPECT_EQ(a.scoring_func, ScoringFunc::Sigmoid);
  EXPECT_EQ(a.topk_method, TopkMethod::NoAuxTc);  // exp_probs_b present
  EXPECT_TRUE(a.norm_topk_prob);
  EXPECT_DOUBLE_EQ(a.routed_scaling_factor, 2.5);
  EXPECT_FALSE(a.tie_word_embeddings);
  EXPECT_EQ(a.vocab_size, 363);
  EXPECT_FALSE(a.rope_scaling.has_value());
  const std::string info = v3->describe();
  EXPECT_NE(info.find("layout: GGUF v3, architecture deepseek2, 34 tensors, alignment 32"), std::string::npos) << info;
  EXPECT_NE(info.find("quant mix: F32 (11 tensors"), std::string::npos) << info;
  EXPECT_NE(info.find("Q8_0 (23 tensors"), std::string::npos) << info;
  EXPECT_NE(info.find("tokenizer: gpt2, pre-tokenizer deepseek-v3, 363 tokens, 100 merges, chat template"),
            std::string::npos)
      << info;

  auto yarn = Model::load(kDir / "v3_yarn.Q8_0.gguf", options);
  ASSERT_TRUE(yarn->config().rope_scaling.has_value());
  const RopeScaling& y = *yarn->config().rope_scaling;
  EXPECT_DOUBLE_EQ(y.factor, 4.0);
  EXPECT_EQ(y.original_max_position_embeddings, 64);
  EXPECT_NEAR(y.mscale_all_dim, 0.707, 1e-6);  // yarn_log_multiplier 0.0707 (f32) / 0.1
  EXPECT_EQ(y.mscale, y.mscale_all_dim);
  EXPECT_DOUBLE_EQ(y.beta_fast, 32.0);
  EXPECT_DOUBLE_EQ(y.beta_slow, 1.0);
  EXPECT_DOUBLE_EQ(yarn->config().rope_theta, 500.0);

  auto lite = Model::load(kDir / "v2_lite_no_qlora.Q8_0.gguf", options);
  const ModelConfig& b = lite->config();
  EXPECT_EQ(b.num_hidden_layers, 27);
  EXPECT_EQ(b.q_lora_rank, 0);  // attn_q, no attn_q_a
  EXPECT_EQ(b.scoring_func, ScoringFunc::Softmax);
  EXPECT_EQ(b.topk_method, TopkMethod::Greedy);
  EXPECT_FALSE(b.norm_topk_prob);
  EXPECT_EQ(b.n_shared_experts, 2);
  EXPECT_EQ(b.first_k_dense_replace, 26);
  EXPECT_TRUE(b.tie_word_embeddings);  // no output.weight
}

TEST(GgufModel, TensorsAreUsedInPlaceUnderHuggingFaceNames) {
  GgufSource source(kDir / "v3_qlora.Q8_0.gguf");
  const TensorInfo* k_b = source.find("model.layers.0.self_attn.k_b_proj.weight");
  ASSERT_NE(k_b, nullptr);
  EXPECT_EQ(k_b->shape, (std::vector<int64_t>{2, 32, 32}));  // [heads, kv_lora, nope]
  EXPECT_EQ(k_b->dtype, DType::Q8_0);
  const TensorInfo* exps = source.find("model.layers.1.mlp.switch_mlp.down_proj.weight");
  ASSERT_NE(exps, nullptr);
  EXPECT_EQ(exps->shape, (std::vector<int64_t>{4, 64, 32}));  // [E, hidden, moe_inter]
  const TensorInfo* embd = source.find("model.embed_tokens.weight");
  ASSERT_NE(embd, nullptr);
  EXPECT_EQ(embd->shape, (std::vector<int64_t>{363, 64}));
  ASSERT_NE(source.find("model.layers.1.mlp.gate.e_score_correction_bias"), nullptr);
  // The bound weights point into the mapping: no copy of a matrix.
  LoadOptions options;
  options.threads = 1;
  auto model = DeepSeekModel::load_gguf(kDir / "v3_qlora.Q8_0.gguf", options);
  const std::byte* begin = source.mapped_files()[0]->data();
  const std::byte* end = begin + source.mapped_files()[0]->size();
  const WeightMatrix& w = model->weights().layers[0].attention.k_b_proj;
  EXPECT_TRUE(w.data >= begin && w.data < end);
  EXPECT_TRUE(model->weights().layers[0].attention.kv_b_proj.empty());
  EXPECT_TRUE(model->weights().owned.empty());
  EXPECT_TRUE(model->weights().warnings.empty());
}

// A model split by llama-gguf-split (tests/data/gguf/split/, tools/make_gguf_split_goldens.sh)
// runs from its first shard exactly as the one file: the same logits, bit for bit.
TEST(GgufModel, ASplitModelRunsAsTheOneFile) {
  LoadOptions options;
  options.threads = 1;
  auto whole = Model::load(kDir / "v3_qlora.Q8_0.gguf", options);
  auto split = Model::load(kDir / "split" / "v3_qlora.Q8_0-00001-of-00003.gguf", options);
  EXPECT_NE(split->describe().find("34 tensors, alignment 32, 3 shards"), std::string::npos) << split->describe();
  const std::vector<int32_t> ids = {1, 17, 42, 99, 5};
  const int64_t vocab = whole->config().vocab_size;
  ASSERT_EQ(split->config().vocab_size, vocab);
  std::vector<float> a(ids.size() * vocab), b(ids.size() * vocab);
  ASSERT_TRUE(InferenceContext::create(*whole, 8)->append(ids, {}, nullptr, a));
  ASSERT_TRUE(InferenceContext::create(*split, 8)->append(ids, {}, nullptr, b));
  EXPECT_EQ(a, b);
}

// The byte offset of tensor `name`'s type field in the tensor infos of a GGUF file's bytes.
size_t type_field_offset(const std::string& bytes, const std::string& name, uint32_t n_dims) {
  std::string key(8, '\0');
  const uint64_t len = name.size();
  std::memcpy(key.data(), &len, 8);
  key += name;
  const size_t at = bytes.find(key);
  EXPECT_NE(at, std::string::npos);
  return at + key.size() + 4 + 8 * n_dims;
}

TEST(GgufModel, AnUnsupportedTypeIsAnErrorNamingTheTensorAndTheType) {
  std::ifstream in(kDir / "v3_qlora.Q4_0.gguf", std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  // MXFP4 (id 39) takes 17 bytes per 32 values against Q4_0's 18: the tensor still lies inside
  // its bytes and overlaps nothing, so the file stays valid and only the type is refused.
  const size_t at = type_field_offset(bytes, "blk.0.attn_output.weight", 2);
  uint32_t type = 0;
  std::memcpy(&type, bytes.data() + at, 4);
  ASSERT_EQ(type, 2u);  // Q4_0
  type = 39;
  std::memcpy(bytes.data() + at, &type, 4);
  const fs::path dir = fs::temp_directory_path() / ("dschat-gguf-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const fs::path patched = dir / "mxfp4.gguf";
  std::ofstream(patched, std::ios::binary) << bytes;
  try {
    LoadOptions options;
    Model::load(patched, options);
    ADD_FAILURE() << "loaded";
  } catch (const ModelError& e) {
    EXPECT_EQ(std::string(e.what()), patched.string() +
                                         ": tensor 'blk.0.attn_output.weight' has type MXFP4, which dschat does not "
                                         "support (GGUF types that work: F32, F16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q2_K, Q3_K, "
                                         "Q4_K, Q5_K, Q6_K, IQ4_NL, IQ4_XS, BF16)");
  }
  fs::remove_all(dir);
}

// A copy of `source` with `replace` written over the bytes that follow the first `after`, loaded;
// the ModelError's text.
std::string load_error_with(const std::string& source, const std::string& after, const std::string& replace) {
  std::ifstream in(kDir / source, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const size_t at = bytes.find(after);
  EXPECT_NE(at, std::string::npos) << after;
  bytes.replace(at + after.size(), replace.size(), replace);
  const fs::path dir = fs::temp_directory_path() / ("dschat-gguf-key-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const fs::path patched = dir / "m.gguf";
  std::ofstream(patched, std::ios::binary) << bytes;
  std::string what = "(loaded)";
  try {
    Model::load(patched, LoadOptions{});
  } catch (const ModelError& e) {
    what = e.what();
    EXPECT_EQ(what.rfind(patched.string() + ": ", 0), 0u) << what;
    what = what.substr(patched.string().size() + 2);
  }
  fs::remove_all(dir);
  return what;
}

std::string u32_value(uint32_t v) {
  std::string type_and_value(8, '\0');
  const uint32_t type = 4;  // u32
  std::memcpy(type_and_value.data(), &type, 4);
  std::memcpy(type_and_value.data() + 4, &v, 4);
  return type_and_value;
}

TEST(GgufModel, WhatTheEngineCannotHonourIsAnErrorNamingTheKey) {
  EXPECT_EQ(load_error_with("v3_qlora.Q8_0.gguf", "deepseek2.expert_gating_func", u32_value(3)),
            "key 'deepseek2.expert_gating_func' is 3: only 1 (softmax) and 2 (sigmoid) are supported");
  EXPECT_EQ(load_error_with("v3_qlora.Q8_0.gguf", "general.architecture", std::string("\x08\0\0\0\x09\0\0\0\0\0\0\0qwen2moe_", 21)),
            "key 'general.architecture' is 'qwen2moe_': only llama.cpp's 'deepseek2' (DeepSeek-V2/V3, Moonlight, "
            "Kimi-K2) is supported");
  // Checks shared with config.json name the ModelConfig (Hugging Face) key.
  EXPECT_EQ(load_error_with("v3_qlora.Q8_0.gguf", "deepseek2.expert_used_count", u32_value(9)),
            "key 'num_experts_per_tok' (9) exceeds n_routed_experts (4)");
}

}  // namespace
}  // namespace dschat
