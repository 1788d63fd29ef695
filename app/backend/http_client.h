// A small HTTP client over libcurl (Debian's libcurl4-openssl-dev: TLS for https://, proxies from
// the environment): a streaming POST whose body arrives through a callback, and a GET, both
// cancellable at once from another thread and bounded by a connect and a stall timeout.
// Only what the remote responder needs; no retries, no redirects.
#pragma once

#include <atomic>
#include <functional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace dschat {

struct HttpOptions {
  long connect_timeout_ms = 10'000;
  // No byte received (nor sent) for this long, a stalled server or network, ends the transfer with
  // HttpError::Stalled. Timed here from the last byte, not with CURLOPT_LOW_SPEED_*: libcurl
  // averages the speed over the last ~5 s, so a stall right after some bytes ended ~5 s late.
  long stall_timeout_ms = 120'000;
};

// A transfer that did not complete. `what()` is the reason as one line; it never contains the
// request's headers (the API key).
struct HttpError : std::runtime_error {
  enum class Kind { BadUrl, Dns, Connect, Stalled, Reset, Cancelled, Tls, Other };
  HttpError(Kind kind, const std::string& message) : std::runtime_error(message), kind(kind) {}
  Kind kind;
};

struct HttpResponse {
  long status = 0;   // HTTP status (0 when no response came)
  std::string body;  // the body when not streamed (GET, or a non-2xx status), bounded
  std::string content_type;
  std::string retry_after;      // the Retry-After header, "" when absent
  bool body_truncated = false;  // `body` stopped at kMaxBufferedBody
};

class HttpClient {
 public:
  static constexpr std::size_t kMaxBufferedBody = 1 << 20;

  explicit HttpClient(HttpOptions options = {}) : options_(options) {}

  // POST `body` to `url`; a 2xx body is passed to on_data as it arrives (on_data returns false to
  // stop reading: the transfer ends without error), any other status's body is kept in the
  // response. Setting `cancel` ends the transfer within ~50 ms with HttpError::Cancelled (bytes
  // already given to on_data stay given). Throws HttpError when no complete response came.
  HttpResponse post_stream(const std::string& url, const std::vector<std::string>& headers, const std::string& body,
                           const std::function<bool(std::string_view)>& on_data, const std::atomic<bool>& cancel) const;
  // GET `url`; the body (bounded) is in the response.
  HttpResponse get(const std::string& url, const std::vector<std::string>& headers,
                   const std::atomic<bool>& cancel) const;

 private:
  HttpResponse perform(const std::string& url, const std::vector<std::string>& headers, const std::string* post_body,
                       const std::function<bool(std::string_view)>& on_data, const std::atomic<bool>& cancel) const;
  HttpOptions options_;
};

// Parsed base URL: scheme http or https, host, optional port and path. Throws HttpError::BadUrl
// naming what is wrong. Userinfo (user:password@) is refused: a key goes in --api-key-env.
struct ParsedUrl {
  std::string scheme;
  std::string host;
  std::string port;  // "" = the scheme's default
  std::string path;  // "/" when empty
};
ParsedUrl parse_http_url(const std::string& url);

}  // namespace dschat
