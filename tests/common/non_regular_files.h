// Test helpers for the "non-regular files hang forever" class (common/regular_file.h): a FIFO, a
// sparse file of any size, and a load run with a deadline, so a regression fails its test instead
// of hanging the suite. Header-only: every area's tests include it.
#pragma once

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <exception>
#include <filesystem>
#include <functional>
#include <future>
#include <string>

namespace dschat::test {

inline void make_fifo(const std::filesystem::path& path) {
  std::filesystem::remove(path);
  if (::mkfifo(path.c_str(), 0600) != 0) throw std::runtime_error("mkfifo " + path.string());
}

// A file of `size` bytes that takes no disk space (ftruncate of an empty file).
inline void make_sparse_file(const std::filesystem::path& path, uint64_t size) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0 || ::ftruncate(fd, static_cast<off_t>(size)) != 0) throw std::runtime_error("ftruncate " + path.string());
  ::close(fd);
}

// What `load` throws (its what()), "no error" when it returns, or "hung: ..." when it has not
// ended within a second: then the FIFO at `fifo` is opened for writing and closed, which ends a
// read blocked on it (end of file), so the test fails instead of waiting forever.
inline std::string error_within_a_second(const std::function<void()>& load, const std::filesystem::path& fifo) {
  auto result = std::async(std::launch::async, [&load]() -> std::string {
    try {
      load();
    } catch (const std::exception& e) {
      return e.what();
    }
    return "no error";
  });
  if (result.wait_for(std::chrono::seconds(1)) == std::future_status::ready) return result.get();
  for (int i = 0; i < 100 && result.wait_for(std::chrono::milliseconds(10)) != std::future_status::ready; ++i) {
    const int fd = ::open(fifo.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC);  // a blocked open(O_RDONLY) returns
    if (fd >= 0) ::close(fd);
  }
  return "hung: no answer within a second (" + result.get() + ")";
}

}  // namespace dschat::test
