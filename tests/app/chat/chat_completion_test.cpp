// Tab completion of chat input (app/chat/chat_completion.h): commands, their words, paths.
#include "app/chat/chat_completion.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>

#include "tests/engine/checkpoint_writer.h"

namespace dschat {
namespace {

namespace fs = std::filesystem;
using Words = std::vector<std::string>;

Words candidates(const std::string& line) { return complete_chat_input(line).candidates; }

TEST(ChatCompletion, CommandsAndTheirWords) {
  EXPECT_EQ(candidates("/s"), (Words{"/save", "/set", "/show", "/stats"}));
  EXPECT_EQ(candidates("/sh"), (Words{"/show"}));
  EXPECT_EQ(candidates("/").size(), 15u);
  EXPECT_EQ(candidates("/set "), (Words{"markdown", "parameter", "system", "think"}));
  EXPECT_EQ(candidates("/set parameter te"), (Words{"temperature"}));
  EXPECT_EQ(candidates("/set parameter num_"), (Words{"num_ctx", "num_predict"}));
  EXPECT_EQ(candidates("/set parameter top"), (Words{"top_k", "top_p"}));
  EXPECT_EQ(candidates("/set think "), (Words{"fold", "hide", "show"}));
  EXPECT_EQ(candidates("/set markdown o"), (Words{"off", "on"}));
  EXPECT_EQ(candidates("/show p"), (Words{"parameters"}));
  EXPECT_EQ(candidates("/? s"), (Words{"set", "shortcuts", "show"}));
  EXPECT_EQ(candidates("/export j"), (Words{"json"}));
  EXPECT_EQ(candidates("/stats o"), (Words{"off", "on"}));
  const Completion c = complete_chat_input("/set parameter te");
  EXPECT_EQ(c.word_start, 15u);
  // Nothing to complete: messages, a value, words past the last one a command takes.
  EXPECT_TRUE(candidates("hello /s").empty());
  EXPECT_TRUE(candidates("//s").empty());
  EXPECT_TRUE(candidates("/set parameter temperature 0").empty());
  EXPECT_TRUE(candidates("/show info x").empty());
  EXPECT_TRUE(candidates("/bogus x").empty());
}

TEST(ChatCompletion, PathsForSaveLoadAndExport) {
  test::TempDir dir;
  fs::create_directories(dir / "notes");
  std::ofstream(dir / "note.json") << "{}";
  std::ofstream(dir / ".hidden") << "";
  const std::string d = dir.path().string();
  EXPECT_EQ(candidates("/save " + d + "/no"), (Words{d + "/note.json", d + "/notes/"}));
  EXPECT_EQ(candidates("/load " + d + "/notes"), (Words{d + "/notes/"}));
  EXPECT_EQ(candidates("/export md " + d + "/note."), (Words{d + "/note.json"}));
  EXPECT_EQ(candidates("/save " + d + "/"), (Words{d + "/note.json", d + "/notes/"}));  // hidden ones left out
  EXPECT_EQ(candidates("/save " + d + "/."), (Words{d + "/.hidden"}));
  EXPECT_TRUE(candidates("/save " + d + "/zzz").empty());
  EXPECT_TRUE(candidates("/save /no/such/dir/x").empty());
  // "~" is the home directory, and stays "~" in what is completed.
  const char* old = std::getenv("HOME");
  const std::string saved = old ? old : "";
  ::setenv("HOME", d.c_str(), 1);
  EXPECT_EQ(candidates("/save ~/note"), (Words{"~/note.json", "~/notes/"}));
  EXPECT_EQ(candidates("/load ~"), (Words{"~/"}));
  if (old) ::setenv("HOME", saved.c_str(), 1);
  else ::unsetenv("HOME");
  EXPECT_EQ(complete_path(d + "/", 1).size(), 1u);  // bounded
}

}  // namespace
}  // namespace dschat
