// Titles, the /list listing and what /load N|TITLE|PATH means (app/chat/conversation_list.h).
#include "app/chat/conversation_list.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>

namespace dschat {
namespace {

namespace fs = std::filesystem;

TEST(ConversationList, TitleIsTheFirstLineCollapsedAndCut) {
  EXPECT_EQ(conversation_title("\n  \nWho   was\tMoses?\nsecond line"), "Who was Moses?");
  EXPECT_EQ(conversation_title("a\x1b[31mb"), "a[31mb");  // control characters dropped
  std::string long_text = "In the beginning God created the heaven and the earth and the earth was without form";
  std::string t = conversation_title(long_text);
  EXPECT_EQ(t, "In the beginning God created the heaven and the earth and\xE2\x80\xA6");
  EXPECT_LE(t.size(), 60u);
  // Never cut inside a UTF-8 character.
  std::string wide;
  for (int i = 0; i < 30; ++i) wide += "\xE4\xBD\xA0";  // 你 x30, no spaces
  std::string w = conversation_title(wide);
  EXPECT_EQ(w, std::string(wide, 0, 57) + "\xE2\x80\xA6");
  EXPECT_EQ(conversation_title(""), "");
}

TEST(ConversationList, HomeExpansion) {
  const char* home = std::getenv("HOME");
  ASSERT_NE(home, nullptr);
  EXPECT_EQ(expand_home("~/x.json"), fs::path(home) / "x.json");
  EXPECT_EQ(expand_home("~"), fs::path(home));
  EXPECT_EQ(expand_home("/tmp/~x"), fs::path("/tmp/~x"));
  EXPECT_EQ(expand_home("~other/x"), fs::path("~other/x"));
}

class ConversationListing : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("dschat_list_test_" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    store_ = std::make_unique<ConversationStore>(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  void save(const std::string& id, const std::string& updated, const std::string& title, const std::string& first,
            int messages) {
    Conversation c;
    c.id = id;
    c.created = c.updated = updated;
    c.model = {"/m", "kjv-demo"};
    c.title = title;
    for (int i = 0; i < messages; ++i)
      c.messages.push_back({i % 2 ? Role::Assistant : Role::User, i == 0 ? first : "x", updated, std::nullopt, false});
    store_->save(c);
  }
  fs::path dir_;
  std::unique_ptr<ConversationStore> store_;
};

TEST_F(ConversationListing, NewestFirstWithTitleDateModelAndCount) {
  save("20261201-100000-aaaa", "2026-12-01T10:00:00Z", "Who was Moses?", "Who was Moses?", 2);
  save("20261203-091500-bbbb", "2026-12-03T09:15:00Z", "", "An old file without a title", 4);
  save("20261202-120000-cccc", "2026-12-02T12:00:00Z", "Psalm 23", "Psalm 23", 1);
  auto list = store_->list();
  EXPECT_EQ(format_conversation_list(list),
            "  1  2026-12-03 09:15  kjv-demo  4 messages  An old file without a title\n"
            "  2  2026-12-02 12:00  kjv-demo  1 message  Psalm 23\n"
            "  3  2026-12-01 10:00  kjv-demo  2 messages  Who was Moses?");
  EXPECT_EQ(resolve_conversation(list, "1"), dir_ / "20261203-091500-bbbb.json");
  EXPECT_EQ(resolve_conversation(list, "3"), dir_ / "20261201-100000-aaaa.json");
  EXPECT_EQ(resolve_conversation(list, "psalm"), dir_ / "20261202-120000-cccc.json");  // a title's start, any case
  EXPECT_EQ(resolve_conversation(list, "An old"), dir_ / "20261203-091500-bbbb.json");
  EXPECT_THROW(resolve_conversation(list, "4"), ConversationError);
  EXPECT_THROW(resolve_conversation(list, "0"), ConversationError);
  EXPECT_THROW(resolve_conversation(list, "nothing like it"), ConversationError);
  // A path is a path, whether or not it exists (the load says what is wrong with it).
  EXPECT_EQ(resolve_conversation(list, "/tmp/none.json"), fs::path("/tmp/none.json"));
  EXPECT_EQ(format_conversation_list({}), "");
}

TEST_F(ConversationListing, AmbiguousTitleAsksForTheNumber) {
  save("20261201-100000-aaaa", "2026-12-01T10:00:00Z", "Moses and Aaron", "Moses and Aaron", 2);
  save("20261202-100000-bbbb", "2026-12-02T10:00:00Z", "Moses in Egypt", "Moses in Egypt", 2);
  try {
    resolve_conversation(store_->list(), "moses");
    FAIL() << "no error";
  } catch (const ConversationError& e) {
    EXPECT_STREQ(e.what(), "2 conversations have a title beginning with 'moses'; give its number from /list");
  }
}

}  // namespace
}  // namespace dschat
