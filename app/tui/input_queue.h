// Input typed while a reply streams: messages and commands that change the conversation wait in
// a visible queue, shown under the reply, and go out one at a time once the reply has ended;
// read-only commands (help, /show, /list, /stats, the view's settings, /copy, /bye) run at once.
// Stopping a reply (Esc, Ctrl+C) holds the queue: nothing queued is sent by itself; Up or Esc on
// an empty input line takes the last queued entry back into the input, Enter on an empty line
// (or a new message) sends what is held. Pure logic, no terminal.
#pragma once

#include <deque>
#include <optional>
#include <string>
#include <vector>

#include "app/chat/chat_commands.h"

namespace dschat {

// True for commands that only read (or only change the view) and so run at once during a reply.
bool runs_during_reply(ChatCommand::Kind kind);

class InputQueue {
 public:
  void push(std::string text) { entries_.push_back(std::move(text)); }
  // The last entry, removed (to edit it in the input line).
  std::optional<std::string> take_back();
  // The first entry, removed, when the queue may send (not held).
  std::optional<std::string> next();
  // After a stopped reply: keep everything until release().
  void hold() { held_ = !entries_.empty(); }
  void release() { held_ = false; }
  bool held() const { return held_; }
  bool empty() const { return entries_.empty(); }
  size_t size() const { return entries_.size(); }
  const std::deque<std::string>& entries() const { return entries_; }
  void clear() { entries_.clear(), held_ = false; }

 private:
  std::deque<std::string> entries_;
  bool held_ = false;
};

// The lines shown for the queue under the transcript: one "queued: TEXT" line per entry (its
// first line, with "…" when it has more) and a line saying what happens to them; `leaving`: the
// chat is ending, so they were not sent.
std::vector<std::string> queued_lines(const InputQueue& queue, bool leaving = false);

}  // namespace dschat
