// `dschat logits` and `dschat info` as a user runs them: the .npy written agrees with the golden
// logits on both paths, and bad input is a clear one-line error with exit status 1.
#include <gtest/gtest.h>

#include <sys/stat.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sys/wait.h>

#include <nlohmann/json.hpp>

#include "tests/app/cli/command_runner.h"
#include "tests/engine/checkpoint_writer.h"

namespace dschat {
namespace {

namespace fs = std::filesystem;
const fs::path kCase = fs::path(DSCHAT_TEST_DATA_DIR) / "engine" / "qlora_sigmoid_groups";

using test::CommandResult;
using test::run;

std::vector<float> read_f32_npy(const fs::path& path, std::vector<int64_t>& shape) {
  std::ifstream f(path, std::ios::binary);
  std::string all((std::istreambuf_iterator<char>(f)), {});
  EXPECT_EQ(all.compare(0, 6, "\x93NUMPY"), 0);
  size_t header_len = static_cast<unsigned char>(all[8]) | (static_cast<unsigned char>(all[9]) << 8);
  std::string header = all.substr(10, header_len);
  EXPECT_NE(header.find("'descr': '<f4'"), std::string::npos) << header;
  EXPECT_EQ((10 + header_len) % 64, 0u);
  size_t open = header.find('('), comma = header.find(',', open), close = header.find(')', open);
  shape = {std::stoll(header.substr(open + 1, comma - open - 1)), std::stoll(header.substr(comma + 1, close - comma - 1))};
  std::vector<float> data((all.size() - 10 - header_len) / 4);
  std::memcpy(data.data(), all.data() + 10 + header_len, data.size() * 4);
  return data;
}

TEST(LogitsCommand, WritesTheGoldenLogitsOnBothPaths) {
  nlohmann::json ids_json = nlohmann::json::parse(std::ifstream(kCase / "ids.json"));
  std::string ids;
  for (int id : ids_json["ids"]) {
    if (!ids.empty()) ids += ',';
    ids += std::to_string(id);  // (a `"," + to_string` temporary set off GCC 12's false -Wrestrict)
  }
  std::vector<int64_t> golden_shape;
  std::vector<float> golden = read_f32_npy(kCase / "logits.npy", golden_shape);
  test::TempDir tmp;
  for (std::string mode : {"", " --incremental", " --chunk 5 -t 2"}) {
    CommandResult r = run("logits --model " + (kCase / "model").string() + " --ids " + ids + " --out " + (tmp / "l.npy").string() + mode);
    ASSERT_EQ(r.status, 0) << r.err;
    std::vector<int64_t> shape;
    std::vector<float> got = read_f32_npy(tmp / "l.npy", shape);
    EXPECT_EQ(shape, golden_shape);
    ASSERT_EQ(got.size(), golden.size());
    double diff = 0, scale = 0;
    for (size_t i = 0; i < got.size(); ++i) {
      diff = std::max(diff, std::fabs(double(got[i]) - golden[i]));
      scale = std::max(scale, std::fabs(double(golden[i])));
    }
    EXPECT_LE(diff / scale, 1e-4) << mode;
  }
  EXPECT_FALSE(fs::exists(tmp / "l.npy.tmp"));
}

TEST(LogitsCommand, BadInputIsAClearErrorWithStatus1) {
  test::TempDir tmp;
  const std::string model = " --model " + (kCase / "model").string();
  const std::string out = " --out " + (tmp / "x.npy").string();
  struct Case {
    std::string args, expect;
  } cases[] = {
      {"logits" + model + " --ids 1,two" + out, "'two' is not a token id"},
      {"logits" + model + " --ids 1,2," + out, "'' is not a token id"},
      {"logits" + model + " --ids +5" + out, "'+5' is not a token id"},
      {"logits" + model + " --ids 1,,2" + out, "'' is not a token id"},
      {"logits" + model + " --ids 1,2,999" + out, "token id 999 is outside the vocabulary [0, 256)"},
      {"logits" + model + out, "--ids is required"},
      {"logits" + model + " --ids 1", "--out is required"},
      {"logits --model " + (tmp / "missing").string() + " --ids 1" + out, "missing: no such model directory"},
      {"logits" + model + " --ids 1 --out " + (tmp / "no/such/dir/x.npy").string(), "x.npy"},
      {"info --model " + tmp.path().string(), "no config.json"},
      {"info --bogus", "unknown option --bogus"},
  };
  for (const Case& c : cases) {
    CommandResult r = run(c.args);
    EXPECT_EQ(r.status, 1) << c.args;
    EXPECT_NE(r.err.find(c.expect), std::string::npos) << c.args << " -> " << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;  // one line
  }
  EXPECT_FALSE(fs::exists(tmp / "x.npy"));

  // --out never replaces what is not a regular file (a FIFO here), and plants no temporary file.
  ASSERT_EQ(::mkfifo((tmp / "fifo.npy").c_str(), 0600), 0);
  CommandResult r = run("logits" + model + " --ids 1 --out " + (tmp / "fifo.npy").string());
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("fifo.npy is a FIFO, not a regular file"), std::string::npos) << r.err;
  EXPECT_TRUE(fs::is_fifo(tmp / "fifo.npy"));
  size_t entries = 0;
  for (const auto& entry : fs::directory_iterator(tmp.path())) entries += entry.path() != tmp / "err" && entry.path() != tmp / "out";
  EXPECT_EQ(entries, 1u);
}

// DSCHAT_SIMD names a level or is a mistake: a bogus value is an error (it used to be ignored), the
// three levels run.
TEST(SimdOverride, UnknownLevelIsAnErrorKnownLevelsRun) {
  const std::string info = "info --model " + (kCase / "model").string();
  CommandResult bogus = run(info, "DSCHAT_SIMD=bogus");
  EXPECT_EQ(bogus.status, 2);
  EXPECT_NE(bogus.err.find("DSCHAT_SIMD=bogus is not an instruction-set level (scalar, avx2 or avx512)"),
            std::string::npos)
      << bogus.err;
  for (const char* level : {"scalar", "avx2", "avx512"}) {
    EXPECT_EQ(run(info, std::string("DSCHAT_SIMD=") + level).status, 0) << level;
  }
}

// `dschat <&-`: with stdin closed the model's file used to become fd 0 and be read as chat input
// (junk prompts answered and autosaved). Now stdin is /dev/null: end of input, nothing saved.
TEST(ClosedStandardFds, StdinClosedIsEndOfInputNotTheModelFile) {
  test::TempDir tmp;
  CommandResult r = run("--model " + (fs::path(DSCHAT_SOURCE_DIR) / "assets" / "model").string(),
                        "XDG_DATA_HOME=" + tmp.path().string() + " DSCHAT_NOHISTORY=1", "<&- >/dev/null");
  EXPECT_EQ(r.status, 0) << r.err;
  size_t saved = 0;
  if (fs::is_directory(tmp / "dschat" / "conversations")) {
    for (const auto& entry : fs::directory_iterator(tmp / "dschat" / "conversations")) {
      saved += entry.path().extension() == ".json";
    }
  }
  EXPECT_EQ(saved, 0u) << "messages were read from a file opened as fd 0";
}

// Output that did not reach its destination is an error: stdout on /dev/full, or closed (both
// used to exit 0 with the output lost).
TEST(LostOutput, FullOrClosedStdoutIsStatus1) {
  const std::string info = "info --model " + (kCase / "model").string();
  for (const auto& [streams, message] : std::vector<std::pair<std::string, std::string>>{
           {">/dev/full", "dschat info: writing the output failed: No space left on device"},
           {">&-", "dschat info: standard output is closed: the output was lost"}}) {
    CommandResult r = run(info, "", streams);
    EXPECT_EQ(r.status, 1) << streams;
    EXPECT_NE(r.err.find(message), std::string::npos) << streams << " -> " << r.err;
  }
  EXPECT_EQ(run(info).status, 0);
}

TEST(InfoCommand, DescribesTheModel) {
  CommandResult r = run("info --model " + (kCase / "model").string());
  ASSERT_EQ(r.status, 0) << r.err;
  for (const char* s : {"deepseek_v3", "q_lora_rank 48", "parameters: 127,984 total", "active per token", "F32",
                        "latent KV cache", "warnings: none"}) {
    EXPECT_NE(r.out.find(s), std::string::npos) << s << "\n" << r.out;
  }
}

// Strings from a hostile config.json (an OSC title change, a bell, a one-byte C1 CSI) reach the
// terminal as visible escapes, never as control characters, from info and from an error.
TEST(TerminalSafeOutput, ControlCharactersFromFilesAreShownEscaped) {
  test::TempDir tmp;
  fs::copy(kCase / "model", tmp / "model", fs::copy_options::recursive);
  nlohmann::json config = nlohmann::json::parse(std::ifstream(tmp / "model" / "config.json"));
  config["model_type"] = "deepseek_v3\x1b]0;pwned\x07\xc2\x9b" "2J";
  std::ofstream(tmp / "model" / "config.json") << config.dump();
  for (const std::string& command : {std::string("info --model "), std::string("logits --ids 1 --out /nonexistent/x --model ")}) {
    CommandResult r = run(command + (tmp / "model").string());
    const std::string all = r.out + r.err;
    EXPECT_EQ(all.find('\x1b'), std::string::npos) << command << all;
    EXPECT_EQ(all.find('\x07'), std::string::npos) << command << all;
    EXPECT_EQ(all.find("\xc2\x9b"), std::string::npos) << command << all;
  }
  CommandResult bad = run("info --model " + (tmp / "nonexistent\x1b[2J").string());
  EXPECT_EQ(bad.status, 1);
  EXPECT_EQ(bad.err.find('\x1b'), std::string::npos) << bad.err;
  EXPECT_NE(bad.err.find("nonexistent\\x1b[2J"), std::string::npos) << bad.err;
}

}  // namespace
}  // namespace dschat
