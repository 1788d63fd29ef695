// Multi-token prediction on the bundled model (assets/model, MTP module model.layers.4):
// the module's logits against the PyTorch reference's forward_mtp (tests/data/bundled_mtp, written
// by tools/make_mtp_goldens.py in float64 from the stored BF16 weights); verify() bit for bit
// against one-token appends for every weight type; greedy generation with speculation token for
// token equal to generation without it, at eos, stop-string and length boundaries and across
// truncation and reuse of the cache.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/generation.h"
#include "engine/model.h"
#include "tests/engine/npy_file.h"

namespace dschat {
namespace {

const std::filesystem::path kModelDir = std::filesystem::path(DSCHAT_SOURCE_DIR) / "assets" / "model";
const std::filesystem::path kGoldenDir = std::filesystem::path(DSCHAT_TEST_DATA_DIR) / "bundled_mtp";

nlohmann::json read_json(const std::filesystem::path& path) {
  std::ifstream f(path);
  if (!f) throw std::runtime_error(path.string() + ": cannot open");
  return nlohmann::json::parse(f);
}

const Model& model_of(WeightType type) {
  static std::map<WeightType, std::unique_ptr<Model>> models;
  auto& m = models[type];
  if (!m) {
    LoadOptions options;
    options.weight_type = type;
    options.output_weight_type = type;
    m = Model::load(kModelDir, options);
  }
  return *m;
}

std::unique_ptr<InferenceContext> mtp_context(const Model& model, int capacity, int draft_vocab = 8192,
                                              bool quantized_draft_head = true) {
  ContextOptions options;
  options.mtp = true;
  options.draft_vocab = draft_vocab;
  options.quantized_draft_head = quantized_draft_head;
  return InferenceContext::create(model, capacity, options);
}

// max |got - want| / max |want| over the golden's columns of one row.
double row_error(std::span<const float> got, const float* want, int64_t columns) {
  double diff = 0, scale = 0;
  for (int64_t c = 0; c < columns; ++c) {
    diff = std::max(diff, std::fabs(double(got[c]) - want[c]));
    scale = std::max(scale, std::fabs(double(want[c])));
  }
  return diff / scale;
}

// A forward_mtp golden: the ids, the module's logits of every position [ids-1, vocab] and their
// argmax.
class MtpGoldenTest : public ::testing::Test {
 protected:
  void load_golden(std::vector<int32_t> ids, std::vector<int32_t> argmax, const std::filesystem::path& logits) {
    ids_ = std::move(ids);
    argmax_ = std::move(argmax);
    golden_ = read_npy(logits);
    ASSERT_EQ(golden_.shape.size(), 2u);
    ASSERT_EQ(golden_.shape[0], static_cast<int64_t>(ids_.size()) - 1);
    columns_ = golden_.shape[1];
  }
  const float* golden_row(size_t i) const { return golden_.data.data() + i * columns_; }

  std::vector<int32_t> ids_, argmax_;
  NpyArray golden_;
  int64_t columns_ = 0;
};

class MtpReference : public MtpGoldenTest {
 protected:
  void SetUp() override {
    nlohmann::json c = read_json(kGoldenDir / "case.json");
    load_golden(c["ids"].get<std::vector<int32_t>>(), c["argmax"].get<std::vector<int32_t>>(),
                kGoldenDir / "mtp_logits.npy");
  }
};

constexpr double kTolerance = 1e-4;  // as the main model's bundled goldens (float32 vs float64)

// Decode path: after ids[0..i] the MTP module at position i, fed h_i and emb(ids[i+1]), gives
// the reference's forward_mtp row i, over its latent rows of positions 0..i-1 made by appends.
TEST_F(MtpReference, DraftLogitsMatchForwardMtpTokenByToken) {
  const Model& model = model_of(WeightType::Native);
  auto context = mtp_context(model, static_cast<int>(ids_.size()), /*draft_vocab=*/0, /*quantized_draft_head=*/false);
  ASSERT_TRUE(context->can_draft());
  ASSERT_TRUE(context->append(std::span<const int32_t>(ids_.data(), 1), {}));
  for (size_t i = 0; i + 1 < ids_.size(); ++i) {
    int32_t draft = -1;
    ASSERT_EQ(context->draft(ids_[i + 1], 1, std::span<int32_t>(&draft, 1)), 1);
    ASSERT_EQ(static_cast<int64_t>(context->draft_logits().size()), model.config().vocab_size);
    EXPECT_LE(row_error(context->draft_logits(), golden_row(i), columns_), kTolerance) << "position " << i;
    EXPECT_EQ(draft, argmax_[i]) << "position " << i;
    ASSERT_TRUE(context->append(std::span<const int32_t>(ids_.data() + i + 1, 1), {}));
  }
}

// Full-sequence path (chunks of 5, so the lag crosses chunk boundaries), and truncation: the
// pending hidden state of position n-1 restored from the last chunk's rows.
TEST_F(MtpReference, DraftLogitsMatchAfterPrefillChunksAndTruncate) {
  const Model& model = model_of(WeightType::Native);
  auto context = mtp_context(model, static_cast<int>(ids_.size()), 0, false);
  context->set_prefill_chunk(5);
  const size_t n = ids_.size() - 1;
  ASSERT_TRUE(context->append(std::span<const int32_t>(ids_.data(), n), {}));
  int32_t draft = -1;
  ASSERT_EQ(context->draft(ids_[n], 1, std::span<int32_t>(&draft, 1)), 1);
  EXPECT_LE(row_error(context->draft_logits(), golden_row(n - 1), columns_), kTolerance);
  EXPECT_EQ(draft, argmax_[n - 1]);
  // Position n-3 is in the last chunk (rows 10..14): its hidden state comes back.
  context->truncate(static_cast<int>(n - 2));
  ASSERT_EQ(context->draft(ids_[n - 2], 1, std::span<int32_t>(&draft, 1)), 1);
  EXPECT_LE(row_error(context->draft_logits(), golden_row(n - 3), columns_), kTolerance);
  EXPECT_EQ(draft, argmax_[n - 3]);
  // Far back: no hidden state for that position, so no draft (never a wrong one)...
  context->truncate(3);
  EXPECT_EQ(context->draft(ids_[3], 1, std::span<int32_t>(&draft, 1)), 0);
  // ... until an append makes one; the skipped MTP row only costs draft quality.
  ASSERT_TRUE(context->append(std::span<const int32_t>(ids_.data() + 3, 1), {}));
  EXPECT_EQ(context->draft(ids_[4], 1, std::span<int32_t>(&draft, 1)), 1);
}

TEST_F(MtpReference, InfoShowsTheModule) {
  const std::string info = model_of(WeightType::Native).describe();
  EXPECT_NE(info.find("multi-token prediction: 1 module(s) (layers 4..4)"), std::string::npos) << info;
  EXPECT_NE(info.find("head shared with lm_head"), std::string::npos) << info;
}

// verify([a, b, c]) computes bit for bit what append(a), append(b), append(c) do, for every
// weight type; and running the MTP module beside the main model changes none of its logits.
TEST(MtpVerify, BitIdenticalToOneTokenAppends) {
  const std::vector<int32_t> prompt = {1870, 1793, 531, 11, 3914, 612, 307, 1657, 25, 290};
  const std::vector<int32_t> next = {612, 373, 1657, 13};
  for (WeightType type : {WeightType::Native, WeightType::F32, WeightType::BF16, WeightType::Q8_0, WeightType::Q4_0}) {
    const Model& model = model_of(type);
    const size_t vocab = static_cast<size_t>(model.config().vocab_size);
    for (size_t n = 1; n <= next.size(); ++n) {
      auto plain = InferenceContext::create(model, 32);
      auto speculative = mtp_context(model, 32);
      std::vector<float> a(vocab), b(vocab);
      ASSERT_TRUE(plain->append(prompt, a));
      ASSERT_TRUE(speculative->append(prompt, b));
      ASSERT_EQ(std::memcmp(a.data(), b.data(), vocab * sizeof(float)), 0) << "prefill, type " << int(type);
      std::vector<float> one_by_one(n * vocab), batched(n * vocab);
      for (size_t i = 0; i < n; ++i) {
        ASSERT_TRUE(plain->append(std::span<const int32_t>(next.data() + i, 1),
                                  std::span<float>(one_by_one).subspan(i * vocab, vocab)));
      }
      ASSERT_TRUE(speculative->verify(std::span<const int32_t>(next.data(), n), batched));
      EXPECT_EQ(std::memcmp(one_by_one.data(), batched.data(), n * vocab * sizeof(float)), 0)
          << n << " tokens, type " << int(type);
      EXPECT_EQ(plain->tokens(), speculative->tokens());
      // And what follows is the same too (the latent rows verify wrote are the decode ones).
      ASSERT_TRUE(plain->append(std::span<const int32_t>(&prompt[0], 1), a));
      ASSERT_TRUE(speculative->append(std::span<const int32_t>(&prompt[0], 1), b));
      EXPECT_EQ(std::memcmp(a.data(), b.data(), vocab * sizeof(float)), 0) << "after verify, type " << int(type);
    }
  }
}

// Token text for the generation loop: "<id>" (the engine has no tokenizer).
class IdText : public TokenTextDecoder {
 public:
  std::string push(int32_t id) override {
    std::string text = "<";  // built piecewise: GCC 12 misreports "<" + std::string (-Wrestrict)
    text += std::to_string(id);
    return text + ">";
  }
  std::string finish() override { return {}; }
  void reset() override {}
};

GenerationResult run_generate(const Model& model, InferenceContext& context, const std::vector<int32_t>& prompt,
                              GenerationOptions options, int draft, float repeat_penalty = 1.0f) {
  SamplingParams params;
  params.temperature = 0;
  params.repeat_penalty = repeat_penalty;
  Sampler sampler(params);
  IdText text;
  options.draft_tokens = draft;
  return generate(model, context, prompt, sampler, text, options, nullptr);
}

const std::vector<std::vector<int32_t>> kPrompts = {
    {12982, 25, 554, 262, 3726, 1793, 2727, 262, 9538, 290, 262, 4534, 13, 198, 48902, 25},
    {1870, 1793, 531, 11, 3914, 612, 307, 1657, 25},
    {464},
};

void expect_same(const GenerationResult& plain, const GenerationResult& spec, const InferenceContext& plain_context,
                 const InferenceContext& spec_context, const std::string& what) {
  EXPECT_EQ(plain.tokens, spec.tokens) << what;
  EXPECT_EQ(plain.text, spec.text) << what;
  EXPECT_EQ(plain.stats.stop, spec.stats.stop) << what;
  EXPECT_EQ(plain.stats.generated_tokens, spec.stats.generated_tokens) << what;
  EXPECT_EQ(plain_context.tokens(), spec_context.tokens()) << what;
}

TEST(MtpGeneration, GreedyOutputIdenticalWithAndWithoutSpeculation) {
  const Model& model = model_of(WeightType::Native);
  int accepted = 0;
  struct Run {
    int draft, max_tokens;
  };
  for (const auto& prompt : kPrompts) {
    for (const auto [draft, max_tokens] : {Run{3, 40}, Run{1, 17}, Run{2, 1}, Run{3, 5}}) {
      {
        GenerationOptions options;
        options.max_tokens = max_tokens;
        auto plain_context = InferenceContext::create(model, 128);
        auto spec_context = mtp_context(model, 128);
        const GenerationResult plain = run_generate(model, *plain_context, prompt, options, 0);
        const GenerationResult spec = run_generate(model, *spec_context, prompt, options, draft);
        expect_same(plain, spec, *plain_context, *spec_context,
                     "draft " + std::to_string(draft) + ", max " + std::to_string(max_tokens));
        accepted += spec.stats.accepted_tokens;
        EXPECT_EQ(plain.stats.drafted_tokens, 0);
      }
    }
  }
  EXPECT_GT(accepted, 0) << "no draft was ever accepted: speculation did not run";
}

// An eos id or a stop string that falls inside accepted drafts stops exactly where the plain loop
// stops; so does a full context; and a repetition penalty (greedy) still sees the right history.
TEST(MtpGeneration, StopsAtTheSameTokenAsWithoutSpeculation) {
  const Model& model = model_of(WeightType::Native);
  const std::vector<int32_t>& prompt = kPrompts[0];
  GenerationOptions options;
  options.max_tokens = 40;
  auto reference_context = InferenceContext::create(model, 128);
  const GenerationResult reference = run_generate(model, *reference_context, prompt, options, 0);
  ASSERT_GE(reference.tokens.size(), 12u);
  for (size_t at : {size_t{1}, size_t{4}, size_t{7}, size_t{11}}) {
    for (int draft : {1, 3}) {
      GenerationOptions eos = options;
      eos.eos_ids = {reference.tokens[at]};
      GenerationOptions stop = options;
      std::string stop_string = "<";  // piecewise: GCC 12's -Wrestrict false positive on "<" + std::string
      stop_string += std::to_string(reference.tokens[at]);
      stop_string += ">";
      stop.stop_strings = {stop_string};
      for (const GenerationOptions& o : {eos, stop}) {
        auto plain_context = InferenceContext::create(model, 128);
        auto spec_context = mtp_context(model, 128);
        const GenerationResult plain = run_generate(model, *plain_context, prompt, o, 0);
        const GenerationResult spec = run_generate(model, *spec_context, prompt, o, draft);
        expect_same(plain, spec, *plain_context, *spec_context, "stop at " + std::to_string(at));
      }
    }
  }
  for (int capacity : {17, 19, 23}) {  // the context fills up mid-draft
    auto plain_context = InferenceContext::create(model, capacity);
    auto spec_context = mtp_context(model, capacity);
    const GenerationResult plain = run_generate(model, *plain_context, prompt, options, 0);
    const GenerationResult spec = run_generate(model, *spec_context, prompt, options, 3);
    EXPECT_EQ(plain.stats.stop, StopReason::Context);
    expect_same(plain, spec, *plain_context, *spec_context, "capacity " + std::to_string(capacity));
  }
  auto plain_context = InferenceContext::create(model, 128);
  auto spec_context = mtp_context(model, 128);
  const GenerationResult plain = run_generate(model, *plain_context, kPrompts[1], options, 0, 1.3f);
  const GenerationResult spec = run_generate(model, *spec_context, kPrompts[1], options, 3, 1.3f);
  expect_same(plain, spec, *plain_context, *spec_context, "repeat penalty");
}

// A context that speculated, then is cut back (regenerate) or extended (the next turn reuses the
// cache) gives the tokens a fresh context gives.
TEST(MtpGeneration, TruncateAndContinueAfterSpeculationMatchesAFreshRun) {
  const Model& model = model_of(WeightType::Native);
  GenerationOptions options;
  options.max_tokens = 30;
  auto context = mtp_context(model, 256);
  const GenerationResult first = run_generate(model, *context, kPrompts[0], options, 3);
  // Regenerate: the same prompt again on the used cache.
  const GenerationResult again = run_generate(model, *context, kPrompts[0], options, 3);
  EXPECT_EQ(first.tokens, again.tokens);
  // Next turn: the prompt plus part of the reply plus new tokens; against a fresh plain context.
  std::vector<int32_t> longer = kPrompts[0];
  longer.insert(longer.end(), first.tokens.begin(), first.tokens.begin() + 10);
  longer.insert(longer.end(), kPrompts[1].begin(), kPrompts[1].end());
  const GenerationResult next = run_generate(model, *context, longer, options, 3);
  EXPECT_GT(next.stats.reused_tokens, static_cast<int>(kPrompts[0].size()));
  auto fresh = InferenceContext::create(model, 256);
  const GenerationResult want = run_generate(model, *fresh, longer, options, 0);
  EXPECT_EQ(next.tokens, want.tokens);
  EXPECT_EQ(context->tokens(), fresh->tokens());
}

// Sampling with drafts (speculative sampling): the first two sampled tokens, over many seeds,
// follow the model's own joint distribution p(t1) p(t2 | t1), computed here from plain one-token
// appends; drafts are both kept and replaced along the way.
TEST(MtpGeneration, SampledTokensFollowTheModelsDistribution) {
  const Model& model = model_of(WeightType::Native);
  const std::vector<int32_t>& prompt = kPrompts[1];
  SamplingParams params;
  params.temperature = 1.0f;
  params.top_k = 3;
  params.top_p = 1.0f;
  params.seed = 1;
  const size_t vocab = static_cast<size_t>(model.config().vocab_size);

  std::map<std::vector<int32_t>, double> expected;
  {
    auto plain = InferenceContext::create(model, 64);
    std::vector<float> logits(vocab);
    ASSERT_GE(prefill_with_reuse(*plain, prompt, logits), 0);
    const Sampler reader(params);
    for (const auto& [t1, p1] : reader.distribution(logits, prompt)) {
      std::vector<int32_t> history = prompt;
      history.push_back(t1);
      ASSERT_GE(prefill_with_reuse(*plain, history, logits), 0);
      for (const auto& [t2, p2] : reader.distribution(logits, history)) expected[{t1, t2}] = double(p1) * p2;
    }
  }

  auto context = mtp_context(model, 64);
  std::map<std::vector<int32_t>, int> counts;
  int drafted = 0, accepted = 0;
  const int n = 600;
  Sampler sampler(params);
  IdText text;
  GenerationOptions options;
  options.max_tokens = 2;
  options.draft_tokens = 1;
  for (int i = 0; i < n; ++i) {
    sampler.reseed(static_cast<uint64_t>(i) + 1);
    const GenerationResult r = generate(model, *context, prompt, sampler, text, options, nullptr);
    ++counts[r.tokens];
    drafted += r.stats.drafted_tokens;
    accepted += r.stats.accepted_tokens;
  }
  EXPECT_EQ(drafted, n) << "every run drafts its second token";
  EXPECT_GT(accepted, 0);
  EXPECT_LT(accepted, n);
  for (const auto& [tokens, count] : counts) EXPECT_TRUE(expected.count(tokens)) << "an impossible pair was drawn";
  for (const auto& [tokens, p] : expected) {
    const double f = counts[tokens] / double(n);
    EXPECT_NEAR(f, p, 5 * std::sqrt(p * (1 - p) / n) + 1e-9) << tokens[0] << " " << tokens[1];
  }
}

// DeepSeek-from-Scratch's .pt head (mtp_heads.0: hidden first, biased combine_proj, no final
// norm) against tools/pt_variants/mayank_model.py forward_mtp (tests/data/pt/mayank), on both
// paths, and greedy output with speculation identical to without.
class PtMtpReference : public MtpGoldenTest {
 protected:
  static const Model& model() {
    static std::unique_ptr<Model> m =
        Model::load(std::filesystem::path(DSCHAT_TEST_DATA_DIR) / "pt" / "mayank" / "model.pt", LoadOptions{});
    return *m;
  }
  void SetUp() override {
    const std::filesystem::path dir = std::filesystem::path(DSCHAT_TEST_DATA_DIR) / "pt" / "mayank";
    load_golden(read_json(dir / "ids.json")["ids"].get<std::vector<int32_t>>(),
                read_json(dir / "mtp.json")["argmax"].get<std::vector<int32_t>>(), dir / "mtp_logits.npy");
  }
};

TEST_F(PtMtpReference, DraftLogitsMatchForwardMtpOnBothPaths) {
  ASSERT_EQ(model().config().num_nextn_predict_layers, 1);
  auto decode = mtp_context(model(), static_cast<int>(ids_.size()), 0, false);
  ASSERT_TRUE(decode->can_draft());
  ASSERT_TRUE(decode->append(std::span<const int32_t>(ids_.data(), 1), {}));
  for (size_t i = 0; i + 1 < ids_.size(); ++i) {
    int32_t draft = -1;
    ASSERT_EQ(decode->draft(ids_[i + 1], 1, std::span<int32_t>(&draft, 1)), 1);
    EXPECT_LE(row_error(decode->draft_logits(), golden_row(i), columns_), kTolerance) << "position " << i;
    EXPECT_EQ(draft, argmax_[i]) << "position " << i;
    ASSERT_TRUE(decode->append(std::span<const int32_t>(ids_.data() + i + 1, 1), {}));
  }
  auto prefill = mtp_context(model(), static_cast<int>(ids_.size()), 0, false);
  prefill->set_prefill_chunk(7);
  const size_t n = ids_.size() - 1;
  ASSERT_TRUE(prefill->append(std::span<const int32_t>(ids_.data(), n), {}));
  int32_t draft = -1;
  ASSERT_EQ(prefill->draft(ids_[n], 1, std::span<int32_t>(&draft, 1)), 1);
  EXPECT_LE(row_error(prefill->draft_logits(), golden_row(n - 1), columns_), kTolerance);
  EXPECT_EQ(draft, argmax_[n - 1]);
}

TEST_F(PtMtpReference, InfoShowsTheHead) {
  const std::string info = model().describe();
  EXPECT_NE(info.find("multi-token prediction: 1 module(s) (mtp_heads.0..0)"), std::string::npos) << info;
  EXPECT_NE(info.find("head shared with lm_head"), std::string::npos) << info;
}

TEST_F(PtMtpReference, GreedyOutputIdenticalWithAndWithoutSpeculation) {
  const std::vector<int32_t> prompt(ids_.begin(), ids_.begin() + 12);
  int drafted = 0;
  for (int draft : {1, 2, 3}) {
    GenerationOptions options;
    options.max_tokens = 60;  // past the 96-token window: generate() crops, as the original does
    auto plain_context = InferenceContext::create(model(), 96);
    auto spec_context = mtp_context(model(), 96, 0);
    const GenerationResult plain = run_generate(model(), *plain_context, prompt, options, 0);
    const GenerationResult spec = run_generate(model(), *spec_context, prompt, options, draft);
    expect_same(plain, spec, *plain_context, *spec_context, "draft " + std::to_string(draft));
    drafted += spec.stats.drafted_tokens;
  }
  EXPECT_GT(drafted, 0) << "speculation did not run";
}

}  // namespace
}  // namespace dschat
