// Memory for weights the loader makes itself (converted to another type, or copied because the
// file's bytes were misaligned), zero-filled. From 2 MiB up: an anonymous mapping on 2 MiB
// boundaries marked for transparent huge pages, so that a GEMV streaming through it takes far
// fewer TLB misses (Q8_0 decode on the seed shape: 282 -> 307 tok/s, mean of three alternating
// runs; within the noise for Q4_0). Smaller tensors come from the heap.
#pragma once

#include <cstddef>
#include <cstdint>

namespace dschat {

class WeightBuffer {
 public:
  explicit WeightBuffer(uint64_t bytes);  // throws std::bad_alloc when the mapping fails
  ~WeightBuffer();
  WeightBuffer(WeightBuffer&& other) noexcept;
  WeightBuffer& operator=(WeightBuffer&& other) noexcept;
  WeightBuffer(const WeightBuffer&) = delete;
  WeightBuffer& operator=(const WeightBuffer&) = delete;

  std::byte* data() const { return data_; }
  uint64_t size() const { return bytes_; }

 private:
  std::byte* data_ = nullptr;
  uint64_t bytes_ = 0;
  uint64_t mapped_ = 0;  // bytes of the mapping at data_; 0: data_ is from calloc

  void release();
};

}  // namespace dschat
