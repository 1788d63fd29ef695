// `dschat --resume` with several conversations (app/cli/conversation_picker.h): the listing, then
// an answer by number, title, Enter, n or q; a wrong answer is explained and asked again.
#include "app/cli/conversation_picker.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <string>

namespace dschat {
namespace {

std::vector<ConversationFileInfo> three() {
  std::vector<ConversationFileInfo> list(3);
  const char* titles[] = {"Newest talk", "Psalms question", "Oldest talk"};
  for (size_t i = 0; i < 3; ++i) {
    list[i].path = "/conversations/" + std::to_string(i) + ".json";
    list[i].title = titles[i];
    list[i].updated = "2026-12-0" + std::to_string(3 - i) + "T10:00:00Z";
    list[i].model_name = "kjv-demo";
    list[i].messages = 2;
  }
  return list;
}

struct Picked {
  ConversationPick pick;
  std::string shown;
};

Picked pick(const std::string& answers, size_t shown = 20) {
  std::string input = answers;
  std::FILE* in = ::fmemopen(input.data(), input.size(), "r");
  char* out_buffer = nullptr;
  size_t out_size = 0;
  std::FILE* out = ::open_memstream(&out_buffer, &out_size);
  Picked p{pick_conversation(three(), in, out, shown), ""};
  std::fclose(in);
  std::fclose(out);
  p.shown.assign(out_buffer, out_size);
  std::free(out_buffer);
  return p;
}

TEST(ConversationPicker, ListsNewestFirstAndTakesANumber) {
  const Picked p = pick("2\n");
  EXPECT_EQ(p.pick.kind, ConversationPick::Kind::Resume);
  EXPECT_EQ(p.pick.path, "/conversations/1.json");
  EXPECT_NE(p.shown.find("Saved conversations, newest first:\n  1  2026-12-03 10:00  kjv-demo  2 messages  Newest talk\n"
                         "  2  2026-12-02 10:00  kjv-demo  2 messages  Psalms question\n"),
            std::string::npos)
      << p.shown;
  EXPECT_NE(p.shown.find("Resume which? (1-3"), std::string::npos) << p.shown;
}

TEST(ConversationPicker, EnterTitleNewAndQuit) {
  EXPECT_EQ(pick("\n").pick.path, "/conversations/0.json");  // Enter: the newest
  EXPECT_EQ(pick("psalms\n").pick.path, "/conversations/1.json");
  EXPECT_EQ(pick("n\n").pick.kind, ConversationPick::Kind::New);
  EXPECT_EQ(pick("q\n").pick.kind, ConversationPick::Kind::Quit);
  EXPECT_EQ(pick("").pick.kind, ConversationPick::Kind::Quit);  // end of input (Ctrl+D)
}

TEST(ConversationPicker, AWrongAnswerIsExplainedAndAskedAgain) {
  const Picked p = pick("7\ntalk\n 3 \n");
  EXPECT_EQ(p.pick.path, "/conversations/2.json");
  EXPECT_NE(p.shown.find("no conversation 7: there are 3"), std::string::npos) << p.shown;
  EXPECT_NE(p.shown.find("talk"), std::string::npos) << p.shown;  // two titles start so: which one?
  size_t asked = 0;
  for (size_t at = p.shown.find("Resume which?"); at != std::string::npos; at = p.shown.find("Resume which?", at + 1)) ++asked;
  EXPECT_EQ(asked, 3u);
}

TEST(ConversationPicker, ALongListShowsTheNewestAndSaysHowManyMore) {
  const Picked p = pick("3\n", 2);
  EXPECT_EQ(p.shown.find("Oldest talk"), std::string::npos) << p.shown;
  EXPECT_NE(p.shown.find("... and 1 older (dschat --conversations lists them all)"), std::string::npos) << p.shown;
  EXPECT_EQ(p.pick.path, "/conversations/2.json");  // its number still works
}

}  // namespace
}  // namespace dschat
