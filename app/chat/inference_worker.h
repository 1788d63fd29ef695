// The inference thread of the chat: it owns the model (through a ChatBackend) and runs every
// slow operation (loading, prefill, generation, rebuilding the cache for /load) so the UI thread
// never blocks. The UI sends commands; the worker answers with events in a queue and makes an
// eventfd readable, so the UI's poll() wakes for keyboard input and for events alike.
//
// Ordering: commands run one at a time in the order sent; the events of a command come in the
// order they happened (TurnStarted, Piece..., TurnFinished, Conversation). Consecutive pieces and
// consecutive progress reports are merged in the queue, so a slow UI never falls behind.
// Cancellation (cancel()) is immediate and not queued: it stops the running load or generation.
// Signals are blocked in the worker thread (and so in threads it creates): the UI thread alone
// sees SIGINT, SIGTERM, SIGHUP and SIGWINCH.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <variant>
#include <vector>

#include "app/chat/chat_session.h"

namespace dschat {

// What the worker drives. SessionBackend (app/chat/session_backend.h) adapts ChatSession; tests use
// fakes. Every method but request_cancel() is called on the worker thread only.
class ChatBackend {
 public:
  virtual ~ChatBackend() = default;
  // Loads the model; `progress` returns false to cancel (then throw LoadCancelled).
  virtual void load(const LoadProgress& progress) = 0;
  virtual std::string model_name() const = 0;
  // One line to show when the model has loaded ("" = none): what the bundled demo model is.
  virtual std::string model_notice() const { return ""; }
  // "WARNING: ..." lines about the loaded model (e.g. NaN weights), shown after Loaded.
  virtual std::vector<std::string> load_warnings() const { return {}; }
  virtual TurnResult submit(const std::string& text, const TurnCallbacks& callbacks) = 0;
  virtual TurnResult regenerate(const TurnCallbacks& callbacks) = 0;
  virtual bool undo() = 0;
  virtual void clear() = 0;
  virtual void set_parameter(const std::string& name, const std::string& value) = 0;  // invalid_argument
  virtual void set_system_prompt(const std::string& text) = 0;
  // "info", "parameters", "system", "template".
  virtual std::string show(const std::string& topic) const = 0;
  virtual std::filesystem::path save(const std::filesystem::path& path) = 0;
  virtual void load_conversation(const std::filesystem::path& path) = 0;
  // format "md" or "json".
  virtual void export_conversation(const std::string& format, const std::filesystem::path& path) const = 0;
  virtual Conversation conversation() const = 0;
  // Notices the last commands left (e.g. a save that moved the conversation to a new file).
  virtual std::vector<std::string> take_notices() { return {}; }
  virtual int context_used() const = 0;
  virtual int context_max() const = 0;
  // The conversation's file once it has been saved ("" before).
  virtual std::filesystem::path file_path() const { return {}; }
  // Any thread: stop the running generation or cache rebuild.
  virtual void request_cancel() = 0;
};

struct WorkerCommand {
  enum class Kind {
    Load,              // text = conversation to resume afterwards ("" = none)
    Submit,            // text = user message
    Regenerate,
    Undo,
    Clear,
    SetParameter,      // name, text = value
    SetSystem,         // text
    Show,              // name = topic
    Save,              // text = path ("" = the autosave file)
    LoadConversation,  // text = path
    Export,            // name = "md"|"json", text = path
  };
  Kind kind = Kind::Load;
  std::string name;
  std::string text;
};

// The worker's events, one type per kind.
struct LoadProgressEvent {
  uint64_t bytes_done = 0;
  uint64_t bytes_total = 0;
  double seconds = 0;  // since the load started
};
struct LoadedEvent {
  std::string model_name;
  uint64_t bytes_total = 0;
  double seconds = 0;
  int context_max = 0;
  std::string model_notice;  // ChatBackend::model_notice()
};
struct LoadFailedEvent {
  std::string reason;      // naming the file
  bool cancelled = false;  // the user stopped it
};
struct TurnStartedEvent {
  std::string user_message;  // "" for /regen
};
struct PieceEvent {
  std::string text;  // more of the reply
};
struct TurnFinishedEvent {
  bool ok = false;
  bool interrupted = false;
  std::string error;
  GenerationStats stats;
  bool message_kept = false;  // TurnResult::message_kept
};
// What /show answers, as of the event: the UI answers /show from this at once, also while a
// reply streams (the backend is the worker's alone). Empty before the model has loaded.
struct ShowTexts {
  std::string info, parameters, system, template_text;
};
struct ConversationEvent {
  std::shared_ptr<const Conversation> conversation;  // a snapshot
  int context_used = 0;
  int context_max = 0;
  std::filesystem::path file;  // ChatBackend::file_path()
  std::optional<ShowTexts> show;
};
struct NoticeEvent {
  std::string text;  // information, e.g. "saved to ...", /show output
};
struct ErrorEvent {
  std::string text;  // a command failed; nothing changed
};
using WorkerEvent = std::variant<LoadProgressEvent, LoadedEvent, LoadFailedEvent, TurnStartedEvent, PieceEvent,
                                 TurnFinishedEvent, ConversationEvent, NoticeEvent, ErrorEvent>;

class InferenceWorker {
 public:
  explicit InferenceWorker(std::unique_ptr<ChatBackend> backend);
  ~InferenceWorker();  // cancels what runs, drops queued commands, joins
  InferenceWorker(const InferenceWorker&) = delete;
  InferenceWorker& operator=(const InferenceWorker&) = delete;

  void send(WorkerCommand command);
  // Stops the running command (as cancel()), drops the queued ones and waits for the thread to
  // end; the events it posted until then can still be drained. Later sends are ignored.
  void finish();
  // Stops the running load or generation (the partial reply is kept). Any thread.
  void cancel();
  // Readable while events are waiting (level-triggered until drain()).
  int wake_fd() const { return wake_fd_; }
  std::vector<WorkerEvent> drain();
  // True while a command is running or queued.
  bool busy() const { return busy_.load(); }

 private:
  void run();
  void execute(const WorkerCommand& command);
  void post(WorkerEvent event);
  void post_conversation();
  TurnCallbacks turn_callbacks();

  std::unique_ptr<ChatBackend> backend_;
  int wake_fd_ = -1;

  std::mutex command_mutex_;
  std::condition_variable command_ready_;
  std::deque<WorkerCommand> commands_;
  bool stopping_ = false;

  std::mutex event_mutex_;
  std::deque<WorkerEvent> events_;

  std::atomic<bool> cancel_load_{false};
  std::atomic<bool> loading_{false};
  std::atomic<bool> busy_{false};
  std::thread thread_;
};

}  // namespace dschat
