#include "app/chat/file_revision.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <string>

namespace dschat {

namespace {

constexpr uint64_t kFnvOffset = 14695981039346656037ull;
constexpr uint64_t kFnvPrime = 1099511628211ull;

uint64_t fnv1a(uint64_t hash, std::string_view bytes) {
  for (unsigned char c : bytes) hash = (hash ^ c) * kFnvPrime;
  return hash;
}

}  // namespace

FileRevision revision_of_contents(std::string_view contents) {
  return {true, true, contents.size(), fnv1a(kFnvOffset, contents)};
}

FileRevision current_revision(const std::filesystem::path& path) {
  const FileRevision unreadable{true, false, 0, 0};
  const int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) return errno == ENOENT ? FileRevision{} : unreadable;
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return unreadable;
  }
  uint64_t hash = kFnvOffset, size = 0;
  char buffer[1 << 16];
  while (true) {
    const ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      ::close(fd);
      return unreadable;
    }
    if (n == 0) break;
    hash = fnv1a(hash, std::string_view(buffer, static_cast<size_t>(n)));
    size += static_cast<uint64_t>(n);
  }
  ::close(fd);
  return {true, true, size, hash};
}

}  // namespace dschat
