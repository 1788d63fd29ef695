// dschat bench refuses, before it allocates anything, a run the model or the machine cannot hold:
// `-p 1048576` on the bundled model (context 1024) went on to need over 6 GB and minutes of
// prefill before failing with a bare std::bad_alloc.
#include <gtest/gtest.h>

#include <string>

#include "tests/app/cli/command_runner.h"

namespace dschat {
namespace {

TEST(BenchCommand, MoreTokensThanTheModelsContextAreRefusedAtOnce) {
  for (const std::string size : {"-p 1048576", "-p 0 -n 1025"}) {
    const test::CommandResult r = test::run("bench " + size + " -r 1", "timeout 20");
    EXPECT_EQ(r.status, 1) << size << ": " << r.err;  // timeout(1) would be 124
    EXPECT_NE(r.err.find("tokens exceed the model's context of 1024"), std::string::npos) << size << ": " << r.err;
  }
  const test::CommandResult fits = test::run("bench -p 16 -n 0 -r 1 --json", "timeout 60");
  EXPECT_EQ(fits.status, 0) << fits.err;
  EXPECT_NE(fits.out.find("\"prefill_tokens\": 16"), std::string::npos) << fits.out;
}

}  // namespace
}  // namespace dschat
