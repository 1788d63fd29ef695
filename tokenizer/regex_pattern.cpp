#include "tokenizer/regex_pattern.h"

#include <unicode/regex.h>
#include <unicode/unistr.h>

#include <algorithm>
#include <cstdint>
#include <limits>
#include <mutex>

#include "tokenizer/tokenizer.h"

namespace dschat {

namespace {

// The backtracking a find_all may spend, in ICU's "time" units (10,000 saved backtracking
// states each; a few tenths of a millisecond): a fixed allowance plus one unit per this many
// UTF-16 code units of text, i.e. 50 states per character. The GPT-2 and DeepSeek-V3 patterns
// save at most about 12 states per character of ordinary text (measured on 10 MB of text with
// a match every two characters), so they stay far inside it; a 2 MB text that backtracks
// quadratically stops in a few seconds.
constexpr int64_t kBacktrackBaseUnits = 1000;
constexpr int64_t kCharsPerBacktrackUnit = 200;

int32_t backtrack_budget(int32_t text_length16) {
  int64_t units = kBacktrackBaseUnits + text_length16 / kCharsPerBacktrackUnit;
  return static_cast<int32_t>(std::min<int64_t>(units, std::numeric_limits<int32_t>::max()));
}

// The pattern as error messages quote it: at most 60 bytes, not cut inside a UTF-8 sequence.
std::string pattern_for_message(std::string_view pattern) {
  constexpr std::size_t kMax = 60;
  if (pattern.size() <= kMax) return std::string(pattern);
  std::size_t cut = kMax;
  while (cut > 0 && (static_cast<unsigned char>(pattern[cut]) & 0xC0) == 0x80) --cut;
  return std::string(pattern.substr(0, cut)) + "...";
}

constexpr std::string_view kWhiteSpace = "\\p{White_Space}";
constexpr std::string_view kNotWhiteSpace = "\\P{White_Space}";

// Length of the escape sequence starting at pattern[pos] == '\\', and whether it stands for a
// single character (so that it can be a range end inside a class).
std::size_t escape_length(std::string_view p, std::size_t pos, bool* single_char, const std::string& where) {
  if (pos + 1 >= p.size()) throw TokenizerError(where + ": regex pattern ends with a lone backslash");
  char c = p[pos + 1];
  auto braced = [&](std::size_t from) -> std::size_t {
    std::size_t close = p.find('}', from);
    if (close == std::string_view::npos) throw TokenizerError(where + ": unterminated \\" + std::string(1, c) + "{ in regex pattern");
    return close + 1 - pos;
  };
  *single_char = true;
  switch (c) {
    case 'p': case 'P':
      *single_char = false;
      return pos + 2 < p.size() && p[pos + 2] == '{' ? braced(pos + 2) : 3;
    case 'd': case 'D': case 'w': case 'W': case 's': case 'S': case 'h': case 'H': case 'v': case 'V':
      *single_char = c == 'v';  // \v is the vertical tab in Python
      return 2;
    case 'x':
      if (pos + 2 < p.size() && p[pos + 2] == '{') return braced(pos + 2);
      return 4;
    case 'u': return 6;
    case 'U': return 10;
    case 'N':
      if (pos + 2 < p.size() && p[pos + 2] == '{') return braced(pos + 2);
      return 2;
    default: return 2;
  }
}

}  // namespace

std::string translate_pattern(std::string_view p, const std::string& where) {
  std::string out;
  out.reserve(p.size() + 32);
  bool in_class = false;
  bool class_start = false;         // just after '[' or '[^': a ']' here is literal
  bool previous_single = false;     // the last class item was a single character
  for (std::size_t pos = 0; pos < p.size();) {
    char c = p[pos];
    if (c == '\\') {
      bool single = false;
      std::size_t n = escape_length(p, pos, &single, where);
      if (pos + n > p.size()) throw TokenizerError(where + ": truncated escape in regex pattern");
      char e = p[pos + 1];
      if (e == 's') out += kWhiteSpace;
      else if (e == 'S') out += kNotWhiteSpace;
      else out.append(p.substr(pos, n));
      pos += n;
      previous_single = in_class && single;
      class_start = false;
      continue;
    }
    if (!in_class) {
      if (c == '[') {
        in_class = true;
        class_start = true;
        previous_single = false;
        out += '[';
        if (pos + 1 < p.size() && p[pos + 1] == '^') {
          out += '^';
          ++pos;
        }
      } else if (c == ']') {
        out += "\\]";  // a stray ']' is literal in Python
      } else {
        out += c;
      }
      ++pos;
      continue;
    }
    // Inside a character class.
    if (c == ']' && !class_start) {
      in_class = false;
      out += ']';
      ++pos;
      continue;
    }
    if (c == '-' && previous_single && pos + 1 < p.size() && p[pos + 1] != ']') {
      out += '-';  // a range; the next item is its end
      previous_single = false;
      ++pos;
      // Copy the range end as one item.
      if (p[pos] == '\\') {
        bool single = false;
        std::size_t n = escape_length(p, pos, &single, where);
        out.append(p.substr(pos, n));
        pos += n;
      } else {
        std::size_t n = 1;
        while (pos + n < p.size() && (static_cast<unsigned char>(p[pos + n]) & 0xC0) == 0x80) ++n;
        std::string_view item = p.substr(pos, n);
        if (item == "[" || item == "&" || item == "-") out += '\\';
        out.append(item);
        pos += n;
      }
      class_start = false;
      continue;
    }
    if (c == '[' || c == '&' || c == '-' || c == ']' || c == '$' || c == '{' || c == '}' ||
        (c == ':' && class_start)) {
      out += '\\';  // literal in a Python class, special (or a set operator) in ICU
    }
    // Copy one whole UTF-8 character.
    std::size_t n = 1;
    while (pos + n < p.size() && (static_cast<unsigned char>(p[pos + n]) & 0xC0) == 0x80) ++n;
    out.append(p.substr(pos, n));
    pos += n;
    previous_single = true;
    class_start = false;
  }
  if (in_class) throw TokenizerError(where + ": unterminated character class in regex pattern");
  return out;
}

struct CompiledRegex::Impl {
  std::unique_ptr<icu::RegexPattern> pattern;
  std::string where;          // names the pattern in errors
  std::string quoted_source;  // the pattern as written (cut), for errors
  // RegexMatcher objects are costly to create and not thread-safe: each search borrows an idle
  // one (or makes one) and gives it back. Declared after `pattern`, so destroyed before it.
  std::mutex mutex;
  std::vector<std::unique_ptr<icu::RegexMatcher>> idle;

  std::unique_ptr<icu::RegexMatcher> borrow() {
    {
      std::lock_guard lock(mutex);
      if (!idle.empty()) {
        auto matcher = std::move(idle.back());
        idle.pop_back();
        return matcher;
      }
    }
    UErrorCode status = U_ZERO_ERROR;
    std::unique_ptr<icu::RegexMatcher> matcher(pattern->matcher(status));
    if (U_FAILURE(status)) throw TokenizerError(std::string("ICU cannot create a regex matcher: ") + u_errorName(status));
    // No limit on the backtracking stack (ICU's default is 8 MB): a long run of one character
    // class in pasted text must tokenize, not fail.
    matcher->setStackLimit(0, status);
    return matcher;
  }

  void give_back(std::unique_ptr<icu::RegexMatcher> matcher) {
    std::lock_guard lock(mutex);
    idle.push_back(std::move(matcher));
  }
};

CompiledRegex::CompiledRegex(std::string_view pattern, const std::string& where) : impl_(std::make_unique<Impl>()) {
  impl_->where = where;
  impl_->quoted_source = pattern_for_message(pattern);
  std::string translated = translate_pattern(pattern, where);
  UErrorCode status = U_ZERO_ERROR;
  UParseError parse_error{};
  impl_->pattern.reset(icu::RegexPattern::compile(icu::UnicodeString::fromUTF8(translated), 0, parse_error, status));
  if (U_FAILURE(status)) {
    throw TokenizerError(where + ": regex pattern \"" + std::string(pattern) + "\" is not supported (ICU: " +
                         u_errorName(status) + " at offset " + std::to_string(parse_error.offset) + " of \"" +
                         translated + "\")");
  }
}

CompiledRegex::CompiledRegex(CompiledRegex&&) noexcept = default;
CompiledRegex::~CompiledRegex() = default;

std::vector<RegexMatch> CompiledRegex::find_all(std::string_view utf8) const {
  std::vector<RegexMatch> matches;
  if (utf8.empty()) return matches;
  icu::UnicodeString text = icu::UnicodeString::fromUTF8(icu::StringPiece(utf8.data(), static_cast<int32_t>(utf8.size())));
  std::unique_ptr<icu::RegexMatcher> borrowed = impl_->borrow();
  icu::RegexMatcher& matcher = *borrowed;
  matcher.reset(text);  // also restarts ICU's step count
  UErrorCode status = U_ZERO_ERROR;
  matcher.setTimeLimit(backtrack_budget(text.length()), status);
  // Walk the UTF-8 text alongside the UTF-16 offsets ICU reports.
  std::size_t pos8 = 0;
  int32_t pos16 = 0;
  auto to_utf8 = [&](int32_t target16) {
    while (pos16 < target16) {
      auto lead = static_cast<unsigned char>(utf8[pos8]);
      std::size_t n = lead < 0x80 ? 1 : lead < 0xE0 ? 2 : lead < 0xF0 ? 3 : 4;
      pos8 += n;
      pos16 += n == 4 ? 2 : 1;
    }
    return pos8;
  };
  while (matcher.find(status) && U_SUCCESS(status)) {
    int32_t start = matcher.start(status);
    int32_t end = matcher.end(status);
    std::size_t begin8 = to_utf8(start);
    std::size_t end8 = to_utf8(end);
    matches.push_back({begin8, end8});
  }
  matcher.reset(icu::UnicodeString());  // drop the reference to `text`
  impl_->give_back(std::move(borrowed));
  if (status == U_REGEX_TIME_OUT) {
    throw TokenizerError(impl_->where + ": regex pattern \"" + impl_->quoted_source +
                         "\" exceeded its backtracking limit on a text of " + std::to_string(utf8.size()) +
                         " bytes (catastrophic backtracking)");
  }
  if (U_FAILURE(status)) throw TokenizerError(std::string("ICU regex search failed: ") + u_errorName(status));
  return matches;
}

}  // namespace dschat
