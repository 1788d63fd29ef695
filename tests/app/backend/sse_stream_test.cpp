// The SSE stream parser of the remote responder: the same deltas whatever the chunking (every
// split point of a stream), the lenient cases real servers send, and errors that say what was wrong.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "app/backend/sse_stream.h"

namespace dschat {
namespace {

struct Collected {
  std::string content;
  std::string reasoning;
  std::string finish;
  std::optional<StreamUsage> usage;
  int deltas = 0;
  bool done = false;
};

Collected parse_in_pieces(const std::string& stream, const std::vector<size_t>& cuts) {
  SseStream sse;
  Collected c;
  auto on_delta = [&](const StreamDelta& d) {
    ++c.deltas;
    c.content += d.content;
    c.reasoning += d.reasoning_content;
    if (!d.finish_reason.empty()) c.finish = d.finish_reason;
    if (d.usage) c.usage = d.usage;
  };
  size_t at = 0;
  for (size_t cut : cuts) {
    sse.feed(std::string_view(stream).substr(at, cut - at), on_delta);
    at = cut;
  }
  sse.feed(std::string_view(stream).substr(at), on_delta);
  sse.finish(on_delta);
  c.done = sse.done();
  return c;
}

Collected parse(const std::string& stream) { return parse_in_pieces(stream, {}); }

std::string chunk(const std::string& delta_json, const std::string& finish = "null") {
  return R"({"id":"c1","object":"chat.completion.chunk","model":"m","choices":[{"index":0,"delta":)" + delta_json +
         R"(,"finish_reason":)" + finish + "}]}";
}

// A stream as vLLM sends it (CRLF variant built from it below).
const std::string kStream =
    "data: " + chunk(R"({"role":"assistant","content":""})") + "\n\n" +  //
    "data: " + chunk(R"({"content":"Hel"})") + "\n\n" +                  //
    ": keep-alive\n\n" +                                                 //
    "data: " + chunk(R"({"content":"lo, wörld"})") + "\n\n" +            //
    "data: " + chunk(R"({})", R"("stop")") + "\n\n" +                    //
    R"(data: {"id":"c1","choices":[],"usage":{"prompt_tokens":7,"completion_tokens":3,"total_tokens":10}})"
    "\n\n"
    "data: [DONE]\n\n";

TEST(SseStream, WholeStream) {
  Collected c = parse(kStream);
  EXPECT_EQ(c.content, "Hello, wörld");
  EXPECT_EQ(c.finish, "stop");
  ASSERT_TRUE(c.usage);
  EXPECT_EQ(c.usage->prompt_tokens, 7);
  EXPECT_EQ(c.usage->completion_tokens, 3);
  EXPECT_EQ(c.deltas, 5);
  EXPECT_TRUE(c.done);
}

TEST(SseStream, SameResultSplitAtEveryByteAndEveryPair) {
  for (const std::string& stream : {kStream, [] {
                                      std::string crlf;
                                      for (char ch : kStream)
                                        crlf += ch == '\n' ? std::string("\r\n") : std::string(1, ch);
                                      return crlf;
                                    }()}) {
    for (size_t i = 0; i <= stream.size(); ++i) {
      Collected c = parse_in_pieces(stream, {i});
      ASSERT_EQ(c.content, "Hello, wörld") << "split at " << i;
      ASSERT_EQ(c.deltas, 5) << "split at " << i;
      ASSERT_TRUE(c.done && c.usage) << "split at " << i;
    }
    std::vector<size_t> every;
    for (size_t i = 1; i < stream.size(); ++i) every.push_back(i);
    Collected c = parse_in_pieces(stream, every);  // one byte at a time
    EXPECT_EQ(c.content, "Hello, wörld");
    EXPECT_EQ(c.deltas, 5);
  }
}

TEST(SseStream, LenientForms) {
  // CR alone as line end, data: without a space, choices null, usage null, content null.
  Collected c = parse("data:" + chunk(R"({"content":"a"})") + "\r\r" +  //
                      R"(data: {"choices":null,"usage":null})"
                      "\n\n" +  //
                      "data: " +
                      chunk(R"({"content":null})") + "\n\n" +                                     //
                      "event: message\nid: 3\nretry: 10\ndata: " + chunk(R"({"content":"b"})") +  //
                      "\n\n");
  EXPECT_EQ(c.content, "ab");
  EXPECT_FALSE(c.usage);
  EXPECT_FALSE(c.done);  // no [DONE]: the caller decides what a stream without it means
  // The last event without its blank line is still dispatched at the end.
  EXPECT_EQ(parse("data: " + chunk(R"({"content":"x"})")).content, "x");
  // A data field over two lines is joined by "\n" (still one JSON text).
  EXPECT_EQ(parse("data: {\"choices\":[{\"delta\":\ndata: {\"content\":\"y\"}}]}\n\n").content, "y");
}

TEST(SseStream, ReasoningContentKeptApart) {
  Collected c = parse("data: " + chunk(R"({"reasoning_content":"think "})") + "\n\n" +  //
                      "data: " + chunk(R"({"reasoning":"more"})") + "\n\n" +            //
                      "data: " + chunk(R"({"content":"answer"})") + "\n\ndata: [DONE]\n\n");
  EXPECT_EQ(c.reasoning, "think more");
  EXPECT_EQ(c.content, "answer");
}

TEST(SseStream, NothingAfterDone) {
  Collected c = parse("data: [DONE]\n\ndata: not json at all\n\n");
  EXPECT_TRUE(c.done);
  EXPECT_EQ(c.deltas, 0);
}

std::string error_of(const std::string& stream) {
  try {
    parse(stream);
  } catch (const SseError& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(SseStream, ErrorsSayWhatIsWrong) {
  EXPECT_NE(error_of("data: {\"choices\": [\n\n").find("event 1: malformed JSON"), std::string::npos)
      << error_of("data: {\"choices\": [\n\n");
  EXPECT_NE(error_of("data: <html>Bad Gateway</html>\n\n").find("malformed JSON"), std::string::npos);
  EXPECT_NE(error_of("data: [1,2]\n\n").find("not a JSON object"), std::string::npos);
  EXPECT_NE(error_of("data: {\"choices\": 5}\n\n").find("choices is 5, not an array"), std::string::npos);
  EXPECT_NE(error_of("data: " + chunk(R"({"content":7})") + "\n\n").find("choices[0].delta.content is 7"),
            std::string::npos);
  EXPECT_NE(error_of("data: {\"usage\": {\"prompt_tokens\": -1}}\n\n").find("usage.prompt_tokens"), std::string::npos);
  EXPECT_NE(error_of("data: {\"error\": {\"message\": \"out of memory\", \"code\": 500}}\n\n")
                .find("mid-stream: out of memory"),
            std::string::npos);
  // The second event is the bad one, and the message says so.
  EXPECT_NE(error_of("data: " + chunk(R"({"content":"a"})") + "\n\ndata: nope\n\n").find("event 2:"),
            std::string::npos);
  // Nesting beyond the bound is refused before it is built.
  std::string deep = "data: " + std::string(100000, '[') + "\n\n";
  EXPECT_NE(error_of(deep).find("nested deeper"), std::string::npos);
  // A line that never ends is bounded.
  EXPECT_NE(error_of("data: " + std::string(SseStream::kMaxEventBytes + 10, 'x')).find("longer than"),
            std::string::npos);
}

}  // namespace
}  // namespace dschat
