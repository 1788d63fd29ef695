// dschat tokenize / detokenize, run as a user would (DSCHAT_BINARY): stdin and --batch forms,
// --special, round trips through both commands, and clear errors with a non-zero exit.
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/tokenizer/tokenizer_test_data.h"

namespace dschat::testing {
namespace {

struct CommandResult {
  int status;
  std::string out, err;
};

class CliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("dschat_cli_" + std::to_string(::getpid()) + "_" + ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string write(const std::string& name, const std::string& content) {
    auto path = (dir_ / name).string();
    std::ofstream(path, std::ios::binary) << content;
    return path;
  }

  // Runs `dschat ARGS < stdin_file`, capturing stdout and stderr.
  CommandResult run(const std::string& args, const std::string& stdin_text = "") {
    const auto in = write("stdin", stdin_text);
    const auto out = (dir_ / "stdout").string();
    const auto err = (dir_ / "stderr").string();
    const std::string command = std::string("'") + DSCHAT_BINARY + "' " + args + " < '" + in + "' > '" + out + "' 2> '" + err + "'";
    int status = std::system(command.c_str());
    return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, read_text_file(out), read_text_file(err)};
  }

  std::filesystem::path dir_;
};

const std::string kModel = std::string(" --model '") + DSCHAT_SOURCE_DIR + "/assets/model'";

TEST_F(CliTest, TokenizeStdinPrintsTheIdsAsAJsonArray) {
  CommandResult r = run("tokenize" + kModel, "Hello world");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "[15496,995]\n");
  r = run("tokenize" + kModel, "<|endoftext|>");
  EXPECT_NE(r.out, "[50256]\n");
  r = run("tokenize --special" + kModel, "<|endoftext|>");
  EXPECT_EQ(r.out, "[50256]\n");
}

TEST_F(CliTest, BatchRoundTripThroughTokenizeAndDetokenizeIsExact) {
  std::string jsonl;
  for (const CorpusCase& c : corpus()) jsonl += nlohmann::json(c.text).dump() + "\n";
  const auto texts = write("texts.jsonl", jsonl);
  CommandResult tok = run("tokenize --batch '" + texts + "'" + kModel);
  ASSERT_EQ(tok.status, 0) << tok.err;
  const auto goldens = read_jsonl(tokenizer_data_dir() + "/gpt2.golden.jsonl");
  std::istringstream lines(tok.out);
  std::string line;
  for (std::size_t i = 0; i < goldens.size(); ++i) {
    ASSERT_TRUE(std::getline(lines, line)) << "missing output line " << i;
    EXPECT_EQ(nlohmann::json::parse(line), goldens[i]["ids"]) << corpus()[i].name;
  }
  EXPECT_FALSE(std::getline(lines, line));

  const auto ids = write("ids.jsonl", tok.out);
  CommandResult detok = run("detokenize --batch '" + ids + "'" + kModel);
  ASSERT_EQ(detok.status, 0) << detok.err;
  std::istringstream texts_out(detok.out);
  for (const CorpusCase& c : corpus()) {
    ASSERT_TRUE(std::getline(texts_out, line));
    EXPECT_EQ(nlohmann::json::parse(line).get<std::string>(), c.text) << c.name;
  }
}

TEST_F(CliTest, DetokenizeStdinPrintsTheRawText) {
  CommandResult r = run("detokenize" + kModel, "[15496, 995, 50256]");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "Hello world<|endoftext|>");
  r = run("detokenize --skip-special" + kModel, "[15496, 995, 50256]");
  EXPECT_EQ(r.out, "Hello world");
}

TEST_F(CliTest, DeepSeekDirectoryWithOnlyTokenizerFilesWorks) {
  CommandResult r = run("tokenize --model '" + tokenizer_data_dir() + "/deepseek_v3'", "Hello world");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(nlohmann::json::parse(r.out).get<std::vector<int32_t>>(), deepseek_v3().encode("Hello world"));
}

TEST_F(CliTest, ErrorsAreClearAndExitNonZero) {
  CommandResult r = run("tokenize" + kModel, "bad \xFF byte");
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.err.find("UTF-8"), std::string::npos) << r.err;

  r = run("detokenize" + kModel, "[1, 99999999]");
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.err.find("99999999"), std::string::npos) << r.err;

  // 200k levels of [[[...]]] on stdin: a clear error, not a stack overflow in dump().
  r = run("detokenize" + kModel, std::string(200000, '[') + std::string(200000, ']'));
  EXPECT_EQ(r.status, 1) << r.err;
  EXPECT_NE(r.err.find("nested deeper than 256 levels"), std::string::npos) << r.err;
  r = run("detokenize" + kModel, "[1, [[[2]]]]");
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.err.find("element 1 (an array of 1 elements) is not a token id"), std::string::npos) << r.err;

  r = run("detokenize" + kModel, "[1, \"x\"]");
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.err.find("element 1"), std::string::npos) << r.err;

  const auto batch = write("bad.jsonl", "\"ok\"\n42\n");
  r = run("tokenize --batch '" + batch + "'" + kModel);
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.err.find("bad.jsonl:2"), std::string::npos) << r.err;

  r = run("tokenize --model '" + dir_.string() + "'", "x");
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.err.find("tokenizer.json"), std::string::npos) << r.err;

  r = run("tokenize --bogus" + kModel, "x");
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.err.find("--bogus"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace dschat::testing
