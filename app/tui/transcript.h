// The chat's view model: what the transcript, the status line and the scroll position show,
// computed from the conversation (snapshots from the session) plus the reply being streamed and
// the UI's own notices. Everything is re-wrapped from stored text for the current width, so a
// resize never depends on what the terminal already shows. No curses here.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "app/chat/conversation.h"
#include "app/tui/markdown_render.h"

namespace dschat {

enum class LineStyle { UserLabel, AssistantLabel, User, Assistant, Notice, Error, Stats, Plain, Reasoning };

struct StyledLine {
  StyledLine() = default;
  StyledLine(LineStyle style, std::string text, std::vector<TextSpan> spans = {})
      : style(style), text(std::move(text)), spans(std::move(spans)) {}

  LineStyle style = LineStyle::Plain;
  std::string text;
  std::vector<TextSpan> spans;  // Markdown attributes on top of `style` (byte ranges of `text`)
  bool operator==(const StyledLine&) const = default;
};

// How a reply's reasoning (<think>...</think>, app/backend/reasoning.h) is shown: in full (dimmed),
// folded to one line ("thought for 42 tokens: first words…"), or not at all.
enum class ThinkDisplay { Show, Fold, Hide };

// "42 tokens · 55.1 tok/s · prompt 120 tokens at 300 tok/s · 0.40 s to first token · eos"
std::string format_reply_stats(const GenerationStats& stats);
// The same, with the tokens spent reasoning: "42 tokens (30 reasoning), ...".
std::string format_reply_stats(const GenerationStats& stats, int reasoning_tokens);
// "1.2 GB", "350.0 MB", "12 B" (powers of 1000, as download tools show).
std::string format_bytes(double bytes);

class Transcript {
 public:
  // Replaces the messages with the session's (ends any reply being streamed).
  void set_conversation(std::shared_ptr<const Conversation> conversation);
  // A turn begins: `user_text` is shown at once; "" means /regen (the last reply is hidden and
  // replaced by the one being streamed).
  void begin_turn(const std::string& user_text);
  void append_piece(std::string_view piece);
  // The streamed reply stopped (it stays shown until the next snapshot replaces it).
  void end_turn(bool interrupted);
  bool streaming() const { return streaming_; }

  enum class NoticeKind { Info, Error };
  void add_notice(NoticeKind kind, std::string text);
  void clear_notices();

  void set_assistant_label(std::string label) { assistant_label_ = std::move(label), ++version_; }
  void set_show_stats(bool show) { show_stats_ = show, ++version_; }
  bool show_stats() const { return show_stats_; }
  void set_think_display(ThinkDisplay mode) { think_ = mode, ++version_; }
  void set_markdown(bool on) { markdown_ = on, ++version_; }

  // Every line of the transcript laid out for `width` columns (labels, wrapped text, notices).
  std::vector<StyledLine> render(int width) const;
  // Changes whenever what render() returns may change.
  uint64_t version() const { return version_; }
  size_t message_count() const;

 private:
  struct Notice {
    NoticeKind kind;
    std::string text;
    size_t after;  // shown after this many displayed messages
  };
  struct Entry {  // one displayed message
    Role role;
    const std::string* text;
    const Message* message;  // null for the streamed ones
    bool interrupted;
  };
  std::vector<Entry> entries() const;
  const std::vector<std::string>& wrapped(size_t slot, const std::string& text, int width) const;
  // A reply's answer laid out for `width`: Markdown when on, else wrapped plain text.
  const std::vector<RichLine>& answer_lines(size_t slot, const std::string& text, int width) const;
  void render_reply(const Entry& e, int width, size_t& slot, std::vector<StyledLine>& out) const;

  std::shared_ptr<const Conversation> conversation_;
  std::vector<Notice> notices_;
  std::string pending_user_;
  bool has_pending_user_ = false;
  bool regenerating_ = false;
  std::string pending_reply_;
  bool has_pending_reply_ = false;
  bool streaming_ = false;
  bool pending_interrupted_ = false;
  int pending_reasoning_pieces_ = 0;  // pieces streamed before </think>
  bool pending_reasoning_done_ = false;
  bool show_stats_ = true;
  ThinkDisplay think_ = ThinkDisplay::Fold;
  bool markdown_ = true;
  std::string assistant_label_ = "Assistant";
  uint64_t version_ = 1;

  struct WrapCache {
    int width = -1;
    std::string text;
    std::vector<std::string> lines;
  };
  mutable std::vector<WrapCache> cache_;
  struct RichCache {
    int width = -1;
    bool markdown = false;
    std::string text;
    std::vector<RichLine> lines;
  };
  mutable std::vector<RichCache> rich_cache_;
};

// Scrolling over the transcript, kept as the distance from the bottom so that new lines keep
// the view pinned to the end unless the user scrolled up (then the text stays put).
class ScrollState {
 public:
  int first_visible(int total_lines, int height) const;
  void page_up(int total_lines, int height);
  void page_down(int total_lines, int height);
  void to_top(int total_lines, int height);
  // `lines` up (> 0) or down (< 0), as the mouse wheel does.
  void scroll_lines(int lines, int total_lines, int height);
  void to_bottom() { from_bottom_ = 0; }
  // Call with the new total after the transcript changed; keeps the view still when scrolled.
  void content_changed(int old_total, int new_total);
  int lines_below() const { return from_bottom_; }

 private:
  int from_bottom_ = 0;
};

struct StatusInfo {
  std::string model{};      // name ("" while unknown)
  bool loading = false;
  uint64_t bytes_done = 0, bytes_total = 0;
  bool pages_from_disk = false;  // the weights are larger than RAM: they will page from disk
  double load_seconds = 0;
  bool load_failed = false;
  int context_used = 0, context_max = 0;
  double last_tokens_per_second = 0;
  bool generating = false;
  int lines_below = 0;      // scrolled up by this many lines
};

// The status line for `width` columns (never wider).
std::string format_status(const StatusInfo& info, int width);
// "Loading 42% [#####.....] 1.2/2.9 GB 350.0 MB/s" sized for `width`; with `pages_from_disk`
// followed by "larger than RAM: pages from disk" where it fits.
std::string format_load_progress(uint64_t done, uint64_t total, double seconds, int width, bool pages_from_disk = false);

}  // namespace dschat
