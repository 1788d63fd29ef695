// Q4_0 matrices repacked at load into rows interleaved by eight (LoadOptions::repack,
// engine/quant/q4_0_x8.h) compute the same model as the file's row-major layout: converted at
// load (--type q4_0 on the bundled model) and stored (a llama.cpp Q4_0 GGUF, copied from its
// mapping). The interleaved GEMV makes its float sums in another order than the row-major one,
// so the two differ by rounding only: compared on the final hidden states of each step (the
// logits often hide it: lm_head's GEMV quantizes its input to Q8_0 first) and on the logits.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <vector>

#include "engine/model.h"
#include "engine/ops/weight_kernels.h"

namespace dschat {
namespace {

namespace fs = std::filesystem;

std::unique_ptr<Model> load(const fs::path& path, WeightType type, bool repack) {
  LoadOptions options;
  options.threads = 2;
  options.weight_type = type;
  options.output_weight_type = type;
  options.repack = repack;
  return Model::load(path, options);
}

struct Run {
  std::vector<float> logits;  // of every step
  std::vector<float> hidden;  // the final hidden state of every step
};

// The prompt and then `forced`, one token at a time: every matmul a GEMV of one token. (A prompt
// in one pass would run the interleaved layout's integer GEMV over all its tokens but the
// row-major layout's float GEMM: their difference is the activations' Q8_0 rounding, which
// GgufGolden and QuantizedModel bound against the reference.)
Run run(const Model& model, const std::vector<int32_t>& prompt, const std::vector<int32_t>& forced) {
  const int64_t vocab = model.config().vocab_size;
  auto ctx = InferenceContext::create(model, static_cast<int>(prompt.size() + forced.size()) + 1);
  Run r;
  std::vector<float> logits(vocab);
  std::vector<int32_t> tokens = prompt;
  tokens.insert(tokens.end(), forced.begin(), forced.end());
  for (int32_t token : tokens) {
    ctx->append(std::span<const int32_t>(&token, 1), logits);
    r.logits.insert(r.logits.end(), logits.begin(), logits.end());
    const std::span<const float> h = ctx->final_hidden();
    r.hidden.insert(r.hidden.end(), h.begin(), h.end());
  }
  return r;
}

// max |a - b| / max |a|
double relative_difference(const std::vector<float>& a, const std::vector<float>& b) {
  double diff = 0, scale = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    diff = std::max(diff, std::fabs(double(a[i]) - b[i]));
    scale = std::max(scale, std::fabs(double(a[i])));
  }
  return diff / scale;
}

void expect_same_model(const fs::path& path, WeightType type, const std::vector<int32_t>& prompt) {
  if (weight_kernels(DType::Q4_0).repacked == DType::F32) GTEST_SKIP() << "this CPU's kernels keep Q4_0 row-major";
  auto row_major = load(path, type, false);
  auto interleaved = load(path, type, true);
  std::vector<int32_t> forced;
  for (int i = 0; i < 24; ++i) forced.push_back((prompt[i % prompt.size()] * 7 + i) % row_major->config().vocab_size);
  const Run a = run(*row_major, prompt, forced), b = run(*interleaved, prompt, forced);
  ASSERT_EQ(a.hidden.size(), b.hidden.size());
  ASSERT_FALSE(a.hidden.empty());
  const size_t tokens = prompt.size() + forced.size();
  const size_t H = a.hidden.size() / tokens;
  const double first = relative_difference({a.hidden.begin(), a.hidden.begin() + H}, {b.hidden.begin(), b.hidden.begin() + H});
  const double hidden = relative_difference(a.hidden, b.hidden), logits = relative_difference(a.logits, b.logits);
  std::printf("[ q4_0x8 ] %s: interleaved vs row-major, max |diff| / max |value|: first step %.2e, all %zu steps: "
              "hidden %.2e, logits %.2e\n", path.filename().c_str(), first, tokens, hidden, logits);
  EXPECT_GT(hidden, 0.0) << "bit-identical hidden states: the interleaved GEMV did not run";
  // The first token: float rounding only.
  EXPECT_LT(first, 1e-5);
  // Later a rounding-level difference in a matmul's input can flip one of its Q8_0 activation
  // roundings (1/254 of a block's largest value), which the steps after carry: bounded as the
  // activation quantization is against the reference (GgufGolden: 3e-2).
  EXPECT_LT(hidden, 3e-2);
  EXPECT_LT(logits, 3e-2);
}

TEST(InterleavedWeights, ConvertedQ4_0GivesTheRowMajorModel) {
  const fs::path dir = fs::path(DSCHAT_SOURCE_DIR) / "assets" / "model";
  if (!fs::exists(dir / "model.safetensors")) GTEST_SKIP() << "no bundled model";
  expect_same_model(dir, WeightType::Q4_0, {1870, 1793, 531, 11, 3914, 612, 307, 1657, 25, 290, 612, 373, 1657, 13, 843, 262});
}

TEST(InterleavedWeights, StoredQ4_0GgufGivesTheRowMajorModel) {
  expect_same_model(fs::path(DSCHAT_TEST_DATA_DIR) / "gguf" / "v3_qlora.Q4_0.gguf", WeightType::Native,
                    {162, 101, 16, 319, 260, 137, 76, 267, 7, 136, 78, 186, 62, 92, 36, 206});
}

}  // namespace
}  // namespace dschat
