// The remote responder against in-process fake OpenAI servers (tests/app/backend/fake_openai_server.h):
// what it sends (messages, sampling, the key only in the Authorization header) and what it makes of
// every kind of answer: a normal stream, R1's reasoning_content, missing usage, choices null, HTTP
// errors (500, 401, 429), a drop or a stall mid-stream, garbage, and a cancel mid-stream.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <chrono>
#include <thread>

#include "app/backend/remote_responder.h"
#include "tests/app/backend/fake_openai_server.h"

namespace dschat {
namespace {

using fake::chunk_event;
using fake::FakeOpenAiServer;
using Mode = FakeOpenAiServer::Mode;

const char* kKey = "sk-test-SECRET-4f2a";

RemoteOptions options_for(const FakeOpenAiServer& server, std::string model = "") {
  RemoteOptions o;
  o.url = server.url();
  o.model = std::move(model);
  o.http.connect_timeout_ms = 2000;
  o.http.stall_timeout_ms = 300;
  return o;
}

ResponderRequest two_turn_request() {
  ResponderRequest r;
  r.conversation.system = "Be brief.";
  r.conversation.messages = {{Role::User, "old question", "", std::nullopt, false},
                             {Role::Assistant, "old answer", "", std::nullopt, false},
                             {Role::User, "What is 2+2?", "", std::nullopt, false}};
  r.sampling.temperature = 0.5f;
  r.sampling.top_p = 0.8f;
  r.sampling.top_k = 40;
  r.sampling.seed = 1234;
  r.max_reply_tokens = 64;
  return r;
}

struct Answer {
  ReplyResult result;
  std::string streamed;
  std::vector<std::string> notices;
};

Answer respond(RemoteResponder& responder, const ResponderRequest& request) {
  Answer run;
  std::atomic<bool> cancel{false};
  ReplyCallbacks callbacks;
  callbacks.on_piece = [&](std::string_view piece) { run.streamed += piece; };
  callbacks.on_notice = [&](const std::string& n) { run.notices.push_back(n); };
  run.result = responder.respond(request, callbacks, cancel);
  return run;
}

TEST(RemoteResponder, NormalisesTheBaseUrl) {
  EXPECT_EQ(normalise_base_url("http://h:8000"), "http://h:8000/v1");
  EXPECT_EQ(normalise_base_url("http://h:8000/"), "http://h:8000/v1");
  EXPECT_EQ(normalise_base_url("http://h:8000/v1/"), "http://h:8000/v1");
  EXPECT_EQ(normalise_base_url("https://api.example.com/api/v1"), "https://api.example.com/api/v1");
  EXPECT_THROW(normalise_base_url("ftp://h/"), std::invalid_argument);
  EXPECT_THROW(normalise_base_url("not a url"), std::invalid_argument);
  try {
    normalise_base_url("http://user:hunter2@h:8000/v1");
    FAIL();
  } catch (const std::invalid_argument& e) {
    EXPECT_EQ(std::string(e.what()).find("hunter2"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("--api-key-env"), std::string::npos) << e.what();
  }
}

TEST(RemoteResponder, PicksTheFirstModelOrTheNamedOne) {
  FakeOpenAiServer server;
  std::atomic<bool> cancel{false};
  RemoteResponder first(options_for(server), cancel);
  EXPECT_EQ(first.model_name(), "deepseek-v3");
  EXPECT_EQ(first.model_path(), server.url() + "/v1");
  EXPECT_EQ(first.display_name(), "remote: deepseek-v3 @ " + server.url().substr(7));
  EXPECT_NE(first.model_info().find("deepseek-r1"), std::string::npos);  // the list, for /show info
  RemoteResponder named(options_for(server, "deepseek-r1"), cancel);
  EXPECT_EQ(named.model_name(), "deepseek-r1");
  try {
    RemoteResponder unknown(options_for(server, "llama"), cancel);
    FAIL();
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("'llama' is not served"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("deepseek-v3, deepseek-r1"), std::string::npos) << e.what();
  }
}

TEST(RemoteResponder, StreamsAReplyAndSendsTheConversation) {
  FakeOpenAiServer server;
  server.events = {chunk_event(R"({"role":"assistant","content":""})"), chunk_event(R"({"content":"Four"})"),
                   chunk_event(R"({"content":"."})"), chunk_event("{}", R"("stop")"),
                   R"({"id":"x","choices":[],"usage":{"prompt_tokens":21,"completion_tokens":2}})"};
  RemoteOptions options = options_for(server);
  options.api_key_env = "TEST_KEY";
  options.api_key = kKey;
  std::atomic<bool> cancel{false};
  RemoteResponder responder(options, cancel);
  ResponderRequest request = two_turn_request();
  request.conversation.first_in_context = 2;  // the oldest turn was left out earlier: not sent
  Answer run = respond(responder, request);
  ASSERT_TRUE(run.result.ok) << run.result.error;
  EXPECT_EQ(run.result.reply, "Four.");
  EXPECT_EQ(run.streamed, "Four.");
  EXPECT_FALSE(run.result.interrupted);
  EXPECT_EQ(run.result.stats.stop, StopReason::Eos);
  EXPECT_EQ(run.result.stats.prompt_tokens, 21);
  EXPECT_EQ(run.result.stats.generated_tokens, 2);
  EXPECT_EQ(responder.context_used(), 23);

  auto received = server.received();
  ASSERT_EQ(received.size(), 2u);
  EXPECT_EQ(received[1].path, "/v1/chat/completions");
  EXPECT_EQ(received[1].authorization, std::string("Bearer ") + kKey);
  nlohmann::json body = nlohmann::json::parse(received[1].body);
  EXPECT_EQ(body["model"], "deepseek-v3");
  EXPECT_EQ(body["stream"], true);
  EXPECT_EQ(body["stream_options"]["include_usage"], true);
  ASSERT_EQ(body["messages"].size(), 2u);
  EXPECT_EQ(body["messages"][0], (nlohmann::json{{"role", "system"}, {"content", "Be brief."}}));
  EXPECT_EQ(body["messages"][1], (nlohmann::json{{"role", "user"}, {"content", "What is 2+2?"}}));
  EXPECT_FLOAT_EQ(body["temperature"].get<float>(), 0.5f);
  EXPECT_FLOAT_EQ(body["top_p"].get<float>(), 0.8f);
  EXPECT_EQ(body["top_k"], 40);
  EXPECT_EQ(body["seed"], 1234);
  EXPECT_EQ(body["max_tokens"], 64);
  EXPECT_FALSE(body.contains("min_p"));  // off: not sent
  for (const auto& r : received) EXPECT_EQ(r.body.find(kKey), std::string::npos);
  EXPECT_EQ(responder.model_info().find(kKey), std::string::npos);
  EXPECT_NE(responder.model_info().find("$TEST_KEY"), std::string::npos);
}

TEST(RemoteResponder, StopStringsAreSentAndHonouredHere) {
  FakeOpenAiServer server;  // ignores `stop`: streams past it
  server.events = {chunk_event(R"({"content":"one two ST"})"), chunk_event(R"({"content":"OP three"})"),
                   chunk_event(R"({"content":" four"})"), chunk_event("{}", R"("stop")")};
  std::atomic<bool> cancel{false};
  RemoteResponder responder(options_for(server), cancel);
  ResponderRequest request = two_turn_request();
  request.stop = {"STOP", "\n\n"};
  Answer run = respond(responder, request);
  ASSERT_TRUE(run.result.ok) << run.result.error;
  EXPECT_EQ(run.result.reply, "one two ");  // the held-back "ST" was the stop string's start
  EXPECT_EQ(run.streamed, "one two ");
  EXPECT_FALSE(run.result.interrupted);
  EXPECT_EQ(run.result.stats.stop, StopReason::StopString);
  nlohmann::json body = nlohmann::json::parse(server.received().back().body);
  EXPECT_EQ(body["stop"], nlohmann::json::array({"STOP", "\n\n"}));

  // A held-back prefix that never completes is released at the end; no stop, no field.
  server.events = {chunk_event(R"({"content":"ends in ST"})"), chunk_event("{}", R"("stop")")};
  run = respond(responder, request);
  EXPECT_EQ(run.result.reply, "ends in ST");
  EXPECT_EQ(run.result.stats.stop, StopReason::Eos);
  run = respond(responder, two_turn_request());
  EXPECT_FALSE(nlohmann::json::parse(server.received().back().body).contains("stop"));
}

TEST(RemoteResponder, ReasoningContentBecomesAThinkBlock) {
  FakeOpenAiServer server;
  server.events = {chunk_event(R"({"reasoning_content":"2+2"})"), chunk_event(R"({"reasoning_content":" is 4"})"),
                   chunk_event(R"({"content":"4"})"), chunk_event("{}", R"("stop")")};
  std::atomic<bool> cancel{false};
  RemoteResponder responder(options_for(server), cancel);
  Answer run = respond(responder, two_turn_request());
  ASSERT_TRUE(run.result.ok) << run.result.error;
  EXPECT_EQ(run.result.reply, "<think>\n2+2 is 4\n</think>\n\n4");
  EXPECT_EQ(run.streamed, run.result.reply);
}

TEST(RemoteResponder, LenientWithoutUsageAndWithNullChoices) {
  FakeOpenAiServer server;
  server.events = {R"({"choices":null})", chunk_event(R"({"content":"ok"})"),
                   chunk_event(R"({"content":null})", R"("length")")};
  std::atomic<bool> cancel{false};
  RemoteResponder responder(options_for(server), cancel);
  Answer run = respond(responder, two_turn_request());
  ASSERT_TRUE(run.result.ok) << run.result.error;
  EXPECT_EQ(run.result.reply, "ok");
  EXPECT_EQ(run.result.stats.stop, StopReason::Length);
  EXPECT_EQ(run.result.stats.generated_tokens, 1);  // no usage: the pieces counted
}

std::string error_for(FakeOpenAiServer& server, RemoteOptions options) {
  std::atomic<bool> cancel{false};
  RemoteResponder responder(options, cancel);
  Answer run = respond(responder, two_turn_request());
  EXPECT_FALSE(run.result.ok);
  EXPECT_TRUE(run.result.reply.empty());
  (void)server;
  return run.result.error;
}

TEST(RemoteResponder, HttpErrorsCarryTheServersMessage) {
  FakeOpenAiServer server;
  server.mode = Mode::Error;
  server.status = 500;
  server.error_body = R"({"error":{"message":"CUDA out of memory","type":"server_error"}})";
  std::string error = error_for(server, options_for(server));
  EXPECT_NE(error.find("HTTP 500: CUDA out of memory"), std::string::npos) << error;

  server.status = 401;
  server.error_body = R"({"error":{"message":"Invalid API key"}})";
  RemoteOptions keyed = options_for(server);
  keyed.api_key_env = "MY_KEY";
  keyed.api_key = kKey;
  error = error_for(server, keyed);
  EXPECT_NE(error.find("HTTP 401: Invalid API key"), std::string::npos) << error;
  EXPECT_NE(error.find("$MY_KEY was refused"), std::string::npos) << error;
  EXPECT_EQ(error.find(kKey), std::string::npos) << error;
  keyed.api_key.clear();
  EXPECT_NE(error_for(server, keyed).find("$MY_KEY is not set"), std::string::npos);
  EXPECT_NE(error_for(server, options_for(server)).find("--api-key-env"), std::string::npos);

  server.status = 429;
  server.retry_after = "17";
  server.error_body = R"({"error":{"message":"Rate limit reached"}})";
  error = error_for(server, options_for(server));
  EXPECT_NE(error.find("HTTP 429: Rate limit reached"), std::string::npos) << error;
  EXPECT_NE(error.find("retry after 17 s"), std::string::npos) << error;
}

TEST(RemoteResponder, ErrorsThatMayPassAreRetryable) {
  FakeOpenAiServer server;
  server.mode = Mode::Error;
  server.error_body = R"({"error":{"message":"no"}})";
  std::atomic<bool> cancel{false};
  RemoteResponder responder(options_for(server), cancel);
  for (int status : {500, 502, 503, 429, 408, 401, 403, 400, 404, 413, 422}) {
    server.status = status;
    Answer run = respond(responder, two_turn_request());
    ASSERT_FALSE(run.result.ok) << status;
    const bool may_pass = status >= 500 || status == 429 || status == 408 || status == 401 || status == 403;
    EXPECT_EQ(run.result.retryable, may_pass) << status << ": " << run.result.error;
  }
  server.mode = Mode::DropMidStream;  // closed before anything came
  server.events = {};
  Answer dropped = respond(responder, two_turn_request());
  ASSERT_FALSE(dropped.result.ok);
  EXPECT_TRUE(dropped.result.retryable) << dropped.result.error;
}

TEST(RemoteResponder, ConnectionRefusedAndUnknownHost) {
  int port = 0;
  {
    FakeOpenAiServer gone;  // a port that was just free and is closed again
    port = std::stoi(gone.url().substr(gone.url().rfind(':') + 1));
  }
  RemoteOptions refused;
  refused.url = "http://127.0.0.1:" + std::to_string(port);
  std::atomic<bool> cancel{false};
  try {
    RemoteResponder r(refused, cancel);
    FAIL();
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("cannot connect"), std::string::npos) << e.what();
  }
  RemoteOptions dns;
  dns.url = "http://no-such-host.invalid:8000";
  try {
    RemoteResponder r(dns, cancel);
    FAIL();
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("cannot resolve"), std::string::npos) << e.what();
  }
}

TEST(RemoteResponder, DropMidStreamKeepsThePartialReply) {
  FakeOpenAiServer server;
  server.mode = Mode::DropMidStream;
  server.events = {chunk_event(R"({"content":"Once upon"})"), chunk_event(R"({"content":" a time"})")};
  std::atomic<bool> cancel{false};
  RemoteResponder responder(options_for(server), cancel);
  Answer run = respond(responder, two_turn_request());
  ASSERT_TRUE(run.result.ok) << run.result.error;
  EXPECT_TRUE(run.result.interrupted);
  EXPECT_EQ(run.result.reply, "Once upon a time");
  ASSERT_EQ(run.notices.size(), 1u);
  EXPECT_NE(run.notices[0].find("partial reply is kept"), std::string::npos) << run.notices[0];
}

TEST(RemoteResponder, StallEndsAfterTheTimeout) {
  FakeOpenAiServer server;
  server.mode = Mode::Stall;
  server.events = {chunk_event(R"({"content":"Hmm"})")};
  std::atomic<bool> cancel{false};
  RemoteResponder responder(options_for(server), cancel);
  const auto start = std::chrono::steady_clock::now();
  Answer run = respond(responder, two_turn_request());
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  ASSERT_TRUE(run.result.ok) << run.result.error;
  EXPECT_TRUE(run.result.interrupted);
  EXPECT_EQ(run.result.reply, "Hmm");
  ASSERT_EQ(run.notices.size(), 1u);
  EXPECT_NE(run.notices[0].find("sent nothing for 0.3 s"), std::string::npos) << run.notices[0];
  // Timed from the last byte: not libcurl's low-speed average, which ended a 1 s stall after ~6 s.
  EXPECT_GE(seconds, 0.3);
  EXPECT_LT(seconds, 3.0);
}

TEST(RemoteResponder, GarbageIsAnErrorNamingWhatWasWrong) {
  FakeOpenAiServer server;
  server.mode = Mode::Raw;
  server.events = {"data: {\"choices\": [{\"delta\": {\"content\": \"x\"\n\n"};
  std::string error = error_for(server, options_for(server));
  EXPECT_NE(error.find("malformed JSON"), std::string::npos) << error;
  server.events = {"<html><body>502 Bad Gateway</body></html>"};  // no SSE at all, then closed
  error = error_for(server, options_for(server));
  EXPECT_NE(error.find("closed the stream before the end"), std::string::npos) << error;
}

TEST(RemoteResponder, CancelMidStreamReturnsPromptlyWithThePartialText) {
  FakeOpenAiServer server;
  server.mode = Mode::Stall;
  server.events = {chunk_event(R"({"content":"Partial"})")};
  RemoteOptions options = options_for(server);
  options.http.stall_timeout_ms = 30'000;
  std::atomic<bool> cancel{false};
  RemoteResponder responder(options, cancel);
  ReplyCallbacks callbacks;
  std::chrono::steady_clock::time_point cancelled_at;
  std::thread canceller;
  callbacks.on_piece = [&](std::string_view) {
    if (canceller.joinable()) return;
    canceller = std::thread([&] {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      cancelled_at = std::chrono::steady_clock::now();
      cancel.store(true);
    });
  };
  ReplyResult result = responder.respond(two_turn_request(), callbacks, cancel);
  ASSERT_TRUE(canceller.joinable());
  canceller.join();
  const double after = std::chrono::duration<double>(std::chrono::steady_clock::now() - cancelled_at).count();
  ASSERT_TRUE(result.ok) << result.error;
  EXPECT_TRUE(result.interrupted);
  EXPECT_EQ(result.reply, "Partial");
  EXPECT_EQ(result.stats.stop, StopReason::User);
  EXPECT_LT(after, 5.0);  // promptly, far inside the 30 s stall timeout (no tight timing: CI runs under TSan)
}

}  // namespace
}  // namespace dschat
