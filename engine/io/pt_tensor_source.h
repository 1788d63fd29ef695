// A PyTorch .pt checkpoint (pt_checkpoint.h) as a TensorSource: one TensorInfo per state dict
// tensor, in state dict order, named by the checkpoint's label. A non-contiguous view keeps its
// strides (TensorInfo::stride), so binding it is an error that says so.
#pragma once

#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "engine/io/pt_checkpoint.h"
#include "engine/io/tensor_source.h"

namespace dschat {

class PtTensorSource final : public TensorSource {
 public:
  // Maps and reads `path` (ModelError as PtCheckpoint).
  explicit PtTensorSource(const std::filesystem::path& path);
  // Reads bytes owned by the caller (tests); `label` names them in errors.
  PtTensorSource(std::span<const std::byte> bytes, std::string label);

  const PtCheckpoint& checkpoint() const { return checkpoint_; }

  const TensorInfo* find(const std::string& name) const override;
  const std::vector<const TensorInfo*>& tensors() const override { return ordered_; }
  std::string label() const override { return checkpoint_.label(); }
  // One per state dict entry that is not a tensor (skipped).
  const std::vector<std::string>& warnings() const override { return warnings_; }
  std::vector<const MappedFile*> mapped_files() const override;

 private:
  void index();

  PtCheckpoint checkpoint_;
  std::vector<TensorInfo> infos_;
  std::vector<const TensorInfo*> ordered_;
  std::unordered_map<std::string, const TensorInfo*> by_name_;
  std::vector<std::string> warnings_;
};

}  // namespace dschat
