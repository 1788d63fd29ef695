"""Model directories in the layouts the engine loads: Hugging Face single file, Hugging Face
sharded (model.safetensors.index.json), and MLX (weights.safetensors, experts stacked as
mlp.switch_mlp.{gate,up,down}_proj.weight [E, out, in])."""
import json
import os
import re

import torch

from .deepseek_v3 import DeepseekV3Config
from .safetensors_io import load_file, save_file

_EXPERT = re.compile(r"^(model\.layers\.\d+\.mlp)\.experts\.(\d+)\.(gate_proj|up_proj|down_proj)\.weight$")
_STACKED = re.compile(r"^(model\.layers\.\d+\.mlp)\.switch_mlp\.(gate_proj|up_proj|down_proj)\.weight$")


def to_mlx(tensors: dict) -> dict:
    """HF per-expert tensors -> MLX stacked switch_mlp tensors (other names unchanged)."""
    out, stacks = {}, {}
    for name, t in tensors.items():
        m = _EXPERT.match(name)
        if m:
            stacks.setdefault((m.group(1), m.group(3)), {})[int(m.group(2))] = t
        else:
            out[name] = t
    for (prefix, proj), experts in stacks.items():
        out[f"{prefix}.switch_mlp.{proj}.weight"] = torch.stack([experts[e] for e in range(len(experts))])
    return out


def from_mlx(tensors: dict) -> dict:
    """MLX stacked tensors -> HF per-expert names."""
    out = {}
    for name, t in tensors.items():
        m = _STACKED.match(name)
        if m:
            for e in range(t.shape[0]):
                out[f"{m.group(1)}.experts.{e}.{m.group(2)}.weight"] = t[e].clone()
        else:
            out[name] = t
    return out


def write_model_dir(model_dir: str, config: dict, tensors: dict, layout: str = "hf_single",
                    n_shards: int = 2) -> None:
    os.makedirs(model_dir, exist_ok=True)
    with open(os.path.join(model_dir, "config.json"), "w") as f:
        json.dump(config, f, indent=2)
        f.write("\n")
    if layout == "hf_single":
        save_file(tensors, os.path.join(model_dir, "model.safetensors"))
    elif layout == "mlx":
        save_file(to_mlx(tensors), os.path.join(model_dir, "weights.safetensors"))
    elif layout == "hf_sharded":
        names = list(tensors)
        per = (len(names) + n_shards - 1) // n_shards
        weight_map, total = {}, 0
        for s in range(n_shards):
            file = f"model-{s + 1:05d}-of-{n_shards:05d}.safetensors"
            part = {n: tensors[n] for n in names[s * per:(s + 1) * per]}
            save_file(part, os.path.join(model_dir, file))
            for n, t in part.items():
                weight_map[n] = file
                total += t.numel() * t.element_size()
        with open(os.path.join(model_dir, "model.safetensors.index.json"), "w") as f:
            json.dump({"metadata": {"total_size": total}, "weight_map": weight_map}, f, indent=2)
            f.write("\n")
    else:
        raise ValueError(f"unknown layout {layout!r}")


def read_model_dir(model_dir: str):
    """(DeepseekV3Config, {HF name: tensor in its stored dtype}) from any of the three layouts."""
    with open(os.path.join(model_dir, "config.json")) as f:
        cfg = DeepseekV3Config.from_dict(json.load(f))
    index = os.path.join(model_dir, "model.safetensors.index.json")
    if os.path.exists(index):
        with open(index) as f:
            files = sorted(set(json.load(f)["weight_map"].values()))
        tensors = {}
        for file in files:
            tensors.update(load_file(os.path.join(model_dir, file)))
    elif os.path.exists(os.path.join(model_dir, "model.safetensors")):
        tensors = load_file(os.path.join(model_dir, "model.safetensors"))
    elif os.path.exists(os.path.join(model_dir, "weights.safetensors")):
        tensors = from_mlx(load_file(os.path.join(model_dir, "weights.safetensors")))
    else:
        raise FileNotFoundError(f"{model_dir}: no model.safetensors, index or weights.safetensors")
    return cfg, tensors
