// terminal_safe_text: control characters and non-UTF-8 bytes become visible escapes; text,
// newlines, tabs and every printable code point stay as they are.
#include <gtest/gtest.h>

#include "app/cli/terminal_safe_text.h"

namespace dschat {
namespace {

TEST(TerminalSafeText, PrintableTextIsUnchanged) {
  EXPECT_EQ(terminal_safe_text("deepseek_v3: tensor 'x' [2, 3]\n\tnext"), "deepseek_v3: tensor 'x' [2, 3]\n\tnext");
  EXPECT_EQ(terminal_safe_text("\xe4\xbd\xa0\xe5\xa5\xbd \xef\xbd\x9c\xf0\x9f\x99\x82"), "\xe4\xbd\xa0\xe5\xa5\xbd \xef\xbd\x9c\xf0\x9f\x99\x82");
}

TEST(TerminalSafeText, ControlCharactersBecomeEscapes) {
  EXPECT_EQ(terminal_safe_text("a\x1b]0;title\x07" "b"), "a\\x1b]0;title\\x07b");
  EXPECT_EQ(terminal_safe_text("\r\x7f"), "\\x0d\\x7f");
  EXPECT_EQ(terminal_safe_text("\xc2\x9b" "2J"), "\\u009b2J");  // C1 CSI, encoded
  EXPECT_EQ(terminal_safe_text(std::string("a\0b", 3)), "a\\x00b");
}

TEST(TerminalSafeText, BytesThatAreNotUtf8BecomeEscapes) {
  EXPECT_EQ(terminal_safe_text("\x9b" "2J"), "\\x9b2J");  // a raw C1 byte
  EXPECT_EQ(terminal_safe_text("ok\xff\xe4\xbd"), "ok\\xff\\xe4\\xbd");
}

}  // namespace
}  // namespace dschat
