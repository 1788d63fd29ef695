#include "engine/quant/weight_buffer.h"

#include <sys/mman.h>
#include <unistd.h>

#include <cstdlib>
#include <new>
#include <utility>

namespace dschat {
namespace {

constexpr uint64_t kHugePage = uint64_t{2} << 20;

uint64_t round_up(uint64_t v, uint64_t to) { return (v + to - 1) / to * to; }

}  // namespace

WeightBuffer::WeightBuffer(uint64_t bytes) : bytes_(bytes) {
  if (bytes < kHugePage) {  // small tensors from the heap (a model can have tens of thousands)
    data_ = static_cast<std::byte*>(std::calloc(bytes == 0 ? 1 : bytes, 1));  // never null
    if (data_ == nullptr) throw std::bad_alloc();
    return;
  }
  const uint64_t page = static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
  mapped_ = round_up(bytes, page);
  // Map a huge page more than needed, then unmap the head and tail around a 2 MiB-aligned start.
  void* p = mmap(nullptr, mapped_ + kHugePage, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) throw std::bad_alloc();
  const auto raw = reinterpret_cast<uintptr_t>(p);
  const uintptr_t aligned = round_up(raw, kHugePage);
  if (aligned > raw) munmap(p, aligned - raw);
  const uintptr_t end = aligned + mapped_;
  if (raw + mapped_ + kHugePage > end) munmap(reinterpret_cast<void*>(end), raw + mapped_ + kHugePage - end);
  data_ = reinterpret_cast<std::byte*>(aligned);
  madvise(data_, mapped_, MADV_HUGEPAGE);  // advice only: without THP the pages are 4 KiB
}

void WeightBuffer::release() {
  if (data_ == nullptr) return;
  if (mapped_ == 0) std::free(data_);
  else munmap(data_, mapped_);
  data_ = nullptr;
}

WeightBuffer::~WeightBuffer() { release(); }

WeightBuffer::WeightBuffer(WeightBuffer&& other) noexcept
    : data_(std::exchange(other.data_, nullptr)),
      bytes_(std::exchange(other.bytes_, 0)),
      mapped_(std::exchange(other.mapped_, 0)) {}

WeightBuffer& WeightBuffer::operator=(WeightBuffer&& other) noexcept {
  if (this != &other) {
    release();
    data_ = std::exchange(other.data_, nullptr);
    bytes_ = std::exchange(other.bytes_, 0);
    mapped_ = std::exchange(other.mapped_, 0);
  }
  return *this;
}

}  // namespace dschat
