// Where dschat's files go (app/chat/xdg_directories.h): relative XDG variables are ignored as the
// XDG Base Directory specification says, HOME unset falls back to the password database (never
// the current directory), and created directories are 0700 whatever the umask.
#include <gtest/gtest.h>

#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <optional>
#include <string>

#include "app/chat/conversation_store.h"
#include "app/chat/xdg_directories.h"
#include "app/tui/history_file.h"

namespace dschat {
namespace {

namespace fs = std::filesystem;

// Sets (or unsets, with nullopt) an environment variable for the scope.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, std::optional<std::string> value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    if (value) ::setenv(name, value->c_str(), 1);
    else ::unsetenv(name);
  }
  ~ScopedEnv() {
    if (old_) ::setenv(name_, old_->c_str(), 1);
    else ::unsetenv(name_);
  }

 private:
  const char* name_;
  std::optional<std::string> old_;
};

fs::path passwd_home() {
  const passwd* entry = ::getpwuid(::getuid());
  return entry && entry->pw_dir ? fs::path(entry->pw_dir) : fs::path();
}

TEST(XdgDirectories, RelativeVariablesAreIgnored) {
  ScopedEnv home("HOME", "/home/someone");
  ScopedEnv data("XDG_DATA_HOME", "relative/data");
  ScopedEnv state("XDG_STATE_HOME", "relative/state");
  EXPECT_EQ(default_conversations_dir(), fs::path("/home/someone/.local/share/dschat/conversations"));
  EXPECT_EQ(default_history_path(), fs::path("/home/someone/.local/state/dschat/history"));
  ScopedEnv data_abs("XDG_DATA_HOME", "/srv/data");
  ScopedEnv state_abs("XDG_STATE_HOME", "/srv/state");
  EXPECT_EQ(default_conversations_dir(), fs::path("/srv/data/dschat/conversations"));
  EXPECT_EQ(default_history_path(), fs::path("/srv/state/dschat/history"));
}

TEST(XdgDirectories, HomeUnsetUsesThePasswordDatabaseNotTheCurrentDirectory) {
  const fs::path expected = passwd_home();
  if (expected.empty() || !expected.is_absolute()) GTEST_SKIP() << "this user has no home directory entry";
  ScopedEnv home("HOME", std::nullopt);
  ScopedEnv data("XDG_DATA_HOME", std::nullopt);
  ScopedEnv state("XDG_STATE_HOME", std::nullopt);
  EXPECT_EQ(home_directory(), expected);
  EXPECT_EQ(default_conversations_dir(), expected / ".local/share/dschat/conversations");
  EXPECT_EQ(default_history_path(), expected / ".local/state/dschat/history");
  ScopedEnv relative_home("HOME", "not/absolute");
  EXPECT_EQ(home_directory(), expected);
}

TEST(XdgDirectories, CreatedDirectoriesArePrivateWhateverTheUmask) {
  const fs::path root = fs::temp_directory_path() / ("dschat_xdg_test_" + std::to_string(::getpid()));
  fs::remove_all(root);
  fs::create_directories(root);
  const mode_t old_umask = ::umask(0);
  create_private_directories(root / "a" / "b" / "c");
  ::umask(old_umask);
  for (const fs::path& dir : {root / "a", root / "a" / "b", root / "a" / "b" / "c"}) {
    struct stat st {};
    ASSERT_EQ(::stat(dir.c_str(), &st), 0) << dir;
    EXPECT_EQ(st.st_mode & 0777, 0700u) << dir;
  }
  struct stat st {};
  ASSERT_EQ(::stat(root.c_str(), &st), 0);  // an existing directory is left as it is
  std::ofstream(root / "file") << "x";
  EXPECT_THROW(create_private_directories(root / "file" / "sub"), std::runtime_error);
  fs::remove_all(root);
}

}  // namespace
}  // namespace dschat
