// A chat session: one conversation, its file and its parameters, answered by a Responder
// (app/backend/responder.h; by default the LocalResponder of a loaded model). Everything between
// "the user pressed Enter" and "the reply is on disk", without terminal code: the TUI is a thin
// view over this class.
//
// Threading: the methods that run the model (submit, regenerate, undo, clear, load, set_*, save,
// export_*) are called from ONE thread (the inference thread); callbacks run on that thread.
// request_cancel(), conversation(), first_message_in_context(), context_used(), context_max(),
// file_path(), parameters_text(), system_prompt(), template_name/text() and model_info() are
// safe from any thread.
//
// The responder reuses its cache between turns and leaves out the oldest turns when the
// conversation no longer fits (they stay in the conversation and its file; a notice says so); the
// session remembers the first message still in context and asks the responder to roll its cache
// back after undo, clear and a new system prompt, and to rebuild it after load.
#pragma once

#include <atomic>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "app/backend/loaded_model.h"
#include "app/backend/responder.h"
#include "app/chat/conversation.h"
#include "app/chat/conversation_store.h"
#include "engine/generation.h"
#include "engine/sampler.h"

namespace dschat {

// Sampling parameters by their /set names and values as typed ({"temperature", "0"}), applied in
// order (a later one wins): the config file's, then the command line's.
using SamplingOverrides = std::vector<std::pair<std::string, std::string>>;

struct ChatSessionOptions {
  std::string template_name;                // "" = detect from tokenizer_config.json (local responder)
  int context_tokens = 0;                   // 0 = max_position_embeddings (--ctx; local responder)
  int max_reply_tokens = -1;                // num_predict; -1 here = the responder's default (the model's
                                            // generation_config.json max_new_tokens when present, else no
                                            // limit; set_parameter("num_predict", "-1") later means no
                                            // limit: until eos / a full context)
  int draft_tokens = -1;                    // MTP speculative decoding (--draft; -1: the responder's default)
  int draft_vocab = 8192;                   // the draft head's rows (--draft-vocab; 0 = all)
  CacheType cache_type = CacheType::F32;    // the latent cache's element type (--cache-type; local responder)
  std::optional<SamplingParams> sampling;   // nullopt = the responder's defaults (the model directory's)
  SamplingOverrides sampling_overrides;     // set over `sampling` at the start (the config file's)
  SamplingOverrides sampling_options;       // then these, and again over a loaded conversation's
                                            // own values (the command line's: what was asked for)
  std::vector<std::string> stop;            // the user's stop strings (/set parameter stop, --stop)
  std::string system;                       // system prompt
  bool autosave = true;                     // save the file after every turn
  std::filesystem::path conversations_dir;  // "" = default_conversations_dir()
};

using TurnCallbacks = ReplyCallbacks;  // passed to the responder as they are

struct TurnResult {
  bool ok = false;                    // false: `error` says why and the conversation is unchanged
  std::string error;
  std::string reply;                  // the assistant message content (also when interrupted)
  GenerationStats stats;
  bool interrupted = false;           // stopped by request_cancel(); the reply is kept
  std::vector<std::string> notices;   // the same notices as on_notice
  std::optional<std::string> save_error;  // autosave failed (conversation kept in memory)
  // !ok, and the responder said the request may succeed again (ReplyResult::retryable): the
  // user's message stays in the conversation (and its file), unanswered; regenerate() sends it
  // again, undo() removes it.
  bool message_kept = false;
};

class ChatSession {
 public:
  // Answered by `responder`.
  ChatSession(std::unique_ptr<Responder> responder, ChatSessionOptions options);
  // Answered by a LocalResponder of `model` (options.template_name, options.context_tokens).
  ChatSession(std::shared_ptr<const LoadedModel> model, ChatSessionOptions options);
  ~ChatSession();

  // Appends the user message, generates the reply (streamed through callbacks.on_piece),
  // appends the reply (marked interrupted when cancelled) and autosaves.
  TurnResult submit(const std::string& user_text, const TurnCallbacks& callbacks = {});
  // Replaces the last assistant reply with a new one; when the last message is the user's (its
  // turn failed and was kept), answers it. Error when there is neither.
  TurnResult regenerate(const TurnCallbacks& callbacks = {});
  // Removes the last user message and its reply; false when there is nothing to undo.
  bool undo();
  // Starts a new, empty conversation (new id and file); keeps system prompt and parameters.
  void clear();

  void set_system_prompt(const std::string& system);
  // ollama names: temperature, top_k, top_p, min_p, repeat_penalty, repeat_last_n, seed,
  // num_predict, num_ctx, stop (parse_stop_list: "S1 S2 ..." or "off"). Throws std::invalid_argument with a one-line explanation.
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

  // Files. save() writes to `path` or the autosave file; throws ConversationWriteError. The
  // autosave file is only replaced if it still holds what this session last read or wrote there:
  // when another dschat saved to it since (or it is newer than the copy that was resumed), the
  // conversation moves to a new id and file, and a notice says so (take_notices()).
  std::filesystem::path save(const std::filesystem::path& path = {});
  // Replaces the conversation with a file's (its system prompt and sampling too) and rebuilds
  // the cache by prefilling it (cancellable). Throws ConversationError; on error nothing changes.
  void load(const std::filesystem::path& path);
  void export_markdown(const std::filesystem::path& path) const;
  void export_json(const std::filesystem::path& path) const;
  std::filesystem::path file_path() const;  // where autosave writes
  // Notices from saves since the last call (e.g. "... saved as a new conversation <path>"), for
  // the chat to show. Any thread.
  std::vector<std::string> take_notices();
  ConversationStore& store() { return store_; }

  // For /show: template name and Jinja text, model description, system prompt.
  std::string template_name() const;
  std::string template_text() const;
  std::string model_info() const;
  std::string system_prompt() const;

 private:
  TurnResult generate_reply(const TurnCallbacks& callbacks);
  // The conversation as the responder is to see it.
  ChatMessages messages_in_context() const;
  // The responder keeps of its cache what the current conversation shares with it.
  void roll_back_cache();
  // Sets the conversation's sampling and the seed in use (a random one for 0); the next reply
  // restarts the random sequence.
  void set_sampling(const SamplingParams& params);
  void autosave(TurnResult& result);

  std::unique_ptr<Responder> responder_;
  ChatSessionOptions options_;
  ConversationStore store_;
  std::filesystem::path file_path_;
  FileRevision file_revision_;  // what file_path_ held when this session last read or wrote it

  // Guards conversation_, first_in_context_, the sampling parameters and options_ (which only the
  // inference thread writes) against readers on other threads.
  mutable std::mutex mutex_;
  Conversation conversation_;
  int first_in_context_ = 0;
  uint64_t seed_ = 0;             // the seed in use: conversation_.sampling.seed, or a random one for 0
  bool restart_sampling_ = true;  // the parameters were set since the last reply
  std::vector<std::string> notices_;  // for take_notices()
  std::atomic<bool> cancel_{false};
};

}  // namespace dschat
