// The two from-scratch .pt variants through the engine's one forward pass, against the PyTorch
// references in tools/pt_variants (goldens computed in float64): every position's logits for the
// full-sequence path and the token-by-token (absorbed MLA, latent + per-head rotary key cache) path,
// the greedy continuation, the inferred config, the context limit, and that each variant trait the
// references can switch off (ablations/) moves the logits far beyond the tolerance.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "engine/generation.h"
#include "engine/model.h"
#include "engine/io/pt_checkpoint.h"
#include "engine/sampler.h"

namespace dschat {
namespace {

const std::filesystem::path kPtData = std::filesystem::path(DSCHAT_TEST_DATA_DIR) / "pt";
constexpr double kTolerance = 1e-4;  // relative max-abs (notes/golden_contract.md)

nlohmann::json read_json(const std::filesystem::path& path) {
  std::ifstream in(path);
  return nlohmann::json::parse(in);
}

// A float32 little-endian C-order .npy of rank 2 (what numpy.save writes for the goldens).
std::vector<float> read_npy(const std::filesystem::path& path, int64_t& rows, int64_t& cols) {
  std::ifstream in(path, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (bytes.size() < 10 || bytes.compare(0, 6, "\x93NUMPY") != 0) throw std::runtime_error(path.string() + ": not .npy");
  const size_t header_len = static_cast<uint8_t>(bytes[8]) | (static_cast<uint8_t>(bytes[9]) << 8);
  const std::string header = bytes.substr(10, header_len);
  if (header.find("'<f4'") == std::string::npos || header.find("'fortran_order': False") == std::string::npos) {
    throw std::runtime_error(path.string() + ": expected float32 C order, header " + header);
  }
  size_t open = header.find('(', header.find("'shape'"));
  rows = std::stoll(header.substr(open + 1));
  cols = std::stoll(header.substr(header.find(',', open) + 1));
  std::vector<float> data(static_cast<size_t>(rows * cols));
  std::memcpy(data.data(), bytes.data() + 10 + header_len, data.size() * sizeof(float));
  return data;
}

double relative_max_abs(const std::vector<float>& got, const std::vector<float>& want) {
  double diff = 0, scale = 0;
  for (size_t i = 0; i < want.size(); ++i) {
    diff = std::max(diff, std::abs(static_cast<double>(got[i]) - want[i]));
    scale = std::max(scale, std::abs(static_cast<double>(want[i])));
  }
  return diff / scale;
}

struct Case {
  std::unique_ptr<Model> model;
  std::vector<int32_t> ids;
  std::vector<float> golden;
  int64_t vocab = 0;
};

Case load_case(const std::string& name) {
  Case c;
  c.model = Model::load(kPtData / name / "model.pt");
  c.ids = read_json(kPtData / name / "ids.json")["ids"].get<std::vector<int32_t>>();
  int64_t rows = 0;
  c.golden = read_npy(kPtData / name / "logits.npy", rows, c.vocab);
  EXPECT_EQ(rows, static_cast<int64_t>(c.ids.size()));
  EXPECT_EQ(c.vocab, c.model->config().vocab_size);
  return c;
}

std::vector<float> full_sequence(const Model& model, const std::vector<int32_t>& ids) {
  auto ctx = InferenceContext::create(model, static_cast<int>(ids.size()));
  std::vector<float> all(ids.size() * model.config().vocab_size);
  EXPECT_TRUE(ctx->append(ids, {}, nullptr, all));
  return all;
}

std::vector<float> token_by_token(const Model& model, const std::vector<int32_t>& ids) {
  const int64_t vocab = model.config().vocab_size;
  auto ctx = InferenceContext::create(model, static_cast<int>(ids.size()));
  std::vector<float> all(ids.size() * vocab);
  for (size_t i = 0; i < ids.size(); ++i) {
    EXPECT_TRUE(ctx->append(std::span<const int32_t>(&ids[i], 1), std::span<float>(all.data() + i * vocab, vocab)));
  }
  return all;
}

void expect_matches_goldens(const std::string& name) {
  Case c = load_case(name);
  const std::vector<float> full = full_sequence(*c.model, c.ids);
  const std::vector<float> step = token_by_token(*c.model, c.ids);
  const double full_err = relative_max_abs(full, c.golden);
  const double step_err = relative_max_abs(step, c.golden);
  EXPECT_LE(full_err, kTolerance) << name << " full-sequence";
  EXPECT_LE(step_err, kTolerance) << name << " token-by-token";
  std::printf("[ %s ] relative max-abs error: full %.3g, token-by-token %.3g\n", name.c_str(), full_err, step_err);

  // Every trait the reference can switch off changes the logits by far more than the tolerance,
  // so matching the golden means the engine honours each one.
  const nlohmann::json ablations = read_json(kPtData / name / "ablations.json");
  ASSERT_GE(ablations.size(), 3u);
  for (const auto& [feature, about] : ablations.items()) {
    int64_t rows = 0, cols = 0;
    std::vector<float> ablated = read_npy(kPtData / name / "ablations" / (feature + ".npy"), rows, cols);
    const double distance = relative_max_abs(full, ablated);
    EXPECT_GT(distance, 10 * kTolerance) << name << ": the engine cannot tell '" << feature << "' apart";
    std::printf("[ %s ] vs ablation %-22s %.3g\n", name.c_str(), feature.c_str(), distance);
  }
}

TEST(PtModel, MayankLogitsMatchTheReference) { expect_matches_goldens("mayank"); }
TEST(PtModel, EraLogitsMatchTheReference) { expect_matches_goldens("era"); }

void expect_greedy(const std::string& name) {
  auto model = Model::load(kPtData / name / "model.pt");
  auto greedy = read_json(kPtData / name / "greedy.json");
  std::vector<int32_t> ids = greedy["prompt"].get<std::vector<int32_t>>();
  const auto want = greedy["tokens"].get<std::vector<int32_t>>();
  const int64_t vocab = model->config().vocab_size;
  auto ctx = InferenceContext::create(*model, static_cast<int>(ids.size() + want.size()));
  std::vector<float> logits(vocab);
  ASSERT_TRUE(ctx->append(ids, logits));
  std::vector<int32_t> got;
  for (size_t i = 0; i < want.size(); ++i) {
    int32_t next = static_cast<int32_t>(std::max_element(logits.begin(), logits.end()) - logits.begin());
    got.push_back(next);
    ASSERT_TRUE(ctx->append(std::span<const int32_t>(&next, 1), logits));
  }
  EXPECT_EQ(got, want) << name;
}

TEST(PtModel, GreedyContinuationsMatchTheReference) {
  expect_greedy("mayank");
  expect_greedy("era");
}

// Past block_size the reference generate() runs the last block_size tokens again from position 0;
// generate() does the same for this variant (greedy, 80-token prompt, 40 tokens: 24 past the window).
TEST(PtModel, MayankGenerationPastTheWindowCropsLikeTheReference) {
  struct Silent final : TokenTextDecoder {
    std::string push(int32_t) override { return {}; }
    std::string finish() override { return {}; }
    void reset() override {}
  } decoder;
  auto model = Model::load(kPtData / "mayank" / "model.pt");
  ASSERT_TRUE(model->config().crop_window_when_full);
  const auto golden = read_json(kPtData / "mayank" / "greedy_past_window.json");
  const auto prompt = golden["prompt"].get<std::vector<int32_t>>();
  const auto want = golden["tokens"].get<std::vector<int32_t>>();
  const int window = model->config().max_position_embeddings;
  ASSERT_GT(static_cast<int>(prompt.size() + want.size()), window);
  auto ctx = InferenceContext::create(*model, window);
  SamplingParams greedy;
  greedy.temperature = 0;
  Sampler sampler(greedy);
  GenerationOptions options;
  options.max_tokens = static_cast<int>(want.size());
  GenerationResult r = generate(*model, *ctx, prompt, sampler, decoder, options, {});
  EXPECT_EQ(r.tokens, want);
  EXPECT_EQ(r.stats.stop, StopReason::Length);
  EXPECT_EQ(ctx->size(), window);

  // A prompt longer than the window is cropped to its last block_size tokens, as generate() does.
  std::vector<int32_t> long_prompt(150, 5);
  std::copy(prompt.begin(), prompt.end(), long_prompt.end() - static_cast<std::ptrdiff_t>(prompt.size()));
  auto fresh = InferenceContext::create(*model, window);
  options.max_tokens = 1;
  GenerationResult cropped = generate(*model, *fresh, long_prompt, sampler, decoder, options, {});
  std::vector<float> logits(model->config().vocab_size);
  auto direct = InferenceContext::create(*model, window);
  ASSERT_TRUE(direct->append(std::span<const int32_t>(long_prompt).last(window), logits));
  ASSERT_EQ(cropped.tokens.size(), 1u);
  EXPECT_EQ(cropped.tokens[0], std::max_element(logits.begin(), logits.end()) - logits.begin());
}

TEST(PtModel, MayankConfigInferredFromShapes) {
  auto model = Model::load(kPtData / "mayank" / "model.pt");
  const ModelConfig& c = model->config();
  const auto want = read_json(kPtData / "mayank" / "case.json")["config"];
  EXPECT_EQ(c.vocab_size, want["vocab_size"].get<int>());
  EXPECT_EQ(c.hidden_size, want["n_embd"].get<int>());
  EXPECT_EQ(c.num_hidden_layers, want["n_layer"].get<int>());
  EXPECT_EQ(c.num_attention_heads, want["n_head"].get<int>());
  EXPECT_EQ(c.qk_rope_head_dim, want["rope_dim"].get<int>());
  EXPECT_EQ(c.qk_nope_head_dim, want["n_embd"].get<int>() / want["n_head"].get<int>());
  EXPECT_EQ(c.kv_lora_rank, want["kv_lora_rank"].get<int>());
  EXPECT_EQ(c.q_lora_rank, want["q_lora_rank"].get<int>());
  EXPECT_EQ(c.n_routed_experts, want["n_experts"].get<int>());
  EXPECT_EQ(c.moe_intermediate_size, want["expert_intermediate_size"].get<int>());
  EXPECT_EQ(c.shared_expert_intermediate_size, want["shared_expert_intermediate_size"].get<int>());
  EXPECT_EQ(c.max_position_embeddings, want["block_size"].get<int>());
  EXPECT_EQ(c.rope_theta, 10000.0);
  EXPECT_TRUE(c.tie_word_embeddings);
  EXPECT_FALSE(c.bos_token_id.has_value());
  EXPECT_NE(model->describe().find("DeepSeek-from-Scratch"), std::string::npos);
  // torch's count of the main model's parameters (wpe and biases in, MTP head and buffers out).
  EXPECT_EQ(model->parameter_count(), read_json(kPtData / "mayank" / "case.json")["main_parameters"].get<uint64_t>());
}

TEST(PtModel, EraConfigFromTheObjectAndClassDefaults) {
  auto model = Model::load(kPtData / "era" / "model.pt");
  const ModelConfig& c = model->config();
  const auto about = read_json(kPtData / "era" / "case.json");
  const auto& passed = about["config_object"];
  EXPECT_EQ(c.num_attention_heads, passed["num_attention_heads"].get<int>());
  EXPECT_EQ(c.max_position_embeddings, passed["max_position_embeddings"].get<int>());
  EXPECT_EQ(c.rms_norm_eps, passed["rms_norm_eps"].get<double>());
  EXPECT_EQ(c.num_experts_per_tok, passed["num_experts_per_tok"].get<int>());
  const auto& defaults = about["class_defaults_used"];
  EXPECT_EQ(c.qk_rope_head_dim, defaults["qk_rope_head_dim"].get<int>());
  EXPECT_EQ(c.qk_nope_head_dim, defaults["qk_nope_head_dim"].get<int>());
  EXPECT_EQ(c.v_head_dim, defaults["v_head_dim"].get<int>());
  EXPECT_EQ(c.q_lora_rank, defaults["q_lora_rank"].get<int>());
  // total_params as the original training script stored it in the checkpoint.
  PtCheckpoint ckpt(kPtData / "era" / "model.pt");
  ASSERT_TRUE(ckpt.entry("total_params"));
  EXPECT_EQ(model->parameter_count(), static_cast<uint64_t>(ckpt.pickle().at(*ckpt.entry("total_params")).integer));
}

TEST(PtModel, ContextLimitIsEnforced) {
  auto model = Model::load(kPtData / "mayank" / "model.pt");
  const int limit = model->config().max_position_embeddings;  // wpe rows
  auto ctx = InferenceContext::create(*model, limit + 8);
  std::vector<int32_t> ids(limit, 1);
  std::vector<float> logits(model->config().vocab_size);
  ASSERT_TRUE(ctx->append(ids, logits));
  int32_t one_more = 2;
  try {
    ctx->append(std::span<const int32_t>(&one_more, 1), logits);
    FAIL() << "a position past the learned position embeddings was accepted";
  } catch (const ModelError& e) {
    EXPECT_NE(std::string(e.what()).find("context limit"), std::string::npos) << e.what();
  }
  EXPECT_EQ(ctx->size(), limit);
}

TEST(PtModel, ConfigJsonBesideTheFileOverrides) {
  const auto dir = std::filesystem::temp_directory_path() / ("dschat_pt_override_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  std::filesystem::copy_file(kPtData / "mayank" / "model.pt", dir / "best_deepseek_v3.pt",
                             std::filesystem::copy_options::overwrite_existing);
  std::ofstream(dir / "config.json") << R"({"n_experts_per_token": 1})";
  auto model = Model::load(dir / "best_deepseek_v3.pt");
  EXPECT_EQ(model->config().num_experts_per_tok, 1);
  std::ofstream(dir / "config.json") << R"({"num_attention_heads": 3})";  // 64 % 3 != 0
  EXPECT_THROW(Model::load(dir / "best_deepseek_v3.pt"), ModelError);
  std::filesystem::remove_all(dir);
}

TEST(PtModel, OtherPickledDictsAreClearErrors) {
  EXPECT_THROW(Model::load(kPtData / "views" / "model.pt"), ModelError);  // tensors, but not a model
  try {
    Model::load(kPtData / "hostile" / "os_system.pt");
    FAIL();
  } catch (const ModelError& e) {
    EXPECT_NE(std::string(e.what()).find("os.system"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace dschat
