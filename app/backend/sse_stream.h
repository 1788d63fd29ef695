// The server-sent-event stream of an OpenAI-compatible `POST /chat/completions` with
// `stream: true`, as pure parsing (no HTTP): bytes in any chunking -> events -> deltas.
//
// SSE (WHATWG HTML §9.2): lines end in LF, CRLF or CR; a blank line ends an event; `:` starts a
// comment; `data:` lines (one optional space after the colon) are joined by "\n". Each event's
// data is a chat.completion.chunk JSON object, or `[DONE]` at the end. Lenient where servers
// differ: `usage` missing or null, `choices` null or empty, `content` null, the reasoning of R1
// as `reasoning_content` (vLLM, SGLang, DeepSeek API) or `reasoning` (newer vLLM). An event whose
// data is not JSON, or JSON of the wrong shape, is an SseError naming what was wrong; an
// `{"error": {...}}` event (a server failing mid-stream) is an SseError with the server's message.
#pragma once

#include <cstddef>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

namespace dschat {

struct SseError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct StreamUsage {
  int prompt_tokens = 0;
  int completion_tokens = 0;
};

// What one chunk adds to the reply.
struct StreamDelta {
  std::string content;
  std::string reasoning_content;
  std::string finish_reason;  // "" = not finished; "stop", "length", ...
  std::optional<StreamUsage> usage;
  std::string model;  // the chunk's "model" ("" when absent)
};

using DeltaCallback = std::function<void(const StreamDelta&)>;

class SseStream {
 public:
  // An event's data is bounded (a chunk is a few hundred bytes; a server that never ends a line
  // must not take all memory).
  static constexpr std::size_t kMaxEventBytes = 8 << 20;

  // Parses `bytes` (any split of the stream), calling on_delta for each chunk event in order.
  // Throws SseError. After [DONE] the rest is ignored.
  void feed(std::string_view bytes, const DeltaCallback& on_delta);
  // The stream ended: an event not closed by a blank line is dispatched (some servers end on the
  // last `data:` line). Throws SseError.
  void finish(const DeltaCallback& on_delta);
  bool done() const { return done_; }     // [DONE] seen
  int events() const { return events_; }  // data events dispatched

 private:
  void end_line(const DeltaCallback& on_delta);
  void dispatch(const DeltaCallback& on_delta);

  std::string line_;
  std::string data_;
  bool has_data_ = false;
  bool after_cr_ = false;  // the last byte was CR: an LF right after it ends nothing more
  bool done_ = false;
  int events_ = 0;
};

// One event's data (a chat.completion.chunk) as a delta. Throws SseError.
StreamDelta parse_chunk(std::string_view data);

}  // namespace dschat
