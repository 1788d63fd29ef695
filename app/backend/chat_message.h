// One message of a chat as the model sees it and the conversation records it: role, text, and
// for assistant replies their statistics. The conversation (app/chat/conversation.h) holds a list
// of them; responders (app/backend/responder.h) answer one.
#pragma once

#include <optional>
#include <string>
#include <utility>

#include "engine/generation.h"

namespace dschat {

enum class Role { System, User, Assistant };
const char* role_name(Role role);  // "system", "user", "assistant"

struct Message {
  Message() = default;
  Message(Role role, std::string content, std::string time = {}, std::optional<GenerationStats> stats = std::nullopt,
          bool interrupted = false)
      : role(role), content(std::move(content)), time(std::move(time)), stats(std::move(stats)), interrupted(interrupted) {}

  Role role = Role::User;
  std::string content;
  std::string time;                      // ISO 8601 UTC, e.g. "2026-11-22T10:00:00Z"
  std::optional<GenerationStats> stats;  // assistant messages
  bool interrupted = false;              // assistant reply stopped by the user (kept)
  std::string reasoning;                 // assistant: its <think> block (app/backend/reasoning.h),
                                         // never part of `content` nor of the model's later context
  int reasoning_tokens = 0;              // of stats->generated_tokens, those spent reasoning
  std::string model;                     // assistant: the display name of the model that wrote it
};

}  // namespace dschat
