// ThreadPool: every index of a loop is run exactly once, by contiguous ranges, whatever the
// thread count, the grain, the timing (spinning or sleeping workers), nesting or concurrent callers.
#include "engine/ops/thread_pool.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

namespace dschat {
namespace {

// Runs one loop and checks that [0, n) is covered exactly once by ranges of at least `grain`
// items (except where n itself is smaller).
void expect_each_index_once(ThreadPool& pool, int64_t n, int64_t grain) {
  std::vector<std::atomic<int>> hits(static_cast<size_t>(n));
  std::atomic<int> short_ranges{0};
  pool.parallel_for(n, grain, [&](int64_t begin, int64_t end) {
    if (end - begin < grain && end - begin < n) short_ranges.fetch_add(1);
    for (int64_t i = begin; i < end; ++i) hits[static_cast<size_t>(i)].fetch_add(1);
  });
  for (int64_t i = 0; i < n; ++i) ASSERT_EQ(hits[static_cast<size_t>(i)].load(), 1) << "n=" << n << " i=" << i;
  EXPECT_EQ(short_ranges.load(), 0) << "n=" << n << " grain=" << grain;
}

TEST(ThreadPool, RunsEveryIndexExactlyOnce) {
  for (int threads : {1, 2, 3, 8}) {
    ThreadPool pool(threads);
    EXPECT_EQ(pool.size(), threads);
    for (int64_t n : {1, 2, 3, 7, 64, 1000, 4097})
      for (int64_t grain : {1, 3, 16, 5000}) expect_each_index_once(pool, n, grain);
  }
}

TEST(ThreadPool, EmptyLoopCallsNothing) {
  ThreadPool pool(2);
  bool called = false;
  pool.parallel_for(0, 1, [&](int64_t, int64_t) { called = true; });
  EXPECT_FALSE(called);
}

TEST(ThreadPool, SplitsLargeLoopsAcrossThreads) {
  ThreadPool pool(2);
  std::vector<std::thread::id> ids;
  std::mutex m;
  // Slow chunks so that the worker, spinning or woken, claims some of them.
  pool.parallel_for(8, 1, [&](int64_t, int64_t) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    std::lock_guard<std::mutex> lock(m);
    ids.push_back(std::this_thread::get_id());
  });
  ASSERT_FALSE(ids.empty());
  bool two_threads = false;
  for (auto id : ids) two_threads |= id != ids[0];
  EXPECT_TRUE(two_threads);
}

TEST(ThreadPool, ManyShortLoopsInARow) {
  ThreadPool pool(3);
  std::atomic<int64_t> sum{0};
  for (int call = 0; call < 20000; ++call) {
    pool.parallel_for(16, 1, [&](int64_t b, int64_t e) {
      for (int64_t i = b; i < e; ++i) sum.fetch_add(i);
    });
  }
  EXPECT_EQ(sum.load(), int64_t{20000} * (15 * 16 / 2));
}

TEST(ThreadPool, WorkersThatFellAsleepWakeForTheNextLoop) {
  ThreadPool pool(2, std::chrono::microseconds(1));  // workers sleep almost at once
  for (int round = 0; round < 20; ++round) {
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
    expect_each_index_once(pool, 100, 1);
  }
}

TEST(ThreadPool, NestedLoopRunsSeriallyInsideTheTask) {
  ThreadPool pool(2);
  std::atomic<int> inner{0};
  pool.parallel_for(4, 1, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) {
      pool.parallel_for(10, 1, [&](int64_t ib, int64_t ie) { inner.fetch_add(static_cast<int>(ie - ib)); });
    }
  });
  EXPECT_EQ(inner.load(), 40);
}

TEST(ThreadPool, ConcurrentCallersTakeTurns) {
  ThreadPool pool(2);
  std::atomic<int64_t> total{0};
  std::vector<std::thread> callers;
  for (int c = 0; c < 3; ++c) {
    callers.emplace_back([&] {
      for (int k = 0; k < 500; ++k)
        pool.parallel_for(64, 1, [&](int64_t b, int64_t e) { total.fetch_add(e - b); });
    });
  }
  for (auto& t : callers) t.join();
  EXPECT_EQ(total.load(), 3 * 500 * 64);
}

TEST(ThreadPool, DestroyedWhileWorkersSleep) {
  for (int i = 0; i < 20; ++i) {
    ThreadPool pool(4, std::chrono::microseconds(1));
    expect_each_index_once(pool, 50, 1);
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
}

}  // namespace
}  // namespace dschat
