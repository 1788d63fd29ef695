// Running the built dschat as a user does, for the command tests: through the shell, with an
// environment and stream redirections, its stdout and stderr collected.
#pragma once

#include <sys/wait.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include "tests/engine/checkpoint_writer.h"

namespace dschat::test {

struct CommandResult {
  int status;
  std::string out;
  std::string err;
};

// Runs dschat with `args` through the shell, with `env` ("NAME=value ...") before it; stdout goes
// to a file (CommandResult::out) unless `streams` redirects it otherwise (">/dev/full", "<&- >&-").
inline CommandResult run(const std::string& args, const std::string& env = "", const std::string& streams = "") {
  test::TempDir tmp;
  const std::string out = streams.empty() ? " >" + (tmp / "out").string() : " " + streams;
  const std::string cmd = env + " " + DSCHAT_BINARY + " " + args + out + " 2>" + (tmp / "err").string();
  int raw = std::system(cmd.c_str());
  auto slurp = [](const std::filesystem::path& p) {
    std::ifstream f(p);
    return std::string(std::istreambuf_iterator<char>(f), {});
  };
  return {WIFEXITED(raw) ? WEXITSTATUS(raw) : -1, slurp(tmp / "out"), slurp(tmp / "err")};
}

}  // namespace dschat::test
