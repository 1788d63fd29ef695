// The tensors of a model checkpoint, whatever its file format: found by name, listed in file
// order, with the files they are mapped from. Safetensors directories (safetensors_source.h) and
// PyTorch .pt files (pt_tensor_source.h) implement it; the weight binder
// (engine/deepseek/weight_binder.h) reads only this. A new format is one more implementation.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "engine/io/mapped_file.h"
#include "engine/io/tensor.h"

namespace dschat {

class TensorSource {
 public:
  virtual ~TensorSource() = default;

  virtual const TensorInfo* find(const std::string& name) const = 0;
  virtual const std::vector<const TensorInfo*>& tensors() const = 0;  // file order
  // What errors call the whole checkpoint (e.g. about a tensor it lacks): its file, or
  // "the checkpoint (3 shards)". Errors about one tensor name TensorInfo::file.
  virtual std::string label() const = 0;
  // Problems found while reading that are not errors (e.g. a tensor the index does not list).
  virtual const std::vector<std::string>& warnings() const = 0;
  // The mappings the tensors point into (none for bytes owned by the caller).
  virtual std::vector<const MappedFile*> mapped_files() const = 0;

  std::vector<std::filesystem::path> files() const;  // of mapped_files(), in order
  uint64_t total_bytes() const;                      // of all tensors (a shared storage counts for each)
  // What changed on disk under mapped_files() since they were mapped, for a message (pages that
  // vanished, or a file modified in place: MappedFile::change_description), else nullopt.
  std::optional<std::string> changed() const;
};

}  // namespace dschat
