#include "app/chat/conversation_reader.h"

#include <cmath>
#include <limits>
#include <type_traits>

namespace dschat {

namespace {

using nlohmann::json;

[[noreturn]] void fail(const std::string& origin, const std::string& what) {
  throw ConversationError(origin + ": " + what);
}

json& field(json& object, const char* key, json::value_t type, const std::string& origin, const std::string& where) {
  auto it = object.find(key);
  if (it == object.end()) fail(origin, where + " has no \"" + key + "\"");
  bool ok = it->type() == type ||
            (type == json::value_t::number_float && it->is_number()) ||
            (type == json::value_t::number_integer && it->is_number_integer());
  if (!ok) {
    const char* expected = type == json::value_t::string          ? "a string"
                           : type == json::value_t::array         ? "an array"
                           : type == json::value_t::number_integer ? "an integer"
                                                                   : "a number";
    const std::string name = it->is_number() ? "number" : it->type_name();  // null, boolean, object, ...
    const std::string found = (name == "array" || name == "object" ? "an " : "a ") + name;
    fail(origin, "\"" + std::string(key) + "\" of " + where + " is " + found +
                     ", not " + expected);
  }
  return *it;
}

const json& field(const json& object, const char* key, json::value_t type, const std::string& origin,
                  const std::string& where) {
  return field(const_cast<json&>(object), key, type, origin, where);  // only read
}

std::string optional_string(const json& object, const char* key) {
  auto it = object.find(key);
  return it != object.end() && it->is_string() ? it->get<std::string>() : std::string();
}

// As optional_string, moving the string out of `object`.
std::string take_string(json& object, const char* key) {
  auto it = object.find(key);
  return it != object.end() && it->is_string() ? std::move(it->get_ref<std::string&>()) : std::string();
}

// Reads object[key] into `target` when it is a number `target` can hold exactly in range
// (integers for integer fields, finite values for floating ones); otherwise leaves the default,
// so a hand-edited file never causes an overflow and what we read, we write back the same.
template <typename T>
void read_number(const json& object, const char* key, T& target) {
  auto it = object.find(key);
  if (it == object.end() || !it->is_number()) return;
  if constexpr (std::is_floating_point_v<T>) {
    double v = it->get<double>();
    if (std::isfinite(v) && std::fabs(v) <= static_cast<double>(std::numeric_limits<T>::max())) target = static_cast<T>(v);
  } else if constexpr (std::is_unsigned_v<T>) {
    if (it->is_number_unsigned()) target = static_cast<T>(it->get<uint64_t>());
  } else {
    if (!it->is_number_integer()) return;
    int64_t v = it->get<int64_t>();
    if (v >= std::numeric_limits<T>::min() && v <= std::numeric_limits<T>::max()) target = static_cast<T>(v);
  }
}

GenerationStats stats_from_json(const json& j) {
  GenerationStats s;
  auto number = [&](const char* key, auto& target) { read_number(j, key, target); };
  number("tokens", s.generated_tokens);
  number("tokens_per_second", s.decode_tokens_per_second);
  number("prompt_tokens", s.prompt_tokens);
  number("reused_tokens", s.reused_tokens);
  number("prefill_tokens_per_second", s.prefill_tokens_per_second);
  number("time_to_first_token", s.time_to_first_token);
  number("decode_seconds", s.decode_seconds);
  number("prefill_seconds", s.prefill_seconds);
  number("drafted_tokens", s.drafted_tokens);
  number("accepted_tokens", s.accepted_tokens);
  number("verify_steps", s.verify_steps);
  s.stop = stop_reason_from_name(optional_string(j, "stop"));
  return s;
}

}  // namespace

void read_conversation_header(const json& j, const std::string& origin, Conversation& c) {
  if (!j.is_object()) fail(origin, "not a JSON object");
  if (optional_string(j, "format") != "dschat-conversation") fail(origin, "\"format\" is not \"dschat-conversation\"");
  const json& version = field(j, "version", json::value_t::number_integer, origin, "the file");
  if (version.get<long long>() != 1) fail(origin, "unsupported version " + version.dump() + " (this dschat reads 1)");
  c.id = optional_string(j, "id");
  c.created = optional_string(j, "created");
  c.updated = optional_string(j, "updated");
  c.system = optional_string(j, "system");
  c.title = optional_string(j, "title");
  if (auto it = j.find("model"); it != j.end() && it->is_object()) {
    c.model.path = optional_string(*it, "path");
    c.model.name = optional_string(*it, "name");
  }
  if (auto it = j.find("sampling"); it != j.end() && it->is_object()) {
    const json& s = *it;
    auto number = [&](const char* key, auto& target) { read_number(s, key, target); };
    number("temperature", c.sampling.temperature);
    number("top_p", c.sampling.top_p);
    number("top_k", c.sampling.top_k);
    number("min_p", c.sampling.min_p);
    number("repeat_penalty", c.sampling.repeat_penalty);
    number("repeat_last_n", c.sampling.repeat_window);
    number("seed", c.sampling.seed);
    // The ranges /set applies: a hand-edited min_p of 1e30 would make every reply one token.
    if (const std::string problem = sampling_params_problem(c.sampling); !problem.empty()) {
      fail(origin, "\"sampling\": " + problem);
    }
  }
  field(j, "messages", json::value_t::array, origin, "the file");
}

void ConversationMessageReader::add(json jm) {
  const std::string where = "message " + std::to_string(index_++);
  if (!jm.is_object()) fail(origin_, where + " is not an object");
  std::string role = std::move(field(jm, "role", json::value_t::string, origin_, where).get_ref<std::string&>());
  std::string content =
      std::move(field(jm, "content", json::value_t::string, origin_, where).get_ref<std::string&>());
  if (role == "system") {  // OpenAI style: a system message in the list
    if (system_from_messages_.empty()) system_from_messages_ = std::move(content);
    return;
  }
  Message m;
  if (role == "user") m.role = Role::User;
  else if (role == "assistant") m.role = Role::Assistant;
  else fail(origin_, where + " has unknown role \"" + role + "\"");
  Role expected = messages_.size() % 2 == 0 ? Role::User : Role::Assistant;
  if (m.role != expected) fail(origin_, where + " breaks the user/assistant alternation");
  m.content = std::move(content);
  m.time = take_string(jm, "time");
  if (auto it = jm.find("stats"); it != jm.end() && it->is_object()) m.stats = stats_from_json(*it);
  if (auto it = jm.find("interrupted"); it != jm.end() && it->is_boolean()) m.interrupted = it->get<bool>();
  if (m.role == Role::Assistant) {  // files written before reasoning was kept apart have neither
    m.reasoning = take_string(jm, "reasoning");
    read_number(jm, "reasoning_tokens", m.reasoning_tokens);
    if (m.reasoning_tokens < 0) m.reasoning_tokens = 0;
    m.model = take_string(jm, "model");
  }
  messages_.push_back(std::move(m));
}

void ConversationMessageReader::finish(Conversation& c) {
  if (c.system.empty()) c.system = std::move(system_from_messages_);
  c.messages = std::move(messages_);
}

}  // namespace dschat
