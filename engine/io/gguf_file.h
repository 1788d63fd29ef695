// GGUF files (llama.cpp's format, versions 2 and 3; ggml/docs/gguf.md), little-endian:
//   "GGUF" u32 version, u64 n_tensors, u64 n_kv,
//   n_kv × { string key, u32 value type, value }     (string = u64 length + bytes, no NUL)
//   n_tensors × { string name, u32 n_dims, n_dims × u64 ne, u32 ggml type, u64 offset }
//   padding to `general.alignment` (default 32), then the data section; each tensor's offset is
//   relative to it and aligned. ne[0] is the length of a row (the fastest-varying dimension):
//   dschat shapes (TensorInfo::shape, row-major) are ne reversed.
// The file is memory-mapped and everything is validated before anything is allocated from a
// count or a length in it: a hostile file is a ModelError naming the file and what is wrong.
#pragma once

#include <algorithm>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "engine/io/mapped_file.h"
#include "engine/io/tensor.h"
#include "engine/quant/ggml_types.h"

namespace dschat {

enum class GgufType : uint32_t {
  U8 = 0, I8 = 1, U16 = 2, I16 = 3, U32 = 4, I32 = 5, F32 = 6, Bool = 7, String = 8, Array = 9,
  U64 = 10, I64 = 11, F64 = 12,
};
const char* gguf_type_name(GgufType type);  // "u32", "string", "array", ...

// One metadata value. Scalars keep their type; an array keeps its element type and its elements
// in the one vector that fits them (integers and bools in `ints`, floats in `floats`, strings in
// `strings`, arrays of arrays in `arrays`), so a 129k-token vocabulary is 129k strings.
struct GgufValue {
  GgufType type = GgufType::U8;
  int64_t int_value = 0;        // every integer type and bool (a u64 above INT64_MAX: uint_value)
  uint64_t uint_value = 0;
  double float_value = 0;
  std::string string_value;
  GgufType element_type = GgufType::U8;  // arrays
  std::vector<int64_t> ints;
  std::vector<double> floats;
  std::vector<std::string> strings;
  std::vector<GgufValue> arrays;

  bool is_integer() const;
  bool is_float() const { return type == GgufType::F32 || type == GgufType::F64; }
  uint64_t array_size() const;
  std::string summary() const;  // "u32 7", "string 'gpt2'", "array of 129280 string"
};

struct GgufTensor {
  std::string name;
  std::vector<uint64_t> ne;  // ggml order: ne[0] = row length
  const GgmlType* type = nullptr;
  uint64_t offset = 0;       // within the data section
  uint64_t nbytes = 0;
};

class GgufFile {
 public:
  // Maps and validates `path`. Throws ModelError "<path>: <what>" on any defect.
  explicit GgufFile(const std::filesystem::path& path);

  const std::filesystem::path& path() const { return file_.path(); }
  const MappedFile& mapping() const { return file_; }
  uint32_t version() const { return version_; }
  uint64_t alignment() const { return alignment_; }
  uint64_t data_offset() const { return data_offset_; }  // of the data section in the file

  const std::vector<std::pair<std::string, GgufValue>>& metadata() const { return metadata_; }  // file order
  const GgufValue* find(const std::string& key) const;
  const std::vector<GgufTensor>& tensors() const { return tensors_; }
  const GgufTensor* find_tensor(const std::string& name) const;
  // A tensor's bytes (validated inside the file; an empty tensor's address may be the file's end
  // when the data section's padding is missing).
  const std::byte* tensor_data(const GgufTensor& t) const {
    return file_.data() + std::min<uint64_t>(data_offset_ + t.offset, file_.size());
  }

  static constexpr uint32_t kMaxDims = 4;          // GGML_MAX_DIMS
  static constexpr int kMaxArrayNesting = 8;       // arrays of arrays of ...
  static constexpr uint64_t kMaxStringBytes = 1u << 30;
  // All metadata array elements together (a 256k vocabulary and its merges are ~0.5M).
  static constexpr uint64_t kMaxArrayElements = 16u << 20;

 private:
  MappedFile file_;
  uint32_t version_ = 0;
  uint64_t alignment_ = 32;
  uint64_t data_offset_ = 0;
  std::vector<std::pair<std::string, GgufValue>> metadata_;
  std::unordered_map<std::string, size_t> metadata_index_;
  std::vector<GgufTensor> tensors_;
  std::unordered_map<std::string, size_t> tensor_index_;
};

}  // namespace dschat
