// The slash-command parser (app/chat/chat_commands.h).
#include "app/chat/chat_commands.h"

#include <gtest/gtest.h>

namespace dschat {
namespace {

using Kind = ChatCommand::Kind;

TEST(ChatCommands, PlainLinesAreMessages) {
  ChatCommand c = parse_chat_command("hello /there");
  EXPECT_EQ(c.kind, Kind::Message);
  EXPECT_EQ(c.text, "hello /there");
  c = parse_chat_command("line one\nline two");
  EXPECT_EQ(c.kind, Kind::Message);
  EXPECT_EQ(c.text, "line one\nline two");
  c = parse_chat_command("//etc/passwd is a path");
  EXPECT_EQ(c.kind, Kind::Message);
  EXPECT_EQ(c.text, "/etc/passwd is a path");
}

TEST(ChatCommands, HelpAndTopics) {
  EXPECT_EQ(parse_chat_command("/help").kind, Kind::Help);
  EXPECT_EQ(parse_chat_command("/?").kind, Kind::Help);
  ChatCommand c = parse_chat_command("/? shortcuts");
  EXPECT_EQ(c.kind, Kind::Help);
  EXPECT_EQ(c.text, "shortcuts");
  EXPECT_EQ(parse_chat_command("/? everything").kind, Kind::Invalid);
  EXPECT_NE(chat_help_text("").find("/set parameter"), std::string::npos);
  EXPECT_NE(chat_help_text("set").find("temperature"), std::string::npos);
  EXPECT_NE(chat_help_text("shortcuts").find("Ctrl+D"), std::string::npos);
}

TEST(ChatCommands, SetParameterStopTakesTheRestOfTheLine) {
  ChatCommand c = parse_chat_command("/set parameter stop ###  \\n\\nUser:");
  ASSERT_EQ(c.kind, Kind::SetParameter) << c.error;
  EXPECT_EQ(c.name, "stop");
  EXPECT_EQ(c.text, "###  \\n\\nUser:");  // decoded by the session (parse_stop_list)
  EXPECT_EQ(parse_chat_command("/set parameter stop off").kind, Kind::SetParameter);
  ChatCommand bad = parse_chat_command("/set parameter stop a b c d e");
  EXPECT_EQ(bad.kind, Kind::Invalid);
  EXPECT_NE(bad.error.find("at most 4"), std::string::npos) << bad.error;
  EXPECT_EQ(parse_chat_command("/set parameter stop").kind, Kind::Invalid);
  EXPECT_EQ(parse_chat_command("/set parameter stop x\\q").kind, Kind::Invalid);
  EXPECT_NE(chat_help_text("set").find("stop S1"), std::string::npos);
}

TEST(ChatCommands, SetParameterValidatesNameAndValue) {
  ChatCommand c = parse_chat_command("  /set parameter temperature 0  ");
  ASSERT_EQ(c.kind, Kind::SetParameter);
  EXPECT_EQ(c.name, "temperature");
  EXPECT_EQ(c.text, "0");
  for (const char* ok : {"/set parameter top_k 40", "/set parameter top_p 0.9", "/set parameter min_p 0.05",
                         "/set parameter repeat_penalty 1.1", "/set parameter seed 42",
                         "/set parameter num_predict -1", "/set parameter num_predict 128"}) {
    EXPECT_EQ(parse_chat_command(ok).kind, Kind::SetParameter) << ok;
  }
  struct Bad {
    const char* line;
    const char* mentions;
  };
  for (Bad bad : {Bad{"/set parameter temperature hot", "temperature"}, Bad{"/set parameter temperature -1", "temperature"},
                  Bad{"/set parameter top_p 0", "top_p"}, Bad{"/set parameter top_p 1.5", "top_p"},
                  Bad{"/set parameter top_k 2.5", "top_k"}, Bad{"/set parameter seed -3", "seed"},
                  Bad{"/set parameter num_predict -2", "num_predict"}, Bad{"/set parameter warmth 1", "warmth"},
                  Bad{"/set parameter temperature", "usage"}, Bad{"/set parameter top_k 1 2", "extra"},
                  Bad{"/set colour red", "colour"}}) {
    ChatCommand b = parse_chat_command(bad.line);
    EXPECT_EQ(b.kind, Kind::Invalid) << bad.line;
    EXPECT_NE(b.error.find(bad.mentions), std::string::npos) << bad.line << " -> " << b.error;
    EXPECT_EQ(b.error.find('\n'), std::string::npos) << "one line: " << b.error;
  }
}

TEST(ChatCommands, SetSystemKeepsText) {
  ChatCommand c = parse_chat_command("/set system You are terse.  Answer briefly.");
  ASSERT_EQ(c.kind, Kind::SetSystem);
  EXPECT_EQ(c.text, "You are terse.  Answer briefly.");
  c = parse_chat_command("/set system \"\"\"Line one\nLine two\"\"\"");
  ASSERT_EQ(c.kind, Kind::SetSystem);
  EXPECT_EQ(c.text, "Line one\nLine two");
  c = parse_chat_command("/set system");
  ASSERT_EQ(c.kind, Kind::SetSystem);  // clears the system prompt
  EXPECT_EQ(c.text, "");
}

TEST(ChatCommands, ShowTopics) {
  for (const char* topic : {"info", "parameters", "system", "template"}) {
    ChatCommand c = parse_chat_command(std::string("/show ") + topic);
    EXPECT_EQ(c.kind, Kind::Show);
    EXPECT_EQ(c.name, topic);
  }
  EXPECT_EQ(parse_chat_command("/show").kind, Kind::Invalid);
  EXPECT_EQ(parse_chat_command("/show license").kind, Kind::Invalid);
}

TEST(ChatCommands, SimpleCommandsRejectArguments) {
  EXPECT_EQ(parse_chat_command("/clear").kind, Kind::Clear);
  EXPECT_EQ(parse_chat_command("/regen").kind, Kind::Regenerate);
  EXPECT_EQ(parse_chat_command("/undo").kind, Kind::Undo);
  EXPECT_EQ(parse_chat_command("/bye").kind, Kind::Exit);
  EXPECT_EQ(parse_chat_command("/exit").kind, Kind::Exit);
  ChatCommand c = parse_chat_command("/clear everything");
  EXPECT_EQ(c.kind, Kind::Invalid);
  EXPECT_NE(c.error.find("/clear"), std::string::npos);
}

TEST(ChatCommands, FilesAndExport) {
  ChatCommand c = parse_chat_command("/save");
  EXPECT_EQ(c.kind, Kind::Save);
  EXPECT_EQ(c.text, "");
  c = parse_chat_command("/save /tmp/my chat.json");
  EXPECT_EQ(c.kind, Kind::Save);
  EXPECT_EQ(c.text, "/tmp/my chat.json");
  c = parse_chat_command("/load a.json");
  EXPECT_EQ(c.kind, Kind::Load);
  EXPECT_EQ(c.text, "a.json");
  EXPECT_EQ(parse_chat_command("/load").kind, Kind::Invalid);
  c = parse_chat_command("/export md out.md");
  EXPECT_EQ(c.kind, Kind::Export);
  EXPECT_EQ(c.name, "md");
  EXPECT_EQ(c.text, "out.md");
  EXPECT_EQ(parse_chat_command("/export json").kind, Kind::Invalid);
  EXPECT_EQ(parse_chat_command("/export pdf x.pdf").kind, Kind::Invalid);
}

TEST(ChatCommands, StatsAndUnknown) {
  ChatCommand c = parse_chat_command("/stats on");
  EXPECT_EQ(c.kind, Kind::Stats);
  EXPECT_TRUE(c.on);
  c = parse_chat_command("/stats off");
  EXPECT_EQ(c.kind, Kind::Stats);
  EXPECT_FALSE(c.on);
  EXPECT_EQ(parse_chat_command("/stats maybe").kind, Kind::Invalid);
  c = parse_chat_command("/frobnicate now");
  EXPECT_EQ(c.kind, Kind::Invalid);
  EXPECT_NE(c.error.find("unknown command '/frobnicate'"), std::string::npos);
  EXPECT_EQ(parse_chat_command("/").kind, Kind::Invalid);
}

}  // namespace
}  // namespace dschat
