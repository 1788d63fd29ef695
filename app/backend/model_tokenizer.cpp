#include "app/backend/model_tokenizer.h"

#include <system_error>

#include "app/backend/loaded_model.h"
#include "engine/io/gguf_shards.h"
#include "engine/io/gguf_writer.h"

namespace dschat {
namespace {

const GgufValue* find_typed(const GgufFile& file, const std::string& key, GgufType type, bool required) {
  const GgufValue* v = file.find(key);
  if (!v) {
    if (required) throw TokenizerError(file.path().string() + ": key '" + key + "' is missing");
    return nullptr;
  }
  if (v->type != type) {
    throw TokenizerError(file.path().string() + ": key '" + key + "' must be a " + gguf_type_name(type) + ", got " +
                         v->summary());
  }
  return v;
}

const GgufValue* find_array(const GgufFile& file, const std::string& key, GgufType element, bool required) {
  const GgufValue* v = find_typed(file, key, GgufType::Array, required);
  if (v && v->element_type != element && v->array_size() > 0) {
    throw TokenizerError(file.path().string() + ": key '" + key + "' must be an array of " + gguf_type_name(element) +
                         ", got " + v->summary());
  }
  return v;
}

std::optional<int32_t> token_id(const GgufFile& file, const std::string& key) {
  const GgufValue* v = file.find(key);
  if (!v) return std::nullopt;
  if (!v->is_integer() || v->int_value < 0 || v->int_value > INT32_MAX) {
    throw TokenizerError(file.path().string() + ": key '" + key + "' must be a token id, got " + v->summary());
  }
  return static_cast<int32_t>(v->int_value);
}

}  // namespace

bool is_gguf_path(const std::filesystem::path& path) {
  std::error_code ec;
  return path.extension() == ".gguf" && !std::filesystem::is_directory(path, ec);
}

GgufVocabulary gguf_vocabulary(const GgufFile& file) {
  GgufVocabulary v;
  v.model = find_typed(file, "tokenizer.ggml.model", GgufType::String, true)->string_value;
  if (const GgufValue* pre = find_typed(file, "tokenizer.ggml.pre", GgufType::String, false)) v.pre = pre->string_value;
  if (v.pre.empty()) v.pre = "default";
  v.tokens = find_array(file, "tokenizer.ggml.tokens", GgufType::String, true)->strings;
  if (const GgufValue* types = find_array(file, "tokenizer.ggml.token_type", GgufType::I32, false)) {
    v.token_types.assign(types->ints.begin(), types->ints.end());
  }
  if (const GgufValue* merges = find_array(file, "tokenizer.ggml.merges", GgufType::String, false)) v.merges = merges->strings;
  v.bos_id = token_id(file, "tokenizer.ggml.bos_token_id");
  v.eos_id = token_id(file, "tokenizer.ggml.eos_token_id");
  if (const GgufValue* add_bos = find_typed(file, "tokenizer.ggml.add_bos_token", GgufType::Bool, false)) {
    v.add_bos_token = add_bos->int_value != 0;
  }
  if (const GgufValue* t = find_typed(file, "tokenizer.chat_template", GgufType::String, false)) v.chat_template = t->string_value;
  return v;
}

std::vector<std::pair<std::string, GgufValue>> gguf_vocabulary_metadata(const GgufVocabulary& v) {
  std::vector<std::pair<std::string, GgufValue>> m;
  m.emplace_back("tokenizer.ggml.model", gguf_string(v.model));
  m.emplace_back("tokenizer.ggml.pre", gguf_string(v.pre));
  m.emplace_back("tokenizer.ggml.tokens", gguf_string_array(v.tokens));
  std::vector<int32_t> types = v.token_types;
  if (types.empty()) types.assign(v.tokens.size(), static_cast<int32_t>(GgufTokenType::Normal));
  m.emplace_back("tokenizer.ggml.token_type", gguf_i32_array(types));
  m.emplace_back("tokenizer.ggml.merges", gguf_string_array(v.merges));
  if (v.bos_id) m.emplace_back("tokenizer.ggml.bos_token_id", gguf_u32(static_cast<uint32_t>(*v.bos_id)));
  if (v.eos_id) m.emplace_back("tokenizer.ggml.eos_token_id", gguf_u32(static_cast<uint32_t>(*v.eos_id)));
  m.emplace_back("tokenizer.ggml.add_bos_token", gguf_bool(v.add_bos_token));
  m.emplace_back("tokenizer.ggml.add_eos_token", gguf_bool(false));
  if (v.chat_template) m.emplace_back("tokenizer.chat_template", gguf_string(*v.chat_template));
  return m;
}

GgufVocabulary model_gguf_vocabulary(const std::filesystem::path& path, int32_t vocab_size) {
  if (is_gguf_path(path)) return gguf_vocabulary(GgufShards(path).first());  // split: the first shard's
  std::error_code ec;
  std::filesystem::path dir = std::filesystem::is_directory(path, ec) ? path : path.parent_path();
  if (std::filesystem::is_regular_file(path, ec) && !std::filesystem::exists(dir / "tokenizer.json", ec)) {
    dir = default_model_dir();
  }
  return gguf_vocabulary_from_directory(dir, vocab_size);
}

Tokenizer load_model_tokenizer(const std::filesystem::path& path) {
  if (!is_gguf_path(path)) return Tokenizer::from_directory(path);
  const GgufShards shards(path);  // a split model's metadata is in its first shard
  return tokenizer_from_gguf_vocabulary(gguf_vocabulary(shards.first()), path.string());
}

}  // namespace dschat
