// Two writers of one conversation file (two dschat processes resuming the same conversation, or
// --resume of an older copy): no turn is ever dropped. The file is only replaced if it still
// holds what the writer last read or wrote; otherwise the writer's turns go to a new id's file
// and the session says so (ConversationStore::save_unless_changed, ChatSession::take_notices).
#include <gtest/gtest.h>

#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>
#include <thread>

#include "app/backend/responder.h"
#include "app/chat/chat_session.h"
#include "app/chat/conversation_store.h"

namespace dschat {
namespace {

namespace fs = std::filesystem;

// Answers "reply to <the user's message>".
class EchoResponder final : public Responder {
 public:
  ReplyResult respond(const ResponderRequest& request, const ReplyCallbacks&, std::atomic<bool>&) override {
    ReplyResult result;
    result.ok = true;
    result.reply = "reply to " + request.conversation.messages.back().content;
    return result;
  }
  int roll_back_cache(const ChatMessages& conversation) override { return conversation.first_in_context; }
  int rebuild_cache(const ChatMessages& conversation, const std::atomic<bool>&) override {
    return conversation.first_in_context;
  }
  void set_context_size(int) override {}
  int context_used() const override { return 0; }
  int context_max() const override { return 4096; }
  ReplyDefaults defaults() const override { return {}; }
  std::string model_path() const override { return "echo://"; }
  std::string model_name() const override { return "echo"; }
  std::string model_info() const override { return "echo\n"; }
  std::string template_name() const override { return "none"; }
  std::string template_text() const override { return ""; }
};

// "w<writer>-<turn>", built step by step: GCC 12 warns (-Wrestrict) on "w" + string.
std::string turn_tag(int writer, int turn) {
  std::string tag = "w";
  tag += std::to_string(writer);
  tag += '-';
  tag += std::to_string(turn);
  return tag;
}

class ConcurrentWriters : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("dschat_writers_test_" + std::to_string(::getpid()) + "_" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  fs::path store_dir() const { return dir_ / "conversations"; }

  std::unique_ptr<ChatSession> make_session() {
    ChatSessionOptions options;
    options.conversations_dir = store_dir();
    return std::make_unique<ChatSession>(std::make_unique<EchoResponder>(), options);
  }

  // The user messages of every conversation file in the store, by file.
  std::vector<std::vector<std::string>> user_turns_on_disk() const {
    std::vector<std::vector<std::string>> out;
    for (const ConversationFileInfo& info : ConversationStore(store_dir()).list()) out.push_back(user_turns(info.path));
    return out;
  }

  static std::vector<std::string> user_turns(const fs::path& file) {
    std::vector<std::string> turns;
    for (const Message& m : ConversationStore::load(file).messages)
      if (m.role == Role::User) turns.push_back(m.content);
    return turns;
  }

  static std::string file_text(const fs::path& file) {
    std::ifstream in(file, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
  }

  fs::path dir_;
};

TEST_F(ConcurrentWriters, TwoSessionsOnOneFileKeepEveryTurnAndTheSecondIsTold) {
  auto first = make_session();
  ASSERT_TRUE(first->submit("a1").ok);
  const fs::path original = first->file_path();
  auto second = make_session();  // a second dschat resuming the same conversation
  second->load(original);
  ASSERT_EQ(second->file_path(), original);

  ASSERT_TRUE(first->submit("a2").ok);
  TurnResult b1 = second->submit("b1");  // the file changed under it: forked
  ASSERT_TRUE(b1.ok);
  EXPECT_FALSE(b1.save_error) << *b1.save_error;
  ASSERT_TRUE(first->submit("a3").ok);
  ASSERT_TRUE(second->submit("b2").ok);

  const fs::path fork = second->file_path();
  EXPECT_NE(fork, original);
  EXPECT_EQ(fork.parent_path(), store_dir());
  EXPECT_EQ(second->conversation().id, fork.stem().string());
  EXPECT_EQ(user_turns(original), (std::vector<std::string>{"a1", "a2", "a3"}));
  EXPECT_EQ(user_turns(fork), (std::vector<std::string>{"a1", "b1", "b2"}));
  EXPECT_EQ(user_turns_on_disk().size(), 2u);  // the two files, nothing else listed

  EXPECT_TRUE(first->take_notices().empty());
  std::vector<std::string> notices = second->take_notices();
  ASSERT_EQ(notices.size(), 1u);  // once, at the fork; later saves go to the new file quietly
  EXPECT_NE(notices[0].find("changed by another dschat"), std::string::npos) << notices[0];
  EXPECT_NE(notices[0].find(original.string()), std::string::npos) << notices[0];
  EXPECT_NE(notices[0].find(fork.string()), std::string::npos) << notices[0];
  EXPECT_TRUE(second->take_notices().empty());
}

TEST_F(ConcurrentWriters, ResumingAStaleCopyNeverOverwritesTheNewerFile) {
  auto first = make_session();
  ASSERT_TRUE(first->submit("a1").ok);
  const fs::path original = first->file_path();
  const fs::path backup = dir_ / "backup.json";
  first->export_json(backup);  // an older copy with the same id
  ASSERT_TRUE(first->submit("a2").ok);
  ASSERT_TRUE(first->submit("a3").ok);
  const std::string newer = file_text(original);

  auto resumed = make_session();
  resumed->load(backup);  // dschat --resume backup.json
  EXPECT_EQ(resumed->conversation().id, original.stem().string());
  ASSERT_TRUE(resumed->submit("b1").ok);

  EXPECT_EQ(file_text(original), newer);  // the stored file's two later turns are still there
  const fs::path fork = resumed->file_path();
  EXPECT_NE(fork, original);
  EXPECT_EQ(user_turns(fork), (std::vector<std::string>{"a1", "b1"}));
  EXPECT_EQ(resumed->take_notices().size(), 1u);
}

TEST_F(ConcurrentWriters, ResumingACopyEqualToTheStoredFileGoesOnInThatFile) {
  auto first = make_session();
  ASSERT_TRUE(first->submit("a1").ok);
  const fs::path original = first->file_path();
  const fs::path copy = dir_ / "copy.json";
  fs::copy_file(original, copy);

  auto resumed = make_session();
  resumed->load(copy);
  ASSERT_TRUE(resumed->submit("b1").ok);
  EXPECT_EQ(resumed->file_path(), original);
  EXPECT_EQ(user_turns(original), (std::vector<std::string>{"a1", "b1"}));
  EXPECT_TRUE(resumed->take_notices().empty());

  // A copy of a conversation that is not in the store (yet) becomes its file there.
  fs::remove(original);
  auto again = make_session();
  again->load(copy);
  ASSERT_TRUE(again->submit("c1").ok);
  EXPECT_EQ(again->file_path(), original);
  EXPECT_TRUE(again->take_notices().empty());
}

TEST_F(ConcurrentWriters, AnExplicitSaveOfTheAutosaveFileIsCheckedToo) {
  auto first = make_session();
  ASSERT_TRUE(first->submit("a1").ok);
  auto second = make_session();
  second->load(first->file_path());
  ASSERT_TRUE(first->submit("a2").ok);
  const fs::path written = second->save(second->file_path());  // /save with the file's own name
  EXPECT_NE(written, first->file_path());
  EXPECT_EQ(user_turns(first->file_path()), (std::vector<std::string>{"a1", "a2"}));
  EXPECT_EQ(second->take_notices().size(), 1u);
}

// The store itself, with writers racing on threads (each its own lock descriptor, as two
// processes have): each keeps appending a turn and saving, following its fork when it gets one.
// At the end every writer's file holds every one of its turns.
TEST_F(ConcurrentWriters, RacingStoreWritersNeverLoseATurn) {
  const ConversationStore store(store_dir());
  Conversation start;
  start.id = "20261122-100000-abcd";
  const GuardedSave created = store.save_unless_changed(start, FileRevision{});
  ASSERT_TRUE(created.forked_id.empty());

  constexpr int kWriters = 3, kTurns = 15;
  std::vector<fs::path> final_paths(kWriters);
  std::vector<int> forks(kWriters, 0);
  std::vector<std::thread> threads;
  for (int w = 0; w < kWriters; ++w) {
    threads.emplace_back([&, w] {
      Conversation mine = start;
      FileRevision seen = created.revision;
      fs::path path = created.path;
      for (int t = 0; t < kTurns; ++t) {
        const std::string tag = turn_tag(w, t);
        mine.messages.push_back({Role::User, tag, "", std::nullopt, false});
        mine.messages.push_back({Role::Assistant, "reply " + tag, "", std::nullopt, false});
        const GuardedSave saved = store.save_unless_changed(mine, seen, path);
        if (!saved.forked_id.empty()) {
          mine.id = saved.forked_id;
          ++forks[w];
        }
        seen = saved.revision;
        path = saved.path;
      }
      final_paths[w] = path;
    });
  }
  for (std::thread& t : threads) t.join();

  std::set<fs::path> distinct(final_paths.begin(), final_paths.end());
  EXPECT_EQ(distinct.size(), static_cast<size_t>(kWriters));  // at most one writer kept the original
  for (int w = 0; w < kWriters; ++w) {
    std::vector<std::string> expected;
    for (int t = 0; t < kTurns; ++t) expected.push_back(turn_tag(w, t));
    EXPECT_EQ(user_turns(final_paths[w]), expected) << "writer " << w;
    EXPECT_LE(forks[w], 1) << "a writer forks once, then owns its new file";
  }
}

TEST_F(ConcurrentWriters, WhatIsNotARegularFileAtThePathIsLeftAloneAndTheTurnsForked) {
  const ConversationStore store(store_dir());
  Conversation c;
  c.id = "20261122-100000-abcd";
  fs::create_directories(store_dir() / (c.id + ".json"));
  const GuardedSave saved = store.save_unless_changed(c, FileRevision{});
  EXPECT_FALSE(saved.forked_id.empty());
  EXPECT_TRUE(fs::is_directory(store_dir() / (c.id + ".json")));
  EXPECT_EQ(ConversationStore::load(saved.path).id, saved.forked_id);
}

}  // namespace
}  // namespace dschat
