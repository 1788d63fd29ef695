// Writes a GGUF v3 file (the layout engine/io/gguf_file.h reads) in one streaming pass: the
// metadata and every tensor's name, shape and type first, then each tensor's bytes in that order,
// so memory holds one tensor's rows at a time, never the model. `general.alignment` is 32 (ggml's
// default, written explicitly) and every tensor's data starts at a multiple of it.
//
// The bytes go to a temporary file ".NAME.tmp-<pid>-XXXXXX" beside the target; commit() flushes
// it (fsync), renames it over the target and syncs the directory. The target may be absent or a
// regular file (a symbolic link is replaced, not written through); anything else is refused
// before a byte is written. Destroying the writer before commit() (an error, a full disk, a
// cancel) removes the temporary file: a failed write leaves nothing behind.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "engine/io/gguf_file.h"

namespace dschat {

// Metadata values to write (GgufValue as the reader fills it).
GgufValue gguf_u32(uint32_t v);
GgufValue gguf_i32(int32_t v);
GgufValue gguf_f32(float v);
GgufValue gguf_bool(bool v);
GgufValue gguf_string(std::string v);
GgufValue gguf_string_array(std::vector<std::string> v);
GgufValue gguf_i32_array(const std::vector<int32_t>& v);

class GgufWriter {
 public:
  // Throws ModelError when `target` exists and is not a regular file or a symbolic link, or when
  // the temporary file cannot be made.
  explicit GgufWriter(std::filesystem::path target);
  ~GgufWriter();
  GgufWriter(const GgufWriter&) = delete;
  GgufWriter& operator=(const GgufWriter&) = delete;

  static constexpr uint64_t kAlignment = 32;

  // Before write_header(). Keys and names must be unique (ModelError otherwise).
  void add_metadata(const std::string& key, GgufValue value);
  // ne in ggml order (ne[0] the row length, a whole number of the type's blocks).
  void add_tensor(const std::string& name, std::vector<uint64_t> ne, const GgmlType& type);
  uint64_t tensor_bytes(size_t index) const { return tensors_[index].nbytes; }
  size_t tensor_count() const { return tensors_.size(); }
  uint64_t data_bytes() const { return data_bytes_; }  // of all tensors, with padding

  void write_header();
  // The bytes of the tensors, in the order added, each exactly tensor_bytes(i) in all (any number
  // of calls per tensor); the padding between tensors is written here.
  void write_data(const void* bytes, size_t n);
  // Flushes, checks every tensor was written whole, syncs and renames over the target.
  void commit();

  const std::filesystem::path& target() const { return target_; }
  const std::filesystem::path& temporary() const { return tmp_; }

 private:
  void put(const void* bytes, size_t n);
  void flush();
  [[noreturn]] void fail(const std::string& what);

  struct Tensor {
    std::string name;
    std::vector<uint64_t> ne;
    uint32_t type = 0;
    uint64_t offset = 0, nbytes = 0;
  };
  std::filesystem::path target_, tmp_;
  int fd_ = -1;
  bool committed_ = false, header_written_ = false;
  std::vector<std::pair<std::string, GgufValue>> metadata_;
  std::vector<Tensor> tensors_;
  uint64_t data_bytes_ = 0;
  size_t current_ = 0;        // tensor being written
  uint64_t current_done_ = 0; // its bytes written
  std::vector<char> buffer_;
};

}  // namespace dschat
