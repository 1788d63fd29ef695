#include "app/chat/conversation_list.h"

#include <cstdlib>

namespace dschat {

namespace {

bool is_blank(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

// `s` cut to at most `max` bytes without splitting a UTF-8 sequence.
size_t utf8_cut(std::string_view s, size_t max) {
  if (s.size() <= max) return s.size();
  size_t n = max;
  while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) --n;
  return n;
}

char lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

bool starts_with_ignoring_case(std::string_view text, std::string_view prefix) {
  if (prefix.size() > text.size()) return false;
  for (size_t i = 0; i < prefix.size(); ++i)
    if (lower(text[i]) != lower(prefix[i])) return false;
  return true;
}

std::string title_of(const ConversationFileInfo& info) {
  if (!info.title.empty()) return info.title;
  std::string t = conversation_title(info.first_prompt);
  return t.empty() ? "(empty)" : t;
}

}  // namespace

std::string conversation_title(std::string_view message) {
  constexpr size_t kMax = 60;
  // The first line with something on it.
  std::string_view line;
  while (!message.empty()) {
    size_t nl = message.find('\n');
    line = message.substr(0, nl);
    message = nl == std::string_view::npos ? std::string_view() : message.substr(nl + 1);
    bool blank = true;
    for (char c : line) blank = blank && is_blank(c);
    if (!blank) break;
    line = {};
  }
  std::string collapsed;
  for (char c : line) {
    auto u = static_cast<unsigned char>(c);
    if (is_blank(c)) {
      if (!collapsed.empty() && collapsed.back() != ' ') collapsed += ' ';
    } else if (u >= 0x20 && u != 0x7F) {
      collapsed += c;
    }
  }
  while (!collapsed.empty() && collapsed.back() == ' ') collapsed.pop_back();
  if (collapsed.size() <= kMax) return collapsed;
  size_t cut = utf8_cut(collapsed, kMax - 3);  // room for "…"
  size_t space = collapsed.rfind(' ', cut);
  if (space != std::string::npos && space > kMax / 2) cut = space;
  collapsed.resize(cut);
  while (!collapsed.empty() && collapsed.back() == ' ') collapsed.pop_back();
  return collapsed + "\xE2\x80\xA6";
}

std::filesystem::path expand_home(std::string_view path) {
  if (path != "~" && !path.starts_with("~/")) return std::filesystem::path(path);
  const char* home = std::getenv("HOME");
  if (!home || !*home) return std::filesystem::path(path);
  if (path == "~") return std::filesystem::path(home);
  return std::filesystem::path(home) / std::string(path.substr(2));
}

std::string format_conversation_list(const std::vector<ConversationFileInfo>& conversations) {
  std::string out;
  const size_t digits = std::to_string(conversations.size()).size();
  for (size_t i = 0; i < conversations.size(); ++i) {
    const ConversationFileInfo& c = conversations[i];
    std::string number = std::to_string(i + 1);
    std::string when = c.updated.size() >= 16 ? c.updated.substr(0, 10) + " " + c.updated.substr(11, 5) : c.updated;
    out += std::string(digits - number.size() + 2, ' ') + number + "  " + when + "  " +
           (c.model_name.empty() ? "?" : c.model_name) + "  " + std::to_string(c.messages) +
           (c.messages == 1 ? " message  " : " messages  ") + title_of(c) + "\n";
  }
  if (!out.empty()) out.pop_back();
  return out;
}

std::filesystem::path resolve_conversation(const std::vector<ConversationFileInfo>& conversations,
                                           std::string_view argument) {
  std::string arg(argument);
  while (!arg.empty() && is_blank(arg.back())) arg.pop_back();
  if (arg.empty()) throw ConversationError("no conversation named: give a number from /list, a file or a title");
  if (arg.find_first_not_of("0123456789") == std::string::npos) {
    size_t n = arg.size() > 9 ? 0 : std::stoul(arg);
    if (n >= 1 && n <= conversations.size()) return conversations[n - 1].path;
    throw ConversationError("no conversation " + arg + ": there " +
                            (conversations.size() == 1 ? "is 1" : "are " + std::to_string(conversations.size())) +
                            " (/list shows them)");
  }
  std::filesystem::path file = expand_home(arg);
  std::error_code ec;
  if (std::filesystem::exists(file, ec) || arg.find('/') != std::string::npos || arg.ends_with(".json")) return file;
  std::vector<const ConversationFileInfo*> matches;
  for (const ConversationFileInfo& c : conversations)
    if (starts_with_ignoring_case(title_of(c), arg)) matches.push_back(&c);
  if (matches.size() == 1) return matches[0]->path;
  if (matches.empty())
    throw ConversationError("no conversation file or title beginning with '" + arg + "' (/list shows them)");
  throw ConversationError(std::to_string(matches.size()) + " conversations have a title beginning with '" + arg +
                          "'; give its number from /list");
}

}  // namespace dschat
