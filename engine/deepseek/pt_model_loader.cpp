// The .pt adapter: a PyTorch checkpoint of one of the two small from-scratch DeepSeek-V3 variants
// (reference/checkpoint-formats.md sections 1 and 4) becomes a ModelConfig (the variant choices
// set, sizes inferred from tensor shapes) and ModelWeights for the one forward pass.
//
//   Mayank (DeepSeek-from-Scratch; raw state dict, keys wte/wpe/h.N.attn/...):
//     q_b_proj   = per head [q_decompress_h (64 rows) ; q_rope_proj_h (32 rows)]   (rotary query from c_q)
//     kv_a_proj  = [kv_proj (kv_lora rows) ; k_rope_proj (heads·32 rows)]            (rotary key per head from x)
//     kv_b_proj  = per head [k_decompress_h ; v_decompress_h]
//     no q norm, RMSNorm w·x/(rms+eps) eps 1e-6, wpe, o_proj and expert biases, router logits + expert_bias;
//     mtp_heads.N = an MTP module (model_weights.h MtpWeights: hidden first, biased combine_proj).
//   ERA (ERA_V4_Sessio15; {'model_state_dict', 'config': model.DeepSeekV3Config, ...}):
//     q_proj full rank; kv_a_proj = kv_down_proj (no rotary rows); kv_b_proj = per head
//     [k_nope rows of kv_up_proj ; kv_v_proj_h]; k_rope_from_latent = per head rotary rows of kv_up_proj;
//     experts Linear-SiLU-Linear; softmax over all experts, top-k renormalised.
// The interleavings are copies (a few MB); everything else is a view into the mapped file.
// Sizes come from the shapes; what shapes cannot tell (heads of ERA, its nope/rope split, top-k)
// comes from the pickled config object with the class defaults, or defaults of the projects;
// a config.json beside the file overrides.
#include <cmath>
#include <cstring>
#include <set>

#include <nlohmann/json.hpp>

#include "engine/deepseek/deepseek_model.h"
#include "engine/deepseek/weight_binder.h"
#include "engine/io/model_file_read.h"
#include "engine/io/pt_tensor_source.h"

namespace dschat {
namespace {

// ERA's DeepSeekV3Config class defaults (model.py at be666b3): fields absent from the pickled
// object read through to these.
struct EraDefaults {
  int q_lora_rank = 0;
  int qk_rope_head_dim = 64;
  int qk_nope_head_dim = 64;
  int v_head_dim = 64;
  int num_attention_heads = 9;
  int num_experts_per_tok = 2;
  int max_position_embeddings = 2048;
  double rms_norm_eps = 1e-5;
  double rope_theta = 10000.0;
  bool tie_word_embeddings = true;
  std::string hidden_act = "silu";
};

// Number of consecutive indices N in names "<prefix>N.<rest>" (layers, experts), from 0.
int count_indexed(const PtCheckpoint& ckpt, const std::string& prefix) {
  std::set<int> seen;
  for (const PtTensor& t : ckpt.tensors()) {
    if (!t.name.starts_with(prefix)) continue;
    size_t end = t.name.find('.', prefix.size());
    const std::string digits = t.name.substr(prefix.size(), end == std::string::npos ? std::string::npos : end - prefix.size());
    if (digits.empty() || digits.size() > 6 || digits.find_first_not_of("0123456789") != std::string::npos) continue;
    seen.insert(std::stoi(digits));
  }
  int n = 0;
  while (seen.count(n)) ++n;
  return n;
}

void gpt2_tokens(ModelConfig& c) {  // both projects use tiktoken "gpt2": no BOS, <|endoftext|> = 50256
  c.bos_token_id.reset();
  c.eos_token_ids.clear();
  if (c.vocab_size > 50256) c.eos_token_ids.push_back(50256);
}

// ---- Mayank -------------------------------------------------------------------------------------

ModelConfig mayank_config(const PtCheckpoint& ckpt, WeightBinder& b) {
  ModelConfig c;
  c.model_type = "deepseek_v3 (DeepSeek-from-Scratch .pt)";
  const auto& wte = b.shape("wte.weight", 2);
  c.vocab_size = static_cast<int>(wte[0]);
  c.hidden_size = static_cast<int>(wte[1]);
  c.max_position_embeddings = static_cast<int>(b.shape("wpe.weight", 2)[0]);
  c.num_hidden_layers = count_indexed(ckpt, "h.");
  if (c.num_hidden_layers == 0) b.fail("no layers h.0.* in the state dict");
  c.num_nextn_predict_layers = count_indexed(ckpt, "mtp_heads.");  // the MTP head(s), for drafting
  c.kv_lora_rank = static_cast<int>(b.shape("h.0.attn.kv_proj.weight", 2)[0]);
  c.q_lora_rank = static_cast<int>(b.shape("h.0.attn.q_proj.weight", 2)[0]);
  // RoPE: rope_dim = 2·len(inv_freq); theta from inv_freq[1] = theta^(-2/rope_dim).
  const PtTensor* inv_freq = ckpt.find("h.0.attn.rope.inv_freq");
  if (!inv_freq || inv_freq->shape.size() != 1 || inv_freq->dtype != DType::F32) {
    b.fail("h.0.attn.rope.inv_freq (float32) is needed to know the rotary dimension");
  }
  c.qk_rope_head_dim = static_cast<int>(2 * inv_freq->shape[0]);
  if (inv_freq->shape[0] >= 2) {
    float f1;
    std::memcpy(&f1, inv_freq->data + sizeof(float), sizeof f1);
    const double theta = std::pow(static_cast<double>(f1), -c.qk_rope_head_dim / 2.0);
    c.rope_theta = std::round(theta);  // 10000 in the original; inv_freq is float32
  }
  const int64_t k_rope_rows = b.shape("h.0.attn.k_rope_proj.weight", 2)[0];
  if (c.qk_rope_head_dim == 0 || k_rope_rows % c.qk_rope_head_dim != 0) b.fail("k_rope_proj rows are not heads x rope_dim");
  c.num_attention_heads = static_cast<int>(k_rope_rows / c.qk_rope_head_dim);
  if (c.hidden_size % c.num_attention_heads != 0) b.fail("hidden size is not a multiple of the heads");
  c.qk_nope_head_dim = c.v_head_dim = c.hidden_size / c.num_attention_heads;
  c.num_key_value_heads = c.num_attention_heads;

  c.n_routed_experts = count_indexed(ckpt, "h.0.mlp.experts.");
  c.moe_intermediate_size = static_cast<int>(b.shape("h.0.mlp.experts.0.gate_proj.weight", 2)[0]);
  c.n_shared_experts = ckpt.find("h.0.mlp.shared_expert.gate_proj.weight") ? 1 : 0;
  if (c.n_shared_experts) c.shared_expert_intermediate_size = static_cast<int>(b.shape("h.0.mlp.shared_expert.gate_proj.weight", 2)[0]);
  c.intermediate_size = c.moe_intermediate_size;  // no dense layers
  c.num_experts_per_tok = 2;                     // n_experts_per_token of the trained config
  c.first_k_dense_replace = 0;
  c.moe_layer_freq = 1;
  c.router_kind = RouterKind::BiasedLogitsSoftmaxTopk;
  c.scoring_func = ScoringFunc::Softmax;
  c.topk_method = TopkMethod::Greedy;
  c.norm_topk_prob = false;
  c.routed_scaling_factor = 1.0;
  c.n_group = c.topk_group = 1;

  c.rms_norm_form = RmsNormForm::DivideByRmsPlusEps;
  c.rms_norm_eps = 1e-6;
  c.latent_norm_eps = 1e-6;
  c.q_latent_norm = false;
  c.rotary_key_source = RotaryKeySource::PerHeadFromHidden;
  c.rope_interleave = false;
  c.learned_position_embeddings = true;
  c.o_proj_bias = true;
  c.mlp_bias = true;
  c.hard_context_limit = true;
  c.crop_window_when_full = true;  // its generate() crops to the last block_size tokens
  const PtTensor* wte_t = ckpt.find("wte.weight");
  const PtTensor* head_t = ckpt.find("lm_head.weight");
  c.tie_word_embeddings = !head_t || head_t->storage_key == wte_t->storage_key;
  gpt2_tokens(c);
  return c;
}

MlpWeights mayank_swiglu(WeightBinder& b, const std::string& p, int64_t hidden, int64_t inter) {
  MlpWeights m;
  m.gate_proj = b.matrix(p + "gate_proj.weight", inter, hidden);
  m.up_proj = b.matrix(p + "up_proj.weight", inter, hidden);
  m.down_proj = b.matrix(p + "down_proj.weight", hidden, inter);
  m.gate_bias = b.vector(p + "gate_proj.bias", inter);
  m.up_bias = b.vector(p + "up_proj.bias", inter);
  m.down_bias = b.vector(p + "down_proj.bias", hidden);
  return m;
}

// One block h.N. (norms ln_1 / ln_2) or the MTP head's block (attn_norm / mlp_norm): the
// attention's interleaved copies, the biased SwiGLU experts.
LayerWeights bind_mayank_block(const ModelConfig& c, WeightBinder& b, const std::string& p, const std::string& attn_norm,
                               const std::string& mlp_norm) {
  const int64_t H = c.hidden_size, heads = c.num_attention_heads, D = c.qk_nope_head_dim, R = c.qk_rope_head_dim;
  LayerWeights L;
  L.input_layernorm = b.vector(p + attn_norm, H);
  L.post_attention_layernorm = b.vector(p + mlp_norm, H);
  AttentionWeights& a = L.attention;
  const std::string ap = p + "attn.";
  a.q_a_proj = b.matrix(ap + "q_proj.weight", c.q_lora_rank, H);
  WeightMatrix q_content = b.matrix(ap + "q_decompress.weight", heads * D, c.q_lora_rank);
  WeightMatrix q_rope = b.matrix(ap + "q_rope_proj.weight", heads * R, c.q_lora_rank);
  std::vector<WeightBinder::Rows> q_rows;
  for (int64_t h = 0; h < heads; ++h) {
    q_rows.push_back({q_content, h * D, D});
    q_rows.push_back({q_rope, h * R, R});
  }
  a.q_b_proj = b.stack_rows(q_rows, ap + "q_decompress/q_rope_proj");
  WeightMatrix kv = b.matrix(ap + "kv_proj.weight", c.kv_lora_rank, H);
  WeightMatrix k_rope = b.matrix(ap + "k_rope_proj.weight", heads * R, H);
  a.kv_a_proj_with_mqa = b.stack_rows({{kv, 0, c.kv_lora_rank}, {k_rope, 0, heads * R}}, ap + "kv_proj/k_rope_proj");
  a.kv_a_layernorm = b.vector(ap + "kv_norm.weight", c.kv_lora_rank);
  WeightMatrix k_up = b.matrix(ap + "k_decompress.weight", heads * D, c.kv_lora_rank);
  WeightMatrix v_up = b.matrix(ap + "v_decompress.weight", heads * D, c.kv_lora_rank);
  std::vector<WeightBinder::Rows> kv_rows;
  for (int64_t h = 0; h < heads; ++h) {
    kv_rows.push_back({k_up, h * D, D});
    kv_rows.push_back({v_up, h * D, D});
  }
  a.kv_b_proj = b.stack_rows(kv_rows, ap + "k_decompress/v_decompress");
  a.o_proj = b.matrix(ap + "o_proj.weight", H, heads * D);
  a.o_proj_bias = b.vector(ap + "o_proj.bias", H);

  L.is_moe = true;
  MoeWeights& m = L.moe;
  const std::string mp = p + "mlp.";
  m.gate = b.matrix(mp + "router.weight", c.n_routed_experts, H);
  m.e_score_correction_bias = b.vector(mp + "expert_bias", c.n_routed_experts);
  for (int e = 0; e < c.n_routed_experts; ++e) {
    m.experts.push_back(mayank_swiglu(b, mp + "experts." + std::to_string(e) + ".", H, c.moe_intermediate_size));
  }
  if (c.n_shared_experts) {
    m.shared = mayank_swiglu(b, mp + "shared_expert.", H, c.shared_expert_intermediate_size);
    m.has_shared = true;
  }
  return L;
}

void bind_mayank(const ModelConfig& c, WeightBinder& b, ModelWeights& w) {
  const int64_t H = c.hidden_size;
  w.embed_tokens = b.matrix("wte.weight", c.vocab_size, H);
  w.position_embeddings = b.matrix("wpe.weight", c.max_position_embeddings, H);
  w.layers.resize(c.num_hidden_layers);
  for (int l = 0; l < c.num_hidden_layers; ++l) {
    w.layers[l] = bind_mayank_block(c, b, "h." + std::to_string(l) + ".", "ln_1.weight", "ln_2.weight");
  }
  w.norm = b.vector("ln_f.weight", H);
  if (c.tie_word_embeddings) {
    w.lm_head = w.embed_tokens;
    if (b.find("lm_head.weight")) b.require("lm_head.weight", {c.vocab_size, H});  // the same storage
  } else {
    w.lm_head = b.matrix("lm_head.weight", c.vocab_size, H);
  }
  // The MTP head(s) mtp_heads.N. (MtpWeights: hidden first, combine_proj's bias, no final norm;
  // the head is lm_head).
  for (int d = 0; d < c.num_nextn_predict_layers; ++d) {
    const std::string p = "mtp_heads." + std::to_string(d) + ".";
    MtpWeights m;
    m.hidden_first = true;
    m.hnorm = b.vector(p + "norm1.weight", H);
    m.enorm = b.vector(p + "norm2.weight", H);
    m.eh_proj = b.matrix(p + "combine_proj.weight", H, 2 * H);
    m.eh_bias = b.vector(p + "combine_proj.bias", H);
    m.layer = bind_mayank_block(c, b, p, "attn_norm.weight", "mlp_norm.weight");
    m.head = w.lm_head;
    w.mtp.push_back(std::move(m));
  }
  b.finish([](const std::string& name) {
    return name.starts_with("mtp_heads.") || name.ends_with(".causal_mask") || name.ends_with(".rope.inv_freq");
  });
}

// ---- ERA ------------------------------------------------------------------------------------------

ModelConfig era_config(const PtCheckpoint& ckpt, WeightBinder& b, std::vector<std::string>& notes) {
  EraDefaults d;
  const Unpickled& p = ckpt.pickle();
  std::optional<PickleId> object = ckpt.entry("config");
  auto field = [&](const char* name) -> const PickleValue* {
    if (!object) return nullptr;
    auto v = p.get(*object, name);
    return v ? &p.at(*v) : nullptr;
  };
  auto int_field = [&](const char* name, int fallback) {
    const PickleValue* v = field(name);
    if (!v) return fallback;
    if (v->kind != PickleKind::Int) b.fail(std::string("config.") + name + " is a " + pickle_kind_name(v->kind) + ", not an int");
    return static_cast<int>(v->integer);
  };
  auto real_field = [&](const char* name, double fallback) {
    const PickleValue* v = field(name);
    if (!v) return fallback;
    if (v->kind == PickleKind::Int) return static_cast<double>(v->integer);
    if (v->kind != PickleKind::Float) b.fail(std::string("config.") + name + " is not a number");
    return v->real;
  };
  if (!object) {
    notes.push_back("no pickled config object: ERA class defaults assumed (heads 9, nope/rope 64/64)");
  } else if (p.at(*object).kind != PickleKind::Object) {
    b.fail("'config' is a " + std::string(pickle_kind_name(p.at(*object).kind)) + ", expected a config object");
  }

  ModelConfig c;
  c.model_type = "deepseek_v3 (ERA_V4_Sessio15 .pt)";
  const auto& embed = b.shape("model.embed_tokens.weight", 2);
  c.vocab_size = static_cast<int>(embed[0]);
  c.hidden_size = static_cast<int>(embed[1]);
  c.num_hidden_layers = count_indexed(ckpt, "model.layers.");
  if (c.num_hidden_layers == 0) b.fail("no layers model.layers.0.* in the state dict");
  c.num_attention_heads = int_field("num_attention_heads", d.num_attention_heads);
  c.num_key_value_heads = c.num_attention_heads;
  c.q_lora_rank = int_field("q_lora_rank", d.q_lora_rank);
  c.qk_rope_head_dim = int_field("qk_rope_head_dim", d.qk_rope_head_dim);
  c.qk_nope_head_dim = int_field("qk_nope_head_dim", d.qk_nope_head_dim);
  c.v_head_dim = int_field("v_head_dim", d.v_head_dim);
  c.kv_lora_rank = static_cast<int>(b.shape("model.layers.0.self_attn.kv_down_proj.weight", 2)[0]);
  c.max_position_embeddings = int_field("max_position_embeddings", d.max_position_embeddings);
  c.rms_norm_eps = real_field("rms_norm_eps", d.rms_norm_eps);
  c.latent_norm_eps = c.rms_norm_eps;  // ERA builds kv_norm (and q_norm) with config.rms_norm_eps
  c.rope_theta = real_field("rope_theta", d.rope_theta);
  c.num_experts_per_tok = int_field("num_experts_per_tok", d.num_experts_per_tok);
  if (const PickleValue* act = field("hidden_act"); act && (act->kind != PickleKind::String || act->text != "silu")) {
    b.fail("config.hidden_act is not 'silu'; only SiLU experts are implemented");
  }
  if (const PickleValue* tie = field("tie_word_embeddings"); tie && tie->kind == PickleKind::Bool) {
    c.tie_word_embeddings = tie->boolean;
  } else {
    c.tie_word_embeddings = d.tie_word_embeddings;
  }
  if (const PickleValue* freq = field("moe_layer_freq"); freq && freq->kind == PickleKind::Int && freq->integer != 1) {
    b.fail("config.moe_layer_freq != 1 is not supported (the ERA model applies MoE in every layer)");
  }

  c.n_routed_experts = count_indexed(ckpt, "model.layers.0.moe.routed_experts.");
  c.n_shared_experts = count_indexed(ckpt, "model.layers.0.moe.shared_experts.");
  c.moe_intermediate_size = static_cast<int>(b.shape("model.layers.0.moe.routed_experts.0.0.weight", 2)[0]);
  c.intermediate_size = c.moe_intermediate_size;
  c.first_k_dense_replace = 0;
  c.moe_layer_freq = 1;
  c.router_kind = RouterKind::DeepSeek;  // softmax over all experts, top-k, renormalised, no scaling
  c.scoring_func = ScoringFunc::Softmax;
  c.topk_method = TopkMethod::Greedy;
  c.norm_topk_prob = true;
  c.routed_scaling_factor = 1.0;
  c.n_group = c.topk_group = 1;
  c.expert_kind = ExpertKind::SiluMlp;

  c.rms_norm_form = RmsNormForm::RsqrtMeanSquare;
  c.q_latent_norm = true;
  c.rotary_key_source = RotaryKeySource::PerHeadFromLatent;
  c.rope_interleave = false;
  c.hard_context_limit = true;
  gpt2_tokens(c);
  return c;
}

MlpWeights era_expert(WeightBinder& b, const std::string& p, int64_t hidden, int64_t inter) {
  MlpWeights m;  // nn.Sequential(Linear(h, inter), SiLU, Linear(inter, h)): keys .0 and .2
  m.up_proj = b.matrix(p + "0.weight", inter, hidden);
  m.down_proj = b.matrix(p + "2.weight", hidden, inter);
  return m;
}

void bind_era(const ModelConfig& c, WeightBinder& b, ModelWeights& w) {
  const int64_t H = c.hidden_size, heads = c.num_attention_heads;
  const int64_t N = c.qk_nope_head_dim, R = c.qk_rope_head_dim, V = c.v_head_dim, L = c.kv_lora_rank;
  w.embed_tokens = b.matrix("model.embed_tokens.weight", c.vocab_size, H);
  w.layers.resize(c.num_hidden_layers);
  for (int l = 0; l < c.num_hidden_layers; ++l) {
    const std::string p = "model.layers." + std::to_string(l) + ".";
    LayerWeights& layer = w.layers[l];
    layer.input_layernorm = b.vector(p + "input_layernorm.weight", H);
    layer.post_attention_layernorm = b.vector(p + "post_attention_layernorm.weight", H);
    AttentionWeights& a = layer.attention;
    const std::string ap = p + "self_attn.";
    if (c.q_lora_rank > 0) {
      a.q_a_proj = b.matrix(ap + "q_down_proj.weight", c.q_lora_rank, H);
      a.q_a_layernorm = b.vector(ap + "q_norm.weight", c.q_lora_rank);
      a.q_b_proj = b.matrix(ap + "q_up_proj.weight", heads * (N + R), c.q_lora_rank);
    } else {
      a.q_proj = b.matrix(ap + "q_proj.weight", heads * (N + R), H);
    }
    a.kv_a_proj_with_mqa = b.matrix(ap + "kv_down_proj.weight", L, H);
    a.kv_a_layernorm = b.vector(ap + "kv_norm.weight", L);
    WeightMatrix kv_up = b.matrix(ap + "kv_up_proj.weight", heads * (N + R), L);
    WeightMatrix kv_v = b.matrix(ap + "kv_v_proj.weight", heads * V, L);
    std::vector<WeightBinder::Rows> kv_rows, rope_rows;
    for (int64_t h = 0; h < heads; ++h) {
      kv_rows.push_back({kv_up, h * (N + R), N});
      kv_rows.push_back({kv_v, h * V, V});
      rope_rows.push_back({kv_up, h * (N + R) + N, R});
    }
    a.kv_b_proj = b.stack_rows(kv_rows, ap + "kv_up_proj/kv_v_proj");
    a.k_rope_from_latent = b.stack_rows(rope_rows, ap + "kv_up_proj rotary rows");
    a.o_proj = b.matrix(ap + "o_proj.weight", H, heads * V);

    layer.is_moe = true;
    MoeWeights& m = layer.moe;
    const std::string mp = p + "moe.";
    m.gate = b.matrix(mp + "router.weight", c.n_routed_experts, H);
    for (int e = 0; e < c.n_routed_experts; ++e) {
      m.experts.push_back(era_expert(b, mp + "routed_experts." + std::to_string(e) + ".", H, c.moe_intermediate_size));
    }
    if (c.n_shared_experts > 0) {  // Σ_k shared_k(x) = one MLP with the hidden units side by side
      std::vector<MlpWeights> shared;
      for (int k = 0; k < c.n_shared_experts; ++k) {
        shared.push_back(era_expert(b, mp + "shared_experts." + std::to_string(k) + ".", H, c.moe_intermediate_size));
      }
      if (shared.size() == 1) {
        m.shared = shared[0];
      } else {
        std::vector<WeightBinder::Rows> ups;
        std::vector<WeightMatrix> downs;
        for (const MlpWeights& s : shared) {
          ups.push_back({s.up_proj, 0, s.up_proj.rows});
          downs.push_back(s.down_proj);
        }
        m.shared.up_proj = b.stack_rows(ups, mp + "shared_experts");
        m.shared.down_proj = b.join_columns(downs);
      }
      m.has_shared = true;
    }
  }
  w.norm = b.vector("model.norm.weight", H);
  if (c.tie_word_embeddings) {
    w.lm_head = w.embed_tokens;
    if (b.find("lm_head.weight")) b.require("lm_head.weight", {c.vocab_size, H});
  } else {
    w.lm_head = b.matrix("lm_head.weight", c.vocab_size, H);
  }
  b.finish([](const std::string& name) {
    return name.ends_with(".inv_freq") || name.ends_with(".cos_cached") || name.ends_with(".sin_cached");
  });
}

// ---- config.json beside the file --------------------------------------------------------------------

void apply_config_json(const std::filesystem::path& file, ModelConfig& c, std::vector<std::string>& notes) {
  const std::filesystem::path path = file.parent_path() / "config.json";
  const std::optional<std::string> text = read_model_file_if_present(path, kJsonConfigLimit);
  if (!text) return;
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(*text);
  } catch (const std::exception& e) {
    throw ModelError(path.string() + ": not valid JSON (" + e.what() + ")");
  }
  if (!j.is_object()) throw ModelError(path.string() + ": not a JSON object");
  auto get_int = [&](std::initializer_list<const char*> keys, int& out) {
    for (const char* k : keys) {
      if (j.contains(k) && j[k].is_number_integer()) {
        out = j[k].get<int>();
        notes.push_back(std::string("config.json: ") + k + " = " + std::to_string(out));
      }
    }
  };
  auto get_real = [&](std::initializer_list<const char*> keys, double& out) {
    for (const char* k : keys) {
      if (j.contains(k) && j[k].is_number()) {
        out = j[k].get<double>();
        notes.push_back(std::string("config.json: ") + k);
      }
    }
  };
  // Hugging Face names, and the Mayank dataclass names for the same things.
  get_int({"num_attention_heads", "n_head"}, c.num_attention_heads);
  get_int({"num_experts_per_tok", "n_experts_per_token"}, c.num_experts_per_tok);
  get_int({"max_position_embeddings", "block_size"}, c.max_position_embeddings);
  get_int({"qk_rope_head_dim", "rope_dim"}, c.qk_rope_head_dim);
  get_int({"qk_nope_head_dim"}, c.qk_nope_head_dim);
  get_int({"v_head_dim"}, c.v_head_dim);
  get_real({"rms_norm_eps"}, c.rms_norm_eps);
  get_real({"rope_theta"}, c.rope_theta);
  if (j.contains("eos_token_id") && j["eos_token_id"].is_number_integer()) c.eos_token_ids = {j["eos_token_id"].get<int>()};
  if (j.contains("bos_token_id") && j["bos_token_id"].is_number_integer()) c.bos_token_id = j["bos_token_id"].get<int>();
}

}  // namespace

std::unique_ptr<DeepSeekModel> DeepSeekModel::load_pt(const std::filesystem::path& file, const LoadOptions& options) {
  if (options.weight_type != WeightType::Native || options.output_weight_type != WeightType::Native) {
    throw ModelError(file.string() + ": converting weights to another type at load is not implemented yet");
  }
  auto model = std::unique_ptr<DeepSeekModel>(new DeepSeekModel());
  model->path_ = file;
  model->name_ = file.filename().string();
  auto source = std::make_unique<PtTensorSource>(file);
  const PtCheckpoint& ckpt = source->checkpoint();
  auto weights = std::make_unique<ModelWeights>();
  WeightBinder binder(*source, *weights);
  std::vector<std::string> notes;
  const bool mayank = ckpt.find("wte.weight") && ckpt.find("h.0.attn.kv_proj.weight");
  const bool era = ckpt.find("model.embed_tokens.weight") && ckpt.find("model.layers.0.self_attn.kv_down_proj.weight");
  if (mayank) {
    model->pt_variant_ = "DeepSeek-from-Scratch (Mayankpratapsingh022)";
    model->config_ = mayank_config(ckpt, binder);
  } else if (era) {
    model->pt_variant_ = "ERA_V4_Sessio15 (pmgarg)";
    model->config_ = era_config(ckpt, binder, notes);
  } else {
    throw ModelError(file.string() + ": a PyTorch checkpoint, but not one of the supported from-scratch DeepSeek-V3 "
                     "layouts (expected wte.weight + h.N.attn.kv_proj.* or model.layers.N.self_attn.kv_down_proj.*)");
  }
  apply_config_json(file, model->config_, notes);
  validate_model_config(model->config_, file.string());
  if (mayank) {
    bind_mayank(model->config_, binder, *weights);
  } else {
    bind_era(model->config_, binder, *weights);
  }
  for (const std::string& note : notes) weights->warnings.push_back(note);
  for (const std::string& warning : source->warnings()) weights->warnings.push_back(warning);
  prefetch_weights(weights->used, options.progress);
  model->source_ = std::move(source);
  model->weights_ = std::move(weights);
  model->rope_ = std::make_unique<Rope>(model->config_);
  model->pool_ = std::make_unique<ThreadPool>(options.threads);
  return model;
}

}  // namespace dschat
