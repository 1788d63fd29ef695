// The streaming parser of conversation files (app/chat/conversation_file_parser.h) against the
// reference it replaces, a DOM of the file (nlohmann::json::parse) read by conversation_from_json:
// the same conversation or the same error for files nlohmann's DOM reads in its own way
// (repeated keys, checks in an order unlike the file's, values the format does not read, syntax
// errors after a bad message), every field round-tripping, and the memory a load takes.
#include "app/chat/conversation_file_parser.h"

#include <gtest/gtest.h>

#include <malloc.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

#include "app/chat/conversation.h"
#include "app/chat/conversation_store.h"
#include "common/json_limits.h"
#include "common/regular_file.h"

namespace dschat {
namespace {

namespace fs = std::filesystem;

// What the DOM reading gives: the conversation's JSON text, or the error (worded as
// ConversationStore::load worded it when it read a DOM).
std::string through_a_dom(const std::string& text) {
  try {
    return conversation_to_json(conversation_from_json(parse_json_bounded(text), "c.json")).dump();
  } catch (const nlohmann::json::exception& e) {
    return std::string("c.json: not valid JSON (") + e.what() + ")";
  } catch (const JsonTooDeep& e) {
    return std::string("c.json: ") + e.what();
  } catch (const ConversationError& e) {
    return e.what();
  }
}

std::string streamed(const std::string& text) {
  try {
    return conversation_to_json(parse_conversation_file(text, "c.json")).dump();
  } catch (const ConversationError& e) {
    return e.what();
  }
}

const std::string kHead = R"("format": "dschat-conversation", "version": 1)";

TEST(ConversationFileParser, AgreesWithTheDomOnWhatTheDomReadsItsOwnWay) {
  const std::vector<std::string> files = {
      // repeated keys: the last value counts
      "{" + kHead + R"(, "messages": [{"role": "robot", "content": ""}], "messages": [{"role": "user", "content": "b"}]})",
      "{" + kHead + R"(, "messages": [{"role": "user", "content": "a"}], "messages": 5})",
      "{" + kHead + R"(, "messages": [{"role": "user", "content": "a"}], "messages": {"x": []}})",
      "{" + kHead + R"(, "messages": [{"role": "user", "content": "a", "content": "b", "role": "assistant"}]})",
      "{" + kHead + R"(, "messages": [{"role": "user", "content": "a", "stats": {"tokens": 3}, "stats": 4}]})",
      "{" + kHead + R"(, "version": 2, "messages": []})",
      // checks in conversation_from_json's order, not the file's: format before a bad message,
      // sampling before messages, a bad message before a later good one
      R"({"messages": [{"role": "robot", "content": ""}], "format": "other", "version": 1})",
      R"({"messages": [7], "sampling": {"min_p": 1e30}, )" + kHead + "}",
      "{" + kHead + R"(, "messages": [{"role": "user", "content": "a"}, 3, {"role": "robot"}]})",
      // the system prompt: the field, else the first non-empty system message, wherever each is
      "{" + kHead + R"(, "messages": [{"role": "system", "content": ""}, {"role": "system", "content": "S"},
          {"role": "user", "content": "a"}], "system": ""})",
      "{" + kHead + R"(, "messages": [{"role": "system", "content": "S"}], "system": "T"})",
      // values the format does not read, of any shape, and values of the wrong shape
      "{" + kHead + R"(, "extra": [[{"a": [1, {"b": "c"}]}]], "model": {"name": ["x"], "path": "p", "more": {}},
          "messages": [{"role": "user", "content": "a", "x": {"y": [1, 2]}, "time": {"t": 1}, "interrupted": 1}]})",
      "{" + kHead + R"(, "sampling": [1], "model": "m", "messages": [{"role": ["user"], "content": "a"}]})",
      "{" + kHead + R"(, "messages": [{"role": "user", "content": {"text": "a"}}]})",
      "{" + kHead + R"(, "messages": [[{"role": "user", "content": "a"}]]})",
      "{" + kHead + R"(, "messages": [{"role": "user", "content": "a"}, {"role": "assistant", "content": "b",
          "reasoning": 5, "reasoning_tokens": -4, "model": "m", "stats": {"tokens": 18446744073709551615,
          "tokens_per_second": 1e400, "stop": "eos", "unknown": [1]}}]})",
      // not an object, not JSON, a syntax error after a bad message, nesting past the bound
      "[]", "\"text\"", "", "{" + kHead + R"(, "messages": [{"role": "robot", "content": ""}], })",
      "{" + kHead + R"(, "messages": [{"role": "user", "content": "\xff"}]})",
      "{" + kHead + R"(, "messages": [], "x": )" + std::string(300, '[') + std::string(300, ']') + "}",
      R"({"format": "other", "x": )" + std::string(300, '[') + "}",
      "{" + kHead + R"(, "messages": [{"role": "user", "content": "a"}]} trailing)",
  };
  for (const std::string& text : files) {
    const std::string expected = through_a_dom(text);
    EXPECT_EQ(streamed(text), expected) << text;
  }
  // A few of them, by hand: not only agreement.
  EXPECT_EQ(streamed(files[0]).find("robot"), std::string::npos);
  EXPECT_EQ(streamed(files[6]), "c.json: \"format\" is not \"dschat-conversation\"");
  EXPECT_EQ(streamed(files[8]), "c.json: message 1 is not an object");
  EXPECT_NE(streamed(files[19]).find("c.json: not valid JSON ("), std::string::npos);
  EXPECT_EQ(streamed(files[22]), "c.json: JSON nested deeper than 256 levels");
}

TEST(ConversationFileParser, EveryFieldRoundTrips) {
  Conversation c;
  c.id = "20261204-000000-abcd";
  c.created = "2026-12-04T00:00:00Z";
  c.updated = "2026-12-04T00:01:00Z";
  c.model = {"/models/tiny", "tiny"};
  c.title = "a title";
  c.system = "You are terse.";
  c.sampling.temperature = 0.5f;
  c.sampling.top_p = 0.9f;
  c.sampling.top_k = 40;
  c.sampling.min_p = 0.1f;
  c.sampling.repeat_penalty = 1.2f;
  c.sampling.repeat_window = 32;
  c.sampling.seed = 7;
  c.messages.push_back({Role::User, "Hi \"there\"\n\u00fcn\u00efcode", "2026-12-04T00:00:05Z", std::nullopt, false});
  GenerationStats s;
  s.generated_tokens = 42;
  s.decode_tokens_per_second = 55.5;
  s.stop = StopReason::Eos;
  s.prompt_tokens = 10;
  s.reused_tokens = 4;
  s.prefill_tokens_per_second = 100.25;
  s.time_to_first_token = 0.5;
  s.decode_seconds = 2.5;
  s.prefill_seconds = 0.125;
  s.drafted_tokens = 12;
  s.accepted_tokens = 9;
  s.verify_steps = 6;
  Message reply{Role::Assistant, "Hello.", "2026-12-04T00:00:06Z", s, true};
  reply.reasoning = "think";
  reply.reasoning_tokens = 3;
  reply.model = "tiny";
  c.messages.push_back(reply);
  const nlohmann::json written = conversation_to_json(c);
  const Conversation back = parse_conversation_file(written.dump(2), "c.json");
  EXPECT_EQ(conversation_to_json(back), written);
  EXPECT_EQ(back.messages[1].reasoning, "think");
  EXPECT_EQ(back.messages[1].stats->verify_steps, 6);
  EXPECT_TRUE(back.messages[1].interrupted);
}

// What a save writes, one message at a time, is the DOM's dump(2) byte for byte, so files are the
// same as before and as any tool that reads the DOM expects.
TEST(ConversationFileText, IsTheDumpOfTheDomByteForByte) {
  Conversation c;
  c.id = "20261204-000000-abcd";
  EXPECT_EQ(conversation_file_text(c), conversation_to_json(c).dump(2) + "\n");  // no messages: "[]"
  c.title = "\"messages\": [] in a title";
  c.system = "line\nbreaks\tand \u00fcnicode \U0001F642";
  c.messages.push_back({Role::User, "\"messages\": []\n{\n  \"x\": 1\n}", "t", std::nullopt, false});
  GenerationStats s;
  s.generated_tokens = 3;
  s.drafted_tokens = 2;
  Message reply{Role::Assistant, "", "", s, true};
  reply.reasoning = "r";
  c.messages.push_back(reply);
  c.messages.push_back({Role::User, "last", "t", std::nullopt, false});
  EXPECT_EQ(conversation_file_text(c), conversation_to_json(c).dump(2) + "\n");
  Conversation renamed = c;
  renamed.id = "20261204-000000-beef";
  EXPECT_EQ(conversation_file_text(c, renamed.id), conversation_to_json(renamed).dump(2) + "\n");
}

// VmRSS or VmHWM of this process, in bytes.
uint64_t status_bytes(const std::string& key) {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind(key + ":", 0) == 0) return std::stoull(line.substr(key.size() + 1)) * 1024;
  }
  return 0;
}

// A conversation file of `huge` messages of `huge_bytes` and `small` pairs of about 100 bytes.
fs::path write_conversation(const fs::path& dir, int huge, size_t huge_bytes, int small) {
  Conversation c;
  c.id = "20261204-000000-big0";
  for (int i = 0; i < huge; ++i) {
    std::string text;
    while (text.size() < huge_bytes) text += "caf\u00e9 \"quoted\" line\n and more words; ";
    c.messages.push_back({i % 2 ? Role::Assistant : Role::User, text, "2026-12-04T00:00:01Z", std::nullopt, false});
  }
  for (int i = 0; i < 2 * small; ++i) {
    const bool user = c.messages.size() % 2 == 0;
    std::optional<GenerationStats> stats;
    if (!user) stats = GenerationStats{};
    c.messages.push_back({user ? Role::User : Role::Assistant,
                          "message " + std::to_string(i) + ": a few words of an ordinary chat, nothing more",
                          "2026-12-04T00:00:01Z", stats, false});
  }
  return ConversationStore(dir).save(c);
}

// Peak growth of the resident set while `load` runs.
template <typename Load>
uint64_t peak_growth(Load load) {
  // Freed heap back to the system first: pages earlier tests freed but malloc kept would be
  // reused unseen (in one process with other tests, the growth was below the file's size).
  ::malloc_trim(0);
  std::ofstream("/proc/self/clear_refs") << "5";  // the peak (VmHWM) back to the resident set (proc(5))
  const uint64_t before = status_bytes("VmRSS");
  load();
  return status_bytes("VmHWM") - before;
}

// The memory of a load is the file's text and the conversation it gives (the messages' text and
// some 250 bytes of Message each): 3 times this file of short messages (43.6 MB for 14.5 MB),
// where a DOM of the file took over 6 times (92 MB).
TEST(ConversationFileParser, ALoadTakesLittleMoreThanTheFileAndTheMessages) {
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
  GTEST_SKIP() << "a sanitizer's allocator and shadow memory change the resident set";
#endif
  if (!(std::ofstream("/proc/self/clear_refs") << "5" << std::flush)) GTEST_SKIP() << "cannot reset VmHWM";
  const fs::path dir = fs::temp_directory_path() / ("dschat_parser_test_" + std::to_string(::getpid()));
  const fs::path path = write_conversation(dir, 2, 1 << 20, 20000);  // about 9 MB, most of it small messages
  const uint64_t file_bytes = fs::file_size(path);
  const uint64_t streamed = peak_growth([&] { EXPECT_EQ(ConversationStore::load(path).messages.size(), 40002u); });
  const uint64_t dom = peak_growth([&] {  // the reference: what ConversationStore::load did before
    const std::string text = read_regular_file(path, kConversationLimit);
    EXPECT_EQ(conversation_from_json(parse_json_bounded(text), "c.json").messages.size(), 40002u);
  });
  fs::remove_all(dir);
  std::printf("loading %.1f MB: %.1f MB streamed, %.1f MB through a DOM\n", file_bytes / 1e6, streamed / 1e6,
              dom / 1e6);
  EXPECT_LT(streamed, 4 * file_bytes);
  EXPECT_GT(dom, 4 * file_bytes);  // so the bound above tells the two apart
}

// By hand, for the figures in docs/robustness.md:
//   DSCHAT_BIG_CONVERSATION=/tmp/c500.json build/tests/app_tests --gtest_also_run_disabled_tests
//     --gtest_filter='*DISABLED_LoadABigFile*'
// (the file from tools/make_big_conversation.py /tmp/c500.json 500).
TEST(ConversationFileParser, DISABLED_LoadABigFile) {
  const char* file = std::getenv("DSCHAT_BIG_CONVERSATION");
  if (!file) GTEST_SKIP() << "set DSCHAT_BIG_CONVERSATION to a conversation file";
  std::ofstream("/proc/self/clear_refs") << "5";
  const uint64_t before = status_bytes("VmRSS");
  const auto start = std::chrono::steady_clock::now();
  const Conversation loaded = ConversationStore::load(file);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("%zu messages from %ju bytes in %.2f s, peak growth %.0f MB\n", loaded.messages.size(),
              static_cast<uintmax_t>(fs::file_size(file)), seconds, (status_bytes("VmHWM") - before) / 1e6);
}

// The same through a DOM, as ConversationStore::load read until it streamed (the "before" figures).
TEST(ConversationFileParser, DISABLED_LoadABigFileThroughADom) {
  const char* file = std::getenv("DSCHAT_BIG_CONVERSATION");
  if (!file) GTEST_SKIP() << "set DSCHAT_BIG_CONVERSATION to a conversation file";
  std::ofstream("/proc/self/clear_refs") << "5";
  const uint64_t before = status_bytes("VmRSS");
  const auto start = std::chrono::steady_clock::now();
  std::ifstream in(file, std::ios::binary);
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const Conversation loaded = conversation_from_json(parse_json_bounded(text), file);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("%zu messages from %zu bytes in %.2f s, peak growth %.0f MB\n", loaded.messages.size(), text.size(),
              seconds, (status_bytes("VmHWM") - before) / 1e6);
}

}  // namespace
}  // namespace dschat
