// Faults that must lose no conversation (issue 9): saves that fail (a path that is a directory,
// a real size limit from the kernel, a full tmpfs when the tests may mount one), SIGKILL at
// random points of an autosave, 10,000 messages in a file, hostile input to the chat session
// (1 MB paste, invalid UTF-8, control characters), the temporary files of killed saves (removed
// at start-up), and the file-system security rules (0600, no write through a planted symlink,
// ids from files never become paths).
#include <gtest/gtest.h>

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <fstream>
#include <random>
#include <thread>

#include "app/chat/chat_session.h"
#include "app/chat/conversation.h"
#include "app/chat/conversation_store.h"
#include "tests/app/test_model_dir.h"
#include "common/file_limits.h"
#include "tests/common/non_regular_files.h"
#include "tests/engine/scripted_model.h"

namespace dschat {
namespace {

namespace fs = std::filesystem;

class FaultTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("dschat_fault_test_" + std::to_string(::getpid()) + "_" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  fs::path dir_;
};

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

Conversation conversation_with(int messages, size_t content_bytes = 20) {
  Conversation c;
  c.id = "20261122-100000-f00d";
  c.created = c.updated = "2026-11-22T10:00:00Z";
  for (int i = 0; i < messages; ++i) {
    Message m;
    m.role = i % 2 == 0 ? Role::User : Role::Assistant;
    m.content = "message " + std::to_string(i) + " " + std::string(content_bytes, static_cast<char>('a' + i % 26));
    m.time = c.created;
    c.messages.push_back(m);
  }
  return c;
}

size_t entries_in(const fs::path& dir) {
  size_t n = 0;
  for (auto it = fs::directory_iterator(dir); it != fs::directory_iterator(); ++it) ++n;
  return n;
}

TEST_F(FaultTest, SavingOverADirectoryFailsClearlyAndLosesNothing) {
  ConversationStore store(dir_);
  Conversation c = conversation_with(4);
  const fs::path target = store.path_for(c);
  fs::create_directories(target / "inside");  // someone made a directory where the file goes
  try {
    store.save(c);
    FAIL() << "saving over a directory was not reported";
  } catch (const ConversationWriteError& e) {
    EXPECT_NE(std::string(e.what()).find(target.string()), std::string::npos) << e.what();
  }
  EXPECT_TRUE(fs::is_directory(target / "inside"));  // nothing of the user's was removed
  EXPECT_EQ(entries_in(dir_), 1u) << "a temporary file was left behind";
  // The conversation is still whole in memory and saves as soon as the obstacle is gone.
  fs::remove_all(target);
  store.save(c);
  EXPECT_EQ(ConversationStore::load(target).messages.size(), 4u);
}

// The kernel refuses to grow a file past RLIMIT_FSIZE (EFBIG): a real, not injected, write
// failure. Runs in a child because the limit is per process.
TEST_F(FaultTest, KernelFileSizeLimitLeavesThePreviousFileIntact) {
  ConversationStore store(dir_);
  Conversation c = conversation_with(4);
  const fs::path path = store.save(c);
  const std::string before = read_file(path);
  pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    ::signal(SIGXFSZ, SIG_IGN);
    struct rlimit limit {static_cast<rlim_t>(before.size() / 2), static_cast<rlim_t>(before.size() / 2)};
    if (::setrlimit(RLIMIT_FSIZE, &limit) != 0) ::_exit(77);
    Conversation bigger = conversation_with(40, 200);
    try {
      store.save(bigger);
      ::_exit(1);
    } catch (const ConversationWriteError& e) {
      ::_exit(std::string(e.what()).find(std::strerror(EFBIG)) != std::string::npos ? 0 : 2);
    }
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status));
  if (WEXITSTATUS(status) == 77) GTEST_SKIP() << "cannot set RLIMIT_FSIZE";
  EXPECT_EQ(WEXITSTATUS(status), 0) << "1: no error reported, 2: the error does not say why";
  EXPECT_EQ(read_file(path), before);
  EXPECT_EQ(entries_in(dir_), 1u) << "a temporary file was left behind";
}

// A real full file system: a 64 KiB tmpfs mounted in a private mount namespace of a child.
// Needs CAP_SYS_ADMIN (root in CI containers usually has it); skipped otherwise.
TEST_F(FaultTest, RealFullFileSystemLeavesThePreviousFileIntact) {
  const fs::path mount_point = dir_ / "small";
  fs::create_directories(mount_point);
  pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    if (::unshare(CLONE_NEWNS) != 0 || ::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0 ||
        ::mount("tmpfs", mount_point.c_str(), "tmpfs", 0, "size=64k,mode=0700") != 0) {
      ::_exit(77);
    }
    ConversationStore store(mount_point);
    Conversation c = conversation_with(4);
    fs::path path;
    try {
      path = store.save(c);
    } catch (...) {
      ::_exit(3);
    }
    const std::string before = read_file(path);
    bool reported = false;
    try {
      store.save(conversation_with(400, 400));  // ~170 KB: cannot fit
    } catch (const ConversationWriteError& e) {
      reported = std::string(e.what()).find(std::strerror(ENOSPC)) != std::string::npos;
    }
    if (!reported) ::_exit(1);
    if (read_file(path) != before || entries_in(mount_point) != 1) ::_exit(2);
    store.save(conversation_with(6));  // space is free again: saving works
    ::_exit(ConversationStore::load(path).messages.size() == 6 ? 0 : 4);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status));
  if (WEXITSTATUS(status) == 77) GTEST_SKIP() << "cannot mount a tmpfs here (no CAP_SYS_ADMIN)";
  EXPECT_EQ(WEXITSTATUS(status), 0) << "1: ENOSPC not reported, 2: old file damaged or temp left, 4: no recovery";
}

// A child saves two versions alternately in a loop; the parent kills it with SIGKILL at random
// moments. Whatever the moment, the file is one complete version, never a mix or a stub.
TEST_F(FaultTest, SigkillDuringAutosaveLeavesTheOldOrTheNewFile) {
  ConversationStore store(dir_);
  const Conversation a = conversation_with(30, 3000);  // ~100 KB each, so kills land mid-write
  const Conversation b = conversation_with(31, 2900);
  const fs::path path = store.save(a);
  const std::string text_a = read_file(path);
  store.save(b);
  const std::string text_b = read_file(path);
  ASSERT_NE(text_a, text_b);
  std::mt19937 rng(12345);
  int old_or_new = 0;
  for (int round = 0; round < 40; ++round) {
    pid_t child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
      for (int i = 0;; ++i) store.save(i % 2 ? a : b);
    }
    std::this_thread::sleep_for(std::chrono::microseconds(std::uniform_int_distribution<int>(0, 20000)(rng)));
    ::kill(child, SIGKILL);
    int status = 0;
    ASSERT_EQ(::waitpid(child, &status, 0), child);
    const std::string now = read_file(path);
    ASSERT_TRUE(now == text_a || now == text_b) << "round " << round << ": the file is neither version ("
                                                << now.size() << " bytes)";
    old_or_new += 1;
    // A killed writer may leave its temporary file; it is never taken for a conversation.
    EXPECT_EQ(store.list().size(), 1u);
  }
  EXPECT_EQ(old_or_new, 40);
}

// A writer killed between mkstemp and rename leaves its temporary file; the next start-up
// removes it. The child blocks inside its write (after half the bytes) until it is killed.
TEST_F(FaultTest, TemporaryFileOfAWriterKilledMidSaveIsRemovedAtStartUp) {
  ConversationStore store(dir_);
  const Conversation c = conversation_with(20, 500);
  const fs::path path = store.save(c);
  const std::string before = read_file(path);
  int ready[2];
  ASSERT_EQ(::pipe(ready), 0);
  pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    ConversationStore writer(dir_);
    writer.set_write_function([&](int fd, const char* data, std::size_t size) -> long {
      long n = ::write(fd, data, size / 2);
      char byte = 1;
      if (::write(ready[1], &byte, 1) != 1) ::_exit(2);
      ::pause();  // killed here, in the middle of the save
      return n;
    });
    writer.save(conversation_with(21, 500));
    ::_exit(1);
  }
  char byte = 0;
  ASSERT_EQ(::read(ready[0], &byte, 1), 1);
  ::close(ready[0]);
  ::close(ready[1]);
  ::kill(child, SIGKILL);
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFSIGNALED(status));
  ASSERT_EQ(entries_in(dir_), 2u) << "the killed writer should have left its temporary file";
  EXPECT_EQ(read_file(path), before);
  EXPECT_EQ(store.remove_stale_temporary_files(), 1u);  // its writer is gone: not waiting a minute
  EXPECT_EQ(entries_in(dir_), 1u);
  EXPECT_EQ(read_file(path), before);
}

// Only temporary files of the store are removed, and only stale ones: the writer's process is
// gone or the file is older than a minute. Starting a chat session does it.
TEST_F(FaultTest, OnlyStaleTemporaryFilesOfTheStoreAreRemovedWhenASessionStarts) {
  pid_t dead = ::fork();
  ASSERT_GE(dead, 0);
  if (dead == 0) ::_exit(0);
  ASSERT_EQ(::waitpid(dead, nullptr, 0), dead);
  const std::string me = std::to_string(::getpid()), gone = std::to_string(dead);
  const fs::path conversations = dir_ / "conversations";
  fs::create_directories(conversations);
  auto make = [&](const std::string& name, int age_seconds) {
    const fs::path p = conversations / name;
    std::ofstream(p) << "{\"partial\": ";
    fs::last_write_time(p, fs::file_time_type::clock::now() - std::chrono::seconds(age_seconds));
    return p;
  };
  const std::vector<fs::path> stale = {
      make(".20261122-100000-f00d.json.tmp-" + gone + "-aB3xYz", 0),  // writer gone
      make(".20261122-100000-f00d.json.tmp-" + me + "-Qq0000", 120),  // a live writer, but 2 minutes old
      make(".old_id.json.tmp-Zz9Yy8", 120),                            // pid-less name, 2 minutes old
  };
  const std::vector<fs::path> kept = {
      make(".20261122-100000-f00d.json.tmp-" + me + "-Rr1111", 0),  // a live writer, fresh
      make(".old_id.json.tmp-Zz9Yy7", 5),                            // pid-less, fresh
      make("20261122-100000-f00d.json.tmp-" + gone + "-aB3xYz", 120),  // no leading dot
      make(".20261122-100000-f00d.json.tmp-" + gone + "-aB3x", 120),   // 4 random characters
      make(".20261122-100000-f00d.json.tmp-" + gone + "-aB3x!z", 120), // not alphanumeric
      make(".a.b.json.tmp-" + gone + "-aB3xYz", 120),                 // not a conversation id
      make(".20261122-100000-f00d.md.tmp-" + gone + "-aB3xYz", 120),   // an export's temporary file
      make("notes.txt", 120),
      make(".hidden.json", 120),
  };
  const fs::path outside = dir_ / "victim.txt";
  std::ofstream(outside) << "precious";
  const fs::path link = conversations / (".x.json.tmp-" + gone + "-Link00");
  fs::create_symlink(outside, link);
  const fs::path subdir = conversations / (".y.json.tmp-" + gone + "-Dir000");
  fs::create_directories(subdir);

  auto m = std::make_shared<LoadedModel>();
  m->path = "/models/scripted";
  m->model = std::make_unique<testing::ScriptedModel>(260, 64);
  m->tokenizer = std::make_unique<Tokenizer>(Tokenizer::from_json(test::byte_tokenizer_json().dump()));
  m->context_factory = [](int max_tokens) {
    return std::make_unique<testing::ScriptedContext>(260, max_tokens, [](const std::vector<int32_t>&) { return 257; });
  };
  ChatSessionOptions options;
  options.conversations_dir = conversations;
  options.template_name = "deepseek-v3";
  ChatSession session(m, options);

  for (const fs::path& p : stale) EXPECT_FALSE(fs::exists(p)) << p.filename() << " should have been removed";
  for (const fs::path& p : kept) EXPECT_TRUE(fs::exists(p)) << p.filename() << " should have been kept";
  EXPECT_TRUE(fs::is_symlink(link));
  EXPECT_EQ(read_file(outside), "precious");
  EXPECT_TRUE(fs::is_directory(subdir));
}

TEST_F(FaultTest, TenThousandMessagesLoadAndListQuickly) {
  ConversationStore store(dir_);
  Conversation c = conversation_with(10000, 50);
  const auto start = std::chrono::steady_clock::now();
  const fs::path path = store.save(c);
  Conversation back = ConversationStore::load(path);
  auto listing = store.list();
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  ASSERT_EQ(back.messages.size(), 10000u);
  EXPECT_EQ(back.messages[9999].content, c.messages[9999].content);
  ASSERT_EQ(listing.size(), 1u);
  EXPECT_LT(seconds, 20.0);  // generous for sanitizer builds; about 0.1 s in Release
}

// --- Security ----------------------------------------------------------------------------

TEST_F(FaultTest, FilesAre0600AndTheDirectory0700WhateverTheUmask) {
  const mode_t old_umask = ::umask(0);
  ConversationStore store(dir_ / "conversations");
  Conversation c = conversation_with(2);
  const fs::path path = store.save(c);
  store.export_markdown(c, dir_ / "export.md");
  store.export_json(c, dir_ / "export.json");
  ::umask(old_umask);
  for (const fs::path& p : {path, dir_ / "export.md", dir_ / "export.json"}) {
    struct stat st {};
    ASSERT_EQ(::stat(p.c_str(), &st), 0) << p;
    EXPECT_EQ(st.st_mode & 0777, 0600u) << p;
  }
  struct stat st {};
  ASSERT_EQ(::stat((dir_ / "conversations").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
}

TEST_F(FaultTest, APlantedSymlinkIsReplacedNotWrittenThrough) {
  ConversationStore store(dir_ / "conversations");
  Conversation c = conversation_with(2);
  const fs::path outside = dir_ / "victim.txt";
  std::ofstream(outside) << "precious";
  fs::create_directories(store.dir());
  fs::create_symlink(outside, store.path_for(c));
  store.save(c);
  EXPECT_EQ(read_file(outside), "precious");
  EXPECT_TRUE(fs::is_regular_file(fs::symlink_status(store.path_for(c))));
}

// Only a regular file, a link (replaced itself) or nothing is replaced: a FIFO, a socket, a
// directory or a device at the target is an error naming what it is, and stays what it was
// (a rename used to put a regular file in its place: /save /dev/full would replace /dev/full).
TEST_F(FaultTest, SavingNeverReplacesWhatIsNotARegularFile) {
  Conversation c = conversation_with(2);
  const fs::path fifo = dir_ / "fifo.json";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  const fs::path socket_path = dir_ / "socket.json";
  int sock = ::socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  std::snprintf(address.sun_path, sizeof address.sun_path, "%s", socket_path.c_str());
  ASSERT_EQ(::bind(sock, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
  const fs::path directory = dir_ / "directory.json";
  fs::create_directories(directory);
  ConversationStore store(dir_ / "conversations");
  for (const auto& [target, kind] : std::vector<std::pair<fs::path, std::string>>{
           {fifo, "a FIFO"}, {socket_path, "a socket"}, {directory, "a directory"}, {"/dev/null", "a character device"}}) {
    try {
      store.save(c, target);
      ADD_FAILURE() << target << " was replaced";
    } catch (const ConversationWriteError& e) {
      EXPECT_NE(std::string(e.what()).find(target.string() + " is " + kind + ", not a regular file"), std::string::npos)
          << e.what();
    }
    EXPECT_THROW(store.export_markdown(c, target), ConversationWriteError) << target;
  }
  EXPECT_TRUE(fs::is_fifo(fifo));
  EXPECT_TRUE(fs::is_socket(socket_path));
  EXPECT_TRUE(fs::is_directory(directory));
  EXPECT_TRUE(fs::is_character_file("/dev/null"));
  ::close(sock);
  for (const auto& entry : fs::directory_iterator(dir_)) {  // no temporary file left behind
    EXPECT_EQ(entry.path().filename().string().find(".tmp-"), std::string::npos) << entry.path();
  }
}

TEST_F(FaultTest, IdsReadFromFilesNeverBecomePathsOutsideTheDirectory) {
  ConversationStore store(dir_ / "conversations");
  for (const char* id : {"../escape", "../../etc/passwd", "/tmp/abs", "a/b", "..", ".", "x\ny"}) {
    Conversation c = conversation_with(2);
    c.id = id;
    nlohmann::json file = conversation_to_json(c);
    Conversation loaded = conversation_from_json(file, "hostile.json");
    EXPECT_THROW(store.save(loaded), ConversationWriteError) << "id '" << id << "'";
  }
  EXPECT_FALSE(fs::exists(dir_ / "escape.json"));
  EXPECT_FALSE(fs::exists(dir_ / "conversations"));  // nothing was created at all
}

// --- Hostile input to the chat session -----------------------------------------------------

class SessionInputFaults : public FaultTest {
 protected:
  std::unique_ptr<ChatSession> make_session(int max_positions = 512) {
    auto m = std::make_shared<LoadedModel>();
    m->path = "/models/scripted";
    m->model = std::make_unique<testing::ScriptedModel>(260, max_positions);
    m->tokenizer = std::make_unique<Tokenizer>(Tokenizer::from_json(test::byte_tokenizer_json().dump()));
    m->sampling_defaults.temperature = 0;
    m->eos_ids = {257};
    // Replies "ok" then eos.
    m->context_factory = [](int max_tokens) {
      return std::make_unique<testing::ScriptedContext>(260, max_tokens, [](const std::vector<int32_t>& tokens) {
        auto last = std::find(tokens.rbegin(), tokens.rend(), 259);
        size_t k = static_cast<size_t>(last - tokens.rbegin());
        return last == tokens.rend() || k >= 2 ? 257 : static_cast<int32_t>("ok"[k]);
      });
    };
    ChatSessionOptions options;
    options.conversations_dir = dir_ / "conversations";
    options.template_name = "deepseek-v3";
    return std::make_unique<ChatSession>(m, options);
  }
};

TEST_F(SessionInputFaults, AMegabytePasteIsAClearErrorAndTheSessionGoesOn) {
  auto session = make_session();
  ASSERT_TRUE(session->submit("hi").ok);
  const size_t before = session->conversation().messages.size();
  TurnResult r = session->submit(std::string(1 << 20, 'x'));
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.error.find("context"), std::string::npos) << r.error;
  EXPECT_EQ(session->conversation().messages.size(), before);
  EXPECT_TRUE(session->submit("still here").ok);
}

TEST_F(SessionInputFaults, InvalidUtf8AndControlCharactersNeverEscapeAsExceptions) {
  auto session = make_session();
  for (const std::string& text : {std::string("bad \xff\xfe bytes"), std::string("cut \xe6\x97"),
                                  std::string("nul \0 inside", 12), std::string("\x1b[2J\x1b]0;title\x07\r\b\t\x7f")}) {
    TurnResult r;
    ASSERT_NO_THROW(r = session->submit(text)) << "input of " << text.size() << " bytes";
    if (!r.ok) {
      EXPECT_FALSE(r.error.empty());
    }
  }
  // Whatever was accepted was saved and reads back.
  EXPECT_NO_THROW(ConversationStore::load(session->file_path()));
}

// Resuming a conversation of 10,000 messages: the oldest turns are left out of the context
// quickly (not one re-encoding of the whole conversation per dropped turn), the session goes on,
// and the file keeps every message.
TEST_F(SessionInputFaults, ResumingTenThousandMessagesIsQuickAndKeepsThemAll) {
  auto session = make_session(/*max_positions=*/512);
  ConversationStore store(dir_ / "elsewhere");
  const fs::path file = store.save(conversation_with(10000, 50));
  const auto start = std::chrono::steady_clock::now();
  session->load(file);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_LT(seconds, 10.0);
  EXPECT_GT(session->first_message_in_context(), 9000);
  TurnResult r = session->submit("one more");
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(ConversationStore::load(session->file_path()).messages.size(), 10002u);
  std::printf("resumed 10,000 messages in %.2f s\n", seconds);
}

// A conversation to load (--resume, /load) that is a FIFO, a device or larger than its limit is
// refused at once, naming the file: a FIFO used to block the load forever.
TEST_F(FaultTest, LoadingWhatIsNotARegularFileIsRefusedAtOnce) {
  ConversationStore store(dir_ / "conversations");
  const fs::path fifo = dir_ / "fifo.json";
  test::make_fifo(fifo);
  EXPECT_EQ(test::error_within_a_second([&] { store.load(fifo); }, fifo),
            fifo.string() + ": is a FIFO, not a regular file");
  fs::create_symlink("/dev/zero", dir_ / "zero.json");
  EXPECT_EQ(test::error_within_a_second([&] { store.load(dir_ / "zero.json"); }, fifo),
            (dir_ / "zero.json").string() + ": is a character device, not a regular file");
  const uint64_t too_big = kConversationLimit.max_bytes + kMiB;
  test::make_sparse_file(dir_ / "big.json", too_big);
  EXPECT_EQ(test::error_within_a_second([&] { store.load(dir_ / "big.json"); }, fifo),
            (dir_ / "big.json").string() + ": is " + std::to_string(too_big) +
                " bytes, more than the 1024 MiB limit for a conversation file");
}

}  // namespace
}  // namespace dschat
