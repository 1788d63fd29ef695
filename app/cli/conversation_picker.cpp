#include "app/cli/conversation_picker.h"

#include <string>

#include "app/chat/conversation_list.h"
#include "app/cli/terminal_safe_text.h"
#include "common/bounded_read.h"

namespace dschat {

ConversationPick pick_conversation(const std::vector<ConversationFileInfo>& conversations, std::FILE* in,
                                   std::FILE* out, size_t shown) {
  const std::vector<ConversationFileInfo> listed(conversations.begin(),
                                                 conversations.begin() + std::min(shown, conversations.size()));
  std::string listing = format_conversation_list(listed);
  std::fprintf(out, "Saved conversations, newest first:\n%s\n", terminal_safe_text(listing).c_str());
  if (listed.size() < conversations.size())
    std::fprintf(out, "  ... and %zu older (dschat --conversations lists them all)\n", conversations.size() - listed.size());
  std::string line;
  bool too_long = false;
  while (true) {
    std::fprintf(out, "Resume which? (1-%zu or the start of a title; Enter: 1, n: a new conversation, q: quit) ",
                 conversations.size());
    std::fflush(out);
    if (!read_line_bounded(in, line, kInputLineLimit, too_long)) {
      std::fputc('\n', out);
      return {};
    }
    while (!line.empty() && (line.back() == ' ' || line.back() == '\r' || line.back() == '\t')) line.pop_back();
    while (!line.empty() && (line.front() == ' ' || line.front() == '\t')) line.erase(0, 1);
    if (too_long) continue;
    if (line.empty()) return {ConversationPick::Kind::Resume, conversations.front().path};
    if (line == "n" || line == "N") return {ConversationPick::Kind::New, {}};
    if (line == "q" || line == "Q") return {};
    try {
      return {ConversationPick::Kind::Resume, resolve_conversation(conversations, line)};
    } catch (const ConversationError& e) {
      std::fprintf(out, "%s\n", terminal_safe_text(e.what()).c_str());
    }
  }
}

}  // namespace dschat
