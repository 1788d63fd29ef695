// WeightBuffer: zero-filled memory of the asked size; large buffers start on a 2 MiB boundary
// (so transparent huge pages can back them); moves hand the memory over.
#include "engine/quant/weight_buffer.h"

#include <gtest/gtest.h>

#include <cstring>
#include <utility>
#include <vector>

namespace dschat {
namespace {

TEST(WeightBuffer, ZeroFilledOfTheAskedSize) {
  for (uint64_t bytes : {uint64_t{0}, uint64_t{1}, uint64_t{4097}, uint64_t{3} << 20, (uint64_t{5} << 20) + 123}) {
    WeightBuffer b(bytes);
    ASSERT_NE(b.data(), nullptr) << bytes;
    EXPECT_EQ(b.size(), bytes);
    for (uint64_t i = 0; i < bytes; i += 997) ASSERT_EQ(b.data()[i], std::byte{0}) << bytes << " at " << i;
    if (bytes > 0) {
      std::memset(b.data(), 0x5a, bytes);  // all of it is writable
      EXPECT_EQ(b.data()[bytes - 1], std::byte{0x5a});
    }
  }
}

TEST(WeightBuffer, LargeBuffersStartOnHugePageBoundaries) {
  WeightBuffer b(uint64_t{3} << 20);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(b.data()) % (uintptr_t{2} << 20), 0u);
}

TEST(WeightBuffer, MovesKeepTheMemory) {
  std::vector<WeightBuffer> buffers;
  buffers.emplace_back(uint64_t{4} << 20);
  buffers.back().data()[7] = std::byte{42};
  std::byte* first = buffers.back().data();
  for (int i = 0; i < 20; ++i) buffers.emplace_back(uint64_t{1000} + i);  // reallocates the vector
  EXPECT_EQ(buffers[0].data(), first);
  EXPECT_EQ(buffers[0].data()[7], std::byte{42});
  WeightBuffer moved = std::move(buffers[0]);
  EXPECT_EQ(moved.data(), first);
  EXPECT_EQ(buffers[0].data(), nullptr);
  EXPECT_EQ(buffers[0].size(), 0u);
  moved = std::move(buffers[1]);
  EXPECT_EQ(moved.size(), 1000u);
}

}  // namespace
}  // namespace dschat
