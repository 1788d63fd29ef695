// The chat's slash commands (ollama's names where ollama has them): parsing a typed line into a
// command, with a one-line explanation for unknown commands and bad arguments, and the help.
// No terminal, no session: the TUI and the line mode both act on the parsed result.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace dschat {

struct ChatCommand {
  enum class Kind {
    Message,       // not a command: `text` is the message to send ("//x" sends "/x")
    Help,          // /help, /? [topic]: `text` = topic ("", "set", "show", "shortcuts")
    SetParameter,  // /set parameter NAME VALUE: `name`, `text` = value
    SetSystem,     // /set system TEXT: `text`
    SetThink,      // /set think show|fold|hide: `name` (how a reply's reasoning is shown)
    SetMarkdown,   // /set markdown on|off: `on`
    Show,          // /show info|parameters|system|template: `name`
    Clear,         // /clear
    Regenerate,    // /regen
    Undo,          // /undo
    Save,          // /save [PATH]: `text` = path or ""
    Load,          // /load PATH|N|TITLE: `text` (a file, the Nth of /list, or a title's start)
    List,          // /list: the saved conversations, newest first
    Export,        // /export md|json PATH: `name` = "md"|"json", `text` = path
    Stats,         // /stats on|off: `on`
    Copy,          // /copy [N]: `text` = "" (the last reply) or N (its Nth fenced code block, from 1)
    Exit,          // /bye, /exit
    Invalid,       // `error` is a one-line explanation
  };
  Kind kind = Kind::Message;
  std::string name;
  std::string text;
  bool on = false;
  std::string error;
};

// The sampling parameters /set parameter accepts.
const std::vector<std::string>& settable_parameters();

// Parses one submitted line (or multi-line message). Lines that do not start with '/' are
// messages. Surrounding whitespace of a command is ignored; /set system keeps its text as typed
// (after the first space), and may span several lines.
ChatCommand parse_chat_command(std::string_view line);

// Help text for /help and /? (topic "" for the overview, or "set", "show", "shortcuts").
std::string chat_help_text(std::string_view topic);

}  // namespace dschat
