// The user's stop strings (`/set parameter stop`, `dschat run --stop`): text that ends a reply
// where it appears and is never shown. Locally they join the chat template's own stop strings;
// a remote engine gets them as the request's `stop` field (OpenAI's limits: 4 strings of 1 to 256
// bytes, which dschat serve enforces too) and the client also stops where one appears, for a
// server that ignores the field.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace dschat {

inline constexpr std::size_t kMaxStopStrings = 4;
inline constexpr std::size_t kMaxStopStringBytes = 256;

// One stop string as typed: `\n`, `\t`, `\s` (a space) and `\\` are escapes. Throws
// std::invalid_argument naming what is wrong (an unknown escape, empty, over 256 bytes).
std::string parse_stop_string(std::string_view typed);

// `/set parameter stop S1 [S2 ...]`: words separated by spaces, each a stop string as above;
// "off" alone is none. Throws std::invalid_argument (more than 4, or a bad one).
std::vector<std::string> parse_stop_list(std::string_view words);

// For /show parameters: the strings as they would be typed ("off" when none).
std::string stop_list_text(const std::vector<std::string>& stop);

}  // namespace dschat
