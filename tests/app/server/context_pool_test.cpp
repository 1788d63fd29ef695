// ContextPool: the free context sharing the longest prefix with the prompt is lent; ties go to
// the emptiest; a request waits while all are busy and is served in arrival order.
#include "app/server/context_pool.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

namespace dschat {
namespace {

// A context that only remembers its tokens (no model).
class TokenOnlyContext final : public InferenceContext {
 public:
  explicit TokenOnlyContext(std::vector<int32_t> tokens) : tokens_(std::move(tokens)) {}
  int size() const override { return static_cast<int>(tokens_.size()); }
  int capacity() const override { return 1000; }
  const std::vector<int32_t>& tokens() const override { return tokens_; }
  void truncate(int n) override { tokens_.resize(static_cast<std::size_t>(n)); }
  bool append(std::span<const int32_t> tokens, std::span<float>, const std::atomic<bool>*, std::span<float>) override {
    tokens_.insert(tokens_.end(), tokens.begin(), tokens.end());
    return true;
  }
  void set_prefill_chunk(int) override {}

 private:
  std::vector<int32_t> tokens_;
};

ContextPool make_pool(std::vector<std::vector<int32_t>> caches) {
  std::vector<std::unique_ptr<InferenceContext>> contexts;
  for (auto& c : caches) contexts.push_back(std::make_unique<TokenOnlyContext>(std::move(c)));
  return ContextPool(std::move(contexts));
}

TEST(ContextPool, CommonPrefix) {
  const std::vector<int32_t> a{1, 2, 3}, b{1, 2, 4, 5}, e{};
  EXPECT_EQ(common_prefix(a, b), 2u);
  EXPECT_EQ(common_prefix(a, a), 3u);
  EXPECT_EQ(common_prefix(a, e), 0u);
}

TEST(ContextPool, LongestSharedPrefixWins) {
  ContextPool pool = make_pool({{9, 9, 9, 9}, {1, 2, 3, 7, 7}, {1, 2}, {}});
  const std::vector<int32_t> prompt{1, 2, 3, 4};
  auto lease = pool.acquire(prompt);
  ASSERT_TRUE(lease);
  EXPECT_EQ(lease->index(), 1);  // shares 3 tokens
  // With context 1 busy, context 2 (shares 2) beats the others.
  auto second = pool.acquire(prompt);
  ASSERT_TRUE(second);
  EXPECT_EQ(second->index(), 2);
  // Nothing shared: the empty context (3) rather than the one holding 4 unrelated tokens (0).
  auto third = pool.acquire(prompt);
  ASSERT_TRUE(third);
  EXPECT_EQ(third->index(), 3);
  EXPECT_EQ(pool.busy(), 3);
  lease.reset();
  EXPECT_EQ(pool.busy(), 2);
  auto again = pool.acquire(prompt);
  ASSERT_TRUE(again);
  EXPECT_EQ(again->index(), 1);  // given back, it is the best again
}

TEST(ContextPool, WaitsInOrderAndGivesUp) {
  ContextPool pool = make_pool({{}});
  const std::vector<int32_t> prompt{1};
  auto held = std::make_unique<ContextPool::Lease>(*pool.acquire(prompt));
  std::atomic<int> order{0};
  int first_got = -1, second_got = -1;
  std::thread first([&] {
    auto lease = pool.acquire(prompt);
    first_got = order.fetch_add(1);
  });
  while (pool.waiting() < 1) std::this_thread::yield();
  std::thread second([&] {
    auto lease = pool.acquire(prompt);
    second_got = order.fetch_add(1);
  });
  while (pool.waiting() < 2) std::this_thread::yield();
  // A third that gives up leaves the queue without a context.
  EXPECT_FALSE(pool.acquire(prompt, [] { return true; }));
  EXPECT_EQ(pool.waiting(), 2);
  held.reset();
  first.join();
  second.join();
  EXPECT_EQ(first_got, 0);
  EXPECT_EQ(second_got, 1);
  pool.close();
  EXPECT_FALSE(pool.acquire(prompt));
}

}  // namespace
}  // namespace dschat
