// MTP speculative decoding in the chat session: on by default (2 drafts per step) for a model with
// an MTP module (the bundled model), off for one without; `/set draft N` changes it between turns
// and greedy replies stay the same whatever it is.
#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <string>

#include "app/chat/chat_session.h"
#include "tests/app/test_model_dir.h"

namespace dschat {
namespace {

namespace fs = std::filesystem;

ChatSessionOptions greedy(int draft_tokens) {
  ChatSessionOptions o;
  SamplingParams p;
  p.temperature = 0;
  o.sampling = p;
  o.max_reply_tokens = 24;
  o.autosave = false;
  o.template_name = "concat";
  o.draft_tokens = draft_tokens;
  return o;
}

bool shows(const ChatSession& session, const std::string& line) {
  return session.parameters_text().find(line + "\n") != std::string::npos;
}

TEST(ChatSessionDraft, OnByDefaultWithAnMtpModuleAndSetBetweenTurns) {
  auto model = LoadedModel::load(fs::path(DSCHAT_SOURCE_DIR) / "assets" / "model");
  ChatSession plain(model, greedy(0));
  const TurnResult want = plain.submit("And God said, Let there be light");
  ASSERT_TRUE(want.ok) << want.error;
  EXPECT_EQ(want.stats.drafted_tokens, 0);
  EXPECT_TRUE(shows(plain, "draft 0"));

  ChatSession session(model, greedy(-1));  // the default
  EXPECT_TRUE(shows(session, "draft 2"));
  const TurnResult got = session.submit("And God said, Let there be light");
  ASSERT_TRUE(got.ok) << got.error;
  EXPECT_EQ(got.reply, want.reply);
  EXPECT_GT(got.stats.drafted_tokens, 0);

  EXPECT_THROW(session.set_parameter("draft", "4"), std::invalid_argument);
  EXPECT_THROW(session.set_parameter("draft", "two"), std::invalid_argument);
  session.set_parameter("draft", "0");
  EXPECT_TRUE(shows(session, "draft 0"));
  const TurnResult off = session.regenerate();
  ASSERT_TRUE(off.ok) << off.error;
  EXPECT_EQ(off.reply, want.reply);
  EXPECT_EQ(off.stats.drafted_tokens, 0);

  // Turned on in a session that started without the module's cache: a new context, same reply.
  plain.set_parameter("draft", "3");
  EXPECT_TRUE(shows(plain, "draft 3"));
  const TurnResult on = plain.regenerate();
  ASSERT_TRUE(on.ok) << on.error;
  EXPECT_EQ(on.reply, want.reply);
  EXPECT_GT(on.stats.drafted_tokens, 0);
}

TEST(ChatSessionDraft, OffWithoutAnMtpModule) {
  const fs::path dir = fs::temp_directory_path() / ("dschat_draft_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  test::write_chat_model(dir);
  {
    ChatSession session(LoadedModel::load(dir), greedy(-1));
    EXPECT_TRUE(shows(session, "draft 0"));
    try {
      session.set_parameter("draft", "2");
      ADD_FAILURE() << "a model without an MTP module accepted draft 2";
    } catch (const std::invalid_argument& e) {
      EXPECT_NE(std::string(e.what()).find("multi-token-prediction"), std::string::npos) << e.what();
    }
    const TurnResult r = session.submit("Hi");
    ASSERT_TRUE(r.ok) << r.error;
    EXPECT_EQ(r.stats.drafted_tokens, 0);
  }
  fs::remove_all(dir);
}

}  // namespace
}  // namespace dschat
