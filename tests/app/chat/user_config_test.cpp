// The user's config file (app/chat/user_config.h): what it sets, and that every kind of bad file
// is an error naming the file and the key, read within bounds (size, nesting, file type).
#include "app/chat/user_config.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>

#include "tests/engine/checkpoint_writer.h"

namespace dschat {
namespace {

namespace fs = std::filesystem;

std::string error_of(const std::string& text) {
  try {
    parse_user_config(text, "/home/u/.config/dschat/config.json");
  } catch (const UserConfigError& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(UserConfig, ReadsEverySetting) {
  const UserConfig c = parse_user_config(
      R"({"model": "deepseek-r1", "temperature": 0.6, "top_p": 0.95, "top_k": 40, "min_p": 0.05,
          "repeat_penalty": 1.1, "repeat_last_n": 32, "seed": 7, "markdown": false, "think": "show", "colour": false})",
      "config.json");
  EXPECT_EQ(c.model, "deepseek-r1");
  EXPECT_EQ(c.markdown, false);
  EXPECT_EQ(c.think, "show");
  EXPECT_EQ(c.colour, false);
  // The sampling values, applied as /set applies them, give the numbers written.
  SamplingParams p;
  for (const auto& [name, value] : c.sampling) set_sampling_parameter(p, name, value);
  EXPECT_FLOAT_EQ(p.temperature, 0.6f);
  EXPECT_FLOAT_EQ(p.top_p, 0.95f);
  EXPECT_EQ(p.top_k, 40);
  EXPECT_FLOAT_EQ(p.min_p, 0.05f);
  EXPECT_FLOAT_EQ(p.repeat_penalty, 1.1f);
  EXPECT_EQ(p.repeat_window, 32);
  EXPECT_EQ(p.seed, 7u);
  // Written as the shortest text of the number, as the user wrote it (not 0.59999999999999998).
  EXPECT_NE(std::find(c.sampling.begin(), c.sampling.end(), std::pair<std::string, std::string>{"temperature", "0.6"}),
            c.sampling.end());

  const UserConfig empty = parse_user_config("{}", "config.json");
  EXPECT_FALSE(empty.model || empty.markdown || empty.think || empty.colour);
  EXPECT_TRUE(empty.sampling.empty());
  EXPECT_EQ(parse_user_config(R"({"color": true})", "c").colour, true);  // either spelling
}

TEST(UserConfig, ErrorsNameTheFileAndTheKey) {
  const std::string file = "/home/u/.config/dschat/config.json: ";
  EXPECT_EQ(error_of(R"({"temprature": 0.5})").rfind(file + "unknown key \"temprature\" (known: model, temperature", 0), 0u)
      << error_of(R"({"temprature": 0.5})");
  EXPECT_EQ(error_of(R"({"temperature": 500})"), file + "\"temperature\": temperature must be between 0 and 100");
  EXPECT_EQ(error_of(R"({"temperature": "hot"})"), file + "\"temperature\": must be a number, not \"hot\"");
  EXPECT_EQ(error_of(R"({"top_k": 1e30})").rfind(file + "\"top_k\": top_k needs an integer", 0), 0u) << error_of(R"({"top_k": 1e30})");
  EXPECT_EQ(error_of(R"({"seed": -1})"), file + "\"seed\": seed must be >= 0 (0 = random)");
  EXPECT_EQ(error_of(R"({"markdown": "yes"})"), file + "\"markdown\": must be true or false, not \"yes\"");
  EXPECT_EQ(error_of(R"({"think": "loud"})"), file + "\"think\": must be \"show\", \"fold\" or \"hide\", not \"loud\"");
  EXPECT_EQ(error_of(R"({"model": ""})"), file + "\"model\": must be a model name or path (a string), not \"\"");
  EXPECT_EQ(error_of(R"({"model": ["a"]})"), file + "\"model\": must be a model name or path (a string), not an array of 1 elements");
  EXPECT_EQ(error_of("[1, 2]"), file + "must be a JSON object ({\"key\": value, ...}), not an array of 2 elements");
  EXPECT_EQ(error_of("{\"temperature\": 0.5,}").rfind(file + "not valid JSON: ", 0), 0u) << error_of("{\"temperature\": 0.5,}");
  EXPECT_EQ(error_of("").rfind(file + "not valid JSON: ", 0), 0u);
  // Nesting is bounded before anything is built: 100k levels are a message, not a stack overflow.
  const std::string deep = "{\"model\": " + std::string(100000, '[') + std::string(100000, ']') + "}";
  EXPECT_EQ(error_of(deep), file + "nested deeper than a config file is (8 levels)");
}

TEST(UserConfig, FilesAreReadWithinBounds) {
  test::TempDir dir;
  EXPECT_FALSE(load_user_config(dir / "missing.json").model);  // no file: no settings
  EXPECT_TRUE(load_user_config(dir / "missing.json").file.empty());
  {
    std::ofstream(dir / "config.json") << R"({"model": "m"})";
  }
  const UserConfig c = load_user_config(dir / "config.json");
  EXPECT_EQ(c.model, "m");
  EXPECT_EQ(c.file, dir / "config.json");
  {
    std::ofstream big(dir / "big.json");
    big << "{\"model\": \"" << std::string(2 << 20, 'x') << "\"}";
  }
  try {
    load_user_config(dir / "big.json");
    FAIL() << "a 2 MiB config file was read";
  } catch (const UserConfigError& e) {
    EXPECT_NE(std::string(e.what()).find((dir / "big.json").string()), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("1 MiB limit for the dschat config file"), std::string::npos) << e.what();
  }
  ASSERT_EQ(::mkfifo((dir / "fifo.json").c_str(), 0600), 0);
  try {
    load_user_config(dir / "fifo.json");  // never blocks waiting for a writer
    FAIL() << "a FIFO was read";
  } catch (const UserConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("is a FIFO"), std::string::npos) << e.what();
  }
}

TEST(UserConfig, LivesUnderXdgConfigHome) {
  const char* old = std::getenv("XDG_CONFIG_HOME");
  const std::string saved = old ? old : "";
  ::setenv("XDG_CONFIG_HOME", "/tmp/xdg-config", 1);
  EXPECT_EQ(default_user_config_path(), fs::path("/tmp/xdg-config/dschat/config.json"));
  ::setenv("XDG_CONFIG_HOME", "relative", 1);  // ignored, as the XDG specification says
  EXPECT_EQ(default_user_config_path().filename(), "config.json");
  EXPECT_NE(default_user_config_path(), fs::path("relative/dschat/config.json"));
  if (old) ::setenv("XDG_CONFIG_HOME", saved.c_str(), 1);
  else ::unsetenv("XDG_CONFIG_HOME");
}

}  // namespace
}  // namespace dschat
