// The two ways through the model must agree: the batched full-sequence pass (any chunk size)
// and token-by-token decode with the absorbed MLA over the latent cache. Random models written
// by the test, so every feature combination below is exercised without golden data.
#include <gtest/gtest.h>

#include <cmath>

#include "engine/model.h"
#include "tests/engine/checkpoint_writer.h"

namespace dschat {
namespace {

using nlohmann::json;

double relative_max_abs(const std::vector<float>& a, const std::vector<float>& b) {
  double diff = 0, scale = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    diff = std::max(diff, std::fabs(double(a[i]) - b[i]));
    scale = std::max(scale, std::fabs(double(b[i])));
  }
  return diff / scale;
}

std::vector<int32_t> some_ids(int n, int vocab) {
  std::vector<int32_t> ids;
  for (int i = 0; i < n; ++i) ids.push_back((i * 37 + 11) % vocab);
  return ids;
}

std::vector<float> full_sequence(const Model& model, const std::vector<int32_t>& ids, int chunk) {
  auto ctx = InferenceContext::create(model, static_cast<int>(ids.size()));
  ctx->set_prefill_chunk(chunk);
  std::vector<float> logits(ids.size() * model.config().vocab_size);
  EXPECT_TRUE(ctx->append(ids, {}, nullptr, logits));
  EXPECT_EQ(ctx->size(), static_cast<int>(ids.size()));
  return logits;
}

std::vector<float> token_by_token(const Model& model, const std::vector<int32_t>& ids) {
  const int64_t vocab = model.config().vocab_size;
  auto ctx = InferenceContext::create(model, static_cast<int>(ids.size()));
  std::vector<float> logits(ids.size() * vocab);
  for (size_t i = 0; i < ids.size(); ++i) {
    EXPECT_TRUE(ctx->append(std::span<const int32_t>(&ids[i], 1), std::span<float>(logits.data() + i * vocab, vocab)));
  }
  return logits;
}

struct Variant {
  const char* name;
  json overrides;
  test::RandomModelOptions options;
};

class ForwardPaths : public ::testing::TestWithParam<Variant> {};

TEST_P(ForwardPaths, FullSequenceEqualsTokenByTokenEqualsChunked) {
  const Variant& v = GetParam();
  json config = test::small_config();
  for (auto it = v.overrides.begin(); it != v.overrides.end(); ++it) config[it.key()] = it.value();
  test::TempDir dir;
  test::write_random_model(dir.path(), config, v.options);
  LoadOptions load;
  load.threads = 2;
  auto model = Model::load(dir.path(), load);
  const auto ids = some_ids(40, model->config().vocab_size);

  std::vector<float> full = full_sequence(*model, ids, 64);
  std::vector<float> decode = token_by_token(*model, ids);
  double scale = 0;
  for (float x : full) scale = std::max(scale, std::fabs(double(x)));
  ASSERT_GT(scale, 0.1) << "degenerate logits";
  EXPECT_LT(relative_max_abs(decode, full), 1e-5) << v.name;
  for (int chunk : {1, 3, 16, 39}) EXPECT_LT(relative_max_abs(full_sequence(*model, ids, chunk), full), 1e-5) << "chunk " << chunk;

  // Prefill a prefix, decode the rest; truncate and redo a different continuation and back.
  const int64_t vocab = model->config().vocab_size;
  auto ctx = InferenceContext::create(*model, 64);
  std::vector<float> mixed(ids.size() * vocab);
  ctx->set_prefill_chunk(7);
  ASSERT_TRUE(ctx->append(std::span(ids).first(25), {}, nullptr, std::span(mixed).first(25 * vocab)));
  for (size_t i = 25; i < ids.size(); ++i) {
    ASSERT_TRUE(ctx->append(std::span(ids).subspan(i, 1), std::span(mixed).subspan(i * vocab, vocab)));
  }
  EXPECT_LT(relative_max_abs(mixed, full), 1e-5);
  ctx->truncate(30);
  EXPECT_EQ(ctx->size(), 30);
  std::vector<int32_t> other = {3, 4, 5};
  std::vector<float> last(vocab);
  ASSERT_TRUE(ctx->append(other, last));
  ctx->truncate(30);
  ASSERT_TRUE(ctx->append(std::span(ids).subspan(30, 10), last));
  std::vector<float> expected_last(full.end() - vocab, full.end());
  EXPECT_LT(relative_max_abs(last, expected_last), 1e-5);
  EXPECT_EQ(ctx->tokens(), ids);
}

INSTANTIATE_TEST_SUITE_P(
    RandomModels, ForwardPaths,
    ::testing::Values(
        Variant{"v3_groups_qlora", json::object(), {}},
        Variant{"v2_softmax_no_qlora_tied",
                {{"model_type", "deepseek_v2"}, {"q_lora_rank", nullptr}, {"scoring_func", "softmax"},
                 {"topk_method", "group_limited_greedy"}, {"norm_topk_prob", false}, {"tie_word_embeddings", true},
                 {"n_shared_experts", 2}},
                {}},
        Variant{"greedy_moe_freq_yarn",
                {{"topk_method", "greedy"}, {"first_k_dense_replace", 0}, {"moe_layer_freq", 2},
                 {"rope_scaling", {{"type", "yarn"}, {"factor", 4.0}, {"original_max_position_embeddings", 16},
                                   {"mscale", 1.0}, {"mscale_all_dim", 0.7}}}},
                {}},
        Variant{"bf16_mlx", json::object(), {DType::BF16, true, false, 2}},
        Variant{"f16_rotate_half", {{"rope_interleave", false}}, {DType::F16, false, false, 3}}),
    [](const auto& info) { return std::string(info.param.name); });

// final_hidden() is the last layer's output before the final norm: lm_head(RMSNorm(h)) computed
// here in double from the written weights gives the logits the context returned, on the
// full-sequence and the decode path; truncate() forgets it.
TEST(InferenceContext, FinalHiddenGivesTheLogits) {
  test::TempDir dir;
  const json config = test::small_config();
  const std::vector<test::TestTensor> tensors = test::random_model_tensors(config, {});
  test::write_random_model(dir.path(), config);
  auto find = [&](const std::string& name) -> const test::TestTensor& {
    for (const auto& t : tensors) if (t.name == name) return t;
    throw std::runtime_error("no tensor " + name);
  };
  const std::vector<float>& norm = find("model.norm.weight").values;
  const std::vector<float>& head = find("lm_head.weight").values;
  const int64_t H = config["hidden_size"], V = config["vocab_size"];
  const double eps = config["rms_norm_eps"];
  auto expected_logits = [&](std::span<const float> h) {
    double mean_square = 0;
    for (int64_t j = 0; j < H; ++j) mean_square += double(h[j]) * h[j];
    const double inv_rms = 1.0 / std::sqrt(mean_square / H + eps);
    std::vector<float> out(V);
    for (int64_t v = 0; v < V; ++v) {
      double sum = 0;
      for (int64_t j = 0; j < H; ++j) sum += double(head[v * H + j]) * (double(h[j]) * inv_rms * norm[j]);
      out[v] = static_cast<float>(sum);
    }
    return out;
  };

  auto model = Model::load(dir.path());
  auto ctx = InferenceContext::create(*model, 16);
  EXPECT_TRUE(ctx->final_hidden().empty());
  const std::vector<int32_t> ids = some_ids(5, static_cast<int>(V));
  std::vector<float> logits(V);
  ASSERT_TRUE(ctx->append(ids, logits));
  ASSERT_EQ(static_cast<int64_t>(ctx->final_hidden().size()), 5 * H);
  EXPECT_LT(relative_max_abs(logits, expected_logits(ctx->final_hidden().subspan(4 * H, H))), 1e-5);

  const int32_t next = 7;
  ASSERT_TRUE(ctx->append(std::span<const int32_t>(&next, 1), logits));
  ASSERT_EQ(static_cast<int64_t>(ctx->final_hidden().size()), H);
  EXPECT_LT(relative_max_abs(logits, expected_logits(ctx->final_hidden())), 1e-5);

  ctx->truncate(3);
  EXPECT_TRUE(ctx->final_hidden().empty());
}

TEST(InferenceContext, RejectsOverflowAndBadIds) {
  test::TempDir dir;
  test::write_random_model(dir.path(), test::small_config());
  auto model = Model::load(dir.path());
  auto ctx = InferenceContext::create(*model, 4);
  std::vector<int32_t> five = {1, 2, 3, 4, 5};
  EXPECT_THROW(ctx->append(five, {}), ModelError);
  EXPECT_EQ(ctx->size(), 0);
  std::vector<int32_t> bad = {1, 96};
  EXPECT_THROW(ctx->append(bad, {}), ModelError);
  std::vector<int32_t> negative = {-1};
  EXPECT_THROW(ctx->append(negative, {}), ModelError);
  EXPECT_THROW(ctx->truncate(1), ModelError);
  EXPECT_THROW(ctx->set_prefill_chunk(0), ModelError);
  EXPECT_THROW(InferenceContext::create(*model, 0), ModelError);
}

TEST(InferenceContext, CancelledAppendLeavesTheCacheConsistent) {
  test::TempDir dir;
  test::write_random_model(dir.path(), test::small_config());
  auto model = Model::load(dir.path());
  const int64_t vocab = model->config().vocab_size;
  const auto ids = some_ids(12, vocab);
  auto ctx = InferenceContext::create(*model, 16);
  ASSERT_TRUE(ctx->append(std::span(ids).first(6), {}));
  std::atomic<bool> cancel{true};
  std::vector<float> last(vocab);
  EXPECT_FALSE(ctx->append(std::span(ids).subspan(6), last, &cancel));
  EXPECT_EQ(ctx->size(), 6);
  EXPECT_FALSE(ctx->append(std::span(ids).subspan(6, 1), last, &cancel));
  EXPECT_EQ(ctx->size(), 6);
  cancel = false;
  ASSERT_TRUE(ctx->append(std::span(ids).subspan(6), last, &cancel));
  std::vector<float> full = full_sequence(*model, ids, 64);
  EXPECT_LT(relative_max_abs(last, std::vector<float>(full.end() - vocab, full.end())), 1e-5);
}

}  // namespace
}  // namespace dschat
