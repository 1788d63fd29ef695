// Conversation data, its file format (DESIGN.md "Conversation files") and the atomic file
// store: round trip, listing, permissions, and failing writes that must leave the previous
// file intact.
#include "app/chat/conversation.h"
#include "app/chat/conversation_store.h"

#include <gtest/gtest.h>

#include <pwd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <fstream>
#include <sstream>

namespace dschat {
namespace {

namespace fs = std::filesystem;

class TempDir {
 public:
  TempDir() {
    static int counter = 0;
    path_ = fs::temp_directory_path() / ("dschat_conv_test_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
    fs::remove_all(path_);
    fs::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    fs::permissions(path_, fs::perms::owner_all, ec);
    fs::remove_all(path_, ec);
  }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

Conversation sample_conversation() {
  Conversation c;
  c.id = "20261122-100000-abcd";
  c.created = "2026-11-22T10:00:00Z";
  c.updated = "2026-11-22T10:01:00Z";
  c.model = {"/models/tiny", "tiny"};
  c.system = "You are terse.";
  c.sampling.temperature = 0.5f;
  c.sampling.top_k = 40;
  c.sampling.seed = 7;
  c.messages.push_back({Role::User, "Hi \"there\"\nsecond line — ünïcode 🙂", "2026-11-22T10:00:05Z", std::nullopt, false});
  GenerationStats s;
  s.generated_tokens = 42;
  s.decode_tokens_per_second = 55.5;
  s.prompt_tokens = 12;
  s.stop = StopReason::Eos;
  c.messages.push_back({Role::Assistant, "Hello.", "2026-11-22T10:00:06Z", s, false});
  c.messages.push_back({Role::User, "More?", "2026-11-22T10:00:30Z", std::nullopt, false});
  GenerationStats t;
  t.generated_tokens = 3;
  t.stop = StopReason::User;
  c.messages.push_back({Role::Assistant, "Well,", "2026-11-22T10:00:31Z", t, true});
  return c;
}

TEST(ConversationJson, HasTheDesignFormat) {
  nlohmann::json j = conversation_to_json(sample_conversation());
  EXPECT_EQ(j["format"], "dschat-conversation");
  EXPECT_EQ(j["version"], 1);
  EXPECT_EQ(j["created"], "2026-11-22T10:00:00Z");
  EXPECT_EQ(j["model"]["path"], "/models/tiny");
  EXPECT_EQ(j["model"]["name"], "tiny");
  EXPECT_EQ(j["system"], "You are terse.");
  EXPECT_FLOAT_EQ(j["sampling"]["temperature"].get<float>(), 0.5f);
  EXPECT_EQ(j["sampling"]["top_k"], 40);
  EXPECT_EQ(j["sampling"]["seed"], 7);
  ASSERT_EQ(j["messages"].size(), 4u);
  EXPECT_EQ(j["messages"][0]["role"], "user");
  EXPECT_EQ(j["messages"][0]["time"], "2026-11-22T10:00:05Z");
  EXPECT_FALSE(j["messages"][0].contains("stats"));
  EXPECT_EQ(j["messages"][1]["role"], "assistant");
  EXPECT_EQ(j["messages"][1]["stats"]["tokens"], 42);
  EXPECT_DOUBLE_EQ(j["messages"][1]["stats"]["tokens_per_second"].get<double>(), 55.5);
  EXPECT_EQ(j["messages"][1]["stats"]["stop"], "eos");
  EXPECT_FALSE(j["messages"][1].contains("interrupted"));
  EXPECT_EQ(j["messages"][3]["stats"]["stop"], "user");
  EXPECT_EQ(j["messages"][3]["interrupted"], true);
}

TEST(ConversationJson, RoundTrips) {
  Conversation c = sample_conversation();
  c.messages[1].stats->drafted_tokens = 12;  // speculative decoding's counts travel too
  c.messages[1].stats->accepted_tokens = 9;
  c.messages[1].stats->verify_steps = 6;
  Conversation back = conversation_from_json(nlohmann::json::parse(conversation_to_json(c).dump()), "x");
  EXPECT_EQ(conversation_to_json(back), conversation_to_json(c));
  EXPECT_EQ(back.messages[0].content, c.messages[0].content);
  EXPECT_TRUE(back.messages[3].interrupted);
  EXPECT_EQ(back.messages[1].stats->stop, StopReason::Eos);
  EXPECT_EQ(back.messages[1].stats->accepted_tokens, 9);
  EXPECT_EQ(back.messages[1].stats->verify_steps, 6);
  EXPECT_FALSE(conversation_to_json(sample_conversation())["messages"][1]["stats"].contains("drafted_tokens"));
}

TEST(ConversationJson, SamplingValuesAreWrittenAsTyped) {
  // 0.7f is 0.699999988079071 as a double: the file says 0.7, and 0.7 reads back as the same float.
  Conversation c = sample_conversation();
  c.sampling.temperature = 0.7f;
  c.sampling.top_p = 0.95f;
  c.sampling.min_p = 0.05f;
  c.sampling.repeat_penalty = 1.1f;
  const std::string text = conversation_to_json(c).dump();
  const nlohmann::json sampling = nlohmann::json::parse(text)["sampling"];
  EXPECT_EQ(sampling["temperature"].dump(), "0.7");
  EXPECT_EQ(sampling["top_p"].dump(), "0.95");
  EXPECT_EQ(sampling["min_p"].dump(), "0.05");
  EXPECT_EQ(sampling["repeat_penalty"].dump(), "1.1");
  Conversation back = conversation_from_json(nlohmann::json::parse(text), "x");
  EXPECT_EQ(back.sampling, c.sampling);
}

TEST(ConversationJson, BadFilesAreClearErrors) {
  auto expect_error = [](const std::string& text, const std::string& needle) {
    try {
      conversation_from_json(nlohmann::json::parse(text), "conv.json");
      ADD_FAILURE() << "accepted: " << text;
    } catch (const ConversationError& e) {
      std::string what = e.what();
      EXPECT_NE(what.find("conv.json"), std::string::npos) << what;
      EXPECT_NE(what.find(needle), std::string::npos) << what;
    }
  };
  expect_error("[]", "object");
  expect_error(R"({"format": "other", "version": 1, "messages": []})", "format");
  expect_error(R"({"format": "dschat-conversation", "version": 2, "messages": []})", "version");
  expect_error(R"({"format": "dschat-conversation", "version": 1})", "messages");
  expect_error(R"({"format": "dschat-conversation", "version": 1, "messages": [{"role": "user"}]})", "content");
  expect_error(R"({"format": "dschat-conversation", "version": 1, "messages": [{"role": "robot", "content": ""}]})",
               "robot");
  expect_error(R"({"format": "dschat-conversation", "version": 1, "messages": [{"role": "user", "content": "a"},
               {"role": "user", "content": "b"}]})", "alternation");
  // Whole sentences naming the field, what it holds and what it should hold (one read
  // `the file"version" has the wrong type`).
  expect_error(R"({"format": "dschat-conversation", "version": "1", "messages": []})",
               "conv.json: \"version\" of the file is a string, not an integer");
  expect_error(R"({"format": "dschat-conversation", "version": 1, "messages": {}})",
               "conv.json: \"messages\" of the file is an object, not an array");
  expect_error(R"({"format": "dschat-conversation", "version": 1, "messages": [{"role": "user", "content": 7}]})",
               "conv.json: \"content\" of message 0 is a number, not a string");
  expect_error(R"({"format": "dschat-conversation", "version": 1, "messages": [{"content": ""}]})",
               "conv.json: message 0 has no \"role\"");
}

TEST(ConversationJson, OpenAiSystemMessageBecomesTheSystemPrompt) {
  Conversation c = conversation_from_json(
      nlohmann::json::parse(R"({"format": "dschat-conversation", "version": 1, "messages": [
        {"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}]})"),
      "x");
  EXPECT_EQ(c.system, "Be brief.");
  ASSERT_EQ(c.messages.size(), 1u);
}

TEST(ConversationJson, OutOfRangeNumbersKeepTheDefaultsAndRoundTrip) {
  Conversation c = conversation_from_json(
      nlohmann::json::parse(R"({"format": "dschat-conversation", "version": 1,
        "sampling": {"temperature": 1e300, "top_k": 1e20, "seed": -5, "top_p": 0.5},
        "messages": [{"role": "user", "content": "a"},
                     {"role": "assistant", "content": "b", "stats": {"tokens": 99999999999, "tokens_per_second": 2.5}}]})"),
      "x");
  SamplingParams defaults;
  EXPECT_FLOAT_EQ(c.sampling.temperature, defaults.temperature);
  EXPECT_EQ(c.sampling.top_k, defaults.top_k);
  EXPECT_EQ(c.sampling.seed, defaults.seed);
  EXPECT_FLOAT_EQ(c.sampling.top_p, 0.5f);
  EXPECT_EQ(c.messages[1].stats->generated_tokens, 0);
  EXPECT_DOUBLE_EQ(c.messages[1].stats->decode_tokens_per_second, 2.5);
  nlohmann::json once = conversation_to_json(c);
  EXPECT_EQ(conversation_to_json(conversation_from_json(once, "again")), once);
}

// Sampling values that fit their type but not the sampler get /set's validation: an error naming
// the value (min_p 1e30 made every reply "!!!!"; repeat_penalty 0 failed every turn).
TEST(ConversationJson, SamplingValuesOutsideTheSamplersRangesAreErrors) {
  for (const auto& [sampling, message] : std::vector<std::pair<std::string, std::string>>{
           {R"({"min_p": 1e30})", "min_p must be in [0, 1]"},
           {R"({"repeat_penalty": 0})", "repeat_penalty must be in (0, 10]"},
           {R"({"temperature": 1000})", "temperature must be between 0 and 100"},
           {R"({"top_p": 0})", "top_p must be in (0, 1]"},
           {R"({"repeat_last_n": -3})", "repeat_last_n must be >= 0"}}) {
    const std::string text = R"({"format": "dschat-conversation", "version": 1, "sampling": )" + sampling +
                             R"(, "messages": [{"role": "user", "content": "a"}]})";
    try {
      conversation_from_json(nlohmann::json::parse(text), "c.json");
      ADD_FAILURE() << sampling << " was accepted";
    } catch (const ConversationError& e) {
      EXPECT_NE(std::string(e.what()).find(message), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find("c.json"), std::string::npos) << e.what();
    }
  }
}

TEST(ConversationMarkdown, HasRolesContentAndInterruption) {
  std::string md = conversation_to_markdown(sample_conversation());
  EXPECT_NE(md.find("## System\n\nYou are terse."), std::string::npos);
  EXPECT_NE(md.find("## User (2026-11-22T10:00:05Z)\n\nHi \"there\"\nsecond line"), std::string::npos);
  EXPECT_NE(md.find("## Assistant (2026-11-22T10:00:06Z)\n\nHello."), std::string::npos);
  EXPECT_NE(md.find("Well,\n\n*(interrupted)*"), std::string::npos);
  EXPECT_LT(md.find("Hello."), md.find("More?"));
}

TEST(ConversationId, IsASafeFileStem) {
  std::string id = new_conversation_id();
  EXPECT_EQ(id.size(), 20u);  // YYYYMMDD-HHMMSS-xxxx
  for (char ch : id) EXPECT_TRUE(std::isalnum(static_cast<unsigned char>(ch)) || ch == '-');
  std::string now = utc_now_iso8601();
  EXPECT_EQ(now.size(), 20u);
  EXPECT_EQ(now.back(), 'Z');
}

TEST(ConversationStore, DefaultDirectoryFollowsXdg) {
  const char* old_xdg = std::getenv("XDG_DATA_HOME");
  std::string saved = old_xdg ? old_xdg : "";
  ::setenv("XDG_DATA_HOME", "/tmp/xdgdata", 1);
  EXPECT_EQ(default_conversations_dir(), fs::path("/tmp/xdgdata/dschat/conversations"));
  ::setenv("XDG_DATA_HOME", "", 1);  // empty: fall back to ~/.local/share
  const char* home = std::getenv("HOME");
  EXPECT_EQ(default_conversations_dir(), fs::path(home ? home : ".") / ".local/share/dschat/conversations");
  if (old_xdg) ::setenv("XDG_DATA_HOME", saved.c_str(), 1);
  else ::unsetenv("XDG_DATA_HOME");
}

TEST(ConversationStore, SavesLoadsListsWithMode0600) {
  TempDir tmp;
  ConversationStore store(tmp.path() / "conversations");
  Conversation c = sample_conversation();
  fs::path path = store.save(c);
  EXPECT_EQ(path, tmp.path() / "conversations" / "20261122-100000-abcd.json");
  struct stat st{};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  ASSERT_EQ(::stat((tmp.path() / "conversations").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  Conversation back = ConversationStore::load(path);
  EXPECT_EQ(conversation_to_json(back), conversation_to_json(c));

  Conversation newer = c;
  newer.id = "20261122-110000-beef";
  newer.updated = "2026-11-22T11:00:00Z";
  store.save(newer);
  std::ofstream(tmp.path() / "conversations" / "junk.json") << "not json";
  auto list = store.list();
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list[0].id, "20261122-110000-beef");
  EXPECT_EQ(list[0].first_prompt, c.messages[0].content);
  EXPECT_EQ(store.latest(), tmp.path() / "conversations" / "20261122-110000-beef.json");
  // No temporary files are left behind.
  int files = 0;
  for (auto& e : fs::directory_iterator(tmp.path() / "conversations")) {
    (void)e;
    ++files;
  }
  EXPECT_EQ(files, 3);
}

// Entries that cannot be examined are skipped, not the end of --resume: a symlink loop named
// *.json (it used to throw "Too many levels of symbolic links"), a dangling link, a directory.
TEST(ConversationStore, ListingSkipsSymlinkLoopsAndOtherOddEntries) {
  TempDir tmp;
  const fs::path dir = tmp.path() / "conversations";
  ConversationStore store(dir);
  Conversation c = sample_conversation();
  const fs::path saved = store.save(c);
  fs::create_symlink("loop.json", dir / "loop.json");
  fs::create_symlink(dir / "nowhere.json", dir / "dangling.json");
  fs::create_directory(dir / "dir.json");
  std::vector<ConversationFileInfo> list;
  ASSERT_NO_THROW(list = store.list());
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0].path, saved);
  EXPECT_EQ(store.latest(), saved);
}

TEST(ConversationStore, UnsafeIdsNeverBecomePaths) {
  TempDir tmp;
  ConversationStore store(tmp.path());
  Conversation c = sample_conversation();
  for (std::string id : {"../escape", "a/b", "", ".hidden", "x y"}) {
    c.id = id;
    EXPECT_THROW(store.path_for(c), ConversationWriteError) << id;
  }
}

TEST(ConversationStore, ExportsMarkdownAndJson) {
  TempDir tmp;
  ConversationStore store(tmp.path());
  Conversation c = sample_conversation();
  store.export_markdown(c, tmp.path() / "out.md");
  store.export_json(c, tmp.path() / "out.json");
  EXPECT_EQ(read_file(tmp.path() / "out.md"), conversation_to_markdown(c));
  EXPECT_EQ(conversation_to_json(ConversationStore::load(tmp.path() / "out.json")), conversation_to_json(c));
}

TEST(ConversationStore, FullDiskLeavesThePreviousFileIntact) {
  TempDir tmp;
  ConversationStore store(tmp.path());
  Conversation c = sample_conversation();
  fs::path path = store.save(c);
  const std::string before = read_file(path);

  // The write layer fails with ENOSPC after writing part of the data.
  int calls = 0;
  store.set_write_function([&](int fd, const char* data, std::size_t size) -> long {
    if (++calls == 1) return ::write(fd, data, std::min<std::size_t>(size, 10));
    errno = ENOSPC;
    return -1;
  });
  c.messages.push_back({Role::User, "a new turn", "", std::nullopt, false});
  try {
    store.save(c);
    FAIL() << "the write fault was not reported";
  } catch (const ConversationWriteError& e) {
    std::string what = e.what();
    EXPECT_NE(what.find(path.string()), std::string::npos) << what;
    EXPECT_NE(what.find(std::strerror(ENOSPC)), std::string::npos) << what;
  }
  EXPECT_EQ(read_file(path), before);
  int files = 0;
  for (auto& e : fs::directory_iterator(tmp.path())) {
    (void)e;
    ++files;
  }
  EXPECT_EQ(files, 1) << "the temporary file was not removed";
  // After the fault clears, saving works again.
  store.set_write_function({});
  store.save(c);
  EXPECT_EQ(ConversationStore::load(path).messages.size(), 5u);
}

// Root ignores directory permissions, so the read-only check runs in a child process that
// gives up root (user nobody) when the tests run as root.
TEST(ConversationStore, ReadOnlyDirectoryLeavesThePreviousFileIntact) {
  TempDir tmp;
  fs::path dir = tmp.path() / "ro";
  ConversationStore store(dir);
  Conversation c = sample_conversation();
  fs::path path = store.save(c);
  const std::string before = read_file(path);
  ASSERT_EQ(::chmod(dir.c_str(), 0555), 0);
  ASSERT_EQ(::chmod(tmp.path().c_str(), 0755), 0);

  pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    if (::geteuid() == 0) {
      struct passwd* nobody = ::getpwnam("nobody");
      if (!nobody || ::setgid(nobody->pw_gid) != 0 || ::setuid(nobody->pw_uid) != 0) ::_exit(77);
    }
    c.messages.push_back({Role::User, "a new turn", "", std::nullopt, false});
    try {
      store.save(c);
      ::_exit(1);  // the write should have failed
    } catch (const ConversationWriteError& e) {
      std::string what = e.what();
      ::_exit(what.find(dir.string()) != std::string::npos ? 0 : 2);
    } catch (...) {
      ::_exit(3);
    }
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status));
  if (WEXITSTATUS(status) == 77) GTEST_SKIP() << "cannot drop root privileges here";
  EXPECT_EQ(WEXITSTATUS(status), 0) << "1: no error, 2: the message does not name the directory";
  EXPECT_EQ(read_file(path), before);
}

}  // namespace
}  // namespace dschat
