#include "app/backend/local_responder.h"

#include <algorithm>
#include <cstdio>
#include <map>
#include <sstream>
#include <stdexcept>

#include "app/backend/streaming_text_decoder.h"
#include "common/out_of_memory.h"

namespace dschat {

namespace {

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

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

}  // namespace

LocalResponder::LocalResponder(std::shared_ptr<const LoadedModel> model, const LocalResponderOptions& options)
    : model_(std::move(model)),
      template_(options.template_name.empty() ? ChatTemplate::detect(*model_->tokenizer)
                                              : ChatTemplate::by_name(options.template_name)),
      draft_tokens_(options.draft_tokens >= 0 ? options.draft_tokens
                    : model_->model->has_mtp_module() ? kDefaultDraftTokens : 0),
      context_options_{.mtp = draft_tokens_ > 0, .draft_vocab = options.draft_vocab, .cache_type = options.cache_type},
      context_(model_->create_context(model_->context_capacity(options.context_tokens), context_options_)) {
  context_capacity_.store(context_->capacity());
  const Tokenizer& tokenizer = *model_->tokenizer;
  for (int32_t id = 0; id < tokenizer.vocab_size(); ++id) {
    longest_token_bytes_ = std::max(longest_token_bytes_, tokenizer.token_bytes(id).size());
  }
}

LocalResponder::~LocalResponder() = default;

ReplyDefaults LocalResponder::defaults() const { return {model_->sampling_defaults, model_->default_max_new_tokens}; }
std::string LocalResponder::model_path() const { return model_->path.string(); }
std::string LocalResponder::model_name() const { return model_->identity.display_name; }

std::string LocalResponder::model_info() const {
  std::ostringstream out;
  if (!model_->identity.notice.empty()) out << model_->identity.notice << '\n';
  out << "name: " << model_->identity.display_name << '\n' << model_->model->describe();
  if (!out.str().empty() && out.str().back() != '\n') out << '\n';
  out << "path: " << model_->path.string() << '\n'
      << "chat template: " << template_.name() << '\n'
      << "context: " << context_capacity_.load() << " tokens";
  // The latent cache is reserved for the whole context but takes memory only as it fills
  // (engine/deepseek/latent_cache.h): say what a token costs, so a large default context is not
  // read as that much memory in use.
  const ModelConfig& c = model_->model->config();
  const double per_token = static_cast<double>(c.num_hidden_layers) *
                           (c.kv_lora_rank + static_cast<double>(c.qk_rope_head_dim) * c.rotary_key_heads()) * sizeof(float);
  char cache[160];
  std::snprintf(cache, sizeof cache, " (the cache takes %.1f KiB a token as the conversation grows, %.1f MiB when full)\n",
                per_token / 1024.0, per_token * context_capacity_.load() / (1024.0 * 1024.0));
  out << cache;
  return out.str();
}

void LocalResponder::cache_changed() { context_used_.store(context_->size()); }

void LocalResponder::set_context_size(int tokens) {
  const int max_positions = model_->model->config().max_position_embeddings;
  if (tokens > max_positions)
    throw std::invalid_argument("num_ctx " + std::to_string(tokens) + " is more than this model allows: at most " +
                                std::to_string(max_positions) + " tokens (its max_position_embeddings)");
  if (tokens < 16) throw std::invalid_argument("num_ctx must be between 16 and " + std::to_string(max_positions));
  context_ = model_->create_context(tokens, context_options_);
  context_capacity_.store(context_->capacity());
  context_used_.store(0);
}

void LocalResponder::set_draft_tokens(int tokens) {
  if (tokens < 0 || tokens > 3) throw std::invalid_argument("draft must be 0 (off) to 3 tokens per step");
  if (tokens > 0 && !model_->model->has_mtp_module())
    throw std::invalid_argument("this model has no multi-token-prediction module to draft with");
  if (tokens > 0 && !context_options_.mtp) {  // the module's own cache is needed: a new context
    context_options_.mtp = true;
    context_ = model_->create_context(context_->capacity(), context_options_);
    context_used_.store(0);
  }
  draft_tokens_ = tokens;
}

std::vector<int32_t> LocalResponder::build_prompt(const ChatMessages& conversation, bool add_generation_prompt,
                                                  int max_reply_tokens, int& first_in_context,
                                                  std::vector<std::string>& notices, std::string& error) {
  const std::vector<Message>& messages = conversation.messages;
  int first = std::min(conversation.first_in_context, static_cast<int>(messages.size()));
  first_in_context = first;
  const int capacity = context_->capacity();
  int reserve = std::max(1, std::min(256, capacity / 4));
  if (max_reply_tokens > 0) reserve = std::min(reserve, max_reply_tokens);
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
      it = encoded
               .emplace(k, encode_prompt(*model_->tokenizer,
                                         template_.render(conversation.system, visible, add_generation_prompt)))
               .first;
    }
    return it->second;
  };
  // Bytes of the message contents from first + 2k on (suffix sums). Every token covers at most
  // longest_token_bytes_ bytes of the rendered prompt, which holds these contents, so a suffix of
  // more than capacity x that many bytes cannot fit and is not encoded: resuming a 110 MB
  // conversation encoded all of it first (28 s; a 1 GB message in line mode took 14 GB).
  // (A normalizer that deletes text could make this leave out a turn that would have fit; no
  // DeepSeek or GPT-2 tokenizer has one.)
  std::vector<uint64_t> suffix_bytes(messages.size() + 1, 0);
  for (size_t i = messages.size(); i-- > static_cast<size_t>(first);) suffix_bytes[i] = suffix_bytes[i + 1] + messages[i].content.size();
  auto fits = [&](int k) {
    const uint64_t bytes = suffix_bytes[static_cast<size_t>(first + 2 * k)];
    if (bytes / longest_token_bytes_ + static_cast<uint64_t>(reserve) > static_cast<uint64_t>(capacity)) return false;
    return static_cast<int>(tokens_from(k).size()) + reserve <= capacity;
  };
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
  if (const uint64_t at_least = suffix_bytes[static_cast<size_t>(first + 2 * k)] / longest_token_bytes_;
      at_least >= static_cast<uint64_t>(capacity)) {
    error = "the message does not fit in the context: the prompt needs at least " + std::to_string(at_least) +
            " tokens but the context holds " + std::to_string(capacity) +
            " (shorten the message or the system prompt, or use a larger --ctx)";
    return {};
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
    // Counted against the whole conversation: after a resume (or earlier turns) messages were out
    // already, and "left out the 22 oldest" of a 10,000-message conversation said too little.
    const int dropped = first - first_before;
    const int total = static_cast<int>(messages.size());
    notices.push_back("The conversation no longer fits in the context (" + std::to_string(capacity) + " tokens): left out the " +
                      (first_before > 0 ? std::to_string(dropped) + " oldest message" + (dropped == 1 ? "" : "s") +
                                              " still in it; the model sees the last " + std::to_string(total - first) +
                                              " of the " + std::to_string(total) + " messages."
                                        : std::to_string(dropped) + " oldest message" + (dropped == 1 ? "" : "s") +
                                              "; the model no longer sees " + (dropped == 1 ? "it" : "them") + "."));
    first_in_context = first;
  }
  return ids;
}

ReplyResult LocalResponder::respond(const ResponderRequest& request, const ReplyCallbacks& callbacks,
                                    std::atomic<bool>& cancel) {
  ReplyResult result;
  result.first_in_context = request.conversation.first_in_context;
  std::string error = model_files_changed_error(*model_->model);
  if (!error.empty()) {
    result.error = error;
    return result;
  }
  std::vector<int32_t> prompt;
  try {
    prompt = build_prompt(request.conversation, /*add_generation_prompt=*/true, request.max_reply_tokens,
                          result.first_in_context, result.notices, error);
  } catch (const std::exception& e) {
    error = error_message(e);
  }
  if (!error.empty()) {
    result.error = error;
    return result;
  }
  if (callbacks.on_notice)
    for (const std::string& notice : result.notices) callbacks.on_notice(notice);

  if (!sampler_ || request.restart_sampling || !(sampler_->params() == request.sampling))
    sampler_.emplace(request.sampling);
  GenerationOptions options;
  const int room = context_->capacity() - static_cast<int>(prompt.size());
  options.max_tokens = request.max_reply_tokens >= 0 ? std::min(request.max_reply_tokens, room) : room;
  options.eos_ids = model_->eos_ids;
  options.stop_strings = template_.stop_strings();
  options.stop_strings.insert(options.stop_strings.end(), request.stop.begin(), request.stop.end());
  options.cancel = &cancel;
  options.draft_tokens = draft_tokens_;

  // deepseek-v2 and plain: the reply after "Assistant:" starts with a space that is not content.
  bool strip = template_.reply_strips_leading_space();
  // A weight file that shrinks or is written during the reply stops it: the piece being delivered
  // may have been computed with zeros or new bytes for weights and is dropped; what came before it
  // is kept (interrupted). (One fstat per weight file and piece: microseconds.)
  bool model_changed = false;
  auto on_piece = [&](std::string_view piece) {
    if (!model_changed && !model_->model->files_changed().empty()) {
      model_changed = true;
      cancel.store(true);
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
    generated = generate(*model_->model, *context_, prompt, *sampler_, decoder, options, on_piece);
  } catch (const std::exception& e) {
    context_->truncate(0);  // unknown state: start the cache afresh next reply
    cache_changed();
    const std::string changed = model_files_changed_error(*model_->model);
    result.error = changed.empty() ? error_message(e) : changed;
    return result;
  }
  cache_changed();
  result.stats = generated.stats;
  result.interrupted = generated.stats.stop == StopReason::User;
  result.ok = true;
  // The limit was the room left in the context, not num_predict: the reply was cut by a full
  // context, and is reported as such (it used to end "length" without a word).
  if (result.stats.stop == StopReason::Length && result.stats.generated_tokens >= room &&
      (request.max_reply_tokens < 0 || request.max_reply_tokens > room)) {
    result.stats.stop = StopReason::Context;
    result.notices.push_back("The reply stopped because the context is full (" +
                             std::to_string(context_->capacity()) +
                             " tokens); the next turn leaves out the oldest messages, /clear starts anew.");
    if (callbacks.on_notice) callbacks.on_notice(result.notices.back());
  }
  if (const std::string changed = model_files_changed_error(*model_->model); !changed.empty()) {
    // Stopped at the change (or it came after the last piece): the reply so far is kept, marked
    // interrupted; the cache was computed with vanished weights and is dropped.
    context_->truncate(0);
    cache_changed();
    result.stats.stop = StopReason::User;
    result.interrupted = true;
    result.notices.push_back("Reply stopped: " + changed + ".");
    if (callbacks.on_notice) callbacks.on_notice(result.notices.back());
  }
  if (template_.reply_strips_leading_space())
    while (!result.reply.empty() && is_space(result.reply.back())) result.reply.pop_back();
  return result;
}

int LocalResponder::roll_back_cache(const ChatMessages& conversation) {
  std::vector<std::string> notices;
  std::string error;
  int first = conversation.first_in_context;
  std::vector<int32_t> ids;
  try {
    ids = build_prompt(conversation, /*add_generation_prompt=*/false, -1, first, notices, error);
  } catch (const std::exception&) {
    ids.clear();
  }
  const std::vector<int32_t>& cached = context_->tokens();
  size_t common = 0;
  while (common < cached.size() && common < ids.size() && cached[common] == ids[common]) ++common;
  context_->truncate(static_cast<int>(common));
  cache_changed();
  return first;
}

int LocalResponder::rebuild_cache(const ChatMessages& conversation, const std::atomic<bool>& cancel) {
  std::vector<std::string> notices;
  std::string error;
  int first = conversation.first_in_context;
  std::vector<int32_t> ids = build_prompt(conversation, /*add_generation_prompt=*/false, -1, first, notices, error);
  if (!ids.empty()) {
    std::vector<float> logits(static_cast<size_t>(model_->model->config().vocab_size));
    if (prefill_with_reuse(*context_, ids, logits, &cancel) < 0) {
      // cancelled: the cache keeps a consistent prefix and the next reply completes it
    }
  }
  cache_changed();
  return first;
}

}  // namespace dschat
