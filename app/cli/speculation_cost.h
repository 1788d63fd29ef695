// The cost side of MTP speculative decoding, measured on any model with an MTP module (random
// weights included: acceptance needs a trained module, cost does not). In units of one decode
// step: a draft step (the module's layer and the draft head) and a verify pass of k+1 tokens.
#pragma once

#include <cstdint>
#include <vector>

#include "engine/model.h"

namespace dschat {

struct SpeculationCost {
  double step_ms = 0;   // one one-token append (plain decode)
  double draft_ms = 0;  // one draft() step
  // verify_ms[k]: one verify() of k+1 tokens (k = 1..3; [0] unused).
  double verify_ms[4] = {};
};

// Median of `samples` timings of each, after `prompt` (at least 4 tokens) is appended to `ctx`
// (an MTP context of `model`); the cache is left at the prompt.
SpeculationCost measure_speculation_cost(const Model& model, InferenceContext& ctx, const std::vector<int32_t>& prompt,
                                         int samples);

// The per-draft acceptance rate a at which k drafts per step break even: drafts kept with
// probability a each until the first rejection give 1 + a + … + a^k tokens for a step costing
// k·draft + verify(k+1) decode steps (Leviathan et al. 2023, §3.3, with a point-mass drafter).
// 0 when speculation wins at any rate, above 1 (returned as 1.0 + excess cost) when it never does.
double break_even_acceptance(const SpeculationCost& cost, int k);

// The speed-up 1 + a + … + a^k over the step's cost, at acceptance a.
double expected_speedup(const SpeculationCost& cost, int k, double a);

}  // namespace dschat
