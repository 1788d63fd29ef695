// GGUF metadata of llama.cpp's architecture `deepseek2` -> ModelConfig. The keys are those the
// converter writes (llama.cpp conversion/deepseek.py DeepseekV2Model.set_gguf_parameters and
// conversion/base.py) and the loader reads (src/models/deepseek2.cpp load_arch_hparams); where
// the file says nothing, the loader's defaults.
#include <algorithm>
#include <cmath>
#include <limits>

#include "engine/deepseek/model_config.h"
#include "engine/io/gguf_shards.h"
#include "engine/io/model_error.h"

namespace dschat {
namespace {

class MetadataReader {
 public:
  MetadataReader(const GgufFile& file, std::string arch) : file_(file), arch_(std::move(arch)) {}

  std::string key(const std::string& name) const { return arch_ + "." + name; }
  [[noreturn]] void fail(const std::string& k, const std::string& why) const {
    throw ModelError(file_.path().string() + ": key '" + k + "' " + why);
  }
  const GgufValue* find(const std::string& name) const { return file_.find(key(name)); }
  bool has(const std::string& name) const { return find(name) != nullptr; }

  // An integer key into `out` (unchanged when absent; required: an error when absent).
  void read_int(const std::string& name, int& out, bool required = false) const {
    const GgufValue* v = find(name);
    if (!v) {
      if (required) fail(key(name), "is missing");
      return;
    }
    if (!v->is_integer()) fail(key(name), "must be an integer, got " + v->summary());
    if (v->type == GgufType::U64 ? v->uint_value > uint64_t{INT32_MAX}
                                 : (v->int_value < 0 || v->int_value > INT32_MAX)) {
      fail(key(name), "is out of range: " + v->summary());
    }
    out = static_cast<int>(v->int_value);
  }
  void read_double(const std::string& name, double& out, bool required = false) const {
    const GgufValue* v = find(name);
    if (!v) {
      if (required) fail(key(name), "is missing");
      return;
    }
    if (v->is_float()) {
      out = v->float_value;
    } else if (v->is_integer()) {
      out = static_cast<double>(v->int_value);
    } else {
      fail(key(name), "must be a number, got " + v->summary());
    }
    if (!std::isfinite(out)) fail(key(name), "must be finite");
  }
  void read_bool(const std::string& name, bool& out) const {
    const GgufValue* v = find(name);
    if (!v) return;
    if (v->type != GgufType::Bool) fail(key(name), "must be a bool, got " + v->summary());
    out = v->int_value != 0;
  }
  std::string read_string(const std::string& full_key) const {
    const GgufValue* v = file_.find(full_key);
    if (!v) return "";
    if (v->type != GgufType::String) fail(full_key, "must be a string, got " + v->summary());
    return v->string_value;
  }

 private:
  const GgufFile& file_;
  std::string arch_;
};

bool has_block_tensor(const GgufShards& shards, int layers, const std::string& suffix) {
  for (int l = 0; l < layers; ++l) {
    if (shards.find_tensor("blk." + std::to_string(l) + "." + suffix)) return true;
  }
  return false;
}

}  // namespace

ModelConfig gguf_model_config(const GgufShards& shards) {
  const GgufFile& file = shards.first();  // the metadata; the tensors are in every shard
  const std::string fname = file.path().string();
  MetadataReader top(file, "");
  const std::string arch = top.read_string("general.architecture");
  if (arch.empty()) throw ModelError(fname + ": key 'general.architecture' is missing");
  if (arch != "deepseek2") {
    throw ModelError(fname + ": key 'general.architecture' is '" + arch +
                     "': only llama.cpp's 'deepseek2' (DeepSeek-V2/V3, Moonlight, Kimi-K2) is supported");
  }
  MetadataReader r(file, arch);
  ModelConfig c;
  c.model_type = "deepseek2 (GGUF)";
  r.read_int("block_count", c.num_hidden_layers, true);
  // MTP ("nextn") blocks are the last nextn_predict_layers of block_count (llama-hparams.cpp
  // n_layer() = n_layer_all - n_layer_nextn; conversion/glm.py writes them so).
  c.num_nextn_predict_layers = 0;
  r.read_int("nextn_predict_layers", c.num_nextn_predict_layers);
  if (c.num_nextn_predict_layers >= c.num_hidden_layers) {
    r.fail(r.key("nextn_predict_layers"), "is " + std::to_string(c.num_nextn_predict_layers) +
                                              ": must be less than block_count (" +
                                              std::to_string(c.num_hidden_layers) + "), which counts them");
  }
  c.num_hidden_layers -= c.num_nextn_predict_layers;
  r.read_int("embedding_length", c.hidden_size, true);
  r.read_int("context_length", c.max_position_embeddings, true);
  r.read_int("attention.head_count", c.num_attention_heads, true);
  c.num_key_value_heads = c.num_attention_heads;  // the file says 1: llama.cpp runs MLA as MQA
  r.read_double("attention.layer_norm_rms_epsilon", c.rms_norm_eps, true);
  r.read_int("attention.kv_lora_rank", c.kv_lora_rank, true);
  r.read_int("rope.dimension_count", c.qk_rope_head_dim, true);
  c.rope_theta = 10000.0;
  r.read_double("rope.freq_base", c.rope_theta);
  c.rope_interleave = true;  // llama.cpp's LLAMA_ROPE_TYPE_NORM: adjacent pairs, DeepSeek's own form

  // Head sizes: files since the MLA split write the MQA view (key_length = kv_lora + rope,
  // value_length = kv_lora) and the real heads in the _mla keys; older files only the real heads.
  int key_length = 0, value_length = 0;
  if (r.has("attention.key_length_mla") || r.has("attention.value_length_mla")) {
    r.read_int("attention.key_length_mla", key_length, true);
    r.read_int("attention.value_length_mla", value_length, true);
  } else {
    r.read_int("attention.key_length", key_length, true);
    r.read_int("attention.value_length", value_length, true);
  }
  if (key_length <= c.qk_rope_head_dim) {
    std::string why = "(";  // built piecewise: GCC 12 misreports "(" + std::string (-Wrestrict)
    why += std::to_string(key_length);
    why += ") must exceed rope.dimension_count (" + std::to_string(c.qk_rope_head_dim) + ")";
    r.fail(r.key(r.has("attention.key_length_mla") ? "attention.key_length_mla" : "attention.key_length"), why);
  }
  c.qk_nope_head_dim = key_length - c.qk_rope_head_dim;
  c.v_head_dim = value_length;

  // q_lora by the tensors present: V2-Lite and Moonlight have attn_q, V2/V3 attn_q_a.
  const bool has_q_a = has_block_tensor(shards, c.num_hidden_layers, "attn_q_a.weight");
  if (has_q_a) {
    c.q_lora_rank = 0;
    r.read_int("attention.q_lora_rank", c.q_lora_rank, true);
    if (c.q_lora_rank <= 0) r.fail(r.key("attention.q_lora_rank"), "must be > 0 when attn_q_a tensors are present");
  } else {
    c.q_lora_rank = 0;
  }

  // Feed-forward and experts.
  r.read_int("feed_forward_length", c.intermediate_size, true);
  c.n_routed_experts = 0;
  r.read_int("expert_count", c.n_routed_experts);
  c.first_k_dense_replace = 0;
  r.read_int("leading_dense_block_count", c.first_k_dense_replace);
  c.moe_layer_freq = 1;
  c.n_shared_experts = 0;
  c.num_experts_per_tok = 0;
  if (c.n_routed_experts > 0) {
    r.read_int("expert_used_count", c.num_experts_per_tok, true);
    r.read_int("expert_feed_forward_length", c.moe_intermediate_size, true);
    r.read_int("expert_shared_count", c.n_shared_experts, true);
  }
  c.routed_scaling_factor = 1.0;
  r.read_double("expert_weights_scale", c.routed_scaling_factor);
  c.norm_topk_prob = false;
  r.read_bool("expert_weights_norm", c.norm_topk_prob);
  int gating = 1;  // absent in DeepSeek-V2 files: softmax (the loader's default for them)
  r.read_int("expert_gating_func", gating);
  if (gating == 1) {
    c.scoring_func = ScoringFunc::Softmax;
  } else if (gating == 2) {
    c.scoring_func = ScoringFunc::Sigmoid;
  } else {
    r.fail(r.key("expert_gating_func"),
           "is " + std::to_string(gating) + ": only 1 (softmax) and 2 (sigmoid) are supported");
  }
  c.n_group = 1;
  c.topk_group = 1;
  r.read_int("expert_group_count", c.n_group);
  r.read_int("expert_group_used_count", c.topk_group);
  // topk_method is not in the file: the score-correction bias means V3's noaux_tc; otherwise
  // groups mean V2's group_limited_greedy, and one group plain top-k.
  const bool has_bias = has_block_tensor(shards, c.num_hidden_layers, "exp_probs_b.bias") ||
                        has_block_tensor(shards, c.num_hidden_layers, "exp_probs_b");
  c.topk_method = has_bias ? TopkMethod::NoAuxTc : c.n_group > 1 ? TopkMethod::GroupLimitedGreedy : TopkMethod::Greedy;

  // RoPE scaling.
  const std::string scaling = r.read_string(r.key("rope.scaling.type"));
  if (scaling == "yarn") {
    RopeScaling y;
    r.read_double("rope.scaling.factor", y.factor, true);
    r.read_int("rope.scaling.original_context_length", y.original_max_position_embeddings, true);
    r.read_double("rope.scaling.yarn_beta_fast", y.beta_fast);
    r.read_double("rope.scaling.yarn_beta_slow", y.beta_slow);
    // The converter writes yarn_log_multiplier = 0.1 · mscale_all_dim ([TAG_DEEPSEEK2_YARN_LOG_MUL_FIX]);
    // mscale is not written and llama.cpp takes it equal to mscale_all_dim (DeepSeek's configs:
    // both 1.0, or both 0.707), so the rotary attention factor is 1 and only the softmax scale grows.
    double log_mul = 0;
    r.read_double("rope.scaling.yarn_log_multiplier", log_mul, true);
    y.mscale_all_dim = log_mul / 0.1;
    y.mscale = y.mscale_all_dim;
    for (const char* k : {"rope.scaling.attn_factor", "rope.scaling.yarn_attn_factor"}) {
      double f = 1.0;
      r.read_double(k, f);
      if (f != 1.0) r.fail(r.key(k), "= " + std::to_string(f) + " is not supported (DeepSeek derives it from mscale)");
    }
    double ext = -1.0;
    r.read_double("rope.scaling.yarn_ext_factor", ext);
    if (ext != -1.0 && ext != 1.0)
      r.fail(r.key("rope.scaling.yarn_ext_factor"), "= " + std::to_string(ext) + " is not supported");
    if (!(y.factor > 0)) r.fail(r.key("rope.scaling.factor"), "must be > 0");
    if (y.original_max_position_embeddings <= 0) r.fail(r.key("rope.scaling.original_context_length"), "must be > 0");
    c.rope_scaling = y;
  } else if (!scaling.empty() && scaling != "none") {
    r.fail(r.key("rope.scaling.type"), "is '" + scaling + "': only yarn rope scaling is implemented");
  }

  // Vocabulary and special tokens.
  int vocab = 0;
  if (r.has("vocab_size")) {
    r.read_int("vocab_size", vocab);
  } else if (const GgufValue* tokens = file.find("tokenizer.ggml.tokens")) {
    vocab = static_cast<int>(std::min<uint64_t>(tokens->array_size(), INT32_MAX));
  }
  if (const GgufShards::Tensor* found = shards.find_tensor("token_embd.weight");
      found && found->tensor->ne.size() == 2) {
    const GgufTensor* embd = found->tensor;
    if (vocab == 0) vocab = static_cast<int>(std::min<uint64_t>(embd->ne[1], INT32_MAX));
  }
  c.vocab_size = vocab;
  c.tie_word_embeddings = shards.find_tensor("output.weight") == nullptr;
  c.bos_token_id.reset();
  c.eos_token_ids.clear();
  MetadataReader tok(file, "tokenizer.ggml");
  if (tok.has("bos_token_id")) {
    int bos = 0;
    tok.read_int("bos_token_id", bos);
    c.bos_token_id = bos;
  }
  if (tok.has("eos_token_id")) {
    int eos = 0;
    tok.read_int("eos_token_id", eos);
    c.eos_token_ids = {eos};
  }
  validate_model_config(c, fname);
  return c;
}

}  // namespace dschat
