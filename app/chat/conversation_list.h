// Finding past conversations: titles (from the first user message, stored in the file), the
// numbered listing of /list and `dschat --conversations` (newest first), and what `/load ARG` and
// `dschat --resume ARG` mean: the Nth of that listing, a file (with "~" expanded), or the start of
// a title.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "app/chat/conversation_store.h"

namespace dschat {

// A title from a first message: its first non-blank line, blank space collapsed, cut at a word
// boundary to at most 60 bytes (whole UTF-8 characters) with "…" when cut; control characters
// dropped.
std::string conversation_title(std::string_view first_message);

// "~" and "~/..." become $HOME and $HOME/... ; anything else is returned as it is.
std::filesystem::path expand_home(std::string_view path);

// The listing, one line a conversation, newest first (as ConversationStore::list() orders them):
// "  1  2026-12-03 10:17  kjv-demo  4 messages  Who was Moses?". "" when there is none.
std::string format_conversation_list(const std::vector<ConversationFileInfo>& conversations);

// The file `argument` names: a number N (the Nth of `conversations`), an existing file ("~"
// expanded), or the case-insensitive start of exactly one title. Throws ConversationError naming
// what is wrong (out of range, no match, several matches).
std::filesystem::path resolve_conversation(const std::vector<ConversationFileInfo>& conversations,
                                           std::string_view argument);

}  // namespace dschat
