// A model file that shrinks while a chat session is replying (rewritten in place, truncated): the
// vanished pages read as zeros (engine/io/mapped_file.h), so the session stops the reply it is
// computing, keeps it (interrupted) and the conversation, and refuses further replies with a
// message saying why, instead of computing with zeros. Runs in a child process, because the
// count of vanished pages (MappedFile::faulted_pages()) is per process and never goes back.
#include <gtest/gtest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>

#include "app/chat/chat_session.h"
#include "app/chat/conversation_store.h"
#include "engine/io/mapped_file.h"
#include "tests/app/test_model_dir.h"

namespace dschat {
namespace {

uint64_t header_end(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  uint64_t length = 0;
  in.read(reinterpret_cast<char*>(&length), sizeof length);
  return 8 + length;
}

// In the child: 0 when all is as expected, else a code (and a line on stderr) for what is not.
int shrink_during_session(const std::filesystem::path& dir) {
  auto model = LoadedModel::load(dir);
  ChatSessionOptions options;
  options.conversations_dir = dir / "conversations";
  options.max_reply_tokens = 6;
  SamplingParams sampling;
  sampling.temperature = 0;
  options.sampling = sampling;
  ChatSession session(model, options);
  TurnResult first = session.submit("hello");
  if (!first.ok) return std::fprintf(stderr, "first turn: %s\n", first.error.c_str()), 10;

  // Cut to its header as soon as the second reply's first piece arrives: the next token's forward
  // pass reads vanished pages.
  const std::filesystem::path weights = dir / "model.safetensors";
  bool cut = false;
  std::vector<std::string> notices;
  TurnCallbacks callbacks;
  callbacks.on_notice = [&](const std::string& n) { notices.push_back(n); };
  callbacks.on_piece = [&](std::string_view) {
    if (!cut) cut = ::truncate(weights.c_str(), static_cast<off_t>(header_end(weights))) == 0;
  };
  TurnResult second = session.submit("and now?", callbacks);
  if (!cut) return std::fprintf(stderr, "the file was not cut during the reply\n"), 11;
  if (MappedFile::faulted_pages() == 0) return std::fprintf(stderr, "the shrink went unnoticed\n"), 12;
  // The turn during which the pages vanished: stopped, kept, and the user told why.
  if (!second.ok || !second.interrupted) return std::fprintf(stderr, "second turn: %s\n", second.error.c_str()), 13;
  if (notices.size() != 1 || notices[0].find("changed on disk") == std::string::npos ||
      second.notices != notices)
    return std::fprintf(stderr, "notices: %zu %s\n", notices.size(), notices.empty() ? "" : notices[0].c_str()), 14;
  Conversation saved = ConversationStore::load(session.file_path());
  if (saved.messages.size() != 4 || saved.messages[2].content != "and now?" || !saved.messages[3].interrupted)
    return std::fprintf(stderr, "saved %zu messages\n", saved.messages.size()), 15;

  // Every later reply is refused with the reason; the conversation stays as it was.
  TurnResult third = session.submit("still there?");
  if (third.ok || third.error.find("changed on disk") == std::string::npos || third.error.find("restart") == std::string::npos)
    return std::fprintf(stderr, "third turn: ok=%d %s\n", third.ok, third.error.c_str()), 16;
  TurnResult regenerated = session.regenerate();
  if (regenerated.ok) return 17;
  if (session.conversation().messages.size() != 4) return 18;
  if (ConversationStore::load(session.file_path()).messages.size() != 4) return 19;
  return 0;
}

TEST(ModelFileChanged, ReplyStopsAndLaterRepliesAreRefusedWithTheReasonConversationKept) {
  test::TempDir dir;
  test::write_chat_model(dir.path());
  pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    int code = 20;
    try {
      code = shrink_during_session(dir.path());
    } catch (const std::exception& e) {
      std::fprintf(stderr, "exception: %s\n", e.what());
    }
    std::fflush(stderr);
    ::_exit(code);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_FALSE(WIFSIGNALED(status)) << "killed by signal " << WTERMSIG(status);
  EXPECT_EQ(WEXITSTATUS(status), 0) << "see the child's line on stderr";
}

// A weight file written in place at the same size (no fault: the new bytes just show through the
// mapping) is noticed by its modification time: the next reply is refused with the file's name
// and the reason, and the conversation so far is kept. (No child process needed: nothing here
// outlives the session's model.)
TEST(ModelFileChanged, AWeightFileWrittenInPlaceIsNoticedBeforeTheNextReply) {
  test::TempDir dir;
  test::write_chat_model(dir.path());
  const std::filesystem::path weights = dir.path() / "model.safetensors";
  // As for weights written a while ago (a write in the same clock tick could keep the time).
  std::filesystem::last_write_time(weights, std::filesystem::last_write_time(weights) - std::chrono::hours(1));
  auto model = LoadedModel::load(dir.path());
  ChatSessionOptions options;
  options.conversations_dir = dir.path() / "conversations";
  options.max_reply_tokens = 4;
  ChatSession session(model, options);
  ASSERT_TRUE(session.submit("hello").ok);

  {  // one weight byte changed, the size kept
    std::fstream file(weights, std::ios::binary | std::ios::in | std::ios::out);
    const auto offset = static_cast<std::streamoff>(header_end(weights) + 1);
    file.seekg(offset);
    const char byte = static_cast<char>(file.get() ^ 0x40);
    file.seekp(offset);
    file.put(byte);
  }
  TurnResult next = session.submit("and now?");
  EXPECT_FALSE(next.ok);
  EXPECT_NE(next.error.find(weights.string() + " was modified in place"), std::string::npos) << next.error;
  EXPECT_NE(next.error.find("restart"), std::string::npos) << next.error;
  EXPECT_EQ(session.conversation().messages.size(), 2u);
  EXPECT_EQ(ConversationStore::load(session.file_path()).messages.size(), 2u);
}

}  // namespace
}  // namespace dschat
