#include "app/backend/reasoning.h"

namespace dschat {

namespace {

constexpr std::string_view kOpen = "<think>";
constexpr std::string_view kClose = "</think>";

bool is_blank(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

std::string_view trim_blank(std::string_view s) {
  while (!s.empty() && is_blank(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_blank(s.back())) s.remove_suffix(1);
  return s;
}

// Length of the longest suffix of `s` that is a proper prefix of `tag`.
size_t partial_tag_suffix(std::string_view s, std::string_view tag) {
  for (size_t n = std::min(s.size(), tag.size() - 1); n > 0; --n) {
    if (s.substr(s.size() - n) == tag.substr(0, n)) return n;
  }
  return 0;
}

}  // namespace

ReasoningSplit split_reasoning(std::string_view reply, bool streaming) {
  ReasoningSplit split;
  std::string_view rest = reply;
  while (!rest.empty() && is_blank(rest.front())) rest.remove_prefix(1);
  if (!rest.starts_with(kOpen)) {
    // "<thi" while streaming may still become the tag: show nothing yet.
    if (streaming && !rest.empty() && kOpen.starts_with(rest)) return split;
    split.answer = std::string(reply);
    return split;
  }
  split.has_reasoning = true;
  rest.remove_prefix(kOpen.size());
  size_t close = rest.find(kClose);
  if (close == std::string_view::npos) {
    if (streaming) rest.remove_suffix(partial_tag_suffix(rest, kClose));
    split.reasoning = std::string(trim_blank(rest));
    return split;
  }
  split.closed = true;
  split.reasoning = std::string(trim_blank(rest.substr(0, close)));
  std::string_view answer = rest.substr(close + kClose.size());
  while (!answer.empty() && is_blank(answer.front())) answer.remove_prefix(1);
  split.answer = std::string(answer);
  return split;
}

std::string first_words(std::string_view text, int max_words) {
  std::string out;
  int words = 0;
  size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && is_blank(text[i])) ++i;
    if (i >= text.size()) break;
    size_t start = i;
    while (i < text.size() && !is_blank(text[i])) ++i;
    if (words == max_words) {
      out += "\xE2\x80\xA6";  // …
      break;
    }
    if (!out.empty()) out += ' ';
    out.append(text.substr(start, i - start));
    ++words;
  }
  return out;
}

}  // namespace dschat
