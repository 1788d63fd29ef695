// DeepSeekMoE (Dai et al. 2024; DeepSeek-V3 §2.1.2): a router picks num_experts_per_tok routed
// experts per token; their SwiGLU outputs are summed with the router weights, plus the shared
// experts (always on, weight 1).
//
// Router, DeepSeek-V3 (topk_method noaux_tc), as in DeepSeek's inference/model.py and HF:
//   s = sigmoid(x·Wᵀ) or softmax(x·Wᵀ);  choice = s + e_score_correction_bias (choosing only);
//   with n_group > 1 keep the topk_group groups with the largest sum of their top-2 choice scores
//   (the others are excluded: -inf); pick top-k by choice; weights = s of the picked (unbiased),
//   divided by their sum if norm_topk_prob (and k > 1), always times routed_scaling_factor.
// Router, DeepSeek-V2 (group_limited_greedy / greedy), as in DeepSeek-V2's modeling_deepseek.py:
//   groups ranked by their max score; top-k on s; normalised if norm_topk_prob and k > 1,
//   OTHERWISE multiplied by routed_scaling_factor (V2 applies the factor only when not normalising).
// Router, RouterKind::BiasedLogitsSoftmaxTopk (Mayank's from-scratch V3): top-k of logits + bias,
//   weights = softmax over those k biased logits; no scaling.
#pragma once

#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

#include "engine/deepseek/mlp.h"
#include "engine/deepseek/model_config.h"
#include "engine/deepseek/model_weights.h"
#include "engine/ops/matmul.h"
#include "engine/ops/workspace.h"

namespace dschat {

// The router's working memory for one token.
struct RouteScratch {
  std::vector<float> values;        // [2 · n_routed_experts]: scores, then what top-k is taken over
  std::vector<int> order;           // top-k's index permutation
  std::vector<float> group_scores;  // [n_group]
  std::vector<int> kept_groups;     // [topk_group]
  void reserve(const ModelConfig& config);
};

// Chooses experts for one token from its router logits [n_routed_experts].
// Writes num_experts_per_tok expert indices and weights.
void route_token(const ModelConfig& config, const float* router_logits, const std::vector<float>& bias,
                 int* experts_out, float* weights_out, RouteScratch& scratch);

struct MoeScratch {
  std::vector<float> router_logits;  // [n, n_routed_experts]
  std::vector<int> chosen;           // [n, k]
  std::vector<float> weights;        // [n, k]
  RouteScratch route;
  std::vector<float> gathered;       // [n, hidden] tokens routed to one expert
  std::vector<float> expert_out;     // [n, hidden]
  std::vector<float> hidden;         // [n, max intermediate]
  std::vector<int> tokens;           // [n]
  std::vector<float> token_weights;  // [n]
  MlpScratch mlp;
  // One decoded token: its experts in the order their outputs are added, their row blocks, and
  // the activations prepared once per expert.
  std::vector<std::pair<int, float>> routed;
  std::vector<const MlpWeights*> mlps;
  std::vector<int64_t> first_block, hidden_at;
  std::vector<std::vector<std::byte>> prepared_hidden;
  std::vector<PreparedActivations> down_inputs;
  void reserve(const ModelConfig& config, int64_t max_tokens, int threads);
};

// out[n, hidden] = Σ_chosen w·expert(x) + shared(x).
void moe_forward(Workspace& workspace, const ModelConfig& config, const MoeWeights& w, const float* x, int64_t n,
                 float* out, MoeScratch& s);

}  // namespace dschat
