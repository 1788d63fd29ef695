#include "app/backend/http_client.h"

#include <curl/curl.h>

#include <cctype>
#include <chrono>
#include <cstdio>
#include <memory>
#include <mutex>

namespace dschat {

namespace {

void global_init() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

using Clock = std::chrono::steady_clock;

struct Transfer {
  const std::function<bool(std::string_view)>* on_data = nullptr;
  Clock::time_point last_activity = Clock::now();  // the last byte received or sent
  curl_off_t uploaded = 0;
  const std::atomic<bool>* cancel = nullptr;
  CURL* easy = nullptr;
  HttpResponse response;
  bool stopped_by_reader = false;
};

bool is_success(long status) { return status >= 200 && status < 300; }

size_t on_write(char* data, size_t size, size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const size_t bytes = size * count;
  t->last_activity = Clock::now();
  if (t->cancel->load()) return 0;  // aborts the transfer (CURLE_WRITE_ERROR, reported as cancelled)
  long status = 0;
  curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &status);
  if (t->on_data && is_success(status)) {
    if (!(*t->on_data)(std::string_view(data, bytes))) {
      t->stopped_by_reader = true;
      return 0;
    }
    return bytes;
  }
  const size_t room = HttpClient::kMaxBufferedBody - t->response.body.size();
  if (bytes > room) t->response.body_truncated = true;
  t->response.body.append(data, std::min(bytes, room));
  return bytes;
}

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string trim(std::string s) {
  while (!s.empty() && (s.back() == '\r' || s.back() == '\n' || s.back() == ' ' || s.back() == '\t')) s.pop_back();
  size_t start = s.find_first_not_of(" \t");
  return start == std::string::npos ? "" : s.substr(start);
}

size_t on_header(char* data, size_t size, size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  t->last_activity = Clock::now();
  const std::string line(data, size * count);
  const size_t colon = line.find(':');
  if (colon != std::string::npos) {
    const std::string name = lower(line.substr(0, colon));
    if (name == "retry-after") t->response.retry_after = trim(line.substr(colon + 1)).substr(0, 100);
    if (name == "content-type") t->response.content_type = trim(line.substr(colon + 1)).substr(0, 200);
  }
  return size * count;
}

int on_progress(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t uploaded) {
  auto* t = static_cast<Transfer*>(user);
  if (uploaded != t->uploaded) {  // a large request body still going out is not a stall
    t->uploaded = uploaded;
    t->last_activity = Clock::now();
  }
  return t->cancel->load() ? 1 : 0;
}

// "120 s", "0.5 s".
std::string seconds_text(long ms) {
  char text[32];
  if (ms % 1000 == 0) {
    std::snprintf(text, sizeof text, "%ld s", ms / 1000);
  } else {
    std::snprintf(text, sizeof text, "%.1f s", ms / 1000.0);
  }
  return text;
}

struct EasyDeleter {
  void operator()(CURL* c) const { curl_easy_cleanup(c); }
};
struct MultiDeleter {
  void operator()(CURLM* m) const { curl_multi_cleanup(m); }
};
struct SlistDeleter {
  void operator()(curl_slist* l) const { curl_slist_free_all(l); }
};

}  // namespace

ParsedUrl parse_http_url(const std::string& url) {
  global_init();
  std::unique_ptr<CURLU, decltype(&curl_url_cleanup)> u(curl_url(), curl_url_cleanup);
  if (!u) throw HttpError(HttpError::Kind::Other, "out of memory");
  if (CURLUcode rc = curl_url_set(u.get(), CURLUPART_URL, url.c_str(), 0); rc != CURLUE_OK)
    throw HttpError(HttpError::Kind::BadUrl, "'" + url + "' is not a URL: " + curl_url_strerror(rc));
  auto part = [&](CURLUPart which) {
    char* value = nullptr;
    std::string text;
    if (curl_url_get(u.get(), which, &value, 0) == CURLUE_OK && value) text = value;
    curl_free(value);
    return text;
  };
  ParsedUrl parsed{lower(part(CURLUPART_SCHEME)), part(CURLUPART_HOST), part(CURLUPART_PORT), part(CURLUPART_PATH)};
  if (parsed.scheme != "http" && parsed.scheme != "https")
    throw HttpError(HttpError::Kind::BadUrl, "'" + url + "': only http:// and https:// URLs are supported");
  if (!part(CURLUPART_USER).empty() || !part(CURLUPART_PASSWORD).empty())
    throw HttpError(HttpError::Kind::BadUrl,
                    "the URL must not hold a user name or password (give the key with --api-key-env VAR)");
  if (!part(CURLUPART_QUERY).empty() || !part(CURLUPART_FRAGMENT).empty())
    throw HttpError(HttpError::Kind::BadUrl, "'" + url + "': the URL must not have a query or fragment");
  if (parsed.path.empty()) parsed.path.push_back('/');  // (not = "/": GCC 12 -Wrestrict false positive)
  return parsed;
}

HttpResponse HttpClient::post_stream(const std::string& url, const std::vector<std::string>& headers,
                                     const std::string& body, const std::function<bool(std::string_view)>& on_data,
                                     const std::atomic<bool>& cancel) const {
  return perform(url, headers, &body, on_data, cancel);
}

HttpResponse HttpClient::get(const std::string& url, const std::vector<std::string>& headers,
                             const std::atomic<bool>& cancel) const {
  return perform(url, headers, nullptr, nullptr, cancel);
}

HttpResponse HttpClient::perform(const std::string& url, const std::vector<std::string>& headers,
                                 const std::string* post_body, const std::function<bool(std::string_view)>& on_data,
                                 const std::atomic<bool>& cancel) const {
  global_init();
  std::unique_ptr<CURL, EasyDeleter> easy(curl_easy_init());
  std::unique_ptr<CURLM, MultiDeleter> multi(curl_multi_init());
  if (!easy || !multi) throw HttpError(HttpError::Kind::Other, "cannot start an HTTP transfer (out of memory)");
  Transfer t;
  t.on_data = on_data ? &on_data : nullptr;
  t.cancel = &cancel;
  t.easy = easy.get();
  curl_slist* list = nullptr;
  for (const std::string& h : headers) list = curl_slist_append(list, h.c_str());
  std::unique_ptr<curl_slist, SlistDeleter> header_list(list);
  char error_buffer[CURL_ERROR_SIZE] = "";

  CURL* e = easy.get();
  curl_easy_setopt(e, CURLOPT_URL, url.c_str());
  curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(e, CURLOPT_HTTPHEADER, header_list.get());
  curl_easy_setopt(e, CURLOPT_ERRORBUFFER, error_buffer);
  curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, options_.connect_timeout_ms);
  curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_write);
  curl_easy_setopt(e, CURLOPT_WRITEDATA, &t);
  curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(e, CURLOPT_HEADERDATA, &t);
  curl_easy_setopt(e, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(e, CURLOPT_XFERINFOFUNCTION, on_progress);
  curl_easy_setopt(e, CURLOPT_XFERINFODATA, &t);
  curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, "");  // gzip/deflate when the server offers them
  if (post_body) {
    curl_easy_setopt(e, CURLOPT_POST, 1L);
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, post_body->data());
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(post_body->size()));
  }

  // The multi interface, polled every 50 ms, so a cancel ends even a transfer that receives
  // nothing (curl_easy_perform would only call the progress callback about once a second).
  curl_multi_add_handle(multi.get(), e);
  int running = 1;
  CURLcode result = CURLE_OK;
  bool cancelled = false;
  bool stalled = false;
  const auto stall_timeout = std::chrono::milliseconds(options_.stall_timeout_ms);
  t.last_activity = Clock::now();
  while (running) {
    if (curl_multi_perform(multi.get(), &running) != CURLM_OK) break;
    if (cancel.load()) {
      cancelled = true;
      break;
    }
    if (running && Clock::now() - t.last_activity >= stall_timeout) {
      stalled = true;
      break;
    }
    if (running) curl_multi_poll(multi.get(), nullptr, 0, 50, nullptr);
  }
  int queued = 0;
  while (CURLMsg* msg = curl_multi_info_read(multi.get(), &queued)) {
    if (msg->msg == CURLMSG_DONE) result = msg->data.result;
  }
  curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &t.response.status);
  curl_multi_remove_handle(multi.get(), e);

  if (cancelled || result == CURLE_ABORTED_BY_CALLBACK || (cancel.load() && result != CURLE_OK))
    throw HttpError(HttpError::Kind::Cancelled, "cancelled");
  if (stalled)
    throw HttpError(HttpError::Kind::Stalled, "the server sent nothing for " + seconds_text(options_.stall_timeout_ms));
  if (result == CURLE_WRITE_ERROR && t.stopped_by_reader) return t.response;
  if (result == CURLE_OK) return t.response;

  const std::string detail = error_buffer[0] ? error_buffer : curl_easy_strerror(result);
  using K = HttpError::Kind;
  switch (result) {
    case CURLE_URL_MALFORMAT:
    case CURLE_UNSUPPORTED_PROTOCOL:
      throw HttpError(K::BadUrl, detail);
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
      throw HttpError(K::Dns, "cannot resolve the host name (" + detail + ")");
    case CURLE_COULDNT_CONNECT:
      throw HttpError(K::Connect, "cannot connect (" + detail + ")");
    case CURLE_OPERATION_TIMEDOUT:
      if (t.response.status == 0 && detail.find("onnect") != std::string::npos)
        throw HttpError(K::Connect, "cannot connect (" + detail + ")");
      throw HttpError(K::Stalled, "the server sent nothing for " + seconds_text(options_.stall_timeout_ms) + " (" +
                                      detail + ")");
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CACERT_BADFILE:
      throw HttpError(K::Tls, "TLS failed (" + detail + ")");
    case CURLE_GOT_NOTHING:
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
    case CURLE_PARTIAL_FILE:
      throw HttpError(K::Reset, "the connection was closed or reset by the server (" + detail + ")");
    default:
      throw HttpError(K::Other, detail);
  }
}

}  // namespace dschat
