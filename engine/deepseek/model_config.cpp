// config.json -> ModelConfig. Defaults follow Hugging Face's DeepseekV3Config (and DeepSeek's own
// configuration_deepseek.py for the keys HF ignores: scoring_func, topk_method, moe_layer_freq).
#include "engine/deepseek/model_config.h"

#include <algorithm>
#include <cmath>

#include <nlohmann/json.hpp>

#include "engine/io/model_error.h"
#include "engine/io/model_file_read.h"
#include "common/json_limits.h"

namespace dschat {
namespace {

using nlohmann::json;

class ConfigReader {
 public:
  ConfigReader(const json& root, std::string source) : root_(root), source_(std::move(source)) {}

  [[noreturn]] void fail(const std::string& key, const std::string& why) const {
    throw ModelError(source_ + ": key '" + key + "' " + why);
  }

  bool has(const std::string& key) const { return root_.contains(key) && !root_.at(key).is_null(); }
  bool is_null(const std::string& key) const { return root_.contains(key) && root_.at(key).is_null(); }

  void read_int(const std::string& key, int& out) const {
    if (!has(key)) return;
    const json& v = root_.at(key);
    if (v.is_number_integer() || v.is_number_unsigned()) {
      long long x = v.get<long long>();
      if (x < INT32_MIN || x > INT32_MAX) fail(key, "is out of range: " + json_summary(v));
      out = static_cast<int>(x);
      return;
    }
    if (v.is_number_float()) {  // 4096.0 is fine, 4096.5 is not
      double d = v.get<double>();
      if (std::floor(d) == d && std::fabs(d) < 2e9) {
        out = static_cast<int>(d);
        return;
      }
    }
    fail(key, "must be an integer, got " + json_summary(v));
  }

  void read_double(const std::string& key, double& out) const {
    if (!has(key)) return;
    const json& v = root_.at(key);
    if (!v.is_number()) fail(key, "must be a number, got " + json_summary(v));
    out = v.get<double>();
    if (!std::isfinite(out)) fail(key, "must be finite");
  }

  void read_bool(const std::string& key, bool& out) const {
    if (!has(key)) return;
    const json& v = root_.at(key);
    if (!v.is_boolean()) fail(key, "must be true or false, got " + json_summary(v));
    out = v.get<bool>();
  }

  void read_string(const std::string& key, std::string& out) const {
    if (!has(key)) return;
    const json& v = root_.at(key);
    if (!v.is_string()) fail(key, "must be a string, got " + json_summary(v));
    out = v.get<std::string>();
  }

  const json& root() const { return root_; }
  const std::string& source() const { return source_; }

 private:
  const json& root_;
  std::string source_;
};

void read_rope_scaling(const ConfigReader& top, const json& rs, const std::string& key,
                       ModelConfig& config) {
  if (!rs.is_object()) top.fail(key, "must be an object or null, got " + json_summary(rs));
  ConfigReader r(rs, top.source());
  std::string type;
  r.read_string("type", type);
  if (type.empty()) r.read_string("rope_type", type);
  if (type.empty() || type == "default") return;  // plain RoPE
  if (type != "yarn") {
    top.fail(key, "has type '" + type + "': only 'yarn' rope scaling is implemented");
  }
  if (!r.has("factor")) top.fail(key + ".factor", "is required for yarn rope scaling");
  if (r.has("attention_factor")) {
    top.fail(key + ".attention_factor", "is not supported (DeepSeek derives it from mscale/mscale_all_dim)");
  }
  if (r.has("truncate") && !(rs.at("truncate").is_boolean() && rs.at("truncate").get<bool>())) {
    top.fail(key + ".truncate", "= false is not supported");
  }
  RopeScaling y;
  // DeepSeek's yarn defaults (modeling_deepseek.py DeepseekV3YarnRotaryEmbedding).
  y.original_max_position_embeddings = 4096;
  y.beta_fast = 32;
  y.beta_slow = 1;
  y.mscale = 1;
  y.mscale_all_dim = 0;
  auto sub = [&](const std::string& k) { return key + "." + k; };
  r.read_double("factor", y.factor);
  r.read_int("original_max_position_embeddings", y.original_max_position_embeddings);
  r.read_double("beta_fast", y.beta_fast);
  r.read_double("beta_slow", y.beta_slow);
  r.read_double("mscale", y.mscale);
  r.read_double("mscale_all_dim", y.mscale_all_dim);
  if (!(y.factor > 0)) top.fail(sub("factor"), "must be > 0, got " + std::to_string(y.factor));
  if (y.original_max_position_embeddings <= 0) top.fail(sub("original_max_position_embeddings"), "must be > 0");
  if (!(y.beta_fast > 0) || !(y.beta_slow > 0)) top.fail(sub("beta_fast/beta_slow"), "must be > 0");
  if (y.mscale < 0 || y.mscale_all_dim < 0) top.fail(sub("mscale/mscale_all_dim"), "must be >= 0");
  config.rope_scaling = y;
}

void read_eos(const ConfigReader& r, ModelConfig& config) {
  if (r.is_null("eos_token_id")) {
    config.eos_token_ids.clear();
    return;
  }
  if (!r.has("eos_token_id")) return;
  const json& v = r.root().at("eos_token_id");
  std::vector<int> ids;
  auto add = [&](const json& x) {
    if (!x.is_number_integer() || x.get<long long>() < 0 || x.get<long long>() > INT32_MAX) {
      r.fail("eos_token_id", "must be a non-negative integer or a list of them, got " + json_summary(v));
    }
    ids.push_back(x.get<int>());
  };
  if (v.is_array()) {
    for (const json& x : v) add(x);
  } else {
    add(v);
  }
  config.eos_token_ids = ids;
}

// DeepSeek-V3's FP8 checkpoints (inference/fp8_cast_bf16.py, kernel.py weight_dequant): e4m3
// weights, one F32 scale per 128x128 block. Activations are computed in float whatever
// activation_scheme says (dynamic FP8 activations only approximate that).
void read_quantization_config(const ConfigReader& top, const json& q, ModelConfig& c) {
  const std::string key = "quantization_config";
  if (!q.is_object()) top.fail(key, "must be an object, got " + json_summary(q));
  ConfigReader r(q, top.source());
  std::string method;
  r.read_string("quant_method", method);
  if (method != "fp8") {
    top.fail(key + ".quant_method", "is '" + method +
                                        "': only 'fp8' (the published FP8 DeepSeek-V3/Kimi-K2 block scales) is "
                                        "supported; use a BF16/F16/F32 or FP8 checkpoint");
  }
  std::string fmt = "e4m3";
  r.read_string("fmt", fmt);
  if (fmt != "e4m3") top.fail(key + ".fmt", "is '" + fmt + "': only e4m3 FP8 weights are supported");
  std::string activations = "dynamic";
  r.read_string("activation_scheme", activations);
  if (activations != "dynamic") {
    top.fail(key + ".activation_scheme", "is '" + activations + "': only 'dynamic' is supported");
  }
  // DeepSeek-V3.1 and later: "ue8m0" says the scales are powers of two (DeepGEMM's UE8M0 format for
  // the activations' scales); the weights' scales are still F32 weight_scale_inv tensors.
  std::string scale_fmt = "ue8m0";
  r.read_string("scale_fmt", scale_fmt);
  if (scale_fmt != "ue8m0") {
    top.fail(key + ".scale_fmt", "is '" + scale_fmt + "': only F32 block scales (absent, or 'ue8m0' as V3.1 has) are supported");
  }
  if (!q.contains("weight_block_size")) top.fail(key + ".weight_block_size", "is required for fp8");
  const json& b = q.at("weight_block_size");
  if (!(b.is_array() && b.size() == 2 && b[0].is_number_integer() && b[1].is_number_integer() &&
        b[0].get<long long>() == 128 && b[1].get<long long>() == 128)) {
    top.fail(key + ".weight_block_size", "is " + json_summary(b) + ": only [128, 128] blocks are supported");
  }
  c.fp8_block_scales = true;
}

}  // namespace

ModelConfig parse_model_config(const std::string& json_text, const std::string& source) {
  json root;
  try {
    root = parse_json_bounded(json_text);
  } catch (const json::exception& e) {
    throw ModelError(source + ": not valid JSON: " + e.what());
  } catch (const JsonTooDeep& e) {
    throw ModelError(source + ": " + e.what());
  }
  if (!root.is_object()) throw ModelError(source + ": expected a JSON object");
  ConfigReader r(root, source);

  ModelConfig c;
  r.read_string("model_type", c.model_type);
  if (c.model_type == "deepseek_v2") {  // DeepseekV2Config defaults differ
    c.vocab_size = 102400;
    c.hidden_size = 4096;
    c.intermediate_size = 11008;
    c.moe_intermediate_size = 1407;
    c.num_hidden_layers = 30;
    c.num_attention_heads = 32;
    c.num_key_value_heads = 32;
    c.n_shared_experts = 0;
    c.n_routed_experts = 0;
    c.routed_scaling_factor = 1.0;
    c.kv_lora_rank = 512;
    c.q_lora_rank = 1536;
    c.qk_rope_head_dim = 64;
    c.v_head_dim = 128;
    c.qk_nope_head_dim = 128;
    c.n_group = 1;
    c.topk_group = 1;
    c.num_experts_per_tok = 0;
    c.first_k_dense_replace = 0;
    c.norm_topk_prob = false;
    c.scoring_func = ScoringFunc::Softmax;
    c.topk_method = TopkMethod::Greedy;
    c.max_position_embeddings = 2048;
    c.bos_token_id = 100000;
    c.eos_token_ids = {100001};
  } else if (c.model_type == "deepseek_v32") {
    r.fail("model_type", "is 'deepseek_v32': DeepSeek-V3.2's sparse attention (its lightning indexer and top-k "
                         "token selection) is not implemented; dschat runs deepseek_v3, deepseek_v2 and kimi_k2");
  } else if (c.model_type != "deepseek_v3" && c.model_type != "kimi_k2") {
    r.fail("model_type", "is '" + c.model_type + "': expected deepseek_v3 (or deepseek_v2, kimi_k2)");
  }

  r.read_int("vocab_size", c.vocab_size);
  r.read_int("hidden_size", c.hidden_size);
  r.read_int("intermediate_size", c.intermediate_size);
  r.read_int("moe_intermediate_size", c.moe_intermediate_size);
  r.read_int("num_hidden_layers", c.num_hidden_layers);
  r.read_int("num_attention_heads", c.num_attention_heads);
  r.read_int("num_key_value_heads", c.num_key_value_heads);
  if (r.is_null("n_shared_experts")) c.n_shared_experts = 0;
  r.read_int("n_shared_experts", c.n_shared_experts);
  if (r.is_null("n_routed_experts")) c.n_routed_experts = 0;
  r.read_int("n_routed_experts", c.n_routed_experts);
  r.read_double("routed_scaling_factor", c.routed_scaling_factor);
  r.read_int("kv_lora_rank", c.kv_lora_rank);
  if (r.is_null("q_lora_rank")) c.q_lora_rank = 0;  // full-rank q_proj
  r.read_int("q_lora_rank", c.q_lora_rank);
  if (r.has("q_lora_rank") && c.q_lora_rank <= 0) r.fail("q_lora_rank", "must be > 0 or null");
  r.read_int("qk_rope_head_dim", c.qk_rope_head_dim);
  r.read_int("v_head_dim", c.v_head_dim);
  r.read_int("qk_nope_head_dim", c.qk_nope_head_dim);
  if (r.is_null("n_group")) c.n_group = 1;
  r.read_int("n_group", c.n_group);
  if (r.is_null("topk_group")) c.topk_group = 1;
  r.read_int("topk_group", c.topk_group);
  if (r.is_null("num_experts_per_tok")) c.num_experts_per_tok = 0;
  r.read_int("num_experts_per_tok", c.num_experts_per_tok);
  r.read_int("first_k_dense_replace", c.first_k_dense_replace);
  r.read_int("moe_layer_freq", c.moe_layer_freq);
  r.read_bool("norm_topk_prob", c.norm_topk_prob);

  std::string scoring = c.scoring_func == ScoringFunc::Sigmoid ? "sigmoid" : "softmax";
  r.read_string("scoring_func", scoring);
  if (scoring == "sigmoid") {
    c.scoring_func = ScoringFunc::Sigmoid;
  } else if (scoring == "softmax") {
    c.scoring_func = ScoringFunc::Softmax;
  } else {
    r.fail("scoring_func", "is '" + scoring + "': expected 'sigmoid' or 'softmax'");
  }
  if (r.has("topk_method")) {
    std::string method;
    r.read_string("topk_method", method);
    if (method == "noaux_tc") {
      c.topk_method = TopkMethod::NoAuxTc;
    } else if (method == "group_limited_greedy") {
      c.topk_method = TopkMethod::GroupLimitedGreedy;
    } else if (method == "greedy" || method == "gready") {  // DeepSeek-V2's code spells it "gready"
      c.topk_method = TopkMethod::Greedy;
    } else {
      r.fail("topk_method", "is '" + method + "': expected noaux_tc, group_limited_greedy or greedy");
    }
  }

  r.read_string("hidden_act", c.hidden_act);
  r.read_int("max_position_embeddings", c.max_position_embeddings);
  r.read_double("rms_norm_eps", c.rms_norm_eps);
  r.read_double("rope_theta", c.rope_theta);
  if (r.has("rope_scaling")) read_rope_scaling(r, root.at("rope_scaling"), "rope_scaling", c);
  if (r.has("rope_parameters")) {  // transformers v5 spelling: {rope_type, rope_theta, factor, ...}
    const json& rp = root.at("rope_parameters");
    if (rp.is_object() && rp.contains("rope_theta")) {
      ConfigReader(rp, source).read_double("rope_theta", c.rope_theta);
    }
    read_rope_scaling(r, rp, "rope_parameters", c);
  }
  r.read_bool("rope_interleave", c.rope_interleave);
  r.read_bool("tie_word_embeddings", c.tie_word_embeddings);
  r.read_bool("attention_bias", c.attention_bias);
  r.read_int("num_nextn_predict_layers", c.num_nextn_predict_layers);
  if (r.is_null("bos_token_id")) c.bos_token_id.reset();
  if (r.has("bos_token_id")) {
    int bos = 0;
    r.read_int("bos_token_id", bos);
    c.bos_token_id = bos;
  }
  read_eos(r, c);

  if (r.has("quantization")) {
    r.fail("quantization", "is set: MLX-quantized checkpoints are not supported; use a BF16/F16/F32 or FP8 checkpoint");
  }
  if (r.has("quantization_config")) read_quantization_config(r, root.at("quantization_config"), c);
  validate_model_config(c, source);
  return c;
}

void validate_model_config(const ModelConfig& c, const std::string& source) {
  auto fail = [&](const std::string& key, const std::string& why) {
    throw ModelError(source + ": key '" + key + "' " + why);
  };
  auto positive = [&](const std::string& key, long long v) {
    if (v <= 0) fail(key, "must be > 0, got " + std::to_string(v));
  };
  positive("vocab_size", c.vocab_size);
  positive("hidden_size", c.hidden_size);
  positive("num_hidden_layers", c.num_hidden_layers);
  positive("num_attention_heads", c.num_attention_heads);
  positive("kv_lora_rank", c.kv_lora_rank);
  positive("qk_rope_head_dim", c.qk_rope_head_dim);
  positive("qk_nope_head_dim", c.qk_nope_head_dim);
  positive("v_head_dim", c.v_head_dim);
  positive("max_position_embeddings", c.max_position_embeddings);
  positive("moe_layer_freq", c.moe_layer_freq);
  if (c.q_lora_rank < 0) fail("q_lora_rank", "must be > 0 or null");
  if (c.qk_rope_head_dim % 2 != 0) fail("qk_rope_head_dim", "must be even (RoPE rotates pairs)");
  if (c.first_k_dense_replace < 0) fail("first_k_dense_replace", "must be >= 0");
  if (c.n_shared_experts < 0) fail("n_shared_experts", "must be >= 0");
  if (c.n_routed_experts < 0) fail("n_routed_experts", "must be >= 0");
  if (c.num_nextn_predict_layers < 0) fail("num_nextn_predict_layers", "must be >= 0");
  if (!(c.rms_norm_eps > 0)) fail("rms_norm_eps", "must be > 0");
  if (!(c.rope_theta > 0)) fail("rope_theta", "must be > 0");
  if (c.hidden_act != "silu" && c.hidden_act != "swish") {
    fail("hidden_act", "is '" + c.hidden_act + "': only silu (SwiGLU) is implemented");
  }
  if (c.attention_bias) fail("attention_bias", "= true is not supported (DeepSeek-V3 has no attention biases)");

  bool any_dense = false, any_moe = false;
  // The layer kinds repeat with period moe_layer_freq after the first dense ones: those layers show
  // every kind (a loop over all of a num_hidden_layers of 2^31-1 took seconds).
  const int64_t kinds_seen = std::min<int64_t>(c.num_hidden_layers, int64_t{std::max(c.first_k_dense_replace, 0)} + c.moe_layer_freq);
  for (int l = 0; l < kinds_seen; ++l) (c.is_moe_layer(l) ? any_moe : any_dense) = true;
  if (any_dense) positive("intermediate_size", c.intermediate_size);
  if (any_moe) {
    positive("moe_intermediate_size", c.moe_intermediate_size);
    positive("num_experts_per_tok", c.num_experts_per_tok);
    if (c.num_experts_per_tok > c.n_routed_experts) {
      fail("num_experts_per_tok", "(" + std::to_string(c.num_experts_per_tok) + ") exceeds n_routed_experts (" +
                                      std::to_string(c.n_routed_experts) + ")");
    }
    if (!std::isfinite(c.routed_scaling_factor) || c.routed_scaling_factor <= 0) {
      fail("routed_scaling_factor", "must be > 0");
    }
    bool grouped = c.topk_method != TopkMethod::Greedy;
    if (grouped) {
      positive("n_group", c.n_group);
      if (c.n_routed_experts % c.n_group != 0) {
        fail("n_group", "(" + std::to_string(c.n_group) + ") does not divide n_routed_experts (" +
                            std::to_string(c.n_routed_experts) + ")");
      }
      if (c.topk_group < 1 || c.topk_group > c.n_group) {
        fail("topk_group", "must be in [1, n_group=" + std::to_string(c.n_group) + "], got " +
                               std::to_string(c.topk_group));
      }
      int per_group = c.n_routed_experts / c.n_group;
      if (c.topk_method == TopkMethod::NoAuxTc && c.n_group > 1 && per_group < 2) {
        fail("n_group", "leaves fewer than 2 experts per group (noaux_tc ranks groups by their top-2 sum)");
      }
      if (per_group * c.topk_group < c.num_experts_per_tok) {
        fail("topk_group", "keeps " + std::to_string(per_group * c.topk_group) +
                               " experts, fewer than num_experts_per_tok (" +
                               std::to_string(c.num_experts_per_tok) + ")");
      }
    }
  }
  if (c.rope_scaling && c.rope_scaling->factor <= 0) fail("rope_scaling.factor", "must be > 0");
  if (c.bos_token_id && (*c.bos_token_id < 0)) fail("bos_token_id", "must be >= 0");
}

ModelConfig load_model_config(const std::filesystem::path& config_json) {
  return parse_model_config(read_model_file(config_json, kJsonConfigLimit), config_json.string());
}

}  // namespace dschat
