#include "app/chat/conversation.h"

#include <charconv>
#include <chrono>
#include <cmath>
#include <limits>
#include <type_traits>
#include <cstdio>
#include <ctime>
#include <random>

namespace dschat {

namespace {

using nlohmann::json;

// The double whose shortest decimal form is the float's (0.7f -> 0.7, not 0.699999988079071): what
// was typed is what the file says, and it reads back as the same float.
double as_written(float value) {
  char text[32];
  const auto end = std::to_chars(text, text + sizeof text, value).ptr;
  double out = value;
  std::from_chars(text, end, out);
  return out;
}

std::string format_utc(std::time_t t, const char* format) {
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, format, &tm);
  return buf;
}

[[noreturn]] void fail(const std::string& origin, const std::string& what) {
  throw ConversationError(origin + ": " + what);
}

const json& field(const json& object, const char* key, json::value_t type, const std::string& origin,
                  const std::string& where) {
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

std::string optional_string(const json& object, const char* key) {
  auto it = object.find(key);
  return it != object.end() && it->is_string() ? it->get<std::string>() : std::string();
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

json stats_to_json(const GenerationStats& s) {
  json j{{"tokens", s.generated_tokens},
              {"tokens_per_second", s.decode_tokens_per_second},
              {"stop", stop_reason_name(s.stop)},
              {"prompt_tokens", s.prompt_tokens},
              {"reused_tokens", s.reused_tokens},
              {"prefill_tokens_per_second", s.prefill_tokens_per_second},
              {"time_to_first_token", s.time_to_first_token},
              {"decode_seconds", s.decode_seconds},
              {"prefill_seconds", s.prefill_seconds}};
  if (s.drafted_tokens > 0) {  // MTP speculative decoding ran
    j["drafted_tokens"] = s.drafted_tokens;
    j["accepted_tokens"] = s.accepted_tokens;
    j["verify_steps"] = s.verify_steps;
  }
  return j;
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

std::string utc_now_iso8601() { return format_utc(std::time(nullptr), "%Y-%m-%dT%H:%M:%SZ"); }

std::string new_conversation_id() {
  std::random_device device;
  char suffix[8];
  std::snprintf(suffix, sizeof suffix, "%04x", static_cast<unsigned>(device() & 0xffff));
  return format_utc(std::time(nullptr), "%Y%m%d-%H%M%S-") + suffix;
}

json conversation_to_json(const Conversation& c) {
  json messages = json::array();
  for (const Message& m : c.messages) {
    json jm{{"role", role_name(m.role)}, {"content", m.content}, {"time", m.time}};
    if (m.stats) jm["stats"] = stats_to_json(*m.stats);
    if (m.interrupted) jm["interrupted"] = true;
    if (!m.reasoning.empty()) jm["reasoning"] = m.reasoning;
    if (m.reasoning_tokens > 0) jm["reasoning_tokens"] = m.reasoning_tokens;
    if (!m.model.empty()) jm["model"] = m.model;
    messages.push_back(std::move(jm));
  }
  const SamplingParams& s = c.sampling;
  return json{{"format", "dschat-conversation"},
              {"version", 1},
              {"id", c.id},
              {"created", c.created},
              {"updated", c.updated},
              {"model", {{"path", c.model.path}, {"name", c.model.name}}},
              {"title", c.title},
              {"system", c.system},
              {"sampling",
               {{"temperature", as_written(s.temperature)},
                {"top_p", as_written(s.top_p)},
                {"top_k", s.top_k},
                {"min_p", as_written(s.min_p)},
                {"repeat_penalty", as_written(s.repeat_penalty)},
                {"repeat_last_n", s.repeat_window},
                {"seed", s.seed}}},
              {"messages", std::move(messages)}};
}

Conversation conversation_from_json(const json& j, const std::string& origin) {
  if (!j.is_object()) fail(origin, "not a JSON object");
  if (optional_string(j, "format") != "dschat-conversation") fail(origin, "\"format\" is not \"dschat-conversation\"");
  const json& version = field(j, "version", json::value_t::number_integer, origin, "the file");
  if (version.get<long long>() != 1) fail(origin, "unsupported version " + version.dump() + " (this dschat reads 1)");
  Conversation c;
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
  const json& messages = field(j, "messages", json::value_t::array, origin, "the file");
  for (size_t i = 0; i < messages.size(); ++i) {
    const json& jm = messages[i];
    std::string where = "message " + std::to_string(i);
    if (!jm.is_object()) fail(origin, where + " is not an object");
    std::string role = field(jm, "role", json::value_t::string, origin, where).get<std::string>();
    std::string content = field(jm, "content", json::value_t::string, origin, where).get<std::string>();
    if (role == "system") {  // OpenAI style: a system message in the list
      if (c.system.empty()) c.system = content;
      continue;
    }
    Message m;
    if (role == "user") m.role = Role::User;
    else if (role == "assistant") m.role = Role::Assistant;
    else fail(origin, where + " has unknown role \"" + role + "\"");
    Role expected = c.messages.size() % 2 == 0 ? Role::User : Role::Assistant;
    if (m.role != expected)
      fail(origin, where + " breaks the user/assistant alternation");
    m.content = std::move(content);
    m.time = optional_string(jm, "time");
    if (auto it = jm.find("stats"); it != jm.end() && it->is_object()) m.stats = stats_from_json(*it);
    if (auto it = jm.find("interrupted"); it != jm.end() && it->is_boolean()) m.interrupted = it->get<bool>();
    if (m.role == Role::Assistant) {  // files written before reasoning was kept apart have neither
      m.reasoning = optional_string(jm, "reasoning");
      read_number(jm, "reasoning_tokens", m.reasoning_tokens);
      if (m.reasoning_tokens < 0) m.reasoning_tokens = 0;
      m.model = optional_string(jm, "model");
    }
    c.messages.push_back(std::move(m));
  }
  return c;
}

std::string conversation_to_markdown(const Conversation& c) {
  std::string md = "# Conversation " + c.id + "\n\n";
  if (!c.model.name.empty() || !c.model.path.empty())
    md += "- Model: " + c.model.name + (c.model.path.empty() ? "" : " (`" + c.model.path + "`)") + "\n";
  if (!c.created.empty()) md += "- Created: " + c.created + "\n";
  if (!c.updated.empty()) md += "- Updated: " + c.updated + "\n";
  md += "\n";
  if (!c.system.empty()) md += "## System\n\n" + c.system + "\n\n";
  for (const Message& m : c.messages) {
    md += m.role == Role::User ? "## User" : "## Assistant";
    if (!m.time.empty()) md += " (" + m.time + ")";
    md += "\n\n";
    if (!m.reasoning.empty()) {  // a quote block before the answer
      md += "> *Reasoning*\n>\n";
      size_t start = 0;
      while (start <= m.reasoning.size()) {
        size_t nl = m.reasoning.find('\n', start);
        std::string line = m.reasoning.substr(start, nl == std::string::npos ? std::string::npos : nl - start);
        md += line.empty() ? ">\n" : "> " + line + "\n";
        if (nl == std::string::npos) break;
        start = nl + 1;
      }
      md += "\n";
    }
    md += m.content + "\n\n";
    if (m.interrupted) md += "*(interrupted)*\n\n";
    if (m.stats && m.stats->generated_tokens > 0) {
      char line[128];
      std::snprintf(line, sizeof line, "*%d tokens, %.1f tokens/s, stop: %s*\n\n", m.stats->generated_tokens,
                    m.stats->decode_tokens_per_second, stop_reason_name(m.stats->stop));
      md += line;
    }
  }
  return md;
}

}  // namespace dschat
