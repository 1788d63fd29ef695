// A LINES or COLUMNS that curses cannot hold (above 32767) was reported as "unknown terminal type
// 'xterm'"; the message now names the variable. It is checked before curses reads it: curses
// first tried to allocate a screen of the wrapped-around size (ASan's allocation-size-too-big).
#include "app/tui/terminal.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <stdexcept>
#include <string>

namespace dschat {
namespace {

TEST(TerminalSize, AnOversizedLinesOrColumnsIsNamedNotCalledAnUnknownTerminal) {
  ::setenv("TERM", "xterm", 1);
  for (const char* name : {"LINES", "COLUMNS"}) {
    ::setenv(name, "99999999", 1);
    try {
      Terminal terminal(false);
      ADD_FAILURE() << name << "=99999999 was accepted";
    } catch (const std::runtime_error& e) {
      EXPECT_NE(std::string(e.what()).find(std::string(name) + "=99999999 is not a terminal size"), std::string::npos)
          << e.what();
    }
    ::unsetenv(name);
  }
}

}  // namespace
}  // namespace dschat
