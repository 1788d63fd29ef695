// The tokenizer of a model path, whatever its format: DIR/tokenizer.json (+ tokenizer_config.json)
// for a directory (or the directory of a .pt file), the `tokenizer.ggml.*` metadata of a .gguf file
// (tokenizer/gguf_vocabulary.h).
#pragma once

#include <filesystem>

#include "engine/io/gguf_file.h"
#include "tokenizer/gguf_vocabulary.h"
#include "tokenizer/tokenizer.h"

namespace dschat {

bool is_gguf_path(const std::filesystem::path& path);  // a .gguf that is not a directory

// The vocabulary keys of `file`. Throws TokenizerError naming the file and key when one is
// missing or of the wrong type.
GgufVocabulary gguf_vocabulary(const GgufFile& file);

// A .gguf file's tokenizer, else Tokenizer::from_directory(path). Throws TokenizerError (a file
// that is not valid GGUF: ModelError).
Tokenizer load_model_tokenizer(const std::filesystem::path& path);

}  // namespace dschat
