#include "app/chat/xdg_directories.h"

#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

namespace dschat {

namespace fs = std::filesystem;

fs::path home_directory() {
  if (const char* home = std::getenv("HOME"); home && *home && fs::path(home).is_absolute()) return home;
  const long size_hint = ::sysconf(_SC_GETPW_R_SIZE_MAX);
  std::vector<char> buffer(size_hint > 0 ? static_cast<size_t>(size_hint) : 16384);
  passwd entry{};
  passwd* found = nullptr;
  if (::getpwuid_r(::getuid(), &entry, buffer.data(), buffer.size(), &found) == 0 && found && found->pw_dir &&
      fs::path(found->pw_dir).is_absolute()) {
    return found->pw_dir;
  }
  return {};
}

fs::path xdg_base_directory(const char* variable, const fs::path& fallback) {
  if (const char* value = std::getenv(variable); value && *value && fs::path(value).is_absolute()) return value;
  const fs::path home = home_directory();
  return home.empty() ? fs::path() : home / fallback;
}

void create_private_directories(const fs::path& dir) {
  if (dir.empty()) return;
  fs::path path;
  for (const fs::path& part : dir) {
    path /= part;
    if (::mkdir(path.c_str(), 0700) == 0) {
      ::chmod(path.c_str(), 0700);  // mkdir applied the umask, which may have taken bits from 0700
      continue;
    }
    if (errno == EEXIST) {
      struct stat st {};
      if (::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) continue;
      throw std::runtime_error(path.string() + ": exists and is not a directory");
    }
    throw std::runtime_error("cannot create the directory " + path.string() + ": " + std::strerror(errno));
  }
}

}  // namespace dschat
