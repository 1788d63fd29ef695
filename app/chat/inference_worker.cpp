#include "app/chat/inference_worker.h"

#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <stdexcept>
#include <system_error>

#include "common/out_of_memory.h"

namespace dschat {
namespace {

using Clock = std::chrono::steady_clock;

// Runs a turn; an exception becomes a failed TurnResult, so every TurnStarted gets its
// TurnFinished.
template <typename F>
TurnResult guarded_turn(F&& turn) {
  try {
    return turn();
  } catch (const std::exception& error) {
    TurnResult failed;
    failed.ok = false;
    failed.error = error_message(error);
    return failed;
  }
}

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// The signals only the UI thread handles.
sigset_t ui_signals() {
  sigset_t set;
  sigemptyset(&set);
  for (int s : {SIGINT, SIGTERM, SIGHUP, SIGWINCH, SIGQUIT, SIGTSTP, SIGCONT}) sigaddset(&set, s);
  return set;
}

}  // namespace

InferenceWorker::InferenceWorker(std::unique_ptr<ChatBackend> backend) : backend_(std::move(backend)) {
  wake_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (wake_fd_ < 0) throw std::system_error(errno, std::generic_category(), "eventfd");
  // Threads inherit the creator's signal mask: block while creating the worker, then restore.
  sigset_t block = ui_signals(), previous;
  pthread_sigmask(SIG_BLOCK, &block, &previous);
  try {
    thread_ = std::thread([this] { run(); });
  } catch (...) {
    pthread_sigmask(SIG_SETMASK, &previous, nullptr);
    close(wake_fd_);
    throw;
  }
  pthread_sigmask(SIG_SETMASK, &previous, nullptr);
}

InferenceWorker::~InferenceWorker() {
  finish();
  if (wake_fd_ >= 0) close(wake_fd_);
}

void InferenceWorker::finish() {
  {
    std::lock_guard lock(command_mutex_);
    stopping_ = true;
    commands_.clear();
  }
  cancel();
  command_ready_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void InferenceWorker::send(WorkerCommand command) {
  {
    std::lock_guard lock(command_mutex_);
    if (stopping_) return;
    commands_.push_back(std::move(command));
    busy_ = true;
  }
  command_ready_.notify_one();
}

void InferenceWorker::cancel() {
  cancel_load_ = true;
  backend_->request_cancel();
}

std::vector<WorkerEvent> InferenceWorker::drain() {
  uint64_t count;
  while (read(wake_fd_, &count, sizeof count) > 0) {
  }
  std::lock_guard lock(event_mutex_);
  std::vector<WorkerEvent> out(std::make_move_iterator(events_.begin()), std::make_move_iterator(events_.end()));
  events_.clear();
  return out;
}

void InferenceWorker::post(WorkerEvent event) {
  {
    std::lock_guard lock(event_mutex_);
    if (!events_.empty()) {
      auto* piece = std::get_if<PieceEvent>(&event);
      if (auto* last = std::get_if<PieceEvent>(&events_.back()); piece && last) {
        last->text += piece->text;
        return;  // the fd is already readable
      }
      if (std::holds_alternative<LoadProgressEvent>(event) && std::holds_alternative<LoadProgressEvent>(events_.back())) {
        events_.back() = std::move(event);
        return;
      }
    }
    events_.push_back(std::move(event));
  }
  uint64_t one = 1;
  ssize_t ignored = write(wake_fd_, &one, sizeof one);  // cannot overflow: drained regularly
  (void)ignored;
}

void InferenceWorker::post_conversation() {
  ConversationEvent event{std::make_shared<const Conversation>(backend_->conversation()), backend_->context_used(),
                          backend_->context_max(), backend_->file_path(), std::nullopt};
  try {
    event.show = ShowTexts{backend_->show("info"), backend_->show("parameters"), backend_->show("system"),
                           backend_->show("template")};
  } catch (const std::exception&) {
    // No model loaded: /show goes through the worker and says so.
  }
  post(std::move(event));
}

TurnCallbacks InferenceWorker::turn_callbacks() {
  TurnCallbacks callbacks;
  callbacks.on_piece = [this](std::string_view piece) {
    post(PieceEvent{std::string(piece)});
  };
  callbacks.on_notice = [this](const std::string& notice) {
    post(NoticeEvent{notice});
  };
  return callbacks;
}

void InferenceWorker::run() {
  sigset_t block = ui_signals();
  pthread_sigmask(SIG_BLOCK, &block, nullptr);
  while (true) {
    WorkerCommand command;
    {
      std::unique_lock lock(command_mutex_);
      command_ready_.wait(lock, [this] { return stopping_ || !commands_.empty(); });
      if (stopping_) return;
      command = std::move(commands_.front());
      commands_.pop_front();
    }
    execute(command);
    for (std::string& text : backend_->take_notices()) post(NoticeEvent{std::move(text)});
    std::lock_guard lock(command_mutex_);
    if (commands_.empty()) busy_ = false;
  }
}

void InferenceWorker::execute(const WorkerCommand& command) {
  using K = WorkerCommand::Kind;
  auto notice = [this](std::string text) { post(NoticeEvent{std::move(text)}); };
  auto error_event = [this](std::string text) { post(ErrorEvent{std::move(text)}); };
  auto finish_turn = [this](const TurnResult& result) {
    post(TurnFinishedEvent{result.ok, result.interrupted, result.error, result.stats, result.message_kept});
    if (result.save_error) {
      post(ErrorEvent{"autosave failed: " + *result.save_error + " (the conversation is kept in memory; try /save PATH)"});
    }
    post_conversation();
  };
  try {
    switch (command.kind) {
      case K::Load: {
        cancel_load_ = false;
        Clock::time_point start = Clock::now();
        Clock::time_point last_post = start - std::chrono::seconds(1);
        uint64_t last_permille = UINT64_MAX, total_bytes = 0;
        LoadProgress progress = [&](uint64_t done, uint64_t total) {
          total_bytes = total;
          uint64_t permille = total ? done * 1000 / total : 1000;
          Clock::time_point now = Clock::now();
          if (permille != last_permille && (now - last_post > std::chrono::milliseconds(30) || done == total)) {
            last_permille = permille;
            last_post = now;
            post(LoadProgressEvent{done, total, seconds_since(start)});
          }
          return !cancel_load_.load();
        };
        try {
          backend_->load(progress);
        } catch (const LoadCancelled&) {
          post(LoadFailedEvent{"loading cancelled", /*cancelled=*/true});
          return;
        } catch (const std::exception& error) {
          post(LoadFailedEvent{error_message(error), /*cancelled=*/false});
          return;
        }
        // The resumed conversation is posted before the load's notices, so that they follow its
        // messages on screen (next to the prompt) instead of sitting above a long history.
        std::string resume_error;
        if (!command.text.empty()) {
          try {
            backend_->load_conversation(command.text);
          } catch (const std::exception& error) {
            resume_error = error_message(error);
          }
        }
        post_conversation();
        post(LoadedEvent{backend_->model_name(), total_bytes, seconds_since(start), backend_->context_max(),
                         backend_->model_notice()});
        for (const std::string& warning : backend_->load_warnings()) error_event(warning);
        if (!command.text.empty()) {
          if (resume_error.empty()) {
            notice("resumed " + command.text);
          } else {
            error_event("cannot resume: " + resume_error);
          }
        }
        return;
      }
      case K::Submit: {
        post(TurnStartedEvent{command.text});
        finish_turn(guarded_turn([&] { return backend_->submit(command.text, turn_callbacks()); }));
        return;
      }
      case K::Regenerate: {
        post(TurnStartedEvent{});
        finish_turn(guarded_turn([&] { return backend_->regenerate(turn_callbacks()); }));
        return;
      }
      case K::Undo:
        if (backend_->undo()) {
          notice("removed the last exchange");
        } else {
          error_event("nothing to undo");
        }
        post_conversation();
        return;
      case K::Clear:
        backend_->clear();
        notice("started a new conversation");
        post_conversation();
        return;
      case K::SetParameter:
        backend_->set_parameter(command.name, command.text);
        notice("set " + command.name + " to " + command.text);
        post_conversation();  // for /show parameters, and num_ctx changes the size the status line shows
        return;
      case K::SetSystem:
        backend_->set_system_prompt(command.text);
        notice(command.text.empty() ? "cleared the system prompt" : "set the system prompt");
        post_conversation();
        return;
      case K::Show:
        notice(backend_->show(command.name));
        return;
      case K::Save: {
        std::filesystem::path written = backend_->save(command.text);
        notice("saved to " + written.string());
        return;
      }
      case K::LoadConversation:
        backend_->load_conversation(command.text);
        notice("loaded " + command.text);
        post_conversation();
        return;
      case K::Export:
        backend_->export_conversation(command.name, command.text);
        notice("exported to " + command.text);
        return;
    }
  } catch (const std::exception& error) {
    error_event(error_message(error));
  }
}

}  // namespace dschat
