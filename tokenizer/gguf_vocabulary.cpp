#include "tokenizer/gguf_vocabulary.h"

#include <unordered_set>
#include <utility>

#include <nlohmann/json.hpp>

#include "common/file_limits.h"
#include "common/json_limits.h"
#include "common/regular_file.h"

#include "tokenizer/utf8.h"

namespace dschat {
namespace {

using nlohmann::json;

// The Split regexes of each pre-tokenizer family, in order, each splitting "Isolated", before a
// ByteLevel step without its own regex (the tokenizer.json form of these models; llama.cpp
// src/llama-vocab.cpp llm_tokenizer_bpe lists the same patterns). "gpt-2" is a plain ByteLevel
// with GPT-2's regex (below).
const std::vector<std::pair<std::string, std::vector<std::string>>>& split_families() {
  static const std::vector<std::pair<std::string, std::vector<std::string>>> families = {
    {"deepseek-v3",
     {
         "\\p{N}{1,3}",
         "[一-龥぀-ゟ゠-ヿ]+",
         "[!\"#$%&'()*+,\\-./:;<=>?@\\[\\\\\\]^_`{|}~][A-Za-z]+|[^\r\n\\p{L}\\p{P}\\p{S}]?[\\p{L}\\p{M}]+| ?[\\p{P}\\p{S}]+[\r\n]*|\\s*[\r\n]+|\\s+(?!\\S)|\\s+",
     }},
    {"deepseek-llm",
     {
         "[\r\n]",
         "\\s?[A-Za-zµÀ-ÖØ-öø-ƺƼ-ƿǄ-ʓʕ-ʯͰ-ͳͶͷͻ-ͽͿΆΈ-ΊΌΎ-ΡΣ-ϵϷ-ҁҊ-ԯԱ-ՖႠ-ჅᎠ-Ᏽᏸ-ᏽᲐ-ᲺᲽ-Ჿᴀ-ᴫᵫ-ᵷᵹ-ᶚḀ-ἕἘ-Ἕἠ-ὅὈ-Ὅὐ-ὗὙὛὝὟ-ώᾀ-ᾴᾶ-ᾼιῂ-ῄῆ-ῌῐ-ΐῖ-Ίῠ-Ῥῲ-ῴῶ-ῼℂℇℊ-ℓℕℙ-ℝℤΩℨK-ℭℯ-ℴℹℼ-ℿⅅ-ⅉⅎↃↄⰀ-ⱻⱾ-ⳤⳫ-ⳮⳲⳳꙀ-ꙭꚀ-ꚛꜢ-ꝯꝱ-ꞇꞋ-ꞎꭰ-ꮿﬀ-ﬆﬓ-ﬗＡ-Ｚａ-ｚ𐐀-𐑏𐒰-𐓓𐓘-𐓻𐲀-𐲲𐳀-𐳲𑢠-𑣟𞤀-𞥃]+",
         "\\s?[!-/:-~！-／：-～‘-‟　-。]+",
         "\\s+$",
         "[一-龥ࠀ-一가-퟿]+",
         "\\p{N}+",
     }},
    {"deepseek-coder",
     {
         "[\r\n]",
         "\\s?\\p{L}+",
         "\\s?\\p{P}+",
         "[一-龥ࠀ-一가-퟿]+",
         "\\p{N}",
     }},
  };
  return families;
}

// `text` (valid UTF-8) as a JSON string literal.
std::string json_string(const std::string& text) {
  std::string out;
  out.reserve(text.size() + 2);
  out += '"';
  for (char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += ch;
    } else if (c < 0x20) {
      static const char* hex = "0123456789abcdef";
      out += "\\u00";
      out += hex[c >> 4];
      out += hex[c & 15];
    } else {
      out += ch;
    }
  }
  out += '"';
  return out;
}

json byte_level(bool use_regex) {
  return {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", true}, {"use_regex", use_regex}};
}

json pre_tokenizer_json(const std::string& pre, const std::string& origin) {
  if (pre == "gpt-2") return byte_level(true);
  for (const auto& [name, patterns] : split_families()) {
    if (name != pre) continue;
    json steps = json::array();
    for (const std::string& p : patterns) {
      steps.push_back({{"type", "Split"}, {"pattern", {{"Regex", p}}}, {"behavior", "Isolated"}, {"invert", false}});
    }
    steps.push_back(byte_level(false));
    return {{"type", "Sequence"}, {"pretokenizers", steps}};
  }
  std::string known;
  for (const std::string& n : gguf_pre_tokenizer_names()) known += (known.empty() ? "" : ", ") + n;
  throw TokenizerError(origin + ": tokenizer.ggml.pre '" + pre + "' is not a pre-tokenizer dschat knows (" + known +
                       "): its ids would differ from the model's");
}

}  // namespace

const std::vector<std::string>& gguf_pre_tokenizer_names() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> n;
    for (const auto& family : split_families()) n.push_back(family.first);
    n.push_back("gpt-2");
    return n;
  }();
  return names;
}

std::string gguf_vocabulary_json(const GgufVocabulary& v, const std::string& origin) {
  if (v.model != "gpt2") {
    throw TokenizerError(origin + ": tokenizer.ggml.model '" + v.model +
                         "' is not supported (only 'gpt2', byte-level BPE)");
  }
  if (!v.token_types.empty() && v.token_types.size() != v.tokens.size()) {
    throw TokenizerError(origin + ": tokenizer.ggml.token_type has " + std::to_string(v.token_types.size()) +
                         " entries for " + std::to_string(v.tokens.size()) + " tokens");
  }
  if (v.tokens.size() > size_t{INT32_MAX}) throw TokenizerError(origin + ": tokenizer.ggml.tokens: too many tokens");
  // Written as text (the vocabulary and merges are most of it: a tree of 129k entries would cost
  // more than the parse that follows).
  auto quoted = [&](const std::string& text, const char* key, size_t index) {
    if (utf8::find_invalid(text)) {
      throw TokenizerError(origin + ": " + key + "[" + std::to_string(index) + "] is not valid UTF-8");
    }
    return json_string(text);
  };
  std::string out;
  out.reserve(64 * (v.tokens.size() + v.merges.size()) + 4096);
  out += "{\"version\":\"1.0\",\"normalizer\":null,\"pre_tokenizer\":";
  out += pre_tokenizer_json(v.pre, origin).dump();
  out += ",\"decoder\":" + byte_level(true).dump() + ",\"added_tokens\":[";
  std::string vocab;
  std::unordered_set<std::string> seen;
  bool first_added = true;
  for (size_t id = 0; id < v.tokens.size(); ++id) {
    const auto type = static_cast<GgufTokenType>(v.token_types.empty() ? 1 : v.token_types[id]);
    const std::string& token = v.tokens[id];
    const std::string q = quoted(token, "tokenizer.ggml.tokens", id);
    // UNUSED: the converter's "[PAD<id>]" fillers up to the model's vocab_size. Holes, as
    // llama.cpp has them: never matched, decoded to nothing (extend_ids keeps the last in range).
    if (type == GgufTokenType::Unused) continue;
    if (type == GgufTokenType::Control || type == GgufTokenType::UserDefined) {
      out += first_added ? "" : ",";
      first_added = false;
      out += "{\"id\":" + std::to_string(id) + ",\"content\":" + q +
             ",\"single_word\":false,\"lstrip\":false,\"rstrip\":false,\"normalized\":false,\"special\":" +
             (type == GgufTokenType::Control ? "true}" : "false}");
    }
    if (seen.insert(token).second) {
      vocab += vocab.empty() ? "" : ",";
      vocab += q + ":" + std::to_string(id);
    }
  }
  out += "],\"model\":{\"type\":\"BPE\",\"dropout\":null,\"unk_token\":null,\"fuse_unk\":false,"
         "\"byte_fallback\":false,\"vocab\":{";
  out += vocab;
  out += "},\"merges\":[";
  for (size_t i = 0; i < v.merges.size(); ++i) {
    out += i ? "," : "";
    out += quoted(v.merges[i], "tokenizer.ggml.merges", i);
  }
  out += "]}}";
  return out;
}

Tokenizer tokenizer_from_gguf_vocabulary(const GgufVocabulary& v, const std::string& origin) {
  Tokenizer tokenizer = Tokenizer::from_json(gguf_vocabulary_json(v, origin), origin);
  TokenizerConfig config;
  auto token_of = [&](std::optional<int32_t> id, const char* key) -> std::optional<std::string> {
    if (!id) return std::nullopt;
    if (*id < 0 || static_cast<size_t>(*id) >= v.tokens.size()) {
      throw TokenizerError(origin + ": " + key + " " + std::to_string(*id) + " is not a token id (" +
                           std::to_string(v.tokens.size()) + " tokens)");
    }
    return v.tokens[static_cast<size_t>(*id)];
  };
  config.bos_token = token_of(v.bos_id, "tokenizer.ggml.bos_token_id");
  config.eos_token = token_of(v.eos_id, "tokenizer.ggml.eos_token_id");
  config.chat_template = v.chat_template;
  config.add_bos_token = v.add_bos_token;
  tokenizer.set_config(std::move(config));
  tokenizer.extend_ids(static_cast<int32_t>(v.tokens.size()));
  return tokenizer;
}

}  // namespace dschat

namespace dschat {
namespace {

// The parts of a pre-tokenizer that decide its splits (extra keys such as trim_offsets do not).
json canonical_pre_tokenizer(const json& j) {
  if (j.is_array()) {
    json out = json::array();
    for (const json& e : j) out.push_back(canonical_pre_tokenizer(e));
    return out;
  }
  if (!j.is_object()) return j;
  json out = json::object();
  for (const char* key : {"type", "pretokenizers", "pattern", "behavior", "invert", "use_regex", "add_prefix_space"}) {
    if (j.contains(key)) out[key] = canonical_pre_tokenizer(j[key]);
  }
  return out;
}

bool looks_special(const std::string& t) {
  auto wrapped = [&](const std::string& open, const std::string& close) {
    return t.size() >= open.size() + close.size() && t.compare(0, open.size(), open) == 0 &&
           t.compare(t.size() - close.size(), close.size(), close) == 0;
  };
  return t == "<pad>" || t == "<mask>" || t == "<2mass>" || t == "[@BOS@]" || wrapped("<|", "|>") ||
         wrapped("<｜", "｜>") || wrapped("<unused", ">");
}

std::string read_text(const std::filesystem::path& path, const FileLimit& limit) {
  try {
    return read_regular_file(path, limit);
  } catch (const FileReadError& e) {
    throw TokenizerError(e.what());
  }
}

}  // namespace

GgufVocabulary gguf_vocabulary_from_directory(const std::filesystem::path& dir, int32_t vocab_size) {
  const std::filesystem::path json_path = dir / "tokenizer.json";
  const std::string origin = json_path.string();
  const Tokenizer tokenizer = Tokenizer::from_directory(dir);  // validates it as dschat reads it; the config
  json root;
  try {
    const std::string text = read_text(json_path, kTokenizerJsonLimit);
    root = parse_json_bounded(text.begin(), text.end());
  } catch (const nlohmann::json::exception& e) {
    throw TokenizerError(origin + ": not valid JSON: " + e.what());
  } catch (const JsonTooDeep& e) {
    throw TokenizerError(origin + ": " + e.what());
  }
  const json& model = root.at("model");
  if (model.value("type", "BPE") != "BPE" || !model.contains("vocab") || !model["vocab"].is_object()) {
    throw TokenizerError(origin + ": only a BPE model with a vocab object can be written as GGUF 'gpt2'");
  }
  GgufVocabulary v;
  v.model = "gpt2";
  const json pre = canonical_pre_tokenizer(root.value("pre_tokenizer", json()));
  for (const std::string& name : gguf_pre_tokenizer_names()) {
    if (canonical_pre_tokenizer(pre_tokenizer_json(name, origin)) == pre) v.pre = name;
  }
  if (v.pre.empty()) {
    std::string known;
    for (const std::string& n : gguf_pre_tokenizer_names()) known += (known.empty() ? "" : ", ") + n;
    throw TokenizerError(origin + ": its pre_tokenizer is none of the families llama.cpp and dschat name (" + known +
                         "): a GGUF file of it would split text differently");
  }
  // Ids -> token (the added tokens last: they win over a vocab entry of the same id).
  int64_t max_id = -1;
  std::vector<std::pair<int64_t, std::string>> by_id;
  for (const auto& [token, id] : model["vocab"].items()) {
    if (!id.is_number_integer() || id.get<int64_t>() < 0) throw TokenizerError(origin + ": vocab id of '" + token + "' is not an id");
    by_id.emplace_back(id.get<int64_t>(), token);
    max_id = std::max(max_id, id.get<int64_t>());
  }
  struct Added {
    int64_t id;
    std::string content;
    bool special;
  };
  std::vector<Added> added;
  for (const json& a : root.value("added_tokens", json::array())) {
    if (!a.is_object() || !a.contains("id") || !a["id"].is_number_integer() || !a.contains("content") || !a["content"].is_string()) {
      throw TokenizerError(origin + ": added_tokens entries need an integer id and a string content");
    }
    added.push_back({a["id"].get<int64_t>(), a["content"].get<std::string>(), a.value("special", false)});
    max_id = std::max(max_id, added.back().id);
  }
  const int64_t n = vocab_size > 0 ? vocab_size : max_id + 1;
  if (n > INT32_MAX) throw TokenizerError(origin + ": too many tokens");
  v.tokens.assign(static_cast<size_t>(n), std::string());
  v.token_types.assign(static_cast<size_t>(n), static_cast<int32_t>(GgufTokenType::Unused));
  for (auto& [id, token] : by_id) {
    if (id >= n) continue;
    v.tokens[static_cast<size_t>(id)] = std::move(token);
    v.token_types[static_cast<size_t>(id)] = static_cast<int32_t>(GgufTokenType::Normal);
  }
  for (Added& a : added) {
    if (a.id < 0 || a.id >= n) continue;
    const bool control = a.special || looks_special(a.content);
    std::string content = a.content;
    if (!control) {  // the converter's pre-normalised user-defined spaces
      for (size_t at; (at = content.find("\xe2\x96\x81")) != std::string::npos;) content.replace(at, 3, " ");
    }
    v.tokens[static_cast<size_t>(a.id)] = std::move(content);
    v.token_types[static_cast<size_t>(a.id)] =
        static_cast<int32_t>(control ? GgufTokenType::Control : GgufTokenType::UserDefined);
  }
  for (int64_t id = 0; id < n; ++id) {
    if (v.token_types[static_cast<size_t>(id)] == static_cast<int32_t>(GgufTokenType::Unused)) {
      v.tokens[static_cast<size_t>(id)] = "[PAD" + std::to_string(id) + "]";
    }
  }
  for (const json& m : model.value("merges", json::array())) {
    if (m.is_string()) {
      v.merges.push_back(m.get<std::string>());
    } else if (m.is_array() && m.size() == 2 && m[0].is_string() && m[1].is_string()) {
      v.merges.push_back(m[0].get<std::string>() + " " + m[1].get<std::string>());
    } else {
      throw TokenizerError(origin + ": model.merges entries must be \"a b\" or [\"a\", \"b\"]");
    }
  }
  const TokenizerConfig& config = tokenizer.config();
  auto id_of = [&](const std::optional<std::string>& token) -> std::optional<int32_t> {
    if (!token) return std::nullopt;
    return tokenizer.token_to_id(*token);
  };
  v.bos_id = id_of(config.bos_token);
  v.eos_id = id_of(config.eos_token);
  v.add_bos_token = config.add_bos_token;
  v.chat_template = config.chat_template;
  return v;
}

}  // namespace dschat
