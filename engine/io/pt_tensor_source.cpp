#include "engine/io/pt_tensor_source.h"

namespace dschat {
namespace {

// As PtTensor::info(), for any view: a non-contiguous one keeps its strides, and its bytes run to
// the end of the last element it reaches.
TensorInfo view_info(const PtTensor& t, const std::string& file) {
  if (t.is_contiguous()) return t.info(file);
  TensorInfo info;
  info.name = t.name;
  info.file = file;
  info.dtype = t.dtype;
  info.shape = t.shape;
  info.stride = t.stride;
  info.data = t.data;
  int64_t last = 0;  // PtCheckpoint checked that this element is inside the storage
  bool empty = false;
  for (size_t i = 0; i < t.shape.size(); ++i) {
    empty |= t.shape[i] == 0;
    if (t.shape[i] > 0) last += (t.shape[i] - 1) * t.stride[i];
  }
  info.nbytes = empty ? 0 : static_cast<uint64_t>(last + 1) * dtype_size(t.dtype);
  return info;
}

}  // namespace

PtTensorSource::PtTensorSource(const std::filesystem::path& path) : checkpoint_(path) { index(); }

PtTensorSource::PtTensorSource(std::span<const std::byte> bytes, std::string label)
    : checkpoint_(bytes, std::move(label)) {
  index();
}

void PtTensorSource::index() {
  infos_.reserve(checkpoint_.tensors().size());  // no reallocation: ordered_ points into it
  for (const PtTensor& t : checkpoint_.tensors()) {
    infos_.push_back(view_info(t, checkpoint_.label()));
    ordered_.push_back(&infos_.back());
    by_name_[t.name] = &infos_.back();
  }
  for (const std::string& key : checkpoint_.skipped()) {
    warnings_.push_back("non-tensor state dict entry '" + key + "' ignored");
  }
}

const TensorInfo* PtTensorSource::find(const std::string& name) const {
  auto it = by_name_.find(name);
  return it == by_name_.end() ? nullptr : it->second;
}

std::vector<const MappedFile*> PtTensorSource::mapped_files() const {
  if (!checkpoint_.mapping()) return {};
  return {checkpoint_.mapping()};
}

}  // namespace dschat
