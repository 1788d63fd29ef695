#include "tokenizer/pre_tokenizer.h"

#include "tokenizer/byte_level.h"
#include "tokenizer/sequence_depth.h"
#include "tokenizer/tokenizer.h"

namespace dschat {

namespace {

// GPT-2's pre-tokenization pattern (openai/gpt-2 encoder.py), used by ByteLevel with use_regex.
constexpr std::string_view kGpt2Pattern =
    R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";

std::string quote_literal(std::string_view literal) {
  std::string out;
  for (char c : literal) {
    auto u = static_cast<unsigned char>(c);
    bool plain = u >= 0x80 || (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
    if (!plain) out += '\\';
    out += c;
  }
  return out;
}

SplitBehavior parse_behavior(const nlohmann::json& value, const std::string& where) {
  if (!value.is_string()) throw TokenizerError(where + ": \"behavior\" must be a string");
  const std::string name = value.get<std::string>();
  if (name == "Removed") return SplitBehavior::kRemoved;
  if (name == "Isolated") return SplitBehavior::kIsolated;
  if (name == "MergedWithPrevious") return SplitBehavior::kMergedWithPrevious;
  if (name == "MergedWithNext") return SplitBehavior::kMergedWithNext;
  if (name == "Contiguous") return SplitBehavior::kContiguous;
  throw TokenizerError(where + ": unknown split behavior \"" + name + "\"");
}

bool get_bool(const nlohmann::json& spec, const char* key, bool fallback, const std::string& where) {
  if (!spec.contains(key) || spec[key].is_null()) return fallback;
  if (!spec[key].is_boolean()) throw TokenizerError(where + "." + key + ": expected true or false");
  return spec[key].get<bool>();
}

}  // namespace

std::vector<RegexMatch> split_by_matches(std::size_t text_size, const std::vector<RegexMatch>& matches,
                                         SplitBehavior behavior, bool invert) {
  // The whole text as consecutive (range, is_delimiter) parts (HF Pattern::find_matches).
  struct Part {
    std::size_t begin, end;
    bool is_match;
  };
  std::vector<Part> parts;
  parts.reserve(matches.size() * 2 + 1);
  std::size_t previous = 0;
  for (const RegexMatch& m : matches) {
    if (m.begin != previous) parts.push_back({previous, m.begin, invert});
    parts.push_back({m.begin, m.end, !invert});
    previous = m.end;
  }
  if (previous != text_size) parts.push_back({previous, text_size, invert});

  std::vector<RegexMatch> pieces;
  pieces.reserve(parts.size());
  switch (behavior) {
    case SplitBehavior::kIsolated:
      for (const Part& p : parts) pieces.push_back({p.begin, p.end});
      break;
    case SplitBehavior::kRemoved:
      for (const Part& p : parts) {
        if (!p.is_match) pieces.push_back({p.begin, p.end});
      }
      break;
    case SplitBehavior::kContiguous: {
      bool previous_match = false;
      for (const Part& p : parts) {
        if (p.is_match == previous_match && !pieces.empty()) pieces.back().end = p.end;
        else pieces.push_back({p.begin, p.end});
        previous_match = p.is_match;
      }
      break;
    }
    case SplitBehavior::kMergedWithPrevious: {
      bool previous_match = false;
      for (const Part& p : parts) {
        if (p.is_match && !previous_match && !pieces.empty()) pieces.back().end = p.end;
        else pieces.push_back({p.begin, p.end});
        previous_match = p.is_match;
      }
      break;
    }
    case SplitBehavior::kMergedWithNext: {
      bool previous_match = false;  // of the part after this one: parts are walked backwards
      for (auto it = parts.rbegin(); it != parts.rend(); ++it) {
        if (it->is_match && !previous_match && !pieces.empty()) pieces.back().begin = it->begin;
        else pieces.push_back({it->begin, it->end});
        previous_match = it->is_match;
      }
      std::reverse(pieces.begin(), pieces.end());
      break;
    }
  }
  std::erase_if(pieces, [](const RegexMatch& r) { return r.begin == r.end; });
  return pieces;
}

PreTokenizer PreTokenizer::from_json(const nlohmann::json& spec, const std::string& where) {
  PreTokenizer pre_tokenizer;
  pre_tokenizer.add(spec, where, 0, where);
  return pre_tokenizer;
}

void PreTokenizer::add(const nlohmann::json& spec, const std::string& where, int depth, const std::string& section) {
  if (spec.is_null()) return;
  if (!spec.is_object() || !spec.contains("type") || !spec["type"].is_string()) {
    throw TokenizerError(where + ": expected null or an object with a \"type\"");
  }
  const std::string type = spec["type"].get<std::string>();
  if (type == "Sequence") {
    check_sequence_depth(depth + 1, section);
    if (!spec.contains("pretokenizers") || !spec["pretokenizers"].is_array()) {
      throw TokenizerError(where + ": Sequence without a \"pretokenizers\" array");
    }
    for (std::size_t i = 0; i < spec["pretokenizers"].size(); ++i) {
      add(spec["pretokenizers"][i], where + ".pretokenizers[" + std::to_string(i) + "]", depth + 1, section);
    }
  } else if (type == "ByteLevel") {
    Step step{Step::Kind::kByteLevel};
    step.add_prefix_space = get_bool(spec, "add_prefix_space", true, where);
    if (get_bool(spec, "use_regex", true, where)) {
      regexes_.push_back(std::make_unique<CompiledRegex>(kGpt2Pattern, where + " (GPT-2 pattern)"));
      step.regex = regexes_.back().get();
    }
    steps_.push_back(step);
  } else if (type == "Split") {
    Step step{Step::Kind::kSplit};
    if (!spec.contains("pattern") || !spec["pattern"].is_object()) {
      throw TokenizerError(where + ": Split without a \"pattern\" object");
    }
    const auto& pattern = spec["pattern"];
    std::string regex;
    if (pattern.contains("Regex") && pattern["Regex"].is_string()) {
      regex = pattern["Regex"].get<std::string>();
    } else if (pattern.contains("String") && pattern["String"].is_string()) {
      regex = quote_literal(pattern["String"].get<std::string>());
    } else {
      throw TokenizerError(where + ".pattern: expected {\"Regex\": \"...\"} or {\"String\": \"...\"}");
    }
    if (!spec.contains("behavior")) throw TokenizerError(where + ": Split without a \"behavior\"");
    step.behavior = parse_behavior(spec["behavior"], where + ".behavior");
    step.invert = get_bool(spec, "invert", false, where);
    regexes_.push_back(std::make_unique<CompiledRegex>(regex, where + ".pattern"));
    step.regex = regexes_.back().get();
    steps_.push_back(step);
  } else if (type == "Digits") {
    // Rust char::is_numeric is the general category N.
    Step step{Step::Kind::kSplit};
    step.behavior = get_bool(spec, "individual_digits", false, where) ? SplitBehavior::kIsolated : SplitBehavior::kContiguous;
    regexes_.push_back(std::make_unique<CompiledRegex>(R"(\p{N})", where));
    step.regex = regexes_.back().get();
    steps_.push_back(step);
  } else {
    throw TokenizerError(where + ": pre-tokenizer type \"" + type +
                         "\" is not supported (supported: ByteLevel, Split, Digits, Sequence)");
  }
}

bool PreTokenizer::has_byte_level() const {
  for (const Step& step : steps_) {
    if (step.kind == Step::Kind::kByteLevel) return true;
  }
  return false;
}

void PreTokenizer::apply(const Step& step, std::string_view piece, const std::function<void(std::string_view)>& emit) {
  std::string prefixed;
  if (step.kind == Step::Kind::kByteLevel && step.add_prefix_space && piece[0] != ' ') {
    prefixed.reserve(piece.size() + 1);
    prefixed += ' ';
    prefixed += piece;
    piece = prefixed;
  }
  std::string mapped;
  auto deliver = [&](std::string_view part) {
    if (step.kind != Step::Kind::kByteLevel) return emit(part);
    mapped.clear();
    byte_level::encode_append(part, mapped);
    emit(mapped);
  };
  if (step.regex == nullptr) return deliver(piece);
  std::vector<RegexMatch> matches = step.regex->find_all(piece);
  if (step.behavior == SplitBehavior::kIsolated) {
    // Every match and every gap between matches is a piece (invert changes nothing here); the
    // common case (ByteLevel's GPT-2 split), done without building the part list.
    std::size_t previous = 0;
    for (const RegexMatch& m : matches) {
      if (m.begin > previous) deliver(piece.substr(previous, m.begin - previous));
      if (m.end > m.begin) deliver(piece.substr(m.begin, m.end - m.begin));
      previous = m.end;
    }
    if (previous < piece.size()) deliver(piece.substr(previous));
    return;
  }
  for (const RegexMatch& r : split_by_matches(piece.size(), matches, step.behavior, step.invert)) {
    deliver(piece.substr(r.begin, r.end - r.begin));
  }
}

void PreTokenizer::for_each_piece(std::string_view utf8, const std::function<void(std::string_view)>& emit) const {
  if (utf8.empty()) return;
  if (steps_.empty()) return emit(utf8);
  // Every step but the last collects its pieces; the last hands them straight to `emit`.
  std::vector<std::string> pieces;
  std::vector<std::string> next;
  auto collect = [&](std::string_view part) { next.emplace_back(part); };
  for (std::size_t s = 0; s + 1 < steps_.size(); ++s) {
    next.clear();
    if (s == 0) {
      apply(steps_[s], utf8, collect);
    } else {
      for (const std::string& piece : pieces) apply(steps_[s], piece, collect);
    }
    pieces.swap(next);
  }
  if (steps_.size() == 1) {
    apply(steps_.back(), utf8, emit);
  } else {
    for (const std::string& piece : pieces) apply(steps_.back(), piece, emit);
  }
}

std::vector<std::string> PreTokenizer::split(std::string_view utf8) const {
  std::vector<std::string> pieces;
  for_each_piece(utf8, [&](std::string_view piece) { pieces.emplace_back(piece); });
  return pieces;
}

}  // namespace dschat
