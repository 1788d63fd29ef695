// common/out_of_memory.h: an allocation failure reaches the user as what could not be allocated,
// never as the bare "std::bad_alloc" the commands printed.
#include "common/out_of_memory.h"

#include <gtest/gtest.h>

#include <vector>

namespace dschat {
namespace {

TEST(OutOfMemory, AFailedAllocationIsNamedByTheStepThatMadeIt) {
  try {
    while_allocating("the inference context of 4096 tokens", []() -> int { throw std::bad_alloc(); });
    FAIL() << "no error";
  } catch (const OutOfMemory& e) {
    EXPECT_STREQ(e.what(), "out of memory while allocating the inference context of 4096 tokens");
    EXPECT_EQ(error_message(e), e.what());
  }
  // Other errors pass through unchanged, and a result is returned as it is.
  EXPECT_THROW(while_allocating("x", []() -> int { throw std::runtime_error("other"); }), std::runtime_error);
  EXPECT_EQ(while_allocating("x", [] { return std::vector<int>(3, 7); }), std::vector<int>(3, 7));
}

TEST(OutOfMemory, AnUnnamedBadAllocStillSaysOutOfMemory) {
  EXPECT_EQ(error_message(std::bad_alloc()), "out of memory (std::bad_alloc)");
  try {
    std::vector<int> v;
    v.reserve(v.max_size() + 1);  // std::length_error: a size no container can hold
  } catch (const std::exception& e) {
    EXPECT_EQ(error_message(e).rfind("a size too large to allocate (", 0), 0u) << error_message(e);
  }
  EXPECT_EQ(error_message(std::runtime_error("plain")), "plain");
}

}  // namespace
}  // namespace dschat
