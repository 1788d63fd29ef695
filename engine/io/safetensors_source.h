// All tensors of a safetensors model directory as one TensorSource: model.safetensors, the shards
// listed in model.safetensors.index.json, or an MLX weights.safetensors.
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "engine/io/safetensors.h"
#include "engine/io/tensor_source.h"

namespace dschat {

class SafetensorsSource final : public TensorSource {
 public:
  // Throws ModelError naming the file (index, shard) and tensor on any inconsistency: a shard
  // that does not exist, an index entry whose shard does not hold the tensor, a tensor in two files.
  static std::unique_ptr<SafetensorsSource> open_directory(const std::filesystem::path& dir);

  const TensorInfo* find(const std::string& name) const override;
  const std::vector<const TensorInfo*>& tensors() const override { return ordered_; }
  std::string label() const override;  // the one file, or "the checkpoint (N shards)"
  const std::vector<std::string>& warnings() const override { return warnings_; }
  std::vector<const MappedFile*> mapped_files() const override;

 private:
  void add_file(std::unique_ptr<SafetensorsFile> file);

  std::vector<std::unique_ptr<SafetensorsFile>> files_;
  std::unordered_map<std::string, const TensorInfo*> by_name_;
  std::vector<const TensorInfo*> ordered_;
  std::vector<std::string> warnings_;
};

}  // namespace dschat
