// UTF-8 helpers: validation with the offset of the first bad byte, and the lossy conversion
// used by decoding (each maximal invalid subpart becomes one U+FFFD, Unicode 15 §3.9 "U+FFFD
// Substitution of Maximal Subparts", the policy of Rust's String::from_utf8_lossy that
// Hugging Face tokenizers use).
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace dschat::utf8 {

// Length of the well-formed sequence starting at text[pos] (1..4), or 0 if the bytes there are
// not a complete well-formed sequence. `incomplete` is set when they are a proper prefix of one
// that the end of `text` cut short.
std::size_t sequence_length(std::string_view text, std::size_t pos, bool* incomplete = nullptr);

// Offset of the first byte that is not part of a well-formed UTF-8 sequence, or nullopt.
std::optional<std::size_t> find_invalid(std::string_view text);

// `text` with every maximal invalid subpart replaced by U+FFFD.
std::string to_valid_lossy(std::string_view text);

// Number of bytes at the end of `text` that form a proper prefix of a well-formed sequence
// (0..3): a streaming decoder holds these back until more bytes arrive.
std::size_t incomplete_tail_length(std::string_view text);

// Appends the UTF-8 encoding of `code_point` (must be a scalar value).
void append_code_point(std::string& out, char32_t code_point);

}  // namespace dschat::utf8
