// Test helper: a complete chat model directory in a temporary directory: a random DeepSeek-V3
// model (tests/engine/checkpoint_writer.h) with vocab 260, and a byte-level tokenizer.json
// without merges whose ids 0..255 are the bytes themselves and ids 256..259 are the DeepSeek
// special tokens (bos, eos, <｜User｜>, <｜Assistant｜>).
#pragma once

#include <filesystem>
#include <fstream>
#include <string>

#include <nlohmann/json.hpp>

#include "tests/engine/checkpoint_writer.h"

namespace dschat::test {

// GPT-2's bytes_to_unicode: printable bytes stand for themselves, the others for U+0100 onwards.
inline std::string byte_level_char(int byte) {
  auto printable = [](int b) { return (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF); };
  int code = byte;
  if (!printable(byte)) {
    int n = 0;
    for (int b = 0; b < byte; ++b)
      if (!printable(b)) ++n;
    code = 256 + n;
  }
  std::string out;
  if (code < 0x80) {
    out += static_cast<char>(code);
  } else {
    out += static_cast<char>(0xC0 | (code >> 6));
    out += static_cast<char>(0x80 | (code & 0x3F));
  }
  return out;
}

inline constexpr int kFirstSpecial = 256;  // bos 256, eos 257, <｜User｜> 258, <｜Assistant｜> 259
inline const char* kTestSpecials[4] = {"<｜begin▁of▁sentence｜>", "<｜end▁of▁sentence｜>", "<｜User｜>",
                                       "<｜Assistant｜>"};

inline nlohmann::json byte_tokenizer_json() {
  nlohmann::json vocab = nlohmann::json::object();
  for (int b = 0; b < 256; ++b) vocab[byte_level_char(b)] = b;
  nlohmann::json added = nlohmann::json::array();
  for (int i = 0; i < 4; ++i)
    added.push_back({{"id", kFirstSpecial + i}, {"content", kTestSpecials[i]}, {"single_word", false}, {"lstrip", false},
                     {"rstrip", false}, {"normalized", false}, {"special", true}});
  return {{"version", "1.0"},
          {"truncation", nullptr},
          {"padding", nullptr},
          {"added_tokens", added},
          {"normalizer", nullptr},
          {"pre_tokenizer", {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", true}, {"use_regex", true}}},
          {"post_processor", nullptr},
          {"decoder", {{"type", "ByteLevel"}, {"add_prefix_space", true}, {"trim_offsets", true}, {"use_regex", true}}},
          {"model",
           {{"type", "BPE"}, {"dropout", nullptr}, {"unk_token", nullptr}, {"continuing_subword_prefix", nullptr},
            {"end_of_word_suffix", nullptr}, {"fuse_unk", false}, {"byte_fallback", false},
            {"vocab", vocab}, {"merges", nlohmann::json::array()}}}};
}

inline nlohmann::json chat_model_config(int max_positions = 512) {
  nlohmann::json c = small_config();
  c["vocab_size"] = 260;
  c["max_position_embeddings"] = max_positions;
  c["bos_token_id"] = 256;
  c["eos_token_id"] = 257;
  return c;
}

// Writes config.json, model.safetensors, tokenizer.json and tokenizer_config.json
// (with `chat_template` when non-empty) into `dir`.
inline void write_chat_model(const std::filesystem::path& dir, const nlohmann::json& config = chat_model_config(),
                             const std::string& chat_template = "{{'<｜User｜>' + message['content']}}{{'<｜Assistant｜>'}}") {
  write_random_model(dir, config);
  std::ofstream(dir / "tokenizer.json") << byte_tokenizer_json().dump();
  nlohmann::json tc = {{"bos_token", kTestSpecials[0]}, {"eos_token", kTestSpecials[1]}, {"add_bos_token", false}};
  if (!chat_template.empty()) tc["chat_template"] = chat_template;
  std::ofstream(dir / "tokenizer_config.json") << tc.dump();
}

}  // namespace dschat::test
