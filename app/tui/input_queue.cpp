#include "app/tui/input_queue.h"

namespace dschat {

bool runs_during_reply(ChatCommand::Kind kind) {
  using K = ChatCommand::Kind;
  switch (kind) {
    case K::Help:
    case K::Show:
    case K::List:
    case K::Stats:
    case K::SetThink:
    case K::SetMarkdown:
    case K::Copy:
    case K::Exit:
    case K::Invalid:  // its explanation, at once
      return true;
    case K::Message:
    case K::SetParameter:
    case K::SetSystem:
    case K::Clear:
    case K::Regenerate:
    case K::Undo:
    case K::Save:
    case K::Load:
    case K::Export:
      return false;
  }
  return false;
}

std::optional<std::string> InputQueue::take_back() {
  if (entries_.empty()) return std::nullopt;
  std::string last = std::move(entries_.back());
  entries_.pop_back();
  if (entries_.empty()) held_ = false;
  return last;
}

std::optional<std::string> InputQueue::next() {
  if (entries_.empty() || held_) return std::nullopt;
  std::string first = std::move(entries_.front());
  entries_.pop_front();
  return first;
}

std::vector<std::string> queued_lines(const InputQueue& queue, bool leaving) {
  std::vector<std::string> out;
  if (queue.empty()) return out;
  for (const std::string& entry : queue.entries()) {
    const size_t newline = entry.find('\n');
    out.push_back("queued: " + (newline == std::string::npos ? entry : entry.substr(0, newline) + " \u2026"));
  }
  if (leaving) {
    out.push_back("(not sent: the chat ended first)");
    return out;
  }
  out.push_back(queue.held() ? "(not sent: Enter on an empty line sends, Up or Esc takes it back to edit)"
                             : "(sent when the reply ends; Up takes it back to edit)");
  return out;
}

}  // namespace dschat
