#include "app/tui/transcript.h"

#include <algorithm>
#include <cstdio>

#include "app/backend/reasoning.h"
#include "app/tui/text_layout.h"

namespace dschat {

std::string format_bytes(double bytes) {
  const char* units[] = {"B", "kB", "MB", "GB", "TB"};
  int unit = 0;
  while (bytes >= 1000 && unit < 4) {
    bytes /= 1000;
    ++unit;
  }
  char buffer[32];
  if (unit == 0) {
    std::snprintf(buffer, sizeof buffer, "%.0f B", bytes);
  } else {
    std::snprintf(buffer, sizeof buffer, "%.1f %s", bytes, units[unit]);
  }
  return buffer;
}

namespace {

// Why a reply stopped, in the words of the conversation file ("eos", "length", ...).
const char* stop_word(StopReason reason) {
  switch (reason) {
    case StopReason::Eos: return "eos";
    case StopReason::Length: return "length";
    case StopReason::User: return "stopped by you";
    case StopReason::Context: return "context full";
    case StopReason::StopString: return "stop string";
    case StopReason::None: break;
  }
  return "-";
}

}  // namespace

std::string format_reply_stats(const GenerationStats& stats) {
  return format_reply_stats(stats, 0);
}

std::string format_reply_stats(const GenerationStats& stats, int reasoning_tokens) {
  char reasoning[48] = "";
  if (reasoning_tokens > 0) std::snprintf(reasoning, sizeof reasoning, " (%d reasoning)", reasoning_tokens);
  // MTP speculative decoding: the share of drafts the model kept (before the stop word, which ends
  // the line).
  char drafts[48] = "";
  if (stats.drafted_tokens > 0)
    std::snprintf(drafts, sizeof drafts, " | drafts %.0f%% kept", 100.0 * stats.acceptance_rate());
  char buffer[320];
  std::snprintf(buffer, sizeof buffer, "%d tokens%s, %.1f tok/s | prompt %d tokens (%d cached), %.0f tok/s%s | %s",
                stats.generated_tokens, reasoning, stats.decode_tokens_per_second, stats.prompt_tokens,
                stats.reused_tokens, stats.prefill_tokens_per_second, drafts, stop_word(stats.stop));
  return buffer;
}

void Transcript::set_conversation(std::shared_ptr<const Conversation> conversation) {
  // Another conversation (/clear, /load): earlier notices go before it, not among its messages.
  if (conversation_ && conversation && conversation_->id != conversation->id) {
    for (Notice& n : notices_) n.after = 0;
  }
  conversation_ = std::move(conversation);
  has_pending_user_ = has_pending_reply_ = regenerating_ = streaming_ = pending_interrupted_ = false;
  pending_user_.clear();
  pending_reply_.clear();
  // Fewer messages than before (/undo, a failed turn): notices that followed the removed ones now
  // follow the last message left, so the messages of later turns come below them, not above.
  const size_t count = entries().size();
  for (Notice& n : notices_) n.after = std::min(n.after, count);
  ++version_;
}

void Transcript::begin_turn(const std::string& user_text) {
  regenerating_ = user_text.empty();
  has_pending_user_ = !regenerating_;
  pending_user_ = user_text;
  has_pending_reply_ = true;
  pending_reply_.clear();
  pending_reasoning_pieces_ = 0;
  pending_reasoning_done_ = false;
  streaming_ = true;
  pending_interrupted_ = false;
  ++version_;
}

void Transcript::append_piece(std::string_view piece) {
  pending_reply_.append(piece);
  if (!pending_reasoning_done_) {  // pieces until </think> are the reasoning's (as the session counts them)
    ReasoningSplit split = split_reasoning(pending_reply_, true);
    if (split.has_reasoning) ++pending_reasoning_pieces_;
    pending_reasoning_done_ = split.has_reasoning ? split.closed : !split.answer.empty();
  }
  ++version_;
}

void Transcript::end_turn(bool interrupted) {
  streaming_ = false;
  pending_interrupted_ = interrupted;
  ++version_;
}

void Transcript::add_notice(NoticeKind kind, std::string text) {
  // A notice that comes before the streamed reply's first piece (the oldest messages left out of
  // the context) is about that reply: it goes above it, not below (where it read as the next
  // reply's). Later ones (the context filled up) follow the reply.
  size_t after = entries().size();
  if (streaming_ && has_pending_reply_ && pending_reply_.empty() && after > 0) --after;
  notices_.push_back({kind, std::move(text), after});
  ++version_;
}

void Transcript::clear_notices() {
  notices_.clear();
  ++version_;
}

size_t Transcript::message_count() const { return entries().size(); }

std::vector<Transcript::Entry> Transcript::entries() const {
  std::vector<Entry> list;
  if (conversation_) {
    const std::vector<Message>& messages = conversation_->messages;
    size_t count = messages.size();
    if (regenerating_ && has_pending_reply_ && count > 0 && messages.back().role == Role::Assistant) --count;
    for (size_t i = 0; i < count; ++i) {
      const Message& m = messages[i];
      if (m.role == Role::System) continue;
      list.push_back({m.role, &m.content, &m, m.interrupted});
    }
  }
  if (has_pending_user_) list.push_back({Role::User, &pending_user_, nullptr, false});
  if (has_pending_reply_) list.push_back({Role::Assistant, &pending_reply_, nullptr, pending_interrupted_});
  return list;
}

const std::vector<std::string>& Transcript::wrapped(size_t slot, const std::string& text, int width) const {
  if (cache_.size() <= slot) cache_.resize(slot + 1);
  WrapCache& c = cache_[slot];
  if (c.width != width || c.text != text) {
    c.width = width;
    c.text = text;
    c.lines = wrap_text(sanitize_for_display(text), width);
  }
  return c.lines;
}

const std::vector<RichLine>& Transcript::answer_lines(size_t slot, const std::string& text, int width) const {
  if (rich_cache_.size() <= slot) rich_cache_.resize(slot + 1);
  RichCache& c = rich_cache_[slot];
  if (c.width != width || c.markdown != markdown_ || c.text != text) {
    c.width = width;
    c.markdown = markdown_;
    c.text = text;
    c.lines.clear();
    if (markdown_) {
      c.lines = render_markdown(text, width);
    } else {
      for (std::string& line : wrap_text(sanitize_for_display(text), width)) c.lines.push_back({std::move(line), {}});
    }
  }
  return c.lines;
}

void Transcript::render_reply(const Entry& e, int width, size_t& slot, std::vector<StyledLine>& out) const {
  const int indent = width >= 8 ? 2 : 0;
  const std::string pad(static_cast<size_t>(indent), ' ');
  const bool streaming_this = !e.message && streaming_;
  std::string reasoning, answer;
  bool thinking = false;  // the reasoning is still being streamed
  int reasoning_tokens = 0;
  if (e.message) {
    reasoning = e.message->reasoning;
    answer = e.message->content;
    reasoning_tokens = e.message->reasoning_tokens;
  } else {
    ReasoningSplit split = split_reasoning(*e.text, streaming_this);
    reasoning = std::move(split.reasoning);
    answer = std::move(split.answer);
    thinking = split.has_reasoning && !split.closed && streaming_this;
    reasoning_tokens = split.has_reasoning ? pending_reasoning_pieces_ : 0;
  }
  const bool has_reasoning = !reasoning.empty() || thinking;
  if (has_reasoning && think_ == ThinkDisplay::Fold) {
    std::string line = thinking ? "\xE2\x96\xB8 thinking" : "\xE2\x96\xB8 thought";  // "▸ "
    if (reasoning_tokens > 0) line += (thinking ? " (" : " for ") + std::to_string(reasoning_tokens) + " tokens" + (thinking ? ")" : "");
    std::string words = first_words(sanitize_for_display(reasoning), 12);
    if (!words.empty()) line += ": " + words;
    out.push_back({LineStyle::Reasoning, pad + std::string(fit_prefix(line, width - indent))});
  } else if (has_reasoning && think_ == ThinkDisplay::Show) {
    out.push_back({LineStyle::Reasoning, pad + (thinking ? "thinking:" : "thought:")});
    for (const std::string& line : wrapped(slot++, reasoning, width - indent)) out.push_back({LineStyle::Reasoning, pad + line});
    if (!answer.empty()) out.push_back({LineStyle::Plain, ""});
  } else if (thinking) {
    out.push_back({LineStyle::Reasoning, pad + "thinking..."});
  }
  if (answer.empty() && streaming_this && !has_reasoning) {
    out.push_back({LineStyle::Stats, pad + "..."});
  } else if (!answer.empty() || !has_reasoning) {
    for (const RichLine& line : answer_lines(slot, answer, width - indent)) {
      StyledLine styled{LineStyle::Assistant, pad + line.text, line.spans};
      for (TextSpan& span : styled.spans) span.begin += pad.size(), span.end += pad.size();
      out.push_back(std::move(styled));
    }
  }
  ++slot;
  if (e.interrupted) out.push_back({LineStyle::Stats, pad + "[stopped]"});
  if (show_stats_ && e.message && e.message->stats) {
    for (const std::string& line :
         wrapped(slot++, format_reply_stats(*e.message->stats, e.message->reasoning_tokens), width - indent)) {
      out.push_back({LineStyle::Stats, pad + line});
    }
  }
}

std::vector<StyledLine> Transcript::render(int width) const {
  if (width < 1) width = 1;
  std::vector<StyledLine> out;
  std::vector<Entry> list = entries();
  const int indent = width >= 8 ? 2 : 0;
  const std::string pad(static_cast<size_t>(indent), ' ');
  size_t slot = 0;
  size_t next_notice = 0;
  auto emit_notices_upto = [&](size_t entries_shown) {
    for (; next_notice < notices_.size(); ++next_notice) {
      const Notice& n = notices_[next_notice];
      if (n.after > entries_shown && entries_shown < list.size()) break;
      LineStyle style = n.kind == NoticeKind::Error ? LineStyle::Error : LineStyle::Notice;
      for (const std::string& line : wrapped(slot++, n.text, width)) out.push_back({style, line});
    }
  };
  emit_notices_upto(0);
  for (size_t i = 0; i < list.size(); ++i) {
    const Entry& e = list[i];
    if (!out.empty()) out.push_back({LineStyle::Plain, ""});
    bool user = e.role == Role::User;
    const std::string label = user ? std::string("You")
                             : e.message && !e.message->model.empty() ? e.message->model : assistant_label_;
    out.push_back({user ? LineStyle::UserLabel : LineStyle::AssistantLabel, std::string(fit_prefix(label, width))});
    if (user) {
      for (const std::string& line : wrapped(slot++, *e.text, width - indent)) out.push_back({LineStyle::User, pad + line});
    } else {
      render_reply(e, width, slot, out);
    }
    emit_notices_upto(i + 1);
  }
  emit_notices_upto(list.size());
  return out;
}

int ScrollState::first_visible(int total_lines, int height) const {
  int max_offset = std::max(0, total_lines - height);
  int offset = std::min(from_bottom_, max_offset);
  return std::max(0, total_lines - height - offset);
}

void ScrollState::page_up(int total_lines, int height) {
  int max_offset = std::max(0, total_lines - height);
  from_bottom_ = std::min(std::min(from_bottom_, max_offset) + std::max(1, height - 1), max_offset);
}

void ScrollState::page_down(int, int height) { from_bottom_ = std::max(0, from_bottom_ - std::max(1, height - 1)); }

void ScrollState::scroll_lines(int lines, int total_lines, int height) {
  const int max_offset = std::max(0, total_lines - height);
  from_bottom_ = std::clamp(std::min(from_bottom_, max_offset) + lines, 0, max_offset);
}

void ScrollState::to_top(int total_lines, int height) { from_bottom_ = std::max(0, total_lines - height); }

void ScrollState::content_changed(int old_total, int new_total) {
  if (from_bottom_ > 0) from_bottom_ = std::max(0, from_bottom_ + new_total - old_total);
}

std::string format_load_progress(uint64_t done, uint64_t total, double seconds, int width, bool pages_from_disk) {
  // Before the first progress report the size is not known: "0 B/0 B" would read as an empty model.
  if (total == 0) return std::string(fit_prefix("Loading (starting)", width));
  int percent = total ? static_cast<int>(done * 100 / total) : 0;
  char head[32];
  std::snprintf(head, sizeof head, "Loading %3d%%", percent);
  std::string sizes = format_bytes(static_cast<double>(done)) + "/" + format_bytes(static_cast<double>(total));
  std::string speed = seconds > 0.05 ? format_bytes(static_cast<double>(done) / seconds) + "/s" : "";
  std::string tail = " " + sizes + (speed.empty() ? "" : " " + speed);
  // A model larger than RAM says so after the sizes, where the bar can give it room.
  const std::string disk = " (larger than RAM: pages from disk)";
  int fixed = static_cast<int>(std::string(head).size() + tail.size()) + 3;
  if (pages_from_disk && width - fixed - static_cast<int>(disk.size()) >= 5) {
    tail += disk;
    fixed += static_cast<int>(disk.size());
  }
  int bar = std::min(30, width - fixed);
  if (bar < 5) {
    tail = " " + sizes;
    fixed = static_cast<int>(std::string(head).size() + tail.size()) + 3;
    bar = std::min(30, width - fixed);
  }
  std::string text = head;
  if (bar >= 5) {
    int filled = static_cast<int>(static_cast<double>(bar) * percent / 100.0);
    text += " [" + std::string(static_cast<size_t>(filled), '=') + std::string(static_cast<size_t>(bar - filled), ' ') + "]";
  }
  text += tail;
  return std::string(fit_prefix(text, width));
}

std::string format_status(const StatusInfo& info, int width) {
  std::string text;
  if (info.loading) {
    text = format_load_progress(info.bytes_done, info.bytes_total, info.load_seconds, width - 1, info.pages_from_disk);
    return " " + text;
  }
  text = " " + (info.model.empty() ? std::string("dschat") : info.model);
  if (info.load_failed) {
    text += " | no model loaded";
  } else if (info.context_max > 0) {
    text += " | ctx " + std::to_string(info.context_used) + "/" + std::to_string(info.context_max);
  }
  if (info.last_tokens_per_second > 0) {
    char tps[32];
    std::snprintf(tps, sizeof tps, " | %.1f tok/s", info.last_tokens_per_second);
    text += tps;
  }
  if (info.generating) text += " | replying (Esc stops)";
  if (info.lines_below > 0) text += " | " + std::to_string(info.lines_below) + " lines below";
  return std::string(fit_prefix(text, width));
}

}  // namespace dschat
