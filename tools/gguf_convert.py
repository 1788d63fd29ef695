#!/usr/bin/python3
"""llama.cpp's convert_hf_to_gguf.py run without `transformers` (tools/gguf_shim/transformers stands
in for it) on a deepseek2 model directory whose tokenizer the converter's pre-tokenizer detection
does not know.

The converter names the pre-tokenizer (tokenizer.ggml.pre) by hashing the ids its tokenizer gives
for a test text (get_vocab_base_pre) and refuses unknown hashes. The shim cannot encode text, so
get_vocab_base_pre is replaced by a function returning the name in $DSCHAT_GGUF_PRE (default
"deepseek-v3"): the small tokenizers of tools/make_gguf_goldens.py use DeepSeek-V3's pre-tokenizer
exactly, so that is the name llama.cpp would have written for them.

Usage: /usr/bin/python3 tools/gguf_convert.py [convert_hf_to_gguf.py arguments]
       (LLAMA_CPP=/work/llama.cpp by default)
"""
import os
import sys

here = os.path.dirname(os.path.abspath(__file__))
llama = os.environ.get("LLAMA_CPP", "/work/llama.cpp")
sys.path.insert(0, os.path.join(here, "gguf_shim"))
sys.path.insert(1, llama)
sys.path.insert(2, os.path.join(llama, "gguf-py"))

import torch  # noqa: E402

# This machine's torch predates the float8 dtypes, which the converter names in its dtype tables
# (used only for FP8 checkpoints): stand-ins that equal nothing else.
for _name in ("float8_e4m3fn", "float8_e5m2"):
    if not hasattr(torch, _name):
        setattr(torch, _name, type(_name, (), {})())

import conversion.base  # noqa: E402

PRE = os.environ.get("DSCHAT_GGUF_PRE", "deepseek-v3")
conversion.base.TextModel.get_vocab_base_pre = lambda self, tokenizer: PRE

import convert_hf_to_gguf  # noqa: E402

if __name__ == "__main__":
    sys.argv[0] = os.path.join(llama, "convert_hf_to_gguf.py")
    convert_hf_to_gguf.main()
