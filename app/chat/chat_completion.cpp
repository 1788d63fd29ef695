#include "app/chat/chat_completion.h"

#include <algorithm>
#include <filesystem>

#include "app/chat/chat_commands.h"
#include "app/chat/conversation_list.h"

namespace dschat {

namespace {

const std::vector<std::string> kCommands = {"/?",    "/bye",   "/clear", "/copy", "/exit",  "/export", "/help", "/list",
                                            "/load", "/regen", "/save",  "/set",  "/show",  "/stats",  "/undo"};

std::vector<std::string> starting_with(const std::vector<std::string>& words, std::string_view prefix) {
  std::vector<std::string> out;
  for (const std::string& w : words)
    if (w.starts_with(prefix)) out.push_back(w);
  std::sort(out.begin(), out.end());
  return out;
}

// The space-separated words of `text`.
std::vector<std::string> words_of(std::string_view text) {
  std::vector<std::string> words;
  size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && text[i] == ' ') ++i;
    const size_t start = i;
    while (i < text.size() && text[i] != ' ') ++i;
    if (i > start) words.emplace_back(text.substr(start, i - start));
  }
  return words;
}

}  // namespace

std::vector<std::string> complete_path(std::string_view word, size_t limit) {
  namespace fs = std::filesystem;
  const size_t slash = word.rfind('/');
  const std::string dir_part(slash == std::string_view::npos ? "" : word.substr(0, slash + 1));  // as typed, kept
  const std::string_view name_part = slash == std::string_view::npos ? word : word.substr(slash + 1);
  fs::path dir = dir_part.empty() ? fs::path(".") : expand_home(dir_part);
  if (dir_part.empty() && word == "~") return {"~/"};
  std::vector<std::string> out;
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end && out.size() < limit; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (!name.starts_with(name_part)) continue;
    if (name.starts_with('.') && !name_part.starts_with('.')) continue;
    std::error_code type_ec;
    const bool is_dir = fs::is_directory(it->path(), type_ec);  // a link to a directory counts
    out.push_back(dir_part + name + (is_dir ? "/" : ""));
  }
  std::sort(out.begin(), out.end());
  return out;
}

Completion complete_chat_input(std::string_view before_cursor) {
  Completion c;
  const size_t space = before_cursor.rfind(' ');
  c.word_start = space == std::string_view::npos ? 0 : space + 1;
  const std::string_view word = before_cursor.substr(c.word_start);
  const std::vector<std::string> before = words_of(before_cursor.substr(0, c.word_start));
  if (before.empty()) {
    if (word.starts_with('/') && !word.starts_with("//")) c.candidates = starting_with(kCommands, word);
    return c;
  }
  const std::string& command = before[0];
  if (!command.starts_with('/')) return c;  // a message
  const size_t n = before.size();  // words before this one
  if (command == "/set") {
    if (n == 1) c.candidates = starting_with({"markdown", "parameter", "system", "think"}, word);
    else if (n == 2 && before[1] == "parameter") c.candidates = starting_with(settable_parameters(), word);
    else if (n == 2 && before[1] == "think") c.candidates = starting_with({"fold", "hide", "show"}, word);
    else if (n == 2 && before[1] == "markdown") c.candidates = starting_with({"off", "on"}, word);
  } else if (command == "/show" && n == 1) {
    c.candidates = starting_with({"info", "parameters", "system", "template"}, word);
  } else if ((command == "/?" || command == "/help") && n == 1) {
    c.candidates = starting_with({"set", "shortcuts", "show"}, word);
  } else if (command == "/stats" && n == 1) {
    c.candidates = starting_with({"off", "on"}, word);
  } else if (command == "/export") {
    if (n == 1) c.candidates = starting_with({"json", "md"}, word);
    else if (n == 2) c.candidates = complete_path(word);
  } else if ((command == "/save" || command == "/load") && n == 1) {
    c.candidates = complete_path(word);
  }
  return c;
}

}  // namespace dschat
