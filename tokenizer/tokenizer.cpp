#include "tokenizer/tokenizer.h"

#include <filesystem>

#include <nlohmann/json.hpp>

#include "common/json_limits.h"
#include "common/regular_file.h"
#include "tokenizer/added_vocabulary.h"
#include "tokenizer/bpe_model.h"
#include "tokenizer/byte_level.h"
#include "tokenizer/normalizer.h"
#include "tokenizer/pre_tokenizer.h"
#include "tokenizer/sequence_depth.h"
#include "tokenizer/tokenizer_json_reader.h"
#include "tokenizer/utf8.h"

namespace dschat {

struct Tokenizer::Impl {
  Normalizer normalizer;
  PreTokenizer pre_tokenizer;
  BpeModel model;
  AddedVocabulary added;
  TokenizerConfig config;
  PackedStrings bytes_of_id;  // what each id decodes to (before UTF-8 repair), ids in order
  std::vector<char> special_of_id;
  int32_t vocab_size = 0;
};

namespace {

// The whole file in one buffer of its size (common/regular_file.h: no FIFO, at most `limit`).
std::string read_file(const std::filesystem::path& path, const FileLimit& limit) {
  try {
    return read_regular_file(path, limit);
  } catch (const FileReadError& e) {
    throw TokenizerError(e.what());
  }
}

// bos_token / eos_token are a string or an AddedToken object {"content": ...}.
std::optional<std::string> token_setting(const nlohmann::json& config, const char* key, const std::string& origin) {
  if (!config.contains(key) || config[key].is_null()) return std::nullopt;
  const auto& value = config[key];
  if (value.is_string()) return value.get<std::string>();
  if (value.is_object() && value.contains("content") && value["content"].is_string()) return value["content"].get<std::string>();
  throw TokenizerError(origin + ": \"" + key + "\" must be a string or an object with \"content\"");
}

TokenizerConfig parse_config(std::string_view text, const std::string& origin) {
  nlohmann::json config;
  try {
    config = parse_json_bounded(text.begin(), text.end());
  } catch (const nlohmann::json::exception& e) {
    throw TokenizerError(origin + ": not valid JSON: " + e.what());
  } catch (const JsonTooDeep& e) {
    throw TokenizerError(origin + ": " + e.what());
  }
  if (!config.is_object()) throw TokenizerError(origin + ": expected a JSON object");
  TokenizerConfig result;
  result.bos_token = token_setting(config, "bos_token", origin);
  result.eos_token = token_setting(config, "eos_token", origin);
  if (config.contains("add_bos_token") && config["add_bos_token"].is_boolean()) {
    result.add_bos_token = config["add_bos_token"].get<bool>();
  }
  if (config.contains("chat_template") && !config["chat_template"].is_null()) {
    const auto& templ = config["chat_template"];
    if (templ.is_string()) {
      result.chat_template = templ.get<std::string>();
    } else if (templ.is_array()) {
      // [{"name": "default", "template": "..."}, ...]
      for (const auto& entry : templ) {
        if (entry.is_object() && entry.value("name", "") == "default" && entry.contains("template") &&
            entry["template"].is_string()) {
          result.chat_template = entry["template"].get<std::string>();
        }
      }
    } else {
      throw TokenizerError(origin + ": \"chat_template\" must be a string or a list of named templates");
    }
  }
  return result;
}

// `depth`: the Sequences around `decoder`; `section`: the top-level `where`, for the depth error.
void check_decoder(const nlohmann::json& decoder, const std::string& where, int depth, const std::string& section) {
  if (decoder.is_null()) throw TokenizerError(where + ": a ByteLevel decoder is required (found null)");
  if (!decoder.is_object() || !decoder.contains("type") || !decoder["type"].is_string()) {
    throw TokenizerError(where + ": expected an object with a \"type\"");
  }
  const std::string type = decoder["type"].get<std::string>();
  if (type == "Sequence" && decoder.contains("decoders") && decoder["decoders"].is_array() &&
      decoder["decoders"].size() == 1) {
    check_sequence_depth(depth + 1, section);
    check_decoder(decoder["decoders"][0], where + ".decoders[0]", depth + 1, section);
    return;
  }
  if (type != "ByteLevel") throw TokenizerError(where + ": decoder type \"" + type + "\" is not supported (only ByteLevel)");
}

}  // namespace

Tokenizer::Tokenizer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Tokenizer::Tokenizer(Tokenizer&&) noexcept = default;
Tokenizer& Tokenizer::operator=(Tokenizer&&) noexcept = default;
Tokenizer::~Tokenizer() = default;

Tokenizer Tokenizer::from_directory(const std::filesystem::path& dir) {
  const auto json_path = dir / "tokenizer.json";
  if (!std::filesystem::exists(json_path)) {
    // Kimi-K2 ships its tokenizer as tiktoken.model + tokenization_kimi.py (remote code), no tokenizer.json.
    if (std::filesystem::exists(dir / "tiktoken.model")) {
      throw TokenizerError(json_path.string() + ": no such file; the directory has tiktoken.model (a tiktoken "
                           "tokenizer, as Kimi-K2 publishes it), which dschat does not read: it needs the Hugging "
                           "Face tokenizer.json of the model (dschat logits and bench take token ids without one)");
    }
    throw TokenizerError(json_path.string() + ": no such file");
  }
  Tokenizer tokenizer = from_json(read_file(json_path, kTokenizerJsonLimit), json_path.string());
  const auto config_path = dir / "tokenizer_config.json";
  if (std::filesystem::exists(config_path)) {
    tokenizer.impl_->config = parse_config(read_file(config_path, kJsonConfigLimit), config_path.string());
  }
  return tokenizer;
}

struct Tokenizer::Sections {
  const nlohmann::json& root;  // the document (model.vocab and model.merges may be absent)
  BpeModel model;
};

Tokenizer Tokenizer::from_json(std::string_view json_text, const std::string& origin) {
  if (auto streamed = read_tokenizer_json_streaming(json_text)) {
    const nlohmann::json& root = streamed->root;
    if (auto model = BpeModel::from_streamed(root.at("model"), *streamed, origin + ": model")) {
      return assemble(Sections{root, std::move(*model)}, origin);
    }
  }
  return from_json_tree(json_text, origin);
}

Tokenizer Tokenizer::from_json_tree(std::string_view json_text, const std::string& origin) {
  nlohmann::json root;
  try {
    root = parse_json_bounded(json_text.begin(), json_text.end());
  } catch (const nlohmann::json::exception& e) {
    throw TokenizerError(origin + ": not valid JSON: " + e.what());
  } catch (const JsonTooDeep& e) {
    throw TokenizerError(origin + ": " + e.what());
  }
  if (!root.is_object()) throw TokenizerError(origin + ": expected a JSON object");
  if (!root.contains("model")) throw TokenizerError(origin + ": no \"model\"");
  return assemble(Sections{root, BpeModel::from_json(root["model"], origin + ": model")}, origin);
}

Tokenizer Tokenizer::assemble(Sections&& sections, const std::string& origin) {
  const nlohmann::json& root = sections.root;
  auto section = [&](const char* key) -> const nlohmann::json& {
    static const nlohmann::json null_value;
    return root.contains(key) ? root[key] : null_value;
  };
  auto impl = std::unique_ptr<Impl>(new Impl{Normalizer::from_json(section("normalizer"), origin + ": normalizer"),
                                             PreTokenizer::from_json(section("pre_tokenizer"), origin + ": pre_tokenizer"),
                                             std::move(sections.model),
                                             AddedVocabulary::from_json(section("added_tokens"), origin + ": added_tokens"),
                                             {}, {}, {}, 0});
  if (!impl->pre_tokenizer.has_byte_level()) {
    throw TokenizerError(origin + ": pre_tokenizer: no ByteLevel step (only byte-level BPE is supported)");
  }
  check_decoder(section("decoder"), origin + ": decoder", 0, origin + ": decoder");
  for (int b = 0; b < 256; ++b) {
    if (!impl->model.token_to_id(byte_level::char_for_byte(static_cast<unsigned char>(b)))) {
      throw TokenizerError(origin + ": model.vocab: the byte-level character \"" +
                           byte_level::char_for_byte(static_cast<unsigned char>(b)) + "\" (byte " + std::to_string(b) +
                           ") is missing");
    }
  }

  // Decoded bytes of every id (HF ByteLevel decoder: a token whose characters are not all in the
  // byte-level alphabet is emitted as its own UTF-8).
  int32_t max_id = impl->model.max_id();
  for (const AddedToken& token : impl->added.tokens()) max_id = std::max(max_id, token.id);
  impl->vocab_size = max_id + 1;
  impl->special_of_id.assign(impl->vocab_size, 0);
  impl->bytes_of_id.begin.reserve(static_cast<std::size_t>(impl->vocab_size) + 1);
  for (int32_t id = 0; id < impl->vocab_size; ++id) {
    std::string_view text;
    if (const AddedToken* token = impl->added.find(id)) {
      text = token->content;
      impl->special_of_id[id] = token->special;
    } else {
      text = impl->model.id_to_token(id);  // empty: a hole in the id space decodes to nothing
    }
    auto bytes = byte_level::decode(text);
    impl->bytes_of_id.push_back(bytes ? std::string_view(*bytes) : text);
  }
  return Tokenizer(std::move(impl));
}

std::vector<int32_t> Tokenizer::encode(std::string_view utf8, bool parse_special,
                                       std::span<const int32_t> as_text) const {
  if (auto bad = utf8::find_invalid(utf8)) {
    char hex[8];
    std::snprintf(hex, sizeof hex, "0x%02X", static_cast<unsigned char>(utf8[*bad]));
    throw TokenizerError("text is not valid UTF-8: byte " + std::string(hex) + " at offset " + std::to_string(*bad));
  }
  std::vector<int32_t> ids;
  ids.reserve(utf8.size() / 3 + 4);
  for (const TextSegment& segment : impl_->added.split(utf8, parse_special, as_text)) {
    if (segment.token_id >= 0) {
      ids.push_back(segment.token_id);
      continue;
    }
    auto encode_piece = [&](std::string_view piece) { impl_->model.encode_piece(piece, ids); };
    if (impl_->normalizer.is_identity()) {
      impl_->pre_tokenizer.for_each_piece(segment.text, encode_piece);
    } else {
      impl_->pre_tokenizer.for_each_piece(impl_->normalizer.normalize(segment.text), encode_piece);
    }
  }
  return ids;
}

std::string Tokenizer::decode(std::span<const int32_t> ids, bool skip_special) const {
  std::string bytes;
  for (int32_t id : ids) {
    if (id < 0 || id >= impl_->vocab_size) {
      throw TokenizerError("token id " + std::to_string(id) + " is out of range (vocabulary size " +
                           std::to_string(impl_->vocab_size) + ")");
    }
    if (skip_special && impl_->special_of_id[id]) continue;
    bytes += impl_->bytes_of_id[id];
  }
  return utf8::to_valid_lossy(bytes);
}

std::string Tokenizer::token_bytes(int32_t id) const {
  if (id < 0 || id >= impl_->vocab_size) {
    throw TokenizerError("token id " + std::to_string(id) + " is out of range (vocabulary size " +
                         std::to_string(impl_->vocab_size) + ")");
  }
  return std::string(impl_->bytes_of_id[id]);
}

std::string Tokenizer::token_text(int32_t id) const {
  if (const AddedToken* token = impl_->added.find(id)) return token->content;
  if (std::string_view text = impl_->model.id_to_token(id); !text.empty()) return std::string(text);
  throw TokenizerError("token id " + std::to_string(id) + " has no token (vocabulary size " +
                       std::to_string(impl_->vocab_size) + ")");
}

std::optional<int32_t> Tokenizer::token_to_id(std::string_view token_text) const {
  if (const AddedToken* token = impl_->added.find(token_text)) return token->id;
  return impl_->model.token_to_id(token_text);
}

bool Tokenizer::is_special(int32_t id) const {
  return id >= 0 && id < impl_->vocab_size && impl_->special_of_id[id];
}

int32_t Tokenizer::vocab_size() const { return impl_->vocab_size; }

const TokenizerConfig& Tokenizer::config() const { return impl_->config; }
void Tokenizer::set_config(TokenizerConfig config) { impl_->config = std::move(config); }

void Tokenizer::extend_ids(int32_t vocab_size) {
  for (; impl_->vocab_size < vocab_size; ++impl_->vocab_size) {
    impl_->bytes_of_id.push_back({});
    impl_->special_of_id.push_back(0);
  }
}

// ---------------------------------------------------------------------------------------------

StreamingDecoder::StreamingDecoder(const Tokenizer& tokenizer, bool skip_special)
    : tokenizer_(&tokenizer), skip_special_(skip_special) {}

std::string StreamingDecoder::push(int32_t id) {
  if (skip_special_ && tokenizer_->is_special(id)) return {};
  pending_ += tokenizer_->token_bytes(id);
  // Emit everything except a trailing proper prefix of a UTF-8 sequence: the lossy conversion
  // of the emitted part then never depends on bytes still to come.
  std::size_t keep = utf8::incomplete_tail_length(pending_);
  std::string out = utf8::to_valid_lossy(std::string_view(pending_).substr(0, pending_.size() - keep));
  pending_.erase(0, pending_.size() - keep);
  return out;
}

std::string StreamingDecoder::finish() {
  std::string out = utf8::to_valid_lossy(pending_);
  pending_.clear();
  return out;
}

void StreamingDecoder::reset() { pending_.clear(); }

}  // namespace dschat
