// Text from files (model_type, dtype, roles, paths, file contents quoted in errors) made safe for
// a terminal before a non-TUI command prints it: control characters (C0 but newline and tab,
// DEL, C1 such as the one-byte CSI) and bytes that are not UTF-8 become visible escapes (\x1b,
// \u009b), so a hostile file cannot retitle, clear or reprogram the user's terminal.
#pragma once

#include <string>
#include <string_view>

namespace dschat {

std::string terminal_safe_text(std::string_view text);

}  // namespace dschat
