#!/usr/bin/python3
"""Golden data for dschat's GGUF block-type dequantization (tests/engine/quant/ggml_dequantize_test.cpp).

For each type, a few rows of random-but-valid blocks (random bytes; the fp16 scales d, dmin, m
overwritten with finite float16 values of moderate magnitude, both signs, one subnormal and one
zero among them) and gguf-py's numpy dequantization of them (gguf-py/gguf/quants.py, an
independent implementation). Run:

    PYTHONPATH=/work/llama.cpp/gguf-py /usr/bin/python3 tools/make_ggml_quant_goldens.py

It writes tests/data/quant/<TYPE>.bin, little-endian:
    char[4]  magic "DQG1"
    uint32   ggml type id (GGMLQuantizationType)
    uint32   rows
    uint32   cols                      (values per row, a whole number of blocks)
    uint32   row_bytes                 (bytes of one row of blocks)
    uint8    blocks[rows * row_bytes]  (the raw blocks, row after row)
    float32  values[rows * cols]       (gguf-py's dequantization)
"""
import os
import struct
import sys

import numpy as np
from gguf.constants import GGML_QUANT_SIZES, GGMLQuantizationType as T
from gguf.quants import dequantize

# Byte offsets of the fp16 fields in each block (ggml-common.h).
HALF_FIELDS = {
    T.Q4_1: [0, 2], T.Q5_0: [0], T.Q5_1: [0, 2], T.IQ4_NL: [0],
    T.Q2_K: [80, 82], T.Q3_K: [108], T.Q4_K: [0, 2], T.Q5_K: [0, 2], T.Q6_K: [208], T.IQ4_XS: [0],
}
ROWS = 3


def make(qtype, rng):
    block_values, block_bytes = GGML_QUANT_SIZES[qtype]
    blocks_per_row = 4 if block_values == 32 else 2
    n_blocks = ROWS * blocks_per_row
    raw = rng.integers(0, 256, size=(n_blocks, block_bytes), dtype=np.uint8)
    for off in HALF_FIELDS[qtype]:
        mag = np.exp(rng.uniform(np.log(1e-4), np.log(0.5), size=n_blocks))
        sign = np.where(rng.random(n_blocks) < 0.5, -1.0, 1.0)
        halves = (sign * mag).astype(np.float16)
        halves[1] = np.float16(3e-6)  # subnormal
        halves[2] = np.float16(0.0) if off == HALF_FIELDS[qtype][-1] else halves[2]
        raw[:, off:off + 2] = halves.view(np.uint8).reshape(n_blocks, 2)
    rows = raw.reshape(ROWS, blocks_per_row * block_bytes)
    values = dequantize(rows, qtype).astype(np.float32)
    assert values.shape == (ROWS, blocks_per_row * block_values) and np.isfinite(values).all()
    return rows, values


def main():
    out_dir = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "data", "quant")
    os.makedirs(out_dir, exist_ok=True)
    rng = np.random.default_rng(20261203)
    for qtype in HALF_FIELDS:
        rows, values = make(qtype, rng)
        path = os.path.join(out_dir, f"{qtype.name}.bin")
        with open(path, "wb") as f:
            f.write(b"DQG1")
            f.write(struct.pack("<4I", int(qtype), rows.shape[0], values.shape[1], rows.shape[1]))
            f.write(rows.tobytes())
            f.write(values.astype("<f4").tobytes())
        print(path, os.path.getsize(path), "bytes", file=sys.stderr)


if __name__ == "__main__":
    main()
