// The chat's defaults as a user sets them, through the built dschat in line mode: sampling options
// on the chat's command line (shared with `dschat run`), the config file under
// $XDG_CONFIG_HOME/dschat/ (the command line goes over it), and models found by name in
// $XDG_DATA_HOME/dschat/models/ (`--model NAME`, `dschat list`).
#include <gtest/gtest.h>

#include <fstream>

#include "tests/app/cli/command_runner.h"

namespace dschat {
namespace {

namespace fs = std::filesystem;

class ChatDefaults : public ::testing::Test {
 protected:
  void SetUp() override {
    fs::create_directories(tmp_ / "config" / "dschat");
    fs::create_directories(tmp_ / "data" / "dschat" / "models");
    std::ofstream(tmp_ / "show.txt") << "/show parameters\n/show info\n";
  }
  // Private XDG directories and no DSCHAT_MODEL_DIR (the bundled model unless told otherwise).
  std::string env(const std::string& more = "") const {
    return "env -u DSCHAT_MODEL_DIR XDG_CONFIG_HOME=" + (tmp_ / "config").string() + " XDG_DATA_HOME=" +
           (tmp_ / "data").string() + " XDG_STATE_HOME=" + (tmp_ / "state").string() + " " + more;
  }
  void write_config(const std::string& json) const { std::ofstream(tmp_ / "config" / "dschat" / "config.json") << json; }
  // The chat in line mode, answering /show parameters and /show info.
  test::CommandResult show(const std::string& args, const std::string& more_env = "") const {
    return test::run(args + " < " + (tmp_ / "show.txt").string(), env(more_env));
  }
  void link_bundled_model(const std::string& name) const {
    fs::create_directory_symlink(fs::path(DSCHAT_SOURCE_DIR) / "assets" / "model", tmp_ / "data" / "dschat" / "models" / name);
  }
  test::TempDir tmp_;
};

TEST_F(ChatDefaults, SamplingOptionsOnTheChatCommandLine) {
  const test::CommandResult r = show("--temp 0 --top-k 7 --top-p 0.5 --min-p 0.25 --repeat-penalty 1.5 --repeat-last-n 9 --seed 42");
  ASSERT_EQ(r.status, 0) << r.err;
  for (const char* line : {"temperature 0\n", "top_k 7\n", "top_p 0.5\n", "min_p 0.25\n", "repeat_penalty 1.5\n",
                           "repeat_last_n 9\n", "seed 42\n"})
    EXPECT_NE(r.out.find(line), std::string::npos) << line << " not in\n" << r.out;
  // The same checks and messages as /set and `dschat run`; a bad value is a bad command line.
  const test::CommandResult bad = show("--temp hot");
  EXPECT_EQ(bad.status, 2);
  EXPECT_NE(bad.err.find("dschat: --temp: temperature needs a number, got 'hot'"), std::string::npos) << bad.err;
  const test::CommandResult range = show("--top-p 2");
  EXPECT_EQ(range.status, 2);
  EXPECT_NE(range.err.find("--top-p: top_p must be in (0, 1]"), std::string::npos) << range.err;
  const test::CommandResult run_bad = test::run("run --temp hot hi", env());
  EXPECT_EQ(run_bad.status, 2);
  EXPECT_NE(run_bad.err.find("dschat run: --temp: temperature needs a number"), std::string::npos) << run_bad.err;
}

TEST_F(ChatDefaults, TheConfigFileSetsDefaultsAndTheCommandLineGoesOverThem) {
  write_config(R"({"temperature": 0.3, "top_k": 5, "seed": 9, "markdown": false, "think": "hide"})");
  const test::CommandResult r = show("--seed 4");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("temperature 0.3\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("top_k 5\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("seed 4\n"), std::string::npos) << r.out;  // the option, not the file's 9
  // `dschat run` reads it too: seed 9 gives the reply of --seed 9.
  const test::CommandResult by_config = test::run("run -n 12 Hello", env());
  const test::CommandResult by_option = test::run("run -n 12 --temp 0.3 --top-k 5 --seed 9 Hello", env("XDG_CONFIG_HOME=/nonexistent"));
  ASSERT_EQ(by_config.status, 0) << by_config.err;
  ASSERT_EQ(by_option.status, 0) << by_option.err;
  EXPECT_EQ(by_config.out, by_option.out);
}

TEST_F(ChatDefaults, ABadConfigFileIsAnErrorNamingTheFileAndKey) {
  const std::string file = (tmp_ / "config" / "dschat" / "config.json").string();
  write_config(R"({"temprature": 0.3})");
  for (const std::string command : {"", "run "}) {
    const test::CommandResult r = show(command + (command.empty() ? "" : "hi"));
    EXPECT_EQ(r.status, 1) << command;
    EXPECT_NE(r.err.find(file + ": unknown key \"temprature\""), std::string::npos) << r.err;
    EXPECT_EQ(r.out, "");
  }
  write_config(R"({"top_p": 7})");
  const test::CommandResult range = show("");
  EXPECT_EQ(range.status, 1);
  EXPECT_NE(range.err.find(file + ": \"top_p\": top_p must be in (0, 1]"), std::string::npos) << range.err;
}

TEST_F(ChatDefaults, ModelsAreFoundByNameAndListed) {
  link_bundled_model("bible");
  const fs::path models = tmp_ / "data" / "dschat" / "models";
  const test::CommandResult listed = test::run("list", env());
  ASSERT_EQ(listed.status, 0) << listed.err;
  EXPECT_EQ(listed.out.rfind("NAME   FORMAT             SIZE  MODIFIED\nbible  safetensors     38.1 MB  ", 0), 0u) << listed.out;

  const test::CommandResult by_name = show("--model bible");
  ASSERT_EQ(by_name.status, 0) << by_name.err;
  EXPECT_NE(by_name.out.find("path: " + (models / "bible").string() + "\n"), std::string::npos) << by_name.out;
  // The config file's model, by name; --model and DSCHAT_MODEL_DIR go over it.
  write_config(R"({"model": "bible"})");
  EXPECT_NE(show("").out.find("path: " + (models / "bible").string() + "\n"), std::string::npos);
  const std::string bundled = (fs::path(DSCHAT_SOURCE_DIR) / "assets" / "model").string();
  EXPECT_NE(show("--model " + bundled).out.find("path: " + bundled + "\n"), std::string::npos);
  EXPECT_NE(show("", "DSCHAT_MODEL_DIR=" + bundled).out.find("path: " + bundled + "\n"), std::string::npos);
  // The other commands that take --model find it by name too.
  for (const char* command : {"run --model bible -n 3 --temp 0 Hello", "info --model bible", "bench --model bible -p 4 -n 2 -r 1 -t 1"}) {
    const test::CommandResult other = test::run(command, env());
    EXPECT_EQ(other.status, 0) << command << ": " << other.err;
  }
  // A name that is nowhere is named as given.
  const test::CommandResult missing = show("--model nosuchmodel");
  EXPECT_EQ(missing.status, 1);
  EXPECT_NE(missing.err.find("dschat: nosuchmodel: no such model"), std::string::npos) << missing.err;

  const test::CommandResult empty = test::run("list", env("XDG_DATA_HOME=" + (tmp_ / "empty").string()));
  EXPECT_EQ(empty.status, 0);
  EXPECT_EQ(empty.out, "");
  EXPECT_NE(empty.err.find("no models in " + (tmp_ / "empty" / "dschat" / "models").string()), std::string::npos) << empty.err;
}

}  // namespace
}  // namespace dschat
