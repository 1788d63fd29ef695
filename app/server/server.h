// dschat serve: the OpenAI-compatible HTTP server over one loaded model (docs/serving.md).
//   POST /v1/chat/completions  messages through the model's chat template, streamed (SSE) or not
//   POST /v1/completions       a raw prompt, no template
//   GET  /v1/models, GET /health
// cpp-httplib runs each connection on a thread of its pool; a request waits for one of the
// ContextPool's contexts, so at most `parallel` generations run at once and each context serves one
// request at a time. A streaming client that goes away cancels its generation at the next piece.
#pragma once

#include <atomic>
#include <cstddef>
#include <memory>
#include <string>

#include "app/backend/loaded_model.h"
#include "app/server/openai_request.h"

namespace dschat {

struct ServerOptions {
  std::string host = "127.0.0.1";
  int port = 8080;  // 0: a free port (bind() tells which)
  int parallel = 1;
  std::string api_key;        // "" = none required
  std::string template_name;  // "" = detected
  int context_tokens = 0;     // per context; 0 = the model's maximum
  std::size_t max_body_bytes = 4u << 20;
  int read_timeout_seconds = 30;
  int write_timeout_seconds = 30;
  RequestLimits limits;
  bool access_log = true;  // one line per request on stderr
};

class Server {
 public:
  // Makes the contexts (throws what the engine throws, std::invalid_argument for a bad template).
  Server(std::shared_ptr<const LoadedModel> model, const ServerOptions& options);
  ~Server();

  // Binds host:port; returns the port. Throws std::runtime_error naming the address when it cannot.
  int bind();
  // Serves until stop(); in-flight requests are finished before it returns.
  void run();
  // Stops accepting connections (any thread; not from a signal handler).
  void stop();

  std::string model_id() const;  // the name /v1/models lists

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace dschat
