"""The few names of Hugging Face `transformers` that llama.cpp's convert_hf_to_gguf.py imports for a
deepseek2 model with a byte-level BPE tokenizer.json (transformers is not installed here). Put this
directory first on PYTHONPATH; tools/make_gguf_goldens.py does.

  (tqdm.py: the silent progress bar gguf-py's writer imports.)
  AutoConfig.from_pretrained   raises: the converter then reads config.json itself (its fallback).
  AutoTokenizer.from_pretrained  a tokenizer read from tokenizer.json + tokenizer_config.json with
      .vocab / get_vocab() (model vocabulary and added tokens), get_added_vocab(),
      added_tokens_decoder {id: AddedToken}, and encode/decode for added tokens only: the converter
      uses them to re-normalise added tokens (decode(encode(t)) == t for an added token) and to
      hash a test text for the pre-tokenizer name, which tools/gguf_convert.py replaces by a fixed
      name instead (see there).
"""
import json
import os


class AddedToken:
    def __init__(self, entry: dict):
        self.content = entry["content"]
        self.special = bool(entry.get("special", False))
        self.normalized = bool(entry.get("normalized", not self.special))
        self.lstrip = bool(entry.get("lstrip", False))
        self.rstrip = bool(entry.get("rstrip", False))
        self.single_word = bool(entry.get("single_word", False))

    def __str__(self):
        return self.content


class _Tokenizer:
    def __init__(self, model_dir: str):
        with open(os.path.join(model_dir, "tokenizer.json"), encoding="utf-8") as f:
            data = json.load(f)
        model = data["model"]
        if model.get("type") != "BPE":
            raise NotImplementedError("shim: only BPE tokenizer.json files")
        self._vocab = dict(model["vocab"])
        self.added_tokens_decoder = {}
        for entry in data.get("added_tokens", []):
            self.added_tokens_decoder[int(entry["id"])] = AddedToken(entry)
            self._vocab.setdefault(entry["content"], int(entry["id"]))
        self._by_id = {i: t for t, i in self._vocab.items()}
        config_path = os.path.join(model_dir, "tokenizer_config.json")
        self._config = {}
        if os.path.exists(config_path):
            with open(config_path, encoding="utf-8") as f:
                self._config = json.load(f)
        self.add_bos_token = bool(self._config.get("add_bos_token", False))

    @property
    def vocab(self) -> dict:
        return dict(self._vocab)

    def get_vocab(self) -> dict:
        return dict(self._vocab)

    def get_added_vocab(self) -> dict:
        return {t.content: i for i, t in self.added_tokens_decoder.items()}

    def encode(self, text: str, add_special_tokens: bool = True) -> list:
        for i, t in self.added_tokens_decoder.items():
            if t.content == text:
                return [i]
        raise NotImplementedError("shim: encode() of text other than one added token")

    def decode(self, ids, **kwargs) -> str:
        return "".join(self._by_id[i] for i in ids)


class AutoTokenizer:
    @staticmethod
    def from_pretrained(model_dir, **kwargs):
        return _Tokenizer(str(model_dir))


class AutoConfig:
    @staticmethod
    def from_pretrained(model_dir, **kwargs):
        raise NotImplementedError("shim: no AutoConfig; the converter falls back to config.json")
