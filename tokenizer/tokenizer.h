// Hugging Face tokenizer.json byte-level BPE (GPT-2, DeepSeek-V3).
// Public interface of the tokenizer library; the rest of the project uses only this header.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace dschat {

// Any problem with a tokenizer file or with text given to the tokenizer. The message names the
// file (and the JSON path) where it can.
struct TokenizerError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// What tokenizer_config.json says (all optional).
struct TokenizerConfig {
  std::optional<std::string> bos_token;
  std::optional<std::string> eos_token;
  std::optional<std::string> chat_template;
  bool add_bos_token = false;
};

class Tokenizer {
 public:
  // Reads DIR/tokenizer.json and, when present, DIR/tokenizer_config.json.
  static Tokenizer from_directory(const std::filesystem::path& dir);
  // Parses the text of a tokenizer.json (`origin` names it in error messages). The vocabulary
  // and merges are streamed (tokenizer_json_reader.h); text of another shape goes to from_json_tree.
  static Tokenizer from_json(std::string_view json_text, const std::string& origin = "tokenizer.json");
  // The same through a whole nlohmann::json tree of the text: the reference from_json is tested
  // against, and the path for documents the streaming reader does not take (errors included).
  static Tokenizer from_json_tree(std::string_view json_text, const std::string& origin = "tokenizer.json");

  Tokenizer(Tokenizer&&) noexcept;
  Tokenizer& operator=(Tokenizer&&) noexcept;
  ~Tokenizer();

  // Text -> ids. With parse_special = false (the default) special tokens are plain text:
  // typing "<|endoftext|>" does not give its id. Added tokens that are not special are always
  // recognised (as in Hugging Face tokenizers). No BOS is added: callers (chat templates) insert
  // special tokens explicitly. Invalid UTF-8 is a TokenizerError naming the byte offset.
  // `as_text`: added tokens never matched here, whatever their kind (a chat template's control
  // tokens inside a message, so typed role markers cannot forge a turn).
  // Thread-safe: one Tokenizer may encode from several threads at once.
  std::vector<int32_t> encode(std::string_view utf8, bool parse_special = false,
                              std::span<const int32_t> as_text = {}) const;

  // ids -> text (bytes joined, then converted; never throws for ids in range). Byte sequences
  // that are not valid UTF-8 become U+FFFD, one per maximal invalid subpart.
  std::string decode(std::span<const int32_t> ids, bool skip_special = false) const;

  // The raw bytes a token stands for (byte-level decoded); TokenizerError if out of range.
  std::string token_bytes(int32_t id) const;
  // The token string as written in the vocabulary (e.g. "Ġthe").
  std::string token_text(int32_t id) const;
  std::optional<int32_t> token_to_id(std::string_view token_text) const;
  bool is_special(int32_t id) const;
  int32_t vocab_size() const;  // highest id + 1, added tokens included

  const TokenizerConfig& config() const;
  // Replaces what tokenizer_config.json said (a tokenizer whose settings come from elsewhere:
  // GGUF metadata, tokenizer/gguf_vocabulary.h).
  void set_config(TokenizerConfig config);
  // Makes the ids up to vocab_size - 1 valid, decoding to nothing, where the vocabulary ends
  // before (GGUF's UNUSED padding ids at the end of a model's embedding).
  void extend_ids(int32_t vocab_size);

 private:
  struct Impl;
  struct Sections;  // the parsed parts of a tokenizer.json (tokenizer.cpp)
  explicit Tokenizer(std::unique_ptr<Impl> impl);
  static Tokenizer assemble(Sections&& sections, const std::string& origin);
  std::unique_ptr<Impl> impl_;
};

// Decodes a stream of ids for generation: each push returns the text that is complete so far,
// holding back an incomplete UTF-8 sequence until the token that completes it arrives, so no
// piece ever shows U+FFFD for a split character. The concatenation of all pieces plus finish()
// equals Tokenizer::decode of the whole sequence.
class StreamingDecoder {
 public:
  explicit StreamingDecoder(const Tokenizer& tokenizer, bool skip_special = false);
  std::string push(int32_t id);
  std::string finish();  // flushes what is held back (invalid trailing bytes become U+FFFD)
  void reset();

 private:
  const Tokenizer* tokenizer_;
  bool skip_special_;
  std::string pending_;
};

}  // namespace dschat
