#include "app/tui/clipboard.h"

#include <cstring>

#include "app/tui/markdown_render.h"

namespace dschat {

std::string base64_encode(std::string_view bytes) {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    const uint32_t v = static_cast<uint32_t>(static_cast<unsigned char>(bytes[i])) << 16 |
                       static_cast<uint32_t>(static_cast<unsigned char>(bytes[i + 1])) << 8 |
                       static_cast<unsigned char>(bytes[i + 2]);
    for (int shift : {18, 12, 6, 0}) out += kAlphabet[(v >> shift) & 63];
  }
  const size_t left = bytes.size() - i;
  if (left > 0) {
    uint32_t v = static_cast<uint32_t>(static_cast<unsigned char>(bytes[i])) << 16;
    if (left == 2) v |= static_cast<uint32_t>(static_cast<unsigned char>(bytes[i + 1])) << 8;
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += left == 2 ? kAlphabet[(v >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

std::string osc52_sequence(std::string_view text, bool in_tmux) {
  const std::string osc = "\x1b]52;c;" + base64_encode(text) + "\x07";
  if (!in_tmux) return osc;
  std::string wrapped = "\x1bPtmux;";
  for (char c : osc) {
    if (c == '\x1b') wrapped += '\x1b';  // tmux's passthrough: every ESC inside is doubled
    wrapped += c;
  }
  wrapped += "\x1b\\";
  return osc + wrapped;
}

std::string clipboard_unavailable_reason(const char* term, bool stdout_is_terminal) {
  if (!stdout_is_terminal) return "/copy needs a terminal: stdout is not one, so there is no clipboard to reach";
  if (!term || !*term) return "/copy needs a terminal that takes OSC 52: TERM is not set";
  if (std::strcmp(term, "dumb") == 0) return "/copy needs a terminal that takes OSC 52: TERM=dumb takes no escape sequences";
  if (std::strcmp(term, "linux") == 0) return "/copy needs a terminal that takes OSC 52: the Linux console (TERM=linux) has no clipboard";
  return "";
}

std::optional<CopyChoice> choose_copy(const Conversation& conversation, const std::string& which, std::string& error) {
  const Message* reply = nullptr;
  for (auto it = conversation.messages.rbegin(); it != conversation.messages.rend(); ++it) {
    if (it->role == Role::Assistant) {
      reply = &*it;
      break;
    }
  }
  if (!reply) {
    error = "nothing to copy yet: there is no reply";
    return std::nullopt;
  }
  if (which.empty()) return CopyChoice{reply->content, "the last reply"};
  const std::vector<FencedCodeBlock> blocks = fenced_code_blocks(reply->content);
  const size_t n = std::stoul(which);
  if (n < 1 || n > blocks.size()) {
    error = blocks.empty() ? "the last reply has no code block to copy (/copy copies the whole reply)"
                           : "the last reply has code blocks [1] to [" + std::to_string(blocks.size()) + "]; no [" +
                                 which + "]";
    return std::nullopt;
  }
  const FencedCodeBlock& block = blocks[n - 1];
  return CopyChoice{block.code,
                    "code block [" + which + "]" + (block.language.empty() ? "" : " (" + block.language + ")")};
}

}  // namespace dschat
