// resume_line(): the line the chat prints on leaving. The quoted path must read back as the same
// single word in a POSIX shell; the expectation is checked by running /bin/sh on it.
#include <gtest/gtest.h>

#include <cstdio>
#include <string>

#include "app/chat/conversation_store.h"

namespace dschat {
namespace {

// What `sh -c 'printf %s ARG'` prints for the shell text ARG.
std::string shell_word(const std::string& text) {
  std::string command = "printf %s " + text;
  std::string escaped = "'";
  for (char c : command) escaped += c == '\'' ? std::string("'\\''") : std::string(1, c);
  escaped += "'";
  FILE* pipe = popen(("/bin/sh -c " + escaped).c_str(), "r");
  if (!pipe) return "<popen failed>";
  std::string out;
  char buffer[256];
  while (size_t n = fread(buffer, 1, sizeof buffer, pipe)) out.append(buffer, n);
  pclose(pipe);
  return out;
}

std::string resume_argument(const std::string& line) {
  const std::string marker = "dschat --resume ";
  size_t at = line.find(marker);
  return at == std::string::npos ? "" : line.substr(at + marker.size());
}

TEST(ResumeLine, NamesTheFileAndTheCommand) {
  EXPECT_EQ(resume_line("/home/a/.local/share/dschat/conversations/20261122-100000-3fa9.json"),
            "saved to /home/a/.local/share/dschat/conversations/20261122-100000-3fa9.json \u2014 resume with: "
            "dschat --resume /home/a/.local/share/dschat/conversations/20261122-100000-3fa9.json");
}

TEST(ResumeLine, AnAwkwardPathIsQuotedForTheShell) {
  for (std::string path : {"/tmp/my chats/a.json", "/tmp/it's $HOME/`x`.json", "/tmp/a\"b;c&d|e*.json"}) {
    std::string line = resume_line(path);
    EXPECT_TRUE(line.starts_with("saved to " + path + " \u2014 ")) << line;
    EXPECT_EQ(shell_word(resume_argument(line)), path) << line;
  }
}

}  // namespace
}  // namespace dschat
