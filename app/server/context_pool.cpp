#include "app/server/context_pool.h"

#include <algorithm>
#include <chrono>
#include <stdexcept>

namespace dschat {

std::size_t common_prefix(std::span<const int32_t> a, std::span<const int32_t> b) {
  const std::size_t n = std::min(a.size(), b.size());
  std::size_t i = 0;
  while (i < n && a[i] == b[i]) ++i;
  return i;
}

ContextPool::ContextPool(std::vector<std::unique_ptr<InferenceContext>> contexts)
    : contexts_(std::move(contexts)), busy_(contexts_.size(), false) {
  if (contexts_.empty()) throw std::invalid_argument("a context pool needs at least one context");
}

ContextPool::Lease::~Lease() {
  if (pool_) pool_->release(index_);
}

InferenceContext& ContextPool::Lease::context() const { return *pool_->contexts_[static_cast<std::size_t>(index_)]; }

int ContextPool::choose(std::span<const int32_t> prompt) const {
  int best = -1;
  std::size_t best_shared = 0, best_size = 0;
  for (std::size_t i = 0; i < contexts_.size(); ++i) {
    if (busy_[i]) continue;
    const std::vector<int32_t>& cached = contexts_[i]->tokens();
    const std::size_t shared = common_prefix(cached, prompt);
    if (best < 0 || shared > best_shared || (shared == best_shared && cached.size() < best_size)) {
      best = static_cast<int>(i);
      best_shared = shared;
      best_size = cached.size();
    }
  }
  return best;
}

std::optional<ContextPool::Lease> ContextPool::acquire(std::span<const int32_t> prompt,
                                                       const std::function<bool()>& give_up) {
  std::unique_lock<std::mutex> lock(mutex_);
  const uint64_t ticket = next_ticket_++;
  queue_.push_back(ticket);
  auto leave_queue = [&] {
    queue_.erase(std::find(queue_.begin(), queue_.end(), ticket));
    changed_.notify_all();  // the next in line may be able to go now
  };
  for (;;) {
    if (closed_ || (give_up && give_up())) {
      leave_queue();
      return std::nullopt;
    }
    if (queue_.front() == ticket) {
      if (int index = choose(prompt); index >= 0) {
        busy_[static_cast<std::size_t>(index)] = true;
        leave_queue();
        return Lease(this, index);
      }
    }
    // Polls give_up (a client that went away) while it waits.
    changed_.wait_for(lock, std::chrono::milliseconds(50));
  }
}

void ContextPool::release(int index) {
  std::lock_guard<std::mutex> lock(mutex_);
  busy_[static_cast<std::size_t>(index)] = false;
  changed_.notify_all();
}

void ContextPool::close() {
  std::lock_guard<std::mutex> lock(mutex_);
  closed_ = true;
  changed_.notify_all();
}

int ContextPool::busy() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return static_cast<int>(std::count(busy_.begin(), busy_.end(), true));
}

int ContextPool::waiting() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return static_cast<int>(queue_.size());
}

}  // namespace dschat
