// Fuzz target: the SSE stream parser of the remote engine client (app/backend/sse_stream.h) on
// any bytes a server may send. It throws nothing but SseError, and the chunking never matters:
// the stream fed whole and fed in two pieces (split where the first byte says) give the same
// deltas, or both fail. (The split point comes from the first byte, which stays part of the stream.)
#include <string>

#include "app/backend/sse_stream.h"
#include "tests/fuzz/fuzz_support.h"

namespace {

// Everything the deltas said, joined; "error" when the stream is refused.
std::string digest(std::string_view stream, size_t split) {
  dschat::SseStream sse;
  std::string out;
  auto on_delta = [&](const dschat::StreamDelta& d) {
    // Sizes before texts, so that no two different delta sequences give the same digest.
    for (const std::string* text : {&d.content, &d.reasoning_content, &d.finish_reason}) {
      out.append(std::to_string(text->size())).push_back(':');
      out.append(*text);
    }
    if (d.usage)
      out.append(std::to_string(d.usage->prompt_tokens)).append(",").append(std::to_string(d.usage->completion_tokens));
    out.push_back(';');
  };

  try {
    sse.feed(stream.substr(0, split), on_delta);
    sse.feed(stream.substr(split), on_delta);
    sse.finish(on_delta);
  } catch (const dschat::SseError& e) {
    if (std::string(e.what()).empty()) dschat::fuzz::property_failed("SseError without a message");
    return out + "error";
  }
  return out + (sse.done() ? "done" : "open");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  std::string_view stream = dschat::fuzz::as_text(data, size);
  const size_t split = (data[0] * 7919u) % (size + 1);
  if (digest(stream, 0) != digest(stream, split))
    dschat::fuzz::property_failed("the deltas depend on how the stream was split");
  return 0;
}
