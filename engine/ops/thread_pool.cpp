#include "engine/ops/thread_pool.h"

#include <algorithm>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

namespace dschat {
namespace {

thread_local bool inside_pool_task = false;
// The pool whose worker this thread is, and its index there (0 and null on other threads).
thread_local const ThreadPool* worker_of = nullptr;
thread_local int worker_index = 0;

// Tells the core this is a spin-wait loop (saves power, yields the core's other hyper-thread).
inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  _mm_pause();
#endif
}

}  // namespace

ThreadPool::ThreadPool(int threads, std::chrono::microseconds spin) : spin_(spin) {
  if (threads <= 0) threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  for (int i = 1; i < threads; ++i) workers_.emplace_back([this, i] { worker_loop(i); });
}

ThreadPool::~ThreadPool() {
  stopping_.store(true);
  wake(sleeping_workers_, work_ready_);
  for (std::thread& t : workers_) t.join();
}

// The waiter announces itself in `sleepers` and then re-checks `done()`; the waker changes the
// state and then reads `sleepers` (all sequentially consistent). Either the waker sees the
// sleeper and notifies under the mutex, or the sleeper's re-check sees the new state.
template <typename Done>
void ThreadPool::await(const Done& done, std::atomic<int>& sleepers, std::condition_variable& cv) {
  if (done()) return;
  const auto deadline = std::chrono::steady_clock::now() + spin_;
  for (int i = 1;; ++i) {
    cpu_relax();
    if (done()) return;
    if ((i & 63) == 0 && std::chrono::steady_clock::now() >= deadline) break;
  }
  std::unique_lock<std::mutex> lock(sleep_mutex_);
  sleepers.fetch_add(1);
  cv.wait(lock, done);
  sleepers.fetch_sub(1);
}

void ThreadPool::wake(std::atomic<int>& sleepers, std::condition_variable& cv) {
  if (sleepers.load() == 0) return;
  { std::lock_guard<std::mutex> lock(sleep_mutex_); }  // a sleeper is now waiting or will see the state
  cv.notify_all();
}

// loop_ word layout.
constexpr int kChunkBits = 12;
constexpr uint64_t kChunkMask = (uint64_t{1} << kChunkBits) - 1;
constexpr uint64_t loop_generation(uint64_t w) { return w >> (2 * kChunkBits); }
constexpr int loop_chunks(uint64_t w) { return static_cast<int>((w >> kChunkBits) & kChunkMask); }
constexpr int loop_next(uint64_t w) { return static_cast<int>(w & kChunkMask); }

void ThreadPool::run_chunks(uint64_t generation, int thread) {
  uint64_t w = loop_.load();
  while (loop_generation(w) == generation && loop_next(w) < loop_chunks(w)) {
    if (!loop_.compare_exchange_weak(w, w + 1)) continue;  // w now holds the current word
    const int chunk = loop_next(w), chunks = loop_chunks(w);
    const int64_t begin = n_ * chunk / chunks, end = n_ * (chunk + 1) / chunks;
    inside_pool_task = true;
    (*fn_)(begin, end, thread);
    inside_pool_task = false;
    if (finished_chunks_.fetch_add(1) + 1 == chunks) wake(sleeping_callers_, work_done_);
    w = loop_.load();
  }
}

void ThreadPool::worker_loop(int thread) {
  worker_of = this;
  worker_index = thread;
  uint64_t seen = 0;
  for (;;) {
    await([&] { return stopping_.load() || loop_generation(loop_.load()) != seen; }, sleeping_workers_,
          work_ready_);
    if (stopping_.load()) return;
    seen = loop_generation(loop_.load());
    run_chunks(seen, thread);
  }
}

void ThreadPool::parallel_for(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& fn) {
  parallel_for(n, grain, [&fn](int64_t begin, int64_t end, int) { fn(begin, end); });
}

void ThreadPool::parallel_for(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t, int)>& fn) {
  if (n <= 0) return;
  grain = std::max<int64_t>(grain, 1);
  // A few chunks per thread balance the load; each claim costs a shared cache line.
  const int64_t chunks = std::min<int64_t>({n / grain, 4 * int64_t{size()},
                                            static_cast<int64_t>(kChunkMask)});
  if (chunks <= 1 || size() == 1 || inside_pool_task) {
    fn(0, n, worker_of == this ? worker_index : 0);
    return;
  }
  std::lock_guard<std::mutex> call(call_mutex_);
  fn_ = &fn;
  n_ = n;
  finished_chunks_.store(0);
  generation_ = (generation_ + 1) & ((uint64_t{1} << (64 - 2 * kChunkBits)) - 1);
  loop_.store(generation_ << (2 * kChunkBits) | static_cast<uint64_t>(chunks) << kChunkBits);
  wake(sleeping_workers_, work_ready_);
  run_chunks(generation_, 0);  // the caller works too, and takes every chunk nobody else has claimed
  await([&] { return finished_chunks_.load() == chunks; }, sleeping_callers_, work_done_);
}

}  // namespace dschat
