#include "app/tui/app.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <vector>

#include "app/chat/chat_commands.h"
#include "app/chat/conversation_list.h"
#include "app/chat/conversation_store.h"
#include "app/tui/clipboard.h"
#include "app/tui/history_file.h"
#include "app/tui/input_queue.h"
#include "app/tui/text_layout.h"
#include "app/tui/input.h"
#include "app/tui/readline.h"
#include "app/tui/terminal.h"
#include "app/tui/transcript.h"
#include "common/system_memory.h"

namespace dschat {
namespace {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

constexpr int kMinCols = 20;
constexpr int kMinRows = 5;
constexpr auto kFrameInterval = 16ms;
constexpr auto kEscapeDelay = 25ms;
// A second SIGINT from outside within this time of the previous one quits, as SIGTERM does.
constexpr auto kInsistentInterrupt = 2s;
constexpr const char* kPrompt = ">>> ";
constexpr const char* kContinuation = "... ";
constexpr const char* kPlaceholder = "Send a message (/? for help)";
constexpr int kWheelLines = 3;  // lines per wheel step, as most terminals and pagers scroll

// Signal handlers only set flags and poke the self-pipe (async-signal-safe).
int signal_pipe[2] = {-1, -1};
volatile sig_atomic_t got_resize = 0, got_terminate = 0, got_continue = 0;
std::atomic<int> interrupts{0};  // SIGINTs not handled yet (two may arrive before the loop runs)
static_assert(std::atomic<int>::is_always_lock_free, "used in a signal handler");

void on_signal(int sig) {
  int saved = errno;
  if (sig == SIGWINCH) got_resize = 1;
  if (sig == SIGTERM || sig == SIGHUP) got_terminate = 1;
  if (sig == SIGCONT) got_continue = 1;
  if (sig == SIGINT) interrupts.fetch_add(1);
  char byte = 1;
  ssize_t ignored = write(signal_pipe[1], &byte, 1);
  (void)ignored;
  errno = saved;
}

class SignalHandlers {
 public:
  SignalHandlers() {
    if (pipe2(signal_pipe, O_NONBLOCK | O_CLOEXEC) != 0) signal_pipe[0] = signal_pipe[1] = -1;
    struct sigaction sa {};
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    for (int s : {SIGWINCH, SIGTERM, SIGHUP, SIGCONT, SIGINT}) sigaction(s, &sa, &old_[index(s)]);
  }
  ~SignalHandlers() {
    for (int s : {SIGWINCH, SIGTERM, SIGHUP, SIGCONT, SIGINT}) sigaction(s, &old_[index(s)], nullptr);
    for (int& fd : signal_pipe) {
      if (fd >= 0) close(fd);
      fd = -1;
    }
  }

 private:
  static int index(int s) {
    switch (s) {
      case SIGWINCH: return 0;
      case SIGTERM: return 1;
      case SIGHUP: return 2;
      case SIGCONT: return 3;
      default: return 4;
    }
  }
  struct sigaction old_[5] {};
};

// VAR set to something other than "" or "0".
bool env_flag(const char* name) {
  const char* value = std::getenv(name);
  return value && *value && std::string(value) != "0";
}

class ChatApp {
 public:
  ChatApp(std::unique_ptr<ChatBackend> backend, const ChatAppOptions& options)
      : options_(options), terminal_(options.colour, options.mouse && !env_flag("DSCHAT_NOMOUSE")) {
    history_ = options.history_path.empty() ? std::vector<std::string>{} : load_history(options.history_path);
    readline_ = std::make_unique<ReadlineInput>([this](const std::string& line) { on_line(line); }, history_);
    readline_->set_prompt(kPrompt);
    readline_->set_completion_display([this](const std::vector<std::string>& candidates) {
      std::string list;
      for (const std::string& c : candidates) list += (list.empty() ? "" : "  ") + c;
      notice(list);
    });
    status_.model = options.model_label;
    status_.loading = true;
    transcript_.set_markdown(options.markdown);
    transcript_.set_think_display(options.think);
    transcript_.add_notice(Transcript::NoticeKind::Info,
                           "dschat " DSCHAT_VERSION " - type a message; /? for help, Ctrl+D or /bye to quit");
    if (!options.resume_notice.empty()) transcript_.add_notice(Transcript::NoticeKind::Info, options.resume_notice);
    worker_ = std::make_unique<InferenceWorker>(std::move(backend));
    worker_->send({WorkerCommand::Kind::Load, "", options.resume.string()});
  }

  int run() {
    render();
    while (!quit_) {
      int timeout = poll_timeout();
      pollfd fds[3] = {{STDIN_FILENO, POLLIN, 0}, {worker_->wake_fd(), POLLIN, 0}, {signal_pipe[0], POLLIN, 0}};
      int n = poll(fds, signal_pipe[0] >= 0 ? 3 : 2, timeout);
      if (n < 0 && errno != EINTR) break;
      if (n > 0 && (fds[2].revents & POLLIN)) handle_signals();
      if (n > 0 && (fds[0].revents & (POLLIN | POLLHUP | POLLERR))) read_keyboard();
      if (decoder_.pending() && Clock::now() - last_input_ >= kEscapeDelay) {
        for (const InputEvent& e : decoder_.flush()) handle_key(e);
      }
      if (n > 0 && (fds[1].revents & POLLIN)) {
        for (const WorkerEvent& e : worker_->drain()) handle_event(e);
      }
      if (hint_ && Clock::now() >= hint_until_) {
        hint_.reset();
        dirty_ = true;
      }
      if (readline_->take_changed()) dirty_ = true;
      if (dirty_ && Clock::now() - last_frame_ >= kFrameInterval) render();
    }
    shutdown();
    return 0;
  }

 private:
  int poll_timeout() const {
    auto now = Clock::now();
    auto wait = std::chrono::milliseconds(1000);
    if (decoder_.pending()) wait = std::min(wait, std::chrono::ceil<std::chrono::milliseconds>(kEscapeDelay));
    if (dirty_) {
      auto next = std::chrono::ceil<std::chrono::milliseconds>(last_frame_ + kFrameInterval - now);
      wait = std::min(wait, std::max(next, std::chrono::milliseconds(0)));
    }
    if (hint_) wait = std::min(wait, std::max(std::chrono::ceil<std::chrono::milliseconds>(hint_until_ - now), 0ms));
    return static_cast<int>(wait.count());
  }

  void handle_signals() {
    char buffer[64];
    while (read(signal_pipe[0], buffer, sizeof buffer) > 0) {
    }
    if (got_resize) {
      got_resize = 0;
      terminal_.update_size();
      dirty_ = true;
    }
    if (got_continue) {
      got_continue = 0;
      terminal_.resume();
      dirty_ = true;
    }
    // SIGINT from outside (the keyboard's Ctrl+C arrives as a byte): the first acts as Ctrl+C
    // (stops the reply); a second one within kInsistentInterrupt quits like SIGTERM, keeping and
    // saving the partial reply, so `kill -INT` twice always ends dschat.
    for (int n = interrupts.exchange(0); n > 0; --n) {
      const auto now = Clock::now();
      if (last_interrupt_ && now - *last_interrupt_ < kInsistentInterrupt) {
        quit_ = true;
      } else {
        handle_action(decide_key(InputEvent::Kind::CtrlC, key_context()));
      }
      last_interrupt_ = now;
    }
    if (got_terminate) quit_ = true;
  }

  void read_keyboard() {
    char buffer[4096];
    ssize_t n = read(STDIN_FILENO, buffer, sizeof buffer);
    if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN)) {
      quit_ = true;  // the terminal went away
      return;
    }
    if (n < 0) return;
    last_input_ = Clock::now();
    for (const InputEvent& e : decoder_.feed(std::string_view(buffer, static_cast<size_t>(n)))) handle_key(e);
  }

  KeyContext key_context() const {
    return KeyContext{.generating = generating_, .loading = status_.loading,
                      .line_empty = readline_->line_empty() && !readline_->searching(),
                      .in_block = multiline_.in_block(), .has_queued = !queue_.empty()};
  }

  void handle_key(const InputEvent& event) {
    if (quit_) return;
    KeyAction action = decide_key(event.kind, key_context());
    if (action == KeyAction::Forward) {
      if (event.kind == InputEvent::Kind::Paste) {
        readline_->insert(event.bytes);
      } else {
        readline_->feed(event.bytes);
      }
      dirty_ = true;
      return;
    }
    handle_action(action);
  }

  void handle_action(KeyAction action) {
    dirty_ = true;
    switch (action) {
      case KeyAction::StopReply:
        worker_->cancel();
        queue_.hold();  // stopping never sends what is queued (even if the reply was just ending)
        show_hint("stopping...");
        break;
      case KeyAction::StopReplyAndTakeBack:
        worker_->cancel();
        queue_.hold();
        show_hint("stopping...");
        take_back_queued();
        break;
      case KeyAction::TakeBackQueued:
        take_back_queued();
        break;
      case KeyAction::ScrollLinesUp:
        scroll_.scroll_lines(kWheelLines, last_total_, last_height_);
        break;
      case KeyAction::ScrollLinesDown:
        scroll_.scroll_lines(-kWheelLines, last_total_, last_height_);
        break;
      case KeyAction::CancelLoad:
        worker_->cancel();
        show_hint("cancelling the load...");
        break;
      case KeyAction::ClearLine:
        readline_->clear_line();
        multiline_.reset();
        readline_->set_prompt(kPrompt);
        break;
      case KeyAction::ExitHint:
        show_hint("Use Ctrl+D or /bye to exit.");
        break;
      case KeyAction::Exit:
        quit_ = true;
        break;
      case KeyAction::Redraw:
        terminal_.update_size();
        terminal_.invalidate();
        break;
      case KeyAction::ScrollPageUp:
        scroll_.page_up(last_total_, last_height_);
        break;
      case KeyAction::ScrollPageDown:
        scroll_.page_down(last_total_, last_height_);
        break;
      case KeyAction::ScrollTop:
        scroll_.to_top(last_total_, last_height_);
        break;
      case KeyAction::ScrollBottom:
        scroll_.to_bottom();
        break;
      case KeyAction::InsertNewline:
        readline_->insert("\n");
        break;
      case KeyAction::Forward:
      case KeyAction::Ignore:
        break;
    }
  }

  // The last queued entry back into the (empty) input line, to edit or send again.
  void take_back_queued() {
    if (std::optional<std::string> text = queue_.take_back()) {
      readline_->insert(*text);
      dirty_ = true;
    }
  }

  // A turn runs or has been asked for: what is typed now waits in the queue.
  bool busy() const { return generating_ || turn_pending_; }

  // Sends queued entries in order until one starts a turn (or the queue is held or empty).
  void dispatch_queue() {
    while (!busy() && !quit_) {
      std::optional<std::string> next = queue_.next();
      if (!next) return;
      submit(*next);
    }
  }

  void show_hint(std::string text) {
    hint_ = std::move(text);
    hint_until_ = Clock::now() + 3s;
  }

  void notice(std::string text) { transcript_.add_notice(Transcript::NoticeKind::Info, std::move(text)); }
  void error(std::string text) { transcript_.add_notice(Transcript::NoticeKind::Error, std::move(text)); }

  // A line accepted by readline (Enter).
  void on_line(const std::string& line) {
    std::optional<std::string> message = multiline_.submit(line);
    readline_->set_prompt(multiline_.in_block() ? kContinuation : kPrompt);
    dirty_ = true;
    if (!message) return;
    std::string_view trimmed = *message;
    while (!trimmed.empty() && (trimmed.front() == ' ' || trimmed.front() == '\n')) trimmed.remove_prefix(1);
    if (trimmed.empty()) {
      // Enter on an empty line sends what a stopped reply held in the queue.
      if (queue_.held() && !busy()) {
        queue_.release();
        dispatch_queue();
      }
      return;
    }
    remember(*message);
    hint_.reset();
    scroll_.to_bottom();
    // During a reply (or with entries waiting) only read-only commands run at once; the rest
    // queue behind the reply, visibly, in the order typed.
    if (busy() || !queue_.empty()) {
      if (runs_during_reply(parse_chat_command(*message).kind)) {
        submit(*message);
        return;
      }
      queue_.push(*message);
      queue_.release();  // a new message sends what was held, in order
      dispatch_queue();
      return;
    }
    submit(*message);
  }

  void remember(const std::string& entry) {
    if (!history_.empty() && history_.back() == entry) return;
    history_.push_back(entry);
    readline_->add_history(entry);
    if (options_.history_path.empty() || history_disabled()) return;
    try {
      append_history(options_.history_path, {entry});  // merged with other windows' lines
    } catch (const std::exception& e) {
      if (!history_error_shown_) error(std::string("history not saved: ") + e.what());
      history_error_shown_ = true;
    }
  }

  static bool history_disabled() {
    const char* env = std::getenv("DSCHAT_NOHISTORY");
    return env && *env && std::string(env) != "0";
  }

  void send(WorkerCommand::Kind kind, std::string name = {}, std::string text = {}) {
    worker_->send({kind, std::move(name), std::move(text)});
  }

  void submit(const std::string& text) {
    using K = ChatCommand::Kind;
    ChatCommand command = parse_chat_command(text);
    switch (command.kind) {
      case K::Message:
        if (load_failed_) {
          error("not sent: no model is loaded (see the error above); /bye to quit");
          return;
        }
        if (status_.loading) notice("(the message will be sent when the model has loaded)");
        send(WorkerCommand::Kind::Submit, "", command.text);
        turn_pending_ = true;
        return;
      case K::Help:
        notice(chat_help_text(command.text));
        return;
      case K::SetParameter:
        send(WorkerCommand::Kind::SetParameter, command.name, command.text);
        return;
      case K::SetSystem:
        send(WorkerCommand::Kind::SetSystem, "", command.text);
        return;
      case K::Show:
        if (show_) {  // at once, also during a reply: the worker's last snapshot
          notice(command.name == "info"         ? show_->info
                 : command.name == "parameters" ? show_->parameters
                 : command.name == "system"     ? show_->system
                                                : show_->template_text);
        } else {
          send(WorkerCommand::Kind::Show, command.name);
        }
        return;
      case K::Clear:
        transcript_.clear_notices();
        send(WorkerCommand::Kind::Clear);
        return;
      case K::Regenerate:
        send(WorkerCommand::Kind::Regenerate);
        turn_pending_ = true;
        return;
      case K::Undo:
        send(WorkerCommand::Kind::Undo);
        return;
      case K::Save:
        send(WorkerCommand::Kind::Save, "", command.text.empty() ? "" : expand_home(command.text).string());
        return;
      case K::Load:
        try {
          // The previous conversation's notices go with it (as for /clear).
          const std::filesystem::path target =
              resolve_conversation(ConversationStore(options_.conversations_dir).list(), command.text);
          transcript_.clear_notices();
          send(WorkerCommand::Kind::LoadConversation, "", target.string());
        } catch (const std::exception& e) {
          error(e.what());
        }
        return;
      case K::List: {
        std::string list = format_conversation_list(ConversationStore(options_.conversations_dir).list());
        notice(list.empty() ? "no saved conversations yet" : "saved conversations (/load N opens one):\n" + list);
        return;
      }
      case K::SetThink:
        transcript_.set_think_display(command.name == "show"   ? ThinkDisplay::Show
                                      : command.name == "hide" ? ThinkDisplay::Hide
                                                               : ThinkDisplay::Fold);
        notice("reasoning: " + command.name);
        return;
      case K::SetMarkdown:
        transcript_.set_markdown(command.on);
        notice(command.on ? "markdown on" : "markdown off");
        return;
      case K::Export:
        send(WorkerCommand::Kind::Export, command.name, expand_home(command.text).string());
        return;
      case K::Stats:
        transcript_.set_show_stats(command.on);
        notice(command.on ? "statistics on" : "statistics off");
        return;
      case K::Copy:
        copy(command.text);
        return;
      case K::Exit:
        quit_ = true;
        return;
      case K::Invalid:
        error(command.error);
        return;
    }
  }

  // /copy [N]: the last reply (or its code block [N]) to the terminal's clipboard by OSC 52.
  void copy(const std::string& which) {
    const std::string why = clipboard_unavailable_reason(std::getenv("TERM"), isatty(STDOUT_FILENO));
    if (!why.empty()) return error(why);
    std::string reason;
    std::optional<CopyChoice> choice =
        conversation_ ? choose_copy(*conversation_, which, reason) : std::nullopt;
    if (!choice) return error(reason.empty() ? "nothing to copy yet: there is no reply" : reason);
    if (choice->text.size() > kMaxCopyBytes) {
      return error("not copied: " + choice->description + " has " + std::to_string(choice->text.size()) +
                   " bytes, more than terminals take by OSC 52 (" + std::to_string(kMaxCopyBytes) +
                   "); /export md PATH writes it to a file");
    }
    const char* tmux = std::getenv("TMUX");
    const bool in_tmux = tmux && *tmux;
    terminal_.write_raw_sequence(osc52_sequence(choice->text, in_tmux));
    notice("copied " + choice->description + " (" + std::to_string(choice->text.size()) +
           " bytes) to the clipboard by OSC 52" +
           (in_tmux ? "; in tmux this needs set-clipboard on (or allow-passthrough on)" : ""));
  }

  // One overload per event type (std::visit in handle_event).
  void on(const LoadProgressEvent& e) {
    status_.bytes_done = e.bytes_done;
    status_.bytes_total = e.bytes_total;
    status_.load_seconds = e.seconds;
    static const uint64_t ram = physical_memory_bytes();
    status_.pages_from_disk = ram > 0 && e.bytes_total > ram;
  }
  void on(const LoadedEvent& e) {
    status_.loading = false;
    status_.model = e.model_name;
    status_.context_max = e.context_max;
    status_.bytes_done = status_.bytes_total = e.bytes_total;
    transcript_.set_assistant_label(e.model_name);
    char seconds[32];
    std::snprintf(seconds, sizeof seconds, "%.1f s", e.seconds);
    notice("Loaded " + e.model_name + ": 100% of " + format_bytes(static_cast<double>(e.bytes_total)) + " in " +
           seconds);
    if (!e.model_notice.empty()) notice(e.model_notice);
  }
  void on(const LoadFailedEvent& e) {
    hint_.reset();
    status_.loading = false;
    load_failed_ = true;
    status_.load_failed = true;
    if (e.cancelled) {
      error("Loading cancelled. Nothing can be sent; /bye to quit.");
    } else {
      error("Cannot load the model: " + e.reason);
    }
  }
  void on(const TurnStartedEvent& e) {
    generating_ = true;
    transcript_.begin_turn(e.user_message);
  }
  void on(const PieceEvent& e) { transcript_.append_piece(e.text); }
  void on(const TurnFinishedEvent& e) {
    generating_ = false;
    turn_pending_ = false;
    if (e.interrupted) queue_.hold();  // a stopped reply sends nothing queued by itself
    hint_.reset();  // "stopping..." has happened
    transcript_.end_turn(e.interrupted);
    if (!e.ok) error(e.error);
    if (e.message_kept) notice("your message is kept: /regen sends it again, /undo removes it");
    if (e.ok && e.stats.decode_tokens_per_second > 0) status_.last_tokens_per_second = e.stats.decode_tokens_per_second;
    dispatch_queue();
  }
  void on(const ConversationEvent& e) {
    if (e.conversation) {
      transcript_.set_conversation(e.conversation);
      conversation_ = e.conversation;
    }
    if (e.show) show_ = e.show;
    if (!e.file.empty()) file_ = e.file;
    status_.context_used = e.context_used;
    status_.context_max = e.context_max;
  }
  void on(const NoticeEvent& e) { notice(e.text); }
  void on(const ErrorEvent& e) { error(e.text); }

  void handle_event(const WorkerEvent& event) {
    dirty_ = true;
    std::visit([this](const auto& e) { on(e); }, event);
  }

  void render() {
    last_frame_ = Clock::now();
    dirty_ = false;
    terminal_.begin_frame();
    int rows = terminal_.rows(), cols = terminal_.cols();
    if (cols < kMinCols || rows < kMinRows) {
      std::string message = "Terminal too small: " + std::to_string(cols) + "x" + std::to_string(rows) +
                            ", need at least " + std::to_string(kMinCols) + "x" + std::to_string(kMinRows) + ".";
      std::vector<std::string> lines = wrap_text(message, std::max(1, cols));
      for (int i = 0; i < static_cast<int>(lines.size()) && i < rows; ++i) {
        terminal_.draw(i, 0, lines[static_cast<size_t>(i)], cols, LineStyle::Error);
      }
      terminal_.end_frame(0, 0, false);
      return;
    }
    // Inside a """ block the lines already entered stay above the one being edited.
    std::string prompt = readline_->display_prompt(), buffer = readline_->buffer();
    size_t point = readline_->point();
    if (multiline_.in_block() && !readline_->searching()) {
      prompt = kPrompt;
      buffer = multiline_.typed() + "\n" + buffer;
      point += multiline_.typed().size() + 1;
    }
    InputLayout input = layout_input(prompt, kContinuation, buffer, point, cols);
    int input_rows = std::min(static_cast<int>(input.rows.size()), std::max(1, rows / 3));
    int first_input = std::clamp(input.cursor_row - input_rows + 1, 0,
                                 static_cast<int>(input.rows.size()) - input_rows);
    int status_row = rows - input_rows - 1;
    int height = status_row;

    std::vector<StyledLine> lines = screen_lines(cols, /*leaving=*/false);
    int total = static_cast<int>(lines.size());
    if (total != last_total_) scroll_.content_changed(last_total_, total);
    last_total_ = total;
    last_height_ = height;
    int first = scroll_.first_visible(total, height);
    for (int y = 0; y < height && first + y < total; ++y) {
      const StyledLine& line = lines[static_cast<size_t>(first + y)];
      terminal_.draw(y, 0, line.text, cols, line.style, line.spans);
    }

    status_.generating = generating_;
    status_.lines_below = std::max(0, total - (first + height));
    terminal_.draw_status(status_row, hint_ ? " " + *hint_ : format_status(status_, cols));

    for (int i = 0; i < input_rows; ++i) {
      terminal_.draw(status_row + 1 + i, 0, input.rows[static_cast<size_t>(first_input + i)], cols, LineStyle::Plain);
    }
    if (readline_->line_empty() && !readline_->searching() && !multiline_.in_block() && input_rows == 1) {
      int prompt_width = display_width(readline_->display_prompt());
      terminal_.draw_hint(status_row + 1, prompt_width, kPlaceholder, cols - prompt_width);
    }
    terminal_.end_frame(status_row + 1 + input.cursor_row - first_input, input.cursor_col, true);
  }

  // The transcript and, under it, what waits in the queue.
  std::vector<StyledLine> screen_lines(int cols, bool leaving) const {
    std::vector<StyledLine> lines = transcript_.render(cols);
    std::vector<std::string> queued = queued_lines(queue_, leaving);
    for (size_t i = 0; i < queued.size(); ++i) {
      const LineStyle style = i + 1 < queued.size() ? LineStyle::Notice : LineStyle::Stats;
      for (std::string& row : wrap_text(queued[i], std::max(1, cols - 2))) lines.emplace_back(style, "  " + row);
    }
    return lines;
  }

  void shutdown() {
    // Stop what runs; the session keeps the partial reply and autosaves it (after every turn).
    // The events up to the end still count: the last snapshot and the file it went to.
    worker_->finish();
    for (const WorkerEvent& e : worker_->drain()) handle_event(e);
    worker_.reset();
  }

 public:
  // What to print on the normal screen once the window has closed (app.h).
  ChatExitView exit_view() const {
    ChatExitView view;
    const int cols = terminal_.cols();
    if (cols >= kMinCols && last_height_ > 0) {
      std::vector<StyledLine> lines = screen_lines(cols, /*leaving=*/true);
      const int total = static_cast<int>(lines.size());
      const int first = scroll_.first_visible(total, last_height_);
      for (int y = first; y < total && y < first + last_height_; ++y) {
        view.lines.push_back(lines[static_cast<size_t>(y)].text);
      }
    }
    while (!view.lines.empty() && view.lines.front().empty()) view.lines.erase(view.lines.begin());
    std::error_code ec;
    if (!file_.empty() && std::filesystem::exists(file_, ec)) view.resume = resume_line(file_);
    return view;
  }

 private:
  ChatAppOptions options_;
  Terminal terminal_;
  std::unique_ptr<ReadlineInput> readline_;
  std::unique_ptr<InferenceWorker> worker_;
  InputDecoder decoder_;
  MultilineInput multiline_;
  InputQueue queue_;
  bool turn_pending_ = false;  // a Submit/Regenerate was sent and its TurnFinished has not come
  std::optional<ShowTexts> show_;
  std::shared_ptr<const Conversation> conversation_;  // the last snapshot (for /copy)
  std::filesystem::path file_;  // where the conversation was saved
  Transcript transcript_;
  ScrollState scroll_;
  StatusInfo status_;
  std::vector<std::string> history_;
  bool history_error_shown_ = false;
  bool generating_ = false;
  bool load_failed_ = false;
  bool quit_ = false;
  bool dirty_ = true;
  std::optional<std::string> hint_;
  Clock::time_point hint_until_{};
  Clock::time_point last_frame_{};
  Clock::time_point last_input_{};
  std::optional<Clock::time_point> last_interrupt_;  // of the last SIGINT from outside
  int last_total_ = 0;
  int last_height_ = 1;
};

}  // namespace

int run_chat_tui(std::unique_ptr<ChatBackend> backend, const ChatAppOptions& options, ChatExitView* exit_view) {
  SignalHandlers signals;  // before curses, so ncurses leaves SIGWINCH/SIGINT/SIGTERM to us
  int status = 0;
  {
    ChatApp app(std::move(backend), options);
    status = app.run();
    if (exit_view) *exit_view = app.exit_view();
  }  // the window is closed: the terminal shows its normal screen again
  return status;
}

}  // namespace dschat
