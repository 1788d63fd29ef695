#include "app/chat/chat_session.h"

#include <algorithm>
#include <cstdio>
#include <limits>
#include <sstream>
#include <stdexcept>
#include <utility>

#include "app/backend/local_responder.h"
#include "app/backend/reasoning.h"
#include "app/backend/stop_strings.h"
#include "app/chat/conversation_list.h"
#include "common/out_of_memory.h"

namespace dschat {

namespace {

// The whole of `value` as an integer, else std::invalid_argument("<what>, got '<value>'").
long long parse_whole_integer(const std::string& value, const std::string& what) {
  try {
    size_t used = 0;
    long long v = std::stoll(value, &used);
    if (used == value.size()) return v;
  } catch (const std::exception&) {
  }
  throw std::invalid_argument(what + ", got '" + value + "'");
}

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

std::string format_float(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

}  // namespace

ChatSession::ChatSession(std::unique_ptr<Responder> responder, ChatSessionOptions options)
    : responder_(std::move(responder)), options_(std::move(options)), store_(options_.conversations_dir) {
  const ReplyDefaults defaults = responder_->defaults();
  if (options_.max_reply_tokens < 0) options_.max_reply_tokens = defaults.max_reply_tokens;
  conversation_.id = new_conversation_id();
  conversation_.created = conversation_.updated = utc_now_iso8601();
  conversation_.model = {responder_->model_path(), responder_->model_name()};
  conversation_.system = options_.system;
  SamplingParams sampling = options_.sampling.value_or(defaults.sampling);
  for (const auto& [name, value] : options_.sampling_overrides) set_sampling_parameter(sampling, name, value);
  for (const auto& [name, value] : options_.sampling_options) set_sampling_parameter(sampling, name, value);
  set_sampling(sampling);
  // --ctx beyond what the model was trained for: the responder made the largest context it has,
  // and the user is told, not left to find out from the status line.
  if (const int capacity = responder_->context_max(); capacity > 0 && options_.context_tokens > capacity) {
    notices_.push_back("--ctx " + std::to_string(options_.context_tokens) + " is more than the model's maximum; the context is " +
                       std::to_string(capacity) + " tokens");
    options_.context_tokens = capacity;
  }
  file_path_ = store_.path_for(conversation_);
  store_.remove_stale_temporary_files();  // left by a save that was killed (SIGKILL, power loss)
}

ChatSession::ChatSession(std::shared_ptr<const LoadedModel> model, ChatSessionOptions options)
    : ChatSession(std::make_unique<LocalResponder>(
                      std::move(model), LocalResponderOptions{options.template_name, options.context_tokens,
                                                            options.draft_tokens, options.draft_vocab,
                                                            options.cache_type}),
                  options) {}

ChatSession::~ChatSession() = default;

void ChatSession::request_cancel() { cancel_.store(true); }

Conversation ChatSession::conversation() const {
  std::lock_guard lock(mutex_);
  return conversation_;
}

int ChatSession::first_message_in_context() const {
  std::lock_guard lock(mutex_);
  return first_in_context_;
}

int ChatSession::context_used() const { return responder_->context_used(); }
int ChatSession::context_max() const { return responder_->context_max(); }

std::string ChatSession::system_prompt() const {
  std::lock_guard lock(mutex_);
  return conversation_.system;
}

std::string ChatSession::template_name() const { return responder_->template_name(); }
std::string ChatSession::template_text() const { return responder_->template_text(); }
std::string ChatSession::model_info() const { return responder_->model_info(); }

std::filesystem::path ChatSession::file_path() const {
  std::lock_guard lock(mutex_);
  return file_path_;
}

ChatMessages ChatSession::messages_in_context() const {
  std::lock_guard lock(mutex_);
  return {conversation_.system, conversation_.messages, first_in_context_};
}

void ChatSession::set_sampling(const SamplingParams& params) {
  std::lock_guard lock(mutex_);
  conversation_.sampling = params;
  seed_ = params.seed ? params.seed : random_seed();
  restart_sampling_ = true;
}

void ChatSession::autosave(TurnResult& result) {
  if (!options_.autosave) return;
  try {
    save();
  } catch (const std::exception& e) {
    result.save_error = error_message(e);
  }
}

TurnResult ChatSession::generate_reply(const TurnCallbacks& callbacks) {
  cancel_.store(false);
  ResponderRequest request;
  request.conversation = messages_in_context();
  {
    std::lock_guard lock(mutex_);
    request.sampling = conversation_.sampling;
    request.sampling.seed = seed_;
    request.restart_sampling = restart_sampling_;
    request.max_reply_tokens = options_.max_reply_tokens;
    request.stop = options_.stop;
  }
  // Pieces that arrive before </think> are the reasoning's (a piece is a token, except where the
  // stop-string hold-back joins a few).
  std::string streamed;
  int reasoning_pieces = 0;
  bool reasoning_open = true;
  TurnCallbacks counting = callbacks;
  counting.on_piece = [&](std::string_view piece) {
    if (reasoning_open) {
      streamed.append(piece);
      const ReasoningSplit split = split_reasoning(streamed, true);
      if (split.has_reasoning) ++reasoning_pieces;
      // Decided: no <think> at the start, or it was closed.
      reasoning_open = split.has_reasoning ? !split.closed : split.answer.empty();
    }
    if (callbacks.on_piece) callbacks.on_piece(piece);
  };
  ReplyResult reply = responder_->respond(request, counting, cancel_);
  TurnResult result;
  result.ok = reply.ok;
  result.message_kept = !reply.ok && reply.retryable;
  result.error = std::move(reply.error);
  result.reply = reply.reply;
  result.stats = reply.stats;
  result.interrupted = reply.interrupted;
  result.notices = std::move(reply.notices);
  std::lock_guard lock(mutex_);
  first_in_context_ = reply.first_in_context;
  if (!result.ok) return result;
  restart_sampling_ = false;
  Message message;
  message.role = Role::Assistant;
  ReasoningSplit split = split_reasoning(reply.reply);
  message.content = std::move(split.answer);
  message.reasoning = std::move(split.reasoning);
  message.reasoning_tokens = split.has_reasoning ? std::min(reasoning_pieces, reply.stats.generated_tokens) : 0;
  message.model = responder_->model_name();
  message.time = utc_now_iso8601();
  message.stats = reply.stats;
  message.interrupted = reply.interrupted;
  conversation_.messages.push_back(std::move(message));
  conversation_.updated = utc_now_iso8601();
  return result;
}

TurnResult ChatSession::submit(const std::string& user_text, const TurnCallbacks& callbacks) {
  TurnResult result;
  if (std::all_of(user_text.begin(), user_text.end(), is_space)) {
    result.error = "empty message";
    return result;
  }
  {
    std::lock_guard lock(mutex_);
    if (!conversation_.messages.empty() && conversation_.messages.back().role == Role::User) {
      result.error = "the last message has no reply yet: /regen sends it again, /undo removes it";
      return result;
    }
    if (conversation_.messages.empty() && conversation_.title.empty()) conversation_.title = conversation_title(user_text);
    conversation_.messages.push_back({Role::User, user_text, utc_now_iso8601(), std::nullopt, false});
  }
  result = generate_reply(callbacks);
  if (!result.ok && result.message_kept) {
    {
      std::lock_guard lock(mutex_);
      conversation_.updated = utc_now_iso8601();
    }
    autosave(result);  // the message is not lost if dschat ends before it is answered
    return result;
  }
  if (!result.ok) {
    std::lock_guard lock(mutex_);
    conversation_.messages.pop_back();  // the failed turn leaves the conversation as it was
    if (conversation_.messages.empty()) conversation_.title.clear();  // a refused first message names nothing
    return result;
  }
  autosave(result);
  return result;
}

TurnResult ChatSession::regenerate(const TurnCallbacks& callbacks) {
  TurnResult result;
  Message previous;
  bool unanswered = false;
  {
    std::lock_guard lock(mutex_);
    if (conversation_.messages.empty()) {
      result.error = "there is no reply to regenerate";
      return result;
    }
    unanswered = conversation_.messages.back().role == Role::User;  // a failed turn kept its message
    if (!unanswered) {
      previous = std::move(conversation_.messages.back());
      conversation_.messages.pop_back();
    }
  }
  result = generate_reply(callbacks);  // the responder's cache rolls back to the shared prefix
  if (!result.ok) {
    if (!unanswered) {
      std::lock_guard lock(mutex_);
      conversation_.messages.push_back(std::move(previous));
    }
    result.message_kept = unanswered;  // it stays, as it was
    return result;
  }
  autosave(result);
  return result;
}

void ChatSession::roll_back_cache() {
  const int first = responder_->roll_back_cache(messages_in_context());
  std::lock_guard lock(mutex_);
  first_in_context_ = first;
}

bool ChatSession::undo() {
  {
    std::lock_guard lock(mutex_);
    auto& messages = conversation_.messages;
    if (messages.empty()) return false;
    if (messages.back().role == Role::Assistant) messages.pop_back();
    if (!messages.empty() && messages.back().role == Role::User) messages.pop_back();
    first_in_context_ = std::min(first_in_context_, static_cast<int>(messages.size()));
    if (messages.empty()) conversation_.title.clear();  // the next first message names it
    conversation_.updated = utc_now_iso8601();
  }
  roll_back_cache();
  TurnResult ignored;
  autosave(ignored);
  return true;
}

void ChatSession::clear() {
  {
    std::lock_guard lock(mutex_);
    conversation_.id = new_conversation_id();
    conversation_.created = conversation_.updated = utc_now_iso8601();
    conversation_.messages.clear();
    conversation_.title.clear();
    first_in_context_ = 0;
    file_path_ = store_.path_for(conversation_);
    file_revision_ = {};
  }
  roll_back_cache();
}

void ChatSession::set_system_prompt(const std::string& system) {
  bool has_messages;
  {
    std::lock_guard lock(mutex_);
    conversation_.system = system;
    has_messages = !conversation_.messages.empty();
  }
  roll_back_cache();
  if (has_messages) {
    TurnResult ignored;
    autosave(ignored);
  }
}

void ChatSession::set_parameter(const std::string& name, const std::string& value) {
  if (name == "num_predict") {
    long long v = parse_whole_integer(value, "num_predict needs an integer (-1 = no limit)");
    if (v == 0) throw std::invalid_argument("num_predict 0 would give an empty reply: use -1 for no limit or a number of tokens");
    if (v < -1 || v > 10'000'000) throw std::invalid_argument("num_predict must be -1 (no limit) or a token count");
    std::lock_guard lock(mutex_);
    options_.max_reply_tokens = static_cast<int>(v);
    return;
  }
  if (name == "stop") {
    std::vector<std::string> stop = parse_stop_list(value);  // throws std::invalid_argument
    std::lock_guard lock(mutex_);
    options_.stop = std::move(stop);
    return;
  }
  if (name == "draft") {  // MTP speculative decoding, tokens drafted per step
    const long long v = parse_whole_integer(value, "draft needs an integer (0 = off, 1 to 3 tokens per step)");
    responder_->set_draft_tokens(v < 0 || v > 3 ? -1 : static_cast<int>(v));  // throws std::invalid_argument
    return;
  }
  if (name == "num_ctx") {
    long long v = parse_whole_integer(value, "num_ctx needs an integer");
    v = std::clamp<long long>(v, 0, std::numeric_limits<int>::max());  // out of range: the responder says how
    responder_->set_context_size(static_cast<int>(v));        // throws std::invalid_argument
    std::lock_guard lock(mutex_);
    options_.context_tokens = static_cast<int>(v);
    first_in_context_ = 0;
    return;
  }
  SamplingParams params;
  {
    std::lock_guard lock(mutex_);
    params = conversation_.sampling;
  }
  set_sampling_parameter(params, name, value);  // throws std::invalid_argument
  set_sampling(params);
}

std::string ChatSession::parameters_text() const {
  std::lock_guard lock(mutex_);
  const SamplingParams& p = conversation_.sampling;
  std::ostringstream out;
  out << "temperature " << format_float(p.temperature) << '\n'
      << "top_k " << p.top_k << '\n'
      << "top_p " << format_float(p.top_p) << '\n'
      << "min_p " << format_float(p.min_p) << '\n'
      << "repeat_penalty " << format_float(p.repeat_penalty) << '\n'
      << "repeat_last_n " << p.repeat_window << '\n'
      << "seed " << p.seed << (p.seed == 0 ? " (random: " + std::to_string(seed_) + ")" : "") << '\n'
      << "num_predict " << options_.max_reply_tokens << '\n'
      << "stop " << stop_list_text(options_.stop) << '\n'
      << "num_ctx " << responder_->context_max() << '\n'
      << "draft " << responder_->draft_tokens() << '\n';
  return out.str();
}

std::filesystem::path ChatSession::save(const std::filesystem::path& path) {
  Conversation snapshot;
  std::filesystem::path target;
  {
    std::lock_guard lock(mutex_);
    snapshot = conversation_;
    target = file_path_;
  }
  std::error_code ec;
  if (!path.empty() && path != target && !std::filesystem::equivalent(path, target, ec)) {
    return store_.save(snapshot, path);  // a file the user named: written as asked
  }
  GuardedSave saved = store_.save_unless_changed(snapshot, file_revision_, target);
  file_revision_ = saved.revision;
  if (!saved.forked_id.empty()) {
    std::lock_guard lock(mutex_);
    conversation_.id = saved.forked_id;
    file_path_ = saved.path;
    notices_.push_back(saved.changed_path.string() +
                       " was changed by another dschat since this conversation was opened (or is newer than the "
                       "copy resumed); it was left as it is, and your turns are saved as a new conversation " +
                       saved.path.string());
  }
  return saved.path;
}

std::vector<std::string> ChatSession::take_notices() {
  std::lock_guard lock(mutex_);
  return std::exchange(notices_, {});
}

void ChatSession::load(const std::filesystem::path& path) {
  FileRevision loaded_revision;
  Conversation loaded = ConversationStore::load(path, &loaded_revision);  // throws ConversationError
  // A file that ends with a user message (edited by hand, or written by another tool) gets an
  // empty interrupted reply, so turns keep alternating.
  if (!loaded.messages.empty() && loaded.messages.back().role == Role::User)
    loaded.messages.push_back({Role::Assistant, "", utc_now_iso8601(), std::nullopt, true});
  std::filesystem::path file;
  try {
    file = store_.path_for(loaded);
  } catch (const ConversationWriteError&) {
    loaded.id = new_conversation_id();  // an unsafe id never becomes a file name
    file = store_.path_for(loaded);
  }
  std::error_code ec;
  FileRevision revision;  // what `file` holds as far as this session knows
  if (std::filesystem::equivalent(path.parent_path(), store_.dir(), ec)) {
    file = path;
    revision = loaded_revision;
  } else if (current_revision(file).exists) {
    // A copy (a backup, an export) of a stored conversation: it may only replace the stored file
    // if that holds the same bytes; an older copy's turns go to a new id on the first save.
    revision = loaded_revision;
  }
  SamplingParams sampling = loaded.sampling;
  for (const auto& [name, value] : options_.sampling_options) set_sampling_parameter(sampling, name, value);
  // Replies keep the name of the model that wrote them (files from before per-reply names: the
  // file's model), though the conversation goes on with this one.
  for (Message& m : loaded.messages)
    if (m.role == Role::Assistant && m.model.empty()) m.model = loaded.model.name;
  {
    std::lock_guard lock(mutex_);
    conversation_ = std::move(loaded);
    conversation_.model = {responder_->model_path(), responder_->model_name()};
    first_in_context_ = 0;
    file_path_ = file;
    file_revision_ = revision;
  }
  set_sampling(sampling);
  // Rebuild the cache: the responder computes the whole conversation now, so the next turn only
  // adds to it.
  cancel_.store(false);
  const int first = responder_->rebuild_cache(messages_in_context(), cancel_);
  std::lock_guard lock(mutex_);
  first_in_context_ = first;
  if (first > 0) {
    const size_t total = conversation_.messages.size();
    notices_.push_back("This conversation is longer than the context (" + std::to_string(responder_->context_max()) +
                       " tokens): the model sees the last " + std::to_string(total - static_cast<size_t>(first)) +
                       " of its " + std::to_string(total) + " messages.");
  }
}

void ChatSession::export_markdown(const std::filesystem::path& path) const {
  store_.export_markdown(conversation(), path);
}

void ChatSession::export_json(const std::filesystem::path& path) const { store_.export_json(conversation(), path); }

}  // namespace dschat
