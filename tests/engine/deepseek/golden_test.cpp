// The engine against the independent Python reference (tools/make_engine_goldens.py): for every
// case in tests/data/engine/<case>/, both paths within 1e-4 relative max-abs of logits.npy, the
// 32 greedy tokens of greedy.json, and every ablation (one feature switched off in the reference)
// far outside the tolerance, so each feature's test can fail.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "engine/model.h"
#include "tests/engine/npy_file.h"

namespace dschat {
namespace {

namespace fs = std::filesystem;
constexpr double kTolerance = 1e-4;
const fs::path kGoldenRoot = fs::path(DSCHAT_TEST_DATA_DIR) / "engine";

nlohmann::json read_json(const fs::path& path) {
  std::ifstream f(path);
  return nlohmann::json::parse(f);
}

double relative_max_abs(const std::vector<float>& got, const std::vector<float>& golden) {
  double diff = 0, scale = 0;
  for (size_t i = 0; i < golden.size(); ++i) {
    diff = std::max(diff, std::fabs(double(got[i]) - golden[i]));
    scale = std::max(scale, std::fabs(double(golden[i])));
  }
  return diff / scale;
}

std::vector<std::string> golden_cases() {
  std::vector<std::string> cases;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(kGoldenRoot, ec)) {
    if (fs::exists(entry.path() / "model") && fs::exists(entry.path() / "logits.npy")) {
      cases.push_back(entry.path().filename().string());
    }
  }
  std::sort(cases.begin(), cases.end());
  if (cases.empty()) cases.push_back("none");  // keeps the suite instantiated; the test then fails
  return cases;
}

class Golden : public ::testing::TestWithParam<std::string> {
 protected:
  fs::path dir() const { return kGoldenRoot / GetParam(); }
};

TEST_P(Golden, BothPathsMatchTheReferenceAndAblationsAreFar) {
  ASSERT_TRUE(fs::exists(dir() / "model")) << "no golden cases under " << kGoldenRoot;
  LoadOptions options;
  options.threads = 2;
  auto model = Model::load(dir() / "model", options);
  const int64_t vocab = model->config().vocab_size;
  std::vector<int32_t> ids = read_json(dir() / "ids.json").at("ids").get<std::vector<int32_t>>();
  NpyArray golden = read_npy(dir() / "logits.npy");
  ASSERT_EQ(golden.shape, (std::vector<int64_t>{static_cast<int64_t>(ids.size()), vocab}));

  auto full_ctx = InferenceContext::create(*model, static_cast<int>(ids.size()));
  std::vector<float> full(ids.size() * vocab);
  ASSERT_TRUE(full_ctx->append(ids, {}, nullptr, full));
  const double full_rel = relative_max_abs(full, golden.data);

  auto step_ctx = InferenceContext::create(*model, static_cast<int>(ids.size()));
  std::vector<float> steps(ids.size() * vocab);
  for (size_t i = 0; i < ids.size(); ++i) {
    ASSERT_TRUE(step_ctx->append(std::span(ids).subspan(i, 1), std::span(steps).subspan(i * vocab, vocab)));
  }
  const double step_rel = relative_max_abs(steps, golden.data);
  std::printf("[ golden   ] %-24s full-sequence %.2e  token-by-token %.2e  (tolerance %.0e)\n", GetParam().c_str(), full_rel,
              step_rel, kTolerance);
  RecordProperty("full_sequence_rel", std::to_string(full_rel));
  RecordProperty("token_by_token_rel", std::to_string(step_rel));
  EXPECT_LE(full_rel, kTolerance);
  EXPECT_LE(step_rel, kTolerance);

  // Every ablation is far outside the tolerance.
  int ablations = 0;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir() / "ablations", ec)) {
    if (entry.path().extension() != ".npy") continue;
    NpyArray ablated = read_npy(entry.path());
    ASSERT_EQ(ablated.shape, golden.shape) << entry.path();
    const double rel = relative_max_abs(full, ablated.data);
    EXPECT_GT(rel, 100 * kTolerance) << entry.path().filename() << ": the engine cannot tell this feature apart";
    ++ablations;
  }
  std::printf("[ golden   ] %-24s %d ablations, each > %.0e away\n", GetParam().c_str(), ablations, 100 * kTolerance);
}

TEST_P(Golden, GreedyContinuationMatches) {
  ASSERT_TRUE(fs::exists(dir() / "greedy.json")) << "no golden cases under " << kGoldenRoot;
  auto model = Model::load(dir() / "model");
  const int64_t vocab = model->config().vocab_size;
  nlohmann::json greedy = read_json(dir() / "greedy.json");
  std::vector<int32_t> prompt = greedy.at("prompt").get<std::vector<int32_t>>();
  std::vector<int32_t> expected = greedy.at("tokens").get<std::vector<int32_t>>();
  auto ctx = InferenceContext::create(*model, static_cast<int>(prompt.size() + expected.size()));
  std::vector<float> logits(vocab);
  ASSERT_TRUE(ctx->append(prompt, logits));
  std::vector<int32_t> got;
  while (got.size() < expected.size()) {
    int32_t next = static_cast<int32_t>(std::max_element(logits.begin(), logits.end()) - logits.begin());
    got.push_back(next);
    ASSERT_TRUE(ctx->append(std::span<const int32_t>(&got.back(), 1), logits));
  }
  EXPECT_EQ(got, expected);
}

INSTANTIATE_TEST_SUITE_P(Cases, Golden, ::testing::ValuesIn(golden_cases()),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace dschat
