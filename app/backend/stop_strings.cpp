#include "app/backend/stop_strings.h"

#include <stdexcept>

namespace dschat {

std::string parse_stop_string(std::string_view typed) {
  std::string out;
  for (size_t i = 0; i < typed.size(); ++i) {
    if (typed[i] != '\\') {
      out.push_back(typed[i]);
      continue;
    }
    if (i + 1 == typed.size()) throw std::invalid_argument("stop string '" + std::string(typed) + "' ends in a lone \\");
    switch (typed[++i]) {
      case 'n': out.push_back('\n'); break;
      case 't': out.push_back('\t'); break;
      case 's': out.push_back(' '); break;
      case '\\': out.push_back('\\'); break;
      default:
        throw std::invalid_argument("stop string '" + std::string(typed) + "': unknown escape \\" +
                                    std::string(1, typed[i]) + " (known: \\n \\t \\s \\\\)");
    }
  }
  if (out.empty()) throw std::invalid_argument("a stop string must not be empty");
  if (out.size() > kMaxStopStringBytes)
    throw std::invalid_argument("a stop string is at most " + std::to_string(kMaxStopStringBytes) + " bytes, not " +
                                std::to_string(out.size()));
  return out;
}

std::vector<std::string> parse_stop_list(std::string_view words) {
  std::vector<std::string> stop;
  size_t i = 0;
  std::vector<std::string_view> typed;
  while (i < words.size()) {
    while (i < words.size() && words[i] == ' ') ++i;
    const size_t start = i;
    while (i < words.size() && words[i] != ' ') ++i;
    if (i > start) typed.push_back(words.substr(start, i - start));
  }
  if (typed.size() == 1 && typed[0] == "off") return stop;
  if (typed.empty()) throw std::invalid_argument("stop needs one or more strings, or off");
  if (typed.size() > kMaxStopStrings)
    throw std::invalid_argument("at most " + std::to_string(kMaxStopStrings) + " stop strings, not " +
                                std::to_string(typed.size()));
  for (std::string_view t : typed) stop.push_back(parse_stop_string(t));
  return stop;
}

std::string stop_list_text(const std::vector<std::string>& stop) {
  if (stop.empty()) return "off";
  std::string text;
  for (const std::string& s : stop) {
    if (!text.empty()) text.push_back(' ');
    for (char c : s) {
      switch (c) {
        case '\n': text += "\\n"; break;
        case '\t': text += "\\t"; break;
        case ' ': text += "\\s"; break;
        case '\\': text += "\\\\"; break;
        default: text.push_back(c);
      }
    }
  }
  return text;
}

}  // namespace dschat
