// An in-process OpenAI-compatible server for the remote responder's tests (cpp-httplib on
// 127.0.0.1, a free port): GET /v1/models and POST /v1/chat/completions, answering with scripted
// SSE events, errors, drops and stalls. It records the requests it received.
#pragma once

#include <httplib.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace dschat::fake {

class FakeOpenAiServer {
 public:
  enum class Mode { Stream, Error, DropMidStream, Stall, Raw };

  FakeOpenAiServer() {
    server_.Get("/v1/models", [this](const httplib::Request& req, httplib::Response& res) {
      record(req);
      res.set_content(R"({"object":"list","data":[{"id":"deepseek-v3","object":"model","owned_by":"fake"},)"
                      R"({"id":"deepseek-r1","object":"model","owned_by":"fake"}]})",
                      "application/json");
    });
    server_.Post("/v1/chat/completions", [this](const httplib::Request& req, httplib::Response& res) {
      record(req);
      if (mode == Mode::Error) {
        res.status = status;
        if (!retry_after.empty()) res.set_header("Retry-After", retry_after);
        res.set_content(error_body, "application/json");
        return;
      }
      res.set_chunked_content_provider("text/event-stream", [this](size_t, httplib::DataSink& sink) {
        for (const std::string& event : events) {
          if (mode == Mode::Raw) {
            sink.write(event.data(), event.size());
          } else {
            std::string text = "data: " + event + "\n\n";
            sink.write(text.data(), text.size());
          }
          std::this_thread::sleep_for(std::chrono::milliseconds(event_delay_ms));
        }
        if (mode == Mode::DropMidStream) return false;  // closes without the last chunk
        if (mode == Mode::Stall) {
          while (!release.load() && sink.is_writable()) std::this_thread::sleep_for(std::chrono::milliseconds(20));
          return false;
        }
        if (mode == Mode::Stream) sink.write("data: [DONE]\n\n", 14);
        sink.done();
        return true;
      });
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    while (!server_.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ~FakeOpenAiServer() {
    release.store(true);
    server_.stop();
    thread_.join();
  }

  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }

  struct Received {
    std::string method, path, body, authorization;
  };
  std::vector<Received> received() {
    std::lock_guard lock(mutex_);
    return received_;
  }

  // The script (set before the request).
  Mode mode = Mode::Stream;
  std::vector<std::string> events;  // chunk JSON texts (Raw: bytes as they are)
  int event_delay_ms = 0;
  int status = 500;
  std::string error_body;
  std::string retry_after;
  std::atomic<bool> release{false};  // ends a stall

 private:
  void record(const httplib::Request& req) {
    std::lock_guard lock(mutex_);
    received_.push_back({req.method, req.path, req.body, req.get_header_value("Authorization")});
  }
  httplib::Server server_;
  int port_ = 0;
  std::thread thread_;
  std::mutex mutex_;
  std::vector<Received> received_;
};

// A chat.completion.chunk with `delta`.
inline std::string chunk_event(const std::string& delta, const std::string& finish = "null") {
  return R"({"id":"x","object":"chat.completion.chunk","model":"deepseek-v3","choices":[{"index":0,"delta":)" + delta +
         R"(,"finish_reason":)" + finish + "}]}";
}

}  // namespace dschat::fake
