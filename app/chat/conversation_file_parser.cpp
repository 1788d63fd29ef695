#include "app/chat/conversation_file_parser.h"

#include <cstddef>
#include <optional>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "app/chat/conversation_reader.h"
#include "common/json_limits.h"

namespace dschat {

namespace {

using nlohmann::json;

// Which keys of an object are kept, and for each what is kept inside its value.
struct ObjectSchema;
struct SchemaField {
  std::string_view key;
  const ObjectSchema* object = nullptr;  // when the value is an object: its keys kept; nullptr: none
                                         // (an array or object value is kept empty, for its type)
  bool messages = false;                 // the "messages" array: its elements are read one by one
};
struct ObjectSchema {
  std::vector<SchemaField> fields;
  const SchemaField* find(std::string_view key) const {
    for (const SchemaField& f : fields)
      if (f.key == key) return &f;
    return nullptr;
  }
};

// The keys conversation_reader.cpp reads (a key missing here would be dropped from every file:
// ConversationFileParser.EveryFieldRoundTrips would fail).
const ObjectSchema kStats{{{"tokens"}, {"tokens_per_second"}, {"stop"}, {"prompt_tokens"}, {"reused_tokens"},
                           {"prefill_tokens_per_second"}, {"time_to_first_token"}, {"decode_seconds"},
                           {"prefill_seconds"}, {"drafted_tokens"}, {"accepted_tokens"}, {"verify_steps"}}};
const ObjectSchema kMessage{{{"role"}, {"content"}, {"time"}, {"stats", &kStats}, {"interrupted"}, {"reasoning"},
                             {"reasoning_tokens"}, {"model"}}};
const ObjectSchema kModel{{{"path"}, {"name"}}};
const ObjectSchema kSampling{
    {{"temperature"}, {"top_p"}, {"top_k"}, {"min_p"}, {"repeat_penalty"}, {"repeat_last_n"}, {"seed"}}};
const ObjectSchema kRoot{{{"format"}, {"version"}, {"id"}, {"created"}, {"updated"}, {"system"}, {"title"},
                          {"model", &kModel}, {"sampling", &kSampling}, {"messages", nullptr, true}}};

class ConversationSax : public nlohmann::json_sax<json> {
 public:
  explicit ConversationSax(const std::string& origin) : origin_(origin), messages_(origin) {}

  bool null() override { return scalar(json(nullptr)); }
  bool boolean(bool v) override { return scalar(json(v)); }
  bool number_integer(number_integer_t v) override { return scalar(json(v)); }
  bool number_unsigned(number_unsigned_t v) override { return scalar(json(v)); }
  bool number_float(number_float_t v, const string_t&) override { return scalar(json(v)); }
  bool string(string_t& v) override {
    // Copied (not moved) from the parser's buffer: the copy is the string's size, the buffer
    // has grown by doubling.
    return target().kept() ? scalar(json(v)) : true;
  }
  bool binary(binary_t&) override { return true; }  // only in binary formats, never in JSON text

  bool start_object(std::size_t) override {
    enter();
    Target t = target();
    if (t.message) {
      message_ = json::object();
      stack_.push_back(Frame{Frame::kMessage, &message_, &kMessage});
      return true;
    }
    if (t.slot) {
      *t.slot = json::object();  // what the format reads of it, or empty for its type
      if (t.messages) restart_messages();
    }
    stack_.push_back(Frame{Frame::kObject, t.slot && t.schema ? t.slot : nullptr, t.schema});
    return true;
  }

  bool key(string_t& k) override {
    Frame& top = stack_.back();
    const SchemaField* f = top.container ? top.schema->find(k) : nullptr;
    top.slot = f ? &(*top.container)[k] : nullptr;  // a repeated key: the last value counts, as in a DOM
    top.slot_schema = f ? f->object : nullptr;
    top.slot_is_messages = f && f->messages;
    return true;
  }

  bool end_object() override {
    const bool message = stack_.back().kind == Frame::kMessage;
    stack_.pop_back();
    if (message) add_message(std::move(message_));
    return true;
  }

  bool start_array(std::size_t) override {
    enter();
    Target t = target();
    Frame::Kind kind = Frame::kSkipped;
    if (t.message) {
      add_message(json::array());  // "message N is not an object"
    } else if (t.slot) {
      *t.slot = json::array();
      if (t.messages) {
        restart_messages();
        kind = Frame::kMessages;
      }
    }
    stack_.push_back(Frame{kind, nullptr, nullptr});
    return true;
  }

  bool end_array() override {
    stack_.pop_back();
    return true;
  }

  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception& e) override {
    throw ConversationError(origin_ + ": not valid JSON (" + e.what() + ")");
  }

  // After the parse: the checks in conversation_from_json's order.
  Conversation conversation() {
    Conversation c;
    read_conversation_header(root_, origin_, c);
    if (message_error_) throw ConversationError(*message_error_);
    messages_.finish(c);
    return c;
  }

 private:
  struct Frame {
    enum Kind { kObject, kMessage, kMessages, kSkipped } kind;
    json* container;       // objects: the value being filled; nullptr: its contents are skipped
    const ObjectSchema* schema;
    json* slot = nullptr;  // where the value of the last key goes (nullptr: skipped)
    const ObjectSchema* slot_schema = nullptr;
    bool slot_is_messages = false;
  };
  // Where the next value goes.
  struct Target {
    json* slot = nullptr;  // nullptr: skipped (unless `message`)
    const ObjectSchema* schema = nullptr;
    bool messages = false;  // the value of "messages"
    bool message = false;   // an element of "messages"
    bool kept() const { return slot || message; }
  };

  Target target() {
    if (stack_.empty()) return Target{&root_, &kRoot};
    const Frame& top = stack_.back();
    switch (top.kind) {
      case Frame::kObject:
      case Frame::kMessage: return Target{top.slot, top.slot_schema, top.slot_is_messages};
      case Frame::kMessages: return Target{nullptr, nullptr, false, true};
      case Frame::kSkipped: break;
    }
    return Target{};
  }

  bool scalar(json v) {
    Target t = target();
    if (t.message) {
      add_message(std::move(v));
    } else if (t.slot) {
      *t.slot = std::move(v);
      if (t.messages) restart_messages();
    }
    return true;
  }

  // The bound of parse_json_bounded (common/json_limits.h), with its message.
  void enter() const {
    if (stack_.size() + 1 > static_cast<std::size_t>(kMaxJsonDepth)) throw JsonTooDeep(json_too_deep_message(kMaxJsonDepth));
  }

  // A (repeated) "messages" key: as in a DOM, only its last value counts.
  void restart_messages() {
    messages_ = ConversationMessageReader(origin_);
    message_error_.reset();
  }

  // The first bad message is kept to be reported after the top-level fields are checked; the
  // rest is parsed (a syntax error further on is reported first) but not read.
  void add_message(json message) {
    if (message_error_) return;
    try {
      messages_.add(std::move(message));
    } catch (const ConversationError& e) {
      message_error_ = e.what();
    }
  }

  std::string origin_;
  json root_;  // the top-level value without the elements of "messages"
  json message_;  // the message being parsed
  std::vector<Frame> stack_;
  ConversationMessageReader messages_;
  std::optional<std::string> message_error_;
};

}  // namespace

Conversation parse_conversation_file(std::string_view text, const std::string& origin) {
  ConversationSax sax(origin);
  try {
    json::sax_parse(text.data(), text.data() + text.size(), &sax);
  } catch (const JsonTooDeep& e) {
    throw ConversationError(origin + ": " + e.what());
  }
  return sax.conversation();
}

}  // namespace dschat
