#include "tokenizer/byte_level.h"

#include "tokenizer/utf8.h"

namespace dschat::byte_level {

namespace {

struct Tables {
  std::array<std::string, 256> char_of_byte;
  std::array<int, 324> byte_of_code_point;  // code points used are < 0x144; -1 = not mapped

  Tables() {
    byte_of_code_point.fill(-1);
    int next_extra = 0;
    for (int b = 0; b < 256; ++b) {
      bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
      char32_t cp = printable ? static_cast<char32_t>(b) : static_cast<char32_t>(256 + next_extra++);
      utf8::append_code_point(char_of_byte[b], cp);
      byte_of_code_point[cp] = b;
    }
  }
};

const Tables& tables() {
  static const Tables instance;
  return instance;
}

}  // namespace

const std::string& char_for_byte(unsigned char b) { return tables().char_of_byte[b]; }

std::string encode(std::string_view bytes) {
  std::string out;
  encode_append(bytes, out);
  return out;
}

void encode_append(std::string_view bytes, std::string& out) {
  const auto& t = tables();
  std::size_t pos = out.size();
  out.resize(pos + bytes.size() * 2);  // every mapped character is 1 or 2 bytes
  for (char c : bytes) {
    const std::string& mapped = t.char_of_byte[static_cast<unsigned char>(c)];
    out[pos++] = mapped[0];
    if (mapped.size() == 2) out[pos++] = mapped[1];
  }
  out.resize(pos);
}

std::optional<std::string> decode(std::string_view text) {
  const auto& t = tables();
  std::string out;
  out.reserve(text.size());
  std::size_t pos = 0;
  while (pos < text.size()) {
    auto lead = static_cast<unsigned char>(text[pos]);
    char32_t cp;
    if (lead < 0x80) {
      cp = lead;
      pos += 1;
    } else if ((lead & 0xE0) == 0xC0 && pos + 1 < text.size()) {
      cp = ((lead & 0x1F) << 6) | (static_cast<unsigned char>(text[pos + 1]) & 0x3F);
      pos += 2;
    } else {
      return std::nullopt;  // 3- and 4-byte characters are never mapped
    }
    if (cp >= t.byte_of_code_point.size() || t.byte_of_code_point[cp] < 0) return std::nullopt;
    out.push_back(static_cast<char>(t.byte_of_code_point[cp]));
  }
  return out;
}

}  // namespace dschat::byte_level
