// GPT-2's reversible byte <-> character mapping (OpenAI gpt-2 encoder.py, bytes_to_unicode):
// printable Latin-1 bytes map to themselves, the other 68 bytes to U+0100.. in byte order, so
// every byte string becomes a printable string the vocabulary can hold ("Ġ" is the space).
#pragma once

#include <array>
#include <optional>
#include <string>
#include <string_view>

namespace dschat::byte_level {

// The character byte `b` stands for, as UTF-8.
const std::string& char_for_byte(unsigned char b);

// Maps every byte of `bytes` to its character (the result is UTF-8).
std::string encode(std::string_view bytes);
// The same, appended to `out`.
void encode_append(std::string_view bytes, std::string& out);

// The bytes that the characters of `text` stand for; nullopt if some character is not one of
// the 256 mapped characters.
std::optional<std::string> decode(std::string_view text);

}  // namespace dschat::byte_level
