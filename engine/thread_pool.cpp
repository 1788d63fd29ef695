#include "engine/thread_pool.h"

#include <algorithm>

namespace dschat {
namespace {
thread_local bool inside_pool_task = false;
}

ThreadPool::ThreadPool(int threads) {
  if (threads <= 0) threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  for (int i = 1; i < threads; ++i) workers_.emplace_back([this, i] { worker_loop(i); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  work_ready_.notify_all();
  for (std::thread& t : workers_) t.join();
}

void ThreadPool::run_task(int task) {
  int64_t begin = n_ * task / tasks_;
  int64_t end = n_ * (task + 1) / tasks_;
  if (begin < end) {
    inside_pool_task = true;
    (*fn_)(begin, end);
    inside_pool_task = false;
  }
}

void ThreadPool::worker_loop(int index) {
  uint64_t seen = 0;
  for (;;) {
    std::unique_lock<std::mutex> lock(mutex_);
    work_ready_.wait(lock, [&] { return stopping_ || generation_ != seen; });
    if (stopping_) return;
    seen = generation_;
    if (index >= tasks_) continue;
    lock.unlock();
    run_task(index);
    lock.lock();
    if (--pending_ == 0) work_done_.notify_one();
  }
}

void ThreadPool::parallel_for(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& fn) {
  if (n <= 0) return;
  grain = std::max<int64_t>(grain, 1);
  int64_t tasks = std::min<int64_t>(size(), (n + grain - 1) / grain);
  if (tasks <= 1 || inside_pool_task) {
    fn(0, n);
    return;
  }
  std::lock_guard<std::mutex> call(call_mutex_);
  {
    std::lock_guard<std::mutex> lock(mutex_);
    fn_ = &fn;
    n_ = n;
    tasks_ = static_cast<int>(tasks);
    pending_ = tasks_ - 1;  // the caller runs task 0 itself
    ++generation_;
  }
  work_ready_.notify_all();
  run_task(0);
  std::unique_lock<std::mutex> lock(mutex_);
  work_done_.wait(lock, [&] { return pending_ == 0; });
  fn_ = nullptr;
}

}  // namespace dschat
