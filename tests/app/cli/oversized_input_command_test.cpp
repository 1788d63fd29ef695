// dschat given a line longer than kInputLineLimit (16 MiB) on stdin: `tokenize --batch -` and
// `detokenize --batch -` stop with status 1 naming the line, line-mode chat drops the line with
// the reason and goes on with the next one. Before the bound, a 1 GB line without a newline was
// held whole (line-mode chat reached 14 GB). The smallest input past the limit is 16 MiB + 1
// byte; the readers' logic is tested on small limits in tests/common/bounded_read_test.cpp.
#include <gtest/gtest.h>

#include <string>

#include "common/file_limits.h"
#include "tests/app/cli/command_runner.h"
#include "tests/engine/checkpoint_writer.h"

namespace dschat {
namespace {

// A shell pipeline printing one line of `kInputLineLimit + 1` NUL bytes, then `after`, into
// dschat run with the environment `env`.
std::string long_line_then(const std::string& after, const std::string& env = "") {
  return "(head -c " + std::to_string(kInputLineLimit.max_bytes + 1) + " /dev/zero; printf '\\n" + after +
         "') | " + env + " timeout 60";
}

TEST(OversizedInput, ALineLongerThanTheLimitIsAClearError) {
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
  GTEST_SKIP() << "16 MiB of input: the reader is tested under sanitizers by BoundedRead.*";
#endif
  for (const char* command : {"tokenize", "detokenize"}) {
    const test::CommandResult r = test::run(std::string(command) + " --batch -", long_line_then("\"x\"\\n"));
    EXPECT_EQ(r.status, 1) << command << ": " << r.err;
    EXPECT_NE(r.err.find("stdin: line 1 is longer than the 16 MiB limit for one line of input"), std::string::npos)
        << command << ": " << r.err;
    EXPECT_EQ(r.out, "") << command;
  }
  test::TempDir tmp;
  const test::CommandResult chat =
      test::run("", long_line_then("/show system\\n", "XDG_DATA_HOME=" + tmp.path().string() + " DSCHAT_NOHISTORY=1"));
  EXPECT_EQ(chat.status, 0) << chat.err;
  EXPECT_NE(chat.err.find("error: stdin: line 1 is longer than the 16 MiB limit for one line of input; it was not sent"),
            std::string::npos)
      << chat.err;
  EXPECT_EQ(chat.out, "\n");  // the next line was read: /show system printed the (empty) system prompt
}

}  // namespace
}  // namespace dschat
