// dschat continues a prompt greedily as llama.cpp does, on the GGUF files llama.cpp made
// (tests/data/gguf; tools/make_gguf_goldens.py ran llama-completion --temp 0 --ignore-eos on each
// and recorded the bytes it printed). The prompt is encoded by the file's tokenizer with BOS
// first (tokenizer.ggml.add_bos_token), as llama.cpp does; the tokens' bytes must be llama.cpp's.
#include <gtest/gtest.h>

#include <unistd.h>

#include <fstream>

#include <nlohmann/json.hpp>

#include "app/backend/loaded_model.h"
#include "app/backend/model_tokenizer.h"
#include "engine/model.h"

namespace dschat {
namespace {

namespace fs = std::filesystem;
const fs::path kDir = fs::path(DSCHAT_TEST_DATA_DIR) / "gguf";

std::string from_hex(const std::string& hex) {
  std::string out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2) out += static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16));
  return out;
}

class LlamaCppGreedy : public ::testing::TestWithParam<std::pair<std::string, std::string>> {};

TEST_P(LlamaCppGreedy, SameBytesAsLlamaCompletion) {
  const auto& [name, type] = GetParam();
  const fs::path file = kDir / (name + "." + type + ".gguf");
  std::ifstream case_file(kDir / (name + ".case.json"));
  const auto greedy = nlohmann::json::parse(case_file).at("files").at(type).at("llama_cpp_greedy");
  const std::string expected = from_hex(greedy.at("stdout_hex").get<std::string>());
  const int n = greedy.at("n").get<int>();

  const Tokenizer tokenizer = load_model_tokenizer(file);
  ASSERT_TRUE(tokenizer.config().add_bos_token);
  std::vector<int32_t> prompt = {*tokenizer.token_to_id(*tokenizer.config().bos_token)};
  for (int32_t id : tokenizer.encode(greedy.at("prompt").get<std::string>())) prompt.push_back(id);
  LoadOptions options;
  options.threads = 1;
  auto model = Model::load(file, options);
  auto ctx = InferenceContext::create(*model, static_cast<int>(prompt.size()) + n);
  std::vector<float> logits(model->config().vocab_size);
  ASSERT_TRUE(ctx->append(prompt, logits));
  std::string got;
  for (int i = 0; i < n; ++i) {
    const int32_t next = static_cast<int32_t>(std::max_element(logits.begin(), logits.end()) - logits.begin());
    got += tokenizer.token_bytes(next);
    ASSERT_TRUE(ctx->append(std::span<const int32_t>(&next, 1), logits));
  }
  // llama-completion ends its output with line breaks of its own.
  ASSERT_EQ(expected.rfind(got, 0), 0u) << "dschat " << nlohmann::json(got).dump(-1, ' ', true, nlohmann::json::error_handler_t::replace);
  EXPECT_EQ(expected.substr(got.size()).find_first_not_of('\n'), std::string::npos);
}

INSTANTIATE_TEST_SUITE_P(Files, LlamaCppGreedy,
                         ::testing::Values(std::pair{"v3_qlora", "F32"}, std::pair{"v3_qlora", "F16"},
                                           std::pair{"v3_qlora", "BF16"}, std::pair{"v3_qlora", "Q8_0"},
                                           std::pair{"v3_qlora", "Q4_0"}, std::pair{"v3_yarn", "Q8_0"},
                                           std::pair{"v2_lite_no_qlora", "Q8_0"}, std::pair{"v3_kquant", "Q4_K_M"},
                                           std::pair{"v3_kquant", "Q6_K"}),
                         [](const auto& info) { return info.param.first + "_" + info.param.second; });

}  // namespace
}  // namespace dschat

namespace dschat {
namespace {

// A GGUF file is the whole model: its tokenizer and eos come from its metadata, and a
// generation_config.json beside it is not read.
TEST(GgufLoadedModel, EverythingFromTheFileNothingFromBesideIt) {
  const fs::path dir = fs::temp_directory_path() / ("dschat-gguf-loaded-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  fs::copy_file(kDir / "v3_qlora.Q8_0.gguf", dir / "m.gguf");
  std::ofstream(dir / "generation_config.json") << R"({"eos_token_id": 7, "max_new_tokens": 3, "temperature": 0.1})";
  auto loaded = LoadedModel::load(dir / "m.gguf");
  EXPECT_EQ(loaded->eos_ids, (std::vector<int32_t>{357}));  // tokenizer.ggml.eos_token_id only
  EXPECT_EQ(loaded->default_max_new_tokens, -1);
  EXPECT_EQ(loaded->tokenizer->config().eos_token, "<｜end▁of▁sentence｜>");
  EXPECT_EQ(loaded->tokenizer->vocab_size(), loaded->model->config().vocab_size);
  EXPECT_TRUE(loaded->warnings.empty());
  fs::remove_all(dir);
}

}  // namespace
}  // namespace dschat
