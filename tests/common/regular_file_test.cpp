// common/regular_file.h: what is not a regular file is refused at once, naming what it is, and a
// file above its limit is refused before anything is allocated.
#include "common/regular_file.h"

#include <gtest/gtest.h>

#include <sys/socket.h>
#include <sys/un.h>

#include <cerrno>
#include <cstring>
#include <fstream>

#include "tests/common/non_regular_files.h"

namespace dschat {
namespace {

namespace fs = std::filesystem;

class RegularFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("dschat_common_test_" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_;
};

constexpr FileLimit kSmall{1024, "a test file"};

TEST_F(RegularFileTest, ReadsARegularFileWhole) {
  std::ofstream(dir_ / "a.json") << "{\"x\": 1}";
  EXPECT_EQ(read_regular_file(dir_ / "a.json", kSmall), "{\"x\": 1}");
  std::ofstream(dir_ / "empty");
  EXPECT_EQ(read_regular_file(dir_ / "empty", kSmall), "");
  std::ofstream(dir_ / "limit") << std::string(1024, 'x');  // exactly at the limit
  EXPECT_EQ(read_regular_file(dir_ / "limit", kSmall).size(), 1024u);
}

TEST_F(RegularFileTest, AFifoIsRefusedAtOnceNamingWhatItIs) {
  const fs::path fifo = dir_ / "config.json";
  test::make_fifo(fifo);
  const std::string error = test::error_within_a_second([&] { read_regular_file(fifo, kSmall); }, fifo);
  EXPECT_EQ(error, fifo.string() + ": is a FIFO, not a regular file");
}

TEST_F(RegularFileTest, DevicesDirectoriesAndSocketsAreRefused) {
  fs::create_symlink("/dev/zero", dir_ / "zero");  // endless: would be std::bad_alloc
  auto error = [](const fs::path& p) {
    try {
      RegularFile file(p);
    } catch (const FileReadError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_EQ(error(dir_ / "zero"), (dir_ / "zero").string() + ": is a character device, not a regular file");
  EXPECT_EQ(error(dir_), dir_.string() + ": is a directory, not a regular file");

  const fs::path socket_path = dir_ / "sock";
  const int sock = ::socket(AF_UNIX, SOCK_STREAM, 0);
  ASSERT_GE(sock, 0);
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  std::strncpy(address.sun_path, socket_path.c_str(), sizeof address.sun_path - 1);
  ASSERT_EQ(::bind(sock, reinterpret_cast<const sockaddr*>(&address), sizeof address), 0);
  EXPECT_EQ(error(socket_path), socket_path.string() + ": is a socket, not a regular file");
  ::close(sock);
}

TEST_F(RegularFileTest, AFileAboveItsLimitIsRefusedBeforeItIsRead) {
  const fs::path big = dir_ / "big";
  test::make_sparse_file(big, uint64_t{1} << 40);  // 1 TiB, no disk space
  try {
    read_regular_file(big, kJsonConfigLimit);
    FAIL();
  } catch (const FileReadError& e) {
    EXPECT_EQ(std::string(e.what()), big.string() + ": is 1099511627776 bytes, more than the 64 MiB limit for " +
                                         "a JSON configuration file");
  }
  std::ofstream(dir_ / "small") << std::string(1025, 'x');
  EXPECT_THROW(read_regular_file(dir_ / "small", kSmall), FileReadError);
}

TEST_F(RegularFileTest, AbsentIsNothingButWhatIsThereMustBeRegular) {
  EXPECT_FALSE(read_regular_file_if_present(dir_ / "missing", kSmall).has_value());
  fs::create_symlink(dir_ / "nowhere", dir_ / "dangling");
  EXPECT_FALSE(read_regular_file_if_present(dir_ / "dangling", kSmall).has_value());
  try {
    read_regular_file(dir_ / "missing", kSmall);
    FAIL();
  } catch (const FileReadError& e) {
    EXPECT_EQ(e.error_number, ENOENT);
    EXPECT_EQ(std::string(e.what()), (dir_ / "missing").string() + ": cannot open: " + std::strerror(ENOENT));
  }
  test::make_fifo(dir_ / "fifo");
  EXPECT_THROW(read_regular_file_if_present(dir_ / "fifo", kSmall), FileReadError);
}

}  // namespace
}  // namespace dschat
