#include "app/chat/chat_commands.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <stdexcept>

#include "app/backend/stop_strings.h"

namespace dschat {
namespace {

using Kind = ChatCommand::Kind;

bool is_blank(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_blank(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_blank(s.back())) s.remove_suffix(1);
  return s;
}

// Splits off the first blank-separated word of `rest` (which is advanced past it and blanks).
std::string_view next_word(std::string_view& rest) {
  rest = trim(rest);
  size_t end = 0;
  while (end < rest.size() && !is_blank(rest[end])) ++end;
  std::string_view word = rest.substr(0, end);
  rest = trim(rest.substr(end));
  return word;
}

ChatCommand invalid(std::string message) {
  ChatCommand c;
  c.kind = Kind::Invalid;
  // The explanation is one line even when it quotes typed text with newlines or control bytes.
  for (char& ch : message) {
    if (static_cast<unsigned char>(ch) < 0x20 || ch == 0x7f) ch = ' ';
  }
  c.error = std::move(message);
  return c;
}

ChatCommand make(Kind kind, std::string name = {}, std::string text = {}) {
  ChatCommand c;
  c.kind = kind;
  c.name = std::move(name);
  c.text = std::move(text);
  return c;
}

bool parse_number(const std::string& s, double& out) {
  if (s.empty()) return false;
  errno = 0;
  char* end = nullptr;
  out = std::strtod(s.c_str(), &end);
  return errno == 0 && end == s.c_str() + s.size() && std::isfinite(out);
}

bool parse_integer(const std::string& s, long long& out) {
  if (s.empty()) return false;
  errno = 0;
  char* end = nullptr;
  out = std::strtoll(s.c_str(), &end, 10);
  return errno == 0 && end == s.c_str() + s.size();
}

// "" when `value` is acceptable for parameter `name`, else why not.
std::string check_parameter(const std::string& name, const std::string& value) {
  double x = 0;
  long long n = 0;
  if (name == "temperature") {
    if (!parse_number(value, x) || x < 0) return "temperature must be a number >= 0 (0 = greedy), not '" + value + "'";
  } else if (name == "top_p") {
    if (!parse_number(value, x) || x <= 0 || x > 1) return "top_p must be a number in (0, 1], not '" + value + "'";
  } else if (name == "min_p") {
    if (!parse_number(value, x) || x < 0 || x > 1) return "min_p must be a number in [0, 1], not '" + value + "'";
  } else if (name == "repeat_penalty") {
    if (!parse_number(value, x) || x <= 0) return "repeat_penalty must be a number > 0 (1 = off), not '" + value + "'";
  } else if (name == "top_k") {
    if (!parse_integer(value, n) || n < 0) return "top_k must be an integer >= 0 (0 = off), not '" + value + "'";
  } else if (name == "repeat_last_n") {
    if (!parse_integer(value, n) || n < 0) return "repeat_last_n must be an integer >= 0, not '" + value + "'";
  } else if (name == "seed") {
    if (!parse_integer(value, n) || n < 0) return "seed must be an integer >= 0 (0 = random), not '" + value + "'";
  } else if (name == "num_predict") {
    if (!parse_integer(value, n) || n < -1) return "num_predict must be an integer >= -1 (-1 = no limit), not '" + value + "'";
  } else if (name == "num_ctx") {  // the upper bound is the model's: the session checks it
    if (!parse_integer(value, n) || n < 16) return "num_ctx must be a number of tokens, at least 16, not '" + value + "'";
  }
  return "";
}

std::string joined_parameters() {
  std::string s;
  for (const std::string& p : settable_parameters()) s += (s.empty() ? "" : ", ") + p;
  return s;
}

ChatCommand parse_set(std::string_view rest) {
  std::string_view what = next_word(rest);
  if (what == "parameter") {
    std::string name(next_word(rest));
    if (name == "stop") {  // several strings: the rest of the line
      try {
        parse_stop_list(rest);
      } catch (const std::invalid_argument& e) {
        return invalid(e.what());
      }
      return make(Kind::SetParameter, name, std::string(trim(rest)));
    }
    std::string value(next_word(rest));
    if (name.empty() || value.empty()) return invalid("usage: /set parameter NAME VALUE (NAME: " + joined_parameters() + ")");
    if (!rest.empty()) return invalid("/set parameter takes one value, got extra '" + std::string(rest) + "'");
    const auto& known = settable_parameters();
    if (std::find(known.begin(), known.end(), name) == known.end()) {
      return invalid("unknown parameter '" + name + "' (known: " + joined_parameters() + ")");
    }
    if (std::string why = check_parameter(name, value); !why.empty()) return invalid(why);
    return make(Kind::SetParameter, name, value);
  }
  if (what == "system") {
    std::string text(rest);
    // Allow the ollama form /set system """ ... """.
    if (text.size() >= 6 && text.starts_with("\"\"\"") && text.ends_with("\"\"\"")) {
      text = std::string(trim(std::string_view(text).substr(3, text.size() - 6)));
    }
    return make(Kind::SetSystem, "", text);
  }
  if (what == "think") {
    std::string mode(next_word(rest));
    if ((mode != "show" && mode != "fold" && mode != "hide") || !rest.empty()) return invalid("usage: /set think show|fold|hide");
    return make(Kind::SetThink, mode);
  }
  if (what == "markdown") {
    std::string value(next_word(rest));
    if ((value != "on" && value != "off") || !rest.empty()) return invalid("usage: /set markdown on|off");
    ChatCommand c = make(Kind::SetMarkdown);
    c.on = value == "on";
    return c;
  }
  if (what.empty()) return invalid("usage: /set parameter NAME VALUE | /set system TEXT | /set think MODE | /set markdown on|off");
  return invalid("unknown setting '" + std::string(what) + "' (use /set parameter, system, think or markdown)");
}

}  // namespace

const std::vector<std::string>& settable_parameters() {
  static const std::vector<std::string> names = {"temperature", "top_k",         "top_p", "min_p",
                                                 "repeat_penalty", "repeat_last_n", "seed",  "num_predict",
                                                 "num_ctx",
                                                 "stop"};
  return names;
}

ChatCommand parse_chat_command(std::string_view line) {
  std::string_view trimmed = trim(line);
  if (!trimmed.starts_with("/")) return make(Kind::Message, "", std::string(line));
  if (trimmed.starts_with("//")) return make(Kind::Message, "", std::string(trimmed.substr(1)));
  std::string_view rest = trimmed.substr(1);
  std::string_view word = next_word(rest);
  std::string command(word);
  auto no_arguments = [&](Kind kind) {
    if (!rest.empty()) return invalid("/" + command + " takes no arguments");
    return make(kind);
  };
  if (command == "help" || command == "?") {
    std::string topic(next_word(rest));
    if (!topic.empty() && topic != "set" && topic != "show" && topic != "shortcuts") {
      return invalid("no help on '" + topic + "' (try /? set, /? show or /? shortcuts)");
    }
    return make(Kind::Help, "", topic);
  }
  if (command == "set") return parse_set(line.substr(line.find("set") + 3));
  if (command == "show") {
    std::string topic(next_word(rest));
    if (topic == "info" || topic == "parameters" || topic == "system" || topic == "template") {
      if (!rest.empty()) return invalid("/show " + topic + " takes no further arguments");
      return make(Kind::Show, topic);
    }
    if (topic.empty()) return invalid("usage: /show info|parameters|system|template");
    return invalid("cannot show '" + topic + "' (use info, parameters, system or template)");
  }
  if (command == "clear") return no_arguments(Kind::Clear);
  if (command == "regen" || command == "regenerate") return no_arguments(Kind::Regenerate);
  if (command == "undo") return no_arguments(Kind::Undo);
  if (command == "bye" || command == "exit" || command == "quit") return no_arguments(Kind::Exit);
  if (command == "save") return make(Kind::Save, "", std::string(rest));
  if (command == "load") {
    if (rest.empty()) return invalid("usage: /load PATH|N|TITLE (a file, the Nth of /list, or the start of a title)");
    return make(Kind::Load, "", std::string(rest));
  }
  if (command == "list") return no_arguments(Kind::List);
  if (command == "export") {
    std::string format(next_word(rest));
    if (format != "md" && format != "json") return invalid("usage: /export md|json PATH");
    if (rest.empty()) return invalid("usage: /export " + format + " PATH");
    return make(Kind::Export, format, std::string(rest));
  }
  if (command == "stats") {
    std::string value(next_word(rest));
    if ((value != "on" && value != "off") || !rest.empty()) return invalid("usage: /stats on|off");
    ChatCommand c = make(Kind::Stats);
    c.on = value == "on";
    return c;
  }
  if (command == "copy") {
    std::string n(next_word(rest));
    if (!rest.empty() || (!n.empty() && (n.find_first_not_of("0123456789") != std::string::npos || n.size() > 6 ||
                                         std::stoi(n) == 0))) {
      return invalid("usage: /copy [N] (the last reply, or its Nth code block, numbered [N] on screen)");
    }
    return make(Kind::Copy, "", n);
  }
  if (command.empty()) return invalid("empty command; type /? for help");
  return invalid("unknown command '/" + command + "'; type /? for help (start with // to send a line beginning with /)");
}

std::string chat_help_text(std::string_view topic) {
  if (topic == "set") {
    return "/set parameter NAME VALUE   change a sampling parameter for this conversation:\n"
           "    temperature T     0 = greedy (reproducible); higher = more varied\n"
           "    top_k K           keep the K most likely tokens (0 = off)\n"
           "    top_p P           keep the smallest set with probability >= P (1 = off)\n"
           "    min_p P           drop tokens below P x the most likely (0 = off)\n"
           "    repeat_penalty R  penalise recent tokens (1 = off)\n"
           "    repeat_last_n N   how many recent tokens the penalty looks at\n"
           "    seed S            random seed (0 = a new one each time)\n"
           "    num_predict N     at most N tokens a reply (-1 = no limit)\n"
           "    num_ctx N         the context's size in tokens (a new, empty cache; at most the model's)\n"
           "    stop S1 [S2..]    end a reply where one of these (up to 4) appears; \\n \\t \\s \\\\ escapes; off\n"
           "/set system TEXT            set the system prompt (\"\"\"...\"\"\" for several lines)\n"
           "/set think show|fold|hide   a reply's reasoning (<think>): in full, one line (default), not at all\n"
           "/set markdown on|off        render replies' Markdown (default on)";
  }
  if (topic == "show") {
    return "/show info        the model: name, size, dimensions\n"
           "/show parameters  the sampling parameters in use\n"
           "/show system      the system prompt\n"
           "/show template    the chat template";
  }
  if (topic == "shortcuts") {
    return "Enter            send              Alt+Enter      new line\n"
           "\"\"\" ... \"\"\"      a multi-line message (paste keeps newlines too)\n"
           "Ctrl+C / Esc     stop the reply (the partial reply is kept; queued messages are not sent)\n"
           "Enter (replying) queue the message: sent when the reply ends; Up or Esc takes it back\n"
           "Ctrl+C           clear the line    Ctrl+D (empty line)  quit\n"
           "Up/Down          history           Ctrl+R         search the history\n"
           "PgUp/PgDn        scroll            Home/End (empty line) top/bottom\n"
           "mouse wheel      scroll            Shift+drag     select text (mouse reporting is on)\n"
           "Ctrl+L           redraw            Ctrl+A/E/K/U/W  readline editing";
  }
  return "/set parameter NAME VALUE  change sampling (/? set)\n"
         "/set system TEXT           set the system prompt\n"
         "/show info|parameters|system|template\n"
         "/clear                     start a new conversation\n"
         "/regen                     regenerate the last reply\n"
         "/undo                      remove the last exchange\n"
         "/save [PATH]               save the conversation (it is also saved after every turn)\n"
         "/list                      the saved conversations, newest first\n"
         "/load PATH|N|TITLE         open a saved conversation (a file, the Nth of /list, a title)\n"
         "/export md|json PATH       write the conversation as Markdown or JSON\n"
         "/stats on|off              show statistics after each reply\n"
         "/copy [N]                  copy the last reply, or its code block [N] (OSC 52)\n"
         "/bye, /exit                quit (Ctrl+D too)\n"
         "/? shortcuts               keys";
}

}  // namespace dschat
