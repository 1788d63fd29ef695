// Fuzz target: a conversation file read by ConversationStore::load. An accepted conversation
// must survive a save/load round trip unchanged (what we write, we read back), and the streaming
// parser load uses (app/chat/conversation_file_parser.h) must agree with reading a DOM of the
// file: the same conversation, or the same error message; and the file text saving writes one
// message at a time must be the DOM's dump(2).
#include "app/chat/conversation.h"
#include "app/chat/conversation_store.h"
#include "common/json_limits.h"
#include "tests/fuzz/fuzz_support.h"

namespace {

// What reading the file through a DOM gives: the conversation's JSON, or the error message
// (as ConversationStore::load worded it before it streamed).
std::string through_a_dom(std::string_view text, const std::string& origin) {
  try {
    return dschat::conversation_to_json(dschat::conversation_from_json(dschat::parse_json_bounded(text.begin(), text.end()), origin))
        .dump();
  } catch (const nlohmann::json::exception& e) {
    return origin + ": not valid JSON (" + e.what() + ")";
  } catch (const dschat::JsonTooDeep& e) {
    return origin + ": " + e.what();
  } catch (const dschat::ConversationError& e) {
    return e.what();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto path = dschat::fuzz::scratch_dir() / "conversation.json";
  dschat::fuzz::write_bytes(path, data, size);
  const std::string dom = through_a_dom(dschat::fuzz::as_text(data, size), path.string());
  dschat::Conversation conversation;
  try {
    conversation = dschat::ConversationStore::load(path);
  } catch (const dschat::ConversationError& e) {
    if (dom != e.what()) {
      std::fprintf(stderr, "streamed: %s\nDOM:      %s\n", e.what(), dom.c_str());
      dschat::fuzz::property_failed("the streaming parser and the DOM disagree");
    }
    return 0;
  }
  const nlohmann::json once = dschat::conversation_to_json(conversation);
  if (once.dump() != dom) {
    std::fprintf(stderr, "streamed: %s\nDOM:      %s\n", once.dump().c_str(), dom.c_str());
    dschat::fuzz::property_failed("the streaming parser and the DOM disagree");
  }
  dschat::Conversation again;
  try {
    again = dschat::conversation_from_json(once, "round trip");
  } catch (const dschat::ConversationError& e) {
    std::fprintf(stderr, "%s\n", e.what());
    dschat::fuzz::property_failed("a loaded conversation does not load again after saving");
  }
  if (dschat::conversation_to_json(again) != once) dschat::fuzz::property_failed("save/load round trip changed the conversation");
  if (dschat::conversation_file_text(again) != once.dump(2) + "\n")
    dschat::fuzz::property_failed("the file text made one message at a time is not the DOM's dump(2)");
  (void)dschat::conversation_to_markdown(again);
  return 0;
}
