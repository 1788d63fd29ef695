// The tokenizer of a model path, whatever its format: DIR/tokenizer.json (+ tokenizer_config.json)
// for a directory (or the directory of a .pt file), the `tokenizer.ggml.*` metadata of a .gguf file
// (tokenizer/gguf_vocabulary.h).
#pragma once

#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "engine/io/gguf_file.h"
#include "tokenizer/gguf_vocabulary.h"
#include "tokenizer/tokenizer.h"

namespace dschat {

bool is_gguf_path(const std::filesystem::path& path);  // a .gguf that is not a directory

// The vocabulary keys of `file`. Throws TokenizerError naming the file and key when one is
// missing or of the wrong type.
GgufVocabulary gguf_vocabulary(const GgufFile& file);

// The tokenizer.ggml.* and tokenizer.chat_template keys of `vocab`, as llama.cpp's converter
// writes them (for dschat convert).
std::vector<std::pair<std::string, GgufValue>> gguf_vocabulary_metadata(const GgufVocabulary& vocab);

// The vocabulary of the model at `path` for a GGUF file: the file's own keys for a .gguf, else
// the tokenizer directory's (the bundled GPT-2 tokenizer for a bare .pt, as at load).
GgufVocabulary model_gguf_vocabulary(const std::filesystem::path& path, int32_t vocab_size);

// A .gguf file's tokenizer, else Tokenizer::from_directory(path). Throws TokenizerError (a file
// that is not valid GGUF: ModelError).
Tokenizer load_model_tokenizer(const std::filesystem::path& path);

}  // namespace dschat
