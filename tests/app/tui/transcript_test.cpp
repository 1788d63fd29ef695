// The view model (app/tui/transcript.h): transcript lines from a conversation plus the streamed
// reply and notices, scrolling, the status line and the load progress text.
#include "app/tui/transcript.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "app/tui/text_layout.h"

namespace dschat {
namespace {

std::shared_ptr<const Conversation> conversation_of(std::vector<Message> messages) {
  auto c = std::make_shared<Conversation>();
  c->messages = std::move(messages);
  return c;
}

Message user(std::string text) { return Message{Role::User, std::move(text), "", std::nullopt, false}; }
Message assistant(std::string text, bool interrupted = false) {
  return Message{Role::Assistant, std::move(text), "", std::nullopt, interrupted};
}

std::vector<std::string> texts(const std::vector<StyledLine>& lines) {
  std::vector<std::string> t;
  for (const StyledLine& l : lines) t.push_back(l.text);
  return t;
}

TEST(TuiTranscript, RendersRolesAndWrapsContent) {
  Transcript t;
  t.set_assistant_label("tiny");
  t.set_conversation(conversation_of({user("hello there"), assistant("general kenobi you are a bold one")}));
  std::vector<StyledLine> lines = t.render(20);
  EXPECT_EQ(texts(lines), (std::vector<std::string>{"You", "  hello there", "", "tiny", "  general kenobi you",
                                                    "  are a bold one"}));
  EXPECT_EQ(lines[0].style, LineStyle::UserLabel);
  EXPECT_EQ(lines[1].style, LineStyle::User);
  EXPECT_EQ(lines[3].style, LineStyle::AssistantLabel);
  EXPECT_EQ(lines[4].style, LineStyle::Assistant);
  // Re-wrapped from the text at another width; never wider than the width.
  for (int width = 8; width <= 40; ++width) {
    for (const StyledLine& l : t.render(width)) EXPECT_LE(display_width(l.text), width);
  }
}

TEST(TuiTranscript, StreamingTurnThenSnapshot) {
  Transcript t;
  t.set_conversation(conversation_of({}));
  t.begin_turn("question");
  EXPECT_TRUE(t.streaming());
  EXPECT_EQ(texts(t.render(30)), (std::vector<std::string>{"You", "  question", "", "Assistant", "  ..."}));
  uint64_t before = t.version();
  t.append_piece("partial ");
  t.append_piece("answer");
  EXPECT_GT(t.version(), before);
  EXPECT_EQ(texts(t.render(30)).back(), "  partial answer");
  t.end_turn(true);
  EXPECT_EQ(texts(t.render(30)).back(), "  [stopped]");
  t.set_conversation(conversation_of({user("question"), assistant("partial answer", true)}));
  EXPECT_FALSE(t.streaming());
  EXPECT_EQ(texts(t.render(30)),
            (std::vector<std::string>{"You", "  question", "", "Assistant", "  partial answer", "  [stopped]"}));
}

TEST(TuiTranscript, RegenerateHidesTheOldReply) {
  Transcript t;
  t.set_conversation(conversation_of({user("q"), assistant("old")}));
  t.begin_turn("");
  t.append_piece("new");
  EXPECT_EQ(texts(t.render(30)), (std::vector<std::string>{"You", "  q", "", "Assistant", "  new"}));
}

TEST(TuiTranscript, NoticesStayWhereTheyWereAdded) {
  Transcript t;
  t.add_notice(Transcript::NoticeKind::Info, "model loaded");
  t.set_conversation(conversation_of({user("a"), assistant("b")}));
  t.add_notice(Transcript::NoticeKind::Error, "unknown command '/x'");
  t.set_conversation(conversation_of({user("a"), assistant("b"), user("c"), assistant("d")}));
  std::vector<StyledLine> lines = t.render(40);
  EXPECT_EQ(texts(lines), (std::vector<std::string>{"model loaded", "", "You", "  a", "", "Assistant", "  b",
                                                    "unknown command '/x'", "", "You", "  c", "", "Assistant",
                                                    "  d"}));
  EXPECT_EQ(lines[0].style, LineStyle::Notice);
  EXPECT_EQ(lines[7].style, LineStyle::Error);
  // Undo shrinks the conversation: notices past the end move to the end.
  t.set_conversation(conversation_of({}));
  EXPECT_EQ(texts(t.render(40)), (std::vector<std::string>{"model loaded", "unknown command '/x'"}));
  t.clear_notices();
  EXPECT_TRUE(t.render(40).empty());
}

TEST(TuiTranscript, NoticesOfAnEarlierConversationGoFirst) {
  Transcript t;
  auto first = std::make_shared<Conversation>();
  first->id = "one";
  first->messages = {user("a"), assistant("b")};
  t.set_conversation(first);
  t.add_notice(Transcript::NoticeKind::Info, "started a new conversation");
  auto second = std::make_shared<Conversation>();
  second->id = "two";
  t.set_conversation(second);
  auto grown = std::make_shared<Conversation>(*second);
  grown->messages = {user("c"), assistant("d")};
  t.set_conversation(grown);
  EXPECT_EQ(texts(t.render(40)), (std::vector<std::string>{"started a new conversation", "", "You", "  c", "",
                                                           "Assistant", "  d"}));
}

TEST(TuiTranscript, StatsLineFollowsTheSetting) {
  GenerationStats stats;
  stats.generated_tokens = 42;
  stats.decode_tokens_per_second = 55.14;
  stats.prompt_tokens = 120;
  stats.reused_tokens = 100;
  stats.prefill_tokens_per_second = 300;
  stats.stop = StopReason::Eos;
  EXPECT_EQ(format_reply_stats(stats), "42 tokens, 55.1 tok/s | prompt 120 tokens (100 cached), 300 tok/s | eos");
  GenerationStats speculated = stats;  // MTP drafts: the share the model kept
  speculated.drafted_tokens = 30;
  speculated.accepted_tokens = 25;
  EXPECT_EQ(format_reply_stats(speculated),
            "42 tokens, 55.1 tok/s | prompt 120 tokens (100 cached), 300 tok/s | drafts 83% kept | eos");
  Message reply = assistant("x");
  reply.stats = stats;
  Transcript t;
  t.set_conversation(conversation_of({user("q"), reply}));
  EXPECT_EQ(t.render(200).back().style, LineStyle::Stats);
  t.set_show_stats(false);
  EXPECT_EQ(t.render(200).back().text, "  x");
}

TEST(TuiScroll, PagesAndStaysPutWhileScrolled) {
  ScrollState s;
  EXPECT_EQ(s.first_visible(100, 10), 90);
  s.page_up(100, 10);
  EXPECT_EQ(s.first_visible(100, 10), 81);
  EXPECT_EQ(s.lines_below(), 9);
  s.content_changed(100, 105);  // new lines below: the view does not move
  EXPECT_EQ(s.first_visible(105, 10), 81);
  s.page_down(105, 10);
  s.page_down(105, 10);
  EXPECT_EQ(s.first_visible(105, 10), 95);
  s.to_top(105, 10);
  EXPECT_EQ(s.first_visible(105, 10), 0);
  s.to_bottom();
  EXPECT_EQ(s.first_visible(105, 10), 95);
  s.content_changed(105, 200);  // at the bottom: follow
  EXPECT_EQ(s.first_visible(200, 10), 190);
  EXPECT_EQ(s.first_visible(3, 10), 0);
}

// The mouse wheel: a few lines a step, never past the top or below the bottom.
TEST(TuiScroll, WheelLinesStayWithinTheTranscript) {
  ScrollState s;
  s.scroll_lines(3, 100, 10);
  EXPECT_EQ(s.first_visible(100, 10), 87);
  s.scroll_lines(3, 100, 10);
  EXPECT_EQ(s.lines_below(), 6);
  s.scroll_lines(1000, 100, 10);
  EXPECT_EQ(s.first_visible(100, 10), 0);
  s.scroll_lines(-3, 100, 10);
  EXPECT_EQ(s.first_visible(100, 10), 3);
  s.scroll_lines(-1000, 100, 10);
  EXPECT_EQ(s.lines_below(), 0);
  s.scroll_lines(3, 5, 10);  // everything fits: nothing to scroll
  EXPECT_EQ(s.lines_below(), 0);
}

TEST(TuiStatus, ProgressAndStatusFitTheWidth) {
  EXPECT_EQ(format_bytes(12), "12 B");
  EXPECT_EQ(format_bytes(1'234'567), "1.2 MB");
  EXPECT_EQ(format_bytes(2'900'000'000.0), "2.9 GB");
  std::string p = format_load_progress(420, 1000, 1.0, 80);
  EXPECT_EQ(p.rfind("Loading  42% [", 0), 0u) << p;
  EXPECT_NE(p.find("420 B/1.0 kB 420 B/s"), std::string::npos) << p;
  EXPECT_NE(format_load_progress(1000, 1000, 2.0, 80).find("100%"), std::string::npos);
  EXPECT_EQ(format_load_progress(0, 0, 0.0, 80), "Loading (starting)");  // the size is not known yet: no "0 B/0 B"
  // A model larger than RAM says it will page from disk, where the width leaves room.
  EXPECT_NE(format_load_progress(420, 1000, 1.0, 100, true).find("(larger than RAM: pages from disk)"), std::string::npos);
  EXPECT_EQ(format_load_progress(420, 1000, 1.0, 100, false).find("RAM"), std::string::npos);
  EXPECT_EQ(format_load_progress(420, 1000, 1.0, 40, true), format_load_progress(420, 1000, 1.0, 40, false));
  EXPECT_EQ(format_status(StatusInfo{.loading = true}, 80), " Loading (starting)");
  for (int width = 10; width <= 100; ++width) {
    EXPECT_LE(display_width(format_load_progress(1'200'000'000, 2'900'000'000, 3.4, width)), width);
    StatusInfo info{.model = "deepseek-tiny", .context_used = 123, .context_max = 4096,
                    .last_tokens_per_second = 18.44, .generating = true, .lines_below = 7};
    EXPECT_LE(display_width(format_status(info, width)), width);
  }
  StatusInfo info{.model = "m", .context_used = 5, .context_max = 64, .last_tokens_per_second = 18.44};
  EXPECT_EQ(format_status(info, 80), " m | ctx 5/64 | 18.4 tok/s");
}

Message reasoned(std::string reasoning, std::string answer, int tokens) {
  Message m{Role::Assistant, std::move(answer)};
  m.reasoning = std::move(reasoning);
  m.reasoning_tokens = tokens;
  return m;
}

TEST(TuiTranscript, ReasoningIsFoldedToOneDimLineByDefault) {
  Transcript t;
  t.set_assistant_label("r1");
  t.set_conversation(conversation_of({user("2+2?"), reasoned("Two and two make four, surely.", "4", 9)}));
  std::vector<StyledLine> lines = t.render(60);
  EXPECT_EQ(texts(lines), (std::vector<std::string>{"You", "  2+2?", "", "r1",
                                                    "  \xE2\x96\xB8 thought for 9 tokens: Two and two make four, surely.",
                                                    "  4"}));
  EXPECT_EQ(lines[4].style, LineStyle::Reasoning);
  t.set_think_display(ThinkDisplay::Show);
  EXPECT_EQ(texts(t.render(60)), (std::vector<std::string>{"You", "  2+2?", "", "r1", "  thought:",
                                                         "  Two and two make four, surely.", "", "  4"}));
  t.set_think_display(ThinkDisplay::Hide);
  EXPECT_EQ(texts(t.render(60)), (std::vector<std::string>{"You", "  2+2?", "", "r1", "  4"}));
}

TEST(TuiTranscript, StreamedReasoningNeverShowsTheTags) {
  Transcript t;
  t.set_conversation(conversation_of({}));
  t.begin_turn("q");
  for (char c : std::string("<think>\nHmm, let me see.\n</think>\n\nFour.")) {
    t.append_piece(std::string(1, c));
    for (const StyledLine& l : t.render(60)) {
      EXPECT_EQ(l.text.find("<th"), std::string::npos) << l.text;
      EXPECT_EQ(l.text.find("</"), std::string::npos) << l.text;
    }
  }
  std::vector<StyledLine> lines = t.render(60);
  EXPECT_EQ(lines.back().text, "  Four.");
  EXPECT_EQ(lines[lines.size() - 2].style, LineStyle::Reasoning);
  EXPECT_NE(lines[lines.size() - 2].text.find("Hmm, let me see."), std::string::npos);
}

TEST(TuiTranscript, MarkdownRepliesCarrySpansAndCanBeTurnedOff) {
  Transcript t;
  t.set_conversation(conversation_of({user("**not markdown**"), assistant("a **bold** word")}));
  std::vector<StyledLine> lines = t.render(40);
  EXPECT_EQ(lines[1].text, "  **not markdown**");  // what you typed is shown as typed
  ASSERT_EQ(lines.back().text, "  a bold word");
  ASSERT_EQ(lines.back().spans.size(), 1u);
  EXPECT_EQ(lines.back().text.substr(lines.back().spans[0].begin, 4), "bold");  // offsets include the indent
  t.set_markdown(false);
  EXPECT_EQ(t.render(40).back().text, "  a **bold** word");
  EXPECT_TRUE(t.render(40).back().spans.empty());
}

TEST(TuiTranscript, StopReasonsCannotBeConfused) {
  GenerationStats s;
  s.generated_tokens = 3;
  s.stop = StopReason::StopString;
  EXPECT_NE(format_reply_stats(s).find("| stop string"), std::string::npos);
  s.stop = StopReason::User;
  EXPECT_NE(format_reply_stats(s).find("| stopped by you"), std::string::npos);
  EXPECT_NE(format_reply_stats(s, 2).find("3 tokens (2 reasoning)"), std::string::npos);
}

TEST(TuiTranscript, RepliesKeepTheNameOfTheModelThatWroteThem) {
  Transcript t;
  t.set_assistant_label("now-loaded");
  Message old{Role::Assistant, "old reply"};
  old.model = "other-model";
  t.set_conversation(conversation_of({user("q"), old, user("q2"), assistant("new reply")}));
  std::vector<std::string> lines = texts(t.render(40));
  EXPECT_EQ(lines[3], "other-model");
  EXPECT_EQ(lines[9], "now-loaded");
}

TEST(TuiTranscript, AfterUndoOlderNoticesStayAboveLaterMessages) {
  Transcript t;
  t.set_conversation(conversation_of({user("a"), assistant("b"), user("c"), assistant("d")}));
  t.add_notice(Transcript::NoticeKind::Info, "set temperature to 0");
  t.set_conversation(conversation_of({user("a"), assistant("b")}));  // /undo
  t.add_notice(Transcript::NoticeKind::Info, "removed the last exchange");
  t.set_conversation(conversation_of({user("a"), assistant("b"), user("e"), assistant("f")}));
  std::vector<std::string> lines = texts(t.render(40));
  auto at = [&](const std::string& s) { return std::find(lines.begin(), lines.end(), s) - lines.begin(); };
  EXPECT_LT(at("set temperature to 0"), at("removed the last exchange"));
  EXPECT_LT(at("removed the last exchange"), at("  e"));
  EXPECT_LT(at("  b"), at("set temperature to 0"));
}

// A notice that arrives before the streamed reply's first piece (the oldest messages were left
// out to make room for it) is shown above that reply, and stays there when the finished
// conversation replaces the stream; one that arrives after pieces follows the reply.
TEST(TuiTranscript, NoticesBeforeTheFirstPieceGoAboveTheReply) {
  Transcript t;
  t.set_conversation(conversation_of({user("a"), assistant("b")}));
  t.begin_turn("c");
  t.add_notice(Transcript::NoticeKind::Info, "left out the 2 oldest messages");
  t.append_piece("d");
  t.add_notice(Transcript::NoticeKind::Info, "the context is full");
  const std::vector<std::string> expected = {"You", "  a", "", "Assistant", "  b", "", "You", "  c",
                                             "left out the 2 oldest messages", "", "Assistant", "  d",
                                             "the context is full"};
  EXPECT_EQ(texts(t.render(40)), expected);
  t.end_turn(false);
  t.set_conversation(conversation_of({user("a"), assistant("b"), user("c"), assistant("d")}));
  EXPECT_EQ(texts(t.render(40)), expected);
}

}  // namespace
}  // namespace dschat
