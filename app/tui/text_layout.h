// Terminal text layout: display widths of UTF-8 text and soft wrapping, both from ICU.
//
// Width rules (the ones terminals follow, UAX #11 and UTS #51):
//  - a code point of East Asian Width W or F, or with Emoji_Presentation, takes 2 columns;
//  - combining marks (Mn, Me), format characters (Cf, e.g. ZWJ), variation selectors and
//    Hangul medial/final jamo take 0; everything else printable takes 1;
//  - a grapheme cluster (UAX #29: base + combining marks, ZWJ emoji sequences, flags) takes the
//    width of its first code point, or 2 when it asks for emoji presentation (U+FE0F) or is a
//    ZWJ sequence / flag; a cluster is never split across lines.
// Wrapping uses ICU's line-break rules (UAX #14); a run longer than the width breaks between
// grapheme clusters. Callers keep the text and re-wrap it whenever the width changes.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace dschat {

// Columns one code point takes on its own (0, 1 or 2; control characters count as 0).
int codepoint_width(char32_t c);

// Columns a grapheme cluster (given as UTF-8) takes.
int cluster_width(std::string_view cluster);

// The grapheme clusters of `utf8`, in order (views into `utf8`). Invalid UTF-8 bytes become
// clusters of their own.
std::vector<std::string_view> grapheme_clusters(std::string_view utf8);

// Columns the whole string takes (sum over its grapheme clusters; '\n' counts 0).
int display_width(std::string_view utf8);

// Makes text safe to draw: tabs become spaces (up to the next multiple of 4 columns from the
// start of the line), other C0/C1 controls and invalid UTF-8 become U+FFFD, '\r' is dropped,
// '\n' is kept.
std::string sanitize_for_display(std::string_view utf8);

// Soft-wraps `utf8` into lines of at most `width` columns (width >= 1). '\n' forces a break;
// an empty paragraph gives an empty line. Spaces at a soft break are dropped. The result has at
// least one line.
std::vector<std::string> wrap_text(std::string_view utf8, int width);

// The longest prefix of `utf8` (whole clusters) that fits in `width` columns.
std::string_view fit_prefix(std::string_view utf8, int width);

}  // namespace dschat
