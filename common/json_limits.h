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

// The message of JsonTooDeep.
inline std::string json_too_deep_message(int max_depth) {
  return "JSON nested deeper than " + std::to_string(max_depth) + " levels";
}

// Counts nesting in a SAX pass that builds nothing, so the depth is known before any value is.
// (nlohmann's parser callback would do it in one pass, but its end_object walks the parent's
// elements to drop discarded ones: quadratic in an array of objects, 10k conversation messages
// took 27 s under ASan.)
class JsonDepthBound : public nlohmann::json_sax<nlohmann::json> {
 public:
  explicit JsonDepthBound(int max_depth) : max_depth_(max_depth) {}
  bool null() override { return true; }
  bool boolean(bool) override { return true; }
  bool number_integer(number_integer_t) override { return true; }
  bool number_unsigned(number_unsigned_t) override { return true; }
  bool number_float(number_float_t, const string_t&) override { return true; }
  bool string(string_t&) override { return true; }
  bool binary(binary_t&) override { return true; }
  bool start_object(std::size_t) override { return enter(); }
  bool key(string_t&) override { return true; }
  bool end_object() override { return leave(); }
  bool start_array(std::size_t) override { return enter(); }
  bool end_array() override { return leave(); }
  // Syntax errors are left to the parse that follows, which reports them as nlohmann does.
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception&) override { return false; }

 private:
  bool enter() {
    if (++depth_ > max_depth_) throw JsonTooDeep(json_too_deep_message(max_depth_));
    return true;
  }
  bool leave() {
    --depth_;
    return true;
  }
  int max_depth_;
  int depth_ = 0;
};

// nlohmann::json::parse(first, last) with nesting bounded at `max_depth` levels of arrays and
// objects. Throws JsonTooDeep, or nlohmann::json::exception for text that is not JSON.
template <typename Iterator>
nlohmann::json parse_json_bounded(Iterator first, Iterator last, int max_depth = kMaxJsonDepth) {
  JsonDepthBound bound(max_depth);
  nlohmann::json::sax_parse(first, last, &bound);
  return nlohmann::json::parse(first, last);
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
