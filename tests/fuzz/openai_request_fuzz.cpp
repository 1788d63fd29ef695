// Fuzz target: dschat serve's request parser (app/server/openai_request.h) on any body. The
// first byte picks the endpoint (even: chat, odd: completions). It never throws; a refused body
// has a message; an accepted one holds what the server relies on (a chat ends with a user
// message, limits respected).
#include "app/server/openai_request.h"
#include "tests/fuzz/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const dschat::RequestKind kind = data[0] % 2 ? dschat::RequestKind::Completion : dschat::RequestKind::Chat;
  std::string_view body = dschat::fuzz::as_text(data + 1, size - 1);
  dschat::RequestLimits limits;
  dschat::ParsedRequest parsed = dschat::parse_openai_request(body, kind, limits);
  if (!parsed.request) {
    if (parsed.error.message.empty()) dschat::fuzz::property_failed("a refused body without a message");
    return 0;
  }
  const dschat::OpenAIRequest& r = *parsed.request;
  if (kind == dschat::RequestKind::Chat) {
    if (r.messages.empty() || r.messages.back().role != dschat::Role::User)
      dschat::fuzz::property_failed("an accepted chat that does not end with a user message");
    if (r.messages.size() > limits.max_messages) dschat::fuzz::property_failed("more messages than the limit");
  } else if (r.prompt.empty()) {
    dschat::fuzz::property_failed("an accepted completion without a prompt");
  }
  if (r.max_tokens && (*r.max_tokens < 1 || *r.max_tokens > limits.max_tokens))
    dschat::fuzz::property_failed("max_tokens outside its range");
  if (r.stop.size() > limits.max_stop_strings) dschat::fuzz::property_failed("too many stop strings");
  if (r.include_usage && !r.stream) dschat::fuzz::property_failed("include_usage without stream");
  return 0;
}
