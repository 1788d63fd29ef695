// The user's stop strings as typed (/set parameter stop, dschat run --stop): escapes, limits and
// the text /show parameters gives back.
#include <gtest/gtest.h>

#include <stdexcept>

#include "app/backend/stop_strings.h"

namespace dschat {
namespace {

TEST(StopStrings, EscapesAreDecoded) {
  EXPECT_EQ(parse_stop_string("###"), "###");
  EXPECT_EQ(parse_stop_string("\\n\\nUser:"), "\n\nUser:");
  EXPECT_EQ(parse_stop_string("a\\sb\\tc\\\\d"), "a b\tc\\d");
  EXPECT_THROW(parse_stop_string("x\\q"), std::invalid_argument);
  EXPECT_THROW(parse_stop_string("x\\"), std::invalid_argument);
  EXPECT_THROW(parse_stop_string(""), std::invalid_argument);
  EXPECT_NO_THROW(parse_stop_string(std::string(256, 'a')));
  EXPECT_THROW(parse_stop_string(std::string(257, 'a')), std::invalid_argument);
}

TEST(StopStrings, AListOfUpToFourOrOff) {
  EXPECT_EQ(parse_stop_list("END  \\n\\n"), (std::vector<std::string>{"END", "\n\n"}));
  EXPECT_TRUE(parse_stop_list("off").empty());
  EXPECT_EQ(parse_stop_list("a b c d").size(), 4u);
  try {
    parse_stop_list("a b c d e");
    FAIL();
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("at most 4"), std::string::npos) << e.what();
  }
  EXPECT_THROW(parse_stop_list("   "), std::invalid_argument);
  EXPECT_THROW(parse_stop_list("ok \\x"), std::invalid_argument);
}

TEST(StopStrings, TheTextReadsBackAsTheSameList) {
  const std::vector<std::string> stop = {"\n\nUser:", "a b", "tab\there", "back\\slash"};
  EXPECT_EQ(stop_list_text(stop), "\\n\\nUser: a\\sb tab\\there back\\\\slash");
  EXPECT_EQ(parse_stop_list(stop_list_text(stop)), stop);
  EXPECT_EQ(stop_list_text({}), "off");
}

}  // namespace
}  // namespace dschat
