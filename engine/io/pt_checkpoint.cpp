#include "engine/io/pt_checkpoint.h"

#include <bit>

#include "engine/io/model_error.h"
#include "engine/io/pt_zip.h"

namespace dschat {
namespace {

static_assert(std::endian::native == std::endian::little, "checkpoint views assume a little-endian host");

bool checked_mul_add(int64_t a, int64_t b, int64_t& acc) {
  int64_t product;
  return !__builtin_mul_overflow(a, b, &product) && !__builtin_add_overflow(acc, product, &acc);
}

}  // namespace

int64_t PtTensor::element_count() const {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

bool PtTensor::is_contiguous() const {
  int64_t expected = 1;
  for (size_t i = shape.size(); i-- > 0;) {
    if (shape[i] != 1 && stride[i] != expected) return false;
    expected *= shape[i];
  }
  return true;
}

TensorInfo PtTensor::info(const std::string& file) const {
  if (!is_contiguous()) {
    throw ModelError(file + ": tensor '" + name + "' " + shape_string(shape) + " has non-contiguous strides " +
                     shape_string(stride) + "; re-save it with .contiguous()");
  }
  TensorInfo t;
  t.name = name;
  t.file = file;
  t.dtype = dtype;
  t.shape = shape;
  t.data = data;
  t.nbytes = static_cast<uint64_t>(element_count()) * dtype_size(dtype);
  return t;
}

PtCheckpoint::PtCheckpoint(const std::filesystem::path& path)
    : file_(std::make_unique<MappedFile>(path)),
      bytes_(file_->data(), file_->size()),
      label_(path.string()) {
  read();
}

PtCheckpoint::PtCheckpoint(std::span<const std::byte> bytes, std::string label)
    : bytes_(bytes), label_(std::move(label)) {
  read();
}

void PtCheckpoint::read() {
  if (bytes_.size() >= 2 && bytes_[0] == std::byte{0x80} && bytes_[1] != std::byte{0}) {
    throw ModelError(label_ + ": a legacy (pre-1.6, non-zip) PyTorch file; re-save it with a current torch.save");
  }
  ZipArchive zip(bytes_, label_);

  // The archive folder is the file stem at save time (best_deepseek_v3/...), not today's name.
  const ZipEntry* pkl = nullptr;
  for (const ZipEntry& e : zip.entries()) {
    const std::string suffix = "/data.pkl";
    if (e.name.size() > suffix.size() && e.name.ends_with(suffix) &&
        e.name.find('/') == e.name.size() - suffix.size()) {
      if (pkl) throw ModelError(label_ + ": two data.pkl entries ('" + pkl->name + "', '" + e.name + "')");
      pkl = &e;
    }
  }
  if (!pkl) throw ModelError(label_ + ": zip has no <name>/data.pkl entry; not a torch.save checkpoint");
  prefix_ = pkl->name.substr(0, pkl->name.size() - std::string("data.pkl").size());

  if (const ZipEntry* order = zip.find(prefix_ + "byteorder")) {
    auto b = zip.read(*order);
    std::string text(reinterpret_cast<const char*>(b.data()), b.size());
    if (text != "little") throw ModelError(label_ + ": byteorder is '" + text + "'; only little-endian checkpoints are read");
  }

  pickle_ = unpickle(zip.read(*pkl), label_ + ": " + pkl->name);

  const PickleValue& root = pickle_.at(pickle_.root());
  if (root.kind != PickleKind::Dict) {
    throw ModelError(label_ + ": top-level object is a " + pickle_kind_name(root.kind) + ", expected a state dict or checkpoint dict");
  }
  PickleId state = pickle_.root();
  for (const char* key : {"model_state_dict", "state_dict"}) {
    if (auto sd = pickle_.get(pickle_.root(), key); sd && pickle_.at(*sd).kind == PickleKind::Dict) {
      state = *sd;
      state_dict_key_ = key;
      break;
    }
  }

  // Views into the storage entries, bounds-checked against each storage's size.
  std::vector<std::span<const std::byte>> storage_bytes;
  for (const PickleStorage& s : pickle_.storages()) {
    const ZipEntry* e = zip.find(prefix_ + "data/" + s.key);
    if (!e) throw ModelError(label_ + ": storage '" + s.key + "' has no entry " + prefix_ + "data/" + s.key);
    auto b = zip.read(*e);
    uint64_t need = 0;
    if (__builtin_mul_overflow(s.numel, dtype_size(s.dtype), &need) || b.size() < need) {
      throw ModelError(label_ + ": storage '" + s.key + "' (" + s.type_name + ", " + std::to_string(s.numel) +
                       " elements) is larger than its entry (" + std::to_string(b.size()) + " bytes)");
    }
    storage_bytes.push_back(b.first(need));
  }
  bind_state_dict(state, storage_bytes);
}

void PtCheckpoint::bind_state_dict(PickleId dict, const std::vector<std::span<const std::byte>>& storages) {
  const PickleValue& d = pickle_.at(dict);
  std::vector<std::pair<std::string, PickleId>> items;
  for (size_t i = 0; i + 1 < d.items.size(); i += 2) {
    const PickleValue& k = pickle_.at(d.items[i]);
    if (k.kind != PickleKind::String) throw ModelError(label_ + ": state dict key " + pickle_.describe(d.items[i]) + " is not a string");
    const PickleValue& v = pickle_.at(d.items[i + 1]);
    if (v.kind != PickleKind::Tensor) {
      skipped_.push_back(k.text);
      continue;
    }
    items.emplace_back(k.text, d.items[i + 1]);
  }
  if (items.empty()) throw ModelError(label_ + ": the state dict holds no tensors");

  // torch.compile and DistributedDataParallel prefix every key; drop a prefix all keys share.
  for (const std::string wrapper : {"_orig_mod.", "module."}) {
    bool all = true;
    for (const auto& [name, id] : items) all = all && name.starts_with(wrapper);
    if (all) {
      for (auto& [name, id] : items) name.erase(0, wrapper.size());
    }
  }

  for (const auto& [name, id] : items) {
    const PickleTensor& pt = pickle_.tensors()[pickle_.at(id).index];
    const PickleStorage& s = pickle_.storages()[pickle_.at(pt.storage).index];
    const std::string what = label_ + ": tensor '" + name + "'";
    std::span<const std::byte> storage = storages[pickle_.at(pt.storage).index];

    PtTensor t;
    t.name = name;
    t.dtype = s.dtype;
    t.shape = pt.shape;
    t.stride = pt.stride;
    t.storage_offset = pt.storage_offset;
    t.storage_key = s.key;
    t.storage = storage;
    if (t.storage_offset < 0) throw ModelError(what + " has a negative storage offset");
    int64_t last = t.storage_offset;  // index of the last element reached
    bool empty = false;
    for (size_t i = 0; i < t.shape.size(); ++i) {
      if (t.shape[i] < 0 || t.stride[i] < 0) {
        throw ModelError(what + " has a negative size or stride " + shape_string(t.shape) + "/" + shape_string(t.stride));
      }
      empty |= t.shape[i] == 0;
      if (t.shape[i] > 0 && !checked_mul_add(t.shape[i] - 1, t.stride[i], last)) {
        throw ModelError(what + " size x stride overflows");
      }
    }
    int64_t count = 1;
    for (int64_t dim : t.shape) {
      if (__builtin_mul_overflow(count, dim, &count)) throw ModelError(what + " has too many elements");
    }
    if (!empty && static_cast<uint64_t>(last) >= s.numel) {
      throw ModelError(what + " " + shape_string(t.shape) + " at offset " + std::to_string(t.storage_offset) +
                       " reaches element " + std::to_string(last) + " of storage '" + s.key + "' which has " +
                       std::to_string(s.numel));
    }
    if (empty && static_cast<uint64_t>(t.storage_offset) > s.numel) throw ModelError(what + " starts past its storage");
    t.data = storage.data() + static_cast<uint64_t>(t.storage_offset) * dtype_size(s.dtype);
    if (!by_name_.emplace(name, tensors_.size()).second) throw ModelError(what + " appears twice");
    tensors_.push_back(std::move(t));
  }
}

std::optional<PickleId> PtCheckpoint::entry(std::string_view key) const {
  return pickle_.get(pickle_.root(), key);
}

const PtTensor* PtCheckpoint::find(std::string_view name) const {
  auto it = by_name_.find(std::string(name));
  return it == by_name_.end() ? nullptr : &tensors_[it->second];
}

}  // namespace dschat
