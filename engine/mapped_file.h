// A read-only memory mapping of a whole file (RAII). Checkpoint bytes are used in place.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>

namespace dschat {

class MappedFile {
 public:
  // Throws ModelError naming the file if it cannot be opened or mapped.
  explicit MappedFile(const std::filesystem::path& path);
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  const std::byte* data() const { return data_; }
  uint64_t size() const { return size_; }
  const std::filesystem::path& path() const { return path_; }

  // Hints the kernel that [offset, offset+length) will be read soon (madvise WILLNEED).
  void advise_will_need(uint64_t offset, uint64_t length) const;

 private:
  std::filesystem::path path_;
  const std::byte* data_ = nullptr;
  uint64_t size_ = 0;
};

}  // namespace dschat
