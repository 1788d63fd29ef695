#include "engine/io/tensor_source.h"

namespace dschat {

std::vector<std::filesystem::path> TensorSource::files() const {
  std::vector<std::filesystem::path> paths;
  for (const MappedFile* file : mapped_files()) paths.push_back(file->path());
  return paths;
}

uint64_t TensorSource::total_bytes() const {
  uint64_t total = 0;
  for (const TensorInfo* t : tensors()) total += t->nbytes;
  return total;
}

std::optional<std::string> TensorSource::changed() const { return MappedFile::change_description(mapped_files()); }

}  // namespace dschat
