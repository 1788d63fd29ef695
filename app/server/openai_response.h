// The JSON the server answers with, as the OpenAI API shapes it: completion objects, server-sent
// event chunks (`data: {...}\n\n`, then `data: [DONE]\n\n`), error objects. Pure: no HTTP.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "app/server/openai_request.h"
#include "engine/generation.h"

namespace dschat {

// What every object of one response shares.
struct ResponseMeta {
  RequestKind kind = RequestKind::Chat;
  std::string id;       // "chatcmpl-..." / "cmpl-..."
  int64_t created = 0;  // Unix seconds
  std::string model;
};

// "length" when the token limit or the context ended the reply, else "stop".
const char* finish_reason(StopReason stop);

// {"error": {"message", "type", "param", "code"}}; an empty param is null.
std::string error_body(const std::string& message, const std::string& type, const std::string& param = "",
                       const std::string& code = "");

// One SSE event: "data: " + the object on one line + "\n\n".
std::string sse_event(const nlohmann::json& object);
inline const char* kSseDone = "data: [DONE]\n\n";

nlohmann::json usage_object(const GenerationStats& stats);
// llama-server's `timings`: prompt_n, prompt_ms, prompt_per_second, predicted_n, predicted_ms,
// predicted_per_second, plus cache_n (prompt tokens reused from the cache).
nlohmann::json timings_object(const GenerationStats& stats);

// A streamed piece: chat.completion.chunk with delta {content} (and role on the first), or
// text_completion with text. `finish` set on the last choice chunk (its delta is empty).
nlohmann::json stream_chunk(const ResponseMeta& meta, const std::string& text, bool first,
                            const std::optional<StopReason>& finish);
// The usage chunk of stream_options.include_usage: choices [] and usage.
nlohmann::json usage_chunk(const ResponseMeta& meta, const GenerationStats& stats);
// The whole answer of a non-streaming request: chat.completion / text_completion.
nlohmann::json completion_object(const ResponseMeta& meta, const std::string& text, const GenerationStats& stats);

}  // namespace dschat
