// One message of a chat as the model sees it and the conversation records it: role, text, and
// for assistant replies their statistics. The conversation (app/chat/conversation.h) holds a list
// of them; responders (app/backend/responder.h) answer one.
#pragma once

#include <optional>
#include <string>

#include "engine/generation.h"

namespace dschat {

enum class Role { System, User, Assistant };
const char* role_name(Role role);  // "system", "user", "assistant"

struct Message {
  Role role = Role::User;
  std::string content;
  std::string time;                      // ISO 8601 UTC, e.g. "2026-11-22T10:00:00Z"
  std::optional<GenerationStats> stats;  // assistant messages
  bool interrupted = false;              // assistant reply stopped by the user (kept)
};

}  // namespace dschat
