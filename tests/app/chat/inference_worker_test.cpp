// The inference thread (app/chat/inference_worker.h) with a fake backend: event order, merging,
// cancellation of loads and replies, command order, shutdown while busy, signal mask.
// Meant to be run under ThreadSanitizer too (-DDSCHAT_SANITIZE=thread).
#include "app/chat/inference_worker.h"

#include <gtest/gtest.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <deque>
#include <thread>

namespace dschat {
namespace {

using namespace std::chrono_literals;
using CK = WorkerCommand::Kind;

// The fake's i-th word of a reply ("w7 ").
std::string word(int i) {
  std::string w = std::to_string(i);
  w.insert(w.begin(), 'w');
  w.push_back(' ');
  return w;
}

// A backend that "loads" in steps and "generates" one word per step until told to stop.
class FakeBackend : public ChatBackend {
 public:
  struct Shared {
    std::atomic<bool> sigint_blocked_in_worker{false};
    std::atomic<int> load_steps{20};
    std::atomic<int> reply_words{5};
    std::atomic<bool> fail_load{false};
    std::string save_notice;  // take_notices() gives it once after a submit (set before the worker starts)
  };
  explicit FakeBackend(Shared& shared) : shared_(shared) {}

  void load(const LoadProgress& progress) override {
    sigset_t mask;
    pthread_sigmask(SIG_BLOCK, nullptr, &mask);
    shared_.sigint_blocked_in_worker = sigismember(&mask, SIGINT) == 1;
    const uint64_t total = 1000;
    int steps = shared_.load_steps;
    for (int i = 1; i <= steps; ++i) {
      std::this_thread::sleep_for(1ms);
      if (!progress(total * i / steps, total)) throw LoadCancelled();
    }
    if (shared_.fail_load) throw ModelError("/models/x/model.safetensors: tensor 'w' is truncated");
    loaded_ = true;
  }
  std::string model_name() const override { return "fake"; }
  TurnResult submit(const std::string& text, const TurnCallbacks& callbacks) override {
    if (!loaded_) throw std::runtime_error("no model loaded");
    conversation_.messages.push_back(Message{Role::User, text, "", std::nullopt, false});
    return reply(callbacks);
  }
  TurnResult regenerate(const TurnCallbacks& callbacks) override {
    if (conversation_.messages.empty()) {
      TurnResult r;
      r.error = "nothing to regenerate";
      return r;
    }
    conversation_.messages.pop_back();
    return reply(callbacks);
  }
  bool undo() override {
    if (conversation_.messages.size() < 2) return false;
    conversation_.messages.resize(conversation_.messages.size() - 2);
    return true;
  }
  void clear() override { conversation_.messages.clear(); }
  void set_parameter(const std::string& name, const std::string& value) override {
    if (name != "temperature") throw std::invalid_argument("unknown parameter '" + name + "'");
    temperature_ = value;
  }
  void set_system_prompt(const std::string& text) override { conversation_.system = text; }
  std::string show(const std::string& topic) const override {
    return topic == "parameters" ? "temperature " + temperature_ : topic;
  }
  std::filesystem::path save(const std::filesystem::path& path) override { return path.empty() ? "auto.json" : path; }
  void load_conversation(const std::filesystem::path& path) override {
    if (path != "good.json") throw ConversationError(path.string() + ": not a conversation file");
    conversation_.messages = {Message{Role::User, "old question", "", std::nullopt, false},
                              Message{Role::Assistant, "old answer", "", std::nullopt, false}};
  }
  void export_conversation(const std::string&, const std::filesystem::path&) const override {}
  Conversation conversation() const override { return conversation_; }
  int context_used() const override { return static_cast<int>(conversation_.messages.size()) * 10; }
  int context_max() const override { return 4096; }
  std::filesystem::path file_path() const override { return conversation_.messages.empty() ? "" : "/c/auto.json"; }
  void request_cancel() override { cancel_ = true; }
  std::vector<std::string> take_notices() override {
    if (shared_.save_notice.empty() || conversation_.messages.empty() || notice_taken_) return {};
    notice_taken_ = true;
    return {shared_.save_notice};
  }

 private:
  TurnResult reply(const TurnCallbacks& callbacks) {
    cancel_ = false;
    TurnResult result;
    result.ok = true;
    int words = shared_.reply_words;
    for (int i = 0; i < words; ++i) {
      if (cancel_) {
        result.interrupted = true;
        result.stats.stop = StopReason::User;
        break;
      }
      std::string piece = word(i);
      result.reply += piece;
      callbacks.on_piece(piece);
      std::this_thread::sleep_for(1ms);
    }
    result.stats.generated_tokens = static_cast<int>(result.reply.size() / 3);
    if (!result.interrupted) result.stats.stop = StopReason::Eos;
    conversation_.messages.push_back(Message{Role::Assistant, result.reply, "", result.stats, result.interrupted});
    return result;
  }

  Shared& shared_;
  bool loaded_ = false;
  std::string temperature_ = "0.7";
  Conversation conversation_;
  std::atomic<bool> cancel_{false};
  bool notice_taken_ = false;
};

// Collects events until `done` says stop (or a timeout), waiting on the worker's fd. Events
// drained after the one that satisfied `done` are kept for the next call.
std::deque<WorkerEvent> leftover;                 // one list for every instantiation below
const InferenceWorker* leftover_owner = nullptr;

template <typename Done>
std::vector<WorkerEvent> collect(InferenceWorker& worker, Done done, std::chrono::milliseconds timeout = 10000ms) {
  if (leftover_owner != &worker) leftover.clear();
  leftover_owner = &worker;
  std::vector<WorkerEvent> all;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    while (!leftover.empty()) {
      all.push_back(std::move(leftover.front()));
      leftover.pop_front();
      if (done(all.back())) return all;
    }
    if (std::chrono::steady_clock::now() >= deadline) break;
    pollfd p{worker.wake_fd(), POLLIN, 0};
    poll(&p, 1, 50);
    for (WorkerEvent& e : worker.drain()) leftover.push_back(std::move(e));
  }
  ADD_FAILURE() << "timed out waiting for events";
  all.emplace_back();  // never empty, so callers may look at back()
  return all;
}

template <class Event>
bool is(const WorkerEvent& e) {
  return std::holds_alternative<Event>(e);
}
template <class Event>
const Event& as(const WorkerEvent& e) {
  return std::get<Event>(e);
}

TEST(InferenceWorker, LoadReportsMonotoneProgressThenLoaded) {
  FakeBackend::Shared shared;
  InferenceWorker worker(std::make_unique<FakeBackend>(shared));
  worker.send({CK::Load, "", ""});
  auto events = collect(worker, [](const WorkerEvent& e) { return is<LoadedEvent>(e); });
  uint64_t last = 0;
  bool saw_full = false;
  size_t loaded_at = 0;
  for (size_t i = 0; i < events.size(); ++i) {
    if (is<LoadProgressEvent>(events[i])) {
      EXPECT_GE(as<LoadProgressEvent>(events[i]).bytes_done, last);
      EXPECT_EQ(as<LoadProgressEvent>(events[i]).bytes_total, 1000u);
      last = as<LoadProgressEvent>(events[i]).bytes_done;
      saw_full = saw_full || as<LoadProgressEvent>(events[i]).bytes_done == 1000;
      EXPECT_EQ(loaded_at, 0u) << "progress after Loaded";
    }
    if (is<LoadedEvent>(events[i])) loaded_at = i;
  }
  EXPECT_TRUE(saw_full) << "the last progress report is 100%";
  ASSERT_GT(loaded_at, 0u);
  EXPECT_EQ(as<LoadedEvent>(events[loaded_at]).model_name, "fake");
  EXPECT_EQ(as<LoadedEvent>(events[loaded_at]).context_max, 4096);
  EXPECT_TRUE(shared.sigint_blocked_in_worker);
}

TEST(InferenceWorker, LoadFailureAndCancellation) {
  FakeBackend::Shared shared;
  shared.fail_load = true;
  {
    InferenceWorker worker(std::make_unique<FakeBackend>(shared));
    worker.send({CK::Load, "", ""});
    auto events = collect(worker, [](const WorkerEvent& e) { return is<LoadFailedEvent>(e); });
    EXPECT_NE(as<LoadFailedEvent>(events.back()).reason.find("model.safetensors"), std::string::npos);
    EXPECT_FALSE(as<LoadFailedEvent>(events.back()).cancelled);
    // A message sent without a model fails cleanly: TurnStarted is always followed by TurnFinished.
    worker.send({CK::Submit, "", "hi"});
    events = collect(worker, [](const WorkerEvent& e) { return is<TurnFinishedEvent>(e); });
    EXPECT_FALSE(as<TurnFinishedEvent>(events.back()).ok);
    EXPECT_EQ(as<TurnFinishedEvent>(events.back()).error, "no model loaded");
  }
  shared.fail_load = false;
  shared.load_steps = 100000;  // ~100 s unless cancelled
  InferenceWorker worker(std::make_unique<FakeBackend>(shared));
  worker.send({CK::Load, "", ""});
  collect(worker, [](const WorkerEvent& e) { return is<LoadProgressEvent>(e); });
  auto start = std::chrono::steady_clock::now();
  worker.cancel();
  auto events = collect(worker, [](const WorkerEvent& e) { return is<LoadFailedEvent>(e); });
  EXPECT_TRUE(as<LoadFailedEvent>(events.back()).cancelled);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 1s);
}

// The UI answers /show at once from the snapshots (also while a reply streams): each carries
// what show() says, kept current by /set parameter, and the conversation's file.
TEST(InferenceWorker, SnapshotsCarryShowTextsAndTheFile) {
  FakeBackend::Shared shared;
  InferenceWorker worker(std::make_unique<FakeBackend>(shared));
  worker.send({CK::Load, "", ""});
  auto events = collect(worker, [](const WorkerEvent& e) { return is<ConversationEvent>(e); });
  const ConversationEvent& loaded = as<ConversationEvent>(events.back());
  ASSERT_TRUE(loaded.show);
  EXPECT_EQ(loaded.show->parameters, "temperature 0.7");
  EXPECT_EQ(loaded.show->info, "info");
  EXPECT_EQ(loaded.show->template_text, "template");
  EXPECT_TRUE(loaded.file.empty());
  worker.send({CK::SetParameter, "temperature", "0.2"});
  events = collect(worker, [](const WorkerEvent& e) { return is<ConversationEvent>(e); });
  ASSERT_TRUE(as<ConversationEvent>(events.back()).show);
  EXPECT_EQ(as<ConversationEvent>(events.back()).show->parameters, "temperature 0.2");
  worker.send({CK::Submit, "", "hi"});
  events = collect(worker, [](const WorkerEvent& e) { return is<ConversationEvent>(e); });
  EXPECT_EQ(as<ConversationEvent>(events.back()).file, "/c/auto.json");
}

// finish() (the chat is leaving): the running reply stops, queued commands are dropped, and the
// events up to the end can still be drained (the kept partial reply, where it was saved).
TEST(InferenceWorker, FinishStopsAndLeavesTheLastEventsToDrain) {
  FakeBackend::Shared shared;
  shared.reply_words = 100000;  // ~100 s unless stopped
  InferenceWorker worker(std::make_unique<FakeBackend>(shared));
  worker.send({CK::Load, "", ""});
  worker.send({CK::Submit, "", "long"});
  worker.send({CK::Submit, "", "never"});
  collect(worker, [](const WorkerEvent& e) { return is<PieceEvent>(e); });
  const auto start = std::chrono::steady_clock::now();
  worker.finish();
  EXPECT_LT(std::chrono::steady_clock::now() - start, 1s);
  std::vector<WorkerEvent> rest(std::make_move_iterator(leftover.begin()), std::make_move_iterator(leftover.end()));
  leftover.clear();
  for (WorkerEvent& e : worker.drain()) rest.push_back(std::move(e));
  const TurnFinishedEvent* finished = nullptr;
  const ConversationEvent* last = nullptr;
  for (const WorkerEvent& e : rest) {
    if (is<TurnFinishedEvent>(e)) finished = &as<TurnFinishedEvent>(e);
    if (is<ConversationEvent>(e)) last = &as<ConversationEvent>(e);
    if (is<TurnStartedEvent>(e)) {
      EXPECT_NE(as<TurnStartedEvent>(e).user_message, "never");
    }
  }
  ASSERT_TRUE(finished);
  EXPECT_TRUE(finished->interrupted);
  ASSERT_TRUE(last);
  EXPECT_EQ(last->conversation->messages.size(), 2u);
  EXPECT_EQ(last->file, "/c/auto.json");
  worker.send({CK::Submit, "", "after"});  // ignored, no hang
  EXPECT_TRUE(worker.drain().empty());
}

TEST(InferenceWorker, TurnStreamsPiecesInOrderThenSnapshot) {
  FakeBackend::Shared shared;
  shared.reply_words = 40;
  InferenceWorker worker(std::make_unique<FakeBackend>(shared));
  worker.send({CK::Load, "", ""});
  worker.send({CK::Submit, "", "hello"});  // queued behind the load
  auto events = collect(worker, [](const WorkerEvent& e) { return is<TurnFinishedEvent>(e); });
  std::string streamed;
  bool started = false;
  for (const WorkerEvent& e : events) {
    if (is<TurnStartedEvent>(e)) {
      started = true;
      EXPECT_EQ(as<TurnStartedEvent>(e).user_message, "hello");
    }
    if (is<PieceEvent>(e)) {
      EXPECT_TRUE(started) << "a piece before TurnStarted";
      streamed += as<PieceEvent>(e).text;
    }
  }
  std::string expected;
  for (int i = 0; i < 40; ++i) expected += word(i);
  EXPECT_EQ(streamed, expected);
  EXPECT_TRUE(as<TurnFinishedEvent>(events.back()).ok);
  EXPECT_FALSE(as<TurnFinishedEvent>(events.back()).interrupted);
  auto after = collect(worker, [](const WorkerEvent& e) { return is<ConversationEvent>(e); });
  ASSERT_TRUE(as<ConversationEvent>(after.back()).conversation);
  ASSERT_EQ(as<ConversationEvent>(after.back()).conversation->messages.size(), 2u);
  EXPECT_EQ(as<ConversationEvent>(after.back()).conversation->messages[1].content, expected);
  EXPECT_EQ(as<ConversationEvent>(after.back()).context_used, 20);
}

// A notice a command leaves in the backend (a save that moved the conversation to a new file)
// reaches the chat as a NoticeEvent after the command's own events.
TEST(InferenceWorker, NoticesLeftByACommandArePosted) {
  FakeBackend::Shared shared;
  shared.save_notice = "your turns are saved as a new conversation /c/new.json";
  InferenceWorker worker(std::make_unique<FakeBackend>(shared));
  worker.send({CK::Load, "", ""});
  worker.send({CK::Submit, "", "hello"});
  auto events = collect(worker, [&](const WorkerEvent& e) {
    return is<NoticeEvent>(e) && as<NoticeEvent>(e).text == shared.save_notice;
  });
  EXPECT_TRUE(std::any_of(events.begin(), events.end(), [](const WorkerEvent& e) { return is<TurnFinishedEvent>(e); }));
}

TEST(InferenceWorker, CancelKeepsThePartialReply) {
  FakeBackend::Shared shared;
  shared.reply_words = 100000;
  InferenceWorker worker(std::make_unique<FakeBackend>(shared));
  worker.send({CK::Load, "", ""});
  worker.send({CK::Submit, "", "tell me everything"});
  collect(worker, [](const WorkerEvent& e) { return is<PieceEvent>(e); });
  auto start = std::chrono::steady_clock::now();
  worker.cancel();
  auto events = collect(worker, [](const WorkerEvent& e) { return is<ConversationEvent>(e); });
  EXPECT_LT(std::chrono::steady_clock::now() - start, 1s);
  const TurnFinishedEvent* finished = nullptr;
  for (const WorkerEvent& e : events) if (is<TurnFinishedEvent>(e)) finished = &as<TurnFinishedEvent>(e);
  ASSERT_NE(finished, nullptr);
  EXPECT_TRUE(finished->interrupted);
  EXPECT_EQ(finished->stats.stop, StopReason::User);
  const Conversation& c = *as<ConversationEvent>(events.back()).conversation;
  ASSERT_EQ(c.messages.size(), 2u);
  EXPECT_TRUE(c.messages[1].interrupted);
  EXPECT_FALSE(c.messages[1].content.empty());
}

TEST(InferenceWorker, CommandsRunInOrderAndErrorsAreOneEvent) {
  FakeBackend::Shared shared;
  InferenceWorker worker(std::make_unique<FakeBackend>(shared));
  worker.send({CK::Load, "", ""});
  worker.send({CK::SetParameter, "temperature", "0"});
  worker.send({CK::SetParameter, "warmth", "1"});
  worker.send({CK::Show, "parameters", ""});
  worker.send({CK::LoadConversation, "", "bad.json"});
  worker.send({CK::LoadConversation, "", "good.json"});
  worker.send({CK::Undo, "", ""});
  worker.send({CK::Undo, "", ""});
  std::vector<std::string> texts;
  auto events = collect(worker, [&](const WorkerEvent& e) {
    if (is<NoticeEvent>(e)) texts.push_back("N:" + as<NoticeEvent>(e).text);
    if (is<ErrorEvent>(e)) texts.push_back("E:" + as<ErrorEvent>(e).text);
    return texts.size() == 7;
  });
  ASSERT_EQ(texts.size(), 7u);
  EXPECT_EQ(texts[0], "N:set temperature to 0");
  EXPECT_EQ(texts[1], "E:unknown parameter 'warmth'");
  EXPECT_EQ(texts[2], "N:temperature 0");
  EXPECT_EQ(texts[3], "E:bad.json: not a conversation file");
  EXPECT_EQ(texts[4], "N:loaded good.json");
  EXPECT_EQ(texts[5], "N:removed the last exchange");
  EXPECT_EQ(texts[6], "E:nothing to undo");
}

TEST(InferenceWorker, ShutdownWhileGeneratingJoinsPromptly) {
  FakeBackend::Shared shared;
  shared.reply_words = 100000;
  auto start = std::chrono::steady_clock::now();
  {
    InferenceWorker worker(std::make_unique<FakeBackend>(shared));
    worker.send({CK::Load, "", ""});
    worker.send({CK::Submit, "", "go"});
    worker.send({CK::Submit, "", "never runs"});
    collect(worker, [](const WorkerEvent& e) { return is<PieceEvent>(e); });
  }
  EXPECT_LT(std::chrono::steady_clock::now() - start, 3s);
}

TEST(InferenceWorker, ResumeAfterLoad) {
  FakeBackend::Shared shared;
  InferenceWorker worker(std::make_unique<FakeBackend>(shared));
  worker.send({CK::Load, "", "good.json"});
  auto events = collect(worker, [](const WorkerEvent& e) { return is<ConversationEvent>(e); });
  ASSERT_TRUE(as<ConversationEvent>(events.back()).conversation);
  EXPECT_EQ(as<ConversationEvent>(events.back()).conversation->messages.size(), 2u);
}

// The transcript places a notice after the messages it has when the notice comes, so the resumed
// conversation comes first and the load's notices ("Loaded ...", "resumed FILE") after it: they
// end up next to the prompt, not above a long resumed history (off the top of the screen).
TEST(InferenceWorker, AResumedConversationComesBeforeTheLoadNotices) {
  FakeBackend::Shared shared;
  InferenceWorker worker(std::make_unique<FakeBackend>(shared));
  worker.send({CK::Load, "", "good.json"});
  auto events = collect(worker, [](const WorkerEvent& e) {
    return is<NoticeEvent>(e) && as<NoticeEvent>(e).text == "resumed good.json";
  });
  size_t conversation_at = events.size(), loaded_at = events.size();
  for (size_t i = 0; i < events.size(); ++i) {
    if (is<ConversationEvent>(events[i]) && conversation_at == events.size()) conversation_at = i;
    if (is<LoadedEvent>(events[i])) loaded_at = i;
  }
  ASSERT_LT(conversation_at, events.size());
  EXPECT_EQ(as<ConversationEvent>(events[conversation_at]).conversation->messages.size(), 2u);
  EXPECT_LT(conversation_at, loaded_at);
  EXPECT_LT(loaded_at, events.size() - 1);  // the "resumed" notice is last

  FakeBackend::Shared failing_shared;
  InferenceWorker failing(std::make_unique<FakeBackend>(failing_shared));
  failing.send({CK::Load, "", "bad.json"});
  events = collect(failing, [](const WorkerEvent& e) { return is<ErrorEvent>(e); });
  EXPECT_EQ(as<ErrorEvent>(events.back()).text, "cannot resume: bad.json: not a conversation file");
  bool loaded_before_error = false;
  for (const WorkerEvent& e : events) loaded_before_error = loaded_before_error || is<LoadedEvent>(e);
  EXPECT_TRUE(loaded_before_error);
}

}  // namespace
}  // namespace dschat
