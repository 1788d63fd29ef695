#include "engine/deepseek/moe.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <utility>
#include <vector>

#include "engine/deepseek/mlp.h"
#include "engine/ops/matmul.h"

namespace dschat {
namespace {

// Indices of the k largest values (ties: lower index first), largest first.
void top_k_indices(const float* values, int n, int k, int* out, std::vector<int>& order) {
  order.resize(n);
  std::iota(order.begin(), order.end(), 0);
  std::partial_sort(order.begin(), order.begin() + k, order.end(), [&](int a, int b) {
    return values[a] > values[b] || (values[a] == values[b] && a < b);
  });
  std::copy(order.begin(), order.begin() + k, out);
}

}  // namespace

void RouteScratch::reserve(const ModelConfig& c) {
  values.resize(2 * static_cast<size_t>(c.n_routed_experts));
  order.reserve(static_cast<size_t>(std::max(c.n_routed_experts, c.n_group)));
  group_scores.resize(static_cast<size_t>(std::max(c.n_group, 1)));
  kept_groups.resize(static_cast<size_t>(std::max(c.topk_group, 1)));
}

void route_token(const ModelConfig& c, const float* logits, const std::vector<float>& bias, int* experts_out,
                 float* weights_out, RouteScratch& s) {
  float* scratch = s.values.data();
  const int E = c.n_routed_experts;
  const int k = c.num_experts_per_tok;
  if (c.router_kind == RouterKind::BiasedLogitsSoftmaxTopk) {
    // Mayank's moe.py: logits + expert_bias chooses the k experts AND gives their weights, a
    // softmax over the k chosen biased logits (largest first, so weights_out[0] is the max).
    float* biased = scratch;
    for (int e = 0; e < E; ++e) biased[e] = logits[e] + (bias.empty() ? 0.0f : bias[e]);
    top_k_indices(biased, E, k, experts_out, s.order);
    const float max_logit = biased[experts_out[0]];
    double sum = 0;
    for (int i = 0; i < k; ++i) sum += std::exp(static_cast<double>(biased[experts_out[i]] - max_logit));
    for (int i = 0; i < k; ++i) {
      weights_out[i] = static_cast<float>(std::exp(static_cast<double>(biased[experts_out[i]] - max_logit)) / sum);
    }
    return;
  }
  float* scores = scratch;      // s: affinities
  float* choice = scratch + E;  // what top-k is taken over
  if (c.scoring_func == ScoringFunc::Sigmoid) {
    for (int e = 0; e < E; ++e) scores[e] = 1.0f / (1.0f + std::exp(-logits[e]));
  } else {
    float max_logit = *std::max_element(logits, logits + E);
    double sum = 0;
    for (int e = 0; e < E; ++e) sum += std::exp(static_cast<double>(logits[e] - max_logit));
    for (int e = 0; e < E; ++e) scores[e] = static_cast<float>(std::exp(static_cast<double>(logits[e] - max_logit)) / sum);
  }
  const bool v3 = c.topk_method == TopkMethod::NoAuxTc;
  for (int e = 0; e < E; ++e) choice[e] = scores[e] + (v3 && !bias.empty() ? bias[e] : 0.0f);

  if (c.topk_method != TopkMethod::Greedy && c.n_group > 1 && c.topk_group < c.n_group) {
    const int per_group = E / c.n_group;
    float* group_scores = s.group_scores.data();
    for (int g = 0; g < c.n_group; ++g) {
      const float* v = choice + g * per_group;
      if (v3) {  // sum of the group's two largest biased scores
        float first = -std::numeric_limits<float>::infinity(), second = first;
        for (int i = 0; i < per_group; ++i) {
          if (v[i] > first) {
            second = first;
            first = v[i];
          } else if (v[i] > second) {
            second = v[i];
          }
        }
        group_scores[g] = first + second;
      } else {  // V2: the group's largest score
        group_scores[g] = *std::max_element(v, v + per_group);
      }
    }
    std::vector<int>& kept = s.kept_groups;
    top_k_indices(group_scores, c.n_group, c.topk_group, kept.data(), s.order);
    // V3 excludes the other groups (-inf, as DeepSeek's inference/model.py); V2 zeroes them
    // (the same choice for its non-negative softmax scores).
    const float masked = v3 ? -std::numeric_limits<float>::infinity() : 0.0f;
    for (int g = 0; g < c.n_group; ++g) {
      if (std::find(kept.begin(), kept.end(), g) != kept.end()) continue;
      for (int i = 0; i < per_group; ++i) choice[g * per_group + i] = masked;
    }
  }

  top_k_indices(choice, E, k, experts_out, s.order);
  double sum = 0;
  for (int i = 0; i < k; ++i) {
    weights_out[i] = scores[experts_out[i]];
    sum += weights_out[i];
  }
  const bool normalise = c.norm_topk_prob && k > 1;
  if (normalise) {
    for (int i = 0; i < k; ++i) weights_out[i] = static_cast<float>(weights_out[i] / (sum + 1e-20));
  }
  if (v3 || !normalise) {
    for (int i = 0; i < k; ++i) weights_out[i] = static_cast<float>(weights_out[i] * c.routed_scaling_factor);
  }
}

namespace {

// One token (decode) through the shared expert and its k routed experts in two parallel loops
// instead of two per expert: one over the gate/up rows of all of them, one over the output rows
// (each output row sums the shared expert's down row, then the routed ones' in expert order,
// exactly as the per-expert path adds them). For SwiGLU experts without biases (DeepSeek's).
void moe_one_token(Workspace& ws, const ModelConfig& c, const MoeWeights& w, const float* x, float* out,
                   MoeScratch& s) {
  const int64_t H = c.hidden_size;
  const int k = c.num_experts_per_tok;
  auto& routed = s.routed;  // (expert, weight) in expert order, as moe_forward adds them
  routed.clear();
  for (int i = 0; i < k; ++i) routed.emplace_back(s.chosen[i], s.weights[i]);
  std::sort(routed.begin(), routed.end());
  auto& mlps = s.mlps;  // the shared expert first when there is one
  mlps.clear();
  if (w.has_shared) mlps.push_back(&w.shared);
  for (const auto& [e, weight] : routed) mlps.push_back(&w.experts[e]);
  const int J = static_cast<int>(mlps.size());
  auto& first_block = s.first_block;  // blocks of kRowBlock intermediate rows
  auto& hidden_at = s.hidden_at;
  first_block.assign(static_cast<size_t>(J + 1), 0);
  hidden_at.assign(static_cast<size_t>(J + 1), 0);
  for (int j = 0; j < J; ++j) {
    const int64_t inter = mlps[j]->gate_proj.rows;
    first_block[j + 1] = first_block[j] + (inter + kRowBlock - 1) / kRowBlock;
    hidden_at[j + 1] = hidden_at[j] + inter;
  }
  if (static_cast<int64_t>(s.hidden.size()) < hidden_at[J]) s.hidden.resize(static_cast<size_t>(hidden_at[J]));
  float* hidden = s.hidden.data();
  // x prepared once for all the experts' gate and up rows (re-prepared only by an expert whose
  // type reads another form).
  const PreparedActivations prepared_x = prepare_activations(mlps[0]->gate_proj, x, 1, ws.call());
  ws.pool().parallel_for(first_block[J], ThreadPool::grain(2 * kRowBlock * H), [&](int64_t b0, int64_t b1, int thread) {
    for (int j = 0; j < J; ++j) {
      const int64_t lo = std::max(b0, first_block[j]), hi = std::min(b1, first_block[j + 1]);
      if (lo >= hi) continue;
      const int64_t inter = mlps[j]->gate_proj.rows;
      mlp_hidden_rows(*mlps[j], prepared_x, hidden + hidden_at[j], (lo - first_block[j]) * kRowBlock,
                      std::min(inter, (hi - first_block[j]) * kRowBlock), ws.thread(thread), s.mlp.up[static_cast<size_t>(thread)]);
    }
  });
  // Each expert's hidden state prepared once for its down projection.
  if (static_cast<int>(s.prepared_hidden.size()) < J) s.prepared_hidden.resize(static_cast<size_t>(J));
  auto& down_inputs = s.down_inputs;
  down_inputs.clear();
  for (int j = 0; j < J; ++j) {
    down_inputs.push_back(prepare_activations(mlps[j]->down_proj, hidden + hidden_at[j], 1, s.prepared_hidden[j]));
  }
  if (static_cast<int64_t>(s.expert_out.size()) < H) s.expert_out.resize(static_cast<size_t>(H));
  float* routed_out = s.expert_out.data();
  ws.pool().parallel_for((H + kRowBlock - 1) / kRowBlock, ThreadPool::grain(kRowBlock * hidden_at[J]),
                    [&](int64_t b0, int64_t b1, int thread) {
    KernelScratch& scratch = ws.thread(thread);
    const int64_t h0 = b0 * kRowBlock, h1 = std::min(H, b1 * kRowBlock);
    int j = 0;
    if (w.has_shared) {
      matmul_rows(w.shared.down_proj, down_inputs[0], out, H, h0, h1, scratch);
      j = 1;
    } else {
      std::fill(out + h0, out + h1, 0.0f);
    }
    for (const auto& [e, weight] : routed) {
      matmul_rows(mlps[j]->down_proj, down_inputs[j], routed_out, H, h0, h1, scratch);
      for (int64_t i = h0; i < h1; ++i) out[i] += weight * routed_out[i];
      ++j;
    }
  });
}

bool plain_swiglu(const MlpWeights& m) {
  return !m.gate_proj.empty() && m.gate_bias.empty() && m.up_bias.empty() && m.down_bias.empty();
}

}  // namespace

void MoeScratch::reserve(const ModelConfig& c, int64_t n, int threads) {
  const int64_t E = c.n_routed_experts, k = c.num_experts_per_tok;
  const int64_t inter = std::max<int64_t>(c.moe_intermediate_size, c.shared_intermediate());
  router_logits.resize(n * E);
  chosen.resize(n * k);
  weights.resize(n * k);
  route.reserve(c);
  gathered.resize(n * c.hidden_size);
  expert_out.resize(n * c.hidden_size);
  hidden.resize(n * inter);
  tokens.resize(n);
  token_weights.resize(n);
  mlp.reserve(threads);
  const size_t experts = static_cast<size_t>(k) + 1;  // the routed ones and the shared one
  routed.reserve(experts);
  mlps.reserve(experts);
  first_block.reserve(experts + 1);
  hidden_at.reserve(experts + 1);
  prepared_hidden.resize(experts);
  down_inputs.reserve(experts);
}

void moe_forward(Workspace& ws, const ModelConfig& c, const MoeWeights& w, const float* x, int64_t n, float* out,
                 MoeScratch& s) {
  const int64_t H = c.hidden_size;
  const int E = c.n_routed_experts;
  const int k = c.num_experts_per_tok;
  // The router runs in float32 on the normalised hidden state.
  matmul(ws, w.gate, x, n, s.router_logits.data());
  for (int64_t t = 0; t < n; ++t) {
    route_token(c, s.router_logits.data() + t * E, w.e_score_correction_bias, s.chosen.data() + t * k,
                s.weights.data() + t * k, s.route);
  }

  if (n == 1 && (!w.has_shared || plain_swiglu(w.shared)) &&
      std::all_of(s.chosen.begin(), s.chosen.begin() + k, [&](int e) { return plain_swiglu(w.experts[e]); })) {
    moe_one_token(ws, c, w, x, out, s);
    return;
  }
  if (w.has_shared) {
    mlp_forward(ws, w.shared, x, n, out, s.hidden.data(), s.mlp);
  } else {
    std::fill(out, out + n * H, 0.0f);
  }
  // Each routed expert runs once over the tokens that chose it.
  for (int e = 0; e < E; ++e) {
    int64_t m = 0;
    for (int64_t t = 0; t < n; ++t) {
      for (int i = 0; i < k; ++i) {
        if (s.chosen[t * k + i] != e) continue;
        s.tokens[m] = static_cast<int>(t);
        s.token_weights[m] = s.weights[t * k + i];
        ++m;
      }
    }
    if (m == 0) continue;
    for (int64_t j = 0; j < m; ++j) std::copy(x + s.tokens[j] * H, x + (s.tokens[j] + 1) * H, s.gathered.data() + j * H);
    mlp_forward(ws, w.experts[e], s.gathered.data(), m, s.expert_out.data(), s.hidden.data(), s.mlp);
    for (int64_t j = 0; j < m; ++j) {
      float* o = out + s.tokens[j] * H;
      const float* y = s.expert_out.data() + j * H;
      const float wt = s.token_weights[j];
      for (int64_t i = 0; i < H; ++i) o[i] += wt * y[i];
    }
  }
}

}  // namespace dschat
