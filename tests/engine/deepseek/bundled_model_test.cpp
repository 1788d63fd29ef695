// The bundled model (assets/model) through the normal loading path, against goldens the PyTorch
// reference computed from the same model.safetensors (tests/data/bundled, written by
// tools/train/make_goldens.py in float64 from the stored BF16 weights). A broken or stale asset
// fails here.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/model.h"

namespace dschat {
namespace {

const std::filesystem::path kModelDir = std::filesystem::path(DSCHAT_SOURCE_DIR) / "assets" / "model";
const std::filesystem::path kGoldenDir = std::filesystem::path(DSCHAT_TEST_DATA_DIR) / "bundled";
constexpr double kTolerance = 1e-4;  // max |engine - golden| / max |golden|

nlohmann::json read_json(const std::filesystem::path& path) {
  std::ifstream f(path);
  if (!f) throw std::runtime_error(path.string() + ": cannot open");
  return nlohmann::json::parse(f);
}

// NumPy .npy, version 1.0, '<f4', C order, 2-D.
std::vector<float> read_npy_2d(const std::filesystem::path& path, int64_t& rows, int64_t& cols) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw std::runtime_error(path.string() + ": cannot open");
  char magic[8];
  f.read(magic, 8);
  if (!f || std::memcmp(magic, "\x93NUMPY\x01\x00", 8) != 0) throw std::runtime_error(path.string() + ": not npy 1.0");
  unsigned char len_le[2];
  f.read(reinterpret_cast<char*>(len_le), 2);
  std::string header(len_le[0] | (len_le[1] << 8), '\0');
  f.read(header.data(), static_cast<std::streamsize>(header.size()));
  if (header.find("'<f4'") == std::string::npos || header.find("'fortran_order': False") == std::string::npos)
    throw std::runtime_error(path.string() + ": expected little-endian float32 in C order");
  size_t open = header.find("'shape': (");
  if (open == std::string::npos) throw std::runtime_error(path.string() + ": no shape");
  if (std::sscanf(header.c_str() + open, "'shape': (%ld, %ld)", &rows, &cols) != 2)
    throw std::runtime_error(path.string() + ": expected a 2-D shape");
  std::vector<float> data(static_cast<size_t>(rows * cols));
  f.read(reinterpret_cast<char*>(data.data()), static_cast<std::streamsize>(data.size() * sizeof(float)));
  if (!f) throw std::runtime_error(path.string() + ": truncated");
  return data;
}

double relative_max_abs(const std::vector<float>& got, const std::vector<float>& want) {
  double diff = 0, scale = 0;
  for (size_t i = 0; i < want.size(); ++i) {
    diff = std::max(diff, std::fabs(static_cast<double>(got[i]) - want[i]));
    scale = std::max(scale, std::fabs(static_cast<double>(want[i])));
  }
  return diff / scale;
}

class BundledModel : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { model_ = Model::load(kModelDir).release(); }
  static void TearDownTestSuite() {
    delete model_;
    model_ = nullptr;
  }

  void SetUp() override {
    ids_ = read_json(kGoldenDir / "logits_ids.json")["ids"].get<std::vector<int32_t>>();
    golden_ = read_npy_2d(kGoldenDir / "logits.npy", rows_, vocab_);
    ASSERT_EQ(rows_, static_cast<int64_t>(ids_.size()));
    ASSERT_EQ(vocab_, model_->config().vocab_size);
  }

  static Model* model_;
  std::vector<int32_t> ids_;
  std::vector<float> golden_;
  int64_t rows_ = 0, vocab_ = 0;
};

Model* BundledModel::model_ = nullptr;

TEST_F(BundledModel, DeclaresTheShapeItWasTrainedWith) {
  nlohmann::json config = read_json(kModelDir / "config.json");
  EXPECT_EQ(config["model_type"], "deepseek_v3");
  EXPECT_EQ(model_->config().vocab_size, 50257);
  EXPECT_EQ(model_->config().hidden_size, config["hidden_size"].get<int>());
  EXPECT_EQ(model_->config().num_hidden_layers, config["num_hidden_layers"].get<int>());
}

TEST_F(BundledModel, FullSequenceLogitsMatchReference) {
  auto context = InferenceContext::create(*model_, static_cast<int>(ids_.size()));
  std::vector<float> logits(golden_.size());
  ASSERT_TRUE(context->append(ids_, {}, nullptr, logits));
  EXPECT_LE(relative_max_abs(logits, golden_), kTolerance);
}

TEST_F(BundledModel, TokenByTokenLogitsMatchReference) {
  auto context = InferenceContext::create(*model_, static_cast<int>(ids_.size()));
  std::vector<float> logits(golden_.size());
  for (size_t i = 0; i < ids_.size(); ++i) {
    ASSERT_TRUE(context->append(std::span<const int32_t>(ids_.data() + i, 1),
                                std::span<float>(logits.data() + i * vocab_, static_cast<size_t>(vocab_))));
  }
  EXPECT_LE(relative_max_abs(logits, golden_), kTolerance);
}

// Greedy decoding (argmax, latent cache) reproduces the reference's greedy reply to a chat prompt
// in the plain template, including where it stops (eos or the stop string's tokens).
TEST_F(BundledModel, GreedyReplyMatchesReference) {
  nlohmann::json g = read_json(kGoldenDir / "greedy.json");
  auto prompt = g["prompt_ids"].get<std::vector<int32_t>>();
  auto want = g["reply_ids"].get<std::vector<int32_t>>();
  const int max_new = g["max_new_tokens"].get<int>();
  ASSERT_FALSE(want.empty());
  auto context = InferenceContext::create(*model_, static_cast<int>(prompt.size()) + max_new);
  std::vector<float> last(static_cast<size_t>(vocab_));
  ASSERT_TRUE(context->append(prompt, last));
  std::vector<int32_t> got;
  while (got.size() < want.size()) {
    const int32_t next = static_cast<int32_t>(std::max_element(last.begin(), last.end()) - last.begin());
    got.push_back(next);
    if (got.size() == want.size()) break;
    ASSERT_TRUE(context->append(std::span<const int32_t>(&got.back(), 1), last));
  }
  EXPECT_EQ(got, want) << "reference reply: " << g["reply_text"].get<std::string>();
}

}  // namespace
}  // namespace dschat
