// Fuzz target: a conversation file read by ConversationStore::load. An accepted conversation
// must survive a save/load round trip unchanged (what we write, we read back).
#include "app/chat/conversation.h"
#include "app/chat/conversation_store.h"
#include "tests/fuzz/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto path = dschat::fuzz::scratch_dir() / "conversation.json";
  dschat::fuzz::write_bytes(path, data, size);
  dschat::Conversation conversation;
  try {
    conversation = dschat::ConversationStore::load(path);
  } catch (const dschat::ConversationError&) {
    return 0;
  }
  const nlohmann::json once = dschat::conversation_to_json(conversation);
  dschat::Conversation again;
  try {
    again = dschat::conversation_from_json(once, "round trip");
  } catch (const dschat::ConversationError& e) {
    std::fprintf(stderr, "%s\n", e.what());
    dschat::fuzz::property_failed("a loaded conversation does not load again after saving");
  }
  if (dschat::conversation_to_json(again) != once) dschat::fuzz::property_failed("save/load round trip changed the conversation");
  (void)dschat::conversation_to_markdown(again);
  return 0;
}
