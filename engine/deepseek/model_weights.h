// The weights of a DeepSeek-V3 model bound by name from a TensorSource: typed views into the
// mapped files (no copies), shapes checked against the config. Two on-disk arrangements of the same
// math: Hugging Face (mlp.experts.E.*) and MLX (mlp.switch_mlp.* stacked [E, out, in]).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "engine/model.h"
#include "engine/deepseek/model_config.h"
#include "engine/io/tensor_source.h"
#include "engine/quant/weight_buffer.h"
#include "engine/ops/weight_matrix.h"

namespace dschat {

// SwiGLU MLP: down(silu(gate·x) ⊙ (up·x)).
// ExpertKind::SiluMlp: down(silu(up·x)), gate_proj empty. Biases empty unless config.mlp_bias.
struct MlpWeights {
  WeightMatrix gate_proj;  // [intermediate, hidden]
  WeightMatrix up_proj;    // [intermediate, hidden]
  WeightMatrix down_proj;  // [hidden, intermediate]
  std::vector<float> gate_bias{}, up_bias{}, down_bias{};
};

struct AttentionWeights {
  WeightMatrix q_a_proj;              // [q_lora_rank, hidden]            (q_lora_rank > 0)
  std::vector<float> q_a_layernorm;   // [q_lora_rank]
  WeightMatrix q_b_proj;              // [heads·(nope+rope), q_lora_rank]
  WeightMatrix q_proj;                // [heads·(nope+rope), hidden]      (q_lora_rank == 0)
  WeightMatrix kv_a_proj_with_mqa;    // [kv_lora_rank + rope, hidden]: c_kv rows then k_pe rows
  std::vector<float> kv_a_layernorm;  // [kv_lora_rank]
  WeightMatrix kv_b_proj;             // [heads·(nope+v), kv_lora_rank]: per head k_nope rows then v rows
  // Or the same split as llama.cpp's converter writes it (GGUF attn_k_b / attn_v_b), used in place:
  WeightMatrix k_b_proj;              // [heads·kv_lora_rank, nope]: W_UKᵀ per head (kv_b_proj empty)
  WeightMatrix v_b_proj;              // [heads·v, kv_lora_rank]: W_UV per head
  WeightMatrix o_proj;                // [hidden, heads·v]
  std::vector<float> o_proj_bias;     // [hidden] when config.o_proj_bias
  WeightMatrix k_rope_from_latent;    // [heads·rope, kv_lora_rank] (RotaryKeySource::PerHeadFromLatent)
};

struct MoeWeights {
  WeightMatrix gate;                          // router [n_routed_experts, hidden]
  std::vector<float> e_score_correction_bias; // [n_routed_experts]; empty when the method has none
                                              // (RouterKind::BiasedLogitsSoftmaxTopk: the bias added to the logits)
  std::vector<MlpWeights> experts;            // n_routed_experts (MLX: views into the stacked tensors)
  MlpWeights shared;                          // intermediate = moe_intermediate_size · n_shared_experts
  bool has_shared = false;
};

struct LayerWeights {
  std::vector<float> input_layernorm;          // [hidden]
  std::vector<float> post_attention_layernorm; // [hidden]
  AttentionWeights attention;
  bool is_moe = false;
  MlpWeights dense;  // when !is_moe
  MoeWeights moe;    // when is_moe
};

enum class CheckpointLayout { HuggingFace, Mlx };

// One multi-token-prediction module (DeepSeek-V3 §2.2; official layout model.layers.{L + d}):
//   h' = eh_proj [enorm(emb(t_{i+1})) ; hnorm(h_i)]   (the embedding half first)
//   h'' = decoder layer(h');  logits = head(head_norm(h''))
// h_i is the main model's final-normed hidden state (tools/reference/deepseek_v3.py forward_mtp).
// The embedding and the head are the main model's (views, no copies).
// DeepSeek-from-Scratch's `.pt` head (mtp_heads.0, tools/pt_variants/mayank_model.py MtpHead):
//   h' = combine_proj [norm1(h_i) ; norm2(emb(t_{i+1}))] + bias   (the hidden half first)
//   h'' = its block (attn_norm, mlp_norm);  logits = lm_head(h'')   (no final norm)
struct MtpWeights {
  std::vector<float> enorm;      // [hidden]
  std::vector<float> hnorm;      // [hidden]
  WeightMatrix eh_proj;          // [hidden, 2·hidden]
  std::vector<float> eh_bias;    // [hidden] (.pt combine_proj.bias), empty when none
  bool hidden_first = false;     // eh_proj's columns: [hnorm(h) ; enorm(emb)] (.pt) or [enorm ; hnorm]
  LayerWeights layer;            // a full decoder layer, bound like the main ones
  std::vector<float> head_norm;  // shared_head.norm [hidden]; empty: none (.pt)
  WeightMatrix head;             // shared_head.head [vocab, hidden] when stored, else lm_head
};

struct ModelWeights {
  WeightMatrix embed_tokens;  // [vocab, hidden]
  std::vector<LayerWeights> layers;
  std::vector<float> norm;    // [hidden]
  WeightMatrix lm_head;       // [vocab, hidden]; the embedding when tied
  WeightMatrix position_embeddings;  // [max_position_embeddings, hidden] when learned (wpe)
  std::vector<MtpWeights> mtp;       // num_nextn_predict_layers modules when the checkpoint has them
  CheckpointLayout layout = CheckpointLayout::HuggingFace;
  std::vector<std::string> warnings;          // unexpected tensors and the like
  std::vector<const TensorInfo*> used;        // every tensor bound (for progress and info)
  std::vector<const TensorInfo*> ignored;     // MTP layers and rotary caches: expected, not used
  std::vector<WeightBuffer> owned;  // weights made at load: converted, or copied when misaligned
};

// Prefetches the pages of `tensors` (prefetch_pages in mapped_file.h) in address order, with
// disk reads started ahead, so the first token takes no page faults, and reports the bytes
// prefetched to `progress`: (0, total) first, then after every tensor or piece of at most 8 MiB,
// ending with (total, total), total being the sum of the tensors' bytes. Throws LoadCancelled
// as soon as `progress` returns false.
void prefetch_weights(const std::vector<const TensorInfo*>& tensors, const LoadProgress& progress);

// Whether a checkpoint tensor is expected but not used by the engine: a rotary cache, or a layer
// "model.layers.N." with N >= num_hidden_layers (multi-token-prediction modules the config does
// not declare; declared ones are bound into ModelWeights::mtp).
bool is_mtp_or_cache(const std::string& name, int num_hidden_layers);

// Binds every tensor the config calls for. Throws ModelError naming the file and tensor when a
// tensor is missing, has the wrong shape, or a dtype the kernels cannot use.
std::unique_ptr<ModelWeights> bind_model_weights(const ModelConfig& config, const TensorSource& tensors);

}  // namespace dschat
