#!/usr/bin/python3
"""Writes hostile and broken .pt files for the unpickler tests (tests/data/pt/hostile/).

The pickles are written opcode by opcode and never loaded here or anywhere: loading one with
Python's pickle would run the command. Each file is a PyTorch-style zip (stored entries,
`archive/data.pkl`, `archive/version`) whose data.pkl is the hostile stream, so the C++ test
exercises the whole .pt path. manifest.json maps each file to a fragment the error must contain.
"""
import json
import pathlib
import struct
import zipfile

ROOT = pathlib.Path(__file__).resolve().parent.parent.parent
OUT = ROOT / "tests" / "data" / "pt" / "hostile"

PROTO2 = b"\x80\x02"


def unicode(s):      # BINUNICODE
    b = s.encode()
    return b"X" + struct.pack("<I", len(b)) + b


def short_unicode(s):  # SHORT_BINUNICODE (protocol 4)
    b = s.encode()
    return b"\x8c" + bytes([len(b)]) + b


def glob(module, name):  # GLOBAL
    return b"c" + module.encode() + b"\n" + name.encode() + b"\n"


def call(module, name, *args):
    """module.name(*args) via GLOBAL, MARK, args, TUPLE, REDUCE."""
    return glob(module, name) + b"(" + b"".join(args) + b"tR"


def state_dict_with(value):
    """{'weight': <value>} as an OrderedDict, the way torch.save writes a state dict."""
    return glob("collections", "OrderedDict") + b")R" + unicode("weight") + value + b"s"


CASES = {
    "os_system": (PROTO2 + call("os", "system", unicode("echo pwned > /tmp/dschat_pwned")) + b".", "os.system"),
    "posix_system": (PROTO2 + call("posix", "system", unicode("echo pwned")) + b".", "posix.system"),
    "builtins_eval": (PROTO2 + call("builtins", "eval", unicode("__import__('os')")) + b".", "builtins.eval"),
    "builtins_getattr": (PROTO2 + call("builtins", "getattr", glob("collections", "OrderedDict"),
                                       unicode("fromkeys")) + b".", "builtins.getattr"),
    "subprocess_popen": (PROTO2 + call("subprocess", "Popen", b"]" + unicode("sh") + b"a") + b".",
                         "subprocess.Popen"),
    "unknown_reduce": (PROTO2 + call("model", "make_config", unicode("x")) + b".", "model.make_config"),
    "stack_global_os": (b"\x80\x04" + short_unicode("os") + short_unicode("system") + b"\x93"
                        + b"(" + short_unicode("id") + b"tR.", "os.system"),
    "nested_in_state_dict": (PROTO2 + state_dict_with(call("os", "system", unicode("id"))) + b".", "os.system"),
    "storage_type_os": (PROTO2 + glob("torch._utils", "_rebuild_tensor_v2") + b"((" + unicode("storage")
                        + glob("os", "system") + unicode("0") + unicode("cpu") + b"K\x04tQK\x00K\x04\x85K\x01\x85"
                        + b"\x89" + glob("collections", "OrderedDict") + b")RtR.", "os.system"),
    "unknown_opcode": (PROTO2 + b"}\xff.", "opcode"),
    "no_stop": (PROTO2 + b"}", "STOP"),
}


def write_pt(path, pickle_bytes, compress=zipfile.ZIP_STORED):
    with zipfile.ZipFile(path, "w", compression=compress) as z:
        z.writestr("archive/data.pkl", pickle_bytes)
        z.writestr("archive/version", "3\n")


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    manifest = {}
    for name, (stream, fragment) in CASES.items():
        write_pt(OUT / f"{name}.pt", stream)
        manifest[f"{name}.pt"] = fragment
    # A well-formed state dict whose data.pkl is deflated: compression is not supported.
    write_pt(OUT / "compressed.pt", PROTO2 + glob("collections", "OrderedDict") + b")R.", zipfile.ZIP_DEFLATED)
    manifest["compressed.pt"] = "compressed"
    (OUT / "manifest.json").write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n")
    print(f"wrote {len(manifest)} files to {OUT}")


if __name__ == "__main__":
    main()
