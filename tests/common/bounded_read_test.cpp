// common/bounded_read.h: a stream longer than its limit is an error, and a line longer than its
// limit is skipped whole, without the process ever holding more than the limit.
#include "common/bounded_read.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <sstream>
#include <memory>
#include <vector>

namespace dschat {
namespace {

constexpr FileLimit kTen{10, "a test line"};

struct ReadLine {
  std::string text;
  bool too_long;
};

// A stdio stream holding `bytes`, as stdin would.
std::unique_ptr<std::FILE, int (*)(std::FILE*)> stream_of(const std::string& bytes) {
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> file(std::tmpfile(), &std::fclose);
  EXPECT_EQ(std::fwrite(bytes.data(), 1, bytes.size(), file.get()), bytes.size());
  std::rewind(file.get());
  return file;
}

std::vector<ReadLine> read_lines(const std::string& input, const FileLimit& limit) {
  auto in = stream_of(input);
  std::vector<ReadLine> lines;
  std::string line;
  bool too_long = false;
  while (read_line_bounded(in.get(), line, limit, too_long)) lines.push_back({line, too_long});
  EXPECT_FALSE(std::ferror(in.get()));
  return lines;
}

TEST(BoundedRead, LinesAsStdGetlineWithinTheLimit) {
  // The reference is std::getline itself, on inputs with and without a final newline, empty lines
  // and lines as long as the limit.
  for (const std::string& input : {std::string(""), std::string("a"), std::string("a\n"), std::string("\n\n"),
                                   std::string("abc\ndef\n\nxy"), std::string("0123456789\n0123456789"),
                                   std::string("\r\n x \n"), std::string("a\0b\n\0", 5)}) {
    std::istringstream reference(input);
    std::vector<std::string> expected;
    for (std::string line; std::getline(reference, line);) expected.push_back(line);
    const std::vector<ReadLine> got = read_lines(input, kTen);
    ASSERT_EQ(got.size(), expected.size()) << '"' << input << '"';
    for (size_t i = 0; i < got.size(); ++i) {
      EXPECT_EQ(got[i].text, expected[i]) << '"' << input << '"';
      EXPECT_FALSE(got[i].too_long);
    }
  }
}

TEST(BoundedRead, ALineLongerThanTheLimitIsSkippedWholeAndTheNextLineRead) {
  // 100,000 bytes with no newline, far past the 10-byte limit and past stdio's 4 KiB buffer.
  const std::string huge(100000, 'a');
  const std::vector<ReadLine> got = read_lines("first\n" + huge + "\nnext\n01234567890\n" + huge, kTen);
  ASSERT_EQ(got.size(), 5u);
  EXPECT_EQ(got[0].text, "first");
  EXPECT_FALSE(got[0].too_long);
  EXPECT_TRUE(got[1].too_long);
  EXPECT_EQ(got[1].text, "");
  EXPECT_EQ(got[2].text, "next");
  EXPECT_FALSE(got[2].too_long);
  EXPECT_TRUE(got[3].too_long);  // 11 bytes: one past the limit
  EXPECT_TRUE(got[4].too_long);  // the last line, without a newline
}

TEST(BoundedRead, ALineLongerThanTheLimitNeverGrowsTheString) {
  auto in = stream_of(std::string(1 << 20, 'x'));
  std::string line;
  bool too_long = false;
  ASSERT_TRUE(read_line_bounded(in.get(), line, FileLimit{1000, "a test line"}, too_long));
  EXPECT_TRUE(too_long);
  EXPECT_LE(line.capacity(), 1000u + 64);  // dropped at the limit, not kept to the end of the line
}

TEST(BoundedRead, ReadAllRefusesMoreThanTheLimitNamingTheStream) {
  auto fits = stream_of("0123456789");
  EXPECT_EQ(read_all_bounded(fits.get(), kTen, "stdin"), "0123456789");
  auto over = stream_of(std::string(70000, 'x'));  // past the 64 KiB read size too
  try {
    read_all_bounded(over.get(), FileLimit{65537, "a test line"}, "stdin");
    FAIL() << "no error";
  } catch (const InputTooLarge& e) {
    EXPECT_STREQ(e.what(), "stdin: is longer than the 65537 bytes limit for a test line");
  }
  EXPECT_EQ(line_too_long_message("in.jsonl", 3, kInputLineLimit),
            "in.jsonl: line 3 is longer than the 16 MiB limit for one line of input");
}

}  // namespace
}  // namespace dschat
