// `dschat --resume` with several saved conversations, on a terminal: the numbered listing
// (newest first, as --conversations and /list show it) and a question; the answer is a number,
// the start of a title, Enter for the newest, "n" for a new conversation or "q" to leave. A wrong
// answer is explained and asked again. Plain stdio, before the chat window opens.
#pragma once

#include <cstdio>
#include <filesystem>
#include <vector>

#include "app/chat/conversation_store.h"

namespace dschat {

struct ConversationPick {
  enum class Kind { Resume, New, Quit } kind = Kind::Quit;
  std::filesystem::path path;  // Kind::Resume
};

// Asks on `out`, reads answers from `in` (end of input: Quit). At most `shown` lines are listed
// (then a line says how many more; their numbers still work).
ConversationPick pick_conversation(const std::vector<ConversationFileInfo>& conversations, std::FILE* in,
                                   std::FILE* out, size_t shown = 20);

}  // namespace dschat
