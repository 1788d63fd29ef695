// /copy: what to copy (the last reply, or its Nth fenced code block, numbered [N] on screen by
// markdown_render) and how: the OSC 52 "set selection" sequence (xterm's ctlseqs: ESC ] 52 ; c ;
// BASE64 BEL), which the terminal turns into a clipboard write, also over ssh. Inside tmux the
// sequence is sent twice: as it is (tmux takes it into its paste buffer and passes it on with
// `set-clipboard on`) and wrapped in tmux's DCS passthrough (ESC P tmux; ... ESC \, each ESC
// doubled), which reaches the outer terminal with `allow-passthrough on`. No curses here.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "app/chat/conversation.h"

namespace dschat {

// RFC 4648 base64 with padding.
std::string base64_encode(std::string_view bytes);

// The bytes to write to the terminal to put `text` on its clipboard; `in_tmux`: $TMUX is set.
std::string osc52_sequence(std::string_view text, bool in_tmux);

// Why /copy cannot reach a clipboard here ("" when it can): stdout is not a terminal, or TERM is
// unset or "dumb" (a terminal that understands no escape sequences, so none is sent), or the
// Linux console (TERM=linux), which ignores OSC 52.
std::string clipboard_unavailable_reason(const char* term, bool stdout_is_terminal);

// Larger texts are refused: terminals drop or truncate long OSC 52 sequences (xterm and tmux
// keep about 1 MB at most; several stop earlier).
constexpr size_t kMaxCopyBytes = 100000;

struct CopyChoice {
  std::string text;         // what to copy
  std::string description;  // "the last reply" / "code block [2] (python)"
};

// `which` is "" (the last reply's answer, without its reasoning) or N (its Nth fenced code block).
// nullopt with `error` set when there is no reply yet or no such block.
std::optional<CopyChoice> choose_copy(const Conversation& conversation, const std::string& which, std::string& error);

}  // namespace dschat
