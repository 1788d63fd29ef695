// Reading untrusted JSON (model files, conversation files, stdin) without recursion the input can
// drive. nlohmann's parser and destructor keep their own stacks, but dump(), comparison and copy
// recurse once per level: a value nested 100k deep overflows the stack in an error message. So
//   - parse_json_bounded() refuses nesting deeper than a limit while parsing (the parser callback
//     sees each value's depth before the next level is built), and
//   - json_summary() describes a value for a message without walking into it.
// In common/, the layer below the engine, the tokenizer and the app, which all read JSON.
#pragma once

#include <cstddef>
#include <stdexcept>
#include <string>

#include <nlohmann/json.hpp>

namespace dschat {

// Deeper than any real config, header, tokenizer or conversation (they nest fewer than 10 levels).
inline constexpr int kMaxJsonDepth = 256;

// Thrown by parse_json_bounded for input nested deeper than the limit.
struct JsonTooDeep : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// nlohmann::json::parse(first, last) with nesting bounded at `max_depth` levels of arrays and
// objects. Throws JsonTooDeep, or nlohmann::json::exception for text that is not JSON.
template <typename Iterator>
nlohmann::json parse_json_bounded(Iterator first, Iterator last, int max_depth = kMaxJsonDepth) {
  auto bound = [max_depth](int depth, nlohmann::json::parse_event_t event, nlohmann::json&) {
    if (depth > max_depth && (event == nlohmann::json::parse_event_t::object_start ||
                              event == nlohmann::json::parse_event_t::array_start)) {
      throw JsonTooDeep("JSON nested deeper than " + std::to_string(max_depth) + " levels");
    }
    return true;
  };
  return nlohmann::json::parse(first, last, bound);
}

inline nlohmann::json parse_json_bounded(const std::string& text, int max_depth = kMaxJsonDepth) {
  return parse_json_bounded(text.begin(), text.end(), max_depth);
}

// A value as a message shows it: scalars as JSON (long strings cut), arrays and objects by kind
// and size, never by their contents.
inline std::string json_summary(const nlohmann::json& v) {
  if (v.is_array()) return "an array of " + std::to_string(v.size()) + " elements";
  if (v.is_object()) return "an object of " + std::to_string(v.size()) + " keys";
  std::string text = v.dump(-1, ' ', /*ensure_ascii=*/true);
  constexpr std::size_t kMax = 60;
  if (text.size() > kMax) text = text.substr(0, kMax) + "...";
  return text;
}

}  // namespace dschat
