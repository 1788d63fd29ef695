// A PyTorch checkpoint (.pt, torch.save zip format) as named tensor views into the mapped
// file: the zip (pt_zip.h) gives `<prefix>/data.pkl` and one entry per storage, the restricted
// unpickler (pickle.h) gives the object tree, and each tensor of the state dict becomes a view
// (dtype, shape, strides, storage offset) into its storage entry, bounds-checked. Storages
// shared by several keys (tied weights) are shared views, not copies. Nothing is read twice.
//
// The state dict is found as: the root dict itself when its values are tensors (what
// `torch.save(model.state_dict())` writes), else root['model_state_dict'] (or 'state_dict')
// when the root is a checkpoint dict; the checkpoint dict's other entries (a pickled 'config'
// object, step counters) stay readable through pickle()/entry().
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "engine/io/mapped_file.h"
#include "engine/io/pickle.h"
#include "engine/io/tensor.h"

namespace dschat {

struct PtTensor {
  std::string name;
  DType dtype = DType::F32;
  std::vector<int64_t> shape;
  std::vector<int64_t> stride;         // elements
  int64_t storage_offset = 0;          // elements
  std::string storage_key;             // equal keys = one shared storage
  std::span<const std::byte> storage;  // the whole storage
  const std::byte* data = nullptr;     // element [0, 0, ...]

  int64_t element_count() const;
  bool is_contiguous() const;  // row-major with no gaps
  // A TensorInfo for the engine's loaders; only for contiguous tensors (ModelError otherwise).
  TensorInfo info(const std::string& file) const;
};

class PtCheckpoint {
 public:
  // Maps and reads `path`. Throws ModelError naming the file and what is wrong.
  explicit PtCheckpoint(const std::filesystem::path& path);
  // Reads bytes owned by the caller (tests, fuzzing); `label` names them in errors.
  PtCheckpoint(std::span<const std::byte> bytes, std::string label);

  const std::string& label() const { return label_; }
  const std::string& archive_prefix() const { return prefix_; }  // "best_deepseek_v3/"
  const Unpickled& pickle() const { return pickle_; }
  bool is_checkpoint_dict() const { return !state_dict_key_.empty(); }
  const std::string& state_dict_key() const { return state_dict_key_; }  // "" for a raw state dict
  // An entry of the root checkpoint dict ("config", "global_step", ...), if the root is a dict.
  std::optional<PickleId> entry(std::string_view key) const;

  const std::vector<PtTensor>& tensors() const { return tensors_; }  // state dict order
  const PtTensor* find(std::string_view name) const;
  // Keys of the state dict whose values were not tensors (e.g. `_extra_state`), skipped.
  const std::vector<std::string>& skipped() const { return skipped_; }
  uint64_t size_bytes() const { return bytes_.size(); }
  const MappedFile* mapping() const { return file_.get(); }  // null for bytes owned by the caller

 private:
  void read();
  void bind_state_dict(PickleId dict, const std::vector<std::span<const std::byte>>& storages);

  std::unique_ptr<MappedFile> file_;
  std::span<const std::byte> bytes_;
  std::string label_;
  std::string prefix_;
  Unpickled pickle_;
  std::string state_dict_key_;
  std::vector<PtTensor> tensors_;
  std::unordered_map<std::string, size_t> by_name_;
  std::vector<std::string> skipped_;
};

}  // namespace dschat
