// A read-only memory mapping of a whole file (RAII). Checkpoint bytes are used in place.
//
// A file shrunk by someone else while it is mapped would make reads past its new end raise
// SIGBUS. Every mapping is registered with a SIGBUS handler (installed on first use, chaining to
// any previous handler for other addresses) that replaces the lost page with a zero page and
// counts it; the process keeps running with zeros where the weights were (the model must be
// reloaded) instead of dying. The handler prints nothing (stderr may be under a full-screen
// terminal UI): faulted_pages() tells callers, and the app reports it (app/chat/chat_session.cpp in
// the chat and `dschat run`, app/cli/main.cpp after the other commands).
//
// A file rewritten in place at the same size raises no fault: its new bytes simply show through
// the mapping. Each mapping keeps its file open and remembers its modification time and size, so
// changed_file() can tell (a file replaced by rename or deleted leaves the mapped inode as it was,
// and is not a change: the weights in use are intact; a `touch` is one, as nothing cheaper than
// reading the whole file again could tell it from a write).
//
// Opening a file that is already mapped in this process (same device, inode and size) shares
// that mapping instead of making a second one, unless the file was modified since it was mapped:
// a second reader (e.g. the NaN scan after Model::load, or reloading the same model) then takes
// no page faults and adds nothing to the resident set, where a second mapping of the weights
// would count them twice.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace dschat {

class MappedFile {
 public:
  // Throws ModelError naming the file if it cannot be opened or mapped.
  explicit MappedFile(const std::filesystem::path& path);
  ~MappedFile() = default;
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  const std::byte* data() const { return data_; }
  uint64_t size() const { return size_; }
  const std::filesystem::path& path() const { return path_; }

  // Hints the kernel that [offset, offset+length) will be read soon (madvise WILLNEED).
  void advise_will_need(uint64_t offset, uint64_t length) const;

  // Pages of any mapping that vanished (file shrunk) and now read as zeros, since start-up.
  static uint64_t faulted_pages();

  // The path of a live mapping whose file no longer holds the bytes that were mapped (written or
  // truncated in place since: its modification time or size differs, or pages vanished), else
  // empty. One fstat per live mapping.
  static std::filesystem::path changed_file();

  // As changed_file(), and else the last file found changed when its mapping was let go (a
  // command's final check, after its model is gone): per process, never cleared.
  static std::filesystem::path changed_file_since_start();

  // What changed under the mappings, for a message ("" when nothing did): pages that vanished
  // (faulted_pages()) or a file modified in place (changed_file(), or with since_start
  // changed_file_since_start()).
  static std::string change_description(bool since_start = false);
  // As change_description(), for the files of `files` only (the page count is still that of all
  // mappings), nullopt when nothing changed. One fstat per file.
  static std::optional<std::string> change_description(const std::vector<const MappedFile*>& files);

  struct Mapping;  // one mmap of one file, shared by the MappedFiles of that file (mapped_file.cpp)

 private:
  std::filesystem::path path_;
  std::shared_ptr<const Mapping> mapping_;  // empty for an empty file
  const std::byte* data_ = nullptr;
  uint64_t size_ = 0;
};

// Maps the pages spanning [data, data + length) of a read-only file mapping into the process now,
// so that reading them later takes no page fault: madvise(MADV_POPULATE_READ) (Linux 5.14+),
// else one read per page. Pages of a file that shrank read as zeros (see above).
void prefetch_pages(const std::byte* data, uint64_t length);

// Asks the kernel to start reading [data, data + length) from disk in the background
// (madvise MADV_WILLNEED); returns at once.
void advise_will_need(const std::byte* data, uint64_t length);

}  // namespace dschat
