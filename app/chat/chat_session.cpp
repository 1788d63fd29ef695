#include "app/chat/chat_session.h"

#include <algorithm>
#include <cstdio>
#include <map>
#include <sstream>
#include <stdexcept>


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

// The tokenizer's streaming decoder behind the engine's TokenTextDecoder interface.
class StreamingTextDecoder final : public TokenTextDecoder {
 public:
  explicit StreamingTextDecoder(const Tokenizer& tokenizer) : decoder_(tokenizer, /*skip_special=*/true) {}
  std::string push(int32_t id) override { return decoder_.push(id); }
  std::string finish() override { return decoder_.finish(); }
  void reset() override { decoder_.reset(); }

 private:
  StreamingDecoder decoder_;
};

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

int context_capacity(const LoadedModel& model, int requested) {
  int max_positions = model.model->config().max_position_embeddings;
  return requested > 0 ? std::min(requested, max_positions) : max_positions;
}

// Non-empty when a memory-mapped weight file changed under the running model: pages of a file that
// shrank read as zeros, and the bytes of a file written in place show through the mapping
// (Model::files_changed), so nothing computed from now on can be trusted.
std::string model_files_changed_error(const Model& model) {
  const std::string what = model.files_changed();
  if (what.empty()) return {};
  return "the model's files changed on disk while dschat was running (" + what +
         "), so replies can no longer be computed from the loaded weights; restart dschat to load the model again "
         "(the conversation is kept)";
}

std::string format_float(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

}  // namespace

ChatSession::ChatSession(std::shared_ptr<const LoadedModel> model, ChatSessionOptions options)
    : model_(std::move(model)),
      options_(std::move(options)),
      template_(options_.template_name.empty() ? ChatTemplate::detect(*model_->tokenizer)
                                               : ChatTemplate::by_name(options_.template_name)),
      context_(model_->create_context(context_capacity(*model_, options_.context_tokens))),
      sampler_(options_.sampling.value_or(model_->sampling_defaults)),
      store_(options_.conversations_dir) {
  if (options_.max_reply_tokens < 0) options_.max_reply_tokens = model_->default_max_new_tokens;
  conversation_.id = new_conversation_id();
  conversation_.created = conversation_.updated = utc_now_iso8601();
  conversation_.model = {model_->path.string(), model_->model->name()};
  conversation_.system = options_.system;
  conversation_.sampling = sampler_.params();
  file_path_ = store_.path_for(conversation_);
  context_capacity_.store(context_->capacity());
  store_.remove_stale_temporary_files();  // left by a save that was killed (SIGKILL, power loss)
}

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

int ChatSession::context_used() const { return context_used_.load(); }
int ChatSession::context_max() const { return context_capacity_.load(); }

std::string ChatSession::system_prompt() const {
  std::lock_guard lock(mutex_);
  return conversation_.system;
}

std::string ChatSession::template_name() const { return template_.name(); }
std::string ChatSession::template_text() const { return template_.jinja(); }

std::string ChatSession::model_info() const {
  std::ostringstream out;
  out << model_->model->describe();
  if (!out.str().empty() && out.str().back() != '\n') out << '\n';
  out << "path: " << model_->path.string() << '\n'
      << "chat template: " << template_.name() << '\n'
      << "context: " << context_capacity_.load() << " tokens\n";
  return out.str();
}

std::filesystem::path ChatSession::file_path() const {
  std::lock_guard lock(mutex_);
  return file_path_;
}

// Renders the conversation (from first_in_context_) and encodes it, dropping the oldest turns
// while it does not fit with room for a reply.
std::vector<int32_t> ChatSession::build_prompt(std::vector<std::string>& notices, std::string& error,
                                              bool add_generation_prompt) {
  std::string system;
  std::vector<Message> messages;
  int first;
  {
    std::lock_guard lock(mutex_);
    system = conversation_.system;
    messages = conversation_.messages;
    first = std::min(first_in_context_, static_cast<int>(messages.size()));
  }
  const int capacity = context_->capacity();
  int reserve = std::max(1, std::min(256, capacity / 4));
  if (options_.max_reply_tokens > 0) reserve = std::min(reserve, options_.max_reply_tokens);
  if (!add_generation_prompt) reserve = 0;
  const int first_before = first;
  // Turns that can go: whole user/assistant pairs before the last user message (or, without a
  // generation prompt, before the last pair). Candidate starts: first + 2k, k = 0..last_k.
  const int keep_from = static_cast<int>(messages.size()) - (add_generation_prompt ? 1 : 2);
  const int last_k = std::max(0, (keep_from - first) / 2);
  std::map<int, std::vector<int32_t>> encoded;  // k -> the prompt from first + 2k
  auto tokens_from = [&](int k) -> const std::vector<int32_t>& {
    auto it = encoded.find(k);
    if (it == encoded.end()) {
      std::vector<Message> visible(messages.begin() + first + 2 * k, messages.end());
      it = encoded.emplace(k, encode_prompt(*model_->tokenizer, template_.render(system, visible, add_generation_prompt)))
               .first;
    }
    return it->second;
  };
  auto fits = [&](int k) { return static_cast<int>(tokens_from(k).size()) + reserve <= capacity; };
  // The fewest turns to leave out. Galloping back from the newest turns, then bisection: a
  // conversation of n messages costs O(log n) renders, not one per turn left out (a resumed
  // file of 10,000 messages took minutes).
  int k = 0;
  if (!fits(0)) {
    if (!fits(last_k)) {
      k = last_k;  // nothing more can go: fine if the prompt itself fits, else an error below
    } else {
      int good = last_k, bad = 0;  // fits(good), !fits(bad)
      for (int d = 1; last_k - d > 0; d *= 2) {
        if (!fits(last_k - d)) {
          bad = last_k - d;
          break;
        }
        good = last_k - d;
      }
      while (good - bad > 1) {
        const int mid = bad + (good - bad) / 2;
        (fits(mid) ? good : bad) = mid;
      }
      k = good;
    }
  }
  std::vector<int32_t> ids = tokens_from(k);
  const int n = static_cast<int>(ids.size());
  if (n + reserve > capacity && n >= capacity) {
    error = "the message does not fit in the context: the prompt needs " + std::to_string(n) +
            " tokens (system prompt included) but the context holds " + std::to_string(capacity) +
            " (shorten the message or the system prompt, or use a larger --ctx)";
    return {};
  }
  first += 2 * k;
  if (first != first_before) {
    int dropped = first - first_before;
    notices.push_back("The conversation no longer fits in the context (" + std::to_string(capacity) +
                      " tokens): left out the " + std::to_string(dropped) + " oldest message" +
                      (dropped == 1 ? "" : "s") + "; the model no longer sees " + (dropped == 1 ? "it" : "them") + ".");
    std::lock_guard lock(mutex_);
    first_in_context_ = first;
  }
  return ids;
}

void ChatSession::autosave(TurnResult& result) {
  if (!options_.autosave) return;
  try {
    save();
  } catch (const std::exception& e) {
    result.save_error = e.what();
  }
}

TurnResult ChatSession::generate_reply(const TurnCallbacks& callbacks) {
  TurnResult result;
  cancel_.store(false);
  std::string error = model_files_changed_error(*model_->model);
  if (!error.empty()) {
    result.error = error;
    return result;
  }
  std::vector<int32_t> prompt;
  try {
    prompt = build_prompt(result.notices, error, /*add_generation_prompt=*/true);
  } catch (const std::exception& e) {
    error = e.what();
  }
  if (!error.empty()) {
    result.error = error;
    return result;
  }
  if (callbacks.on_notice)
    for (const std::string& notice : result.notices) callbacks.on_notice(notice);

  GenerationOptions options;
  const int room = context_->capacity() - static_cast<int>(prompt.size());
  options.max_tokens = options_.max_reply_tokens >= 0 ? std::min(options_.max_reply_tokens, room) : room;
  options.eos_ids = model_->eos_ids;
  options.stop_strings = template_.stop_strings();
  options.cancel = &cancel_;

  // deepseek-v2 and plain: the reply after "Assistant:" starts with a space that is not content.
  bool strip = template_.reply_strips_leading_space();
  // A weight file that shrinks or is written during the reply stops it: the piece being delivered
  // may have been computed with zeros or new bytes for weights and is dropped; what came before it
  // is kept (interrupted). (One fstat per weight file and piece: microseconds.)
  bool model_changed = false;
  auto on_piece = [&](std::string_view piece) {
    if (!model_changed && !model_->model->files_changed().empty()) {
      model_changed = true;
      cancel_.store(true);
    }
    if (model_changed) return;
    if (strip) {
      size_t i = 0;
      while (i < piece.size() && is_space(piece[i])) ++i;
      piece.remove_prefix(i);
      if (piece.empty()) return;
      strip = false;
    }
    result.reply.append(piece);
    if (callbacks.on_piece) callbacks.on_piece(piece);
  };
  StreamingTextDecoder decoder(*model_->tokenizer);
  GenerationResult generated;
  try {
    generated = generate(*model_->model, *context_, prompt, sampler_, decoder, options, on_piece);
  } catch (const std::exception& e) {
    context_->truncate(0);  // unknown state: start the cache afresh next turn
    context_used_.store(0);
    const std::string changed = model_files_changed_error(*model_->model);
    result.error = changed.empty() ? e.what() : changed;
    return result;
  }
  context_used_.store(context_->size());
  result.stats = generated.stats;
  result.interrupted = generated.stats.stop == StopReason::User;
  result.ok = true;
  if (const std::string changed = model_files_changed_error(*model_->model); !changed.empty()) {
    // Stopped at the change (or it came after the last piece): the reply so far is kept, marked
    // interrupted; the cache was computed with vanished weights and is dropped.
    context_->truncate(0);
    context_used_.store(0);
    generated.stats.stop = StopReason::User;
    result.interrupted = true;
    result.notices.push_back("Reply stopped: " + changed + ".");
    if (callbacks.on_notice) callbacks.on_notice(result.notices.back());
  }

  if (template_.reply_strips_leading_space())
    while (!result.reply.empty() && is_space(result.reply.back())) result.reply.pop_back();
  Message reply;
  reply.role = Role::Assistant;
  reply.content = result.reply;
  reply.time = utc_now_iso8601();
  reply.stats = generated.stats;
  reply.interrupted = result.interrupted;
  {
    std::lock_guard lock(mutex_);
    conversation_.messages.push_back(std::move(reply));
    conversation_.updated = utc_now_iso8601();
  }
  autosave(result);
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
      result.error = "the last message has no reply yet";
      return result;
    }
    conversation_.messages.push_back({Role::User, user_text, utc_now_iso8601(), std::nullopt, false});
  }
  result = generate_reply(callbacks);
  if (!result.ok) {
    std::lock_guard lock(mutex_);
    conversation_.messages.pop_back();  // the failed turn leaves the conversation as it was
  }
  return result;
}

TurnResult ChatSession::regenerate(const TurnCallbacks& callbacks) {
  TurnResult result;
  Message previous;
  {
    std::lock_guard lock(mutex_);
    if (conversation_.messages.empty() || conversation_.messages.back().role != Role::Assistant) {
      result.error = "there is no reply to regenerate";
      return result;
    }
    previous = std::move(conversation_.messages.back());
    conversation_.messages.pop_back();
  }
  result = generate_reply(callbacks);  // the cache rolls back to the shared prefix
  if (!result.ok) {
    std::lock_guard lock(mutex_);
    conversation_.messages.push_back(std::move(previous));
  }
  return result;
}

void ChatSession::roll_back_cache() {
  std::vector<std::string> notices;
  std::string error;
  std::vector<int32_t> ids;
  try {
    ids = build_prompt(notices, error, /*add_generation_prompt=*/false);
  } catch (const std::exception&) {
    ids.clear();
  }
  const std::vector<int32_t>& cached = context_->tokens();
  size_t common = 0;
  while (common < cached.size() && common < ids.size() && cached[common] == ids[common]) ++common;
  context_->truncate(static_cast<int>(common));
  context_used_.store(context_->size());
}

bool ChatSession::undo() {
  {
    std::lock_guard lock(mutex_);
    auto& messages = conversation_.messages;
    if (messages.empty()) return false;
    if (messages.back().role == Role::Assistant) messages.pop_back();
    if (!messages.empty() && messages.back().role == Role::User) messages.pop_back();
    first_in_context_ = std::min(first_in_context_, static_cast<int>(messages.size()));
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
    first_in_context_ = 0;
    file_path_ = store_.path_for(conversation_);
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
    if (v < -1 || v > 10'000'000) throw std::invalid_argument("num_predict must be -1 (no limit) or a token count");
    std::lock_guard lock(mutex_);
    options_.max_reply_tokens = static_cast<int>(v);
    return;
  }
  if (name == "num_ctx") {
    long long v = parse_whole_integer(value, "num_ctx needs an integer");
    int max_positions = model_->model->config().max_position_embeddings;
    if (v < 16 || v > max_positions)
      throw std::invalid_argument("num_ctx must be between 16 and " + std::to_string(max_positions));
    auto context = model_->create_context(static_cast<int>(v));
    std::lock_guard lock(mutex_);
    options_.context_tokens = static_cast<int>(v);
    context_ = std::move(context);
    context_capacity_.store(context_->capacity());
    context_used_.store(0);
    first_in_context_ = 0;
    return;
  }
  SamplingParams params = sampler_.params();
  set_sampling_parameter(params, name, value);  // throws std::invalid_argument
  std::lock_guard lock(mutex_);
  sampler_.set_params(params);
  conversation_.sampling = params;
}

std::string ChatSession::parameters_text() const {
  std::lock_guard lock(mutex_);
  const SamplingParams& p = sampler_.params();
  std::ostringstream out;
  out << "temperature " << format_float(p.temperature) << '\n'
      << "top_k " << p.top_k << '\n'
      << "top_p " << format_float(p.top_p) << '\n'
      << "min_p " << format_float(p.min_p) << '\n'
      << "repeat_penalty " << format_float(p.repeat_penalty) << '\n'
      << "repeat_last_n " << p.repeat_window << '\n'
      << "seed " << p.seed << (p.seed == 0 ? " (random: " + std::to_string(sampler_.seed()) + ")" : "") << '\n'
      << "num_predict " << options_.max_reply_tokens << '\n'
      << "num_ctx " << context_capacity_.load() << '\n';
  return out.str();
}

std::filesystem::path ChatSession::save(const std::filesystem::path& path) {
  Conversation snapshot;
  std::filesystem::path target;
  {
    std::lock_guard lock(mutex_);
    snapshot = conversation_;
    target = path.empty() ? file_path_ : path;
  }
  return store_.save(snapshot, target);
}

void ChatSession::load(const std::filesystem::path& path) {
  Conversation loaded = ConversationStore::load(path);  // throws ConversationError
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
  if (std::filesystem::equivalent(path.parent_path(), store_.dir(), ec)) file = path;
  {
    std::lock_guard lock(mutex_);
    conversation_ = std::move(loaded);
    conversation_.model = {model_->path.string(), model_->model->name()};
    first_in_context_ = 0;
    file_path_ = file;
  }
  {
    std::lock_guard lock(mutex_);
    sampler_.set_params(conversation_.sampling);
  }
  // Rebuild the cache: prefill the whole conversation now, so the next turn only adds to it.
  cancel_.store(false);
  std::vector<std::string> notices;
  std::string error;
  std::vector<int32_t> ids = build_prompt(notices, error, /*add_generation_prompt=*/false);
  if (!ids.empty()) {
    std::vector<float> logits(static_cast<size_t>(model_->model->config().vocab_size));
    if (prefill_with_reuse(*context_, ids, logits, &cancel_) < 0) {
      // cancelled: the cache keeps a consistent prefix and the next turn completes it
    }
  }
  context_used_.store(context_->size());
}

void ChatSession::export_markdown(const std::filesystem::path& path) const {
  store_.export_markdown(conversation(), path);
}

void ChatSession::export_json(const std::filesystem::path& path) const { store_.export_json(conversation(), path); }

}  // namespace dschat
