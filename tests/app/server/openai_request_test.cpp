// parse_openai_request: good bodies become the struct the OpenAI API reference describes; bad
// ones name the offending field as OpenAI's `param` does.
#include "app/server/openai_request.h"

#include <gtest/gtest.h>

namespace dschat {
namespace {

TEST(OpenAIRequest, ChatWithEveryField) {
  ParsedRequest p = parse_openai_request(R"({
    "model": "m", "messages": [
      {"role": "system", "content": "be brief"},
      {"role": "developer", "content": "be kind"},
      {"role": "user", "content": "hi"},
      {"role": "assistant", "content": [{"type": "text", "text": "hel"}, {"type": "text", "text": "lo"}]},
      {"role": "user", "content": "again", "name": "bob"}],
    "temperature": 0.5, "top_p": 0.8, "top_k": 40, "seed": 7, "max_completion_tokens": 12,
    "stop": ["\n\n", "END"], "stream": true, "stream_options": {"include_usage": true},
    "n": 1, "presence_penalty": 0, "user": "u1"})",
                                         RequestKind::Chat);
  ASSERT_TRUE(p.request) << p.error.message;
  const OpenAIRequest& r = *p.request;
  EXPECT_EQ(r.model, "m");
  EXPECT_EQ(r.system, "be brief\n\nbe kind");
  ASSERT_EQ(r.messages.size(), 3u);
  EXPECT_EQ(r.messages[0].role, Role::User);
  EXPECT_EQ(r.messages[1].role, Role::Assistant);
  EXPECT_EQ(r.messages[1].content, "hello");
  EXPECT_EQ(r.messages[2].content, "again");
  EXPECT_FLOAT_EQ(*r.temperature, 0.5f);
  EXPECT_FLOAT_EQ(*r.top_p, 0.8f);
  EXPECT_EQ(*r.top_k, 40);
  EXPECT_EQ(*r.seed, 7u);
  EXPECT_EQ(*r.max_tokens, 12);
  EXPECT_EQ(r.stop, (std::vector<std::string>{"\n\n", "END"}));
  EXPECT_TRUE(r.stream);
  EXPECT_TRUE(r.include_usage);
}

TEST(OpenAIRequest, MinimalChatAndCompletion) {
  ParsedRequest chat = parse_openai_request(R"({"messages":[{"role":"user","content":"x"}]})", RequestKind::Chat);
  ASSERT_TRUE(chat.request);
  EXPECT_FALSE(chat.request->stream);
  EXPECT_FALSE(chat.request->max_tokens);
  EXPECT_FALSE(chat.request->temperature);
  ParsedRequest text = parse_openai_request(R"({"prompt":"Once","max_tokens":3,"stop":"."})", RequestKind::Completion);
  ASSERT_TRUE(text.request);
  EXPECT_EQ(text.request->prompt, "Once");
  EXPECT_EQ(*text.request->max_tokens, 3);
  EXPECT_EQ(text.request->stop, std::vector<std::string>{"."});
  // A negative OpenAI seed wraps to our unsigned seed.
  ParsedRequest seeded = parse_openai_request(R"({"prompt":"a","seed":-1})", RequestKind::Completion);
  ASSERT_TRUE(seeded.request);
  EXPECT_EQ(*seeded.request->seed, UINT64_MAX);
}

struct BadCase {
  const char* body;
  RequestKind kind;
  const char* param;
};

TEST(OpenAIRequest, BadBodiesNameTheParam) {
  const BadCase cases[] = {
      {"", RequestKind::Chat, ""},
      {"{", RequestKind::Chat, ""},
      {"[]", RequestKind::Chat, ""},
      {"{}", RequestKind::Chat, "messages"},
      {"{}", RequestKind::Completion, "prompt"},
      {R"({"messages":"hi"})", RequestKind::Chat, "messages"},
      {R"({"messages":[]})", RequestKind::Chat, "messages"},
      {R"({"messages":[1]})", RequestKind::Chat, "messages[0]"},
      {R"({"messages":[{"content":"x"}]})", RequestKind::Chat, "messages[0].role"},
      {R"({"messages":[{"role":"tool","content":"x"}]})", RequestKind::Chat, "messages[0].role"},
      {R"({"messages":[{"role":7,"content":"x"}]})", RequestKind::Chat, "messages[0].role"},
      {R"({"messages":[{"role":"user"}]})", RequestKind::Chat, "messages[0].content"},
      {R"({"messages":[{"role":"user","content":5}]})", RequestKind::Chat, "messages[0].content"},
      {R"({"messages":[{"role":"user","content":[{"type":"image_url","image_url":{}}]}]})", RequestKind::Chat,
       "messages[0].content[0].image_url"},
      {R"({"messages":[{"role":"user","content":[{"type":"image"}]}]})", RequestKind::Chat,
       "messages[0].content[0].type"},
      {R"({"messages":[{"role":"user","content":"x","tool_calls":[]}]})", RequestKind::Chat, "messages[0].tool_calls"},
      {R"({"messages":[{"role":"system","content":"x"}]})", RequestKind::Chat, "messages"},
      {R"({"messages":[{"role":"user","content":"x"},{"role":"assistant","content":"y"}]})", RequestKind::Chat,
       "messages"},
      {R"({"messages":[{"role":"user","content":"x"},{"role":"system","content":"y"},{"role":"user","content":"z"}]})",
       RequestKind::Chat, "messages[1].role"},
      {R"({"prompt":"a","temperature":"hot"})", RequestKind::Completion, "temperature"},
      {R"({"prompt":"a","temperature":3})", RequestKind::Completion, "temperature"},
      {R"({"prompt":"a","top_p":1.5})", RequestKind::Completion, "top_p"},
      {R"({"prompt":"a","top_k":1.5})", RequestKind::Completion, "top_k"},
      {R"({"prompt":"a","max_tokens":0})", RequestKind::Completion, "max_tokens"},
      {R"({"prompt":"a","max_tokens":99999999999})", RequestKind::Completion, "max_tokens"},
      {R"({"prompt":"a","max_completion_tokens":-5})", RequestKind::Completion, "max_completion_tokens"},
      {R"({"prompt":"a","seed":1.5})", RequestKind::Completion, "seed"},
      {R"({"prompt":"a","stop":5})", RequestKind::Completion, "stop"},
      {R"({"prompt":"a","stop":["a","b","c","d","e"]})", RequestKind::Completion, "stop"},
      {R"({"prompt":"a","stop":[""]})", RequestKind::Completion, "stop"},
      {R"({"prompt":"a","stream":"yes"})", RequestKind::Completion, "stream"},
      {R"({"prompt":"a","stream_options":{"include_usage":true}})", RequestKind::Completion, "stream_options"},
      {R"({"prompt":"a","stream":true,"stream_options":{"x":1}})", RequestKind::Completion, "stream_options.x"},
      {R"({"prompt":"a","n":2})", RequestKind::Completion, "n"},
      {R"({"prompt":"a","frequency_penalty":0.5})", RequestKind::Completion, "frequency_penalty"},
      {R"({"prompt":"a","tools":[]})", RequestKind::Completion, "tools"},
      {R"({"prompt":""})", RequestKind::Completion, "prompt"},
      {R"({"prompt":["a"]})", RequestKind::Completion, "prompt"},
      {R"({"messages":[{"role":"user","content":"x"}]})", RequestKind::Completion, "messages"},
      {R"({"prompt":"a"})", RequestKind::Chat, "prompt"},
      {R"({"prompt":"a","model":1})", RequestKind::Completion, "model"},
  };
  for (const BadCase& c : cases) {
    ParsedRequest p = parse_openai_request(c.body, c.kind);
    EXPECT_FALSE(p.request) << c.body;
    EXPECT_EQ(p.error.param, c.param) << c.body << ": " << p.error.message;
    EXPECT_FALSE(p.error.message.empty()) << c.body;
  }
}

TEST(OpenAIRequest, LimitsAreEnforced) {
  RequestLimits limits;
  limits.max_messages = 2;
  ParsedRequest p = parse_openai_request(
      R"({"messages":[{"role":"user","content":"a"},{"role":"assistant","content":"b"},{"role":"user","content":"c"}]})",
      RequestKind::Chat, limits);
  EXPECT_FALSE(p.request);
  EXPECT_EQ(p.error.param, "messages");
  EXPECT_NE(p.error.message.find("at most 2"), std::string::npos) << p.error.message;
  // Deep nesting is refused before it is built.
  std::string deep = R"({"prompt":"a","user":)" + std::string(100000, '[') + std::string(100000, ']') + "}";
  ParsedRequest d = parse_openai_request(deep, RequestKind::Completion);
  EXPECT_FALSE(d.request);
  EXPECT_NE(d.error.message.find("nested deeper"), std::string::npos) << d.error.message;
}

}  // namespace
}  // namespace dschat
