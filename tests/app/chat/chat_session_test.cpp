// The chat session on a scripted context (tests/engine/scripted_model.h) and the real
// tokenizer: turns, streaming, cache reuse bookkeeping, undo/regenerate rollback, interruption,
// context overflow, autosave and its failures, resume. Checks with the real engine are in
// chat_session_model_test.cpp.
#include "app/chat/chat_session.h"

#include <gtest/gtest.h>

#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <thread>

#include "app/backend/chat_template.h"
#include "tests/app/test_model_dir.h"
#include "tests/engine/scripted_model.h"

namespace dschat {
namespace {

namespace fs = std::filesystem;
using testing::ScriptedContext;
using testing::ScriptedModel;

// After the last <｜Assistant｜> (id 259) the scripted model writes "reply<N>" (N = number of
// <｜User｜> (258) tokens in the sequence), then eos (id 257).
int32_t scripted_reply(const std::vector<int32_t>& tokens) {
  auto last = std::find(tokens.rbegin(), tokens.rend(), 259);
  if (last == tokens.rend()) return 257;
  size_t k = static_cast<size_t>(last - tokens.rbegin());  // tokens written after it
  std::string reply = "reply" + std::to_string(std::count(tokens.begin(), tokens.end(), 258));
  return k < reply.size() ? static_cast<unsigned char>(reply[k]) : 257;
}

class ChatSessionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("dschat_session_test_" + std::to_string(::getpid()) + "_" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::shared_ptr<LoadedModel> make_model(int max_positions = 512) {
    auto m = std::make_shared<LoadedModel>();
    m->path = "/models/scripted";
    m->model = std::make_unique<ScriptedModel>(260, max_positions);
    m->tokenizer = std::make_unique<Tokenizer>(Tokenizer::from_json(test::byte_tokenizer_json().dump()));
    m->sampling_defaults.temperature = 0;  // greedy follows the script
    m->eos_ids = {257};
    model_ = m;
    m->context_factory = [this](int max_tokens) {
      auto ctx = std::make_unique<ScriptedContext>(260, max_tokens, next_);
      context_ = ctx.get();
      ctx->delay_per_token = delay_;
      return ctx;
    };
    return m;
  }

  std::unique_ptr<ChatSession> make_session(ChatSessionOptions options = {}, int max_positions = 512) {
    options.conversations_dir = dir_ / "conversations";
    options.template_name = options.template_name.empty() ? "deepseek-v3" : options.template_name;
    return std::make_unique<ChatSession>(make_model(max_positions), options);
  }

  std::vector<int32_t> rendered(const ChatSession& s, bool generation_prompt) const {
    Conversation c = s.conversation();
    return encode_prompt(*model_->tokenizer,
                         ChatTemplate::by_name(s.template_name()).render(c.system, c.messages, generation_prompt));
  }

  fs::path dir_;
  std::shared_ptr<LoadedModel> model_;  // the last one make_model made
  ScriptedContext::NextToken next_ = scripted_reply;
  ScriptedContext* context_ = nullptr;
  std::chrono::microseconds delay_{0};
};

TEST_F(ChatSessionTest, SubmitStreamsTheReplyAndRecordsTheTurn) {
  auto session = make_session();
  std::string streamed;
  TurnResult r = session->submit("Hi", {[&](std::string_view p) { streamed += p; }, {}});
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(streamed, "reply1");
  EXPECT_EQ(r.reply, "reply1");
  EXPECT_EQ(r.stats.stop, StopReason::Eos);
  EXPECT_FALSE(r.interrupted);
  Conversation c = session->conversation();
  ASSERT_EQ(c.messages.size(), 2u);
  EXPECT_EQ(c.messages[0].role, Role::User);
  EXPECT_EQ(c.messages[0].content, "Hi");
  EXPECT_FALSE(c.messages[0].time.empty());
  EXPECT_EQ(c.messages[1].role, Role::Assistant);
  EXPECT_EQ(c.messages[1].content, "reply1");
  ASSERT_TRUE(c.messages[1].stats);
  EXPECT_EQ(c.messages[1].stats->generated_tokens, 7);  // six letters and eos
  // Autosaved under the conversations directory, named by the id.
  EXPECT_EQ(session->file_path(), dir_ / "conversations" / (c.id + ".json"));
  Conversation saved = ConversationStore::load(session->file_path());
  EXPECT_EQ(saved.messages.size(), 2u);
  EXPECT_EQ(session->context_used(), context_->size());
}

TEST_F(ChatSessionTest, SecondTurnPrefillsOnlyTheNewTokens) {
  auto session = make_session();
  ASSERT_TRUE(session->submit("Hi").ok);
  const int cached = context_->size();
  const int computed_before = context_->computed_tokens;
  TurnResult r = session->submit("Again");
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.reply, "reply2");
  EXPECT_EQ(r.stats.reused_tokens, cached);
  std::vector<Message> messages = session->conversation().messages;
  messages.pop_back();
  std::vector<int32_t> prompt2 =
      encode_prompt(*model_->tokenizer, ChatTemplate::by_name("deepseek-v3").render("", messages, true));
  EXPECT_EQ(r.stats.prompt_tokens, static_cast<int>(prompt2.size()));
  // prefill computed prompt2 minus the reused prefix; decode computed the reply tokens
  // (eos is never run).
  EXPECT_EQ(context_->computed_tokens - computed_before, static_cast<int>(prompt2.size()) - cached + 6);
}

TEST_F(ChatSessionTest, UndoRollsTheCacheBackToTheEarlierConversation) {
  auto session = make_session();
  ASSERT_TRUE(session->submit("Hi").ok);
  ASSERT_TRUE(session->submit("Again").ok);
  EXPECT_TRUE(session->undo());
  ASSERT_EQ(session->conversation().messages.size(), 2u);
  // The cache holds exactly the remaining conversation's tokens.
  EXPECT_EQ(context_->tokens(), rendered(*session, false));
  TurnResult r = session->submit("Again");
  EXPECT_EQ(r.reply, "reply2");
  EXPECT_TRUE(session->undo());
  EXPECT_TRUE(session->undo());
  EXPECT_TRUE(session->conversation().messages.empty());
  EXPECT_FALSE(session->undo());
  EXPECT_EQ(context_->tokens(), rendered(*session, false));  // bos only
}

TEST_F(ChatSessionTest, RegenerateReplacesTheLastReplyReusingThePrompt) {
  auto session = make_session();
  ASSERT_TRUE(session->submit("Hi").ok);
  const int prompt_tokens = static_cast<int>(rendered(*session, false).size()) - 7;  // minus reply + eos
  TurnResult r = session->regenerate();
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.reply, "reply1");
  EXPECT_EQ(r.stats.reused_tokens, prompt_tokens - 1);  // all but the last prompt token (fresh logits)
  EXPECT_EQ(session->conversation().messages.size(), 2u);
  session->undo();
  EXPECT_FALSE(session->regenerate().ok);
}

TEST_F(ChatSessionTest, InterruptedReplyIsKeptAndMarked) {
  auto session = make_session();
  int pieces = 0;
  TurnResult r = session->submit("Hi", {[&](std::string_view) {
                                          if (++pieces == 2) session->request_cancel();
                                        },
                                        {}});
  ASSERT_TRUE(r.ok);
  EXPECT_TRUE(r.interrupted);
  EXPECT_EQ(r.reply, "re");
  Conversation c = session->conversation();
  ASSERT_EQ(c.messages.size(), 2u);
  EXPECT_TRUE(c.messages[1].interrupted);
  EXPECT_EQ(c.messages[1].content, "re");
  EXPECT_EQ(c.messages[1].stats->stop, StopReason::User);
  // The next turn follows the interrupted reply: never two user turns in a row.
  ASSERT_TRUE(session->submit("Go on").ok);
  c = session->conversation();
  ASSERT_EQ(c.messages.size(), 4u);
  EXPECT_EQ(c.messages[2].role, Role::User);
  EXPECT_EQ(ConversationStore::load(session->file_path()).messages[1].interrupted, true);
}

TEST_F(ChatSessionTest, CancelDuringPrefillKeepsAnEmptyInterruptedReply) {
  delay_ = std::chrono::microseconds(2000);
  auto session = make_session();
  std::string long_text(400, 'x');  // ~400 tokens x 2 ms
  std::thread canceller([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    session->request_cancel();
  });
  auto start = std::chrono::steady_clock::now();
  TurnResult r = session->submit(long_text);
  double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  canceller.join();
  ASSERT_TRUE(r.ok);
  EXPECT_TRUE(r.interrupted);
  EXPECT_EQ(r.reply, "");
  EXPECT_LT(ms, 400.0);
  Conversation c = session->conversation();
  ASSERT_EQ(c.messages.size(), 2u);
  EXPECT_TRUE(c.messages[1].interrupted);
}

TEST_F(ChatSessionTest, OldestTurnsAreDroppedWhenTheContextIsFull) {
  ChatSessionOptions options;
  options.context_tokens = 64;
  options.system = "Sys";
  auto session = make_session(options);
  std::vector<std::string> notices;
  TurnCallbacks callbacks{{}, [&](const std::string& n) { notices.push_back(n); }};
  for (int i = 0; i < 4; ++i) {
    TurnResult r = session->submit("Hello there " + std::to_string(i), callbacks);
    ASSERT_TRUE(r.ok) << r.error;
  }
  ASSERT_FALSE(notices.empty());
  EXPECT_NE(notices[0].find("left out"), std::string::npos) << notices[0];
  EXPECT_GT(session->first_message_in_context(), 0);
  EXPECT_EQ(session->first_message_in_context() % 2, 0);
  EXPECT_EQ(session->conversation().messages.size(), 8u);  // nothing is deleted from the conversation
  // The system prompt is still in the context: bos then "Sys".
  std::vector<int32_t> expected_start = {256, 'S', 'y', 's'};
  EXPECT_TRUE(std::equal(expected_start.begin(), expected_start.end(), context_->tokens().begin()));
  EXPECT_LE(context_->size(), 64);
}

TEST_F(ChatSessionTest, MessageLongerThanTheContextIsAClearErrorAndChangesNothing) {
  ChatSessionOptions options;
  options.context_tokens = 64;
  auto session = make_session(options);
  ASSERT_TRUE(session->submit("Hi").ok);
  TurnResult r = session->submit(std::string(200, 'y'));
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.error.find("does not fit"), std::string::npos) << r.error;
  EXPECT_EQ(session->conversation().messages.size(), 2u);
  EXPECT_TRUE(session->submit("Ok").ok);
}

// A message whose bytes alone cannot fit (each token covers at most the longest token's bytes) is
// refused before it is encoded: a 1 GB line in line mode was encoded whole first (14 GB).
TEST_F(ChatSessionTest, AMessageTooLongToFitIsRefusedWithoutEncodingIt) {
  ChatSessionOptions options;
  options.context_tokens = 64;
  auto session = make_session(options);
  ASSERT_TRUE(session->submit("Hi").ok);
  TurnResult r = session->submit(std::string(1 << 16, 'y'));
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.error.find("does not fit in the context: the prompt needs at least "), std::string::npos) << r.error;
  EXPECT_NE(r.error.find("but the context holds 64"), std::string::npos) << r.error;
  EXPECT_EQ(session->conversation().messages.size(), 2u);
  EXPECT_TRUE(session->submit("Ok").ok);
}

TEST_F(ChatSessionTest, FailingAutosaveKeepsTheConversationAndThePreviousFile) {
  auto session = make_session();
  ASSERT_TRUE(session->submit("Hi").ok);
  const fs::path file = session->file_path();
  const size_t saved_messages = ConversationStore::load(file).messages.size();
  session->store().set_write_function([](int, const char*, std::size_t) -> long {
    errno = ENOSPC;
    return -1;
  });
  TurnResult r = session->submit("Again");
  ASSERT_TRUE(r.ok);
  ASSERT_TRUE(r.save_error.has_value());
  EXPECT_NE(r.save_error->find(std::strerror(ENOSPC)), std::string::npos) << *r.save_error;
  EXPECT_EQ(session->conversation().messages.size(), 4u);
  EXPECT_EQ(ConversationStore::load(file).messages.size(), saved_messages);
  session->store().set_write_function({});
  session->save();
  EXPECT_EQ(ConversationStore::load(file).messages.size(), 4u);
}

TEST_F(ChatSessionTest, ResumeRestoresMessagesAndRebuildsTheCache) {
  fs::path file;
  Conversation original;
  {
    ChatSessionOptions options;
    options.system = "Be brief.";
    auto first = make_session(options);
    ASSERT_TRUE(first->submit("Hi").ok);
    ASSERT_TRUE(first->submit("Again").ok);
    file = first->file_path();
    original = first->conversation();
  }
  auto session = make_session();
  session->load(file);
  Conversation c = session->conversation();
  EXPECT_EQ(conversation_to_json(c)["messages"], conversation_to_json(original)["messages"]);
  EXPECT_EQ(c.system, "Be brief.");
  EXPECT_EQ(session->file_path(), file);
  // The cache holds the whole conversation, so the next turn only prefills the new message.
  std::vector<int32_t> tokens = rendered(*session, false);
  EXPECT_EQ(context_->tokens(), tokens);
  EXPECT_EQ(session->context_used(), static_cast<int>(tokens.size()));
  TurnResult r = session->submit("Third");
  ASSERT_TRUE(r.ok);
  EXPECT_EQ(r.reply, "reply3");
  EXPECT_EQ(r.stats.reused_tokens, static_cast<int>(tokens.size()));
  EXPECT_THROW(session->load(dir_ / "missing.json"), ConversationError);
  EXPECT_EQ(session->conversation().messages.size(), 6u);  // a failed load changes nothing
}

TEST_F(ChatSessionTest, ResumingAFileThatEndsWithAUserMessageKeepsTurnsAlternating) {
  fs::path file = dir_ / "hand-made.json";
  std::ofstream(file) << R"({"format": "dschat-conversation", "version": 1,
    "messages": [{"role": "user", "content": "Hi"}]})";
  auto session = make_session();
  session->load(file);
  Conversation c = session->conversation();
  ASSERT_EQ(c.messages.size(), 2u);
  EXPECT_EQ(c.messages[1].role, Role::Assistant);
  EXPECT_TRUE(c.messages[1].interrupted);
  EXPECT_TRUE(session->submit("Hello?").ok);
  EXPECT_FALSE(session->file_path().string().find(dir_.string() + "/conversations") == std::string::npos);
}

TEST_F(ChatSessionTest, ContextBeyondTheModelsMaximumIsClampedWithANotice) {
  ChatSessionOptions options;
  options.context_tokens = 99999;
  auto session = make_session(options, 512);
  EXPECT_EQ(session->context_max(), 512);
  const std::vector<std::string> notices = session->take_notices();
  ASSERT_EQ(notices.size(), 1u);
  EXPECT_NE(notices[0].find("--ctx 99999"), std::string::npos) << notices[0];
  EXPECT_NE(notices[0].find("512 tokens"), std::string::npos) << notices[0];
  options.context_tokens = 512;  // the maximum itself: nothing to say
  EXPECT_TRUE(make_session(options, 512)->take_notices().empty());
}

TEST_F(ChatSessionTest, NumPredictZeroIsRefused) {
  auto session = make_session();
  try {
    session->set_parameter("num_predict", "0");
    FAIL() << "num_predict 0 accepted";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("-1 for no limit"), std::string::npos) << e.what();
  }
  session->set_parameter("num_predict", "-1");
  EXPECT_NE(session->parameters_text().find("num_predict -1\n"), std::string::npos) << session->parameters_text();
}

TEST_F(ChatSessionTest, ParametersSystemPromptClearAndInfo) {
  auto session = make_session();
  session->set_parameter("temperature", "0");
  session->set_parameter("top_k", "5");
  session->set_parameter("num_predict", "3");
  EXPECT_THROW(session->set_parameter("warmth", "1"), std::invalid_argument);
  EXPECT_THROW(session->set_parameter("num_predict", "x"), std::invalid_argument);
  std::string text = session->parameters_text();
  EXPECT_NE(text.find("temperature 0\n"), std::string::npos) << text;
  EXPECT_NE(text.find("top_k 5\n"), std::string::npos) << text;
  EXPECT_NE(text.find("num_predict 3\n"), std::string::npos) << text;
  TurnResult r = session->submit("Hi");
  EXPECT_EQ(r.reply, "rep");  // num_predict 3
  EXPECT_EQ(r.stats.stop, StopReason::Length);

  session->set_system_prompt("New system");
  EXPECT_EQ(session->system_prompt(), "New system");
  fs::path old_file = session->file_path();
  session->clear();
  EXPECT_TRUE(session->conversation().messages.empty());
  EXPECT_NE(session->file_path(), old_file);
  EXPECT_EQ(session->conversation().system, "New system");
  session->submit("Hi");
  std::vector<int32_t> start = {256, 'N', 'e', 'w'};
  EXPECT_TRUE(std::equal(start.begin(), start.end(), context_->tokens().begin()));

  EXPECT_EQ(session->template_name(), "deepseek-v3");
  EXPECT_NE(session->template_text().find("<｜Assistant｜>"), std::string::npos);
  EXPECT_NE(session->model_info().find("scripted test model"), std::string::npos);
  EXPECT_NE(session->model_info().find("context: 512 tokens (the cache takes "), std::string::npos) << session->model_info();
  EXPECT_NE(session->model_info().find(" a token as the conversation grows"), std::string::npos);
  EXPECT_EQ(session->context_max(), 512);
  EXPECT_FALSE(session->submit("   ").ok);
}

TEST_F(ChatSessionTest, ExportsMarkdownAndJson) {
  auto session = make_session();
  ASSERT_TRUE(session->submit("Hi").ok);
  session->export_markdown(dir_ / "c.md");
  session->export_json(dir_ / "c.json");
  EXPECT_EQ(ConversationStore::load(dir_ / "c.json").messages.size(), 2u);
  EXPECT_TRUE(fs::file_size(dir_ / "c.md") > 0);
}

TEST_F(ChatSessionTest, PlainTemplateStoresTheReplyWithoutSurroundingSpaceAndStopsAtANewTurn) {
  // After the last "Assistant:" the model writes " Fine.  " and goes on with a new user line.
  next_ = [](const std::vector<int32_t>& tokens) -> int32_t {
    const std::string marker = "Assistant:";
    std::string text(tokens.begin(), tokens.end());  // ids < 256 are bytes
    size_t at = text.rfind(marker);
    if (at == std::string::npos) return 257;
    size_t k = text.size() - at - marker.size();
    const std::string reply = " Fine.  \nUser: more";
    return k < reply.size() ? static_cast<unsigned char>(reply[k]) : 257;
  };
  ChatSessionOptions options;
  options.template_name = "plain";
  options.system = "Sys";
  auto session = make_session(options);
  std::string streamed;
  TurnResult r = session->submit("Hi", {[&](std::string_view p) { streamed += p; }, {}});
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(streamed.rfind("Fine.", 0), 0u) << streamed;  // no leading space shown
  EXPECT_EQ(streamed.find("User"), std::string::npos) << streamed;  // the stop string never shows
  EXPECT_EQ(r.reply, "Fine.");
  EXPECT_EQ(r.stats.stop, StopReason::StopString);
  EXPECT_EQ(session->conversation().messages.back().content, "Fine.");
  // The next prompt renders the stored reply exactly as the template writes it.
  TurnResult r2 = session->submit("Again");
  ASSERT_TRUE(r2.ok);
  std::vector<int32_t> tokens = context_->tokens();
  std::string text(tokens.begin(), tokens.end());
  EXPECT_EQ(text.rfind("Sys\n\nUser: Hi\nAssistant: Fine.\nUser: Again\nAssistant:", 0), 0u) << text;
}

// The "left out" notice counts against the whole conversation: after resuming a conversation
// longer than the context, the model already missed its oldest messages (the resume says how
// many it sees), and a turn that leaves out more says how many it sees of all of them, not just
// the few it dropped then (issue 21: "always left out the 22 oldest").
TEST_F(ChatSessionTest, LeftOutNoticesCountTheWholeConversationAfterAResume) {
  fs::path file;
  {
    auto first = make_session();  // 512 tokens hold all 12 messages
    for (int i = 0; i < 6; ++i) ASSERT_TRUE(first->submit("Hello there " + std::to_string(i)).ok);
    file = first->file_path();
  }
  ChatSessionOptions small;
  small.context_tokens = 64;
  auto session = make_session(small);
  session->take_notices();
  session->load(file);
  const int first_after_load = session->first_message_in_context();
  ASSERT_GT(first_after_load, 0);
  std::vector<std::string> notices = session->take_notices();
  ASSERT_EQ(notices.size(), 1u);
  EXPECT_NE(notices[0].find("the model sees the last " + std::to_string(12 - first_after_load) + " of its 12 messages"),
            std::string::npos)
      << notices[0];

  std::vector<std::string> turn_notices;
  TurnCallbacks callbacks{{}, [&](const std::string& n) { turn_notices.push_back(n); }};
  ASSERT_TRUE(session->submit("One more question", callbacks).ok);
  const int first = session->first_message_in_context();
  ASSERT_EQ(turn_notices.size(), 1u);  // the context was full: more went out
  ASSERT_GT(first, first_after_load);
  const std::string dropped = std::to_string(first - first_after_load);
  EXPECT_NE(turn_notices[0].find("left out the " + dropped + " oldest message"), std::string::npos) << turn_notices[0];
  // 13 messages when the prompt was built (the reply came after): the model saw the last 13 - first.
  EXPECT_NE(turn_notices[0].find("the model sees the last " + std::to_string(13 - first) + " of the 13 messages"),
            std::string::npos)
      << turn_notices[0];
}

// /set parameter num_ctx N: a new cache of N tokens; beyond the model's maximum a message says so.
TEST_F(ChatSessionTest, NumCtxResizesTheContextWithinTheModelsMaximum) {
  auto session = make_session({}, 512);
  ASSERT_TRUE(session->submit("Hi").ok);
  session->set_parameter("num_ctx", "128");
  EXPECT_EQ(session->context_max(), 128);
  EXPECT_NE(session->parameters_text().find("num_ctx 128\n"), std::string::npos) << session->parameters_text();
  const TurnResult again = session->submit("Again");  // the whole conversation prefilled into the new cache
  ASSERT_TRUE(again.ok) << again.error;
  EXPECT_EQ(again.stats.reused_tokens, 0);
  EXPECT_EQ(context_->capacity(), 128);
  for (const char* too_large : {"513", "99999999999"}) {
    try {
      session->set_parameter("num_ctx", too_large);
      FAIL() << "num_ctx " << too_large << " accepted";
    } catch (const std::invalid_argument& e) {
      EXPECT_NE(std::string(e.what()).find("more than this model allows: at most 512 tokens"), std::string::npos)
          << e.what();
    }
  }
  EXPECT_EQ(session->context_max(), 128);  // a refused size changes nothing
  EXPECT_THROW(session->set_parameter("num_ctx", "8"), std::invalid_argument);
}

// Sampling from the config file (sampling_overrides) sets a new conversation's values; the
// command line's (sampling_options) go over a loaded conversation's own values too.
TEST_F(ChatSessionTest, CommandLineSamplingGoesOverAResumedConversationsValues) {
  fs::path file;
  {
    auto first = make_session();
    first->set_parameter("temperature", "0.9");
    first->set_parameter("top_k", "11");
    ASSERT_TRUE(first->submit("Hi").ok);
    file = first->file_path();
  }
  ChatSessionOptions options;
  options.sampling_overrides = {{"temperature", "0.3"}, {"top_k", "5"}};  // the config file
  options.sampling_options = {{"top_k", "2"}};                            // the command line
  auto session = make_session(options);
  EXPECT_FLOAT_EQ(session->conversation().sampling.temperature, 0.3f);
  EXPECT_EQ(session->conversation().sampling.top_k, 2);
  session->load(file);
  EXPECT_FLOAT_EQ(session->conversation().sampling.temperature, 0.9f);  // the file's, not the config's
  EXPECT_EQ(session->conversation().sampling.top_k, 2);                 // the command line's
  options.sampling_options = {{"temperature", "500"}};
  EXPECT_THROW(make_session(options), std::invalid_argument);  // (the command line checks it first)
}

}  // namespace
}  // namespace dschat
