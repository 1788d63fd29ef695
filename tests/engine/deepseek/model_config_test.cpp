#include "engine/deepseek/model_config.h"

#include <gtest/gtest.h>

#include "engine/model.h"
#include "tests/engine/checkpoint_writer.h"

namespace dschat {
namespace {

using nlohmann::json;

ModelConfig parse(const json& j) { return parse_model_config(j.dump(), "test/config.json"); }

// Expects ModelError whose message names the file and contains every fragment.
void expect_error(const json& j, std::initializer_list<std::string> fragments) {
  try {
    parse(j);
    ADD_FAILURE() << "no error for " << j.dump();
  } catch (const ModelError& e) {
    std::string m = e.what();
    EXPECT_NE(m.find("test/config.json"), std::string::npos) << m;
    for (const std::string& f : fragments) EXPECT_NE(m.find(f), std::string::npos) << "'" << f << "' not in: " << m;
  }
}

json with(json j, const std::string& key, const json& value) {
  j[key] = value;
  return j;
}

// config.json with a value nested 100k deep is refused while parsing (it used to overflow the stack
// in the error message's dump()); a nested value that fails a check is described by kind and size.
TEST(ModelConfigJson, DeepNestingIsAClearError) {
  const int depth = 100000;
  const std::string deep = "{\"hidden_size\": " + std::string(depth, '[') + std::string(depth, ']') + "}";
  try {
    parse_model_config(deep, "dir/config.json");
    FAIL() << "accepted";
  } catch (const ModelError& e) {
    EXPECT_NE(std::string(e.what()).find("dir/config.json: JSON nested deeper than 256 levels"), std::string::npos)
        << e.what();
  }
  try {
    parse_model_config(R"({"hidden_size": [[[1, 2]]]})", "dir/config.json");
    FAIL() << "accepted";
  } catch (const ModelError& e) {
    EXPECT_NE(std::string(e.what()).find("must be an integer, got an array of 1 elements"), std::string::npos)
        << e.what();
  }
}

TEST(ModelConfig, ReadsEveryKey) {
  json j = test::small_config();
  j["rope_scaling"] = {{"type", "yarn"}, {"factor", 4}, {"original_max_position_embeddings", 32}, {"beta_fast", 16},
                       {"beta_slow", 2}, {"mscale", 0.9}, {"mscale_all_dim", 0.8}};
  j["eos_token_id"] = {5, 7};
  j["bos_token_id"] = 3;
  j["tie_word_embeddings"] = true;
  ModelConfig c = parse(j);
  EXPECT_EQ(c.vocab_size, 96);
  EXPECT_EQ(c.hidden_size, 32);
  EXPECT_EQ(c.intermediate_size, 40);
  EXPECT_EQ(c.moe_intermediate_size, 12);
  EXPECT_EQ(c.num_hidden_layers, 3);
  EXPECT_EQ(c.num_attention_heads, 3);
  EXPECT_EQ(c.n_routed_experts, 8);
  EXPECT_EQ(c.n_shared_experts, 1);
  EXPECT_DOUBLE_EQ(c.routed_scaling_factor, 2.5);
  EXPECT_EQ(c.kv_lora_rank, 16);
  EXPECT_EQ(c.q_lora_rank, 24);
  EXPECT_EQ(c.qk_rope_head_dim, 8);
  EXPECT_EQ(c.qk_nope_head_dim, 12);
  EXPECT_EQ(c.v_head_dim, 10);
  EXPECT_EQ(c.n_group, 4);
  EXPECT_EQ(c.topk_group, 2);
  EXPECT_EQ(c.num_experts_per_tok, 3);
  EXPECT_EQ(c.first_k_dense_replace, 1);
  EXPECT_TRUE(c.norm_topk_prob);
  EXPECT_EQ(c.scoring_func, ScoringFunc::Sigmoid);
  EXPECT_EQ(c.topk_method, TopkMethod::NoAuxTc);
  EXPECT_EQ(c.max_position_embeddings, 128);
  ASSERT_TRUE(c.rope_scaling.has_value());
  EXPECT_DOUBLE_EQ(c.rope_scaling->factor, 4);
  EXPECT_EQ(c.rope_scaling->original_max_position_embeddings, 32);
  EXPECT_DOUBLE_EQ(c.rope_scaling->beta_fast, 16);
  EXPECT_DOUBLE_EQ(c.rope_scaling->beta_slow, 2);
  EXPECT_DOUBLE_EQ(c.rope_scaling->mscale, 0.9);
  EXPECT_DOUBLE_EQ(c.rope_scaling->mscale_all_dim, 0.8);
  EXPECT_TRUE(c.tie_word_embeddings);
  EXPECT_EQ(c.bos_token_id, 3);
  EXPECT_EQ(c.eos_token_ids, (std::vector<int>{5, 7}));
  EXPECT_EQ(c.qk_head_dim(), 20);
  EXPECT_FALSE(c.is_moe_layer(0));
  EXPECT_TRUE(c.is_moe_layer(1));
}

TEST(ModelConfig, MissingKeysTakeHuggingFaceDefaults) {
  ModelConfig c = parse(json{{"model_type", "deepseek_v3"}});
  // DeepseekV3Config defaults (transformers configuration_deepseek_v3.py).
  EXPECT_EQ(c.vocab_size, 129280);
  EXPECT_EQ(c.hidden_size, 7168);
  EXPECT_EQ(c.num_hidden_layers, 61);
  EXPECT_EQ(c.q_lora_rank, 1536);
  EXPECT_EQ(c.kv_lora_rank, 512);
  EXPECT_EQ(c.n_routed_experts, 256);
  EXPECT_EQ(c.num_experts_per_tok, 8);
  EXPECT_EQ(c.n_group, 8);
  EXPECT_EQ(c.topk_group, 4);
  EXPECT_EQ(c.first_k_dense_replace, 3);
  EXPECT_DOUBLE_EQ(c.routed_scaling_factor, 2.5);
  EXPECT_DOUBLE_EQ(c.rms_norm_eps, 1e-6);
  EXPECT_EQ(c.scoring_func, ScoringFunc::Sigmoid);
  EXPECT_EQ(c.topk_method, TopkMethod::NoAuxTc);
  EXPECT_FALSE(c.rope_scaling.has_value());
  EXPECT_FALSE(c.tie_word_embeddings);
  EXPECT_EQ(c.eos_token_ids, std::vector<int>{1});
  // A missing model_type is DeepSeek-V3 too.
  EXPECT_EQ(parse(json::object()).hidden_size, 7168);
}

TEST(ModelConfig, DeepSeekV2DefaultsAndNulls) {
  json j = test::small_config();
  j["model_type"] = "deepseek_v2";
  j.erase("scoring_func");
  j.erase("topk_method");
  j["q_lora_rank"] = nullptr;
  j["n_group"] = nullptr;
  j["topk_group"] = nullptr;
  j["eos_token_id"] = 100001;
  ModelConfig c = parse(j);
  EXPECT_EQ(c.q_lora_rank, 0);  // null: full-rank q_proj
  EXPECT_EQ(c.scoring_func, ScoringFunc::Softmax);
  EXPECT_EQ(c.topk_method, TopkMethod::Greedy);
  EXPECT_EQ(c.n_group, 1);
  EXPECT_EQ(c.eos_token_ids, std::vector<int>{100001});
  EXPECT_EQ(parse(with(j, "topk_method", "gready")).topk_method, TopkMethod::Greedy);  // V2's own spelling
  EXPECT_EQ(parse(with(with(j, "topk_method", "group_limited_greedy"), "n_group", 2)).topk_method,
            TopkMethod::GroupLimitedGreedy);
}

TEST(ModelConfig, RopeScalingVariants) {
  json j = test::small_config();
  EXPECT_FALSE(parse(with(j, "rope_scaling", nullptr)).rope_scaling.has_value());
  EXPECT_FALSE(parse(with(j, "rope_scaling", {{"rope_type", "default"}})).rope_scaling.has_value());
  ModelConfig yarn = parse(with(j, "rope_scaling", {{"rope_type", "yarn"}, {"factor", 40}}));
  ASSERT_TRUE(yarn.rope_scaling.has_value());
  EXPECT_DOUBLE_EQ(yarn.rope_scaling->factor, 40);  // an integer factor is still YaRN
  EXPECT_EQ(yarn.rope_scaling->original_max_position_embeddings, 4096);
  EXPECT_DOUBLE_EQ(yarn.rope_scaling->beta_fast, 32);
  EXPECT_DOUBLE_EQ(yarn.rope_scaling->beta_slow, 1);
  EXPECT_DOUBLE_EQ(yarn.rope_scaling->mscale, 1);
  EXPECT_DOUBLE_EQ(yarn.rope_scaling->mscale_all_dim, 0);
  expect_error(with(j, "rope_scaling", {{"type", "linear"}, {"factor", 2}}), {"rope_scaling", "linear", "yarn"});
  expect_error(with(j, "rope_scaling", {{"type", "dynamic"}, {"factor", 2}}), {"rope_scaling", "dynamic"});
  expect_error(with(j, "rope_scaling", {{"type", "yarn"}}), {"rope_scaling.factor", "required"});
  expect_error(with(j, "rope_scaling", {{"type", "yarn"}, {"factor", -1}}), {"rope_scaling.factor", "> 0"});
  expect_error(with(j, "rope_scaling", "yarn"), {"rope_scaling", "object"});
}

TEST(ModelConfig, RejectsWhatTheEngineCannotHonour) {
  json j = test::small_config();
  expect_error(with(j, "scoring_func", "relu"), {"scoring_func", "relu"});
  expect_error(with(j, "topk_method", "random"), {"topk_method", "random"});
  expect_error(with(j, "hidden_act", "gelu"), {"hidden_act", "gelu", "silu"});
  expect_error(with(j, "model_type", "llama"), {"model_type", "llama"});
  expect_error(with(j, "hidden_size", 0), {"hidden_size", "> 0"});
  expect_error(with(j, "num_attention_heads", -2), {"num_attention_heads"});
  expect_error(with(j, "kv_lora_rank", 0), {"kv_lora_rank"});
  expect_error(with(j, "q_lora_rank", 0), {"q_lora_rank"});
  expect_error(with(j, "qk_rope_head_dim", 7), {"qk_rope_head_dim", "even"});
  expect_error(with(j, "num_experts_per_tok", 9), {"num_experts_per_tok", "exceeds", "n_routed_experts"});
  expect_error(with(j, "n_group", 3), {"n_group", "does not divide"});
  expect_error(with(j, "topk_group", 5), {"topk_group"});
  expect_error(with(with(j, "topk_group", 1), "num_experts_per_tok", 3), {"topk_group", "fewer than num_experts_per_tok"});
  expect_error(with(j, "n_group", 8), {"n_group", "fewer than 2 experts per group"});
  expect_error(with(j, "moe_layer_freq", 0), {"moe_layer_freq"});
  expect_error(with(j, "rms_norm_eps", 0), {"rms_norm_eps"});
  expect_error(with(j, "attention_bias", true), {"attention_bias"});
  expect_error(with(j, "hidden_size", "big"), {"hidden_size", "integer"});
  expect_error(with(j, "hidden_size", 32.5), {"hidden_size", "integer"});
  expect_error(with(j, "norm_topk_prob", 1), {"norm_topk_prob", "true or false"});
  expect_error(with(j, "eos_token_id", "x"), {"eos_token_id"});
  expect_error(with(j, "quantization_config", {{"quant_method", "fp8"}}), {"quantization_config.weight_block_size", "required"});
  const json fp8 = {{"quant_method", "fp8"}, {"fmt", "e4m3"}, {"activation_scheme", "dynamic"}, {"weight_block_size", {128, 128}}};
  expect_error(with(j, "quantization_config", with(fp8, "quant_method", "gptq")), {"quant_method", "'gptq'", "only 'fp8'"});
  expect_error(with(j, "quantization_config", with(fp8, "fmt", "e5m2")), {"quantization_config.fmt", "e5m2"});
  expect_error(with(j, "quantization_config", with(fp8, "activation_scheme", "static")), {"activation_scheme", "static"});
  expect_error(with(j, "quantization_config", with(fp8, "weight_block_size", {64, 64})), {"weight_block_size", "[128, 128]"});
  expect_error(with(j, "quantization_config", "fp8"), {"quantization_config", "must be an object"});
  expect_error(with(j, "quantization", {{"group_size", 64}}), {"quantization", "MLX"});
  expect_error(with(j, "model_type", "deepseek_v32"), {"deepseek_v32", "sparse attention", "not implemented"});
  EXPECT_FALSE(parse_model_config(j.dump(), "config.json").fp8_block_scales);
  EXPECT_TRUE(parse_model_config(with(j, "quantization_config", fp8).dump(), "config.json").fp8_block_scales);
  // DeepSeek-V3.1's quantization_config adds "scale_fmt": "ue8m0" (power-of-two F32 scales).
  EXPECT_TRUE(parse_model_config(with(j, "quantization_config", with(fp8, "scale_fmt", "ue8m0")).dump(), "config.json")
                  .fp8_block_scales);
  expect_error(with(j, "quantization_config", with(fp8, "scale_fmt", "e8m0fnu")), {"quantization_config.scale_fmt", "e8m0fnu"});
  try {
    parse_model_config("{not json", "dir/config.json");
    ADD_FAILURE();
  } catch (const ModelError& e) {
    EXPECT_NE(std::string(e.what()).find("dir/config.json: not valid JSON"), std::string::npos) << e.what();
  }
}

TEST(ModelConfig, LoadsFromFile) {
  test::TempDir dir;
  std::ofstream(dir / "config.json") << test::small_config().dump();
  EXPECT_EQ(load_model_config(dir / "config.json").hidden_size, 32);
  try {
    load_model_config(dir / "missing.json");
    ADD_FAILURE();
  } catch (const ModelError& e) {
    EXPECT_NE(std::string(e.what()).find("missing.json"), std::string::npos);
  }
}

}  // namespace
}  // namespace dschat
