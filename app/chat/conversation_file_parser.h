// Reading a conversation file's text without a DOM of it: nlohmann's SAX parser feeds the values
// straight into the Conversation. The top-level fields and one message at a time are built as
// small JSON values holding only the keys the format reads (a value under any other key is
// skipped, whatever its size), checked by app/chat/conversation_reader.h, and each message's
// strings moved into the Conversation. So the memory is the messages' text and one message, not
// a DOM of the file (about 5 times its size: a 500 MB file took 5.1 GB and 49 s).
#pragma once

#include <string>
#include <string_view>

#include "app/chat/conversation.h"

namespace dschat {

// The conversation in `text`, a conversation file's contents; `origin` names the file in errors.
// Gives what conversation_from_json(nlohmann::json::parse(text), origin) gives, and throws
// ConversationError with the same message for the same problem, plus for text that is not JSON
// "ORIGIN: not valid JSON (<the parser's message>)" and for nesting deeper than kMaxJsonDepth
// (common/json_limits.h) "ORIGIN: JSON nested deeper than 256 levels". Problems are reported in
// the order conversation_from_json checks them, wherever they are in the file: a syntax error or
// the depth first, then the top-level fields, then the first bad message.
Conversation parse_conversation_file(std::string_view text, const std::string& origin);

}  // namespace dschat
