// The model file formats the engine loads, in the order Model::load tries them: a Hugging Face /
// MLX directory (config.json + safetensors), a PyTorch .pt checkpoint and a GGUF file. A new
// format is one loader and one entry here.
#pragma once

#include <filesystem>
#include <memory>
#include <vector>

#include "engine/deepseek/deepseek_model.h"

namespace dschat {

struct ModelFormat {
  const char* description;  // for "not a ... or a ...": "a PyTorch .pt checkpoint"
  bool (*recognises)(const std::filesystem::path& path);
  std::unique_ptr<DeepSeekModel> (*load)(const std::filesystem::path& path, const LoadOptions& options);
};

const std::vector<ModelFormat>& model_formats();

}  // namespace dschat
