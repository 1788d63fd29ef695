// The seam below the chat session: what turns a conversation into a streamed reply. The session
// (app/chat/chat_session.h) owns the conversation and its file and asks a Responder for each
// reply; LocalResponder (app/backend/local_responder.h) answers with the loaded model. A remote
// engine would be a second implementation, for which the cache methods are no-ops.
//
// Threading: respond(), roll_back_cache(), rebuild_cache() and set_context_size() are called from
// one thread; callbacks run on it. The other methods are safe from any thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

#include "app/backend/chat_message.h"
#include "engine/generation.h"
#include "engine/sampler.h"

namespace dschat {

// The conversation as the model is to see it.
struct ChatMessages {
  std::string system;             // system prompt ("" = none)
  std::vector<Message> messages;  // user/assistant, alternating, starting with user
  // Messages before this one were left out of the context earlier (it did not hold them) and
  // stay out; a responder may leave out more.
  int first_in_context = 0;
};

struct ResponderRequest {
  ChatMessages conversation;  // ends with the user message to answer
  SamplingParams sampling;    // the seed is never 0 (the session resolves "random")
  // The sampler's random sequence starts afresh from sampling.seed (its parameters were set since
  // the last request); otherwise it goes on where the last reply left it.
  bool restart_sampling = false;
  int max_reply_tokens = -1;  // -1 = no limit (until eos or a full context)
  // The user's stop strings (app/backend/stop_strings.h): the reply ends where one appears, and
  // it is not part of the reply.
  std::vector<std::string> stop;
};

struct ReplyCallbacks {
  PieceCallback on_piece;                             // streamed reply text
  std::function<void(const std::string&)> on_notice;  // e.g. "left out the 2 oldest messages ..."
};

struct ReplyResult {
  bool ok = false;  // false: `error` says why; nothing is to be added to the conversation
  std::string error;
  std::string reply;  // the assistant message content (also when interrupted)
  GenerationStats stats;
  bool interrupted = false;          // stopped by the cancel flag (or the responder); the reply is kept
  std::vector<std::string> notices;  // the same notices as on_notice
  // The first message the model saw (ChatMessages::first_in_context or later), also on error.
  int first_in_context = 0;
  // On error: the same request may well succeed when sent again (a remote engine that was down,
  // dropped the connection, answered 5xx or 429), so the session keeps the user's message.
  bool retryable = false;
};

// What a session starts from when it is given no parameters.
struct ReplyDefaults {
  SamplingParams sampling;
  int max_reply_tokens = -1;  // -1 = no limit
};

class Responder {
 public:
  virtual ~Responder() = default;

  // The reply to request.conversation, streamed through callbacks. Setting `cancel` (any thread)
  // stops it within ~100 ms, the reply so far kept; the responder sets it itself to stop a reply
  // it can no longer compute.
  virtual ReplyResult respond(const ResponderRequest& request, const ReplyCallbacks& callbacks,
                              std::atomic<bool>& cancel) = 0;

  // After undo, clear or a new system prompt: keeps of what the engine caches only what
  // `conversation` (answered in full) shares with it. Returns the first message in context.
  virtual int roll_back_cache(const ChatMessages& conversation) = 0;
  // After loading a conversation: computes the cache for it now, so the next reply only adds to
  // it. Cancellable (the cache then holds a consistent prefix). Returns the first message in context.
  virtual int rebuild_cache(const ChatMessages& conversation, const std::atomic<bool>& cancel) = 0;

  // num_ctx: a new, empty context of `tokens`. Throws std::invalid_argument naming the range.
  virtual void set_context_size(int tokens) = 0;
  virtual int context_used() const = 0;  // tokens in the cache
  virtual int context_max() const = 0;   // its capacity

  // MTP speculative decoding: tokens drafted per step (0 = off). Throws std::invalid_argument
  // naming the range, or why the engine cannot draft.
  virtual void set_draft_tokens(int tokens) {
    if (tokens != 0) throw std::invalid_argument("this engine does not draft tokens (draft stays 0)");
  }
  virtual int draft_tokens() const { return 0; }

  virtual ReplyDefaults defaults() const = 0;
  virtual std::string model_path() const = 0;  // where the model came from (directory or address)
  virtual std::string model_name() const = 0;
  virtual std::string model_info() const = 0;  // for /show info: description, path, template, context
  virtual std::string template_name() const = 0;
  virtual std::string template_text() const = 0;  // the chat template as Jinja text
};

}  // namespace dschat
