// An exclusive advisory lock (flock) shared by the dschat processes that write files in one
// directory: held around "read what is on disk, compare, write, rename" so two writers never
// interleave those steps. The lock file is ".dschat.lock" in the directory (mode 0600, created on
// first use, never removed: removing it while another process waits on it would split the lock).
#pragma once

#include <filesystem>

namespace dschat {

class DirectoryLock {
 public:
  // Blocks until the lock is held. Throws std::runtime_error naming the lock file when it cannot
  // be opened or locked (a symlink or non-regular file planted at its name is refused).
  explicit DirectoryLock(const std::filesystem::path& dir);
  ~DirectoryLock();
  DirectoryLock(const DirectoryLock&) = delete;
  DirectoryLock& operator=(const DirectoryLock&) = delete;

  static std::filesystem::path lock_file(const std::filesystem::path& dir);

 private:
  int fd_ = -1;
};

}  // namespace dschat
