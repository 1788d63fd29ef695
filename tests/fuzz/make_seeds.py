#!/usr/bin/python3
"""Writes the seed corpora of tests/fuzz/corpus/<target>/: small valid inputs and near-valid
variants (truncated, a lying size, a wrong type) for each fuzz target. Inputs come from the
project's own test data where it exists. Run from anywhere: /usr/bin/python3 tests/fuzz/make_seeds.py
"""
import io
import json
import os
import struct
import zipfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CORPUS = os.path.join(ROOT, "tests", "fuzz", "corpus")


def put(target, name, data):
    d = os.path.join(CORPUS, target)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode("utf-8")
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def safetensors(tensors, metadata=None, pad=0):
    """tensors: list of (name, dtype, shape, nbytes). Returns file bytes with zero data."""
    header, offset = {}, 0
    for name, dtype, shape, nbytes in tensors:
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [offset, offset + nbytes]}
        offset += nbytes
    if metadata is not None:
        header["__metadata__"] = metadata
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * pad
    return struct.pack("<Q", len(text)) + text + bytes(offset)


def safetensors_seeds():
    t = "safetensors_header"
    put(t, "valid_f32", safetensors([("w", "F32", [2, 3], 24)], {"format": "pt"}))
    put(t, "valid_mixed", safetensors([("a", "BF16", [4], 8), ("b", "F16", [2, 2], 8), ("c", "I64", [1], 8),
                                       ("d", "U8", [3], 3), ("e", "F32", [], 4), ("f", "F32", [0, 5], 0)]))
    put(t, "padded_header", safetensors([("x", "F32", [1], 4)], pad=7))
    good = safetensors([("w", "F32", [2, 3], 24)])
    put(t, "truncated_data", good[:-5])
    put(t, "truncated_header", good[:20])
    put(t, "length_lies", struct.pack("<Q", 10 ** 6) + good[8:])
    put(t, "offsets_overlap", safetensors([("a", "F32", [2], 8)])[:8] + b"")
    over = {"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
            "b": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]}}
    text = json.dumps(over).encode()
    put(t, "overlapping", struct.pack("<Q", len(text)) + text + bytes(12))
    huge = {"a": {"dtype": "F32", "shape": [2 ** 40, 2 ** 40], "data_offsets": [0, 8]}}
    text = json.dumps(huge).encode()
    put(t, "shape_overflow", struct.pack("<Q", len(text)) + text + bytes(8))
    # A real header (the f16 test model) with its data region cut off: near-valid, many names.
    with open(os.path.join(ROOT, "tests/data/engine/f16/model/model.safetensors"), "rb") as f:
        real = f.read()
    n = struct.unpack("<Q", real[:8])[0]
    put(t, "real_header_no_data", real[:8 + n])

    t = "safetensors_index"
    put(t, "valid", json.dumps({"metadata": {"total_size": 16}, "weight_map": {"a": "a.safetensors", "b": "b.safetensors"}}))
    put(t, "wrong_shard", json.dumps({"weight_map": {"a": "b.safetensors", "b": "b.safetensors"}}))
    put(t, "missing_shard", json.dumps({"weight_map": {"a": "c.safetensors"}}))
    put(t, "escaping_path", json.dumps({"weight_map": {"a": "../a.safetensors", "b": "/etc/passwd"}}))
    put(t, "unlisted", json.dumps({"weight_map": {"a": "a.safetensors"}}))
    put(t, "not_object", '{"weight_map": ["a.safetensors"]}')
    with open(os.path.join(ROOT, "tests/data/engine/sharded/model/model.safetensors.index.json"), "rb") as f:
        put(t, "real_index", f.read())


def config_seeds():
    t = "model_config"
    for case in ["f16", "yarn", "qlora_sigmoid_groups", "tied_embeddings", "mlx_layout"]:
        with open(os.path.join(ROOT, "tests/data/engine", case, "model/config.json"), "rb") as f:
            put(t, case, f.read())
    with open(os.path.join(ROOT, "assets/model/config.json"), "rb") as f:
        put(t, "bundled", f.read())
    put(t, "empty_object", "{}")
    put(t, "wrong_types", '{"hidden_size": "64", "num_attention_heads": -1, "rope_scaling": {"type": "yarn", "factor": 0}}')
    put(t, "nulls", '{"q_lora_rank": null, "eos_token_id": [1, 2], "bos_token_id": null}')


def tokenizer_seeds():
    t = "tokenizer_json"
    vocab = {"<|endoftext|>": 0}
    for i, ch in enumerate("abcdeHlorwĠ!0123"):
        vocab[ch] = i + 1
    vocab["He"] = len(vocab)
    vocab["ll"] = len(vocab)
    vocab["Ġw"] = len(vocab)
    tiny = {
        "version": "1.0",
        "added_tokens": [{"id": 0, "content": "<|endoftext|>", "single_word": False, "lstrip": False,
                          "rstrip": False, "normalized": False, "special": True}],
        "normalizer": None,
        "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True},
        "post_processor": None,
        "decoder": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True},
        "model": {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": "",
                  "end_of_word_suffix": "", "fuse_unk": False, "byte_fallback": False,
                  "vocab": vocab, "merges": ["H e", "l l", "Ġ w"]},
    }
    put(t, "tiny_gpt2_like", json.dumps(tiny))
    nfc = dict(tiny, normalizer={"type": "NFC"})
    put(t, "tiny_nfc", json.dumps(nfc))
    split = dict(tiny, pre_tokenizer={"type": "Sequence", "pretokenizers": [
        {"type": "Split", "pattern": {"Regex": "\\p{N}{1,3}"}, "behavior": "Isolated", "invert": False},
        {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": False}]})
    put(t, "tiny_split_regex", json.dumps(split))
    pairs = dict(tiny)
    pairs["model"] = dict(tiny["model"], merges=[["H", "e"], ["l", "l"]])
    put(t, "tiny_merge_pairs", json.dumps(pairs))
    put(t, "bad_merge", json.dumps(dict(tiny, model=dict(tiny["model"], merges=["H e", "zz qq"]))))
    put(t, "bad_regex", json.dumps(dict(tiny, pre_tokenizer={"type": "Split", "pattern": {"Regex": "(("},
                                                             "behavior": "Isolated", "invert": False})))
    put(t, "not_bpe", json.dumps(dict(tiny, model={"type": "WordPiece", "vocab": vocab})))

    t = "tokenizer_encode"
    # The first byte selects parse_special (odd = on).
    for i, text in enumerate(["Hello world!", " In the beginning God created the heaven and the earth.\n",
                              "<|endoftext|>", "caf\u00e9 \u65e5\u672c\u8a9e \U0001F600 123456 don't  \t\n\n",
                              "    indented\r\ncode()", ""]):
        put(t, "text%d" % i, b"\x00" + text.encode())
        put(t, "special%d" % i, b"\x01" + text.encode())
    put(t, "invalid_utf8", b"\x00ab\xff\xfecd\xc3")
    put(t, "overlong", b"\x00\xc0\xaf\xed\xa0\x80")
    with open(os.path.join(ROOT, "tests/data/tokenizer/corpus.jsonl"), encoding="utf-8") as f:
        for i, line in enumerate(f):
            if i >= 12:
                break
            try:
                text = json.loads(line)
                text = text.get("text", "") if isinstance(text, dict) else str(text)
            except ValueError:
                continue
            put(t, "corpus%d" % i, b"\x00" + text.encode("utf-8", "surrogatepass")[:2000])


def conversation_seeds():
    t = "conversation"
    conv = {
        "format": "dschat-conversation", "version": 1, "id": "20261122-100000-3fa9",
        "created": "2026-11-22T10:00:00Z", "updated": "2026-11-22T10:01:00Z",
        "model": {"path": "/models/x", "name": "x"}, "system": "Be brief.",
        "sampling": {"temperature": 0.7, "top_k": 40, "top_p": 0.9, "min_p": 0.0, "repeat_penalty": 1.1,
                     "repeat_last_n": 64, "seed": 42},
        "messages": [
            {"role": "user", "content": "Hi", "time": "2026-11-22T10:00:30Z"},
            {"role": "assistant", "content": "Hello!", "time": "2026-11-22T10:00:31Z",
             "stats": {"tokens": 3, "tokens_per_second": 12.5, "stop": "eos"}},
            {"role": "user", "content": "More \u00e9 \n\t", "time": "2026-11-22T10:00:40Z"},
            {"role": "assistant", "content": "Par", "time": "2026-11-22T10:00:41Z", "interrupted": True},
        ],
    }
    put(t, "valid", json.dumps(conv, indent=2))
    put(t, "no_messages", json.dumps(dict(conv, messages=[])))
    put(t, "bad_role", json.dumps(dict(conv, messages=[{"role": "tool", "content": "x"}])))
    put(t, "not_json", "{\"format\": ")
    put(t, "array", "[]")
    put(t, "id_with_path", json.dumps(dict(conv, id="../../escape")))
    put(t, "version_2", json.dumps(dict(conv, version=2)))
    # Files written by the conversation store itself, when its tests left examples.
    for dirpath, _, files in os.walk(os.path.join(ROOT, "tests", "data")):
        for name in files:
            if "conversation" in name and name.endswith(".json"):
                with open(os.path.join(dirpath, name), "rb") as f:
                    put(t, "data_" + name, f.read())


def pt_seeds():
    small = []
    for dirpath, _, files in os.walk(os.path.join(ROOT, "tests/data/pt")):
        for name in sorted(files):
            path = os.path.join(dirpath, name)
            if name.endswith(".pt") and os.path.getsize(path) < 64 * 1024:
                small.append(path)
    for path in small:
        label = os.path.basename(os.path.dirname(path)) + "_" + os.path.basename(path)
        with open(path, "rb") as f:
            data = f.read()
        put("pt_zip", label, data)
        put("pt_checkpoint", label, data)
        with zipfile.ZipFile(path) as z:
            for info in z.infolist():
                if info.filename.endswith("data.pkl") and info.compress_type == zipfile.ZIP_STORED:
                    put("pickle", label.replace(".pt", ".pkl"), z.read(info))
        put("pt_zip", "truncated_" + label, data[: len(data) * 2 // 3])
        put("pt_checkpoint", "truncated_" + label, data[: len(data) - 30])
    # A zip64 archive with a tiny entry (zipfile writes zip64 extras when forced).
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as z:
        with z.open("archive/data.pkl", "w", force_zip64=True) as f:
            f.write(b"\x80\x02}q\x00.")
        z.writestr("archive/version", "3\n")
    put("pt_zip", "zip64_entry", buf.getvalue())
    put("pt_checkpoint", "zip64_entry", buf.getvalue())
    # Plain pickles of data (protocols 2 and 4) built by hand, no torch needed.
    put("pickle", "empty_dict_p2", b"\x80\x02}q\x00.")
    put("pickle", "nested_p2", b"\x80\x02}q\x00(X\x01\x00\x00\x00aq\x01K\x01X\x01\x00\x00\x00bq\x02]q\x03(G?\xf0\x00\x00\x00\x00\x00\x00\x88N\x86q\x04eu.")
    put("pickle", "global_os_system", b"\x80\x02cos\nsystem\nq\x00X\x02\x00\x00\x00idq\x01\x85q\x02Rq\x03.")
    put("pickle", "memo_cycle", b"\x80\x02]q\x00h\x00a.")
    put("pickle", "p4_frame", b"\x80\x04\x95\x0b\x00\x00\x00\x00\x00\x00\x00}\x94\x8c\x01a\x94K\x01s.")


def chat_command_seeds():
    t = "chat_command"
    lines = ["hello", "/help", "/? set", "/set parameter temperature 0.7", "/set parameter top_k -1",
             "/set system You are terse.\nSecond line.", "/show info", "/show parameters", "/clear", "/regen",
             "/undo", "/save", "/save ~/x.json", "/load conv.json", "/export md out.md", "/export json",
             "/stats on", "/stats maybe", "/bye", "/exit", "//not a command", "/unknown arg", "   /help   ", "/"]
    for i, line in enumerate(lines):
        put(t, "line%02d" % i, line)


def openai_request_seeds():
    t = "openai_request"
    chat = [
        {"model": "m", "messages": [{"role": "user", "content": "hi"}]},
        {"messages": [{"role": "system", "content": "s"}, {"role": "user", "content": "a"},
                      {"role": "assistant", "content": [{"type": "text", "text": "b"}]},
                      {"role": "user", "content": "c", "name": "n"}],
         "temperature": 0.2, "top_p": 0.9, "top_k": 40, "seed": 5, "max_tokens": 8, "stop": ["\n", "x"],
         "stream": True, "stream_options": {"include_usage": True}, "n": 1, "user": "u"},
        {"messages": [{"role": "tool", "content": "x"}]},
        {"messages": [{"role": "user", "content": [{"type": "image_url"}]}]},
        {"messages": []},
    ]
    for i, body in enumerate(chat):
        put(t, "chat%02d" % i, b"\x00" + json.dumps(body).encode())
    text = [{"prompt": "Once", "max_tokens": 3, "stop": "."}, {"prompt": "a", "seed": -1, "max_completion_tokens": 1},
            {"prompt": ["a"]}, {"prompt": "a", "temperature": "hot"}]
    for i, body in enumerate(text):
        put(t, "text%02d" % i, b"\x01" + json.dumps(body).encode())
    put(t, "not_json", b"\x00{\"messages\":")
def sse_stream_seeds():
    t = "sse_stream"

    def chunk(delta, finish=None, usage=None, choices=True):
        c = {"id": "c", "object": "chat.completion.chunk", "model": "m"}
        c["choices"] = [{"index": 0, "delta": delta, "finish_reason": finish}] if choices else None
        if usage is not None:
            c["usage"] = usage
        return "data: " + json.dumps(c) + "\n\n"

    normal = (chunk({"role": "assistant", "content": ""}) + chunk({"content": "Hel"}) + ": ping\n\n" +
              chunk({"content": "lo"}) + chunk({}, "stop") +
              chunk({}, usage={"prompt_tokens": 5, "completion_tokens": 2}, choices=False) + "data: [DONE]\n\n")
    put(t, "normal", normal)
    put(t, "crlf", normal.replace("\n", "\r\n"))
    put(t, "cr", normal.replace("\n", "\r"))
    put(t, "reasoning", chunk({"reasoning_content": "think"}) + chunk({"reasoning": "more"}) +
        chunk({"content": "answer"}, "stop") + "data: [DONE]\n\n")
    put(t, "no_space_no_done", normal.replace("data: ", "data:").replace("data:[DONE]\n\n", ""))
    put(t, "error_event", 'data: {"error": {"message": "boom", "code": 500}}\n\n')
    put(t, "multiline_data", 'data: {"choices": [{"delta":\ndata: {"content": "x"}}]}\n\n')
    put(t, "bad_json", 'data: {"choices": [\n\n')
    put(t, "wrong_types", 'data: {"choices": [{"delta": {"content": 5}, "finish_reason": 1}], "usage": [1]}\n\n')
    put(t, "fields", "event: message\nid: 1\nretry: 100\ndata\n\n:comment\n\n")


def gguf(kvs, tensors, version=3, alignment=32, data=None):
    """kvs: list of (key, type id, packed value bytes); tensors: list of (name, ne, ggml type, offset).
    Returns GGUF file bytes (header, padding, then `data` or zeros covering the tensors)."""
    def string(x):
        b = x.encode("utf-8")
        return struct.pack("<Q", len(b)) + b
    out = b"GGUF" + struct.pack("<IQQ", version, len(tensors), len(kvs))
    for key, vtype, value in kvs:
        out += string(key) + struct.pack("<I", vtype) + value
    for name, ne, ttype, offset in tensors:
        out += string(name) + struct.pack("<I", len(ne)) + b"".join(struct.pack("<Q", n) for n in ne)
        out += struct.pack("<IQ", ttype, offset)
    out += bytes((-len(out)) % alignment)
    return out + (data if data is not None else bytes(256))


def gguf_seeds():
    t = "gguf_file"
    def s(x):
        b = x.encode("utf-8")
        return struct.pack("<Q", len(b)) + b
    def arr(elem, items):
        return struct.pack("<IQ", elem, len(items)) + b"".join(items)
    kvs = [("general.architecture", 8, s("deepseek2")), ("general.alignment", 4, struct.pack("<I", 32)),
           ("u8", 0, b"\x07"), ("i8", 1, b"\xff"), ("u16", 2, struct.pack("<H", 9)), ("i16", 3, struct.pack("<h", -9)),
           ("i32", 5, struct.pack("<i", -3)), ("f32", 6, struct.pack("<f", 0.5)), ("bool", 7, b"\x01"),
           ("u64", 10, struct.pack("<Q", 1 << 40)), ("i64", 11, struct.pack("<q", -5)), ("f64", 12, struct.pack("<d", 2.5)),
           ("tokenizer.ggml.tokens", 9, arr(8, [s("a"), s("b"), s("ab")])),
           ("tokenizer.ggml.token_type", 9, arr(5, [struct.pack("<i", 1)] * 3)),
           ("nested", 9, arr(9, [arr(4, [struct.pack("<I", 1), struct.pack("<I", 2)]), arr(8, [s("x")])]))]
    tensors = [("token_embd.weight", [32, 2], 0, 0), ("blk.0.attn_q.weight", [32, 2], 8, 256),
               ("blk.0.ffn_down.weight", [32, 1], 2, 352)]
    valid = gguf(kvs, tensors, data=bytes(512))
    put(t, "valid_v3", valid)
    put(t, "valid_v2", gguf(kvs[:3], tensors[:1], version=2))
    put(t, "truncated_header", valid[:200])
    put(t, "truncated_data", valid[:-300])
    put(t, "huge_tensor_count", b"GGUF" + struct.pack("<IQQ", 3, 1 << 62, 0))
    put(t, "huge_kv_count", b"GGUF" + struct.pack("<IQQ", 3, 0, 1 << 62))
    put(t, "huge_string", gguf([("k", 8, struct.pack("<Q", 1 << 60))], []))
    put(t, "huge_array", gguf([("k", 9, struct.pack("<IQ", 4, 1 << 61))], []))
    put(t, "bad_offset", gguf(kvs[:1], [("w", [32, 2], 0, 1 << 40)]))
    put(t, "misaligned_offset", gguf(kvs[:1], [("w", [32, 2], 0, 4)]))
    put(t, "unknown_type", gguf(kvs[:1], [("w", [32, 2], 99, 0)]))
    put(t, "huge_dims", gguf(kvs[:1], [("w", [1 << 40, 1 << 40], 0, 0)]))
    put(t, "overlap", gguf(kvs[:1], [("a", [32], 0, 0), ("b", [32], 0, 64)]))
    put(t, "bad_alignment", gguf([("general.alignment", 4, struct.pack("<I", 3))], []))
    put(t, "version1", b"GGUF" + struct.pack("<IQQ", 1, 0, 0))


def depth_and_size_seeds():
    """Inputs at the bounds of common/json_limits.h (256 levels of JSON nesting) and of
    tokenizer/sequence_depth.h (64 nested Sequence steps), one level inside and one past each, and
    one large flat value per JSON target, so the fuzzers start next to the limits (run.sh gives
    each target a -max_len that fits them) instead of at libFuzzer's 4 KB default."""
    def nested(levels):
        return "[" * levels + "]" * levels

    def sequence(levels):
        node = {"type": "Lowercase"}
        for _ in range(levels):
            node = {"type": "Sequence", "normalizers": [node]}
        return node

    def header(text):
        data = text.encode("utf-8")
        return struct.pack("<Q", len(data)) + data

    big = "x" * 32768
    for levels in (255, 257):
        put("model_config", "depth_%d" % levels, '{"hidden_size": 64, "rope_scaling": %s}' % nested(levels))
        put("safetensors_index", "depth_%d" % levels, '{"metadata": %s, "weight_map": {}}' % nested(levels))
        put("safetensors_header", "depth_%d" % levels,
            header('{"a": {"dtype": "F32", "shape": %s, "data_offsets": [0, 0]}}' % nested(levels)))
        put("conversation", "depth_%d" % levels,
            '{"format": "dschat-conversation", "version": 1, "messages": [{"role": "user", "content": %s}]}'
            % nested(levels - 3))
        put("tokenizer_json", "depth_%d" % levels,
            '{"model": {"type": "BPE", "vocab": {}, "merges": []}, "added_tokens": %s}' % nested(levels))
    for levels in (63, 64, 65):
        put("tokenizer_json", "sequence_%d" % levels,
            json.dumps({"model": {"type": "BPE", "vocab": {"a": 0}, "merges": []}, "normalizer": sequence(levels)}))
    put("model_config", "large_value", json.dumps({"hidden_size": 64, "model_type": big}))
    put("safetensors_index", "large_value", json.dumps({"metadata": {"k": big}, "weight_map": {}}))
    put("safetensors_header", "large_value", header(json.dumps({"__metadata__": {"k": big}})))
    put("conversation", "large_value", json.dumps(
        {"format": "dschat-conversation", "version": 1, "messages": [{"role": "user", "content": big}]}))
    put("tokenizer_json", "large_value", json.dumps(
        {"model": {"type": "BPE", "vocab": {big: 0}, "merges": []}}))
    put("tokenizer_encode", "long_run", "a" * 32768 + "b")


if __name__ == "__main__":
    gguf_seeds()
    safetensors_seeds()
    config_seeds()
    tokenizer_seeds()
    conversation_seeds()
    pt_seeds()
    chat_command_seeds()
    openai_request_seeds()
    sse_stream_seeds()
    depth_and_size_seeds()
