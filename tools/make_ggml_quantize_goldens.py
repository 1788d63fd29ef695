#!/usr/bin/python3
"""Golden data for dschat's K-quant quantizers (tests/engine/quant/ggml_quantize_test.cpp):
float rows and what llama.cpp's reference quantizers (quantize_row_q{4,5,6}_K_ref) make of them.
gguf-py has no K-quant quantizer, so this links tools/ggml_quantize_reference/main.c against the
built libggml-base.a of a llama.cpp checkout. Run:

    /usr/bin/python3 tools/make_ggml_quantize_goldens.py [/work/llama.cpp]

It writes tests/data/quant/quantize_<TYPE>.bin, little-endian:
    char[4]  magic "DQQ1"
    uint32   ggml type id, rows, cols, row_bytes
    float32  values[rows * cols]       (the input rows)
    uint8    blocks[rows * row_bytes]  (ggml's quantization of them)
"""
import os
import struct
import subprocess
import sys
import tempfile

import numpy as np

TYPES = {"Q4_K": (12, 144), "Q5_K": (13, 176), "Q6_K": (14, 210)}
COLS = 512


def rows(rng):
    out = [rng.normal(0, 0.02, COLS) for _ in range(4)]            # typical weights
    r = rng.normal(0, 0.02, COLS)
    r[rng.integers(0, COLS, 6)] *= 25                              # outliers
    out.append(r)
    out.append(rng.uniform(0.1, 1.0, COLS))                        # all positive: no offset
    r = np.zeros(COLS)
    r[256:] = rng.normal(0, 1e-3, 256)
    r[300:332] = 0.5                                               # a constant sub-block
    out.append(r)                                                  # a zero super-block
    out.append(rng.laplace(0, 0.05, COLS))                         # heavy tails
    return np.array(out, dtype=np.float32)


def main():
    llama = sys.argv[1] if len(sys.argv) > 1 else "/work/llama.cpp"
    here = os.path.dirname(os.path.abspath(__file__))
    out_dir = os.path.join(here, "..", "tests", "data", "quant")
    with tempfile.TemporaryDirectory() as tmp:
        exe = os.path.join(tmp, "ggml_quantize_reference")
        subprocess.run(["g++", "-x", "c", os.path.join(here, "ggml_quantize_reference", "main.c"), "-x", "none",
                        os.path.join(llama, "build", "ggml", "src", "libggml-base.a"), "-fopenmp", "-lm", "-lpthread", "-o", exe],
                       check=True)
        x = rows(np.random.default_rng(1203))
        for name, (type_id, block_bytes) in TYPES.items():
            stdin = struct.pack("<3I", type_id, x.shape[0], COLS) + x.astype("<f4").tobytes()
            blocks = subprocess.run([exe], input=stdin, capture_output=True, check=True).stdout
            row_bytes = COLS // 256 * block_bytes
            assert len(blocks) == x.shape[0] * row_bytes
            path = os.path.join(out_dir, f"quantize_{name}.bin")
            with open(path, "wb") as f:
                f.write(b"DQQ1" + struct.pack("<4I", type_id, x.shape[0], COLS, row_bytes))
                f.write(x.astype("<f4").tobytes())
                f.write(blocks)
            print(path, os.path.getsize(path), "bytes", file=sys.stderr)


if __name__ == "__main__":
    main()
