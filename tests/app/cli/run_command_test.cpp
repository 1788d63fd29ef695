// `dschat run` as a user runs it (the built binary, DSCHAT_BINARY) on random model directories:
// the streamed reply equals the engine's greedy continuation, seeds reproduce, stdin prompts,
// statistics only with -v, clear errors, and exit status 130 with the partial reply kept when
// SIGINT arrives during generation.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <fstream>

#include "app/backend/loaded_model.h"
#include "tests/app/test_model_dir.h"

namespace dschat {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

struct RunResult {
  int exit_code = -1;
  std::string out;
  std::string err;
  size_t out_when_interrupted = 0;  // stdout bytes seen when the signal was sent
  int chunks = 0;                   // separate reads of stdout (streaming)
};

// Runs dschat with `args`, feeding `input` on stdin. With `interrupt` (a signal number), sends
// that signal once stdout has shown some output and 300 ms more have passed.
RunResult run_dschat(const std::vector<std::string>& args, const std::string& input = "", int interrupt = 0) {
  int in_pipe[2], out_pipe[2], err_pipe[2];
  if (::pipe(in_pipe) || ::pipe(out_pipe) || ::pipe(err_pipe)) throw std::runtime_error("pipe failed");
  pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(in_pipe[0], 0);
    ::dup2(out_pipe[1], 1);
    ::dup2(err_pipe[1], 2);
    for (int fd : {in_pipe[0], in_pipe[1], out_pipe[0], out_pipe[1], err_pipe[0], err_pipe[1]}) ::close(fd);
    std::vector<char*> argv;
    argv.push_back(const_cast<char*>(DSCHAT_BINARY));
    for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    ::execv(DSCHAT_BINARY, argv.data());
    ::_exit(127);
  }
  ::close(in_pipe[0]);
  ::close(out_pipe[1]);
  ::close(err_pipe[1]);
  if (!input.empty()) {
    ssize_t n = ::write(in_pipe[1], input.data(), input.size());
    (void)n;
  }
  ::close(in_pipe[1]);
  RunResult r;
  bool out_open = true, err_open = true, sent = false;
  Clock::time_point first_output{};
  while (out_open || err_open) {
    pollfd fds[2] = {{out_pipe[0], POLLIN, 0}, {err_pipe[0], POLLIN, 0}};
    ::poll(fds, 2, 20);
    char buf[4096];
    if (out_open && (fds[0].revents & (POLLIN | POLLHUP))) {
      ssize_t n = ::read(out_pipe[0], buf, sizeof buf);
      if (n <= 0) out_open = false;
      else {
        if (r.out.empty()) first_output = Clock::now();
        r.out.append(buf, static_cast<size_t>(n));
        ++r.chunks;
      }
    }
    if (err_open && (fds[1].revents & (POLLIN | POLLHUP))) {
      ssize_t n = ::read(err_pipe[0], buf, sizeof buf);
      if (n <= 0) err_open = false;
      else r.err.append(buf, static_cast<size_t>(n));
    }
    if (interrupt && !sent && !r.out.empty() && Clock::now() - first_output > std::chrono::milliseconds(300)) {
      r.out_when_interrupted = r.out.size();
      ::kill(pid, interrupt);
      sent = true;
    }
  }
  ::close(out_pipe[0]);
  ::close(err_pipe[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return r;
}

class CmdRunTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("dschat_cmd_run_" + std::to_string(::getpid()) + "_" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    test::write_chat_model(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_;
};

// A bigger model with no end-of-sequence token, so a reply runs until it is interrupted.
fs::path write_endless_model(const fs::path& dir) {
  nlohmann::json c = test::chat_model_config(4096);
  c["hidden_size"] = 256;
  c["intermediate_size"] = 1024;
  c["first_k_dense_replace"] = 3;
  c["eos_token_id"] = nullptr;
  test::write_chat_model(dir, c);
  std::ofstream(dir / "tokenizer_config.json") << R"({"bos_token": "<｜begin▁of▁sentence｜>"})";
  return dir;
}

// The greedy continuation computed in this process with the engine and tokenizer directly.
std::string greedy_reply(const fs::path& dir, const std::string& prompt, int n) {
  auto model = LoadedModel::load(dir);
  std::vector<int32_t> ids = model->tokenizer->encode(prompt);
  auto ctx = InferenceContext::create(*model->model, 512);
  std::vector<float> logits(model->model->config().vocab_size);
  ctx->append(ids, logits);
  std::vector<int32_t> reply;
  for (int i = 0; i < n; ++i) {
    int32_t best = static_cast<int32_t>(std::max_element(logits.begin(), logits.end()) - logits.begin());
    if (std::find(model->eos_ids.begin(), model->eos_ids.end(), best) != model->eos_ids.end()) break;
    reply.push_back(best);
    ctx->append(std::span<const int32_t>(&best, 1), logits);
  }
  return model->tokenizer->decode(reply, /*skip_special=*/true);
}

TEST_F(CmdRunTest, GreedyOutputIsTheEnginesGreedyContinuation) {
  RunResult r = run_dschat({"run", "--model", dir_.string(), "--prompt", "Hello", "--template", "concat", "-n", "24",
                            "--temp", "0"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.err, "");  // quiet without -v
  std::string expected = greedy_reply(dir_, "Hello", 24);
  if (expected.empty() || expected.back() != '\n') expected += '\n';
  EXPECT_EQ(r.out, expected);
}

TEST_F(CmdRunTest, SameSeedSameReplyAndStdinPrompt) {
  std::vector<std::string> args = {"run", "--model", dir_.string(), "--prompt", "Hello", "-n", "24",
                                   "--temp", "1", "--top-p", "1", "--seed", "42"};
  RunResult a = run_dschat(args);
  RunResult b = run_dschat(args);
  ASSERT_EQ(a.exit_code, 0) << a.err;
  EXPECT_EQ(a.out, b.out);
  args[4] = "-";
  RunResult from_stdin = run_dschat(args, "Hello\n");
  EXPECT_EQ(from_stdin.exit_code, 0) << from_stdin.err;
  EXPECT_EQ(from_stdin.out, a.out);
  args[4] = "Hello";
  args.back() = "43";
  EXPECT_NE(run_dschat(args).out, a.out);
}

TEST_F(CmdRunTest, APositionalPromptIsThePrompt) {
  // `dschat run "Hello there"` and `dschat run Hello there` are `--prompt "Hello there"`.
  const std::vector<std::string> common = {"run", "--model", dir_.string(), "-n", "12", "--temp", "0"};
  auto with = [&](std::vector<std::string> extra) {
    std::vector<std::string> args = common;
    args.insert(args.end(), extra.begin(), extra.end());
    return run_dschat(args);
  };
  RunResult flag = with({"--prompt", "Hello there"});
  ASSERT_EQ(flag.exit_code, 0) << flag.err;
  RunResult quoted = with({"Hello there"});
  EXPECT_EQ(quoted.exit_code, 0) << quoted.err;
  EXPECT_EQ(quoted.out, flag.out);
  EXPECT_EQ(with({"Hello", "there"}).out, flag.out);
  RunResult both = with({"--prompt", "Hi", "extra"});
  EXPECT_EQ(both.exit_code, 2);
  EXPECT_NE(both.err.find("'extra'"), std::string::npos) << both.err;
}

TEST_F(CmdRunTest, ZeroTokensIsRefusedAndCtxBeyondTheMaximumIsClampedWithANotice) {
  RunResult zero = run_dschat({"run", "--model", dir_.string(), "-n", "0", "Hi"});
  EXPECT_EQ(zero.exit_code, 2);
  EXPECT_NE(zero.err.find("-1 for no limit"), std::string::npos) << zero.err;
  RunResult big = run_dschat({"run", "--model", dir_.string(), "-n", "2", "--ctx", "99999", "Hi"});
  EXPECT_EQ(big.exit_code, 0) << big.err;
  EXPECT_NE(big.err.find("dschat run: --ctx 99999 is more than the model's maximum; the context is 512 tokens"),
            std::string::npos) << big.err;
}

TEST_F(CmdRunTest, VerboseWritesStatisticsToStderrOnly) {
  RunResult r = run_dschat({"run", "--model", dir_.string(), "--prompt", "Hi", "-n", "5", "--temp", "0", "-v",
                            "--system", "Be brief.", "-t", "1"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("prompt: "), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("tokens/s"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("stop: "), std::string::npos) << r.err;
  EXPECT_EQ(r.out.find("tokens/s"), std::string::npos);
}

TEST_F(CmdRunTest, ErrorsAreClearAndNonZero) {
  RunResult missing = run_dschat({"run", "--model", (dir_ / "nope").string(), "--prompt", "Hi"});
  EXPECT_NE(missing.exit_code, 0);
  EXPECT_NE(missing.err.find("nope"), std::string::npos) << missing.err;
  EXPECT_EQ(missing.out, "");

  RunResult bad_temp = run_dschat({"run", "--model", dir_.string(), "--prompt", "Hi", "--temp", "hot"});
  EXPECT_EQ(bad_temp.exit_code, 2);
  EXPECT_NE(bad_temp.err.find("temperature"), std::string::npos) << bad_temp.err;

  RunResult unknown = run_dschat({"run", "--model", dir_.string(), "--prompt", "Hi", "--bogus"});
  EXPECT_EQ(unknown.exit_code, 2);
  EXPECT_NE(unknown.err.find("--bogus"), std::string::npos) << unknown.err;

  RunResult no_prompt = run_dschat({"run", "--model", dir_.string()});
  EXPECT_EQ(no_prompt.exit_code, 2);
  EXPECT_NE(no_prompt.err.find("--prompt"), std::string::npos) << no_prompt.err;

  RunResult bad_template = run_dschat({"run", "--model", dir_.string(), "--prompt", "Hi", "--template", "x"});
  EXPECT_EQ(bad_template.exit_code, 2);
  EXPECT_NE(bad_template.err.find("deepseek-v3"), std::string::npos) << bad_template.err;

  RunResult too_long = run_dschat({"run", "--model", dir_.string(), "--prompt", std::string(600, 'x')});
  EXPECT_EQ(too_long.exit_code, 1);
  EXPECT_NE(too_long.err.find("does not fit"), std::string::npos) << too_long.err;
}

TEST_F(CmdRunTest, SigintStopsGenerationWithStatus130AndKeepsTheOutput) {
  const fs::path slow = write_endless_model(dir_ / "slow");
  RunResult r = run_dschat({"run", "--model", slow.string(), "--prompt", "Hello", "--template", "concat", "--temp",
                            "0", "-t", "1"},
                           "", /*interrupt=*/SIGINT);
  EXPECT_EQ(r.exit_code, 130) << r.err;
  EXPECT_GT(r.out_when_interrupted, 0u);
  EXPECT_GE(r.out.size(), r.out_when_interrupted);  // what was printed stays printed
  EXPECT_GT(r.chunks, 1) << "the reply was not streamed";
}

// The chat in line mode (stdin not a terminal): SIGTERM or SIGHUP during a reply stops it as Ctrl+C
// does, the message and the partial reply are saved, and the exit status is 128 + the signal
// (the default action used to end the process with nothing saved).
TEST_F(CmdRunTest, LineModeTermAndHupSaveTheTurnThenExit) {
  const fs::path slow = write_endless_model(dir_ / "slow");
  for (int signal : {SIGTERM, SIGHUP}) {
    const fs::path data = dir_ / ("data" + std::to_string(signal));
    ::setenv("XDG_DATA_HOME", data.c_str(), 1);
    RunResult r = run_dschat({"--model", slow.string(), "--save"}, "Hello there\n", signal);
    ::unsetenv("XDG_DATA_HOME");
    EXPECT_EQ(r.exit_code, 128 + signal) << r.err;
    EXPECT_GT(r.out_when_interrupted, 0u);
    const fs::path dir = data / "dschat" / "conversations";
    ASSERT_TRUE(fs::is_directory(dir)) << r.err;
    std::vector<fs::path> files;
    for (const auto& entry : fs::directory_iterator(dir)) {
      if (entry.path().extension() == ".json") files.push_back(entry.path());
    }
    ASSERT_EQ(files.size(), 1u);
    nlohmann::json saved = nlohmann::json::parse(std::ifstream(files[0]));
    ASSERT_EQ(saved["messages"].size(), 2u) << saved.dump();
    EXPECT_EQ(saved["messages"][0]["content"], "Hello there");
    EXPECT_EQ(saved["messages"][1]["role"], "assistant");
    EXPECT_FALSE(saved["messages"][1]["content"].get<std::string>().empty());
  }
}

}  // namespace
}  // namespace dschat
