#include "engine/moe.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "engine/dense_mlp.h"
#include "engine/matmul.h"

namespace dschat {
namespace {

// Indices of the k largest values (ties: lower index first), largest first.
void top_k_indices(const float* values, int n, int k, int* out) {
  thread_local std::vector<int> order;
  order.resize(n);
  std::iota(order.begin(), order.end(), 0);
  std::partial_sort(order.begin(), order.begin() + k, order.end(), [&](int a, int b) {
    return values[a] > values[b] || (values[a] == values[b] && a < b);
  });
  std::copy(order.begin(), order.begin() + k, out);
}

}  // namespace

void route_token(const ModelConfig& c, const float* logits, const std::vector<float>& bias, int* experts_out,
                 float* weights_out, float* scratch) {
  const int E = c.n_routed_experts;
  const int k = c.num_experts_per_tok;
  if (c.router_kind == RouterKind::BiasedLogitsSoftmaxTopk) {
    // Mayank's moe.py: logits + expert_bias chooses the k experts AND gives their weights, a
    // softmax over the k chosen biased logits (largest first, so weights_out[0] is the max).
    float* biased = scratch;
    for (int e = 0; e < E; ++e) biased[e] = logits[e] + (bias.empty() ? 0.0f : bias[e]);
    top_k_indices(biased, E, k, experts_out);
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
    thread_local std::vector<float> group_scores_buffer;
    group_scores_buffer.resize(c.n_group);
    float* group_scores = group_scores_buffer.data();
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
    thread_local std::vector<int> kept;
    kept.resize(c.topk_group);
    top_k_indices(group_scores, c.n_group, c.topk_group, kept.data());
    // V3 excludes the other groups (-inf, as DeepSeek's inference/model.py); V2 zeroes them
    // (the same choice for its non-negative softmax scores).
    const float masked = v3 ? -std::numeric_limits<float>::infinity() : 0.0f;
    for (int g = 0; g < c.n_group; ++g) {
      if (std::find(kept.begin(), kept.end(), g) != kept.end()) continue;
      for (int i = 0; i < per_group; ++i) choice[g * per_group + i] = masked;
    }
  }

  top_k_indices(choice, E, k, experts_out);
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

void MoeScratch::reserve(const ModelConfig& c, int64_t n) {
  const int64_t E = c.n_routed_experts, k = c.num_experts_per_tok;
  const int64_t inter = std::max<int64_t>(c.moe_intermediate_size, c.shared_intermediate());
  router_logits.resize(n * E);
  chosen.resize(n * k);
  weights.resize(n * k);
  route_scratch.resize(2 * E);
  gathered.resize(n * c.hidden_size);
  expert_out.resize(n * c.hidden_size);
  hidden.resize(n * inter);
  tokens.resize(n);
  token_weights.resize(n);
}

void moe_forward(ThreadPool& pool, const ModelConfig& c, const MoeWeights& w, const float* x, int64_t n, float* out,
                 MoeScratch& s) {
  const int64_t H = c.hidden_size;
  const int E = c.n_routed_experts;
  const int k = c.num_experts_per_tok;
  // The router runs in float32 on the normalised hidden state.
  matmul(pool, w.gate, x, n, s.router_logits.data());
  for (int64_t t = 0; t < n; ++t) {
    route_token(c, s.router_logits.data() + t * E, w.e_score_correction_bias, s.chosen.data() + t * k,
                s.weights.data() + t * k, s.route_scratch.data());
  }

  if (w.has_shared) {
    swiglu_mlp(pool, w.shared, x, n, out, s.hidden.data());
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
    swiglu_mlp(pool, w.experts[e], s.gathered.data(), m, s.expert_out.data(), s.hidden.data());
    for (int64_t j = 0; j < m; ++j) {
      float* o = out + s.tokens[j] * H;
      const float* y = s.expert_out.data() + j * H;
      const float wt = s.token_weights[j];
      for (int64_t i = 0; i < H; ++i) o[i] += wt * y[i];
    }
  }
}

}  // namespace dschat
