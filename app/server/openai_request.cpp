#include "app/server/openai_request.h"

#include <cmath>
#include <set>

#include "common/json_limits.h"

namespace dschat {

namespace {

using nlohmann::json;

// A request nests a handful of levels (body > messages > message > content part).
constexpr int kMaxRequestDepth = 16;

struct Invalid {
  RequestError error;
};

[[noreturn]] void fail(std::string param, std::string message) {
  throw Invalid{{std::move(message), std::move(param)}};
}

const char* type_name(const json& v) {
  if (v.is_null()) return "null";
  if (v.is_boolean()) return "a boolean";
  if (v.is_number()) return "a number";
  if (v.is_string()) return "a string";
  if (v.is_array()) return "an array";
  return "an object";
}

float number_in(const json& v, const std::string& param, double min, double max) {
  if (!v.is_number()) fail(param, "'" + param + "' must be a number, not " + type_name(v));
  const double x = v.get<double>();
  if (!std::isfinite(x) || x < min || x > max)
    fail(param, "'" + param + "' must be between " + json(min).dump() + " and " + json(max).dump());
  return static_cast<float>(x);
}

long long integer_in(const json& v, const std::string& param, long long min, long long max) {
  if (!v.is_number_integer())
    fail(param,
         "'" + param + "' must be an integer, not " + (v.is_number() ? std::string("a fraction") : type_name(v)));
  if (v.is_number_unsigned() && v.get<uint64_t>() > static_cast<uint64_t>(max))
    fail(param, "'" + param + "' must be between " + std::to_string(min) + " and " + std::to_string(max));
  const long long x = v.get<long long>();
  if (x < min || x > max)
    fail(param, "'" + param + "' must be between " + std::to_string(min) + " and " + std::to_string(max));
  return x;
}

bool boolean(const json& v, const std::string& param) {
  if (!v.is_boolean()) fail(param, "'" + param + "' must be a boolean, not " + type_name(v));
  return v.get<bool>();
}

// A message's content: a string or an array of {"type": "text", "text": "..."} parts (joined).
std::string content_text(const json& v, const std::string& param) {
  if (v.is_string()) return v.get<std::string>();
  if (!v.is_array()) fail(param, "'" + param + "' must be a string or an array of text parts, not " + type_name(v));
  std::string text;
  for (std::size_t i = 0; i < v.size(); ++i) {
    const std::string p = param + "[" + std::to_string(i) + "]";
    const json& part = v[i];
    if (!part.is_object()) fail(p, "'" + p + "' must be an object, not " + type_name(part));
    for (const auto& [key, value] : part.items())
      if (key != "type" && key != "text") fail(p + "." + key, "unknown field '" + p + "." + key + "'");
    auto type = part.find("type");
    if (type == part.end() || !type->is_string()) fail(p + ".type", "'" + p + ".type' must be a string");
    if (*type != "text")
      fail(p + ".type", "'" + p + ".type' " + json_summary(*type) + " is not supported (only \"text\")");
    auto t = part.find("text");
    if (t == part.end() || !t->is_string()) fail(p + ".text", "'" + p + ".text' must be a string");
    text += t->get<std::string>();
  }
  return text;
}

void parse_messages(const json& v, const RequestLimits& limits, OpenAIRequest& out) {
  if (!v.is_array()) fail("messages", std::string("'messages' must be an array, not ") + type_name(v));
  if (v.empty()) fail("messages", "'messages' must hold at least one message");
  if (v.size() > limits.max_messages)
    fail("messages", "'messages' holds " + std::to_string(v.size()) + " messages; at most " +
                         std::to_string(limits.max_messages) + " are accepted");
  for (std::size_t i = 0; i < v.size(); ++i) {
    const std::string p = "messages[" + std::to_string(i) + "]";
    const json& m = v[i];
    if (!m.is_object()) fail(p, "'" + p + "' must be an object, not " + type_name(m));
    for (const auto& [key, value] : m.items())
      if (key != "role" && key != "content" && key != "name")
        fail(p + "." + key, "unknown field '" + p + "." + key + "'");
    auto role = m.find("role");
    if (role == m.end()) fail(p + ".role", "'" + p + ".role' is missing");
    if (!role->is_string()) fail(p + ".role", "'" + p + ".role' must be a string, not " + type_name(*role));
    auto content = m.find("content");
    if (content == m.end()) fail(p + ".content", "'" + p + ".content' is missing");
    std::string text = content_text(*content, p + ".content");
    if (auto name = m.find("name"); name != m.end() && !name->is_string())
      fail(p + ".name", "'" + p + ".name' must be a string");
    const std::string r = role->get<std::string>();
    if (r == "system" || r == "developer") {
      if (!out.messages.empty())
        fail(p + ".role",
             "'" + p + "' is a system message after the conversation started (system messages come first)");
      out.system += (out.system.empty() ? "" : "\n\n") + text;
    } else if (r == "user" || r == "assistant") {
      Message message;
      message.role = r == "user" ? Role::User : Role::Assistant;
      message.content = std::move(text);
      out.messages.push_back(std::move(message));
    } else {
      fail(p + ".role",
           "'" + p + ".role' " + json_summary(*role) + " is not a supported role (system, developer, user, assistant)");
    }
  }
  if (out.messages.empty()) fail("messages", "'messages' holds no user message");
  if (out.messages.back().role != Role::User) fail("messages", "the last message must be the user's");
}

void parse_stop(const json& v, const RequestLimits& limits, OpenAIRequest& out) {
  if (v.is_null()) return;
  std::vector<json> items;
  if (v.is_string())
    items.push_back(v);
  else if (v.is_array())
    items.assign(v.begin(), v.end());
  else
    fail("stop", std::string("'stop' must be a string or an array of strings, not ") + type_name(v));
  if (items.size() > limits.max_stop_strings)
    fail("stop", "'stop' holds at most " + std::to_string(limits.max_stop_strings) + " strings");
  for (const json& s : items) {
    if (!s.is_string()) fail("stop", std::string("'stop' must hold strings, not ") + type_name(s));
    const std::string& text = s.get_ref<const std::string&>();
    if (text.empty()) fail("stop", "'stop' strings must not be empty");
    if (text.size() > limits.max_stop_bytes)
      fail("stop", "'stop' strings are at most " + std::to_string(limits.max_stop_bytes) + " bytes");
    out.stop.push_back(text);
  }
}

// Fields that change nothing at their neutral value; any other value is refused.
void neutral(const json& v, const std::string& param, const json& neutral_value) {
  if (v.is_null() || v == neutral_value) return;
  fail(param, "'" + param + "' is not supported (only " + neutral_value.dump() + ")");
}

OpenAIRequest parse(std::string_view body, RequestKind kind, const RequestLimits& limits) {
  json doc;
  try {
    doc = parse_json_bounded(body.begin(), body.end(), kMaxRequestDepth);
  } catch (const JsonTooDeep&) {
    fail("", "the request body is nested deeper than " + std::to_string(kMaxRequestDepth) + " levels");
  } catch (const json::exception& e) {
    fail("", std::string("the request body is not valid JSON: ") + e.what());
  }
  if (!doc.is_object()) fail("", std::string("the request body must be a JSON object, not ") + type_name(doc));
  OpenAIRequest out;
  out.kind = kind;
  bool have_body = false;
  for (const auto& [key, v] : doc.items()) {
    if (key == "model") {
      if (!v.is_string()) fail(key, std::string("'model' must be a string, not ") + type_name(v));
      out.model = v.get<std::string>();
    } else if (key == "messages" && kind == RequestKind::Chat) {
      parse_messages(v, limits, out);
      have_body = true;
    } else if (key == "prompt" && kind == RequestKind::Completion) {
      if (!v.is_string()) fail(key, std::string("'prompt' must be a string, not ") + type_name(v));
      out.prompt = v.get<std::string>();
      if (out.prompt.empty()) fail(key, "'prompt' must not be empty");
      have_body = true;
    } else if (key == "temperature") {
      if (!v.is_null()) out.temperature = number_in(v, key, 0, 2);
    } else if (key == "top_p") {
      if (!v.is_null()) out.top_p = number_in(v, key, 0, 1);
    } else if (key == "min_p") {
      if (!v.is_null()) out.min_p = number_in(v, key, 0, 1);
    } else if (key == "repeat_penalty") {
      if (!v.is_null()) out.repeat_penalty = number_in(v, key, 0.01, 100);
    } else if (key == "top_k") {
      if (!v.is_null()) out.top_k = static_cast<int>(integer_in(v, key, 0, 1'000'000));
    } else if (key == "seed") {
      // OpenAI seeds are signed 64-bit; ours are unsigned (0 = random): negatives wrap.
      if (!v.is_null()) {
        if (!v.is_number_integer()) fail(key, std::string("'seed' must be an integer, not ") + type_name(v));
        out.seed = v.is_number_unsigned() ? v.get<uint64_t>() : static_cast<uint64_t>(v.get<int64_t>());
      }
    } else if (key == "max_tokens" || key == "max_completion_tokens") {
      if (!v.is_null()) out.max_tokens = static_cast<int>(integer_in(v, key, 1, limits.max_tokens));
    } else if (key == "stop") {
      parse_stop(v, limits, out);
    } else if (key == "stream") {
      if (!v.is_null()) out.stream = boolean(v, key);
    } else if (key == "stream_options") {
      if (v.is_null()) continue;
      if (!v.is_object()) fail(key, std::string("'stream_options' must be an object, not ") + type_name(v));
      for (const auto& [k, x] : v.items()) {
        if (k != "include_usage") fail(key + "." + k, "unknown field 'stream_options." + k + "'");
        out.include_usage = boolean(x, "stream_options.include_usage");
      }
    } else if (key == "user") {
      if (!v.is_string()) fail(key, std::string("'user' must be a string, not ") + type_name(v));
    } else if (key == "n") {
      neutral(v, key, 1);
    } else if (key == "presence_penalty" || key == "frequency_penalty") {
      neutral(v, key, 0);
    } else if (key == "logprobs" || key == "echo") {
      neutral(v, key, false);
    } else {
      fail(key, "unknown field '" + key + "'");
    }
  }
  if (!have_body) {
    if (kind == RequestKind::Chat) fail("messages", "'messages' is missing");
    fail("prompt", "'prompt' is missing");
  }
  if (out.include_usage && !out.stream)
    fail("stream_options", "'stream_options' is only allowed with \"stream\": true");
  return out;
}

}  // namespace

ParsedRequest parse_openai_request(std::string_view body, RequestKind kind, const RequestLimits& limits) {
  ParsedRequest result;
  try {
    result.request = parse(body, kind, limits);
  } catch (const Invalid& e) {
    result.error = e.error;
  }
  return result;
}

}  // namespace dschat
