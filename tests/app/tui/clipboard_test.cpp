// /copy (app/tui/clipboard.h): base64 against RFC 4648's test vectors, the OSC 52 sequence as
// xterm's ctlseqs gives it, tmux's DCS passthrough (ESCs doubled, ST at the end), what is chosen
// from the last reply, and the reasons it cannot copy.
#include "app/tui/clipboard.h"

#include <gtest/gtest.h>

#include "app/chat/chat_commands.h"

namespace dschat {
namespace {

TEST(Clipboard, Base64MatchesRfc4648Vectors) {
  // RFC 4648 section 10.
  EXPECT_EQ(base64_encode(""), "");
  EXPECT_EQ(base64_encode("f"), "Zg==");
  EXPECT_EQ(base64_encode("fo"), "Zm8=");
  EXPECT_EQ(base64_encode("foo"), "Zm9v");
  EXPECT_EQ(base64_encode("foob"), "Zm9vYg==");
  EXPECT_EQ(base64_encode("fooba"), "Zm9vYmE=");
  EXPECT_EQ(base64_encode("foobar"), "Zm9vYmFy");
  // High bytes (UTF-8) are not sign-extended: printf 'é\xff' | base64 -> w6n/
  EXPECT_EQ(base64_encode("\xc3\xa9\xff"), "w6n/");
}

TEST(Clipboard, Osc52AndTmuxPassthrough) {
  EXPECT_EQ(osc52_sequence("foo", false), "\x1b]52;c;Zm9v\x07");
  EXPECT_EQ(osc52_sequence("foo", true),
            "\x1b]52;c;Zm9v\x07"
            "\x1bPtmux;\x1b\x1b]52;c;Zm9v\x07\x1b\\");
}

TEST(Clipboard, ChoosesTheLastReplyOrItsCodeBlock) {
  Conversation c;
  std::string error;
  EXPECT_FALSE(choose_copy(c, "", error));
  EXPECT_NE(error.find("no reply"), std::string::npos) << error;
  c.messages.push_back(Message{Role::User, "q1"});
  c.messages.push_back(Message{Role::Assistant, "old ```\nx\n```"});
  c.messages.push_back(Message{Role::User, "q2"});
  Message reply{Role::Assistant, "Two ways:\n\n```python\nprint(1)\n```\n\nor\n\n```\nls -l\n```\n"};
  reply.reasoning = "hidden thoughts";
  c.messages.push_back(reply);
  std::optional<CopyChoice> all = choose_copy(c, "", error);
  ASSERT_TRUE(all);
  EXPECT_EQ(all->text, reply.content);  // the answer, never the reasoning
  EXPECT_EQ(all->description, "the last reply");
  std::optional<CopyChoice> first = choose_copy(c, "1", error);
  ASSERT_TRUE(first);
  EXPECT_EQ(first->text, "print(1)\n");
  EXPECT_EQ(first->description, "code block [1] (python)");
  std::optional<CopyChoice> second = choose_copy(c, "2", error);
  ASSERT_TRUE(second);
  EXPECT_EQ(second->text, "ls -l\n");
  EXPECT_EQ(second->description, "code block [2]");
  EXPECT_FALSE(choose_copy(c, "3", error));
  EXPECT_EQ(error, "the last reply has code blocks [1] to [2]; no [3]");
  c.messages.push_back(Message{Role::User, "q3"});
  c.messages.push_back(Message{Role::Assistant, "plain"});
  EXPECT_FALSE(choose_copy(c, "1", error));
  EXPECT_NE(error.find("no code block"), std::string::npos) << error;
}

TEST(Clipboard, SaysWhyItCannotCopy) {
  EXPECT_EQ(clipboard_unavailable_reason("xterm-256color", true), "");
  EXPECT_EQ(clipboard_unavailable_reason("xterm-kitty", true), "");
  EXPECT_NE(clipboard_unavailable_reason("dumb", true).find("TERM=dumb"), std::string::npos);
  EXPECT_NE(clipboard_unavailable_reason(nullptr, true).find("TERM is not set"), std::string::npos);
  EXPECT_NE(clipboard_unavailable_reason("linux", true).find("Linux console"), std::string::npos);
  EXPECT_NE(clipboard_unavailable_reason("xterm", false).find("not"), std::string::npos);
}

TEST(Clipboard, CopyCommandParsing) {
  EXPECT_EQ(parse_chat_command("/copy").kind, ChatCommand::Kind::Copy);
  EXPECT_EQ(parse_chat_command("/copy").text, "");
  EXPECT_EQ(parse_chat_command("/copy 3").text, "3");
  for (const char* bad : {"/copy 0", "/copy x", "/copy 1 2", "/copy -1", "/copy 99999999999"}) {
    ChatCommand c = parse_chat_command(bad);
    EXPECT_EQ(c.kind, ChatCommand::Kind::Invalid) << bad;
    EXPECT_NE(c.error.find("usage: /copy [N]"), std::string::npos) << bad;
  }
}

}  // namespace
}  // namespace dschat
