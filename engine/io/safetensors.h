// safetensors files (https://github.com/huggingface/safetensors): an 8-byte little-endian header
// length N, N bytes of JSON {name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {...}},
// then the data region. Everything is validated before any tensor is used.
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "engine/io/mapped_file.h"
#include "engine/io/tensor.h"

namespace dschat {

class SafetensorsFile {
 public:
  // Maps and validates `path`. Throws ModelError naming the file (and tensor) on any defect:
  // header length, JSON, dtype, shape x dtype size vs byte length, offsets outside the data
  // region, overlapping tensors.
  explicit SafetensorsFile(const std::filesystem::path& path);

  const std::filesystem::path& path() const { return file_.path(); }
  const MappedFile& mapping() const { return file_; }
  const std::vector<TensorInfo>& tensors() const { return tensors_; }
  const TensorInfo* find(const std::string& name) const;

  static constexpr uint64_t kMaxHeaderBytes = 100u << 20;  // the format's own limit (100 MB)

 private:
  MappedFile file_;
  std::vector<TensorInfo> tensors_;
  std::unordered_map<std::string, size_t> by_name_;
};

// All tensors of a model directory: model.safetensors, shards listed in
// model.safetensors.index.json, or an MLX weights.safetensors.
class TensorCollection {
 public:
  // Throws ModelError naming the file (index, shard) and tensor on any inconsistency: a shard
  // that does not exist, an index entry whose shard does not hold the tensor, a tensor in two files.
  static std::unique_ptr<TensorCollection> open_directory(const std::filesystem::path& dir);

  const TensorInfo* find(const std::string& name) const;
  const std::vector<const TensorInfo*>& tensors() const { return ordered_; }  // file order
  const std::vector<std::unique_ptr<SafetensorsFile>>& files() const { return files_; }
  const std::vector<std::string>& warnings() const { return warnings_; }
  uint64_t total_bytes() const;

 private:
  void add_file(std::unique_ptr<SafetensorsFile> file);

  std::vector<std::unique_ptr<SafetensorsFile>> files_;
  std::unordered_map<std::string, const TensorInfo*> by_name_;
  std::vector<const TensorInfo*> ordered_;
  std::vector<std::string> warnings_;
};

}  // namespace dschat
