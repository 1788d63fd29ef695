// A chat session: one conversation with one loaded model, its chat template and its KV cache.
// Everything between "the user pressed Enter" and "the reply is on disk", without terminal
// code: the TUI is a thin view over this class.
//
// Threading: the methods that run the model (submit, regenerate, undo, clear, load, set_*, save,
// export_*) are called from ONE thread (the inference thread); callbacks run on that thread.
// request_cancel(), conversation(), first_message_in_context(), context_used(), context_max(),
// file_path(), parameters_text(), system_prompt(), template_name/text() and model_info() are
// safe from any thread.
//
// Multi-turn cache reuse: each turn renders the whole conversation through the template and
// prefills only the tokens after the longest common prefix with the cache (engine
// prefill_with_reuse); undo/regenerate roll the cache back by truncation.
// Context overflow: when a turn does not fit (prompt plus room for a reply), the oldest turns
// are left out of the model's context (they stay in the conversation and its file) and a
// notice says so; a single message too long for the context is an error, nothing is added.
#pragma once

#include <atomic>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "app/backend/chat_template.h"
#include "app/chat/conversation.h"
#include "app/chat/conversation_store.h"
#include "app/backend/loaded_model.h"
#include "engine/generation.h"
#include "engine/sampler.h"

namespace dschat {

struct ChatSessionOptions {
  std::string template_name;                // "" = detect from tokenizer_config.json
  int context_tokens = 0;                   // 0 = max_position_embeddings (--ctx)
  int max_reply_tokens = -1;                // num_predict; -1 here = generation_config.json max_new_tokens
                                            // when present, else no limit (set_parameter("num_predict",
                                            // "-1") later means no limit: until eos / a full context)
  std::optional<SamplingParams> sampling;   // nullopt = the model directory's defaults
  std::string system;                       // system prompt
  bool autosave = true;                     // save the file after every turn
  std::filesystem::path conversations_dir;  // "" = default_conversations_dir()
};

struct TurnCallbacks {
  PieceCallback on_piece;                               // streamed reply text
  std::function<void(const std::string&)> on_notice;    // e.g. "dropped the 2 oldest turns ..."
};

struct TurnResult {
  bool ok = false;                    // false: `error` says why and the conversation is unchanged
  std::string error;
  std::string reply;                  // the assistant message content (also when interrupted)
  GenerationStats stats;
  bool interrupted = false;           // stopped by request_cancel(); the reply is kept
  std::vector<std::string> notices;   // the same notices as on_notice
  std::optional<std::string> save_error;  // autosave failed (conversation kept in memory)
};

class ChatSession {
 public:
  ChatSession(std::shared_ptr<const LoadedModel> model, ChatSessionOptions options);
  ~ChatSession();

  // Appends the user message, generates the reply (streamed through callbacks.on_piece),
  // appends the reply (marked interrupted when cancelled) and autosaves.
  TurnResult submit(const std::string& user_text, const TurnCallbacks& callbacks = {});
  // Replaces the last assistant reply with a new one (error when there is none).
  TurnResult regenerate(const TurnCallbacks& callbacks = {});
  // Removes the last user message and its reply; false when there is nothing to undo.
  bool undo();
  // Starts a new, empty conversation (new id and file); keeps system prompt and parameters.
  void clear();

  void set_system_prompt(const std::string& system);
  // ollama names: temperature, top_k, top_p, min_p, repeat_penalty, repeat_last_n, seed,
  // num_predict, num_ctx. Throws std::invalid_argument with a one-line explanation.
  void set_parameter(const std::string& name, const std::string& value);
  std::string parameters_text() const;  // one "name value" line each, for /show parameters

  // Cancels the running generation (or prefill) within ~100 ms. Any thread.
  void request_cancel();

  // Snapshot of the conversation (any thread).
  Conversation conversation() const;
  // Index of the first message still in the model's context (earlier ones were dropped).
  int first_message_in_context() const;
  int context_used() const;  // tokens in the KV cache
  int context_max() const;   // its capacity

  // Files. save() writes to `path` or the autosave file; throws ConversationWriteError.
  std::filesystem::path save(const std::filesystem::path& path = {});
  // Replaces the conversation with a file's (its system prompt and sampling too) and rebuilds
  // the cache by prefilling it (cancellable). Throws ConversationError; on error nothing changes.
  void load(const std::filesystem::path& path);
  void export_markdown(const std::filesystem::path& path) const;
  void export_json(const std::filesystem::path& path) const;
  std::filesystem::path file_path() const;  // where autosave writes
  ConversationStore& store() { return store_; }

  // For /show: template name and Jinja text, model description, system prompt.
  std::string template_name() const;
  std::string template_text() const;
  std::string model_info() const;
  std::string system_prompt() const;
  const LoadedModel& model() const { return *model_; }

 private:
  TurnResult generate_reply(const TurnCallbacks& callbacks);
  std::vector<int32_t> build_prompt(std::vector<std::string>& notices, std::string& error,
                                    bool add_generation_prompt);
  void roll_back_cache();  // truncates the cache to what the current conversation shares with it
  void autosave(TurnResult& result);

  std::shared_ptr<const LoadedModel> model_;
  ChatSessionOptions options_;
  ChatTemplate template_;
  std::unique_ptr<InferenceContext> context_;
  Sampler sampler_;
  ConversationStore store_;
  std::filesystem::path file_path_;

  // Guards conversation_, first_in_context_, and the writes of sampler_'s parameters, options_
  // and context_ (which only the inference thread makes) against readers on other threads.
  mutable std::mutex mutex_;
  Conversation conversation_;
  int first_in_context_ = 0;
  std::atomic<int> context_used_{0};
  std::atomic<int> context_capacity_{0};
  std::atomic<bool> cancel_{false};
};

}  // namespace dschat
