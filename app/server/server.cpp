#include "app/server/server.h"

#include <httplib.h>

#include <chrono>
#include <cstdio>
#include <map>
#include <mutex>
#include <random>

#include "app/backend/chat_template.h"
#include "app/backend/streaming_text_decoder.h"
#include "app/server/context_pool.h"
#include "app/server/openai_response.h"
#include "common/out_of_memory.h"

namespace dschat {

namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

// A request ready to run: its prompt's ids and the generation's settings.
struct Job {
  OpenAIRequest request;
  ResponseMeta meta;
  std::vector<int32_t> prompt;
  SamplingParams sampling;
  GenerationOptions options;
  bool strip_leading_space = false;
};

// An error answered before any of the reply: status and OpenAI error object.
struct HttpError {
  int status;
  std::string message;
  std::string type;
  std::string param;
  std::string code;
};

void send_error(httplib::Response& res, const HttpError& e) {
  res.status = e.status;
  res.set_content(error_body(e.message, e.type, e.param, e.code), "application/json");
}

// What the access log line of a request says beyond the request line.
struct LogEntry {
  Clock::time_point start = Clock::now();
  int prompt_tokens = -1;
  int completion_tokens = -1;
  std::string stop;
};

}  // namespace

struct Server::Impl {
  std::shared_ptr<const LoadedModel> model;
  ServerOptions options;
  ChatTemplate chat_template;
  std::unique_ptr<ContextPool> pool;
  int capacity = 0;
  httplib::Server http;
  std::atomic<uint64_t> next_id{0};
  uint64_t id_salt = 0;
  std::atomic<bool> stopping{false};

  std::mutex log_mutex;
  std::map<const httplib::Request*, LogEntry> log_entries;

  Impl(std::shared_ptr<const LoadedModel> m, const ServerOptions& o)
      : model(std::move(m)),
        options(o),
        chat_template(o.template_name.empty() ? ChatTemplate::detect(*model->tokenizer)
                                              : ChatTemplate::by_name(o.template_name)) {
    if (options.parallel < 1) throw std::invalid_argument("--parallel must be at least 1");
    std::vector<std::unique_ptr<InferenceContext>> contexts;
    for (int i = 0; i < options.parallel; ++i)
      contexts.push_back(model->create_context(model->context_capacity(options.context_tokens)));
    capacity = contexts.front()->capacity();
    pool = std::make_unique<ContextPool>(std::move(contexts));
    id_salt = std::random_device{}();
    routes();
  }

  std::string model_id() const { return model->identity.display_name; }

  LogEntry* log_entry(const httplib::Request& req) {
    std::lock_guard<std::mutex> lock(log_mutex);
    auto it = log_entries.find(&req);
    return it == log_entries.end() ? nullptr : &it->second;  // map nodes are stable
  }

  std::string new_id(RequestKind kind) {
    char hex[40];
    std::snprintf(hex, sizeof hex, "%08llx%06llx", static_cast<unsigned long long>(id_salt & 0xffffffffu),
                  static_cast<unsigned long long>(next_id.fetch_add(1)));
    return std::string(kind == RequestKind::Chat ? "chatcmpl-" : "cmpl-") + hex;
  }

  // Parses, renders and tokenizes a request; sets `error` when it cannot run.
  std::optional<Job> prepare(const httplib::Request& req, RequestKind kind, HttpError& error) {
    ParsedRequest parsed = parse_openai_request(req.body, kind, options.limits);
    if (!parsed.request) {
      error = {400, parsed.error.message, "invalid_request_error", parsed.error.param, ""};
      return std::nullopt;
    }
    Job job;
    job.request = std::move(*parsed.request);
    const OpenAIRequest& r = job.request;
    job.meta = {kind, new_id(kind), static_cast<int64_t>(std::time(nullptr)), model_id()};
    try {
      if (kind == RequestKind::Chat) {
        job.prompt = encode_prompt(*model->tokenizer, chat_template.render(r.system, r.messages, true));
        job.options.stop_strings = chat_template.stop_strings();
        job.strip_leading_space = chat_template.reply_strips_leading_space();
      } else {
        job.prompt = model->tokenizer->encode(r.prompt);
      }
    } catch (const std::exception& e) {
      error = {400, "the prompt cannot be encoded: " + error_message(e), "invalid_request_error", "", ""};
      return std::nullopt;
    }
    const int prompt_tokens = static_cast<int>(job.prompt.size());
    const int room = capacity - prompt_tokens;
    if (prompt_tokens == 0 || room < 1) {
      error = {400,
               "the prompt is " + std::to_string(prompt_tokens) + " tokens; the context holds " +
                   std::to_string(capacity) + " (prompt and reply)",
               "invalid_request_error", kind == RequestKind::Chat ? "messages" : "prompt", "context_length_exceeded"};
      return std::nullopt;
    }
    int max_tokens = r.max_tokens                        ? *r.max_tokens
                     : model->default_max_new_tokens > 0 ? model->default_max_new_tokens
                                                         : room;
    job.options.max_tokens = std::min(max_tokens, room);
    job.options.eos_ids = model->eos_ids;
    for (const std::string& s : r.stop) job.options.stop_strings.push_back(s);

    SamplingParams& s = job.sampling;
    s = model->sampling_defaults;
    if (r.temperature) s.temperature = *r.temperature;
    if (r.top_p) s.top_p = *r.top_p;
    if (r.top_k) s.top_k = *r.top_k;
    if (r.min_p) s.min_p = *r.min_p;
    if (r.repeat_penalty) s.repeat_penalty = *r.repeat_penalty;
    s.seed = r.seed && *r.seed != 0 ? *r.seed : random_seed();
    if (const std::string problem = sampling_params_problem(s); !problem.empty()) {
      error = {400, problem, "invalid_request_error", "", ""};
      return std::nullopt;
    }
    if (const std::string changed = model->model->files_changed(); !changed.empty()) {
      error = {503, "the model's files changed on disk (" + changed + "); restart dschat serve", "server_error", "",
               ""};
      return std::nullopt;
    }
    return job;
  }

  // Runs `job` in the lent context. on_text gets the reply's pieces; returning false (the client
  // went away) cancels. Sets `error` on failure.
  GenerationResult run(Job& job, InferenceContext& context, const std::function<bool(std::string_view)>& on_text,
                       std::atomic<bool>& cancel, std::string& error) {
    job.options.cancel = &cancel;
    Sampler sampler(job.sampling);
    StreamingTextDecoder decoder(*model->tokenizer);
    bool strip = job.strip_leading_space;
    auto on_piece = [&](std::string_view piece) {
      if (cancel.load()) return;
      if (strip) {
        std::size_t i = 0;
        while (i < piece.size() && is_space(piece[i])) ++i;
        piece.remove_prefix(i);
        if (piece.empty()) return;
        strip = false;
      }
      if (!on_text(piece)) cancel.store(true);
    };
    try {
      return generate(*model->model, context, job.prompt, sampler, decoder, job.options, on_piece);
    } catch (const std::exception& e) {
      context.truncate(0);  // unknown state: start afresh
      error = error_message(e);
      return {};
    }
  }

  void note(const httplib::Request& req, const GenerationStats& stats) {
    if (LogEntry* entry = log_entry(req)) {
      json usage = usage_object(stats);
      entry->prompt_tokens = stats.prompt_tokens;
      entry->completion_tokens = usage["completion_tokens"].get<int>();
      entry->stop = stop_reason_name(stats.stop);
    }
  }

  void completions(const httplib::Request& req, httplib::Response& res, RequestKind kind) {
    HttpError error;
    std::optional<Job> prepared = prepare(req, kind, error);
    if (!prepared) return send_error(res, error);
    auto job = std::make_shared<Job>(std::move(*prepared));
    if (!job->request.stream) {
      auto lease = std::make_shared<std::optional<ContextPool::Lease>>(pool->acquire(job->prompt));
      if (!*lease) return send_error(res, {503, "the server is shutting down", "server_error", "", ""});
      // Generated inside the content provider, whose sink sees the connection: a client that
      // closes it cancels the generation at the next piece (sink.is_writable() peeks at the
      // socket), as for a stream. The status (200) goes out before the generation; an engine
      // failure then closes the connection without the body's last chunk (the client sees an
      // incomplete response, the log the error). The body is sent chunked, in one piece.
      res.set_chunked_content_provider("application/json", [this, job, lease, &req](std::size_t,
                                                                                   httplib::DataSink& sink) {
        std::string text, failure;
        std::atomic<bool> cancel{false};
        bool client_gone = false;
        GenerationResult result = run(
            *job, (*lease)->context(),
            [&](std::string_view piece) {
              text.append(piece);
              if (!sink.is_writable()) client_gone = true;
              return !client_gone;
            },
            cancel, failure);
        lease->reset();
        if (client_gone) {
          note(req, result.stats);
          if (LogEntry* entry = log_entry(req)) entry->stop = "client gone";
          return false;  // the connection is closed
        }
        if (!failure.empty()) {
          std::fprintf(stderr, "dschat serve: %s %s: engine failure: %s\n", req.remote_addr.c_str(),
                       req.path.substr(0, 200).c_str(), failure.c_str());
          if (LogEntry* entry = log_entry(req)) entry->stop = "error";
          return false;
        }
        if (job->strip_leading_space)
          while (!text.empty() && is_space(text.back())) text.pop_back();
        note(req, result.stats);
        const std::string body =
            completion_object(job->meta, text, result.stats).dump(-1, ' ', false, json::error_handler_t::replace);
        sink.write(body.data(), body.size());
        sink.done();
        return true;
      });
      return;
    }
    res.set_header("Cache-Control", "no-cache");
    res.set_chunked_content_provider("text/event-stream", [this, job, &req](std::size_t, httplib::DataSink& sink) {
      std::atomic<bool> cancel{false};
      bool client_gone = false;
      auto write = [&](const std::string& event) {
        if (client_gone || !sink.write(event.data(), event.size())) client_gone = true;
        return !client_gone;
      };
      std::optional<ContextPool::Lease> lease = pool->acquire(job->prompt, [&] { return !sink.is_writable(); });
      if (!lease) {
        write(sse_event(json::parse(error_body("the server is shutting down", "server_error"))));
        sink.done();
        return true;
      }
      bool first = true;
      std::string failure;
      GenerationResult result = run(
          *job, lease->context(),
          [&](std::string_view piece) {
            const bool ok = write(sse_event(stream_chunk(job->meta, std::string(piece), first, std::nullopt)));
            first = false;
            return ok;
          },
          cancel, failure);
      lease.reset();
      if (client_gone) {
        if (LogEntry* entry = log_entry(req)) entry->stop = "client gone";
        return false;  // the connection is closed
      }
      if (!failure.empty()) {
        write(sse_event(json::parse(error_body(failure, "server_error"))));
      } else {
        note(req, result.stats);
        if (first) write(sse_event(stream_chunk(job->meta, "", true, std::nullopt)));
        write(sse_event(stream_chunk(job->meta, "", false, result.stats.stop)));
        if (job->request.include_usage) write(sse_event(usage_chunk(job->meta, result.stats)));
      }
      write(kSseDone);
      sink.done();
      return true;
    });
  }

  bool authorized(const httplib::Request& req) const {
    if (options.api_key.empty()) return true;
    const std::string expected = "Bearer " + options.api_key;
    const std::string& given = req.get_header_value("Authorization");
    // Compared in time independent of where they differ.
    if (given.size() != expected.size()) return false;
    unsigned char diff = 0;
    for (std::size_t i = 0; i < given.size(); ++i) diff |= static_cast<unsigned char>(given[i] ^ expected[i]);
    return diff == 0;
  }

  void routes() {
    http.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
      {
        std::lock_guard<std::mutex> lock(log_mutex);
        log_entries[&req] = LogEntry{};
      }
      if (req.path.rfind("/v1/", 0) == 0 && !authorized(req)) {
        res.set_header("WWW-Authenticate", "Bearer");
        send_error(res, {401, "a valid API key is required (Authorization: Bearer KEY)", "invalid_request_error", "",
                         "invalid_api_key"});
        return httplib::Server::HandlerResponse::Handled;
      }
      return httplib::Server::HandlerResponse::Unhandled;
    });
    http.Post("/v1/chat/completions", [this](const httplib::Request& req, httplib::Response& res) {
      completions(req, res, RequestKind::Chat);
    });
    http.Post("/v1/completions", [this](const httplib::Request& req, httplib::Response& res) {
      completions(req, res, RequestKind::Completion);
    });
    http.Get("/v1/models", [this](const httplib::Request&, httplib::Response& res) {
      json models = {{"object", "list"},
                     {"data", json::array({{{"id", model_id()},
                                            {"object", "model"},
                                            {"created", 0},
                                            {"owned_by", "dschat"},
                                            {"meta", {{"n_ctx", capacity}, {"template", chat_template.name()}}}}})}};
      res.set_content(models.dump(-1, ' ', false, json::error_handler_t::replace), "application/json");
    });
    http.Get("/health", [this](const httplib::Request&, httplib::Response& res) {
      json health = {{"status", "ok"},
                     {"slots_busy", pool->busy()},
                     {"slots_total", pool->size()},
                     {"requests_waiting", pool->waiting()}};
      res.set_content(health.dump(), "application/json");
    });
    http.set_error_handler(
        httplib::Server::HandlerWithResponse([](const httplib::Request& req, httplib::Response& res) {
          if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
          if (res.status == 404) {
            send_error(res, {404, "no route " + req.method + " " + req.path.substr(0, 200), "invalid_request_error", "",
                             "not_found"});
          } else if (res.status == 413) {
            send_error(res, {413, "the request body is too large", "invalid_request_error", "", "payload_too_large"});
          } else {
            send_error(res, {res.status, "the request was refused (HTTP " + std::to_string(res.status) + ")",
                             "invalid_request_error", "", ""});
          }
          return httplib::Server::HandlerResponse::Handled;
        }));
    http.set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr ep) {
      std::string what = "internal error";
      try {
        std::rethrow_exception(ep);
      } catch (const std::exception& e) {
        what = error_message(e);
      } catch (...) {
      }
      send_error(res, {500, what, "server_error", "", ""});
    });
    http.set_logger([this](const httplib::Request& req, const httplib::Response& res) {
      LogEntry entry;
      {
        std::lock_guard<std::mutex> lock(log_mutex);
        auto it = log_entries.find(&req);
        if (it != log_entries.end()) {
          entry = it->second;
          log_entries.erase(it);
        }
      }
      if (!options.access_log) return;
      const double ms = std::chrono::duration<double, std::milli>(Clock::now() - entry.start).count();
      std::string tokens;
      if (entry.prompt_tokens >= 0)
        tokens =
            " prompt=" + std::to_string(entry.prompt_tokens) + " completion=" + std::to_string(entry.completion_tokens);
      if (!entry.stop.empty()) tokens += " stop=" + entry.stop;
      // The path only (a query string could carry anything), cut; never headers or bodies.
      std::string path = req.path.substr(0, 200);
      for (char& c : path)
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = '?';
      std::fprintf(stderr, "dschat serve: %s %s %s %d%s %.0f ms\n", req.remote_addr.c_str(), req.method.c_str(),
                   path.c_str(), res.status, tokens.c_str(), ms);
    });
    http.set_payload_max_length(options.max_body_bytes);
    http.set_read_timeout(options.read_timeout_seconds, 0);
    http.set_write_timeout(options.write_timeout_seconds, 0);
    http.set_keep_alive_timeout(5);
    const int threads = std::max(8, options.parallel * 2 + 8);
    http.new_task_queue = [threads] { return new httplib::ThreadPool(static_cast<std::size_t>(threads)); };
  }
};

Server::Server(std::shared_ptr<const LoadedModel> model, const ServerOptions& options)
    : impl_(std::make_unique<Impl>(std::move(model), options)) {}

Server::~Server() = default;

int Server::bind() {
  const int port =
      impl_->options.port == 0
          ? impl_->http.bind_to_any_port(impl_->options.host)
          : (impl_->http.bind_to_port(impl_->options.host, impl_->options.port) ? impl_->options.port : -1);
  if (port < 0)
    throw std::runtime_error("cannot listen on " + impl_->options.host + ":" + std::to_string(impl_->options.port) +
                             " (address in use, or not an address of this machine)");
  return port;
}

void Server::run() { impl_->http.listen_after_bind(); }

void Server::stop() {
  impl_->stopping.store(true);
  impl_->pool->close();  // requests still waiting for a context get 503; running ones finish
  impl_->http.stop();
}

std::string Server::model_id() const { return impl_->model_id(); }

}  // namespace dschat
