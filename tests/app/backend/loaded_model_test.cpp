// LoadedModel::load reads the tokenizer on its own thread while the weights load: the result is
// the same as loading them one after the other, a tokenizer error is still the error reported
// (before a weights error, and it stops the weights), and progress still runs 0..100% on the
// caller's thread.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include "app/backend/loaded_model.h"
#include "tests/app/test_model_dir.h"
#include "tests/common/non_regular_files.h"

namespace dschat {
namespace {

std::filesystem::path bundled_dir() { return std::filesystem::path(DSCHAT_SOURCE_DIR) / "assets/model"; }

TEST(LoadedModel, BundledModelLoadsTokenizerWeightsAndSettings) {
  const std::thread::id caller = std::this_thread::get_id();
  std::vector<std::pair<uint64_t, uint64_t>> calls;
  bool other_thread = false;
  LoadOptions options;
  options.progress = [&](uint64_t done, uint64_t total) {
    calls.emplace_back(done, total);
    other_thread |= std::this_thread::get_id() != caller;
    return true;
  };
  auto loaded = LoadedModel::load(bundled_dir(), options);
  ASSERT_TRUE(loaded->tokenizer && loaded->model);
  // GPT-2's ids (js-tiktoken, README) and the bundled model's settings.
  EXPECT_EQ(loaded->tokenizer->encode("Hello world"), (std::vector<int32_t>{15496, 995}));
  EXPECT_EQ(loaded->model->config().vocab_size, 50257);
  EXPECT_NE(std::find(loaded->eos_ids.begin(), loaded->eos_ids.end(), 50256), loaded->eos_ids.end());
  EXPECT_EQ(loaded->default_max_new_tokens, 128);
  ASSERT_GE(calls.size(), 2u);
  EXPECT_EQ(calls.front().first, 0u);
  EXPECT_EQ(calls.back().first, calls.back().second);
  EXPECT_EQ(calls.back().second, loaded->model->weight_bytes());
  EXPECT_FALSE(other_thread);
}

// A tokenizer with more tokens than the model's vocab_size is named in a load warning (the ids it
// can produce past the embeddings would otherwise first fail at generation); a matching one is not.
TEST(LoadedModel, TokenizerLargerThanTheVocabularyIsALoadWarning) {
  test::TempDir dir;
  test::write_chat_model(dir.path());  // vocab_size 260: 256 bytes + 4 specials
  auto loaded = LoadedModel::load(dir.path());
  for (const std::string& w : loaded->warnings) EXPECT_EQ(w.find("vocab_size"), std::string::npos) << w;

  nlohmann::json config = test::chat_model_config();
  config["vocab_size"] = 200;
  test::TempDir small;
  test::write_chat_model(small.path(), config);
  loaded = LoadedModel::load(small.path());
  bool found = false;
  for (const std::string& w : loaded->warnings) {
    if (w.find("vocab_size is 200") != std::string::npos) {
      found = true;
      EXPECT_NE(w.find("has 260 tokens"), std::string::npos) << w;
      EXPECT_NE(w.find("tokenizer.json"), std::string::npos) << w;
    }
  }
  EXPECT_TRUE(found);
  EXPECT_TRUE(LoadedModel::load(bundled_dir())->warnings.empty());
}

template <typename Error>
std::string error_of_load(const std::filesystem::path& dir) {
  try {
    LoadedModel::load(dir);
  } catch (const Error& e) {
    return e.what();
  } catch (const std::exception& e) {
    return std::string("wrong error type: ") + e.what();
  }
  return "(no error)";
}

TEST(LoadedModel, ATokenizerErrorIsReportedAndComesBeforeAWeightsError) {
  test::TempDir dir;
  test::write_chat_model(dir.path());
  ASSERT_NO_THROW(LoadedModel::load(dir.path()));

  std::ofstream(dir / "tokenizer.json") << "{\"model\": ";  // cut short
  std::string message = error_of_load<TokenizerError>(dir.path());
  EXPECT_NE(message.find("tokenizer.json"), std::string::npos) << message;

  std::filesystem::remove(dir / "model.safetensors");  // both broken: the tokenizer's error
  message = error_of_load<TokenizerError>(dir.path());
  EXPECT_NE(message.find("tokenizer.json"), std::string::npos) << message;

  std::ofstream(dir / "tokenizer.json") << test::byte_tokenizer_json().dump();  // only the weights
  message = error_of_load<ModelError>(dir.path());
  EXPECT_NE(message.find("model.safetensors"), std::string::npos) << message;
}

// VmRSS or VmHWM of this process, in bytes.
uint64_t status_bytes(const std::string& key) {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind(key + ":", 0) == 0) return std::stoull(line.substr(key.size() + 1)) * 1024;
  }
  return 0;
}

TEST(LoadedModel, PeakMemoryOfALoadIsTheWeightsOnceplusTheTokenizer) {
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
  GTEST_SKIP() << "a sanitizer's allocator and shadow memory change the resident set";
#endif
  // "5" resets the peak (VmHWM) to the current resident set (proc(5), clear_refs).
  if (!(std::ofstream("/proc/self/clear_refs") << "5" << std::flush)) GTEST_SKIP() << "cannot reset VmHWM";
  test::TempDir dir;
  for (const char* name : {"config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json",
                           "generation_config.json"}) {
    std::filesystem::copy_file(bundled_dir() / name, dir / name);
  }
  std::ofstream("/proc/self/clear_refs") << "5";
  const uint64_t before = status_bytes("VmRSS");
  auto loaded = LoadedModel::load(dir.path());
  const uint64_t growth = status_bytes("VmHWM") - before;
  const uint64_t weights = loaded->model->weight_bytes();
  // The weights are resident once (mapped, prefetched; the NaN scan reads the same mapping) and
  // the tokenizer's tables and its load take about 10 MB; a second copy or mapping of the
  // weights (35 MB) would not fit.
  EXPECT_GE(growth, weights);
  EXPECT_LE(growth, weights + (16u << 20)) << "weights " << weights;
}

// A path that does not exist is named as such (dschat run --model /nonexistent used to say
// "/tokenizer.json: no such file", from the tokenizer loading alongside).
TEST(LoadedModel, AMissingPathIsNamed) {
  try {
    LoadedModel::load("/nonexistent/model-dir");
    FAIL() << "loaded";
  } catch (const ModelError& e) {
    EXPECT_EQ(std::string(e.what()), "/nonexistent/model-dir: no such model directory or file");
  }
}

TEST(LoadedModel, CancellingTheProgressStopsTheLoad) {
  LoadOptions options;
  int calls = 0;
  options.progress = [&](uint64_t, uint64_t) { return ++calls < 2; };
  EXPECT_THROW(LoadedModel::load(bundled_dir(), options), LoadCancelled);
  EXPECT_EQ(calls, 2);
}

// generation_config.json, optional, is read when it is there: a FIFO there is refused at once.
TEST(LoadedModel, AFifoGenerationConfigIsRefusedAtOnce) {
  test::TempDir dir;
  test::make_fifo(dir / "generation_config.json");
  EXPECT_EQ(test::error_within_a_second([&] { read_max_new_tokens(dir.path()); }, dir / "generation_config.json"),
            (dir / "generation_config.json").string() + ": is a FIFO, not a regular file");
  EXPECT_EQ(read_max_new_tokens(dir / "missing"), -1);  // absent: no limit
}

}  // namespace
}  // namespace dschat
