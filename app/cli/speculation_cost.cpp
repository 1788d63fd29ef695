#include "app/cli/speculation_cost.h"

#include <algorithm>
#include <chrono>
#include <span>

namespace dschat {
namespace {

template <typename Setup, typename Timed>
double median_ms(int samples, Setup&& setup, Timed&& timed) {
  std::vector<double> ms;
  for (int i = 0; i < samples; ++i) {
    setup();
    const auto start = std::chrono::steady_clock::now();
    timed();
    ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count());
  }
  std::sort(ms.begin(), ms.end());
  return ms[ms.size() / 2];
}

double step_cost(const SpeculationCost& c, int k) { return (k * c.draft_ms + c.verify_ms[k]) / c.step_ms; }

double tokens_per_step(int k, double a) {
  double tokens = 1, p = 1;
  for (int j = 0; j < k; ++j) tokens += (p *= a);
  return tokens;
}

}  // namespace

SpeculationCost measure_speculation_cost(const Model& model, InferenceContext& ctx, const std::vector<int32_t>& prompt,
                                         int samples) {
  const int64_t vocab = model.config().vocab_size;
  std::vector<float> logits(static_cast<size_t>(vocab)), all(static_cast<size_t>(4 * vocab));
  ctx.truncate(0);
  ctx.append(prompt, logits);
  const int base = ctx.size();
  const int32_t next = prompt.front();
  std::vector<int32_t> drafts(3);
  SpeculationCost c;
  // draft() first: it reads the hidden state of the prompt's last token, which a truncate drops.
  if (ctx.draft(next, 1, drafts) != 1) throw ModelError("the MTP module drafted nothing after the prompt");
  c.draft_ms = median_ms(samples, [] {}, [&] { ctx.draft(next, 1, drafts); });
  c.step_ms = median_ms(samples, [&] { ctx.truncate(base); },
                        [&] { ctx.append(std::span<const int32_t>(&next, 1), logits); });
  for (int k = 1; k <= 3 && k < ctx.max_verify_tokens(); ++k) {
    const std::span<const int32_t> tokens(prompt.data(), static_cast<size_t>(k + 1));
    c.verify_ms[k] = median_ms(samples, [&] { ctx.truncate(base); }, [&] { ctx.verify(tokens, all); });
  }
  ctx.truncate(base);
  return c;
}

double expected_speedup(const SpeculationCost& cost, int k, double a) {
  return tokens_per_step(k, a) / step_cost(cost, k);
}

double break_even_acceptance(const SpeculationCost& cost, int k) {
  const double needed = step_cost(cost, k);
  if (tokens_per_step(k, 0) >= needed) return 0;
  if (tokens_per_step(k, 1) < needed) return 1 + (needed - tokens_per_step(k, 1));
  double lo = 0, hi = 1;  // tokens_per_step grows with a: bisect
  for (int i = 0; i < 60; ++i) {
    const double mid = (lo + hi) / 2;
    (tokens_per_step(k, mid) < needed ? lo : hi) = mid;
  }
  return (lo + hi) / 2;
}

}  // namespace dschat
