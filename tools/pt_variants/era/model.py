"""Reference for pmgarg/ERA_V4_Sessio15 (the 174M "DeepSeek-V3 replaces SmolLM2" model), written
from the facts in shared/reference/checkpoint-formats.md section 4 (names, shapes, math).

This file is named model.py on purpose: the original pickles its config object as
`model.DeepSeekV3Config`, and a checkpoint made here must carry that same global. Like the
original, the config object stores only the constructor arguments that were passed; fields
left out (q_lora_rank, qk_rope_head_dim, qk_nope_head_dim, v_head_dim, hidden_act, ...) read
through to the class defaults and are absent from the pickle.
"""
from dataclasses import dataclass, field

import torch
import torch.nn as nn
import torch.nn.functional as F


@dataclass
class DeepSeekV3Config:
    vocab_size: int = 50257
    hidden_size: int = 576
    num_hidden_layers: int = 30
    num_attention_heads: int = 9
    kv_lora_rank: int = 512
    q_lora_rank: int = 0
    qk_rope_head_dim: int = 64
    v_head_dim: int = 64
    qk_nope_head_dim: int = 64
    moe_intermediate_size: int = 256
    n_shared_experts: int = 1
    n_routed_experts: int = 8
    num_experts_per_tok: int = 2
    moe_layer_freq: int = 1
    aux_loss_alpha: float = 0.001
    router_z_loss_coef: float = 0.001
    seq_aux: bool = True
    max_position_embeddings: int = 2048
    hidden_act: str = "silu"
    rms_norm_eps: float = 1e-5
    rope_theta: float = 10000.0
    attention_dropout: float = 0.0
    initializer_range: float = 0.02
    tie_word_embeddings: bool = True
    torch_dtype: str = "bfloat16"
    use_cache: bool = True
    _extra: dict = field(default_factory=dict, repr=False)

    def __init__(self, **kwargs):
        # Only passed fields become instance attributes; the rest stay class attributes.
        extra = {}
        for key, value in kwargs.items():
            if key in self.__dataclass_fields__:
                setattr(self, key, value)
            else:
                extra[key] = value
        object.__setattr__(self, "_extra", extra)


@dataclass
class Ablation:
    interleaved_rope: bool = False   # pairs (2i, 2i+1) instead of HF-Llama rotate-half
    no_renormalise: bool = False     # top-k softmax probabilities used as they are
    nope_only_scale: bool = False    # softmax scale 1/sqrt(qk_nope) instead of 1/sqrt(nope+rope)


class RMSNorm(nn.Module):
    """y = w * x * rsqrt(mean(x^2) + eps)."""

    def __init__(self, dim, eps):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x, ab):
        return self.weight * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps))


def rope(x, theta, ab):
    """x: [B, H, T, d]; HF-Llama: emb = cat(freqs, freqs); x*cos + rotate_half(x)*sin."""
    d = x.shape[-1]
    inv_freq = 1.0 / (theta ** (torch.arange(0, d, 2).float() / d))
    ang = torch.outer(torch.arange(x.shape[-2]).float(), inv_freq).to(x.dtype)
    cos, sin = ang.cos(), ang.sin()
    if ab.interleaved_rope:
        x1, x2 = x[..., 0::2], x[..., 1::2]
        return torch.stack([x1 * cos - x2 * sin, x1 * sin + x2 * cos], dim=-1).flatten(-2)
    cos, sin = torch.cat([cos, cos], -1), torch.cat([sin, sin], -1)
    rotated = torch.cat([-x[..., d // 2:], x[..., :d // 2]], dim=-1)
    return x * cos + rotated * sin


class Attention(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.c = c
        H = c.num_attention_heads
        self.nope, self.rope_d, self.v_d = c.qk_nope_head_dim, c.qk_rope_head_dim, c.v_head_dim
        self.q_proj = nn.Linear(c.hidden_size, H * (self.nope + self.rope_d), bias=False)
        self.kv_down_proj = nn.Linear(c.hidden_size, c.kv_lora_rank, bias=False)
        self.kv_norm = RMSNorm(c.kv_lora_rank, c.rms_norm_eps)
        self.kv_up_proj = nn.Linear(c.kv_lora_rank, H * (self.nope + self.rope_d), bias=False)
        self.kv_v_proj = nn.Linear(c.kv_lora_rank, H * self.v_d, bias=False)
        self.o_proj = nn.Linear(H * self.v_d, c.hidden_size, bias=False)

    def forward(self, x, ab):
        B, T, _ = x.shape
        H, N, R = self.c.num_attention_heads, self.nope, self.rope_d
        q = self.q_proj(x).view(B, T, H, N + R).transpose(1, 2)
        c_kv = self.kv_norm(self.kv_down_proj(x), ab)
        k = self.kv_up_proj(c_kv).view(B, T, H, N + R).transpose(1, 2)   # per head [k_nope | k_rope]
        v = self.kv_v_proj(c_kv).view(B, T, H, self.v_d).transpose(1, 2)
        q = torch.cat([q[..., :N], rope(q[..., N:], self.c.rope_theta, ab)], -1)
        k = torch.cat([k[..., :N], rope(k[..., N:], self.c.rope_theta, ab)], -1)
        scale = (N if ab.nope_only_scale else N + R) ** -0.5
        scores = (q @ k.transpose(-2, -1)) * scale
        mask = torch.triu(torch.full((T, T), float("-inf"), dtype=x.dtype), diagonal=1)
        probs = F.softmax(scores + mask, dim=-1)
        out = (probs @ v).transpose(1, 2).reshape(B, T, H * self.v_d)
        return self.o_proj(out)


def expert(c):
    """Linear -> SiLU -> Linear, no gate, no bias (keys .0.weight and .2.weight)."""
    return nn.Sequential(nn.Linear(c.hidden_size, c.moe_intermediate_size, bias=False), nn.SiLU(),
                         nn.Linear(c.moe_intermediate_size, c.hidden_size, bias=False))


class MoE(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.k = c.num_experts_per_tok
        self.shared_experts = nn.ModuleList(expert(c) for _ in range(c.n_shared_experts))
        self.routed_experts = nn.ModuleList(expert(c) for _ in range(c.n_routed_experts))
        self.router = nn.Linear(c.hidden_size, c.n_routed_experts, bias=False)

    def forward(self, x, ab):
        shape = x.shape
        xf = x.reshape(-1, shape[-1])
        out = sum(e(xf) for e in self.shared_experts)                  # shared weight 1
        probs = F.softmax(self.router(xf), dim=-1)                       # over all experts
        top_p, top_i = torch.topk(probs, self.k, dim=-1)
        if not ab.no_renormalise:
            top_p = top_p / top_p.sum(-1, keepdim=True)
        for t in range(xf.shape[0]):
            for j in range(self.k):
                out[t] = out[t] + top_p[t, j] * self.routed_experts[int(top_i[t, j])](xf[t:t + 1])[0]
        return out.view(shape)


class DecoderLayer(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.self_attn = Attention(c)
        self.moe = MoE(c)
        self.input_layernorm = RMSNorm(c.hidden_size, c.rms_norm_eps)
        self.post_attention_layernorm = RMSNorm(c.hidden_size, c.rms_norm_eps)

    def forward(self, x, ab):
        x = x + self.self_attn(self.input_layernorm(x, ab), ab)
        return x + self.moe(self.post_attention_layernorm(x, ab), ab)


class Backbone(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.embed_tokens = nn.Embedding(c.vocab_size, c.hidden_size)
        self.layers = nn.ModuleList(DecoderLayer(c) for _ in range(c.num_hidden_layers))
        self.norm = RMSNorm(c.hidden_size, c.rms_norm_eps)


class DeepSeekV3ForCausalLM(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.config = c
        self.model = Backbone(c)
        self.lm_head = nn.Linear(c.hidden_size, c.vocab_size, bias=False)
        if c.tie_word_embeddings:
            self.lm_head.weight = self.model.embed_tokens.weight

    def forward_all(self, idx, ab=None):
        """idx: [T] -> logits [T, vocab]; positions 0..T-1, no cache (like the original)."""
        ab = ab or Ablation()
        x = self.model.embed_tokens(idx[None])
        for layer in self.model.layers:
            x = layer(x, ab)
        return self.lm_head(self.model.norm(x, ab))[0]

    def generate_greedy(self, ids, n):
        ids = list(ids)
        for _ in range(n):
            ids.append(int(torch.argmax(self.forward_all(torch.tensor(ids))[-1])))
        return ids[-n:]
