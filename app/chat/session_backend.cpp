#include "app/chat/session_backend.h"

#include <stdexcept>

namespace dschat {

SessionBackend::SessionBackend(std::filesystem::path model_dir, ChatSessionOptions options, LoadOptions load_options)
    : model_dir_(std::move(model_dir)), options_(std::move(options)), load_options_(std::move(load_options)) {}

SessionBackend::SessionBackend(ResponderFactory make, ChatSessionOptions options)
    : make_responder_(std::move(make)), options_(std::move(options)) {}

void SessionBackend::load(const LoadProgress& progress) {
  if (make_responder_) {
    MadeResponder made = make_responder_(progress);
    auto session = std::make_unique<ChatSession>(std::move(made.responder), options_);
    std::lock_guard lock(session_mutex_);
    responder_name_ = std::move(made.name);
    session_ = std::move(session);
    return;
  }
  std::error_code ec;
  if (!std::filesystem::exists(model_dir_, ec)) {
    throw ModelError(model_dir_.string() + ": no such model directory (give one with --model DIR or DSCHAT_MODEL_DIR)");
  }
  LoadOptions options = load_options_;
  options.progress = progress;
  model_ = LoadedModel::load(model_dir_, options);
  auto session = std::make_unique<ChatSession>(model_, options_);
  std::lock_guard lock(session_mutex_);
  session_ = std::move(session);
}

ChatSession& SessionBackend::session() const {
  if (!session_) throw std::runtime_error("no model loaded");
  return *session_;
}

std::string SessionBackend::model_name() const {
  if (make_responder_) return responder_name_;
  return model_ && model_->model ? model_->identity.display_name : "";
}

std::string SessionBackend::model_notice() const { return model_ ? model_->identity.notice : ""; }

std::vector<std::string> SessionBackend::load_warnings() const { return model_ ? model_->warnings : std::vector<std::string>{}; }

TurnResult SessionBackend::submit(const std::string& text, const TurnCallbacks& callbacks) {
  return session().submit(text, callbacks);
}

TurnResult SessionBackend::regenerate(const TurnCallbacks& callbacks) { return session().regenerate(callbacks); }
bool SessionBackend::undo() { return session().undo(); }
void SessionBackend::clear() { session().clear(); }

void SessionBackend::set_parameter(const std::string& name, const std::string& value) {
  session().set_parameter(name, value);
}

void SessionBackend::set_system_prompt(const std::string& text) { session().set_system_prompt(text); }

std::string SessionBackend::show(const std::string& topic) const {
  ChatSession& s = session();
  if (topic == "info") return s.model_info();
  if (topic == "parameters") return s.parameters_text();
  if (topic == "system") {
    std::string system = s.system_prompt();
    return system.empty() ? "(no system prompt)" : system;
  }
  if (topic == "template") return "template " + s.template_name() + ":\n" + s.template_text();
  throw std::invalid_argument("cannot show '" + topic + "'");
}

std::filesystem::path SessionBackend::save(const std::filesystem::path& path) { return session().save(path); }
void SessionBackend::load_conversation(const std::filesystem::path& path) { session().load(path); }

void SessionBackend::export_conversation(const std::string& format, const std::filesystem::path& path) const {
  if (format == "md") {
    session().export_markdown(path);
  } else if (format == "json") {
    session().export_json(path);
  } else {
    throw std::invalid_argument("cannot export as '" + format + "' (md or json)");
  }
}

Conversation SessionBackend::conversation() const { return session_ ? session_->conversation() : Conversation{}; }
std::vector<std::string> SessionBackend::take_notices() {
  return session_ ? session_->take_notices() : std::vector<std::string>{};
}
int SessionBackend::context_used() const { return session_ ? session_->context_used() : 0; }
int SessionBackend::context_max() const { return session_ ? session_->context_max() : 0; }
std::filesystem::path SessionBackend::file_path() const { return session_ ? session_->file_path() : std::filesystem::path(); }

void SessionBackend::request_cancel() {
  std::lock_guard lock(session_mutex_);
  if (session_) session_->request_cancel();
}

}  // namespace dschat
