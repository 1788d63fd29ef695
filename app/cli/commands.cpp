#include "app/cli/commands.h"

#include "app/cli/terminal_safe_text.h"

#include <cstdio>

namespace dschat {

int report_error(const std::string& command, const std::string& message) {
  // The chat is `dschat` itself: its errors say "dschat: ...", a subcommand's "dschat run: ...".
  std::fprintf(stderr, "dschat%s%s: %s\n", command.empty() ? "" : " ", terminal_safe_text(command).c_str(),
               terminal_safe_text(message).c_str());
  return 1;
}

}  // namespace dschat
