#include "app/cli/command_line.h"

#include <gtest/gtest.h>

using dschat::CommandLine;
using dschat::CommandLineError;

TEST(CommandLine, ParsesValuesFlagsAliasesAndPositionals) {
  CommandLine cl({"--model", "m", "--n-predict=5", "-n", "7", "--json", "extra", "-", "--temp=0.5"},
                 {"--model", "--n-predict", "--temp"}, {"--json"}, {{"-n", "--n-predict"}});
  EXPECT_EQ(cl.get_or("--model", ""), "m");
  EXPECT_EQ(cl.get_int("--n-predict", 0, 0, 100), 7);  // the last one wins
  EXPECT_TRUE(cl.has("--json"));
  EXPECT_DOUBLE_EQ(cl.get_double("--temp", 1.0, 0.0, 2.0), 0.5);
  ASSERT_EQ(cl.positional().size(), 2u);  // "extra" and "-" (stdin)
  EXPECT_EQ(cl.positional()[1], "-");
  EXPECT_THROW(CommandLine({"-n=5"}, {"--n-predict"}, {}, {{"-n", "--n-predict"}}), CommandLineError);
}

TEST(CommandLine, RejectsUnknownOptionsMissingValuesAndBadNumbers) {
  EXPECT_THROW(CommandLine({"--nope"}, {}, {}), CommandLineError);
  EXPECT_THROW(CommandLine({"--model"}, {"--model"}, {}), CommandLineError);
  CommandLine cl({"--n", "12x", "--t", "5"}, {"--n", "--t"}, {});
  EXPECT_THROW(cl.get_int("--n", 0, 0, 100), CommandLineError);
  EXPECT_THROW(cl.get_int("--t", 0, 0, 4), CommandLineError);
  EXPECT_EQ(cl.get_int("--missing", 3, 0, 4), 3);
}

TEST(CommandLine, ErrorNamesTheOption) {
  try {
    CommandLine({"--bogus"}, {}, {});
    FAIL();
  } catch (const CommandLineError& e) {
    EXPECT_NE(std::string(e.what()).find("--bogus"), std::string::npos);
  }
}
