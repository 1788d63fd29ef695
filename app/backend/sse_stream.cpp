#include "app/backend/sse_stream.h"

#include <nlohmann/json.hpp>

#include "common/json_limits.h"

namespace dschat {

namespace {

using nlohmann::json;

// A string member, "" when absent or null; SseError naming `where` when of another type.
std::string optional_string(const json& object, const char* key, const std::string& where) {
  auto it = object.find(key);
  if (it == object.end() || it->is_null()) return "";
  if (!it->is_string()) throw SseError(where + "." + key + " is " + json_summary(*it) + ", not a string");
  return it->get<std::string>();
}

int token_count(const json& usage, const char* key) {
  auto it = usage.find(key);
  if (it == usage.end() || it->is_null()) return 0;
  if (!it->is_number_integer() || it->get<long long>() < 0 || it->get<long long>() > (1LL << 31) - 1)
    throw SseError(std::string("usage.") + key + " is " + json_summary(*it) + ", not a token count");
  return static_cast<int>(it->get<long long>());
}

}  // namespace

StreamDelta parse_chunk(std::string_view data) {
  json chunk;
  try {
    chunk = parse_json_bounded(data.begin(), data.end());
  } catch (const JsonTooDeep& e) {
    throw SseError(std::string("malformed stream event: ") + e.what());
  } catch (const json::exception& e) {
    throw SseError(std::string("malformed JSON in stream event: ") + e.what());
  }
  if (!chunk.is_object()) throw SseError("stream event is " + json_summary(chunk) + ", not a JSON object");
  if (auto error = chunk.find("error"); error != chunk.end() && !error->is_null()) {
    std::string message = error->is_object()   ? optional_string(*error, "message", "error")
                          : error->is_string() ? error->get<std::string>()
                                               : "";
    throw SseError("the server reported an error mid-stream: " + (message.empty() ? json_summary(*error) : message));
  }
  StreamDelta delta;
  delta.model = optional_string(chunk, "model", "chunk");
  if (auto usage = chunk.find("usage"); usage != chunk.end() && !usage->is_null()) {
    if (!usage->is_object()) throw SseError("usage is " + json_summary(*usage) + ", not an object");
    delta.usage = StreamUsage{token_count(*usage, "prompt_tokens"), token_count(*usage, "completion_tokens")};
  }
  auto choices = chunk.find("choices");
  if (choices == chunk.end() || choices->is_null()) return delta;
  if (!choices->is_array()) throw SseError("choices is " + json_summary(*choices) + ", not an array");
  if (choices->empty()) return delta;
  const json& choice = choices->front();  // n = 1: one choice
  if (!choice.is_object()) throw SseError("choices[0] is " + json_summary(choice) + ", not an object");
  delta.finish_reason = optional_string(choice, "finish_reason", "choices[0]");
  auto d = choice.find("delta");
  if (d == choice.end() || d->is_null()) return delta;
  if (!d->is_object()) throw SseError("choices[0].delta is " + json_summary(*d) + ", not an object");
  delta.content = optional_string(*d, "content", "choices[0].delta");
  delta.reasoning_content = optional_string(*d, "reasoning_content", "choices[0].delta");
  if (delta.reasoning_content.empty()) delta.reasoning_content = optional_string(*d, "reasoning", "choices[0].delta");
  return delta;
}

void SseStream::feed(std::string_view bytes, const DeltaCallback& on_delta) {
  for (char c : bytes) {
    if (done_) return;
    if (c == '\n' && after_cr_) {
      after_cr_ = false;
      continue;
    }
    after_cr_ = c == '\r';
    if (c == '\n' || c == '\r') {
      end_line(on_delta);
      continue;
    }
    if (line_.size() + data_.size() >= kMaxEventBytes)
      throw SseError("stream event longer than " + std::to_string(kMaxEventBytes >> 20) + " MB");
    line_ += c;
  }
}

void SseStream::finish(const DeltaCallback& on_delta) {
  if (done_) return;
  if (!line_.empty()) end_line(on_delta);
  if (has_data_) dispatch(on_delta);
}

void SseStream::end_line(const DeltaCallback& on_delta) {
  std::string line;
  line.swap(line_);
  if (line.empty()) {
    if (has_data_) dispatch(on_delta);
    return;
  }
  if (line.front() == ':') return;  // comment (keep-alive)
  const std::size_t colon = line.find(':');
  std::string_view field = std::string_view(line).substr(0, colon);
  std::string_view value;
  if (colon != std::string::npos) {
    value = std::string_view(line).substr(colon + 1);
    if (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  }
  if (field != "data") return;  // event, id, retry: nothing the reply needs
  if (has_data_) data_ += '\n';
  data_ += value;
  has_data_ = true;
}

void SseStream::dispatch(const DeltaCallback& on_delta) {
  std::string data;
  data.swap(data_);
  has_data_ = false;
  std::string_view trimmed = data;
  while (!trimmed.empty() && (trimmed.back() == ' ' || trimmed.back() == '\t')) trimmed.remove_suffix(1);
  if (trimmed == "[DONE]") {
    done_ = true;
    return;
  }
  ++events_;
  try {
    StreamDelta delta = parse_chunk(data);
    if (on_delta) on_delta(delta);
  } catch (const SseError& e) {
    throw SseError("event " + std::to_string(events_) + ": " + e.what());
  }
}

}  // namespace dschat
