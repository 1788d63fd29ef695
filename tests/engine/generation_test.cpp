// The generation loop on a scripted context: stop conditions, stop-string hold-back, cache
// reuse bookkeeping, cancellation. (Real-model checks of reuse and cancel latency are in
// tests/app/chat/chat_session_model_test.cpp.)
#include "engine/generation.h"

#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "tests/engine/scripted_model.h"

namespace dschat {
namespace {

using testing::ScriptedContext;
using testing::ScriptedModel;

// id -> text: ids 10.. are letters 'a'..; 200 and 201 are the two halves of "é" (0xC3 0xA9),
// to check that multi-byte characters split over tokens come out whole.
class LetterDecoder final : public TokenTextDecoder {
 public:
  std::string push(int32_t id) override {
    if (id == 200) {
      pending_ = "\xC3";
      return {};
    }
    if (id == 201) {
      std::string out = pending_ + "\xA9";
      pending_.clear();
      return out;
    }
    if (id == 99) return "\n";
    return std::string(1, static_cast<char>('a' + (id - 10)));
  }
  std::string finish() override { return std::exchange(pending_, {}); }
  void reset() override { pending_.clear(); }

 private:
  std::string pending_;
};

// A context whose next token follows `script` after the prompt, then eos (1).
ScriptedContext scripted(const std::vector<int32_t>& script, size_t prompt_size, int capacity = 256) {
  return ScriptedContext(256, capacity, [script, prompt_size](const std::vector<int32_t>& tokens) {
    size_t i = tokens.size() - prompt_size;
    return i < script.size() ? script[i] : 1;
  });
}

SamplingParams greedy() {
  SamplingParams p;
  p.temperature = 0;
  return p;
}

TEST(StopStringFilter, HoldsBackPossibleStartsAndReleasesThemOnMismatch) {
  StopStringFilter f({"\nUser:"});
  EXPECT_EQ(f.push("Hello"), "Hello");
  EXPECT_EQ(f.push("\nUs"), "");   // might be the stop string
  EXPECT_EQ(f.push("ual"), "\nUsual");  // it was not
  EXPECT_FALSE(f.stopped());
  EXPECT_EQ(f.push(" end\n"), " end");
  EXPECT_EQ(f.push("User: next"), "");
  EXPECT_TRUE(f.stopped());
  EXPECT_EQ(f.push("more"), "");
  EXPECT_EQ(f.finish(), "");
}

TEST(StopStringFilter, FinishReleasesHeldTextWhenNoStopCame) {
  StopStringFilter f({"###"});
  EXPECT_EQ(f.push("a##"), "a");
  EXPECT_EQ(f.finish(), "##");
}

TEST(StopStringFilter, EarliestOfSeveralStopStringsWins) {
  StopStringFilter f({"END", "x"});
  EXPECT_EQ(f.push("abxcdEND"), "ab");
  EXPECT_TRUE(f.stopped());
}

TEST(StopStringFilter, NoStopStringsPassesEverything) {
  StopStringFilter f({});
  EXPECT_EQ(f.push("\nUser:"), "\nUser:");
}

TEST(PrefillWithReuse, ComputesOnlyTheTokensAfterTheCommonPrefix) {
  ScriptedContext ctx(256, 64);
  std::vector<float> logits(256);
  std::vector<int32_t> first = {5, 6, 7, 8};
  EXPECT_EQ(prefill_with_reuse(ctx, first, logits), 0);
  EXPECT_EQ(ctx.computed_tokens, 4);
  std::vector<int32_t> second = {5, 6, 7, 8, 9, 10};
  EXPECT_EQ(prefill_with_reuse(ctx, second, logits), 4);
  EXPECT_EQ(ctx.computed_tokens, 6);
  EXPECT_EQ(logits, ctx.logits_for(second));
  // A divergent suffix is truncated and recomputed.
  std::vector<int32_t> third = {5, 6, 42, 43};
  EXPECT_EQ(prefill_with_reuse(ctx, third, logits), 2);
  EXPECT_EQ(ctx.tokens(), third);
  EXPECT_EQ(logits, ctx.logits_for(third));
  // The same prompt again: the last token is rerun so the logits are fresh.
  EXPECT_EQ(prefill_with_reuse(ctx, third, logits), 3);
  EXPECT_EQ(logits, ctx.logits_for(third));
}

TEST(PrefillWithReuse, PromptLongerThanTheContextIsAnError) {
  ScriptedContext ctx(256, 4);
  std::vector<float> logits(256);
  std::vector<int32_t> prompt = {1, 2, 3, 4, 5};
  EXPECT_THROW(prefill_with_reuse(ctx, prompt, logits), ModelError);
  EXPECT_EQ(ctx.size(), 0);
}

TEST(Generate, StopsAtEosWithoutEmittingIt) {
  ScriptedModel model(256);
  std::vector<int32_t> prompt = {3, 4};
  ScriptedContext ctx = scripted({10, 11, 12}, prompt.size());
  Sampler sampler(greedy());
  LetterDecoder decoder;
  GenerationOptions options;
  options.eos_ids = {1};
  std::string streamed;
  int pieces = 0;
  GenerationResult r = generate(model, ctx, prompt, sampler, decoder, options, [&](std::string_view p) {
    streamed += p;
    ++pieces;
  });
  EXPECT_EQ(r.text, "abc");
  EXPECT_EQ(streamed, "abc");
  EXPECT_EQ(pieces, 3);  // one piece per token, as generated
  EXPECT_EQ(r.tokens, (std::vector<int32_t>{10, 11, 12}));
  EXPECT_EQ(r.stats.stop, StopReason::Eos);
  EXPECT_EQ(r.stats.generated_tokens, 4);
  EXPECT_EQ(r.stats.prompt_tokens, 2);
  // The cache holds prompt + reply (the eos token is not appended).
  EXPECT_EQ(ctx.tokens(), (std::vector<int32_t>{3, 4, 10, 11, 12}));
}

TEST(Generate, MaxTokensGivesLength) {
  ScriptedModel model(256);
  std::vector<int32_t> prompt = {3};
  ScriptedContext ctx = scripted({10, 11, 12, 13, 14}, prompt.size());
  Sampler sampler(greedy());
  LetterDecoder decoder;
  GenerationOptions options;
  options.eos_ids = {1};
  options.max_tokens = 2;
  GenerationResult r = generate(model, ctx, prompt, sampler, decoder, options, {});
  EXPECT_EQ(r.text, "ab");
  EXPECT_EQ(r.stats.stop, StopReason::Length);
}

TEST(Generate, FullContextGivesContext) {
  ScriptedModel model(256);
  std::vector<int32_t> prompt = {3, 4, 5};
  ScriptedContext ctx = scripted({10, 11, 12, 13, 14}, prompt.size(), /*capacity=*/5);
  Sampler sampler(greedy());
  LetterDecoder decoder;
  GenerationOptions options;
  options.eos_ids = {1};
  GenerationResult r = generate(model, ctx, prompt, sampler, decoder, options, {});
  EXPECT_EQ(r.stats.stop, StopReason::Context);
  EXPECT_EQ(r.text, "ab");
  EXPECT_EQ(ctx.size(), 5);
}

TEST(Generate, StopStringIsNeverShown) {
  ScriptedModel model(256);
  std::vector<int32_t> prompt = {3};
  // "ab\nUser:" would follow; letters: U is not a lowercase letter, so use stop string "\ncd".
  ScriptedContext ctx = scripted({10, 11, 99, 12, 13, 14}, prompt.size());
  Sampler sampler(greedy());
  LetterDecoder decoder;
  GenerationOptions options;
  options.eos_ids = {1};
  options.stop_strings = {"\ncd"};
  std::string streamed;
  GenerationResult r =
      generate(model, ctx, prompt, sampler, decoder, options, [&](std::string_view p) { streamed += p; });
  EXPECT_EQ(r.stats.stop, StopReason::StopString);
  EXPECT_EQ(r.text, "ab");
  EXPECT_EQ(streamed, "ab");
}

TEST(Generate, HeldBackTextIsReleasedAtEos) {
  ScriptedModel model(256);
  std::vector<int32_t> prompt = {3};
  ScriptedContext ctx = scripted({10, 99, 12}, prompt.size());  // "a\nc" then eos
  Sampler sampler(greedy());
  LetterDecoder decoder;
  GenerationOptions options;
  options.eos_ids = {1};
  options.stop_strings = {"\ncd"};
  std::string streamed;
  GenerationResult r =
      generate(model, ctx, prompt, sampler, decoder, options, [&](std::string_view p) { streamed += p; });
  EXPECT_EQ(r.stats.stop, StopReason::Eos);
  EXPECT_EQ(streamed, "a\nc");
}

TEST(Generate, SplitUtf8CharacterArrivesWhole) {
  ScriptedModel model(256);
  std::vector<int32_t> prompt = {3};
  ScriptedContext ctx = scripted({10, 200, 201, 11}, prompt.size());
  Sampler sampler(greedy());
  LetterDecoder decoder;
  GenerationOptions options;
  options.eos_ids = {1};
  std::vector<std::string> pieces;
  generate(model, ctx, prompt, sampler, decoder, options,
           [&](std::string_view p) { pieces.emplace_back(p); });
  EXPECT_EQ(pieces, (std::vector<std::string>{"a", "\xC3\xA9", "b"}));
}

TEST(Generate, CancelDuringDecodeKeepsThePartialReply) {
  ScriptedModel model(256);
  std::vector<int32_t> prompt = {3};
  std::vector<int32_t> script(100, 10);
  ScriptedContext ctx = scripted(script, prompt.size());
  Sampler sampler(greedy());
  LetterDecoder decoder;
  std::atomic<bool> cancel{false};
  GenerationOptions options;
  options.eos_ids = {1};
  options.cancel = &cancel;
  int pieces = 0;
  GenerationResult r = generate(model, ctx, prompt, sampler, decoder, options, [&](std::string_view) {
    if (++pieces == 5) cancel = true;
  });
  EXPECT_EQ(r.stats.stop, StopReason::User);
  EXPECT_EQ(r.text, "aaaaa");
}

TEST(Generate, CancelDuringALongPrefillStopsQuickly) {
  ScriptedModel model(256);
  std::vector<int32_t> prompt(2000, 7);  // 2000 tokens x 1 ms = 2 s of prefill
  ScriptedContext ctx = scripted({10}, prompt.size(), 4096);
  ctx.delay_per_token = std::chrono::microseconds(1000);
  Sampler sampler(greedy());
  LetterDecoder decoder;
  std::atomic<bool> cancel{false};
  GenerationOptions options;
  options.cancel = &cancel;
  std::chrono::steady_clock::time_point cancelled_at;
  std::thread canceller([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    cancelled_at = std::chrono::steady_clock::now();
    cancel = true;
  });
  GenerationResult r = generate(model, ctx, prompt, sampler, decoder, options, {});
  auto returned_at = std::chrono::steady_clock::now();
  canceller.join();
  double latency_ms = std::chrono::duration<double, std::milli>(returned_at - cancelled_at).count();
  EXPECT_EQ(r.stats.stop, StopReason::User);
  EXPECT_TRUE(r.text.empty());
  EXPECT_LT(latency_ms, 100.0);
  EXPECT_LT(ctx.size(), 2000);  // a consistent prefix stays
}

TEST(Generate, StatisticsAreFilledIn) {
  ScriptedModel model(256);
  std::vector<int32_t> prompt = {3, 4, 5};
  ScriptedContext ctx = scripted({10, 11, 12}, prompt.size());
  ctx.delay_per_token = std::chrono::microseconds(500);
  Sampler sampler(greedy());
  LetterDecoder decoder;
  GenerationOptions options;
  options.eos_ids = {1};
  GenerationResult r = generate(model, ctx, prompt, sampler, decoder, options, {});
  EXPECT_EQ(r.stats.prompt_tokens, 3);
  EXPECT_EQ(r.stats.reused_tokens, 0);
  EXPECT_GT(r.stats.prefill_tokens_per_second, 0);
  EXPECT_GT(r.stats.decode_tokens_per_second, 0);
  EXPECT_GT(r.stats.time_to_first_token, 0);
  EXPECT_STREQ(stop_reason_name(r.stats.stop), "eos");
  EXPECT_EQ(stop_reason_from_name("eos"), StopReason::Eos);
  EXPECT_EQ(stop_reason_from_name("stop"), StopReason::StopString);
}

}  // namespace
}  // namespace dschat
