// Fuzz target: the chat's slash-command parser on any typed line. It never throws; every
// Invalid result carries a one-line explanation; a plain message is passed through.
#include "app/chat/chat_commands.h"
#include "tests/fuzz/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view line = dschat::fuzz::as_text(data, size);
  dschat::ChatCommand command = dschat::parse_chat_command(line);
  if (command.kind == dschat::ChatCommand::Kind::Invalid) {
    if (command.error.empty()) dschat::fuzz::property_failed("Invalid command without an explanation");
    if (command.error.find('\n') != std::string::npos) dschat::fuzz::property_failed("explanation is not one line");
  }
  if (command.kind == dschat::ChatCommand::Kind::Help) (void)dschat::chat_help_text(command.text);
  return 0;
}
