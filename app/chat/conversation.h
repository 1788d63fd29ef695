// A conversation as data: system prompt, user and assistant messages with their time and
// statistics, and its JSON form (the conversation file format of DESIGN.md, whose `messages`
// follow the OpenAI chat format) and Markdown export.
#pragma once

#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "app/backend/chat_message.h"
#include "engine/sampler.h"

namespace dschat {

// A conversation file that cannot be read: the message names the file and what is wrong.
struct ConversationError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct ModelRef {
  std::string path;
  std::string name;
};

struct Conversation {
  std::string id;        // file stem, e.g. "20261122-100000-3fa9"; never from user text
  std::string created;   // ISO 8601 UTC
  std::string updated;
  ModelRef model;
  std::string title;     // from the first user message (app/chat/conversation_list.h); "" until then
  std::string system;    // system prompt ("" = none)
  SamplingParams sampling;
  std::vector<Message> messages;  // user/assistant, alternating, starting with user
};

// Current time as ISO 8601 UTC with seconds ("2026-11-22T10:00:00Z").
std::string utc_now_iso8601();
// A fresh conversation id from the current time and random bits: "YYYYMMDD-HHMMSS-xxxx".
std::string new_conversation_id();

// JSON in the DESIGN.md format: format, version, created, updated, model, system, sampling,
// messages (role, content, time; assistant: stats {tokens, tokens_per_second, stop, ...};
// "interrupted": true when interrupted).
nlohmann::json conversation_to_json(const Conversation& conversation);
// The file's text: conversation_to_json(conversation).dump(2) + "\n", byte for byte, made one
// message at a time without a DOM of the whole conversation (which took about 5 times its text).
// With `id`: the same conversation under that id (a fork to a new file), without copying it.
std::string conversation_file_text(const Conversation& conversation);
std::string conversation_file_text(const Conversation& conversation, const std::string& id);
// Reads that format back. `origin` names the file in error messages. Throws ConversationError.
// (A file's text is read without a DOM by parse_conversation_file, app/chat/conversation_file_parser.h.)
Conversation conversation_from_json(const nlohmann::json& json, const std::string& origin);

// Markdown: a title, the system prompt, then "**User**" / "**Assistant**" sections.
std::string conversation_to_markdown(const Conversation& conversation);

}  // namespace dschat
