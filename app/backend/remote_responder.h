// The Responder of a remote OpenAI-compatible engine (vLLM, SGLang, llama.cpp's llama-server,
// dschat serve, hosted APIs): sends the conversation as OpenAI messages to `BASE/chat/completions`
// with `stream: true` (the server applies its own chat template) and streams the reply from the
// server-sent events (app/backend/sse_stream.h). docs/remote.md has the protocol subset and errors.
//
// The server keeps no cache this side can see: the cache methods are no-ops, the context is what
// the last reply's usage said. R1's separate `reasoning_content` is written into the reply as
// `<think>\n...\n</think>\n\n` before the answer, as the model writes it locally.
// The API key is only ever put in the Authorization header: not in model_path(), model_info(),
// errors or anything the session saves.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "app/backend/http_client.h"
#include "app/backend/responder.h"

namespace dschat {

struct RemoteOptions {
  std::string url;          // the server's base URL: http(s)://HOST[:PORT][/PATH]; "" or "/" path = /v1
  std::string model;        // "" = the first of GET BASE/models
  std::string api_key_env;  // the environment variable holding the key ("" = none), named in 401/403 errors
  std::string api_key;      // its value (sent as "Authorization: Bearer ...")
  HttpOptions http;
};

// The base URL the requests go to: `url` without a trailing '/', with "/v1" when it has no path.
// Throws std::invalid_argument naming what is wrong with `url`.
std::string normalise_base_url(const std::string& url);

class RemoteResponder final : public Responder {
 public:
  // Checks the server: GET BASE/models lists the models; picks options.model (an error listing the
  // available ones when it is not among them) or the first. Throws std::runtime_error with the
  // reason (server down, 401, ...). `cancel` stops the check.
  RemoteResponder(RemoteOptions options, const std::atomic<bool>& cancel);

  ReplyResult respond(const ResponderRequest& request, const ReplyCallbacks& callbacks,
                      std::atomic<bool>& cancel) override;
  int roll_back_cache(const ChatMessages& conversation) override { return conversation.first_in_context; }
  int rebuild_cache(const ChatMessages& conversation, const std::atomic<bool>&) override {
    return conversation.first_in_context;
  }
  void set_context_size(int) override {}  // the server's context is the server's
  int context_used() const override { return context_used_.load(); }
  int context_max() const override { return 0; }  // unknown

  ReplyDefaults defaults() const override { return {}; }
  std::string model_path() const override { return base_url_; }
  std::string model_name() const override { return model_; }
  std::string model_info() const override;
  std::string template_name() const override { return "server"; }
  std::string template_text() const override { return "(the server applies its own chat template)"; }

  std::string host() const { return host_; }  // HOST[:PORT], for the status line
  std::string display_name() const;           // "remote: MODEL @ HOST"
  const std::vector<std::string>& models() const { return models_; }

  // The JSON body of the request for `request` (for tests and docs/remote.md).
  std::string request_body(const ResponderRequest& request) const;

 private:
  std::vector<std::string> headers(bool json_body) const;
  // The message for a non-2xx response.
  std::string http_error_message(const HttpResponse& response) const;

  RemoteOptions options_;
  std::string base_url_;
  std::string host_;
  std::string model_;
  std::vector<std::string> models_;
  std::string server_;  // owned_by of the model, when the list says
  HttpClient http_;
  std::atomic<int> context_used_{0};
};

}  // namespace dschat
