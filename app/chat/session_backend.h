// The chat TUI's backend over the real thing: loads the model directory (LoadedModel), or makes a
// Responder with a factory (a remote engine), and runs a ChatSession over it, for the
// InferenceWorker. A thin adapter; all chat logic lives in ChatSession.
#pragma once

#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>

#include "app/chat/chat_session.h"
#include "app/chat/inference_worker.h"

namespace dschat {

class SessionBackend : public ChatBackend {
 public:
  SessionBackend(std::filesystem::path model_dir, ChatSessionOptions options, LoadOptions load_options = {});
  // The responder `make` returns, made on the inference thread by load() (`progress` returning
  // false asks it to stop); `name` is its model name for the status line (responder and name
  // are returned together: the name may only be known once it is made).
  struct MadeResponder {
    std::unique_ptr<Responder> responder;
    std::string name;
  };
  using ResponderFactory = std::function<MadeResponder(const LoadProgress& progress)>;
  SessionBackend(ResponderFactory make, ChatSessionOptions options);

  void load(const LoadProgress& progress) override;
  std::string model_name() const override;
  std::string model_notice() const override;
  std::vector<std::string> load_warnings() const override;
  TurnResult submit(const std::string& text, const TurnCallbacks& callbacks) override;
  TurnResult regenerate(const TurnCallbacks& callbacks) override;
  bool undo() override;
  void clear() override;
  void set_parameter(const std::string& name, const std::string& value) override;
  void set_system_prompt(const std::string& text) override;
  std::string show(const std::string& topic) const override;
  std::filesystem::path save(const std::filesystem::path& path) override;
  void load_conversation(const std::filesystem::path& path) override;
  void export_conversation(const std::string& format, const std::filesystem::path& path) const override;
  Conversation conversation() const override;
  std::vector<std::string> take_notices() override;
  int context_used() const override;
  int context_max() const override;
  std::filesystem::path file_path() const override;
  void request_cancel() override;

 private:
  ChatSession& session() const;  // throws when no model is loaded

  std::filesystem::path model_dir_;
  ResponderFactory make_responder_;  // when set, used instead of model_dir_
  std::string responder_name_;
  ChatSessionOptions options_;
  LoadOptions load_options_;
  std::shared_ptr<LoadedModel> model_;
  mutable std::mutex session_mutex_;  // guards session_ (set on the worker, read by request_cancel)
  std::unique_ptr<ChatSession> session_;
};

}  // namespace dschat
