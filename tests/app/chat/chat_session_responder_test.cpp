// The chat session over a scripted Responder (no model): what it asks the responder for (the
// messages, the first one in context, the sampling, the reply limit) and what it does with the
// replies (kept, interrupted ones too; errors leave the conversation as it was).
#include <gtest/gtest.h>

#include <unistd.h>

#include <deque>
#include <filesystem>

#include "app/backend/responder.h"
#include "app/chat/chat_session.h"

namespace dschat {
namespace {

namespace fs = std::filesystem;

// Records every call; answers with the scripted replies in order (then "reply<N>").
class ScriptedResponder final : public Responder {
 public:
  struct Calls {
    std::vector<ResponderRequest> requests;
    std::vector<ChatMessages> roll_backs;
    std::vector<ChatMessages> rebuilds;
  };
  ScriptedResponder(Calls& calls, std::deque<ReplyResult>& replies) : calls_(calls), replies_(replies) {}

  ReplyResult respond(const ResponderRequest& request, const ReplyCallbacks& callbacks,
                      std::atomic<bool>& cancel) override {
    calls_.requests.push_back(request);
    ReplyResult result;
    if (!replies_.empty()) {
      result = replies_.front();
      replies_.pop_front();
    } else {
      result.ok = true;
      result.reply = "reply" + std::to_string(calls_.requests.size());
    }
    if (result.ok && callbacks.on_piece) callbacks.on_piece(result.reply);
    if (cancel.load()) result.interrupted = true;
    result.first_in_context = std::max(result.first_in_context, request.conversation.first_in_context);
    return result;
  }
  int roll_back_cache(const ChatMessages& conversation) override {
    calls_.roll_backs.push_back(conversation);
    return conversation.first_in_context;
  }
  int rebuild_cache(const ChatMessages& conversation, const std::atomic<bool>&) override {
    calls_.rebuilds.push_back(conversation);
    return conversation.first_in_context;
  }
  void set_context_size(int) override {}
  int context_used() const override { return 0; }
  int context_max() const override { return 4096; }
  ReplyDefaults defaults() const override {
    ReplyDefaults defaults;
    defaults.sampling.temperature = 0.25f;
    defaults.sampling.seed = 5;
    defaults.max_reply_tokens = 100;
    return defaults;
  }
  std::string model_path() const override { return "scripted://model"; }
  std::string model_name() const override { return "scripted"; }
  std::string model_info() const override { return "scripted responder\n"; }
  std::string template_name() const override { return "none"; }
  std::string template_text() const override { return ""; }

 private:
  Calls& calls_;
  std::deque<ReplyResult>& replies_;
};

class ChatSessionResponder : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("dschat_responder_test_" + std::to_string(::getpid()) + "_" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::unique_ptr<ChatSession> make_session(ChatSessionOptions options = {}) {
    options.conversations_dir = dir_;
    return std::make_unique<ChatSession>(std::make_unique<ScriptedResponder>(calls_, replies_), options);
  }
  static ReplyResult failure(const std::string& error) {
    ReplyResult result;
    result.error = error;
    return result;
  }

  fs::path dir_;
  ScriptedResponder::Calls calls_;
  std::deque<ReplyResult> replies_;
};

TEST_F(ChatSessionResponder, SubmitAsksForTheConversationWithTheSessionsParameters) {
  ChatSessionOptions options;
  options.system = "Be brief.";
  auto session = make_session(options);
  std::string streamed;
  TurnResult first = session->submit("Hi", {[&](std::string_view piece) { streamed += piece; }, {}});
  ASSERT_TRUE(first.ok) << first.error;
  EXPECT_EQ(first.reply, "reply1");
  EXPECT_EQ(streamed, "reply1");
  ASSERT_EQ(calls_.requests.size(), 1u);
  const ResponderRequest& request = calls_.requests[0];
  EXPECT_EQ(request.conversation.system, "Be brief.");
  ASSERT_EQ(request.conversation.messages.size(), 1u);
  EXPECT_EQ(request.conversation.messages[0].role, Role::User);
  EXPECT_EQ(request.conversation.messages[0].content, "Hi");
  EXPECT_EQ(request.conversation.first_in_context, 0);
  EXPECT_FLOAT_EQ(request.sampling.temperature, 0.25f);  // the responder's defaults
  EXPECT_EQ(request.sampling.seed, 5u);
  EXPECT_TRUE(request.restart_sampling);
  EXPECT_EQ(request.max_reply_tokens, 100);

  ASSERT_TRUE(session->submit("Again").ok);
  ASSERT_EQ(calls_.requests.size(), 2u);
  EXPECT_EQ(calls_.requests[1].conversation.messages.size(), 3u);
  EXPECT_EQ(calls_.requests[1].conversation.messages[1].content, "reply1");
  EXPECT_FALSE(calls_.requests[1].restart_sampling);  // the random sequence goes on

  Conversation c = session->conversation();
  ASSERT_EQ(c.messages.size(), 4u);
  EXPECT_EQ(c.messages[3].role, Role::Assistant);
  EXPECT_EQ(c.messages[3].content, "reply2");
  EXPECT_EQ(c.model.path, "scripted://model");
  EXPECT_EQ(c.model.name, "scripted");
  EXPECT_EQ(ConversationStore::load(session->file_path()).messages.size(), 4u);  // autosaved
}

TEST_F(ChatSessionResponder, SetParametersReachTheNextRequest) {
  auto session = make_session();
  session->set_parameter("temperature", "0.9");
  session->set_parameter("seed", "42");
  session->set_parameter("num_predict", "7");
  ASSERT_TRUE(session->submit("Hi").ok);
  ASSERT_TRUE(session->submit("Again").ok);
  session->set_parameter("seed", "42");  // the same seed again: the sequence starts afresh
  ASSERT_TRUE(session->submit("Once more").ok);
  ASSERT_EQ(calls_.requests.size(), 3u);
  EXPECT_FLOAT_EQ(calls_.requests[0].sampling.temperature, 0.9f);
  EXPECT_EQ(calls_.requests[0].sampling.seed, 42u);
  EXPECT_EQ(calls_.requests[0].max_reply_tokens, 7);
  EXPECT_TRUE(calls_.requests[0].restart_sampling);
  EXPECT_FALSE(calls_.requests[1].restart_sampling);
  EXPECT_TRUE(calls_.requests[2].restart_sampling);
  EXPECT_EQ(session->conversation().sampling.seed, 42u);
}

TEST_F(ChatSessionResponder, ARandomSeedIsResolvedOnceAndShown) {
  auto session = make_session();
  session->set_parameter("seed", "0");
  ASSERT_TRUE(session->submit("Hi").ok);
  ASSERT_TRUE(session->submit("Again").ok);
  const uint64_t seed = calls_.requests[0].sampling.seed;
  EXPECT_NE(seed, 0u);
  EXPECT_EQ(calls_.requests[1].sampling.seed, seed);
  EXPECT_EQ(session->conversation().sampling.seed, 0u);  // the file keeps "random"
  EXPECT_NE(session->parameters_text().find("seed 0 (random: " + std::to_string(seed) + ")"), std::string::npos);
}

TEST_F(ChatSessionResponder, AnErrorLeavesTheConversationUnchanged) {
  auto session = make_session();
  ASSERT_TRUE(session->submit("Hi").ok);
  const Conversation before = session->conversation();
  replies_.push_back(failure("the message does not fit"));
  TurnResult failed = session->submit("Too long");
  EXPECT_FALSE(failed.ok);
  EXPECT_FALSE(failed.message_kept);
  EXPECT_EQ(failed.error, "the message does not fit");
  EXPECT_EQ(session->conversation().messages.size(), before.messages.size());
  EXPECT_EQ(ConversationStore::load(session->file_path()).messages.size(), 2u);

  replies_.push_back(failure("engine failed"));
  TurnResult regenerated = session->regenerate();
  EXPECT_FALSE(regenerated.ok);
  Conversation after = session->conversation();
  ASSERT_EQ(after.messages.size(), 2u);
  EXPECT_EQ(after.messages[1].content, "reply1");  // the previous reply is back
  // The failed regenerate asked without the reply it was to replace.
  EXPECT_EQ(calls_.requests.back().conversation.messages.size(), 1u);
}

TEST_F(ChatSessionResponder, ARetryableErrorKeepsTheMessageToResendWithRegenerate) {
  auto session = make_session();
  ASSERT_TRUE(session->submit("Hi").ok);
  ReplyResult down = failure("the server at http://h/v1 dropped the connection");
  down.retryable = true;
  replies_.push_back(down);
  TurnResult failed = session->submit("Are you there?");
  EXPECT_FALSE(failed.ok);
  EXPECT_TRUE(failed.message_kept);
  EXPECT_EQ(failed.error, down.error);
  // In the conversation and in its file, unanswered.
  ASSERT_EQ(session->conversation().messages.size(), 3u);
  Conversation saved = ConversationStore::load(session->file_path());
  ASSERT_EQ(saved.messages.size(), 3u);
  EXPECT_EQ(saved.messages[2].role, Role::User);
  EXPECT_EQ(saved.messages[2].content, "Are you there?");

  // A new message is refused with what to do; nothing is asked.
  TurnResult refused = session->submit("Hello?");
  EXPECT_FALSE(refused.ok);
  EXPECT_NE(refused.error.find("/regen"), std::string::npos) << refused.error;
  EXPECT_EQ(calls_.requests.size(), 2u);

  // Failing again keeps it again; then regenerate answers it.
  replies_.push_back(down);
  TurnResult again = session->regenerate();
  EXPECT_FALSE(again.ok);
  EXPECT_TRUE(again.message_kept);
  ASSERT_EQ(session->conversation().messages.size(), 3u);
  TurnResult resent = session->regenerate();
  ASSERT_TRUE(resent.ok) << resent.error;
  ASSERT_EQ(calls_.requests.size(), 4u);
  ASSERT_EQ(calls_.requests[3].conversation.messages.size(), 3u);
  EXPECT_EQ(calls_.requests[3].conversation.messages[2].content, "Are you there?");
  saved = ConversationStore::load(session->file_path());
  ASSERT_EQ(saved.messages.size(), 4u);
  EXPECT_EQ(saved.messages[2].content, "Are you there?");
  EXPECT_EQ(saved.messages[3].content, "reply4");

  // Or undo removes it.
  replies_.push_back(down);
  ASSERT_TRUE(session->submit("Once more").message_kept);
  ASSERT_TRUE(session->undo());
  ASSERT_EQ(session->conversation().messages.size(), 4u);
  EXPECT_EQ(session->conversation().messages.back().content, "reply4");
}

TEST_F(ChatSessionResponder, StopStringsReachTheRequest) {
  auto session = make_session();
  session->set_parameter("stop", "END \\n\\n");
  EXPECT_NE(session->parameters_text().find("stop END \\n\\n\n"), std::string::npos) << session->parameters_text();
  ASSERT_TRUE(session->submit("Hi").ok);
  EXPECT_EQ(calls_.requests.back().stop, (std::vector<std::string>{"END", "\n\n"}));
  EXPECT_THROW(session->set_parameter("stop", "a b c d e"), std::invalid_argument);
  session->set_parameter("stop", "off");
  ASSERT_TRUE(session->submit("Again").ok);
  EXPECT_TRUE(calls_.requests.back().stop.empty());
  EXPECT_NE(session->parameters_text().find("stop off\n"), std::string::npos);
}

TEST_F(ChatSessionResponder, RegenerateAsksWithoutTheLastReplyAndReplacesIt) {
  auto session = make_session();
  ASSERT_TRUE(session->submit("Hi").ok);
  TurnResult r = session->regenerate();
  ASSERT_TRUE(r.ok) << r.error;
  ASSERT_EQ(calls_.requests.size(), 2u);
  ASSERT_EQ(calls_.requests[1].conversation.messages.size(), 1u);
  EXPECT_EQ(calls_.requests[1].conversation.messages[0].content, "Hi");
  Conversation c = session->conversation();
  ASSERT_EQ(c.messages.size(), 2u);
  EXPECT_EQ(c.messages[1].content, "reply2");
  EXPECT_FALSE(session->submit("   ").ok);  // nothing asked for an empty message
  EXPECT_EQ(calls_.requests.size(), 2u);
}

TEST_F(ChatSessionResponder, AnInterruptedReplyIsKeptMarked) {
  auto session = make_session();
  ReplyResult partial;
  partial.ok = true;
  partial.reply = "half a";
  partial.interrupted = true;
  partial.stats.stop = StopReason::User;
  replies_.push_back(partial);
  TurnResult r = session->submit("Tell me a story");
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_TRUE(r.interrupted);
  Conversation c = session->conversation();
  ASSERT_EQ(c.messages.size(), 2u);
  EXPECT_EQ(c.messages[1].content, "half a");
  EXPECT_TRUE(c.messages[1].interrupted);
  ASSERT_TRUE(c.messages[1].stats);
  EXPECT_EQ(c.messages[1].stats->stop, StopReason::User);
}

TEST_F(ChatSessionResponder, TheCancelFlagReachesTheResponderAndIsResetPerTurn) {
  auto session = make_session();
  session->request_cancel();  // before the turn: the turn starts afresh
  TurnResult r = session->submit("Hi");
  ASSERT_TRUE(r.ok);
  EXPECT_FALSE(r.interrupted);
  TurnResult cancelled = session->submit("Again", {[&](std::string_view) { session->request_cancel(); }, {}});
  ASSERT_TRUE(cancelled.ok);
  EXPECT_TRUE(cancelled.interrupted);
  EXPECT_TRUE(session->conversation().messages.back().interrupted);
}

TEST_F(ChatSessionResponder, LeftOutMessagesStayOutUntilUndoOrClear) {
  auto session = make_session();
  ASSERT_TRUE(session->submit("one").ok);
  ASSERT_TRUE(session->submit("two").ok);
  ReplyResult overflowing;
  overflowing.ok = true;
  overflowing.reply = "three's reply";
  overflowing.first_in_context = 2;  // the responder left out the first turn
  replies_.push_back(overflowing);
  ASSERT_TRUE(session->submit("three").ok);
  EXPECT_EQ(session->first_message_in_context(), 2);
  ASSERT_TRUE(session->submit("four").ok);
  EXPECT_EQ(calls_.requests.back().conversation.first_in_context, 2);

  ASSERT_TRUE(session->undo());
  ASSERT_FALSE(calls_.roll_backs.empty());
  EXPECT_EQ(calls_.roll_backs.back().messages.size(), 6u);
  EXPECT_EQ(calls_.roll_backs.back().first_in_context, 2);
  session->clear();
  EXPECT_TRUE(calls_.roll_backs.back().messages.empty());
  EXPECT_EQ(calls_.roll_backs.back().first_in_context, 0);
  EXPECT_EQ(session->first_message_in_context(), 0);
}

TEST_F(ChatSessionResponder, UndoAndSystemPromptRollTheCacheBack) {
  auto session = make_session();
  ASSERT_TRUE(session->submit("Hi").ok);
  ASSERT_TRUE(session->submit("Again").ok);
  ASSERT_TRUE(session->undo());
  ASSERT_EQ(calls_.roll_backs.size(), 1u);
  ASSERT_EQ(calls_.roll_backs[0].messages.size(), 2u);
  EXPECT_EQ(calls_.roll_backs[0].messages[1].content, "reply1");
  session->set_system_prompt("New rules.");
  ASSERT_EQ(calls_.roll_backs.size(), 2u);
  EXPECT_EQ(calls_.roll_backs[1].system, "New rules.");
  ASSERT_TRUE(session->submit("Later").ok);
  EXPECT_EQ(calls_.requests.back().conversation.system, "New rules.");
}

TEST_F(ChatSessionResponder, LoadRebuildsTheCacheForTheLoadedConversation) {
  auto session = make_session();
  ASSERT_TRUE(session->submit("Hi").ok);
  session->set_parameter("temperature", "1.5");
  const fs::path file = session->save();
  auto other = make_session();
  other->load(file);
  ASSERT_EQ(calls_.rebuilds.size(), 1u);
  ASSERT_EQ(calls_.rebuilds[0].messages.size(), 2u);
  EXPECT_EQ(calls_.rebuilds[0].messages[0].content, "Hi");
  ASSERT_TRUE(other->submit("Again").ok);
  EXPECT_FLOAT_EQ(calls_.requests.back().sampling.temperature, 1.5f);  // the file's sampling
  EXPECT_TRUE(calls_.requests.back().restart_sampling);
}

TEST_F(ChatSessionResponder, ReasoningIsStoredApartAndNeverFedBack) {
  ReplyResult first;
  first.ok = true;
  first.reply = "<think>\nThe user asks a sum.\n</think>\n\nIt is 4.";
  first.stats.generated_tokens = 12;
  replies_.push_back(first);
  auto session = make_session();
  ASSERT_TRUE(session->submit("What is 2+2?").ok);
  ASSERT_TRUE(session->submit("And 3+3?").ok);
  const Conversation c = session->conversation();
  ASSERT_EQ(c.messages.size(), 4u);
  EXPECT_EQ(c.messages[1].content, "It is 4.");
  EXPECT_EQ(c.messages[1].reasoning, "The user asks a sum.");
  EXPECT_GT(c.messages[1].reasoning_tokens, 0);
  EXPECT_EQ(c.messages[1].model, "scripted");
  EXPECT_EQ(c.title, "What is 2+2?");
  // The second request's history holds the answer only.
  ASSERT_EQ(calls_.requests.size(), 2u);
  const auto& history = calls_.requests[1].conversation.messages;
  ASSERT_GE(history.size(), 2u);
  EXPECT_EQ(history[1].content, "It is 4.");
  // The file keeps it; an old file without the fields still loads.
  const nlohmann::json j = conversation_to_json(c);
  EXPECT_EQ(j["messages"][1]["reasoning"], "The user asks a sum.");
  nlohmann::json old = j;
  old["messages"][1].erase("reasoning");
  old["messages"][1].erase("reasoning_tokens");
  old.erase("title");
  Conversation back = conversation_from_json(old, "old.json");
  EXPECT_EQ(back.messages[1].reasoning, "");
  EXPECT_EQ(back.messages[1].content, "It is 4.");
}

}  // namespace
}  // namespace dschat
