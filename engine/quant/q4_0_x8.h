// Q4_0 with its rows interleaved in groups of eight ("Q4_0x8"): a layout made at load for the
// GEMV (weight_conversion.h), never read from or written to a file. The same 18 bytes per 32
// weights as Q4_0, reordered so that one 32-byte vector holds a slice of the same block of eight
// rows: a GEMV then sums each row in its own 32-bit lane and scales eight rows with one multiply
// (engine/ops/q4_0_x8_avx2.cpp), instead of a horizontal reduction and a scale per row.
//
// A matrix of R rows (R a multiple of 8) is R/8 groups, group g at byte g·8·row_bytes. Within a
// group, block b (weights 32b .. 32b+31 of each row) is 144 bytes at b·144:
//   bytes [0, 16)        the fp16 scale d of rows 0..7
//   bytes [16 + 32k, 48 + 32k), k = 0..3: for each row r, 4 bytes at 4r: qs[4k .. 4k+3] of row
//                        r's Q4_0 block (low nibble: weight 4k+j, high nibble: weight 16+4k+j)
// The nibbles keep Q4_0's meaning: weight = d · (q − 8).
#pragma once

#include <cstddef>
#include <cstdint>

#include "engine/quant/quantize.h"

namespace dschat {

constexpr int64_t kQ4_0x8Rows = 8;
constexpr size_t kQ4_0x8BlockBytes = kQ4_0x8Rows * sizeof(BlockQ4_0);  // 144

// Interleaves eight Q4_0 rows of `blocks` blocks each (rows[r] points at row r) into one group.
void interleave_q4_0_rows(const BlockQ4_0* const rows[kQ4_0x8Rows], int64_t blocks, std::byte* group);
// Row `lane` of a group as plain Q4_0 blocks (the inverse of interleave_q4_0_rows).
void q4_0_x8_row(const std::byte* group, int64_t lane, int64_t blocks, BlockQ4_0* out);

}  // namespace dschat
