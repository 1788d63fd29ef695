// dschat as a user runs it, given a FIFO where it reads a file: `--resume FIFO` and
// `tokenize --batch FIFO` exit at once with status 1 and a message naming the FIFO (they used to
// block forever), while `--batch -` still reads a pipe on stdin. Each command runs under
// timeout(1), so a regression fails instead of hanging the suite.
#include <gtest/gtest.h>

#include <fstream>
#include <string>

#include "tests/app/cli/command_runner.h"
#include "tests/common/non_regular_files.h"
#include "tests/engine/checkpoint_writer.h"

namespace dschat {
namespace {

TEST(NonRegularInputCommand, ResumingAFifoIsAClearErrorNotAHang) {
  test::TempDir tmp;
  test::make_fifo(tmp / "chat.json");
  const test::CommandResult r = test::run("--resume " + (tmp / "chat.json").string(),
                                          "XDG_DATA_HOME=" + tmp.path().string() + " DSCHAT_NOHISTORY=1 timeout 20",
                                          "</dev/null >/dev/null");
  EXPECT_EQ(r.status, 1) << r.err;  // timeout(1) exits 124
  EXPECT_NE(r.err.find((tmp / "chat.json").string() + ": is a FIFO, not a regular file"), std::string::npos) << r.err;
}

TEST(NonRegularInputCommand, ABatchFifoIsRefusedAndStdinPipesStillWork) {
  test::TempDir tmp;
  test::make_fifo(tmp / "batch.txt");
  for (const char* command : {"tokenize", "detokenize"}) {
    const test::CommandResult r =
        test::run(std::string(command) + " --batch " + (tmp / "batch.txt").string(), "timeout 20", "</dev/null");
    EXPECT_EQ(r.status, 1) << command << ": " << r.err;
    EXPECT_NE(r.err.find((tmp / "batch.txt").string() + ": is a FIFO, not a regular file (--batch - reads standard input)"),
              std::string::npos)
        << command << ": " << r.err;
  }
  std::ofstream(tmp / "lines.txt") << "\"hello\"\n";
  const test::CommandResult piped =
      test::run("tokenize --batch -", "cat " + (tmp / "lines.txt").string() + " | timeout 20", ">/dev/null");
  EXPECT_EQ(piped.status, 0) << piped.err;
}

}  // namespace
}  // namespace dschat
