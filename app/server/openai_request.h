// An OpenAI API request body (POST /v1/chat/completions, POST /v1/completions) parsed and
// validated into a struct. Pure: no HTTP, no model (the server clamps max_tokens to the context);
// the fuzz target tests/fuzz/openai_request_fuzz.cpp calls it with arbitrary bytes.
//
// Accepted fields are the subset docs/serving.md lists. A field outside it is a 400 (a client
// asking for tools or logprobs must not get a reply that silently ignores them), except a few
// that change nothing when at their neutral value (n: 1, presence_penalty: 0, ...) and `user`.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "app/backend/chat_message.h"

namespace dschat {

enum class RequestKind { Chat, Completion };

struct RequestLimits {
  std::size_t max_messages = 1024;   // messages of a chat request
  std::size_t max_stop_strings = 4;  // as OpenAI
  std::size_t max_stop_bytes = 256;  // each
  int max_tokens = 1'000'000;        // an upper bound before the context's room is known
};

struct OpenAIRequest {
  RequestKind kind = RequestKind::Chat;
  std::string model;              // as the client named it ("" when absent)
  std::string system;             // the system messages joined by "\n\n" (chat)
  std::vector<Message> messages;  // user/assistant in order (chat)
  std::string prompt;             // raw text (completion)
  std::optional<float> temperature, top_p, min_p, repeat_penalty;
  std::optional<int> top_k;
  std::optional<uint64_t> seed;
  std::optional<int> max_tokens;  // max_tokens or max_completion_tokens
  std::vector<std::string> stop;
  bool stream = false;
  bool include_usage = false;  // stream_options.include_usage
};

// What is wrong with a body: `param` names the field as OpenAI does ("messages[2].role", "" for
// the body as a whole).
struct RequestError {
  std::string message;
  std::string param;
};

struct ParsedRequest {
  std::optional<OpenAIRequest> request;  // set when valid
  RequestError error;                    // otherwise
};

ParsedRequest parse_openai_request(std::string_view body, RequestKind kind, const RequestLimits& limits = {});

}  // namespace dschat
