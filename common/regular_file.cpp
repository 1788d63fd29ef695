#include "common/regular_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace dschat {
namespace {

std::string size_text(uint64_t bytes) {
  if (bytes >= kMiB && bytes % kMiB == 0) return std::to_string(bytes / kMiB) + " MiB";
  return std::to_string(bytes) + " bytes";
}

// `size` 0: the file grew past the limit while it was read.
[[noreturn]] void too_large(const std::filesystem::path& path, uint64_t size, const FileLimit& limit) {
  const std::string what = size ? "is " + std::to_string(size) + " bytes, more" : "is larger";
  throw FileReadError(path.string() + ": " + what + " than the " + size_text(limit.max_bytes) + " limit for " +
                          limit.kind,
                      0);
}

std::string not_regular(const std::filesystem::path& path, mode_t mode) {
  return path.string() + ": is " + file_type_name(mode) + ", not a regular file";
}

}  // namespace

std::string file_type_name(mode_t mode) {
  return S_ISREG(mode)    ? "a regular file"
         : S_ISDIR(mode)  ? "a directory"
         : S_ISCHR(mode)  ? "a character device"
         : S_ISBLK(mode)  ? "a block device"
         : S_ISFIFO(mode) ? "a FIFO"
         : S_ISSOCK(mode) ? "a socket"
         : S_ISLNK(mode)  ? "a symbolic link"
                          : "not a regular file";
}

RegularFile::RegularFile(const std::filesystem::path& path) : path_(path) {
  // O_NONBLOCK: opening a FIFO without a writer returns at once instead of waiting for one.
  fd_ = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
  if (fd_ < 0) {
    const int err = errno;
    struct stat st {};
    // A socket cannot be opened at all (ENXIO): say what it is rather than "no such device".
    if (err == ENXIO && ::stat(path.c_str(), &st) == 0 && !S_ISREG(st.st_mode)) {
      throw FileReadError(not_regular(path, st.st_mode), err);
    }
    throw FileReadError(path.string() + ": cannot open: " + std::strerror(err), err);
  }
  const int flags = ::fcntl(fd_, F_GETFL);
  if (::fstat(fd_, &status_) != 0 || flags < 0) {
    const int err = errno;
    ::close(fd_);
    throw FileReadError(path.string() + ": cannot examine: " + std::strerror(err), err);
  }
  if (!S_ISREG(status_.st_mode)) {
    ::close(fd_);
    throw FileReadError(not_regular(path, status_.st_mode), 0);
  }
  ::fcntl(fd_, F_SETFL, flags & ~O_NONBLOCK);  // a regular file: ordinary blocking reads
}

RegularFile::~RegularFile() {
  if (fd_ >= 0) ::close(fd_);
}

RegularFile::RegularFile(RegularFile&& other) noexcept
    : path_(std::move(other.path_)), fd_(other.fd_), status_(other.status_) {
  other.fd_ = -1;
}

int RegularFile::release() {
  const int fd = fd_;
  fd_ = -1;
  return fd;
}

std::string RegularFile::read_all(const FileLimit& limit) {
  if (size() > limit.max_bytes) too_large(path_, size(), limit);
  // One byte more than expected, so a file that grew since the fstat is noticed without a regrowth
  // per read; never more than the limit + 1.
  std::string text(std::min(size(), limit.max_bytes) + 1, '\0');
  std::size_t got = 0;
  for (;;) {
    if (got == text.size()) {
      if (got > limit.max_bytes) too_large(path_, 0, limit);
      text.resize(std::min<uint64_t>(limit.max_bytes + 1, std::max<uint64_t>(2 * text.size(), 1 << 16)));
    }
    const ssize_t n = ::read(fd_, text.data() + got, text.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int err = errno;
      throw FileReadError(path_.string() + ": read error: " + std::strerror(err), err);
    }
    if (n == 0) break;
    got += static_cast<std::size_t>(n);
  }
  if (got > limit.max_bytes) too_large(path_, 0, limit);
  text.resize(got);
  return text;
}

std::string read_regular_file(const std::filesystem::path& path, const FileLimit& limit) {
  return RegularFile(path).read_all(limit);
}

std::optional<std::string> read_regular_file_if_present(const std::filesystem::path& path, const FileLimit& limit) {
  try {
    return read_regular_file(path, limit);
  } catch (const FileReadError& e) {
    if (e.error_number == ENOENT) return std::nullopt;
    throw;
  }
}

}  // namespace dschat
