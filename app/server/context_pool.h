// N inference contexts (KV caches) over one loaded model, lent to one request at a time.
// A request takes the free context whose cache shares the longest prefix with its prompt, so a
// client that resends a growing conversation prefills only the new part (generate() reuses the
// prefix); a tie goes to the context holding the fewest tokens (the least cached work is lost).
// Requests that find every context busy wait in arrival order.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <vector>

#include "engine/model.h"

namespace dschat {

// Tokens `a` and `b` share from the start.
std::size_t common_prefix(std::span<const int32_t> a, std::span<const int32_t> b);

class ContextPool {
 public:
  explicit ContextPool(std::vector<std::unique_ptr<InferenceContext>> contexts);

  // A context held by one request; given back when destroyed.
  class Lease {
   public:
    Lease(Lease&& other) noexcept : pool_(other.pool_), index_(other.index_) { other.pool_ = nullptr; }
    Lease& operator=(Lease&&) = delete;
    ~Lease();
    InferenceContext& context() const;
    int index() const { return index_; }

   private:
    friend class ContextPool;
    Lease(ContextPool* pool, int index) : pool_(pool), index_(index) {}
    ContextPool* pool_;
    int index_;
  };

  // Waits for a context (in arrival order) and lends the best one for `prompt`. nullopt when
  // `give_up` (polled while waiting) returns true or the pool was closed.
  std::optional<Lease> acquire(std::span<const int32_t> prompt, const std::function<bool()>& give_up = {});
  // Wakes every waiter with nullopt; later acquire() calls fail at once (shutdown).
  void close();

  int size() const { return static_cast<int>(contexts_.size()); }
  int busy() const;     // contexts lent now
  int waiting() const;  // requests waiting for one

 private:
  void release(int index);
  int choose(std::span<const int32_t> prompt) const;  // a free context; mutex_ held

  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<std::unique_ptr<InferenceContext>> contexts_;
  std::vector<bool> busy_;
  std::deque<uint64_t> queue_;  // tickets of the waiting requests, oldest first
  uint64_t next_ticket_ = 0;
  bool closed_ = false;
};

}  // namespace dschat
