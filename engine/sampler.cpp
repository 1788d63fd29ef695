#include "engine/sampler.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <sstream>
#include <stdexcept>
#include <unordered_set>

#include <nlohmann/json.hpp>

#include "engine/io/model_file_read.h"
#include "engine/model.h"

namespace dschat {

namespace {

uint64_t splitmix64(uint64_t& state) {
  uint64_t z = (state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

struct Candidate {
  int32_t id;
  float p;  // logit first, then probability
};

// Penalises tokens seen in the last `window` entries of history (Keskar et al. 2019, CTRL):
// a positive logit is divided by the penalty, a negative one multiplied.
void apply_repeat_penalty(std::span<float> logits, std::span<const int32_t> history, float penalty, int window) {
  if (penalty == 1.0f || window <= 0 || history.empty()) return;
  size_t begin = history.size() > static_cast<size_t>(window) ? history.size() - window : 0;
  std::unordered_set<int32_t> seen(history.begin() + begin, history.end());
  for (int32_t id : seen) {
    if (id < 0 || static_cast<size_t>(id) >= logits.size()) continue;
    float& l = logits[id];
    l = l > 0 ? l / penalty : l * penalty;
  }
}

int32_t argmax(std::span<const float> logits) {
  int32_t best = 0;
  for (size_t i = 1; i < logits.size(); ++i)
    if (logits[i] > logits[best]) best = static_cast<int32_t>(i);
  return best;
}

bool by_probability(const Candidate& a, const Candidate& b) { return a.p > b.p || (a.p == b.p && a.id < b.id); }

// The filtered, normalised distribution, most probable first (ties by id).
std::vector<Candidate> filtered_candidates(std::span<float> logits, std::span<const int32_t> history,
                                           const SamplingParams& params) {
  apply_repeat_penalty(logits, history, params.repeat_penalty, params.repeat_window);
  std::vector<Candidate> c;
  if (params.temperature <= 0.0f) {
    c.push_back({argmax(logits), 1.0f});
    return c;
  }
  // Softmax of logits / T, in double for the sum.
  float max_logit = -std::numeric_limits<float>::infinity();
  for (float l : logits) max_logit = std::max(max_logit, l);
  if (!std::isfinite(max_logit)) throw std::runtime_error("sampler: logits contain no finite maximum");
  const double inv_t = 1.0 / params.temperature;
  c.reserve(logits.size());
  double sum = 0;
  for (size_t i = 0; i < logits.size(); ++i) {
    double p = std::exp((static_cast<double>(logits[i]) - max_logit) * inv_t);
    if (p > 0) {
      c.push_back({static_cast<int32_t>(i), static_cast<float>(p)});
      sum += p;
    }
  }
  for (Candidate& x : c) x.p = static_cast<float>(x.p / sum);
  // min-p (relative to the most probable token; the max has p = 1/sum before normalising).
  if (params.min_p > 0.0f) {
    float p_max = static_cast<float>(1.0 / sum);
    float cut = params.min_p * p_max;
    std::erase_if(c, [cut](const Candidate& x) { return x.p < cut; });
  }
  // top-k, then sort what is left (only the head when top-p stops early).
  size_t keep = c.size();
  if (params.top_k > 0) keep = std::min(keep, static_cast<size_t>(params.top_k));
  if (params.top_p < 1.0f) {
    // Sort a growing head until its mass reaches top_p: exact, and fast for a peaked distribution.
    size_t head = std::min(keep, static_cast<size_t>(256));
    for (;;) {
      std::partial_sort(c.begin(), c.begin() + head, c.end(), by_probability);
      double mass = 0;
      size_t n = 0;
      while (n < head && mass < params.top_p) mass += c[n++].p;
      if (mass >= params.top_p || head == keep) {
        keep = n;
        break;
      }
      head = std::min(keep, head * 4);
    }
  } else {
    std::partial_sort(c.begin(), c.begin() + keep, c.end(), by_probability);
  }
  c.resize(std::max<size_t>(keep, 1));
  double total = 0;
  for (const Candidate& x : c) total += x.p;
  for (Candidate& x : c) x.p = static_cast<float>(x.p / total);
  return c;
}

float parse_float(const std::string& name, const std::string& value) {
  try {
    size_t used = 0;
    float v = std::stof(value, &used);
    if (used != value.size() || !std::isfinite(v)) throw std::invalid_argument("");
    return v;
  } catch (const std::exception&) {
    throw std::invalid_argument(name + " needs a number, got '" + value + "'");
  }
}

long long parse_integer(const std::string& name, const std::string& value) {
  try {
    size_t used = 0;
    long long v = std::stoll(value, &used);
    if (used != value.size()) throw std::invalid_argument("");
    return v;
  } catch (const std::exception&) {
    throw std::invalid_argument(name + " needs an integer, got '" + value + "'");
  }
}

}  // namespace

uint64_t random_seed() {
  uint64_t t = static_cast<uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count());
  uint64_t a = reinterpret_cast<uintptr_t>(&t);
  uint64_t s = t ^ (a << 17);
  uint64_t seed = splitmix64(s);
  return seed == 0 ? 1 : seed;
}

Random::Random(uint64_t seed) {
  uint64_t state = seed;
  for (uint64_t& s : s_) s = splitmix64(state);
}

uint64_t Random::next() {  // xoshiro256**
  const uint64_t result = rotl(s_[1] * 5, 7) * 9;
  const uint64_t t = s_[1] << 17;
  s_[2] ^= s_[0];
  s_[3] ^= s_[1];
  s_[1] ^= s_[2];
  s_[0] ^= s_[3];
  s_[2] ^= t;
  s_[3] = rotl(s_[3], 45);
  return result;
}

double Random::uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }

Sampler::Sampler(const SamplingParams& params)
    : params_(params), seed_(params.seed ? params.seed : random_seed()), rng_(seed_) {}

void Sampler::set_params(const SamplingParams& params) {
  params_ = params;
  reseed(params.seed ? params.seed : random_seed());
}

void Sampler::reseed(uint64_t seed) {
  seed_ = seed;
  rng_ = Random(seed);
}

int32_t Sampler::sample(std::span<float> logits, std::span<const int32_t> history) {
  if (logits.empty()) throw std::runtime_error("sampler: empty logits");
  std::vector<Candidate> c = filtered_candidates(logits, history, params_);
  if (c.size() == 1) return c[0].id;
  double u = rng_.uniform();
  double cumulative = 0;
  for (const Candidate& x : c) {
    cumulative += x.p;
    if (u < cumulative) return x.id;
  }
  return c.back().id;  // rounding: u beyond the summed mass
}

int32_t Sampler::sample_against_draft(std::span<float> logits, std::span<const int32_t> history, int32_t draft,
                                      bool& accepted) {
  if (logits.empty()) throw std::runtime_error("sampler: empty logits");
  std::vector<Candidate> c = filtered_candidates(logits, history, params_);
  accepted = false;
  if (c.size() == 1) {
    accepted = c[0].id == draft;
    return c[0].id;
  }
  double p_draft = 0;
  for (const Candidate& x : c)
    if (x.id == draft) p_draft = x.p;
  if (p_draft > 0 && rng_.uniform() < p_draft) {
    accepted = true;
    return draft;
  }
  // The residual max(0, p - delta(draft)), normalised: p without the draft, scaled by 1/(1 - p_draft).
  const double u = rng_.uniform() * (1.0 - p_draft);
  double cumulative = 0;
  int32_t last = -1;
  for (const Candidate& x : c) {
    if (x.id == draft) continue;
    cumulative += x.p;
    last = x.id;
    if (u < cumulative) return x.id;
  }
  return last;  // rounding: u beyond the summed mass
}

std::vector<std::pair<int32_t, float>> Sampler::distribution(std::span<float> logits,
                                                             std::span<const int32_t> history) const {
  std::vector<Candidate> c = filtered_candidates(logits, history, params_);
  std::vector<std::pair<int32_t, float>> out;
  out.reserve(c.size());
  for (const Candidate& x : c) out.emplace_back(x.id, x.p);
  std::sort(out.begin(), out.end());
  return out;
}

std::string sampling_params_problem(const SamplingParams& p) {
  if (!(p.temperature >= 0 && p.temperature <= 100)) return "temperature must be between 0 and 100";
  if (p.top_k < 0 || p.top_k > 1'000'000) return "top_k must be 0 (off) or a positive count";
  if (!(p.top_p > 0 && p.top_p <= 1)) return "top_p must be in (0, 1]";
  if (!(p.min_p >= 0 && p.min_p <= 1)) return "min_p must be in [0, 1]";
  if (!(p.repeat_penalty > 0 && p.repeat_penalty <= 10)) return "repeat_penalty must be in (0, 10]";
  if (p.repeat_window < 0 || p.repeat_window > 1'000'000) return "repeat_last_n must be >= 0";
  return "";
}

SamplingParams load_sampling_defaults(const std::filesystem::path& model_dir) {
  SamplingParams params;
  std::filesystem::path file = model_dir / "generation_config.json";
  const std::optional<std::string> text = read_model_file_if_present(file, kJsonConfigLimit);
  if (!text) return params;
  nlohmann::json j = nlohmann::json::parse(*text, nullptr, false);
  if (j.is_discarded() || !j.is_object())
    throw ModelError(file.string() + ": not a valid JSON object");
  auto number = [&](const char* key, auto& target) {
    if (!j.contains(key) || j[key].is_null()) return;
    if (!j[key].is_number())
      throw ModelError(file.string() + ": '" + key + "' must be a number");
    // Read as double and range-check before converting: 1e30 as an int is undefined behaviour.
    const double v = j[key].get<double>();
    using T = std::remove_reference_t<decltype(target)>;
    if (!std::isfinite(v) || v < -1e9 || v > 1e9 || (std::is_integral_v<T> && v != std::floor(v))) {
      throw ModelError(file.string() + ": '" + key + "' is out of range");
    }
    target = static_cast<T>(v);
  };
  number("temperature", params.temperature);
  number("top_p", params.top_p);
  number("top_k", params.top_k);
  number("repetition_penalty", params.repeat_penalty);
  if (j.contains("do_sample") && j["do_sample"].is_boolean() && !j["do_sample"].get<bool>())
    params.temperature = 0.0f;  // Hugging Face: do_sample = false is greedy decoding
  if (const std::string problem = sampling_params_problem(params); !problem.empty())
    throw ModelError(file.string() + ": " + problem);
  return params;
}

void set_sampling_parameter(SamplingParams& params, const std::string& name, const std::string& value) {
  if (name == "temperature") {
    float v = parse_float(name, value);
    if (v < 0 || v > 100) throw std::invalid_argument("temperature must be between 0 and 100");
    params.temperature = v;
  } else if (name == "top_k") {
    long long v = parse_integer(name, value);
    if (v < 0 || v > 1'000'000) throw std::invalid_argument("top_k must be 0 (off) or a positive count");
    params.top_k = static_cast<int>(v);
  } else if (name == "top_p") {
    float v = parse_float(name, value);
    if (v <= 0 || v > 1) throw std::invalid_argument("top_p must be in (0, 1]");
    params.top_p = v;
  } else if (name == "min_p") {
    float v = parse_float(name, value);
    if (v < 0 || v > 1) throw std::invalid_argument("min_p must be in [0, 1]");
    params.min_p = v;
  } else if (name == "repeat_penalty") {
    float v = parse_float(name, value);
    if (v <= 0 || v > 10) throw std::invalid_argument("repeat_penalty must be in (0, 10]");
    params.repeat_penalty = v;
  } else if (name == "repeat_last_n") {
    long long v = parse_integer(name, value);
    if (v < 0 || v > 1'000'000) throw std::invalid_argument("repeat_last_n must be >= 0");
    params.repeat_window = static_cast<int>(v);
  } else if (name == "seed") {
    long long v = parse_integer(name, value);
    if (v < 0) throw std::invalid_argument("seed must be >= 0 (0 = random)");
    params.seed = static_cast<uint64_t>(v);
  } else {
    throw std::invalid_argument("unknown parameter '" + name +
                                "' (known: temperature, top_k, top_p, min_p, repeat_penalty, repeat_last_n, seed)");
  }
}

}  // namespace dschat
