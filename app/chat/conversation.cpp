#include "app/chat/conversation.h"

#include <charconv>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <random>

#include "app/chat/conversation_reader.h"

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

}  // namespace

std::string utc_now_iso8601() { return format_utc(std::time(nullptr), "%Y-%m-%dT%H:%M:%SZ"); }

std::string new_conversation_id() {
  std::random_device device;
  char suffix[8];
  std::snprintf(suffix, sizeof suffix, "%04x", static_cast<unsigned>(device() & 0xffff));
  return format_utc(std::time(nullptr), "%Y%m%d-%H%M%S-") + suffix;
}

namespace {

json message_to_json(const Message& m) {
  json jm{{"role", role_name(m.role)}, {"content", m.content}, {"time", m.time}};
  if (m.stats) jm["stats"] = stats_to_json(*m.stats);
  if (m.interrupted) jm["interrupted"] = true;
  if (!m.reasoning.empty()) jm["reasoning"] = m.reasoning;
  if (m.reasoning_tokens > 0) jm["reasoning_tokens"] = m.reasoning_tokens;
  if (!m.model.empty()) jm["model"] = m.model;
  return jm;
}

// Everything but the messages ("messages" is an empty array).
json header_to_json(const Conversation& c, const std::string& id) {
  const SamplingParams& s = c.sampling;
  return json{{"format", "dschat-conversation"},
              {"version", 1},
              {"id", id},
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
              {"messages", json::array()}};
}

}  // namespace

json conversation_to_json(const Conversation& c) {
  json j = header_to_json(c, c.id);
  json& messages = j["messages"];
  for (const Message& m : c.messages) messages.push_back(message_to_json(m));
  return j;
}

std::string conversation_file_text(const Conversation& c) { return conversation_file_text(c, c.id); }

std::string conversation_file_text(const Conversation& c, const std::string& id) {
  // dump(2) of the whole value, one message at a time: the header with "messages": [] (a key
  // whose quotes cannot occur unescaped in a string value), that array replaced by the messages,
  // each dump(2) indented by two levels (newlines in strings are escaped, so every raw newline is
  // the layout's).
  const std::string header = header_to_json(c, id).dump(2);
  const std::string empty = "\"messages\": []";
  const size_t at = header.find(empty);
  std::string text = header.substr(0, at + empty.size() - 1);
  if (!c.messages.empty()) {
    text += '\n';
    for (size_t i = 0; i < c.messages.size(); ++i) {
      const std::string m = message_to_json(c.messages[i]).dump(2);
      text += i == 0 ? "    " : ",\n    ";
      size_t start = 0;
      for (size_t nl; (nl = m.find('\n', start)) != std::string::npos; start = nl + 1) {
        text.append(m, start, nl + 1 - start);
        text += "    ";
      }
      text.append(m, start);
    }
    text += "\n  ";
  }
  text.append(header, at + empty.size() - 1);
  text += '\n';
  return text;
}

Conversation conversation_from_json(const json& j, const std::string& origin) {
  Conversation c;
  read_conversation_header(j, origin, c);
  ConversationMessageReader messages(origin);
  for (const json& message : j.at("messages")) messages.add(message);
  messages.finish(c);
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
