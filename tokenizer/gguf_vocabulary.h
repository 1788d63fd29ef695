// A tokenizer stored in GGUF metadata (llama.cpp's `tokenizer.ggml.*` keys) for the byte-level BPE
// family (tokenizer.ggml.model = "gpt2"): the token list, their types, the merges, and the name
// of the pre-tokenizer (tokenizer.ggml.pre) that llama.cpp's converter chose by hashing the
// tokenizer's output. The same tokenizer as the model's tokenizer.json is rebuilt from them: the
// tokens become the BPE vocabulary, CONTROL and USER_DEFINED tokens the added tokens (special
// for CONTROL), and the pre name the Split regexes of that family (llama.cpp src/llama-vocab.cpp
// lists them; they are the tokenizer.json pre-tokenizers of those models). A pre name that is not
// known is an error: a guess would give other ids without a word.
// This layer knows nothing of GGUF files: the caller (app/backend) reads the keys.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "tokenizer/tokenizer.h"

namespace dschat {

// llama.cpp's token types (gguf-py TokenType).
enum class GgufTokenType : int32_t { Normal = 1, Unknown = 2, Control = 3, UserDefined = 4, Unused = 5, Byte = 6 };

struct GgufVocabulary {
  std::string model;                // tokenizer.ggml.model
  std::string pre;                  // tokenizer.ggml.pre
  std::vector<std::string> tokens;  // tokenizer.ggml.tokens, by id
  std::vector<int32_t> token_types; // tokenizer.ggml.token_type (empty: all Normal)
  std::vector<std::string> merges;  // tokenizer.ggml.merges, "left right", by rank
  std::optional<int32_t> bos_id, eos_id;
  bool add_bos_token = false;       // tokenizer.ggml.add_bos_token
  std::optional<std::string> chat_template;  // tokenizer.chat_template
};

// The pre-tokenizer names dschat knows: "deepseek-v3", "deepseek-llm", "deepseek-coder", "gpt-2".
const std::vector<std::string>& gguf_pre_tokenizer_names();

// The tokenizer.json text of `vocab` (tests compare it with the model's own).
std::string gguf_vocabulary_json(const GgufVocabulary& vocab, const std::string& origin);

// The GGUF vocabulary of a Hugging Face tokenizer directory (tokenizer.json + tokenizer_config.json),
// as llama.cpp's converter makes it (conversion/base.py get_vocab_base): ids 0..vocab_size-1,
// holes "[PAD<id>]" UNUSED, added tokens CONTROL when special or looking special (<|...|>,
// <｜...｜>, <pad>, ...) else USER_DEFINED, the merges in rank order, `pre` the family whose Split
// regexes the tokenizer.json pre-tokenizer has (an unknown one is an error), bos/eos ids and
// add_bos_token from tokenizer_config.json. vocab_size 0: the highest id + 1.
GgufVocabulary gguf_vocabulary_from_directory(const std::filesystem::path& dir, int32_t vocab_size);

// Builds the tokenizer. Throws TokenizerError "<origin>: ..." for another model than gpt2, an
// unknown pre name, types that do not match the tokens, or a bos/eos id out of range.
Tokenizer tokenizer_from_gguf_vocabulary(const GgufVocabulary& vocab, const std::string& origin);

}  // namespace dschat
