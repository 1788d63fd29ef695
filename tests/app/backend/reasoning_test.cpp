// Splitting a reply's <think> block from its answer (app/backend/reasoning.h), against cases
// written out by hand from the DeepSeek-R1 output format: "<think>\n...\n</think>\n\n" + answer.
#include "app/backend/reasoning.h"

#include <gtest/gtest.h>

namespace dschat {
namespace {

TEST(Reasoning, ClosedBlockIsSplitFromTheAnswer) {
  ReasoningSplit s = split_reasoning("<think>\nThe user greets me.\nI greet back.\n</think>\n\nHello!");
  EXPECT_TRUE(s.has_reasoning);
  EXPECT_TRUE(s.closed);
  EXPECT_EQ(s.reasoning, "The user greets me.\nI greet back.");
  EXPECT_EQ(s.answer, "Hello!");
}

TEST(Reasoning, NoBlockIsAllAnswer) {
  ReasoningSplit s = split_reasoning("Hello! I am <think> a tag in the text </think> here.");
  EXPECT_FALSE(s.has_reasoning);
  EXPECT_EQ(s.reasoning, "");
  EXPECT_EQ(s.answer, "Hello! I am <think> a tag in the text </think> here.");
}

TEST(Reasoning, TextBeforeTheTagMeansNoReasoning) {
  ReasoningSplit s = split_reasoning("Sure. <think>x</think> y");
  EXPECT_FALSE(s.has_reasoning);
  EXPECT_EQ(s.answer, "Sure. <think>x</think> y");
}

TEST(Reasoning, LeadingBlankSpaceBeforeTheTagIsAllowed) {
  ReasoningSplit s = split_reasoning("\n <think>a</think>b");
  EXPECT_TRUE(s.has_reasoning);
  EXPECT_EQ(s.reasoning, "a");
  EXPECT_EQ(s.answer, "b");
}

TEST(Reasoning, UnclosedBlockIsAllReasoning) {
  ReasoningSplit s = split_reasoning("<think>\nStill thinking about </thi");
  EXPECT_TRUE(s.has_reasoning);
  EXPECT_FALSE(s.closed);
  EXPECT_EQ(s.reasoning, "Still thinking about </thi");  // the reply ended: kept as written
  EXPECT_EQ(s.answer, "");
  // While streaming, a possible start of </think> is held back.
  EXPECT_EQ(split_reasoning("<think>\nStill thinking about </thi", true).reasoning, "Still thinking about");
}

TEST(Reasoning, EmptyBlock) {
  ReasoningSplit s = split_reasoning("<think>\n\n</think>\n\nAnswer");
  EXPECT_TRUE(s.has_reasoning);
  EXPECT_TRUE(s.closed);
  EXPECT_EQ(s.reasoning, "");
  EXPECT_EQ(s.answer, "Answer");
}

TEST(Reasoning, StreamedByteByByteNeverShowsATag) {
  const std::string reply = "<think>\nLet me see.\n</think>\n\nThe answer is 4.";
  for (size_t n = 0; n <= reply.size(); ++n) {
    ReasoningSplit s = split_reasoning(std::string_view(reply).substr(0, n), true);
    EXPECT_EQ(s.answer.find('<'), std::string::npos) << n;
    EXPECT_EQ(s.reasoning.find('<'), std::string::npos) << n;
    EXPECT_TRUE(std::string("Let me see.").starts_with(s.reasoning)) << n << ": " << s.reasoning;
    EXPECT_TRUE(std::string("The answer is 4.").starts_with(s.answer)) << n << ": " << s.answer;
  }
  ReasoningSplit done = split_reasoning(reply, true);
  EXPECT_EQ(done.reasoning, "Let me see.");
  EXPECT_EQ(done.answer, "The answer is 4.");
  // A streamed start that turns out not to be the tag is shown once it cannot be one.
  EXPECT_EQ(split_reasoning("<th", true).answer, "");
  EXPECT_EQ(split_reasoning("<tha", true).answer, "<tha");
}

TEST(Reasoning, FirstWords) {
  EXPECT_EQ(first_words("  In the\nbeginning God created ", 3), "In the beginning\xE2\x80\xA6");
  EXPECT_EQ(first_words("one two", 3), "one two");
  EXPECT_EQ(first_words("", 3), "");
}

}  // namespace
}  // namespace dschat
