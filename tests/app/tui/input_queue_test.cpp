// The queue of input typed during a reply (app/tui/input_queue.h): order, holding after a stop,
// taking back, which commands wait, and the lines shown under the reply.
#include "app/tui/input_queue.h"

#include <gtest/gtest.h>

namespace dschat {
namespace {

TEST(TuiInputQueue, SendsInOrderAndTakesBackTheLast) {
  InputQueue q;
  EXPECT_FALSE(q.next());
  q.push("first");
  q.push("second");
  q.push("third");
  EXPECT_EQ(q.take_back(), "third");
  EXPECT_EQ(q.next(), "first");
  EXPECT_EQ(q.next(), "second");
  EXPECT_FALSE(q.next());
  EXPECT_FALSE(q.take_back());
}

TEST(TuiInputQueue, AStoppedReplyHoldsTheQueueUntilReleased) {
  InputQueue q;
  q.hold();  // nothing queued: nothing to hold
  EXPECT_FALSE(q.held());
  q.push("a");
  q.push("b");
  q.hold();
  EXPECT_TRUE(q.held());
  EXPECT_FALSE(q.next());  // held: nothing goes out by itself
  EXPECT_EQ(q.take_back(), "b");
  EXPECT_TRUE(q.held());
  EXPECT_EQ(q.take_back(), "a");
  EXPECT_FALSE(q.held());  // empty again: a new entry is not held
  q.push("c");
  EXPECT_EQ(q.next(), "c");
  q.push("d");
  q.hold();
  q.release();
  EXPECT_EQ(q.next(), "d");
}

TEST(TuiInputQueue, ReadOnlyCommandsRunDuringAReplyTheOthersWait) {
  auto runs = [](const char* line) { return runs_during_reply(parse_chat_command(line).kind); };
  for (const char* now : {"/show info", "/show parameters", "/?", "/help", "/? set", "/stats off", "/list",
                          "/set think show", "/set markdown off", "/copy", "/copy 2", "/bye", "/nonsense"}) {
    EXPECT_TRUE(runs(now)) << now;
  }
  for (const char* wait : {"hello", "/undo", "/clear", "/regen", "/set parameter temperature 0",
                           "/set system be brief", "/save", "/load 1", "/export md x.md", "//not a command"}) {
    EXPECT_FALSE(runs(wait)) << wait;
  }
}

TEST(TuiInputQueue, LinesShownUnderTheReply) {
  InputQueue q;
  EXPECT_TRUE(queued_lines(q).empty());
  q.push("what next?");
  q.push("line one\nline two");
  std::vector<std::string> lines = queued_lines(q);
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[0], "queued: what next?");
  EXPECT_EQ(lines[1], "queued: line one \u2026");
  EXPECT_EQ(lines[2], "(sent when the reply ends; Up takes it back to edit)");
  q.hold();
  EXPECT_EQ(queued_lines(q).back(), "(not sent: Enter on an empty line sends, Up or Esc takes it back to edit)");
  EXPECT_EQ(queued_lines(q, /*leaving=*/true).back(), "(not sent: the chat ended first)");
}

}  // namespace
}  // namespace dschat
