#include "app/backend/chat_template.h"

#include <algorithm>
#include <stdexcept>

#include "tokenizer/tokenizer.h"

namespace dschat {

namespace {

const char* kBos = "<｜begin▁of▁sentence｜>";
const char* kEos = "<｜end▁of▁sentence｜>";
const char* kUser = "<｜User｜>";
const char* kAssistant = "<｜Assistant｜>";

// deepseek-ai/DeepSeek-V3 tokenizer_config.json chat_template, reduced to the parts a chat
// without tools reaches (system prompts joined by "\n\n" after bos; no tool branches).
const char* kDeepSeekV3Jinja =
    "{% if not add_generation_prompt is defined %}{% set add_generation_prompt = false %}{% endif %}"
    "{% set ns = namespace(system_prompt='', is_first_sp=true) %}"
    "{%- for message in messages %}{%- if message['role'] == 'system' %}"
    "{%- if ns.is_first_sp %}{% set ns.system_prompt = ns.system_prompt + message['content'] %}"
    "{% set ns.is_first_sp = false %}{%- else %}"
    "{% set ns.system_prompt = ns.system_prompt + '\\n\\n' + message['content'] %}{%- endif %}"
    "{%- endif %}{%- endfor %}{{ bos_token }}{{ ns.system_prompt }}"
    "{%- for message in messages %}"
    "{%- if message['role'] == 'user' %}{{'<｜User｜>' + message['content']}}{%- endif %}"
    "{%- if message['role'] == 'assistant' %}{{'<｜Assistant｜>' + message['content'] + '<｜end▁of▁sentence｜>'}}{%- endif %}"
    "{%- endfor %}{% if add_generation_prompt %}{{'<｜Assistant｜>'}}{% endif %}";

// deepseek-ai/DeepSeek-V2-Chat (and V2-Lite-Chat) tokenizer_config.json chat_template.
const char* kDeepSeekV2Jinja =
    "{% if not add_generation_prompt is defined %}{% set add_generation_prompt = false %}{% endif %}"
    "{{ bos_token }}{% for message in messages %}{% if message['role'] == 'user' %}"
    "{{ 'User: ' + message['content'] + '\\n\\n' }}{% elif message['role'] == 'assistant' %}"
    "{{ 'Assistant: ' + message['content'] + eos_token }}{% elif message['role'] == 'system' %}"
    "{{ message['content'] + '\\n\\n' }}{% endif %}{% endfor %}"
    "{% if add_generation_prompt %}{{ 'Assistant:' }}{% endif %}";

// The seed iOS app's template (matthewchung74/poc, POC/mlx_model/tokenizer_config.json):
// contents concatenated, no separators, no system prompt, no generation prompt.
const char* kConcatJinja =
    "{% for message in messages %}{% if message['role'] == 'user' %}{{ message['content'] }}"
    "{% elif message['role'] == 'assistant' %}{{ message['content'] }}{% endif %}{% endfor %}";

// For base models: plain "User:" / "Assistant:" lines; "\nUser:" ends a reply.
const char* kPlainJinja =
    "{% for message in messages %}{% if message['role'] == 'system' %}{{ message['content'] + '\\n\\n' }}"
    "{% elif message['role'] == 'user' %}{{ 'User: ' + message['content'] + '\\n' }}"
    "{% elif message['role'] == 'assistant' %}{{ 'Assistant: ' + message['content'] + '\\n' }}{% endif %}"
    "{% endfor %}{% if add_generation_prompt %}{{ 'Assistant:' }}{% endif %}";

std::string without_whitespace(const std::string& s) {
  std::string out;
  for (char c : s)
    if (c != ' ' && c != '\n' && c != '\t' && c != '\r') out += c;
  return out;
}

class PieceBuilder {
 public:
  void text(const std::string& t) {
    if (t.empty()) return;
    if (!pieces_.empty() && pieces_.back().kind == PromptPiece::Kind::Text)
      pieces_.back().text += t;
    else
      pieces_.push_back({PromptPiece::Kind::Text, t});
  }
  void special(const char* token) { pieces_.push_back({PromptPiece::Kind::Special, token}); }
  std::vector<PromptPiece> take() { return std::move(pieces_); }

 private:
  std::vector<PromptPiece> pieces_;
};

}  // namespace

ChatTemplate::ChatTemplate(Kind kind, std::string name, std::string jinja, std::vector<std::string> stops)
    : kind_(kind), name_(std::move(name)), jinja_(std::move(jinja)), stop_strings_(std::move(stops)) {}

std::vector<std::string> ChatTemplate::names() { return {"deepseek-v3", "deepseek-v2", "concat", "plain"}; }

ChatTemplate ChatTemplate::by_name(const std::string& name) {
  if (name == "deepseek-v3") return ChatTemplate(Kind::DeepSeekV3, name, kDeepSeekV3Jinja, {});
  if (name == "deepseek-v2") return ChatTemplate(Kind::DeepSeekV2, name, kDeepSeekV2Jinja, {});
  if (name == "concat") return ChatTemplate(Kind::Concat, name, kConcatJinja, {});
  // A base model continues the transcript: a new "User:" or "Assistant:" line ends the reply.
  if (name == "plain") return ChatTemplate(Kind::Plain, name, kPlainJinja, {"\nUser:", "\nAssistant:"});
  throw std::invalid_argument("unknown chat template '" + name +
                              "' (known: deepseek-v3, deepseek-v2, concat, plain)");
}

ChatTemplate ChatTemplate::detect(const std::optional<std::string>& chat_template, bool has_deepseek_tokens) {
  if (chat_template) {
    const std::string& t = *chat_template;
    if (t.find(kUser) != std::string::npos && t.find(kAssistant) != std::string::npos) return by_name("deepseek-v3");
    // "User: " ... "Assistant:" lines: deepseek-v2 ends replies with eos_token, plain with "\n".
    const bool user_assistant_lines = (t.find("'User: '") != std::string::npos || t.find("\"User: \"") != std::string::npos) &&
                                      (t.find("'Assistant:") != std::string::npos || t.find("\"Assistant:") != std::string::npos);
    if (user_assistant_lines) return by_name(t.find("eos_token") != std::string::npos ? "deepseek-v2" : "plain");
    if (without_whitespace(t) == without_whitespace(kConcatJinja)) return by_name("concat");
  }
  return by_name(has_deepseek_tokens ? "deepseek-v3" : "plain");
}

ChatTemplate ChatTemplate::detect(const Tokenizer& tokenizer) {
  bool deepseek = tokenizer.token_to_id(kUser).has_value() && tokenizer.token_to_id(kAssistant).has_value();
  return detect(tokenizer.config().chat_template, deepseek);
}

bool ChatTemplate::reply_strips_leading_space() const {
  return kind_ == Kind::DeepSeekV2 || kind_ == Kind::Plain;
}

std::vector<PromptPiece> ChatTemplate::render(const std::string& system, const std::vector<Message>& messages,
                                              bool add_generation_prompt) const {
  PieceBuilder b;
  switch (kind_) {
    case Kind::DeepSeekV3:
      b.special(kBos);
      b.text(system);
      for (const Message& m : messages) {
        if (m.role == Role::User) {
          b.special(kUser);
          b.text(m.content);
        } else if (m.role == Role::Assistant) {
          b.special(kAssistant);
          b.text(m.content);
          b.special(kEos);
        }
      }
      if (add_generation_prompt) b.special(kAssistant);
      break;
    case Kind::DeepSeekV2:
      b.special(kBos);
      if (!system.empty()) b.text(system + "\n\n");
      for (const Message& m : messages) {
        if (m.role == Role::User) {
          b.text("User: " + m.content + "\n\n");
        } else if (m.role == Role::Assistant) {
          b.text("Assistant: " + m.content);
          b.special(kEos);
        }
      }
      if (add_generation_prompt) b.text("Assistant:");
      break;
    case Kind::Concat:
      for (const Message& m : messages)
        if (m.role != Role::System) b.text(m.content);
      break;
    case Kind::Plain:
      if (!system.empty()) b.text(system + "\n\n");
      for (const Message& m : messages) {
        if (m.role == Role::User) b.text("User: " + m.content + "\n");
        else if (m.role == Role::Assistant) b.text("Assistant: " + m.content + "\n");
      }
      if (add_generation_prompt) b.text("Assistant:");
      break;
  }
  return b.take();
}

std::string ChatTemplate::render_text(const std::string& system, const std::vector<Message>& messages,
                                      bool add_generation_prompt) const {
  std::string out;
  for (const PromptPiece& p : render(system, messages, add_generation_prompt)) out += p.text;
  return out;
}

std::vector<int32_t> encode_prompt(const Tokenizer& tokenizer, const std::vector<PromptPiece>& pieces) {
  // The templates' control tokens are text inside a message: DeepSeek-V3's tokenizer.json marks
  // <｜User｜> and <｜Assistant｜> "special": false, so plain encoding would match them.
  std::vector<int32_t> control_ids;
  for (const char* token : {kBos, kEos, kUser, kAssistant}) {
    if (std::optional<int32_t> id = tokenizer.token_to_id(token)) control_ids.push_back(*id);
  }
  std::vector<int32_t> ids;
  for (const PromptPiece& p : pieces) {
    if (p.kind == PromptPiece::Kind::Special) {
      std::optional<int32_t> id = tokenizer.token_to_id(p.text);
      if (!id)
        throw std::runtime_error("the chat template needs the special token " + p.text +
                                 ", which this model's tokenizer does not have (choose another with --template)");
      ids.push_back(*id);
    } else {
      std::vector<int32_t> t = tokenizer.encode(p.text, /*parse_special=*/false, control_ids);
      ids.insert(ids.end(), t.begin(), t.end());
    }
  }
  return ids;
}

}  // namespace dschat
