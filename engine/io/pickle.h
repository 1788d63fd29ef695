// A restricted unpickler for PyTorch checkpoints (data.pkl inside a torch.save zip). It reads
// protocol 2 (and the few protocol 3-5 opcodes that carry plain data) into an arena of inert
// values and NEVER calls anything: the only callables it interprets are an allow-list of
// constructors whose effect it reproduces itself (OrderedDict, _rebuild_tensor_v2,
// _rebuild_parameter, set, bytes via _codecs.encode, copyreg._reconstructor). Storages come from
// persistent ids ('storage', torch.<T>Storage, key, location, numel); the location is ignored.
// Any other class is recorded as an inert object (class name, constructor arguments, BUILD
// state) so a pickled config object reads as data. A global from a module that can run code
// (os, posix, subprocess, builtins, ...) or a REDUCE of anything outside the allow-list is a
// clear error. Opcode reference: CPython Lib/pickletools.py; torch/serialization.py for torch.save.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "engine/io/tensor.h"

namespace dschat {

using PickleId = uint32_t;
constexpr PickleId kNoPickleValue = 0xffffffffu;

enum class PickleKind : uint8_t {
  None, Bool, Int, Float, String, Bytes, Tuple, List, Dict,
  Global,   // a class or function named but not called: text = "module.name"
  Object,   // an instance of a class that was not executed: text = class, items = args, state
  Storage,  // a torch storage (persistent id)
  Tensor,   // a view into a storage (_rebuild_tensor_v2)
};
const char* pickle_kind_name(PickleKind kind);

struct PickleStorage {
  std::string key;        // the zip entry is <prefix>/data/<key>
  std::string type_name;  // "torch.FloatStorage"
  DType dtype = DType::F32;
  uint64_t numel = 0;     // elements of dtype (bytes for UntypedStorage)
};

struct PickleTensor {
  PickleId storage = kNoPickleValue;  // a Storage value
  int64_t storage_offset = 0;         // in elements
  std::vector<int64_t> shape;
  std::vector<int64_t> stride;        // in elements
};

struct PickleValue {
  PickleKind kind = PickleKind::None;
  bool boolean = false;
  int64_t integer = 0;
  double real = 0.0;
  std::string text;               // String, Bytes (raw), Global/Object class name
  std::vector<PickleId> items;    // Tuple/List elements; Dict k0,v0,k1,v1,...; Object args
  PickleId state = kNoPickleValue;  // Object: BUILD state; Dict/List: attributes from BUILD
  uint32_t index = 0;             // Storage/Tensor: index into storages()/tensors()
};

struct UnpickleLimits {
  size_t max_values = 1u << 24;
  size_t max_memo = 1u << 24;
  size_t max_stack = 1u << 20;
  size_t max_marks = 1u << 14;   // nesting of MARKed sequences
};

class Unpickled {
 public:
  PickleId root() const { return root_; }
  const PickleValue& at(PickleId id) const { return values_.at(id); }
  size_t size() const { return values_.size(); }
  const std::vector<PickleStorage>& storages() const { return storages_; }
  const std::vector<PickleTensor>& tensors() const { return tensors_; }

  // The value stored under a string key of a Dict, or of an Object's state dict (attribute).
  std::optional<PickleId> get(PickleId dict_or_object, std::string_view key) const;
  bool is_string(PickleId id) const { return at(id).kind == PickleKind::String; }
  // Short human-readable form for messages (depth- and length-limited; cycles are safe).
  std::string describe(PickleId id, int depth = 2) const;

 private:
  friend class Unpickler;
  std::vector<PickleValue> values_;
  std::vector<PickleStorage> storages_;
  std::vector<PickleTensor> tensors_;
  PickleId root_ = kNoPickleValue;
};

// Parses a whole pickle. `label` starts every error message (e.g. "ckpt.pt: data.pkl").
// Throws ModelError on a malformed stream, a refused global or call, or a limit exceeded.
Unpickled unpickle(std::span<const std::byte> data, const std::string& label, const UnpickleLimits& limits = {});

}  // namespace dschat
