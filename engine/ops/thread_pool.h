// A persistent pool of worker threads for data-parallel loops (created once per model).
//
// Decode runs ~100 short loops per token (a GEMV is tens of microseconds), so the hand-off must
// cost far less than that: between loops a worker spins on an atomic word for a short, bounded
// time before it sleeps on a condition variable, and the caller spins the same way for the last
// chunk to finish. The bound keeps an idle machine from burning CPU. A loop is cut into a few
// chunks per thread that threads claim one at a time, so a worker that the OS has descheduled
// (a loaded machine) delays the loop by at most the chunk it holds: the others take the rest.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace dschat {

class ThreadPool {
 public:
  // threads <= 0: all hardware threads. spin: how long a waiting thread polls before it sleeps.
  explicit ThreadPool(int threads, std::chrono::microseconds spin = std::chrono::microseconds(200));
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int size() const { return static_cast<int>(workers_.size()) + 1; }  // workers + the caller

  // Runs fn(begin, end) over [0, n) split into contiguous ranges of at least `grain` items,
  // a few per thread, and returns when all are done. The calling thread takes a share.
  // Calls from inside fn run serially (no nesting); calls from several threads take turns.
  void parallel_for(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& fn);
  // The same, fn also told which thread runs the range: 0 the caller, 1..size()-1 the workers
  // (a nested call: the thread it runs on). For per-thread scratch (workspace.h).
  void parallel_for(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t, int)>& fn);

  // Work (multiply-adds or the like) below which a task costs more to hand over than to run.
  static constexpr int64_t kMinTaskWork = 32768;
  // The grain for items of `work_per_item` each: enough items that a task does kMinTaskWork.
  static int64_t grain(int64_t work_per_item) {
    work_per_item = work_per_item < 1 ? 1 : work_per_item;
    return (kMinTaskWork + work_per_item - 1) / work_per_item;
  }

 private:
  void worker_loop(int thread);
  // Claims and runs chunks of loop `generation` until none is left or the loop is over.
  void run_chunks(uint64_t generation, int thread);
  // Spins up to spin_, then sleeps on `cv` until `done()`; `sleepers` counts the sleeping threads
  // so that the other side only takes the mutex to notify when someone sleeps.
  template <typename Done>
  void await(const Done& done, std::atomic<int>& sleepers, std::condition_variable& cv);
  void wake(std::atomic<int>& sleepers, std::condition_variable& cv);

  std::vector<std::thread> workers_;
  std::chrono::nanoseconds spin_;
  std::mutex call_mutex_;  // one parallel_for at a time
  std::mutex sleep_mutex_;
  std::condition_variable work_ready_;
  std::condition_variable work_done_;
  std::atomic<int> sleeping_workers_{0};
  std::atomic<int> sleeping_callers_{0};
  // The current loop as one word: generation (which call, 40 bits) | chunks (12) | next unclaimed
  // chunk (12). Claiming a chunk is a compare-exchange, so a thread only ever claims a chunk of
  // the loop it read, and n_ and fn_ are read after the claim.
  std::atomic<uint64_t> loop_{0};
  std::atomic<int> finished_chunks_{0};
  std::atomic<bool> stopping_{false};
  uint64_t generation_ = 0;  // the caller's count of loops
  // The current loop: written by the caller before loop_ is published, read after a claim.
  int64_t n_ = 0;
  const std::function<void(int64_t, int64_t, int)>* fn_ = nullptr;
};

}  // namespace dschat
