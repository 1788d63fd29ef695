// std::bad_alloc says nothing of what could not be allocated, and printed as it is ("dschat run:
// std::bad_alloc") it says nothing at all. Steps that allocate by the size of their input run
// inside while_allocating("the inference context of 4096 tokens", ...), which turns a failure
// into OutOfMemory "out of memory while allocating the inference context of 4096 tokens"; the
// boundaries that show errors (each command, the chat's worker) use error_message(e), where a
// bad_alloc that no step named still reads "out of memory (std::bad_alloc)".
#pragma once

#include <exception>
#include <new>
#include <stdexcept>
#include <string>
#include <utility>

namespace dschat {

struct OutOfMemory : std::runtime_error {
  using std::runtime_error::runtime_error;
};

template <typename F>
decltype(auto) while_allocating(const std::string& what, F&& step) {
  try {
    return std::forward<F>(step)();
  } catch (const std::bad_alloc&) {
    throw OutOfMemory("out of memory while allocating " + what);
  }
}

// e.what(), except that a bare std::bad_alloc (or std::length_error from a size too large for a
// container) is named for what it is.
inline std::string error_message(const std::exception& e) {
  if (dynamic_cast<const std::bad_alloc*>(&e)) return std::string("out of memory (") + e.what() + ")";
  if (dynamic_cast<const std::length_error*>(&e)) return std::string("a size too large to allocate (") + e.what() + ")";
  return e.what();
}

}  // namespace dschat
