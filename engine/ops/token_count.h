// A kernel templated on a count of tokens (so that its per-token accumulators are registers)
// called with the run-time count: with_token_count<Max>(n, f) runs
// f(std::integral_constant<int, min(n, Max)>{}) for n >= 1.
#pragma once

#include <type_traits>

namespace dschat {

template <int Max, typename F>
[[gnu::always_inline]] inline void with_token_count(int n, F&& f) {
  static_assert(Max >= 1);
  if constexpr (Max == 1) {
    f(std::integral_constant<int, 1>{});
  } else if (n >= Max) {
    f(std::integral_constant<int, Max>{});
  } else {
    with_token_count<Max - 1>(n, f);
  }
}

}  // namespace dschat
