#include "app/chat/directory_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <string>

namespace dschat {

std::filesystem::path DirectoryLock::lock_file(const std::filesystem::path& dir) {
  return (dir.empty() ? std::filesystem::path(".") : dir) / ".dschat.lock";
}

DirectoryLock::DirectoryLock(const std::filesystem::path& dir) {
  const std::filesystem::path path = lock_file(dir);
  auto fail = [&](const std::string& what) {
    const std::string message = "cannot lock " + path.string() + ": " + what;
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
    throw std::runtime_error(message);
  };
  // O_NOFOLLOW: never a planted symlink; O_NONBLOCK: a planted FIFO does not block the open.
  fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0600);
  if (fd_ < 0) fail(std::strerror(errno));
  struct stat st {};
  if (::fstat(fd_, &st) != 0) fail(std::strerror(errno));
  if (!S_ISREG(st.st_mode)) fail("not a regular file");
  while (::flock(fd_, LOCK_EX) != 0) {
    if (errno != EINTR) fail(std::strerror(errno));
  }
}

DirectoryLock::~DirectoryLock() {
  if (fd_ >= 0) ::close(fd_);  // closing the descriptor releases the lock
}

}  // namespace dschat
