// Faults in model files (issue 9): truncation at every section boundary, headers that lie about
// sizes and offsets, non-finite weights, and a file shrunk while it is memory-mapped. Every
// case must end in a clear ModelError (or a clear error from generation), never a crash or hang.
#include <gtest/gtest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <future>
#include <limits>
#include <set>

#include "engine/generation.h"
#include "engine/io/mapped_file.h"
#include "engine/model.h"
#include "engine/sampler.h"
#include "tests/engine/checkpoint_writer.h"

namespace dschat {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using test::TempDir;

std::string read_bytes(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

void write_bytes(const fs::path& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

uint64_t header_length(const std::string& file) {
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | static_cast<unsigned char>(file[static_cast<size_t>(i)]);
  return n;
}

// Replaces the header of a safetensors file (the data region is kept as it is).
std::string with_header(const std::string& file, const json& header, int64_t claimed_length = -1) {
  const uint64_t old_length = header_length(file);
  std::string text = header.dump();
  uint64_t n = claimed_length < 0 ? text.size() : static_cast<uint64_t>(claimed_length);
  std::string out(8, '\0');
  for (int i = 0; i < 8; ++i) out[static_cast<size_t>(i)] = static_cast<char>((n >> (8 * i)) & 0xff);
  return out + text + file.substr(8 + old_length);
}

// Loading must fail with a ModelError that names `fragment` (the file, the tensor, the key).
::testing::AssertionResult load_fails_naming(const fs::path& dir, const std::string& fragment) {
  try {
    Model::load(dir);
    return ::testing::AssertionFailure() << "the model loaded";
  } catch (const ModelError& e) {
    std::string m = e.what();
    if (m.find(fragment) == std::string::npos) return ::testing::AssertionFailure() << "'" << fragment << "' not in: " << m;
    return ::testing::AssertionSuccess();
  }
}

class ModelFileFaults : public ::testing::Test {
 protected:
  void SetUp() override {
    config_ = test::small_config();
    test::write_random_model(dir_.path(), config_);
    original_ = read_bytes(file());
    header_ = json::parse(original_.substr(8, header_length(original_)));
  }
  fs::path file() const { return dir_.path() / "model.safetensors"; }

  json config_;
  TempDir dir_;
  std::string original_;
  json header_;
};

TEST_F(ModelFileFaults, TruncatedAtEverySectionBoundaryIsAClearError) {
  const uint64_t n = header_length(original_);
  std::set<uint64_t> cuts = {0, 1, 7, 8, 9, 8 + n / 2, 8 + n - 1, 8 + n, original_.size() - 1};
  for (auto it = header_.begin(); it != header_.end(); ++it) {
    if (it.key() == "__metadata__") continue;
    const uint64_t begin = it.value()["data_offsets"][0], end = it.value()["data_offsets"][1];
    for (uint64_t at : {begin, begin + 1, end - 1}) cuts.insert(8 + n + at);
  }
  ASSERT_GT(cuts.size(), 60u);  // a boundary of every tensor, not a handful
  for (uint64_t cut : cuts) {
    if (cut >= original_.size()) continue;
    write_bytes(file(), original_.substr(0, cut));
    EXPECT_TRUE(load_fails_naming(dir_.path(), "model.safetensors")) << "cut at byte " << cut;
  }
  // config.json cut anywhere is an error naming config.json.
  write_bytes(file(), original_);
  const std::string config_text = config_.dump(2);
  for (size_t cut : {size_t{0}, size_t{1}, config_text.size() / 3, config_text.size() / 2, config_text.size() - 1}) {
    write_bytes(dir_.path() / "config.json", config_text.substr(0, cut));
    EXPECT_TRUE(load_fails_naming(dir_.path(), "config.json")) << "config cut at byte " << cut;
  }
  write_bytes(dir_.path() / "config.json", config_text);
  EXPECT_NO_THROW(Model::load(dir_.path()));  // the intact files still load
}

TEST_F(ModelFileFaults, HeadersThatLieAboutSizesOrOffsetsAreClearErrors) {
  const uint64_t n = header_length(original_);
  const uint64_t data_size = original_.size() - 8 - n;
  // The header length: past the end of the file, absurdly large, shorter than the JSON.
  for (int64_t claimed : {static_cast<int64_t>(original_.size()), int64_t{1} << 62, static_cast<int64_t>(n / 2)}) {
    write_bytes(file(), with_header(original_, header_, claimed));
    EXPECT_TRUE(load_fails_naming(dir_.path(), "model.safetensors")) << "claimed header length " << claimed;
  }
  const std::string name = "model.embed_tokens.weight";
  ASSERT_TRUE(header_.contains(name));
  auto lie = [&](const char* what, auto&& edit) {
    json h = header_;
    edit(h[name]);
    write_bytes(file(), with_header(original_, h));
    EXPECT_TRUE(load_fails_naming(dir_.path(), name)) << what;
  };
  lie("end past the data region", [&](json& t) { t["data_offsets"][1] = data_size + 4; });
  lie("offsets at 2^64-1", [&](json& t) { t["data_offsets"] = {std::numeric_limits<uint64_t>::max() - 3, std::numeric_limits<uint64_t>::max()}; });
  lie("begin after end", [&](json& t) { t["data_offsets"] = {t["data_offsets"][1], t["data_offsets"][0]}; });
  lie("shape larger than the bytes", [&](json& t) { t["shape"][0] = t["shape"][0].get<int64_t>() * 2; });
  lie("shape whose product overflows", [&](json& t) { t["shape"] = {int64_t{1} << 40, int64_t{1} << 40}; });
  lie("negative dimension", [&](json& t) { t["shape"][0] = -1; });
  lie("unknown dtype", [&](json& t) { t["dtype"] = "F128"; });
  // The config lies about a size: the tensors no longer match it.
  write_bytes(file(), original_);
  json config = config_;
  config["hidden_size"] = 64;
  write_bytes(dir_.path() / "config.json", config.dump());
  EXPECT_TRUE(load_fails_naming(dir_.path(), "embed_tokens"));
}

// A decoder for the engine that only counts; the test does not need text.
class NullDecoder : public TokenTextDecoder {
 public:
  std::string push(int32_t) override { return {}; }
  std::string finish() override { return {}; }
  void reset() override {}
};

TEST_F(ModelFileFaults, NonFiniteWeightsEndInAClearErrorNotAHang) {
  for (float bad : {std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::infinity()}) {
    TempDir dir;
    auto tensors = test::random_model_tensors(config_, {});
    for (auto& t : tensors) {
      if (t.name == "model.layers.0.self_attn.kv_a_proj_with_mqa.weight") std::fill(t.values.begin(), t.values.end(), bad);
    }
    std::ofstream(dir / "config.json") << config_.dump();
    test::write_safetensors(dir / "model.safetensors", tensors);
    auto model = Model::load(dir.path());
    auto context = InferenceContext::create(*model, 64);
    // Generation runs on another thread so a hang fails the test instead of blocking it.
    auto outcome = std::async(std::launch::async, [&]() -> std::string {
      SamplingParams params;
      params.seed = 7;
      Sampler sampler(params);
      NullDecoder decoder;
      GenerationOptions options;
      options.max_tokens = 8;
      const std::vector<int32_t> prompt = {3, 4, 5};
      try {
        generate(*model, *context, prompt, sampler, decoder, options, [](std::string_view) {});
        return "no error";
      } catch (const std::exception& e) {
        return e.what();
      }
    });
    ASSERT_EQ(outcome.wait_for(std::chrono::seconds(60)), std::future_status::ready) << "generation hangs on weights = " << bad;
    const std::string message = outcome.get();
    EXPECT_NE(message.find("finite"), std::string::npos) << "weights = " << bad << ": " << message;
  }
}

// A model file cut short while the model is loaded and mapped must not kill the process with
// SIGBUS: the forward pass after the shrink either works (the weights were copied or are
// still readable) or reports an error. Runs in a child process so a crash fails the test only.
TEST_F(ModelFileFaults, FileShrunkAfterMappingDoesNotCrash) {
  pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    try {
      auto model = Model::load(dir_.path());
      if (::truncate(file().c_str(), static_cast<off_t>(8 + header_length(original_))) != 0) ::_exit(3);
      auto context = InferenceContext::create(*model, 16);
      std::vector<float> logits(static_cast<size_t>(model->config().vocab_size));
      const std::vector<int32_t> tokens = {1, 2, 3};
      context->append(tokens, logits);
      ::_exit(MappedFile::faulted_pages() > 0 ? 0 : 4);  // the vanished pages were noticed
    } catch (const std::exception&) {
      ::_exit(0);  // a clear error is fine too
    }
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  EXPECT_FALSE(WIFSIGNALED(status)) << "killed by signal " << WTERMSIG(status);
  if (WIFEXITED(status)) {
    EXPECT_EQ(WEXITSTATUS(status), 0) << "4: the shrink went unnoticed (MappedFile::faulted_pages() == 0)";
  }
}

}  // namespace
}  // namespace dschat
