// The server's JSON and SSE as the OpenAI API reference shapes them (chat.completion.chunk with
// a role on the first delta, finish_reason on the last choice chunk, a usage chunk with no
// choices, then [DONE]).
#include "app/server/openai_response.h"

#include <gtest/gtest.h>

namespace dschat {
namespace {

using nlohmann::json;

ResponseMeta chat_meta() { return {RequestKind::Chat, "chatcmpl-1", 1700000000, "tiny"}; }

json parse_event(const std::string& event) {
  EXPECT_EQ(event.rfind("data: ", 0), 0u) << event;
  EXPECT_GE(event.size(), 8u);
  EXPECT_EQ(event.substr(event.size() - 2), "\n\n") << event;
  const std::string body = event.substr(6, event.size() - 8);
  EXPECT_EQ(body.find('\n'), std::string::npos) << "one line per event";
  return json::parse(body);
}

TEST(OpenAIResponse, StreamChunks) {
  json first = parse_event(sse_event(stream_chunk(chat_meta(), "Hel", true, std::nullopt)));
  EXPECT_EQ(first["object"], "chat.completion.chunk");
  EXPECT_EQ(first["id"], "chatcmpl-1");
  EXPECT_EQ(first["created"], 1700000000);
  EXPECT_EQ(first["model"], "tiny");
  ASSERT_EQ(first["choices"].size(), 1u);
  EXPECT_EQ(first["choices"][0]["index"], 0);
  EXPECT_EQ(first["choices"][0]["delta"], json({{"role", "assistant"}, {"content", "Hel"}}));
  EXPECT_TRUE(first["choices"][0]["finish_reason"].is_null());

  json next = parse_event(sse_event(stream_chunk(chat_meta(), "lo\n\"x\"", false, std::nullopt)));
  EXPECT_EQ(next["choices"][0]["delta"], json({{"content", "lo\n\"x\""}}));

  json last = parse_event(sse_event(stream_chunk(chat_meta(), "", false, StopReason::Length)));
  EXPECT_EQ(last["choices"][0]["delta"], json::object());
  EXPECT_EQ(last["choices"][0]["finish_reason"], "length");
  EXPECT_EQ(
      parse_event(sse_event(stream_chunk(chat_meta(), "", false, StopReason::Eos)))["choices"][0]["finish_reason"],
      "stop");
  EXPECT_EQ(parse_event(
                sse_event(stream_chunk(chat_meta(), "", false, StopReason::StopString)))["choices"][0]["finish_reason"],
            "stop");
  EXPECT_EQ(std::string(kSseDone), "data: [DONE]\n\n");
}

TEST(OpenAIResponse, UsageChunkAndCompletion) {
  GenerationStats stats;
  stats.prompt_tokens = 10;
  stats.reused_tokens = 4;
  stats.generated_tokens = 6;  // the eos among them
  stats.stop = StopReason::Eos;
  stats.prefill_seconds = 0.5;
  json usage = parse_event(sse_event(usage_chunk(chat_meta(), stats)));
  EXPECT_EQ(usage["choices"], json::array());
  EXPECT_EQ(usage["usage"], json({{"prompt_tokens", 10}, {"completion_tokens", 5}, {"total_tokens", 15}}));
  EXPECT_EQ(usage["timings"]["cache_n"], 4);
  EXPECT_EQ(usage["timings"]["prompt_n"], 6);
  EXPECT_DOUBLE_EQ(usage["timings"]["prompt_ms"].get<double>(), 500.0);

  json chat = completion_object(chat_meta(), "hello", stats);
  EXPECT_EQ(chat["object"], "chat.completion");
  EXPECT_EQ(chat["choices"][0]["message"], json({{"role", "assistant"}, {"content", "hello"}}));
  EXPECT_EQ(chat["choices"][0]["finish_reason"], "stop");
  stats.stop = StopReason::Length;
  ResponseMeta text_meta{RequestKind::Completion, "cmpl-1", 1, "tiny"};
  json text = completion_object(text_meta, "abc", stats);
  EXPECT_EQ(text["object"], "text_completion");
  EXPECT_EQ(text["choices"][0]["text"], "abc");
  EXPECT_EQ(text["choices"][0]["finish_reason"], "length");
  EXPECT_EQ(text["usage"]["completion_tokens"], 6);
  json chunk = stream_chunk(text_meta, "de", true, std::nullopt);
  EXPECT_EQ(chunk["object"], "text_completion");
  EXPECT_EQ(chunk["choices"][0]["text"], "de");
}

TEST(OpenAIResponse, ErrorObject) {
  json e = json::parse(error_body("bad 'x'", "invalid_request_error", "x"));
  EXPECT_EQ(e,
            json({{"error",
                   {{"message", "bad 'x'"}, {"type", "invalid_request_error"}, {"param", "x"}, {"code", nullptr}}}}));
  json n = json::parse(error_body("no", "server_error", "", "c"));
  EXPECT_TRUE(n["error"]["param"].is_null());
  EXPECT_EQ(n["error"]["code"], "c");
  // Invalid UTF-8 a client sent is replaced, not a throw.
  EXPECT_NO_THROW(json::parse(error_body("bad \xff byte", "invalid_request_error")));
}

}  // namespace
}  // namespace dschat
