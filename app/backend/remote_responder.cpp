#include "app/backend/remote_responder.h"

#include <chrono>
#include <stdexcept>

#include <nlohmann/json.hpp>

#include "app/backend/sse_stream.h"
#include "common/json_limits.h"

namespace dschat {

namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

// The server's own words for an error body: OpenAI's {"error": {"message": ...}}, or
// {"error": "..."}, {"message": ...}, {"detail": ...} (FastAPI), else the start of the text.
std::string server_error_text(const std::string& body) {
  try {
    json j = parse_json_bounded(body);
    if (j.is_object()) {
      auto text_of = [](const json& v) -> std::string {
        if (v.is_string()) return v.get<std::string>();
        if (v.is_object()) {
          if (auto m = v.find("message"); m != v.end() && m->is_string()) return m->get<std::string>();
        }
        return "";
      };
      for (const char* key : {"error", "message", "detail"}) {
        if (auto it = j.find(key); it != j.end()) {
          if (std::string text = text_of(*it); !text.empty()) return text;
        }
      }
    }
  } catch (const std::exception&) {
  }
  std::string text = body.substr(0, 200);
  for (char& c : text)
    if (c == '\n' || c == '\r' || c == '\t') c = ' ';
  return text;
}

StopReason stop_from_finish_reason(const std::string& reason) {
  if (reason == "length") return StopReason::Length;
  return StopReason::Eos;  // "stop", "eos", "tool_calls", ...: the server ended the reply
}

}  // namespace

std::string normalise_base_url(const std::string& url) {
  ParsedUrl parsed;
  try {
    parsed = parse_http_url(url);
  } catch (const HttpError& e) {
    throw std::invalid_argument(std::string("--remote: ") + e.what());
  }
  std::string path = parsed.path;
  while (!path.empty() && path.back() == '/') path.pop_back();
  if (path.empty()) path = "/v1";
  return parsed.scheme + "://" + parsed.host + (parsed.port.empty() ? "" : ":" + parsed.port) + path;
}

RemoteResponder::RemoteResponder(RemoteOptions options, const std::atomic<bool>& cancel)
    : options_(std::move(options)), base_url_(normalise_base_url(options_.url)), http_(options_.http) {
  const ParsedUrl parsed = parse_http_url(base_url_);
  host_ = parsed.host + (parsed.port.empty() ? "" : ":" + parsed.port);
  HttpResponse response;
  try {
    response = http_.get(base_url_ + "/models", headers(false), cancel);
  } catch (const HttpError& e) {
    throw std::runtime_error("cannot reach the server at " + base_url_ + ": " + e.what());
  }
  if (response.status == 404 && !options_.model.empty()) {
    model_ = options_.model;  // a server without the list: take the name given
    return;
  }
  if (response.status < 200 || response.status >= 300)
    throw std::runtime_error(base_url_ + "/models: " + http_error_message(response));
  try {
    json list = parse_json_bounded(response.body);
    const json& data = list.at("data");
    for (const json& entry : data) {
      std::string id = entry.at("id").get<std::string>();
      if (id.empty()) continue;
      if (models_.empty() || id == options_.model) {
        if (auto owner = entry.find("owned_by"); owner != entry.end() && owner->is_string())
          server_ = owner->get<std::string>();
      }
      models_.push_back(std::move(id));
    }
  } catch (const std::exception& e) {
    throw std::runtime_error(base_url_ + "/models: not an OpenAI model list (" + std::string(e.what()).substr(0, 200) +
                             ")");
  }
  if (models_.empty()) throw std::runtime_error(base_url_ + "/models: the server lists no model");
  if (options_.model.empty()) {
    model_ = models_.front();
    return;
  }
  for (const std::string& id : models_)
    if (id == options_.model) model_ = id;
  if (model_.empty()) {
    std::string available;
    for (const std::string& id : models_) available += (available.empty() ? "" : ", ") + id;
    throw std::runtime_error("--remote-model '" + options_.model + "' is not served at " + base_url_ +
                             "; it serves: " + available);
  }
}

std::vector<std::string> RemoteResponder::headers(bool json_body) const {
  std::vector<std::string> h;
  if (json_body) {
    h.push_back("Content-Type: application/json");
    h.push_back("Accept: text/event-stream");
  }
  if (!options_.api_key.empty()) h.push_back("Authorization: Bearer " + options_.api_key);
  return h;
}

std::string RemoteResponder::http_error_message(const HttpResponse& response) const {
  std::string message = "HTTP " + std::to_string(response.status);
  const std::string text = server_error_text(response.body);
  if (!text.empty()) message += ": " + text;
  if (response.status == 401 || response.status == 403) {
    if (options_.api_key_env.empty()) {
      message += " (no API key was sent: give the variable holding it with --api-key-env VAR)";
    } else if (options_.api_key.empty()) {
      message += " ($" + options_.api_key_env + " is not set or empty)";
    } else {
      message += " (the key in $" + options_.api_key_env + " was refused)";
    }
  }
  if (response.status == 429) {
    message += response.retry_after.empty()
                   ? " (rate limited; try again later)"
                   : " (rate limited; retry after " + response.retry_after +
                         (response.retry_after.find_first_not_of("0123456789") == std::string::npos ? " s)" : ")");
  }
  return message;
}

std::string RemoteResponder::request_body(const ResponderRequest& request) const {
  const ChatMessages& c = request.conversation;
  json messages = json::array();
  if (!c.system.empty()) messages.push_back({{"role", "system"}, {"content", c.system}});
  for (size_t i = std::max(0, c.first_in_context); i < c.messages.size(); ++i)
    messages.push_back({{"role", role_name(c.messages[i].role)}, {"content", c.messages[i].content}});
  const SamplingParams& s = request.sampling;
  json body = {{"model", model_},
               {"messages", std::move(messages)},
               {"stream", true},
               {"stream_options", {{"include_usage", true}}},
               {"temperature", s.temperature},
               {"top_p", s.top_p},
               {"seed", s.seed}};
  // Only what differs from "off": servers disagree on the names and ranges of the rest.
  if (s.top_k > 0) body["top_k"] = s.top_k;
  if (s.min_p > 0) body["min_p"] = s.min_p;
  if (s.repeat_penalty != 1.0f) body["repetition_penalty"] = s.repeat_penalty;
  if (request.max_reply_tokens > 0) body["max_tokens"] = request.max_reply_tokens;
  if (!request.stop.empty()) body["stop"] = request.stop;
  return body.dump(-1, ' ', false, json::error_handler_t::replace);
}

ReplyResult RemoteResponder::respond(const ResponderRequest& request, const ReplyCallbacks& callbacks,
                                     std::atomic<bool>& cancel) {
  ReplyResult result;
  result.first_in_context = request.conversation.first_in_context;
  const auto start = Clock::now();
  Clock::time_point first_piece{};
  bool in_reasoning = false;
  int pieces = 0;
  std::string finish_reason;
  std::optional<StreamUsage> usage;
  // The server is asked to stop at the stop strings; this side stops there too, for a server
  // that ignores the field (the answer only, as the server's `stop` applies to the content).
  StopStringFilter stop_filter(request.stop);
  auto emit = [&](const std::string& text) {
    if (text.empty()) return;
    if (pieces++ == 0) first_piece = Clock::now();
    result.reply += text;
    if (callbacks.on_piece) callbacks.on_piece(text);
  };
  auto on_delta = [&](const StreamDelta& d) {
    if (!d.reasoning_content.empty()) {
      if (!in_reasoning) emit("<think>\n");
      in_reasoning = true;
      emit(d.reasoning_content);
    }
    if (!d.content.empty() && !stop_filter.stopped()) {
      if (in_reasoning) emit("\n</think>\n\n");
      in_reasoning = false;
      emit(stop_filter.push(d.content));
    }
    if (!d.finish_reason.empty()) finish_reason = d.finish_reason;
    if (d.usage) usage = d.usage;
  };
  SseStream sse;
  std::string stream_error;  // an SseError or a callback's exception, caught before it reaches libcurl
  auto on_data = [&](std::string_view bytes) {
    try {
      sse.feed(bytes, on_delta);
      return !sse.done() && !stop_filter.stopped();
    } catch (const std::exception& e) {
      stream_error = e.what();
      return false;
    }
  };

  std::string transfer_error;
  bool cancelled = false;
  HttpResponse response;
  try {
    response =
        http_.post_stream(base_url_ + "/chat/completions", headers(true), request_body(request), on_data, cancel);
    if (response.status >= 200 && response.status < 300 && stream_error.empty()) sse.finish(on_delta);
  } catch (const HttpError& e) {
    if (e.kind == HttpError::Kind::Cancelled) {
      cancelled = true;
    } else {
      transfer_error = e.what();
    }
  } catch (const SseError& e) {
    stream_error = e.what();
  }
  emit(stop_filter.finish());                 // what was held back as a possible stop string's start
  if (in_reasoning) emit("\n</think>\n\n");  // the stream ended inside the reasoning

  GenerationStats& stats = result.stats;
  stats.generated_tokens = usage ? usage->completion_tokens : pieces;
  stats.prompt_tokens = usage ? usage->prompt_tokens : 0;
  if (usage) context_used_.store(usage->prompt_tokens + usage->completion_tokens);
  if (pieces > 0) {
    stats.time_to_first_token = std::chrono::duration<double>(first_piece - start).count();
    stats.decode_seconds = std::chrono::duration<double>(Clock::now() - first_piece).count();
    if (stats.decode_seconds > 0 && stats.generated_tokens > 1)
      stats.decode_tokens_per_second = (stats.generated_tokens - 1) / stats.decode_seconds;
  }

  auto lost = [&](const std::string& why) {
    if (result.reply.empty()) {
      result.ok = false;
      result.error = why;
      result.retryable = true;  // the connection, not the request
      return;
    }
    result.ok = true;  // what came is kept, marked interrupted
    result.interrupted = true;
    stats.stop = StopReason::User;
    std::string notice = why + "; the partial reply is kept";
    result.notices.push_back(notice);
    if (callbacks.on_notice) callbacks.on_notice(notice);
  };
  if (cancelled) {
    result.ok = true;
    result.interrupted = true;
    stats.stop = StopReason::User;
  } else if (stop_filter.stopped()) {  // this side closed the stream at a stop string
    result.ok = true;
    stats.stop = StopReason::StopString;
  } else if (!transfer_error.empty()) {
    lost(base_url_ + ": " + transfer_error);
  } else if (response.status < 200 || response.status >= 300) {
    result.ok = false;
    result.error = base_url_ + "/chat/completions: " + http_error_message(response);
    result.reply.clear();
    // 5xx, 429, 408 may pass; 401/403 want another key (the conversation can be resumed with it).
    // Other 4xx refuse this request as it is.
    const long status = response.status;
    result.retryable = status >= 500 || status == 429 || status == 408 || status == 401 || status == 403 || status < 400;
  } else if (!stream_error.empty()) {
    lost("bad reply stream from " + base_url_ + ": " + stream_error);
  } else if (!sse.done() && finish_reason.empty()) {
    lost("the server closed the stream before the end of the reply");
  } else {
    result.ok = true;
    stats.stop = stop_from_finish_reason(finish_reason);
  }
  return result;
}

std::string RemoteResponder::model_info() const {
  std::string info = "remote engine: " + base_url_ + "\nmodel: " + model_ + "\n";
  if (!server_.empty()) info += "owned by: " + server_ + "\n";
  if (!models_.empty()) {
    info += "models served:";
    for (const std::string& id : models_) info += " " + id;
    info += "\n";
  }
  info += "chat template: the server's\n";
  info += "context: " + std::to_string(context_used_.load()) + " tokens used (the server's limit applies)\n";
  info += std::string("API key: ") + (options_.api_key.empty() ? "none" : "from $" + options_.api_key_env);
  return info;
}

std::string RemoteResponder::display_name() const { return "remote: " + model_ + " @ " + host_; }

}  // namespace dschat
