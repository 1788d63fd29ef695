#include "app/server/openai_response.h"

namespace dschat {

using nlohmann::json;

const char* finish_reason(StopReason stop) {
  return stop == StopReason::Length || stop == StopReason::Context ? "length" : "stop";
}

std::string error_body(const std::string& message, const std::string& type, const std::string& param,
                       const std::string& code) {
  json error = {{"message", message},
                {"type", type},
                {"param", param.empty() ? json(nullptr) : json(param)},
                {"code", code.empty() ? json(nullptr) : json(code)}};
  // Replace, not throw, on invalid UTF-8 a client sent (it may appear in a message).
  return json{{"error", error}}.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::string sse_event(const json& object) {
  return "data: " + object.dump(-1, ' ', false, json::error_handler_t::replace) + "\n\n";
}

json usage_object(const GenerationStats& stats) {
  // generated_tokens counts an eos token the reply ended with: it is not part of the completion.
  const int completion = stats.generated_tokens - (stats.stop == StopReason::Eos ? 1 : 0);
  return {{"prompt_tokens", stats.prompt_tokens},
          {"completion_tokens", completion},
          {"total_tokens", stats.prompt_tokens + completion}};
}

json timings_object(const GenerationStats& stats) {
  const int prompt_n = stats.prompt_tokens - stats.reused_tokens;
  return {{"cache_n", stats.reused_tokens},
          {"prompt_n", prompt_n},
          {"prompt_ms", stats.prefill_seconds * 1000.0},
          {"prompt_per_second", stats.prefill_tokens_per_second},
          {"predicted_n", stats.generated_tokens},
          {"predicted_ms", stats.decode_seconds * 1000.0},
          {"predicted_per_second", stats.decode_tokens_per_second}};
}

namespace {

json head(const ResponseMeta& meta, const char* object) {
  return {{"id", meta.id},
          {"object", object},
          {"created", meta.created},
          {"model", meta.model},
          {"system_fingerprint", nullptr}};
}

}  // namespace

json stream_chunk(const ResponseMeta& meta, const std::string& text, bool first,
                  const std::optional<StopReason>& finish) {
  json choice = {{"index", 0}, {"finish_reason", finish ? json(finish_reason(*finish)) : json(nullptr)}};
  json out;
  if (meta.kind == RequestKind::Chat) {
    out = head(meta, "chat.completion.chunk");
    json delta = json::object();
    if (first) delta["role"] = "assistant";
    if (!text.empty() || (first && !finish)) delta["content"] = text;
    choice["delta"] = delta;
    choice["logprobs"] = nullptr;
  } else {
    out = head(meta, "text_completion");
    choice["text"] = text;
    choice["logprobs"] = nullptr;
  }
  out["choices"] = json::array({choice});
  return out;
}

json usage_chunk(const ResponseMeta& meta, const GenerationStats& stats) {
  json out = head(meta, meta.kind == RequestKind::Chat ? "chat.completion.chunk" : "text_completion");
  out["choices"] = json::array();
  out["usage"] = usage_object(stats);
  out["timings"] = timings_object(stats);
  return out;
}

json completion_object(const ResponseMeta& meta, const std::string& text, const GenerationStats& stats) {
  json choice = {{"index", 0}, {"finish_reason", finish_reason(stats.stop)}, {"logprobs", nullptr}};
  json out;
  if (meta.kind == RequestKind::Chat) {
    out = head(meta, "chat.completion");
    choice["message"] = {{"role", "assistant"}, {"content", text}};
  } else {
    out = head(meta, "text_completion");
    choice["text"] = text;
  }
  out["choices"] = json::array({choice});
  out["usage"] = usage_object(stats);
  out["timings"] = timings_object(stats);
  return out;
}

}  // namespace dschat
