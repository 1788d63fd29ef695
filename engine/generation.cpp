#include "engine/generation.h"

#include <algorithm>
#include <chrono>
#include <deque>
#include <stdexcept>

namespace dschat {

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

bool cancelled(const std::atomic<bool>* cancel) { return cancel && cancel->load(std::memory_order_relaxed); }

}  // namespace

const char* stop_reason_name(StopReason reason) {
  switch (reason) {
    case StopReason::None: return "none";
    case StopReason::Eos: return "eos";
    case StopReason::Length: return "length";
    case StopReason::User: return "user";
    case StopReason::Context: return "context";
    case StopReason::StopString: return "stop";
  }
  return "none";
}

StopReason stop_reason_from_name(std::string_view name) {
  for (StopReason r : {StopReason::Eos, StopReason::Length, StopReason::User, StopReason::Context,
                       StopReason::StopString})
    if (name == stop_reason_name(r)) return r;
  return StopReason::None;
}

StopStringFilter::StopStringFilter(std::vector<std::string> stop_strings) : stop_strings_(std::move(stop_strings)) {
  std::erase_if(stop_strings_, [](const std::string& s) { return s.empty(); });
}

std::string StopStringFilter::push(std::string_view text) {
  if (stopped_) return {};
  held_.append(text);
  size_t first = std::string::npos;
  for (const std::string& stop : stop_strings_) first = std::min(first, held_.find(stop));
  if (first != std::string::npos) {
    std::string out = held_.substr(0, first);
    held_.clear();
    stopped_ = true;
    return out;
  }
  // Keep the longest tail of held_ that is a proper prefix of some stop string.
  size_t keep = 0;
  for (const std::string& stop : stop_strings_) {
    size_t max_len = std::min(held_.size(), stop.size() - 1);
    for (size_t len = max_len; len > keep; --len) {
      if (held_.compare(held_.size() - len, len, stop, 0, len) == 0) {
        keep = len;
        break;
      }
    }
  }
  std::string out = held_.substr(0, held_.size() - keep);
  held_.erase(0, held_.size() - keep);
  return out;
}

std::string StopStringFilter::finish() {
  std::string out;
  if (!stopped_) out.swap(held_);
  held_.clear();
  return out;
}

int prefill_with_reuse(InferenceContext& context, std::span<const int32_t> prompt, std::span<float> logits,
                       const std::atomic<bool>* cancel) {
  if (prompt.empty()) throw std::invalid_argument("prefill: empty prompt");
  if (static_cast<int>(prompt.size()) > context.capacity())
    throw ModelError("the prompt has " + std::to_string(prompt.size()) + " tokens but the context holds only " +
                     std::to_string(context.capacity()));
  const std::vector<int32_t>& cached = context.tokens();
  size_t common = 0;
  size_t limit = std::min(cached.size(), prompt.size());
  while (common < limit && cached[common] == prompt[common]) ++common;
  if (common == prompt.size()) --common;  // rerun the last token to get fresh logits
  context.truncate(static_cast<int>(common));
  if (!context.append(prompt.subspan(common), logits, cancel)) return -1;
  return static_cast<int>(common);
}

GenerationResult generate(const Model& model, InferenceContext& context, std::span<const int32_t> prompt, Sampler& sampler,
                          TokenTextDecoder& decoder, const GenerationOptions& options,
                          const PieceCallback& on_piece) {
  GenerationResult result;
  GenerationStats& stats = result.stats;
  const auto start = Clock::now();
  stats.prompt_tokens = static_cast<int>(prompt.size());

  std::vector<float> logits(static_cast<size_t>(std::max(model.config().vocab_size, 1)));
  const bool crop = model.config().crop_window_when_full;
  const int capacity = context.capacity();
  if (crop && static_cast<int>(prompt.size()) > capacity) prompt = prompt.last(static_cast<size_t>(capacity));
  int reused = prefill_with_reuse(context, prompt, logits, options.cancel);
  stats.prefill_seconds = seconds_since(start);
  if (reused < 0) {
    stats.stop = StopReason::User;
    return result;
  }
  stats.reused_tokens = reused;
  int computed = stats.prompt_tokens - reused;
  if (stats.prefill_seconds > 0) stats.prefill_tokens_per_second = computed / stats.prefill_seconds;

  decoder.reset();
  StopStringFilter filter(options.stop_strings);
  auto emit = [&](const std::string& text) {
    if (text.empty()) return;
    result.text += text;
    if (on_piece) on_piece(text);
  };
  Clock::time_point first_token_time{};
  // Speculative decoding: each verified row's token is drawn by Sampler::sample_against_draft,
  // distributed exactly as the plain loop's sample() there (greedy: the same token). `ready`: the
  // tokens the last verify pass settled, in order; all but the last are already in the cache
  // (accepted drafts). `committed`: the cache size of the plain loop, to which the cache is cut
  // back at the end (accepted drafts never reached, an eos).
  const bool speculate = options.draft_tokens > 0 && context.can_draft();
  std::deque<int32_t> ready;
  std::vector<int32_t> drafts, verified;
  std::vector<float> rows;
  const size_t vocab = logits.size();
  int committed = context.size();
  for (;;) {
    if (cancelled(options.cancel)) {
      stats.stop = StopReason::User;
      break;
    }
    if (options.max_tokens >= 0 && stats.generated_tokens >= options.max_tokens) {
      stats.stop = StopReason::Length;
      break;
    }
    if (committed >= capacity && !crop) {
      stats.stop = StopReason::Context;
      break;
    }
    int32_t id;
    if (!ready.empty()) {
      id = ready.front();
      ready.pop_front();
    } else {
      id = sampler.sample(logits, context.tokens());
    }
    if (++stats.generated_tokens == 1) {
      first_token_time = Clock::now();
      stats.time_to_first_token = seconds_since(start);
    }
    if (std::find(options.eos_ids.begin(), options.eos_ids.end(), id) != options.eos_ids.end()) {
      stats.stop = StopReason::Eos;
      break;
    }
    result.tokens.push_back(id);
    emit(filter.push(decoder.push(id)));
    if (filter.stopped()) {
      stats.stop = StopReason::StopString;
      break;
    }
    if (!ready.empty()) {  // id is an accepted draft: already in the cache
      ++committed;
      continue;
    }
    if (speculate) {
      int k = std::min(options.draft_tokens, context.max_verify_tokens() - 1);
      k = std::min(k, capacity - context.size() - 1);
      if (options.max_tokens >= 0) k = std::min(k, options.max_tokens - stats.generated_tokens);
      drafts.resize(static_cast<size_t>(std::max(k, 0)));
      const int n = k > 0 ? context.draft(id, k, drafts) : 0;
      if (n > 0) {
        const int base = context.size();
        verified.assign(1, id);
        verified.insert(verified.end(), drafts.begin(), drafts.begin() + n);
        rows.resize(verified.size() * vocab);
        if (!context.verify(verified, rows, options.cancel)) {
          stats.stop = StopReason::User;
          break;
        }
        // Row j holds the logits after id, drafts[0..j). Draft j is accepted or replaced by a
        // token drawn there against it; the first replacement (or a token drawn from the row after
        // the last draft) ends the step.
        const std::vector<int32_t>& history = context.tokens();
        int accepted = 0;
        for (int j = 0; j <= n; ++j) {
          const std::span<float> row = std::span<float>(rows).subspan(j * vocab, vocab);
          const std::span<const int32_t> before = std::span<const int32_t>(history).first(base + 1 + j);
          bool kept = false;
          ready.push_back(j == n ? sampler.sample(row, before)
                                 : sampler.sample_against_draft(row, before, drafts[j], kept));
          if (!kept) break;
          ++accepted;
        }
        context.truncate(base + 1 + accepted);
        committed = base + 1;
        stats.drafted_tokens += n;
        stats.accepted_tokens += accepted;
        ++stats.verify_steps;
        continue;
      }
    }
    int32_t token[1] = {id};
    std::vector<int32_t> window;  // a full context that crops: its last capacity - 1 tokens and id
    if (context.size() >= capacity) {
      window.assign(context.tokens().end() - (capacity - 1), context.tokens().end());
      window.push_back(id);
      context.truncate(0);
    }
    if (!context.append(window.empty() ? std::span<const int32_t>(token) : std::span<const int32_t>(window), logits,
                        options.cancel)) {
      stats.stop = StopReason::User;
      break;
    }
    committed = context.size();
  }
  if (context.size() > committed) context.truncate(committed);
  if (stats.stop != StopReason::StopString) {
    emit(filter.push(decoder.finish()));
    if (filter.stopped())
      stats.stop = StopReason::StopString;
    else
      emit(filter.finish());
  }
  if (stats.generated_tokens > 0) {
    stats.decode_seconds = std::chrono::duration<double>(Clock::now() - first_token_time).count();
    if (stats.generated_tokens > 1 && stats.decode_seconds > 0)
      stats.decode_tokens_per_second = (stats.generated_tokens - 1) / stats.decode_seconds;
  }
  return result;
}

}  // namespace dschat
