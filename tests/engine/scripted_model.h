// Test doubles for the engine interface: a Model that only has a config, and an InferenceContext
// whose logits are a deterministic function of the whole cached sequence (so a wrong cache
// rollback changes them), with an optional scripted next token, a per-token delay (a slow
// prefill) and counters of how many tokens were computed.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "engine/model.h"

namespace dschat::testing {

class ScriptedModel final : public Model {
 public:
  explicit ScriptedModel(int vocab_size, int max_positions = 512) {
    config_.vocab_size = vocab_size;
    config_.max_position_embeddings = max_positions;
  }
  const ModelConfig& config() const override { return config_; }
  std::string name() const override { return "scripted"; }
  uint64_t parameter_count() const override { return 0; }
  uint64_t weight_bytes() const override { return 0; }
  std::string describe() const override { return "scripted test model\n"; }
  std::string files_changed() const override { return {}; }
  std::vector<std::string> nonfinite_weight_warnings() const override { return {}; }

  ModelConfig config_;
};

// Logits of the next token: a hash of the whole sequence in [-1, 1) per id, plus +20 on the
// scripted token when `next` is set (so greedy sampling follows the script).
class ScriptedContext final : public InferenceContext {
 public:
  using NextToken = std::function<int32_t(const std::vector<int32_t>& tokens)>;

  ScriptedContext(int vocab_size, int capacity, NextToken next = {})
      : vocab_(vocab_size), capacity_(capacity), next_(std::move(next)) {}

  int size() const override { return static_cast<int>(tokens_.size()); }
  int capacity() const override { return capacity_; }
  const std::vector<int32_t>& tokens() const override { return tokens_; }
  void truncate(int n) override {
    if (n < 0 || n > size()) throw std::invalid_argument("truncate beyond size");
    tokens_.resize(static_cast<size_t>(n));
    ++truncations;
  }

  bool append(std::span<const int32_t> tokens, std::span<float> last_logits, const std::atomic<bool>* cancel,
              std::span<float> all_logits) override {
    if (size() + static_cast<int>(tokens.size()) > capacity_) throw ModelError("scripted context overflow");
    for (size_t i = 0; i < tokens.size(); ++i) {
      if (cancel && cancel->load()) return false;
      if (delay_per_token.count() > 0) std::this_thread::sleep_for(delay_per_token);
      tokens_.push_back(tokens[i]);
      ++computed_tokens;
      if (!all_logits.empty()) write_logits(all_logits.subspan(i * vocab_, vocab_));
    }
    if (!last_logits.empty()) write_logits(last_logits);
    return true;
  }

  void set_prefill_chunk(int) override {}

  // The logits this context would give after `tokens` (for comparisons).
  std::vector<float> logits_for(const std::vector<int32_t>& tokens) const {
    std::vector<float> out(static_cast<size_t>(vocab_));
    fill(tokens, out);
    return out;
  }

  std::chrono::microseconds delay_per_token{0};
  int computed_tokens = 0;
  int truncations = 0;

 private:
  void write_logits(std::span<float> out) const { fill(tokens_, out); }
  void fill(const std::vector<int32_t>& tokens, std::span<float> out) const {
    uint64_t h = 1469598103934665603ull;  // FNV-1a over the sequence
    for (int32_t t : tokens) h = (h ^ static_cast<uint32_t>(t)) * 1099511628211ull;
    for (int i = 0; i < vocab_; ++i) {
      uint64_t x = (h ^ static_cast<uint64_t>(i)) * 0x9E3779B97F4A7C15ull;
      x ^= x >> 29;
      out[i] = static_cast<float>((x >> 11) * 0x1.0p-53 * 2.0 - 1.0);
    }
    if (next_) out[next_(tokens)] += 20.0f;
  }

  int vocab_;
  int capacity_;
  NextToken next_;
  std::vector<int32_t> tokens_;
};

}  // namespace dschat::testing
