// The engine's per-layer intermediates (InferenceContext::set_layer_trace: attn_norm, attn_out,
// ffn_norm, ffn_out, l_out) against the float64 reference's, captured by forward hooks
// (tools/make_layer_trace_goldens.py → tests/data/engine/<case>/layer_trace.npy), on both the
// full-sequence and the decode path; and a trace that changes nothing.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/model.h"
#include "tests/engine/npy_file.h"

namespace dschat {
namespace {

namespace fs = std::filesystem;
const fs::path kGoldenRoot = fs::path(DSCHAT_TEST_DATA_DIR) / "engine";
const std::vector<std::string> kNames = {"attn_norm", "attn_out", "ffn_norm", "ffn_out", "l_out"};
constexpr double kTolerance = 1e-4;  // relative to the largest value of each intermediate

// Every traced intermediate, by (layer, name), rows appended in the order they were computed.
using Trace = std::map<std::pair<int, std::string>, std::vector<float>>;

InferenceContext::LayerTrace recorder(Trace& trace) {
  return [&trace](std::string_view name, int layer, std::span<const float> values, int64_t) {
    std::vector<float>& rows = trace[{layer, std::string(name)}];
    rows.insert(rows.end(), values.begin(), values.end());
  };
}

std::vector<int32_t> read_ids(const fs::path& dir) {
  std::ifstream f(dir / "ids.json");
  return nlohmann::json::parse(f).at("ids").get<std::vector<int32_t>>();
}

class LayerTrace : public ::testing::TestWithParam<std::string> {
 protected:
  fs::path dir() const { return kGoldenRoot / GetParam(); }

  void expect_matches_reference(const Trace& trace, const NpyArray& golden, const char* path) {
    const int64_t layers = golden.shape[0], tokens = golden.shape[2], hidden = golden.shape[3];
    for (int64_t l = 0; l < layers; ++l) {
      for (size_t k = 0; k < kNames.size(); ++k) {
        auto it = trace.find({static_cast<int>(l), kNames[k]});
        ASSERT_NE(it, trace.end()) << path << ": no " << kNames[k] << " for layer " << l;
        ASSERT_EQ(static_cast<int64_t>(it->second.size()), tokens * hidden) << path << " " << kNames[k];
        const float* want = golden.data.data() + ((l * static_cast<int64_t>(kNames.size()) + k) * tokens) * hidden;
        double diff = 0, scale = 0;
        for (int64_t i = 0; i < tokens * hidden; ++i) {
          diff = std::max(diff, std::fabs(double(it->second[i]) - want[i]));
          scale = std::max(scale, std::fabs(double(want[i])));
        }
        EXPECT_LT(diff / scale, kTolerance) << path << " layer " << l << " " << kNames[k];
      }
    }
  }
};

TEST_P(LayerTrace, IntermediatesOfBothPathsMatchTheReference) {
  ASSERT_TRUE(fs::exists(dir() / "layer_trace.npy")) << "run tools/make_layer_trace_goldens.py";
  LoadOptions options;
  options.threads = 2;
  auto model = Model::load(dir() / "model", options);
  const std::vector<int32_t> ids = read_ids(dir());
  const NpyArray golden = read_npy(dir() / "layer_trace.npy");
  ASSERT_EQ(golden.shape, (std::vector<int64_t>{model->config().num_hidden_layers, 5,
                                                static_cast<int64_t>(ids.size()), model->config().hidden_size}));

  Trace full;
  auto full_ctx = InferenceContext::create(*model, static_cast<int>(ids.size()));
  full_ctx->set_layer_trace(recorder(full));
  ASSERT_TRUE(full_ctx->append(ids, {}));
  expect_matches_reference(full, golden, "full");

  Trace steps;
  auto step_ctx = InferenceContext::create(*model, static_cast<int>(ids.size()));
  step_ctx->set_layer_trace(recorder(steps));
  for (size_t i = 0; i < ids.size(); ++i) ASSERT_TRUE(step_ctx->append(std::span(ids).subspan(i, 1), {}));
  expect_matches_reference(steps, golden, "decode");
}

// The last layer's l_out is final_hidden(), and tracing leaves the logits bit-identical.
TEST_P(LayerTrace, TracingChangesNothing) {
  LoadOptions options;
  options.threads = 2;
  auto model = Model::load(dir() / "model", options);
  const std::vector<int32_t> ids = read_ids(dir());
  const int64_t vocab = model->config().vocab_size;
  std::vector<float> plain(ids.size() * vocab), traced(ids.size() * vocab);
  auto plain_ctx = InferenceContext::create(*model, static_cast<int>(ids.size()));
  ASSERT_TRUE(plain_ctx->append(ids, {}, nullptr, plain));
  Trace trace;
  auto traced_ctx = InferenceContext::create(*model, static_cast<int>(ids.size()));
  traced_ctx->set_layer_trace(recorder(trace));
  ASSERT_TRUE(traced_ctx->append(ids, {}, nullptr, traced));
  EXPECT_EQ(plain, traced);
  const std::vector<float>& last = trace[{model->config().num_hidden_layers - 1, "l_out"}];
  const std::span<const float> hidden = traced_ctx->final_hidden();
  EXPECT_EQ(last, std::vector<float>(hidden.begin(), hidden.end()));
}

INSTANTIATE_TEST_SUITE_P(Cases, LayerTrace, ::testing::Values("qlora_sigmoid_groups", "no_qlora_softmax_v2"));

}  // namespace
}  // namespace dschat
