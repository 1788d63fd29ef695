// The checks and conversions that turn the JSON of a conversation file (DESIGN.md's format) into
// a Conversation, in two parts so that the messages can arrive one at a time: the top-level
// fields, and each element of "messages". conversation_from_json() applies them to a whole DOM;
// the streaming parser of conversation files (app/chat/conversation_file_parser.h) to the
// top-level object without its messages and to one message at a time, so no DOM of the whole file
// is ever built. Both give the same Conversation and the same errors. A key read here must also be
// in that parser's schema of kept keys (kRoot, kMessage, ... in conversation_file_parser.cpp).
#pragma once

#include <cstddef>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "app/chat/conversation.h"

namespace dschat {

// Checks and reads the top-level object: format, version, id, created, updated, system, title,
// model, sampling (the ranges of /set), and that "messages" is an array (its elements are left to
// ConversationMessageReader). Throws ConversationError, naming `origin`, in this order: not an
// object, format, version, sampling, messages.
void read_conversation_header(const nlohmann::json& root, const std::string& origin, Conversation& conversation);

// Reads the elements of "messages" in order: role, content, time, stats, interrupted, and for
// an assistant reasoning, reasoning_tokens, model. A "system" message (OpenAI style) is the
// system prompt when the file has none. Strings are moved out of the values given.
class ConversationMessageReader {
 public:
  explicit ConversationMessageReader(std::string origin) : origin_(std::move(origin)) {}

  // The next element. Throws ConversationError naming the message's index ("message 3 ...").
  void add(nlohmann::json message);
  // Moves the messages read into `conversation` (whose header was read first).
  void finish(Conversation& conversation);

 private:
  std::string origin_;
  size_t index_ = 0;                  // of the next element, system messages included
  std::vector<Message> messages_;
  std::string system_from_messages_;  // the first non-empty "system" message
};

}  // namespace dschat
