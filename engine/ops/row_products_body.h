// Products of small float matrices stored by rows, as attention over a tile of cached rows needs
// them (absorbed MLA decode: a few query heads against 64 cached latents of 512 values):
//   row_dots:          C = A·Bᵀ       c[i][j] = Σ_k a[i][k]·b[j][k]
//   weighted_row_sums: C += P·B       c[i][j] += Σ_t p[i][t]·b[t][j]
// Register-blocked so that each loaded vector of B serves several rows of A (or P): per-row dot
// products and axpys load two operands per multiply-add and run at the load ports' rate.
// Written once with GCC vector types of W floats and compiled per instruction set (kernels_*.cpp
// wrap these always-inline bodies in functions carrying their target attribute).
//
// Every output element is the same sequence of operations whatever block it falls in (lanes
// accumulated in k or t order, then one fixed horizontal sum), so a result does not depend on
// how many rows the call has: a query attends bit for bit alike in a one-token decode and in a
// verify pass, and whichever thread takes its head.
#pragma once

#include <cstdint>
#include <cstring>

namespace dschat::row_products {

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wpsabi"

template <int W>
struct Vec {
  typedef float type __attribute__((vector_size(W * sizeof(float))));
};

template <int W>
[[gnu::always_inline]] inline typename Vec<W>::type load(const float* p) {
  typename Vec<W>::type v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

template <int W>
[[gnu::always_inline]] inline void store(float* p, typename Vec<W>::type v) {
  std::memcpy(p, &v, sizeof v);
}

// Pairwise over the lanes in a fixed order: the upper half added to the lower, halving down to
// one lane (vector adds, not a round trip through memory).
template <int W>
[[gnu::always_inline]] inline float lane_sum(typename Vec<W>::type v) {
  if constexpr (W == 1) {
    return v[0];
  } else {
    typename Vec<W / 2>::type low, high;
    std::memcpy(&low, &v, sizeof low);
    std::memcpy(&high, reinterpret_cast<const char*>(&v) + sizeof low, sizeof high);
    return lane_sum<W / 2>(low + high);
  }
}

// An MI×NJ block of C = A·Bᵀ: MI·NJ vector accumulators over k.
template <int W, int MI, int NJ>
[[gnu::always_inline]] inline void dots_block(const float* a, int64_t lda, const float* b, int64_t ldb, int64_t k,
                                              float* c, int64_t ldc) {
  using V = typename Vec<W>::type;
  V acc[MI][NJ] = {};
  int64_t x = 0;
  for (; x + W <= k; x += W) {
    V bv[NJ];
#pragma GCC unroll 8
    for (int j = 0; j < NJ; ++j) bv[j] = load<W>(b + j * ldb + x);
#pragma GCC unroll 8
    for (int i = 0; i < MI; ++i) {
      const V av = load<W>(a + i * lda + x);
#pragma GCC unroll 8
      for (int j = 0; j < NJ; ++j) acc[i][j] += av * bv[j];
    }
  }
#pragma GCC unroll 8
  for (int i = 0; i < MI; ++i) {
#pragma GCC unroll 8
    for (int j = 0; j < NJ; ++j) {
      float s = lane_sum<W>(acc[i][j]);
      for (int64_t t = x; t < k; ++t) s += a[i * lda + t] * b[j * ldb + t];
      c[i * ldc + j] = s;
    }
  }
}

// NJ rows of B against all m rows of A (A is the small operand and stays in L1; each row of B,
// streamed from memory, is read once).
template <int W, int MI, int NJ>
[[gnu::always_inline]] inline void dots_rows_of_b(const float* a, int64_t lda, int64_t m, const float* b, int64_t ldb,
                                                  int64_t k, float* c, int64_t ldc) {
  int64_t i = 0;
  for (; i + MI <= m; i += MI) dots_block<W, MI, NJ>(a + i * lda, lda, b, ldb, k, c + i * ldc, ldc);
  for (; i < m; ++i) dots_block<W, 1, NJ>(a + i * lda, lda, b, ldb, k, c + i * ldc, ldc);
}

// c[i·ldc + j] = Σ_x a[i·lda + x]·b[j·ldb + x] for i < m, j < n.
template <int W, int MI, int NJ>
[[gnu::always_inline]] inline void row_dots(const float* a, int64_t lda, int64_t m, const float* b, int64_t ldb,
                                            int64_t n, int64_t k, float* c, int64_t ldc) {
  int64_t j = 0;
  for (; j + NJ <= n; j += NJ) dots_rows_of_b<W, MI, NJ>(a, lda, m, b + j * ldb, ldb, k, c + j, ldc);
  for (; j < n; ++j) dots_rows_of_b<W, MI, 1>(a, lda, m, b + j * ldb, ldb, k, c + j, ldc);
}

// An MI-row by NV-vector block of C += P·B: the block of C stays in registers over all n rows of B.
template <int W, int MI, int NV>
[[gnu::always_inline]] inline void sums_block(const float* p, int64_t ldp, const float* b, int64_t ldb, int64_t n,
                                              float* c, int64_t ldc) {
  using V = typename Vec<W>::type;
  V acc[MI][NV];
#pragma GCC unroll 8
  for (int i = 0; i < MI; ++i) {
#pragma GCC unroll 8
    for (int v = 0; v < NV; ++v) acc[i][v] = load<W>(c + i * ldc + v * W);
  }
  for (int64_t t = 0; t < n; ++t) {
    V bv[NV];
#pragma GCC unroll 8
    for (int v = 0; v < NV; ++v) bv[v] = load<W>(b + t * ldb + v * W);
#pragma GCC unroll 8
    for (int i = 0; i < MI; ++i) {
      const float weight = p[i * ldp + t];
#pragma GCC unroll 8
      for (int v = 0; v < NV; ++v) acc[i][v] += weight * bv[v];
    }
  }
#pragma GCC unroll 8
  for (int i = 0; i < MI; ++i) {
#pragma GCC unroll 8
    for (int v = 0; v < NV; ++v) store<W>(c + i * ldc + v * W, acc[i][v]);
  }
}

template <int W, int MI, int NV>
[[gnu::always_inline]] inline void sums_rows_of_p(const float* p, int64_t ldp, const float* b, int64_t ldb, int64_t n,
                                                  int64_t k, float* c, int64_t ldc) {
  int64_t x = 0;
  for (; x + NV * W <= k; x += NV * W) sums_block<W, MI, NV>(p, ldp, b + x, ldb, n, c + x, ldc);
  for (; x + W <= k; x += W) sums_block<W, MI, 1>(p, ldp, b + x, ldb, n, c + x, ldc);
  for (; x < k; ++x) {  // columns past the last whole vector
    for (int i = 0; i < MI; ++i) {
      float s = c[i * ldc + x];
      for (int64_t t = 0; t < n; ++t) s += p[i * ldp + t] * b[t * ldb + x];
      c[i * ldc + x] = s;
    }
  }
}

// c[i·ldc + x] += Σ_t p[i·ldp + t]·b[t·ldb + x] for i < m, x < k.
template <int W, int MI, int NV>
[[gnu::always_inline]] inline void weighted_row_sums(const float* p, int64_t ldp, int64_t m, const float* b,
                                                     int64_t ldb, int64_t n, int64_t k, float* c, int64_t ldc) {
  int64_t i = 0;
  for (; i + MI <= m; i += MI) sums_rows_of_p<W, MI, NV>(p + i * ldp, ldp, b, ldb, n, k, c + i * ldc, ldc);
  for (; i < m; ++i) sums_rows_of_p<W, 1, NV>(p + i * ldp, ldp, b, ldb, n, k, c + i * ldc, ldc);
}

#pragma GCC diagnostic pop

}  // namespace dschat::row_products
