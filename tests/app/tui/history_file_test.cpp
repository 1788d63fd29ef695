// The prompt history file (app/tui/history_file.h): escaping, round trip, trimming, permissions,
// two windows appending to one file.
#include "app/tui/history_file.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <thread>

#include "tests/common/non_regular_files.h"
#include "tests/engine/checkpoint_writer.h"

namespace dschat {
namespace {

std::filesystem::path fresh_dir(const char* name) {
  std::filesystem::path dir = std::filesystem::temp_directory_path() /
                              (std::string("dschat-") + name + "-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  return dir;
}

TEST(TuiHistoryFile, EscapingRoundTrips) {
  for (std::string entry : {"plain", "two\nlines", "back\\slash\\n literal", "\\", "trailing\\"}) {
    std::string line = escape_history_entry(entry);
    EXPECT_EQ(line.find('\n'), std::string::npos);
    EXPECT_EQ(unescape_history_entry(line), entry);
  }
}

TEST(TuiHistoryFile, SaveLoadKeepsNewestWithMode0600) {
  std::filesystem::path dir = fresh_dir("history");
  std::filesystem::path path = dir / "state" / "dschat" / "history";
  EXPECT_TRUE(load_history(path).empty());
  std::vector<std::string> entries;
  for (int i = 0; i < 12; ++i) entries.push_back("prompt " + std::to_string(i) + (i == 5 ? "\nsecond line" : ""));
  save_history(path, entries, 10);
  std::vector<std::string> loaded = load_history(path);
  ASSERT_EQ(loaded.size(), 10u);
  EXPECT_EQ(loaded.front(), "prompt 2");
  EXPECT_EQ(loaded[3], "prompt 5\nsecond line");
  EXPECT_EQ(loaded.back(), "prompt 11");
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  ASSERT_EQ(::stat(path.parent_path().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  std::filesystem::remove_all(dir);
}

// A symlink planted at the old predictable temporary name ("history.tmp<pid>") is never written
// through: the history goes to a mkstemp temporary; the planted link's target stays as it was.
TEST(TuiHistoryFile, APlantedTemporaryNameIsNotWrittenThrough) {
  std::filesystem::path dir = fresh_dir("history-planted");
  std::filesystem::create_directories(dir);
  const std::filesystem::path victim = dir / "victim";
  { std::ofstream(victim) << "precious"; }
  const std::filesystem::path path = dir / "history";
  std::filesystem::create_symlink(victim, path.string() + ".tmp" + std::to_string(::getpid()));
  save_history(path, {"x"});
  std::ifstream in(victim);
  EXPECT_EQ(std::string(std::istreambuf_iterator<char>(in), {}), "precious");
  EXPECT_EQ(load_history(path), std::vector<std::string>{"x"});
  std::filesystem::remove_all(dir);
}

// Two chat windows, each with its own history in memory, append in turns: the file keeps the
// lines of both (a window used to write its whole list over the other's lines).
TEST(TuiHistoryFile, TwoWindowsKeepEachOthersLines) {
  std::filesystem::path dir = fresh_dir("history-two-windows");
  const std::filesystem::path path = dir / "dschat" / "history";
  append_history(path, {"left 1"});
  append_history(path, {"right 1"});
  append_history(path, {"left 2\nsecond line"});
  append_history(path, {"right 2"});
  append_history(path, {"right 2"});  // the same as the last line: not repeated
  EXPECT_EQ(load_history(path),
            (std::vector<std::string>{"left 1", "right 1", "left 2\nsecond line", "right 2"}));
  append_history(path, {"x", "y"}, 3);  // trimmed to the newest entries
  EXPECT_EQ(load_history(path), (std::vector<std::string>{"right 2", "x", "y"}));
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  std::filesystem::remove_all(dir);
}

// Appending at the same time (threads here, each with its own lock descriptor as two processes
// have) loses no line.
TEST(TuiHistoryFile, ConcurrentAppendsLoseNoLine) {
  std::filesystem::path dir = fresh_dir("history-concurrent");
  const std::filesystem::path path = dir / "history";
  constexpr int kLines = 40;
  auto window = [&](const std::string& name) {
    for (int i = 0; i < kLines; ++i) append_history(path, {name + " " + std::to_string(i)});
  };
  std::thread left(window, "left"), right(window, "right");
  left.join();
  right.join();
  std::vector<std::string> lines = load_history(path);
  EXPECT_EQ(lines.size(), 2u * kLines);
  for (const char* name : {"left", "right"}) {
    for (int i = 0; i < kLines; ++i) {
      const std::string line = std::string(name) + " " + std::to_string(i);
      EXPECT_NE(std::find(lines.begin(), lines.end(), line), lines.end()) << line;
    }
  }
  std::filesystem::remove_all(dir);
}

TEST(TuiHistoryFile, UnwritablePlaceIsAnErrorNamingTheFile) {
  // A regular file where the directory should be: fails even for root.
  std::filesystem::path dir = fresh_dir("history-blocked");
  std::filesystem::create_directories(dir);
  { std::ofstream(dir / "dschat") << "not a directory"; }
  try {
    save_history(dir / "dschat" / "history", {"x"});
    ADD_FAILURE() << "expected an error";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("dschat"), std::string::npos) << e.what();
  }
  std::filesystem::remove_all(dir);
}

TEST(TuiHistoryFile, DefaultPathFollowsXdg) {
  const char* old = std::getenv("XDG_STATE_HOME");
  std::string saved = old ? old : "";
  ::setenv("XDG_STATE_HOME", "/tmp/xdg-state", 1);
  EXPECT_EQ(default_history_path(), std::filesystem::path("/tmp/xdg-state/dschat/history"));
  if (old) {
    ::setenv("XDG_STATE_HOME", saved.c_str(), 1);
  } else {
    ::unsetenv("XDG_STATE_HOME");
  }
}

// A FIFO at the history's path is no history, at once (it used to block the chat's start forever).
TEST(TuiHistoryFile, AFifoIsNoHistoryNotAHang) {
  test::TempDir dir;
  test::make_fifo(dir / "history");
  std::vector<std::string> entries{"x"};
  EXPECT_EQ(test::error_within_a_second([&] { entries = load_history(dir / "history"); }, dir / "history"), "no error");
  EXPECT_TRUE(entries.empty());
}

}  // namespace
}  // namespace dschat
