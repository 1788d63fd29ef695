// Chat templates: how a conversation becomes the model's prompt. Built in (no Jinja engine),
// chosen by recognising tokenizer_config.json's chat_template, overridable by name.
// Special tokens are emitted as separate pieces and become ids directly, so text a user types
// is never parsed as a special token.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "app/backend/chat_message.h"

namespace dschat {

class Tokenizer;

struct PromptPiece {
  enum class Kind { Text, Special };
  Kind kind = Kind::Text;
  std::string text;  // the text, or the special token as written in the vocabulary
  bool operator==(const PromptPiece&) const = default;
};

class ChatTemplate {
 public:
  // "deepseek-v3", "deepseek-v2", "concat", "plain".
  static std::vector<std::string> names();
  // Throws std::invalid_argument listing the names for an unknown name.
  static ChatTemplate by_name(const std::string& name);
  // Recognises a tokenizer_config.json chat_template (Jinja text); nullopt when absent.
  // Unrecognised or absent: deepseek-v3 when the vocabulary has "<｜User｜>" (`has_deepseek_tokens`),
  // else plain.
  static ChatTemplate detect(const std::optional<std::string>& chat_template, bool has_deepseek_tokens);
  // Detect from a loaded tokenizer (its config's chat_template and its vocabulary).
  static ChatTemplate detect(const Tokenizer& tokenizer);

  const std::string& name() const { return name_; }
  // The template as Jinja text equivalent to what render() does (for `/show template`).
  const std::string& jinja() const { return jinja_; }
  // Strings that end a reply besides eos (plain: "\nUser:", "\nAssistant:").
  const std::vector<std::string>& stop_strings() const { return stop_strings_; }
  // True when the generation prompt ends in "Assistant:" and the stored reply drops the
  // space the model writes after it and trailing whitespace (deepseek-v2, plain), as the
  // messages of Hugging Face chat data are.
  bool reply_strips_leading_space() const;

  // The prompt for `system` (may be empty) and `messages` (user/assistant), followed by the
  // assistant generation prompt when `add_generation_prompt`. Adjacent text pieces are merged.
  std::vector<PromptPiece> render(const std::string& system, const std::vector<Message>& messages,
                                  bool add_generation_prompt) const;
  // The same as one string (special tokens written as their text), for tests and display.
  std::string render_text(const std::string& system, const std::vector<Message>& messages,
                          bool add_generation_prompt) const;

 private:
  enum class Kind { DeepSeekV3, DeepSeekV2, Concat, Plain };
  ChatTemplate(Kind kind, std::string name, std::string jinja, std::vector<std::string> stops);
  Kind kind_;
  std::string name_;
  std::string jinja_;
  std::vector<std::string> stop_strings_;
};

// Pieces -> ids: text through Tokenizer::encode (specials NOT parsed), specials by
// token_to_id. Throws std::runtime_error naming the token when the vocabulary lacks a special.
std::vector<int32_t> encode_prompt(const Tokenizer& tokenizer, const std::vector<PromptPiece>& pieces);

}  // namespace dschat
