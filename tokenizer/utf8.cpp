#include "tokenizer/utf8.h"

namespace dschat::utf8 {

namespace {

// Allowed range of the second byte for each lead byte (Unicode Table 3-7); later bytes are
// always 80..BF.
struct LeadInfo {
  std::size_t length;
  unsigned char second_low, second_high;
};

std::optional<LeadInfo> lead_info(unsigned char lead) {
  if (lead < 0x80) return LeadInfo{1, 0, 0};
  if (lead >= 0xC2 && lead <= 0xDF) return LeadInfo{2, 0x80, 0xBF};
  if (lead == 0xE0) return LeadInfo{3, 0xA0, 0xBF};
  if ((lead >= 0xE1 && lead <= 0xEC) || lead == 0xEE || lead == 0xEF) return LeadInfo{3, 0x80, 0xBF};
  if (lead == 0xED) return LeadInfo{3, 0x80, 0x9F};  // no surrogates
  if (lead == 0xF0) return LeadInfo{4, 0x90, 0xBF};
  if (lead >= 0xF1 && lead <= 0xF3) return LeadInfo{4, 0x80, 0xBF};
  if (lead == 0xF4) return LeadInfo{4, 0x80, 0x8F};  // <= U+10FFFF
  return std::nullopt;
}

// How many bytes from `pos` match a prefix of a well-formed sequence (the "maximal subpart").
std::size_t valid_prefix_length(std::string_view text, std::size_t pos, std::size_t* full_length) {
  auto info = lead_info(static_cast<unsigned char>(text[pos]));
  *full_length = info ? info->length : 0;
  if (!info) return 0;
  std::size_t n = 1;
  while (n < info->length && pos + n < text.size()) {
    auto byte = static_cast<unsigned char>(text[pos + n]);
    bool ok = n == 1 ? byte >= info->second_low && byte <= info->second_high : byte >= 0x80 && byte <= 0xBF;
    if (!ok) break;
    ++n;
  }
  return n;
}

}  // namespace

std::size_t sequence_length(std::string_view text, std::size_t pos, bool* incomplete) {
  std::size_t full = 0;
  std::size_t n = valid_prefix_length(text, pos, &full);
  if (incomplete) *incomplete = n > 0 && n < full && pos + n == text.size();
  return n == full ? n : 0;
}

std::optional<std::size_t> find_invalid(std::string_view text) {
  std::size_t pos = 0;
  while (pos < text.size()) {
    if (static_cast<unsigned char>(text[pos]) < 0x80) {
      ++pos;
      continue;
    }
    std::size_t n = sequence_length(text, pos);
    if (n == 0) return pos;
    pos += n;
  }
  return std::nullopt;
}

std::string to_valid_lossy(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t full = 0;
    std::size_t n = valid_prefix_length(text, pos, &full);
    if (n > 0 && n == full) {
      out.append(text.substr(pos, n));
      pos += n;
    } else {
      out.append("\xEF\xBF\xBD");
      pos += n > 0 ? n : 1;
    }
  }
  return out;
}

std::size_t incomplete_tail_length(std::string_view text) {
  // A proper prefix is at most 3 bytes long, so its lead byte is among the last 3.
  std::size_t first = text.size() >= 3 ? text.size() - 3 : 0;
  for (std::size_t pos = first; pos < text.size(); ++pos) {
    auto byte = static_cast<unsigned char>(text[pos]);
    if (byte >= 0x80 && byte <= 0xBF) continue;  // continuation byte, not a lead
    bool incomplete = false;
    sequence_length(text, pos, &incomplete);
    if (incomplete) return text.size() - pos;
  }
  return 0;
}

void append_code_point(std::string& out, char32_t cp) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

}  // namespace dschat::utf8
