// Token sampling: repetition penalty, temperature, top-k, top-p, min-p, and a seeded PRNG of
// a fixed algorithm (SplitMix64 seeding a xoshiro256**), so a seed gives the same tokens on
// every platform and standard library.
#pragma once

#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <vector>

namespace dschat {

struct SamplingParams {
  float temperature = 0.7f;     // 0 = greedy (argmax)
  int top_k = 0;                // 0 = off
  float top_p = 0.9f;           // 1 = off
  float min_p = 0.0f;           // 0 = off; keeps tokens with p >= min_p * p_max
  float repeat_penalty = 1.0f;  // 1 = off; CTRL-style: logit/r if > 0, logit*r if < 0
  int repeat_window = 64;       // how many of the most recent tokens the penalty looks at
  uint64_t seed = 0;            // 0 = pick a random seed (reported by Sampler::seed())
  bool operator==(const SamplingParams&) const = default;
};

// A fresh nonzero seed from the clock and an address: what seed 0 stands for.
uint64_t random_seed();

// The first value of `params` outside what the sampler accepts, as a message ("temperature must be
// between 0 and 100"), or "" when all are valid. The ranges of set_sampling_parameter (/set), also
// applied to values read from files (generation_config.json, conversation files).
std::string sampling_params_problem(const SamplingParams& params);

// Defaults for a model directory: generation_config.json's temperature, top_p, top_k
// (do_sample = false means greedy) when present, else SamplingParams{} (0.7, 0.9).
// A malformed generation_config.json is a ModelError naming the file.
SamplingParams load_sampling_defaults(const std::filesystem::path& model_dir);

// Fixed-algorithm PRNG: xoshiro256** seeded through SplitMix64 (Blackman & Vigna 2018).
class Random {
 public:
  explicit Random(uint64_t seed);
  uint64_t next();
  double uniform();  // [0, 1) with 53 random bits

 private:
  uint64_t s_[4];
};

class Sampler {
 public:
  explicit Sampler(const SamplingParams& params);

  // Picks a token from `logits` (one float per vocabulary id). `history` is the sequence so far
  // (the last repeat_window entries get the repetition penalty). `logits` is used as scratch
  // and is modified.
  int32_t sample(std::span<float> logits, std::span<const int32_t> history);

  // Speculative sampling against a drafted token (Leviathan et al. 2023, Algorithm 1; Chen et al.
  // 2023). The draft is a point mass q = delta(draft) (the MTP module drafts greedily), so the rule
  // "accept with probability min(1, p(x)/q(x)), else sample from norm(max(0, p - q))" becomes:
  // accept with probability p(draft); otherwise sample from p with the draft removed,
  // renormalised. The result is distributed exactly as sample() draws (p: the distribution after
  // every filter). At temperature 0 it is the argmax, like sample(), and draws no random number.
  // `accepted` tells whether the result is the draft.
  int32_t sample_against_draft(std::span<float> logits, std::span<const int32_t> history, int32_t draft,
                               bool& accepted);

  const SamplingParams& params() const { return params_; }
  uint64_t seed() const { return seed_; }  // the effective seed (random one if params.seed == 0)
  void set_params(const SamplingParams& params);  // also reseeds
  void reseed(uint64_t seed);

  // The probability distribution the next sample() would draw from, after every filter
  // (for tests and diagnostics): pairs sorted by id. Modifies `logits` like sample().
  std::vector<std::pair<int32_t, float>> distribution(std::span<float> logits,
                                                      std::span<const int32_t> history) const;

 private:
  SamplingParams params_;
  uint64_t seed_;
  Random rng_;
};

// Parses a parameter value by its ollama name (temperature, top_k, top_p, min_p,
// repeat_penalty, repeat_last_n, seed) into `params`. Throws std::invalid_argument with a
// one-line explanation for an unknown name or a bad value.
void set_sampling_parameter(SamplingParams& params, const std::string& name, const std::string& value);

}  // namespace dschat
