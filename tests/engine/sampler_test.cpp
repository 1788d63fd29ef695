// Sampler statistics with fixed seeds: each filter is checked against a distribution computed
// here independently (plain softmax and sorting), never against the sampler's own output.
#include "engine/sampler.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <numeric>
#include <set>

#include "engine/model.h"

namespace dschat {
namespace {

std::vector<float> random_logits(uint64_t seed, int n, float scale = 3.0f) {
  Random r(seed);
  std::vector<float> v(static_cast<size_t>(n));
  for (float& x : v) x = static_cast<float>((r.uniform() * 2 - 1) * scale);
  return v;
}

std::vector<double> softmax(const std::vector<float>& logits, double temperature = 1.0) {
  double m = *std::max_element(logits.begin(), logits.end());
  std::vector<double> p(logits.size());
  double sum = 0;
  for (size_t i = 0; i < logits.size(); ++i) sum += p[i] = std::exp((logits[i] - m) / temperature);
  for (double& x : p) x /= sum;
  return p;
}

std::vector<int> ids_by_probability(const std::vector<double>& p) {
  std::vector<int> ids(p.size());
  std::iota(ids.begin(), ids.end(), 0);
  std::stable_sort(ids.begin(), ids.end(), [&](int a, int b) { return p[a] > p[b]; });
  return ids;
}

std::map<int32_t, int> draw(Sampler& sampler, const std::vector<float>& logits, int n) {
  std::map<int32_t, int> counts;
  for (int i = 0; i < n; ++i) {
    std::vector<float> scratch = logits;
    ++counts[sampler.sample(scratch, {})];
  }
  return counts;
}

double entropy(const std::map<int32_t, int>& counts) {
  double total = 0, h = 0;
  for (auto& [id, c] : counts) total += c;
  for (auto& [id, c] : counts) h -= c / total * std::log(c / total);
  return h;
}

// Values printed by tools/sampler/xoshiro_reference.py (an independent Python implementation
// of SplitMix64 seeding + xoshiro256**).
TEST(Random, MatchesReferenceImplementation) {
  Random one(1);
  EXPECT_EQ(one.next(), 0xb3f2af6d0fc710c5ull);
  EXPECT_EQ(one.next(), 0x853b559647364ceaull);
  EXPECT_EQ(one.next(), 0x92f89756082a4514ull);
  EXPECT_EQ(one.next(), 0x642e1c7bc266a3a7ull);
  Random fortytwo(42);
  EXPECT_EQ(fortytwo.next(), 0x15780b2e0c2ec716ull);
  EXPECT_EQ(fortytwo.next(), 0x6104d9866d113a7eull);
}

TEST(Random, UniformIsInUnitInterval) {
  Random r(7);
  double sum = 0;
  for (int i = 0; i < 10000; ++i) {
    double u = r.uniform();
    ASSERT_GE(u, 0.0);
    ASSERT_LT(u, 1.0);
    sum += u;
  }
  EXPECT_NEAR(sum / 10000, 0.5, 0.02);
}

TEST(Sampler, GreedyIsArgmax) {
  SamplingParams p;
  p.temperature = 0;
  Sampler sampler(p);
  for (uint64_t seed = 1; seed <= 50; ++seed) {
    std::vector<float> logits = random_logits(seed, 1000);
    int32_t expected = static_cast<int32_t>(std::max_element(logits.begin(), logits.end()) - logits.begin());
    EXPECT_EQ(sampler.sample(logits, {}), expected);
  }
}

TEST(Sampler, SameSeedSameTokensDifferentSeedDifferentTokens) {
  std::vector<float> logits = random_logits(3, 500, 1.0f);
  SamplingParams p;
  p.temperature = 1.0f;
  p.top_p = 1.0f;
  p.seed = 1234;
  Sampler a(p), b(p);
  std::vector<int32_t> ta, tb, tc;
  for (int i = 0; i < 200; ++i) {
    std::vector<float> la = logits, lb = logits;
    ta.push_back(a.sample(la, {}));
    tb.push_back(b.sample(lb, {}));
  }
  EXPECT_EQ(ta, tb);
  p.seed = 1235;
  Sampler c(p);
  for (int i = 0; i < 200; ++i) {
    std::vector<float> lc = logits;
    tc.push_back(c.sample(lc, {}));
  }
  EXPECT_NE(ta, tc);
  // reseed restarts the sequence
  a.reseed(1234);
  std::vector<float> l = logits;
  EXPECT_EQ(a.sample(l, {}), ta[0]);
}

TEST(Sampler, UnfilteredFrequenciesFollowSoftmax) {
  std::vector<float> logits = {2.0f, 1.0f, 0.5f, 0.0f, -1.0f};
  std::vector<double> expected = softmax(logits);
  SamplingParams p;
  p.temperature = 1.0f;
  p.top_p = 1.0f;
  p.seed = 99;
  Sampler sampler(p);
  const int n = 40000;
  auto counts = draw(sampler, logits, n);
  for (int id = 0; id < 5; ++id) {
    double f = counts[id] / double(n);
    double sd = std::sqrt(expected[id] * (1 - expected[id]) / n);
    EXPECT_NEAR(f, expected[id], 5 * sd) << "id " << id;
  }
}

TEST(Sampler, TopKNeverLeavesTheKMostLikely) {
  std::vector<float> logits = random_logits(11, 300, 2.0f);
  std::vector<int> order = ids_by_probability(softmax(logits));
  std::set<int32_t> allowed(order.begin(), order.begin() + 5);
  SamplingParams p;
  p.temperature = 1.5f;
  p.top_k = 5;
  p.top_p = 1.0f;
  p.seed = 5;
  Sampler sampler(p);
  auto counts = draw(sampler, logits, 3000);
  for (auto& [id, c] : counts) EXPECT_TRUE(allowed.count(id)) << "token " << id << " is outside the top 5";
  EXPECT_EQ(counts.size(), 5u);  // and each of the five is reachable
}

TEST(Sampler, TopPKeepsTheSmallestNucleus) {
  std::vector<float> logits = random_logits(12, 400, 4.0f);
  const double top_p = 0.8;
  std::vector<double> prob = softmax(logits);
  std::vector<int> order = ids_by_probability(prob);
  std::set<int32_t> nucleus;
  double mass = 0;
  for (int id : order) {
    if (mass >= top_p) break;
    nucleus.insert(id);
    mass += prob[id];
  }
  SamplingParams p;
  p.temperature = 1.0f;
  p.top_p = static_cast<float>(top_p);
  p.seed = 6;
  Sampler sampler(p);
  std::vector<float> scratch = logits;
  auto dist = sampler.distribution(scratch, {});
  std::set<int32_t> got;
  for (auto& [id, q] : dist) got.insert(id);
  EXPECT_EQ(got, nucleus);
  auto counts = draw(sampler, logits, 3000);
  for (auto& [id, c] : counts) EXPECT_TRUE(nucleus.count(id)) << "token " << id << " is outside the nucleus";
}

TEST(Sampler, TopPWithFlatDistributionSortsBeyondTheFirstHead) {
  // 2000 equal logits: the nucleus of 0.9 holds 1800 tokens, more than the first sorted head.
  std::vector<float> logits(2000, 0.5f);
  SamplingParams p;
  p.temperature = 1.0f;
  p.top_p = 0.9f;
  Sampler sampler(p);
  auto dist = sampler.distribution(logits, {});
  EXPECT_NEAR(static_cast<double>(dist.size()), 1800.0, 1.0);
}

TEST(Sampler, MinPDropsTokensBelowTheFractionOfTheMax) {
  std::vector<float> logits = random_logits(13, 200, 3.0f);
  std::vector<double> prob = softmax(logits);
  double p_max = *std::max_element(prob.begin(), prob.end());
  SamplingParams p;
  p.temperature = 1.0f;
  p.top_p = 1.0f;
  p.min_p = 0.2f;
  p.seed = 8;
  Sampler sampler(p);
  std::set<int32_t> expected;
  for (size_t i = 0; i < prob.size(); ++i)
    if (prob[i] >= 0.2 * p_max) expected.insert(static_cast<int32_t>(i));
  std::vector<float> scratch = logits;
  std::set<int32_t> got;
  for (auto& [id, q] : sampler.distribution(scratch, {})) got.insert(id);
  EXPECT_EQ(got, expected);
  auto counts = draw(sampler, logits, 2000);
  for (auto& [id, c] : counts) EXPECT_GE(prob[id], 0.2 * p_max) << "token " << id;
}

TEST(Sampler, TemperatureMovesEntropyTheRightWay) {
  std::vector<float> logits = random_logits(14, 50, 2.0f);
  double previous = -1;
  for (float t : {0.3f, 0.7f, 1.0f, 2.0f}) {
    SamplingParams p;
    p.temperature = t;
    p.top_p = 1.0f;
    p.seed = 21;
    Sampler sampler(p);
    double h = entropy(draw(sampler, logits, 6000));
    EXPECT_GT(h, previous) << "temperature " << t;
    previous = h;
  }
}

TEST(Sampler, RepetitionPenaltyAppliesOnlyInsideTheWindow) {
  // Token 3 is the argmax; after it appears in the recent history the penalty makes 2 win.
  std::vector<float> logits = {0.0f, 0.0f, 1.8f, 2.0f};
  SamplingParams p;
  p.temperature = 0;
  p.repeat_penalty = 1.3f;
  p.repeat_window = 2;
  Sampler sampler(p);
  std::vector<int32_t> recent = {0, 3};
  std::vector<float> l = logits;
  EXPECT_EQ(sampler.sample(l, recent), 2);  // 2.0 / 1.3 < 1.8
  std::vector<int32_t> old = {3, 0, 1};     // 3 is outside the last two tokens
  l = logits;
  EXPECT_EQ(sampler.sample(l, old), 3);
  // Negative logits are multiplied, so the penalty always lowers a token.
  std::vector<float> negative = {-1.0f, -1.2f};
  p.repeat_window = 8;
  Sampler s2(p);
  std::vector<int32_t> h = {0};
  EXPECT_EQ(s2.sample(negative, h), 1);  // -1 * 1.3 = -1.3 < -1.2
}

TEST(Sampler, ZeroSeedPicksARandomSeed) {
  SamplingParams p;
  p.seed = 0;
  Sampler a(p);
  EXPECT_NE(a.seed(), 0u);
}

class SamplingDefaults : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("dschat_sampling_" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  void write(const std::string& text) { std::ofstream(dir_ / "generation_config.json") << text; }
  std::filesystem::path dir_;
};

TEST_F(SamplingDefaults, WithoutGenerationConfigTheSeedAppValues) {
  SamplingParams p = load_sampling_defaults(dir_);
  EXPECT_FLOAT_EQ(p.temperature, 0.7f);
  EXPECT_FLOAT_EQ(p.top_p, 0.9f);
}

TEST_F(SamplingDefaults, ReadsGenerationConfig) {
  write(R"({"do_sample": true, "temperature": 0.3, "top_p": 0.95, "top_k": 20, "eos_token_id": 1})");
  SamplingParams p = load_sampling_defaults(dir_);
  EXPECT_FLOAT_EQ(p.temperature, 0.3f);
  EXPECT_FLOAT_EQ(p.top_p, 0.95f);
  EXPECT_EQ(p.top_k, 20);
}

TEST_F(SamplingDefaults, DoSampleFalseIsGreedy) {
  write(R"({"do_sample": false, "temperature": 0.6})");
  EXPECT_FLOAT_EQ(load_sampling_defaults(dir_).temperature, 0.0f);
}

TEST_F(SamplingDefaults, MalformedFileIsAClearError) {
  write("{ not json");
  try {
    load_sampling_defaults(dir_);
    FAIL() << "no error";
  } catch (const ModelError& e) {
    EXPECT_NE(std::string(e.what()).find("generation_config.json"), std::string::npos);
  }
  write(R"({"temperature": "hot"})");
  EXPECT_THROW(load_sampling_defaults(dir_), ModelError);
}

// Numbers are range-checked before they are converted (top_k 1e30 as an int was undefined
// behaviour) and against the sampler's ranges, with the key in the message.
TEST_F(SamplingDefaults, OutOfRangeValuesAreClearErrors) {
  for (const auto& [text, message] : std::vector<std::pair<std::string, std::string>>{
           {R"({"top_k": 1e30})", "'top_k' is out of range"},
           {R"({"top_k": 5.5})", "'top_k' is out of range"},
           {R"({"temperature": 1e300})", "'temperature' is out of range"},
           {R"({"temperature": 500})", "temperature must be between 0 and 100"},
           {R"({"repetition_penalty": 0})", "repeat_penalty must be in (0, 10]"}}) {
    write(text);
    try {
      load_sampling_defaults(dir_);
      ADD_FAILURE() << text << " was accepted";
    } catch (const ModelError& e) {
      EXPECT_NE(std::string(e.what()).find(message), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find("generation_config.json"), std::string::npos) << e.what();
    }
  }
  write(R"({"top_k": 40, "temperature": 0.6, "top_p": 0.95})");
  EXPECT_EQ(load_sampling_defaults(dir_).top_k, 40);
}

TEST(SamplingParameter, ParsesOllamaNamesAndRejectsBadValues) {
  SamplingParams p;
  set_sampling_parameter(p, "temperature", "0");
  set_sampling_parameter(p, "top_k", "40");
  set_sampling_parameter(p, "top_p", "0.5");
  set_sampling_parameter(p, "min_p", "0.05");
  set_sampling_parameter(p, "repeat_penalty", "1.1");
  set_sampling_parameter(p, "repeat_last_n", "32");
  set_sampling_parameter(p, "seed", "7");
  EXPECT_FLOAT_EQ(p.temperature, 0.0f);
  EXPECT_EQ(p.top_k, 40);
  EXPECT_FLOAT_EQ(p.top_p, 0.5f);
  EXPECT_FLOAT_EQ(p.min_p, 0.05f);
  EXPECT_FLOAT_EQ(p.repeat_penalty, 1.1f);
  EXPECT_EQ(p.repeat_window, 32);
  EXPECT_EQ(p.seed, 7u);
  EXPECT_THROW(set_sampling_parameter(p, "temperature", "warm"), std::invalid_argument);
  EXPECT_THROW(set_sampling_parameter(p, "temperature", "-1"), std::invalid_argument);
  EXPECT_THROW(set_sampling_parameter(p, "top_p", "1.5"), std::invalid_argument);
  EXPECT_THROW(set_sampling_parameter(p, "top_k", "2.5"), std::invalid_argument);
  EXPECT_THROW(set_sampling_parameter(p, "colour", "1"), std::invalid_argument);
}

// Speculative sampling against a point-mass draft: whatever the draft, the drawn token follows the
// filtered distribution (computed here: softmax at temperature 0.8 over the top 4), and the draft
// is kept with its own probability. A rule that forgot to take the draft out of the residual would
// give the draft p + (1 - p) p.
TEST(Sampler, SpeculativeSamplingKeepsTheDistribution) {
  const std::vector<float> logits = {1.0f, 2.2f, 0.3f, 1.9f, -0.5f, 1.4f};
  std::vector<double> expected(logits.size(), 0.0);
  {
    const std::vector<double> full = softmax(logits, 0.8);
    const std::vector<int> order = ids_by_probability(full);
    double kept = 0;
    for (int i = 0; i < 4; ++i) kept += full[order[i]];
    for (int i = 0; i < 4; ++i) expected[order[i]] = full[order[i]] / kept;
  }
  SamplingParams p;
  p.temperature = 0.8f;
  p.top_k = 4;
  p.top_p = 1.0f;
  p.seed = 1234;
  const int n = 40000;
  for (int32_t draft : {1, 3, 0, 2 /* filtered out by top-k */}) {
    Sampler sampler(p);
    std::map<int32_t, int> counts;
    int kept = 0;
    for (int i = 0; i < n; ++i) {
      std::vector<float> scratch = logits;
      bool accepted = false;
      const int32_t id = sampler.sample_against_draft(scratch, {}, draft, accepted);
      ++counts[id];
      EXPECT_EQ(accepted, id == draft);
      kept += accepted;
    }
    for (int id = 0; id < static_cast<int>(logits.size()); ++id) {
      const double f = counts[id] / double(n);
      const double sd = std::sqrt(std::max(expected[id] * (1 - expected[id]), 1e-12) / n);
      EXPECT_NEAR(f, expected[id], 5 * sd) << "draft " << draft << ", id " << id;
    }
    const double sd = std::sqrt(std::max(expected[draft] * (1 - expected[draft]), 1e-12) / n);
    EXPECT_NEAR(kept / double(n), expected[draft], 5 * sd) << "draft " << draft;
  }
}

TEST(Sampler, SpeculativeSamplingWhenGreedyIsTheArgmax) {
  SamplingParams p;
  p.temperature = 0;
  p.seed = 5;
  Sampler sampler(p);
  const std::vector<float> logits = {0.1f, 3.0f, -2.0f};
  for (int32_t draft : {1, 0, 2}) {
    std::vector<float> scratch = logits;
    bool accepted = true;
    EXPECT_EQ(sampler.sample_against_draft(scratch, {}, draft, accepted), 1);
    EXPECT_EQ(accepted, draft == 1);
  }
}

}  // namespace
}  // namespace dschat
