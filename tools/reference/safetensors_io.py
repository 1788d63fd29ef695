"""Minimal safetensors reader/writer (format: 8-byte little-endian header length, JSON header,
raw little-endian tensor data). Written here because the `safetensors` package is not available."""
import json
import struct

import numpy as np
import torch

_DTYPE_NAMES = {torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16",
                torch.float64: "F64", torch.int64: "I64", torch.int32: "I32"}
_NAMES_TO_DTYPE = {v: k for k, v in _DTYPE_NAMES.items()}
_ELEMENT_SIZE = {"F32": 4, "F16": 2, "BF16": 2, "F64": 8, "I64": 8, "I32": 4}


def _tensor_bytes(t: torch.Tensor) -> bytes:
    t = t.detach().contiguous().cpu()
    if t.dtype == torch.bfloat16:  # numpy has no bfloat16: reinterpret the bits
        return t.view(torch.int16).numpy().tobytes()
    return t.numpy().tobytes()


def save_file(tensors: dict, path: str, metadata: dict | None = None) -> None:
    """Writes name -> tensor in insertion order (data offsets relative to the end of the header),
    one tensor at a time so large checkpoints need no second copy in memory."""
    header = {"__metadata__": metadata or {"format": "pt"}}
    offset = 0
    for name, t in tensors.items():
        if t.dtype not in _DTYPE_NAMES:
            raise ValueError(f"{name}: unsupported dtype {t.dtype}")
        size = t.numel() * t.element_size()
        header[name] = {"dtype": _DTYPE_NAMES[t.dtype], "shape": list(t.shape),
                        "data_offsets": [offset, offset + size]}
        offset += size
    header_bytes = json.dumps(header, separators=(",", ":")).encode()
    header_bytes += b" " * ((8 - len(header_bytes) % 8) % 8)  # keep the data 8-byte aligned
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(header_bytes)))
        f.write(header_bytes)
        for t in tensors.values():
            f.write(_tensor_bytes(t))


def load_file(path: str) -> dict:
    """Reads every tensor of a safetensors file into torch tensors of the stored dtype."""
    with open(path, "rb") as f:
        raw = f.read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n])
    base = 8 + n
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        begin, end = info["data_offsets"]
        buf = raw[base + begin:base + end]
        dt = info["dtype"]
        if dt == "BF16":
            arr = np.frombuffer(buf, dtype=np.int16).copy()
            t = torch.from_numpy(arr).view(torch.bfloat16)
        else:
            np_dtype = {"F32": np.float32, "F16": np.float16, "F64": np.float64,
                        "I64": np.int64, "I32": np.int32}[dt]
            t = torch.from_numpy(np.frombuffer(buf, dtype=np_dtype).copy())
        out[name] = t.reshape(info["shape"])
    return out
