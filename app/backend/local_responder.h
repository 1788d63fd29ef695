// The Responder of the loaded model: renders the conversation through its chat template,
// tokenizes it, leaves out the oldest turns when it does not fit, and generates the reply in a KV
// cache it keeps between replies.
//
// Multi-turn cache reuse: each reply renders the whole conversation and prefills only the tokens
// after the longest common prefix with the cache (engine prefill_with_reuse); roll_back_cache
// truncates the cache to what the conversation shares with it.
// Context overflow: when a reply does not fit (prompt plus room for a reply), the oldest turns are
// left out of the model's context and a notice says so; a single message too long for the
// context is an error.
// A weight file that changes on disk under the running model (Model::files_changed) stops the
// reply being computed and refuses later ones, with the reason.
#pragma once

#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "app/backend/chat_template.h"
#include "app/backend/loaded_model.h"
#include "app/backend/responder.h"

namespace dschat {

struct LocalResponderOptions {
  std::string template_name;  // "" = detect from tokenizer_config.json
  int context_tokens = 0;     // 0 = max_position_embeddings (--ctx)
  // MTP speculative decoding, tokens drafted per step (--draft; 0 = off, --no-mtp); -1: the
  // default, kDefaultDraftTokens when the model has an MTP module.
  int draft_tokens = -1;
  int draft_vocab = 8192;     // the draft head's rows (--draft-vocab; 0 = all)
  CacheType cache_type = CacheType::F32;  // the latent cache's element type (--cache-type)
};

// Drafts per step when the model has an MTP module and nothing else is asked: the fastest on the
// bundled model (docs/engine.md, "MTP speculative decoding": 1.21x decode greedy at 2).
inline constexpr int kDefaultDraftTokens = 2;

class LocalResponder final : public Responder {
 public:
  LocalResponder(std::shared_ptr<const LoadedModel> model, const LocalResponderOptions& options);
  ~LocalResponder() override;

  ReplyResult respond(const ResponderRequest& request, const ReplyCallbacks& callbacks,
                      std::atomic<bool>& cancel) override;
  int roll_back_cache(const ChatMessages& conversation) override;
  int rebuild_cache(const ChatMessages& conversation, const std::atomic<bool>& cancel) override;

  void set_context_size(int tokens) override;
  void set_draft_tokens(int tokens) override;
  int draft_tokens() const override { return draft_tokens_; }
  int context_used() const override { return context_used_.load(); }
  int context_max() const override { return context_capacity_.load(); }

  ReplyDefaults defaults() const override;
  std::string model_path() const override;
  std::string model_name() const override;
  std::string model_info() const override;
  std::string template_name() const override { return template_.name(); }
  std::string template_text() const override { return template_.jinja(); }

 private:
  // The prompt's ids: the conversation rendered from its first message in context, leaving out the
  // oldest turns while it does not fit with room for `max_reply_tokens` (when a generation prompt
  // is added). Sets `first_in_context`; on a prompt that cannot fit, sets `error` and returns {}.
  std::vector<int32_t> build_prompt(const ChatMessages& conversation, bool add_generation_prompt, int max_reply_tokens,
                                    int& first_in_context, std::vector<std::string>& notices, std::string& error);
  void cache_changed();  // publishes the cache's size after the cache was written or truncated

  std::shared_ptr<const LoadedModel> model_;
  ChatTemplate template_;
  int draft_tokens_ = 0;
  ContextOptions context_options_;  // the MTP module on when draft_tokens_ > 0
  std::unique_ptr<InferenceContext> context_;
  std::optional<Sampler> sampler_;  // made by the first request
  // The longest token in bytes (added tokens included): a text of b bytes is at least
  // b / longest_token_bytes_ tokens, which tells build_prompt what cannot fit without encoding it.
  std::size_t longest_token_bytes_ = 1;
  std::atomic<int> context_used_{0};
  std::atomic<int> context_capacity_{0};
};

}  // namespace dschat
