#include "app/cli/terminal_safe_text.h"

#include <unicode/utf8.h>

#include <cstdio>

namespace dschat {
namespace {

void append_escape(std::string& out, const char* format, unsigned value) {
  char buffer[16];
  std::snprintf(buffer, sizeof buffer, format, value);
  out += buffer;
}

}  // namespace

std::string terminal_safe_text(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  const auto* bytes = reinterpret_cast<const uint8_t*>(text.data());
  const int32_t length = static_cast<int32_t>(text.size());
  for (int32_t i = 0; i < length;) {
    const int32_t start = i;
    UChar32 c;
    U8_NEXT(bytes, i, length, c);
    if (c < 0) {  // not UTF-8: every byte of the bad sequence shown as \xNN
      for (int32_t j = start; j < i; ++j) append_escape(out, "\\x%02x", bytes[j]);
    } else if ((c < 0x20 && c != '\n' && c != '\t') || c == 0x7f) {
      append_escape(out, "\\x%02x", static_cast<unsigned>(c));
    } else if (c >= 0x80 && c <= 0x9f) {
      append_escape(out, "\\u%04x", static_cast<unsigned>(c));
    } else {
      out.append(text.substr(static_cast<size_t>(start), static_cast<size_t>(i - start)));
    }
  }
  return out;
}

}  // namespace dschat
