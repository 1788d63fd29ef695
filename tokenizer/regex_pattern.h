// Regular expressions of tokenizer.json pre-tokenizers, run by ICU with the semantics of the
// reference implementations (Python `regex`, Oniguruma in Hugging Face tokenizers, Rust
// fancy-regex in tiktoken). The one difference that matters for tokenizers is `\s`: there it is
// the Unicode White_Space property (U+0085 yes, U+FEFF and U+200B no), while ICU's own `\s` is
// [\t\n\f\r\p{Z}]. translate_pattern rewrites the pattern for ICU.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace dschat {

// The pattern rewritten for ICU: `\s`/`\S` become \p{White_Space}/\P{White_Space} (inside and
// outside character classes), and characters that are literal inside a Python class but
// operators inside an ICU class (`[`, `&&`, `--`) are escaped. Throws TokenizerError naming
// `where` if the pattern is malformed.
std::string translate_pattern(std::string_view pattern, const std::string& where);

struct RegexMatch {
  std::size_t begin, end;  // byte offsets into the UTF-8 text
};

class CompiledRegex {
 public:
  // `pattern` is in the reference syntax; `where` names it in error messages.
  CompiledRegex(std::string_view pattern, const std::string& where);
  CompiledRegex(CompiledRegex&&) noexcept;
  ~CompiledRegex();

  // All non-overlapping leftmost matches in `utf8` (which must be valid UTF-8), in order, as
  // successive regex searches find them (an empty match advances by one character).
  // The search's backtracking is bounded in proportion to the text's length (kBacktrackBudget
  // in regex_pattern.cpp): a pattern that backtracks catastrophically on this text, such as
  // `(a+)+$` on "aaa...ab", is a TokenizerError naming the pattern and the text's length,
  // after a few seconds rather than minutes or hours.
  std::vector<RegexMatch> find_all(std::string_view utf8) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace dschat
