// The model description every format becomes: DeepseekV3Config keys (Hugging Face defaults for
// missing keys) plus the few named variant choices the forward pass honours.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "engine/ops/rms_norm.h"

namespace dschat {

class GgufShards;

enum class ScoringFunc { Softmax, Sigmoid };
enum class TopkMethod { NoAuxTc /* V3: groups ranked by sum of top-2 */, GroupLimitedGreedy /* V2: by max */, Greedy };

// Variant choices of small from-scratch DeepSeek-V3 implementations read from PyTorch .pt files
// (reference/checkpoint-formats.md sections 1 and 4). The defaults are DeepSeek-V3's own, so a
// config.json model never sets them. Where a variant differs only in how weights are arranged
// (rotary queries from their own projection, separate k/v up-projections) the .pt adapter
// (pt_model_loader.cpp) rearranges the weights instead of adding a choice here.
// RmsNormForm (the norm's two forms) is in engine/ops/rms_norm.h.
enum class RotaryKeySource {
  SharedFromKvA,      // V3: the last qk_rope_head_dim rows of kv_a_proj_with_mqa · x, one k_pe for all heads
  PerHeadFromHidden,  // kv_a_proj_with_mqa has heads·rope rotary rows: one k_pe per head from x (Mayank)
  PerHeadFromLatent,  // k_rope_from_latent · c_kv (normalised latent), one k_pe per head (ERA)
};
enum class RouterKind {
  DeepSeek,                 // scoring_func / topk_method / groups / norm_topk_prob / scaling below
  BiasedLogitsSoftmaxTopk,  // top-k of logits + bias; weights = softmax over those k biased logits (Mayank)
};
enum class ExpertKind {
  SwiGLU,   // down(silu(gate·x) ⊙ up·x)
  SiluMlp,  // down(silu(up·x)): Linear → SiLU → Linear, no gate (ERA)
};

struct RopeScaling {           // YaRN (rope_scaling.type == "yarn")
  double factor = 1.0;
  int original_max_position_embeddings = 4096;
  double beta_fast = 32.0;
  double beta_slow = 1.0;
  double mscale = 1.0;
  double mscale_all_dim = 0.0;
};

struct ModelConfig {
  std::string model_type = "deepseek_v3";
  int vocab_size = 129280;
  int hidden_size = 7168;
  int intermediate_size = 18432;
  int moe_intermediate_size = 2048;
  int num_hidden_layers = 61;
  int num_attention_heads = 128;
  int num_key_value_heads = 128;
  int n_shared_experts = 1;
  int n_routed_experts = 256;
  double routed_scaling_factor = 2.5;
  int kv_lora_rank = 512;
  int q_lora_rank = 1536;      // 0 when config.json says null: full-rank q_proj
  int qk_rope_head_dim = 64;
  int v_head_dim = 128;
  int qk_nope_head_dim = 128;
  int n_group = 8;
  int topk_group = 4;
  int num_experts_per_tok = 8;
  int first_k_dense_replace = 3;
  int moe_layer_freq = 1;
  bool norm_topk_prob = true;
  ScoringFunc scoring_func = ScoringFunc::Sigmoid;
  TopkMethod topk_method = TopkMethod::NoAuxTc;
  std::string hidden_act = "silu";
  int max_position_embeddings = 4096;
  double rms_norm_eps = 1e-6;
  double rope_theta = 10000.0;
  std::optional<RopeScaling> rope_scaling;
  bool rope_interleave = true;  // DeepSeek's interleaved pairs (2i, 2i+1); false: rotate-half (i, i+d/2)
  bool tie_word_embeddings = false;
  bool attention_bias = false;
  int num_nextn_predict_layers = 0;
  std::optional<int> bos_token_id = 0;
  std::vector<int> eos_token_ids = {1};

  // Variant choices (see the enums above); defaults = DeepSeek-V3.
  RmsNormForm rms_norm_form = RmsNormForm::RsqrtMeanSquare;  // every RMSNorm of the model
  double latent_norm_eps = 1e-6;           // q_a_layernorm / kv_a_layernorm (DeepSeek: RMSNorm default)
  bool q_latent_norm = true;               // false: the query latent is not normalised
  RotaryKeySource rotary_key_source = RotaryKeySource::SharedFromKvA;
  bool learned_position_embeddings = false;  // wpe [max_position_embeddings, hidden] added to the embedding
  bool o_proj_bias = false;
  bool mlp_bias = false;                   // biases on the routed and shared expert projections
  RouterKind router_kind = RouterKind::DeepSeek;
  ExpertKind expert_kind = ExpertKind::SwiGLU;
  int shared_expert_intermediate_size = 0;  // 0: moe_intermediate_size · n_shared_experts
  bool hard_context_limit = false;         // positions >= max_position_embeddings are an error
  // Generation past a full context continues on the last context-size tokens, run again from
  // position 0 (the reference generate()'s idx[:, -block_size:]); otherwise it stops there.
  bool crop_window_when_full = false;
  // quantization_config {"quant_method": "fp8", "fmt": "e4m3", "weight_block_size": [128, 128]}:
  // the published FP8 checkpoints (F8_E4M3 matrices, F32 weight_scale_inv per 128x128 block).
  bool fp8_block_scales = false;

  int rotary_key_heads() const { return rotary_key_source == RotaryKeySource::SharedFromKvA ? 1 : num_attention_heads; }
  int shared_intermediate() const {
    return shared_expert_intermediate_size > 0 ? shared_expert_intermediate_size : moe_intermediate_size * n_shared_experts;
  }

  int qk_head_dim() const { return qk_nope_head_dim + qk_rope_head_dim; }
  // Layer i is MoE when i >= first_k_dense_replace and i % moe_layer_freq == 0.
  bool is_moe_layer(int layer) const {
    return n_routed_experts > 0 && layer >= first_k_dense_replace && layer % moe_layer_freq == 0;
  }
};

// Reads `config_json` (a config.json) into a validated ModelConfig. Missing keys take Hugging
// Face's defaults (DeepseekV3Config, or DeepseekV2Config when model_type is deepseek_v2).
// Throws ModelError naming the file, the key and why for anything the engine cannot honour.
ModelConfig load_model_config(const std::filesystem::path& config_json);

// The same from JSON text; `source` names it in error messages.
ModelConfig parse_model_config(const std::string& json_text, const std::string& source);

// The same from the metadata of a GGUF file of llama.cpp's architecture `deepseek2`
// (gguf_model_config.cpp; q_lora and the top-k method are read from the tensors present). Throws
// ModelError naming the file and the key for anything the engine cannot honour.
ModelConfig gguf_model_config(const GgufShards& shards);

// Throws ModelError ("<source>: <key> ...") if the config is inconsistent or unsupported.
void validate_model_config(const ModelConfig& config, const std::string& source);

}  // namespace dschat
