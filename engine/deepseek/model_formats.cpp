#include "engine/deepseek/model_formats.h"

#include <string>
#include <system_error>

namespace dschat {
namespace {

bool is_model_directory(const std::filesystem::path& path) {
  std::error_code ec;
  return std::filesystem::is_directory(path, ec);
}

bool is_pt_checkpoint(const std::filesystem::path& path) {
  const std::string ext = path.extension().string();
  return !is_model_directory(path) && (ext == ".pt" || ext == ".pth" || ext == ".ckpt");
}

bool is_gguf_file(const std::filesystem::path& path) {
  return !is_model_directory(path) && path.extension() == ".gguf";
}

}  // namespace

const std::vector<ModelFormat>& model_formats() {
  static const std::vector<ModelFormat> formats = {
      {"a model directory (config.json + safetensors)", is_model_directory, DeepSeekModel::load_directory},
      {"a PyTorch .pt checkpoint", is_pt_checkpoint, DeepSeekModel::load_pt},
      {"a GGUF file (.gguf)", is_gguf_file, DeepSeekModel::load_gguf},
  };
  return formats;
}

std::unique_ptr<Model> Model::load(const std::filesystem::path& path, const LoadOptions& options) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) throw ModelError(path.string() + ": no such model directory or file");
  std::string expected;
  for (const ModelFormat& format : model_formats()) {
    if (format.recognises(path)) return format.load(path, options);
    expected += (expected.empty() ? "" : " or ") + std::string(format.description);
  }
  throw ModelError(path.string() + ": not " + expected);
}

}  // namespace dschat
