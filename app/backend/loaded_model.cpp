#include "app/backend/loaded_model.h"

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <future>
#include <optional>

#include <nlohmann/json.hpp>

#include "app/backend/model_tokenizer.h"
#include "common/out_of_memory.h"
#include "common/regular_file.h"

namespace dschat {

std::string default_model_dir() {
  if (const char* env = std::getenv("DSCHAT_MODEL_DIR"); env && *env) return env;
  return DSCHAT_DEFAULT_MODEL_DIR;
}

namespace {

std::filesystem::path directory_of(const std::filesystem::path& path) {
  std::error_code ec;
  return std::filesystem::is_directory(path, ec) ? path : path.parent_path();
}

// A bare .pt checkpoint of the from-scratch variants has no tokenizer beside it: both projects
// use GPT-2's (tiktoken "gpt2"), the bundled model's tokenizer, so that one is used.
// A .gguf file carries its own tokenizer (model_tokenizer.h): the path itself.
std::filesystem::path tokenizer_directory(const std::filesystem::path& path, const std::filesystem::path& dir) {
  std::error_code ec;
  if (is_gguf_path(path)) return path;
  if (std::filesystem::is_regular_file(path, ec) && !std::filesystem::exists(dir / "tokenizer.json", ec)) {
    return default_model_dir();
  }
  return dir;
}

// generation_config.json (common/regular_file.h: never a FIFO), nullopt when there is none.
std::optional<std::string> read_generation_config(const std::filesystem::path& path) {
  try {
    return read_regular_file_if_present(path, kJsonConfigLimit);
  } catch (const FileReadError& e) {
    throw ModelError(e.what());
  }
}

void add_unique(std::vector<int32_t>& ids, int64_t id) {
  if (id < 0 || id > INT32_MAX) return;
  if (std::find(ids.begin(), ids.end(), static_cast<int32_t>(id)) == ids.end()) ids.push_back(static_cast<int32_t>(id));
}

}  // namespace

std::optional<std::string> vocabulary_mismatch_warning(const Tokenizer& tokenizer, const ModelConfig& config,
                                                       const std::filesystem::path& tokenizer_dir) {
  if (tokenizer.vocab_size() <= config.vocab_size) return std::nullopt;
  return "WARNING: " + (tokenizer_dir / "tokenizer.json").string() + " has " + std::to_string(tokenizer.vocab_size()) +
         " tokens but the model's vocab_size is " + std::to_string(config.vocab_size) +
         ": text that encodes to a token id from " + std::to_string(config.vocab_size) +
         " up cannot be used (is this the model's own tokenizer?)";
}

std::vector<int32_t> collect_eos_ids(const std::filesystem::path& model_dir, const ModelConfig& config,
                                     const Tokenizer& tokenizer) {
  std::vector<int32_t> ids;
  for (int id : config.eos_token_ids) add_unique(ids, id);
  std::filesystem::path generation_config = model_dir / "generation_config.json";
  if (const auto text = model_dir.empty() ? std::nullopt : read_generation_config(generation_config)) {
    nlohmann::json j = nlohmann::json::parse(*text, nullptr, false);
    if (j.is_discarded() || !j.is_object())
      throw ModelError(generation_config.string() + ": not a valid JSON object");
    if (auto it = j.find("eos_token_id"); it != j.end()) {
      if (it->is_number_integer()) {
        add_unique(ids, it->get<int64_t>());
      } else if (it->is_array()) {
        for (const auto& v : *it)
          if (v.is_number_integer()) add_unique(ids, v.get<int64_t>());
      }
    }
  }
  if (const auto& eos = tokenizer.config().eos_token)
    if (auto id = tokenizer.token_to_id(*eos)) add_unique(ids, *id);
  return ids;
}

int read_max_new_tokens(const std::filesystem::path& model_dir) {
  std::filesystem::path generation_config = model_dir / "generation_config.json";
  const std::optional<std::string> text = read_generation_config(generation_config);
  if (!text) return -1;
  nlohmann::json j = nlohmann::json::parse(*text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) throw ModelError(generation_config.string() + ": not a valid JSON object");
  auto it = j.find("max_new_tokens");
  if (it == j.end() || it->is_null()) return -1;
  if (!it->is_number_integer() || it->get<int64_t>() < 1 || it->get<int64_t>() > INT32_MAX)
    throw ModelError(generation_config.string() + ": max_new_tokens must be a positive integer");
  return static_cast<int>(it->get<int64_t>());
}

std::shared_ptr<LoadedModel> LoadedModel::load(const std::filesystem::path& path, const LoadOptions& options) {
  // Named first: otherwise the tokenizer, loading alongside, reports "<parent>/tokenizer.json".
  std::error_code exists_error;
  if (!std::filesystem::exists(path, exists_error)) {
    throw ModelError(path.string() + ": no such model directory or file");
  }
  auto loaded = std::make_shared<LoadedModel>();
  loaded->path = path;
  const std::filesystem::path dir = directory_of(path);
  // The tokenizer loads on a thread of its own while this one maps and prefetches the weights
  // (tens of milliseconds each for the bundled model). A tokenizer error stops the weights (the
  // progress callback cancels them) and is the error reported, as when the tokenizer loaded first.
  std::atomic<bool> tokenizer_failed{false};
  auto tokenizer = std::async(std::launch::async, [&] {
    try {
      return std::make_unique<Tokenizer>(load_model_tokenizer(tokenizer_directory(path, dir)));
    } catch (...) {
      tokenizer_failed = true;
      throw;
    }
  });
  LoadOptions weight_options = options;
  weight_options.progress = [&](uint64_t done, uint64_t total) {
    if (tokenizer_failed) return false;
    return !options.progress || options.progress(done, total);
  };
  try {
    if (!is_gguf_path(path)) {  // a GGUF file is the whole model: what lies beside it is not read
      loaded->sampling_defaults = load_sampling_defaults(dir);
      loaded->default_max_new_tokens = read_max_new_tokens(dir);
    }
    loaded->model = while_allocating("the model " + path.string(), [&] { return Model::load(path, weight_options); });
  } catch (...) {
    tokenizer.get();  // throws the tokenizer's error if it had one
    throw;
  }
  loaded->tokenizer = tokenizer.get();
  loaded->identity = model_identity(path, is_gguf_path(path) ? loaded->model->name() : "");
  loaded->eos_ids = collect_eos_ids(is_gguf_path(path) ? std::filesystem::path() : dir, loaded->model->config(),
                                    *loaded->tokenizer);
  // The weights are paged in now: cheap. (Unused MTP layers are not read: they would add to the RSS.)
  loaded->warnings = loaded->model->nonfinite_weight_warnings();
  if (auto mismatch = vocabulary_mismatch_warning(*loaded->tokenizer, loaded->model->config(),
                                                   tokenizer_directory(path, dir)))
    loaded->warnings.push_back(*mismatch);
  return loaded;
}

}  // namespace dschat
