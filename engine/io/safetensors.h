// safetensors files (https://github.com/huggingface/safetensors): an 8-byte little-endian header
// length N, N bytes of JSON {name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {...}},
// then the data region. Everything is validated before any tensor is used.
#pragma once

#include <filesystem>
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

}  // namespace dschat
