// `dschat run --remote` and `dschat --remote` as a user runs them (the built binary) against an
// in-process fake OpenAI server (tests/app/backend/fake_openai_server.h): the options of a local
// model are refused with a message naming them before anything is sent, and --stop goes out as
// the request's `stop` and ends the printed reply even when the server ignores it.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "tests/app/backend/fake_openai_server.h"
#include "tests/app/cli/command_runner.h"

namespace dschat {
namespace {

using fake::chunk_event;
using fake::FakeOpenAiServer;

TEST(RemoteCommand, LocalModelOptionsAreRefusedWithRemote) {
  FakeOpenAiServer server;
  const std::string remote = "--remote " + server.url();
  struct Case {
    std::string args, named;
  };
  const Case cases[] = {{"--no-mtp", "--no-mtp"},           {"--draft 1", "--draft"},
                        {"--draft-vocab 100", "--draft-vocab"}, {"--cache-type bf16", "--cache-type"},
                        {"-t 2", "--threads"},                 {"--threads 2", "--threads"},
                        {"--ctx 64", "--ctx"},                 {"--template plain", "--template"},
                        {"--model /tmp", "--model"}};
  for (const Case& c : cases) {
    for (const std::string& command : {"run " + remote + " " + c.args + " hi", remote + " " + c.args}) {
      test::CommandResult r = test::run(command, "", "</dev/null >/dev/null");
      EXPECT_EQ(r.status, 2) << command << ": " << r.err;
      EXPECT_NE(r.err.find(c.named + " is for a local model; it does not go with --remote"), std::string::npos)
          << command << ": " << r.err;
    }
  }
  // Not an option of the chat or of run at all (it is serve's, bench's, logits'):
  test::CommandResult typed = test::run("run " + remote + " --type q8_0 hi");
  EXPECT_EQ(typed.status, 2);
  EXPECT_NE(typed.err.find("unknown option --type"), std::string::npos) << typed.err;
  EXPECT_TRUE(server.received().empty()) << "a refused command still talked to the server";
}

TEST(RemoteCommand, StopIsSentAndEndsTheReplyWhenTheServerIgnoresIt) {
  FakeOpenAiServer server;  // streams past the stop string, as a server without `stop` would
  server.events = {chunk_event(R"({"role":"assistant","content":""})"), chunk_event(R"({"content":"Hello wor"})"),
                   chunk_event(R"({"content":"ld\n\nUser: more"})"), chunk_event(R"({"content":" text"})"),
                   chunk_event("{}", R"("stop")")};
  test::CommandResult r = test::run("run --remote " + server.url() + " --stop '\\n\\nUser:' hi");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "Hello world\n");
  auto received = server.received();
  ASSERT_EQ(received.size(), 2u);
  nlohmann::json body = nlohmann::json::parse(received[1].body);
  EXPECT_EQ(body["stop"], nlohmann::json::array({"\n\nUser:"}));

  test::CommandResult bad = test::run("run --remote " + server.url() + " --stop 'a\\qb' hi");
  EXPECT_EQ(bad.status, 2);
  EXPECT_NE(bad.err.find("unknown escape \\q"), std::string::npos) << bad.err;
}

}  // namespace
}  // namespace dschat
