// The working memory of the kernels, allocated once per inference context: one KernelScratch
// per thread of the pool (a loop's chunk is told which thread runs it) and one for what a driver
// prepares before it splits the work. Buffers grow to the largest size asked for and are kept,
// so a decode step allocates nothing after the first token.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <vector>

#include "engine/ops/thread_pool.h"

namespace dschat {

struct KernelScratch {
  std::vector<std::byte> prepared;  // activations in the form a GEMV reads (weight_kernels.h)
  std::vector<float> widened;       // weight rows widened to float (GEMM panels, transposed products)

  float* widened_floats(size_t n) {
    if (widened.size() < n) widened.resize(n);
    return widened.data();
  }
};

class Workspace {
 public:
  explicit Workspace(ThreadPool& pool) : pool_(pool), threads_(static_cast<size_t>(pool.size())) {}

  ThreadPool& pool() const { return pool_; }
  int threads() const { return static_cast<int>(threads_.size()); }
  KernelScratch& thread(int index) { return threads_[static_cast<size_t>(index)]; }
  // For a driver's own use before it splits work (activations prepared once per call).
  KernelScratch& call() { return call_; }

  // pool().parallel_for, each chunk given the scratch of the thread that runs it.
  void parallel_for(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t, KernelScratch&)>& fn) {
    pool_.parallel_for(n, grain, [&](int64_t begin, int64_t end, int thread) { fn(begin, end, threads_[thread]); });
  }

 private:
  ThreadPool& pool_;
  std::vector<KernelScratch> threads_;
  KernelScratch call_;
};

}  // namespace dschat
