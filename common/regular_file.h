// Opening a file for reading without the two ways a path can take the process down:
//   - a FIFO (or a tty, or a device that waits) blocks open() or read() until a writer comes, that
//     is forever: the file is opened O_NONBLOCK, checked with fstat, and what is not a regular file
//     is refused, naming what it is ("PATH: is a FIFO, not a regular file"); then O_NONBLOCK is
//     cleared. (/dev/zero, endless, is refused the same way.)
//   - a huge file read whole would end in std::bad_alloc: read_regular_file() takes a size limit
//     per kind of file (common/file_limits.h) and refuses a larger file before allocating.
// Every file the engine, the tokenizer and the app read goes through here; memory-mapped weight
// files too (MappedFile maps the descriptor of a RegularFile).
#pragma once

#include <sys/stat.h>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <stdexcept>
#include <string>

#include "common/file_limits.h"

namespace dschat {

// A file that cannot be read: the message names the path and why. `error_number` is the errno of
// a failed open() (ENOENT for a missing file), 0 when the file is the wrong kind or too large.
struct FileReadError : std::runtime_error {
  FileReadError(const std::string& message, int error) : std::runtime_error(message), error_number(error) {}
  int error_number;
};

// "a FIFO", "a directory", "a character device", "a block device", "a socket", "a symbolic link",
// "a regular file", else "not a regular file".
std::string file_type_name(mode_t mode);

// An open, read-only descriptor of a regular file (blocking reads), closed on destruction.
class RegularFile {
 public:
  // Throws FileReadError: "PATH: cannot open: <strerror>" or "PATH: is a FIFO, not a regular file".
  explicit RegularFile(const std::filesystem::path& path);
  ~RegularFile();
  RegularFile(RegularFile&& other) noexcept;
  RegularFile& operator=(RegularFile&&) = delete;
  RegularFile(const RegularFile&) = delete;
  RegularFile& operator=(const RegularFile&) = delete;

  int fd() const { return fd_; }
  const struct stat& status() const { return status_; }  // fstat at open
  uint64_t size() const { return static_cast<uint64_t>(status_.st_size); }
  const std::filesystem::path& path() const { return path_; }

  // The descriptor, now the caller's to close.
  int release();

  // The rest of the file from the current offset (the whole file when nothing was read yet).
  // Throws FileReadError when it is larger than `limit` (checked on the size at open, and again
  // while reading: a file that grows is cut off at the limit) or on a read error.
  std::string read_all(const FileLimit& limit);

 private:
  std::filesystem::path path_;
  int fd_ = -1;
  struct stat status_ {};
};

// RegularFile(path).read_all(limit).
std::string read_regular_file(const std::filesystem::path& path, const FileLimit& limit);

// As read_regular_file, nullopt when nothing is at `path` (ENOENT: a dangling symbolic link is
// nothing too). What is there but is not a regular file is still an error.
std::optional<std::string> read_regular_file_if_present(const std::filesystem::path& path, const FileLimit& limit);

}  // namespace dschat
