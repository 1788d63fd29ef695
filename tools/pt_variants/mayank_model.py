"""Reference for Mayankpratapsingh022/DeepSeek-from-Scratch ("DeepSeek V3" 109M), written from
the facts in shared/reference/checkpoint-formats.md section 1 (names, shapes, math).

Module and buffer names reproduce the original's state_dict keys exactly, so
`torch.save(model.state_dict(), path)` writes what the original trainer writes: a raw
state dict, `wte.weight` and `lm_head.weight` sharing one storage, the `causal_mask` and
`rope.inv_freq` buffers, the trained `expert_bias` buffers and the `mtp_heads.*` weights.

`forward_all` returns logits for every position (what the original returns when given
targets). `Ablation` switches one feature off so tests can show that feature matters.
"""
from dataclasses import dataclass, field

import torch
import torch.nn as nn
import torch.nn.functional as F


@dataclass
class MayankConfig:
    vocab_size: int = 300
    block_size: int = 96
    n_layer: int = 2
    n_head: int = 4
    n_embd: int = 64
    kv_lora_rank: int = 32
    q_lora_rank: int = 48
    rope_dim: int = 8
    n_experts: int = 4
    n_experts_per_token: int = 2
    expert_intermediate_size: int = 32
    shared_expert_intermediate_size: int = 48
    mtp_num_heads: int = 1


@dataclass
class Ablation:
    """Each flag replaces one trait of the original by the common DeepSeek-V3 choice."""
    no_wpe: bool = False                 # drop learned absolute position embeddings
    eps_inside_sqrt: bool = False        # RMSNorm x*rsqrt(mean(x^2)+eps) instead of x/(rms+eps)
    interleaved_rope: bool = False       # pairs (2i, 2i+1) instead of (i, i+d/2)
    shared_k_rope_head0: bool = False    # head 0's rotary key for every head (the MLX conversion)
    no_biases: bool = False              # drop o_proj and expert biases
    unbiased_weights: bool = False       # expert weights from logits without expert_bias
    names: list = field(default_factory=list)


class RMSNorm(nn.Module):
    """y = w * x / (sqrt(mean(x^2)) + eps), eps = 1e-6 (eps added to the RMS)."""

    def __init__(self, dim, eps=1e-6):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x, ab=None):
        if ab is not None and ab.eps_inside_sqrt:
            return self.weight * x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps)
        rms = x.pow(2).mean(-1, keepdim=True).sqrt()
        return self.weight * x / (rms + self.eps)


class Rope(nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.register_buffer("inv_freq", 1.0 / (10000.0 ** (torch.arange(0, dim, 2).float() / dim)))

    def forward(self, x, ab=None):
        """x: [B, H, T, dim], positions 0..T-1; rotate-half pairs (i, i + dim/2)."""
        t = torch.arange(x.shape[-2], dtype=self.inv_freq.dtype)
        ang = torch.outer(t, self.inv_freq)
        cos, sin = ang.cos().to(x.dtype), ang.sin().to(x.dtype)
        if ab is not None and ab.interleaved_rope:
            x1, x2 = x[..., 0::2], x[..., 1::2]
            out = torch.stack([x1 * cos - x2 * sin, x1 * sin + x2 * cos], dim=-1)
            return out.flatten(-2)
        x1, x2 = x.chunk(2, dim=-1)
        return torch.cat([x1 * cos - x2 * sin, x1 * sin + x2 * cos], dim=-1)


class Attention(nn.Module):
    def __init__(self, c: MayankConfig):
        super().__init__()
        self.n_head, self.head_dim, self.rope_dim = c.n_head, c.n_embd // c.n_head, c.rope_dim
        self.kv_proj = nn.Linear(c.n_embd, c.kv_lora_rank, bias=False)
        self.kv_norm = RMSNorm(c.kv_lora_rank)
        self.k_decompress = nn.Linear(c.kv_lora_rank, c.n_embd, bias=False)
        self.v_decompress = nn.Linear(c.kv_lora_rank, c.n_embd, bias=False)
        self.q_proj = nn.Linear(c.n_embd, c.q_lora_rank, bias=False)
        self.q_decompress = nn.Linear(c.q_lora_rank, c.n_embd, bias=False)
        self.k_rope_proj = nn.Linear(c.n_embd, c.n_head * c.rope_dim, bias=False)
        self.q_rope_proj = nn.Linear(c.q_lora_rank, c.n_head * c.rope_dim, bias=False)
        self.o_proj = nn.Linear(c.n_embd, c.n_embd, bias=True)
        self.rope = Rope(c.rope_dim)
        mask = torch.tril(torch.ones(c.block_size, c.block_size)).view(1, 1, c.block_size, c.block_size)
        self.register_buffer("causal_mask", mask)

    def forward(self, x, ab):
        B, T, _ = x.shape
        H, D, R = self.n_head, self.head_dim, self.rope_dim

        def heads(y, d):
            return y.view(B, T, H, d).transpose(1, 2)

        c_kv = self.kv_norm(self.kv_proj(x), ab)
        c_q = self.q_proj(x)                      # no norm on the query latent
        k_content = heads(self.k_decompress(c_kv), D)
        v = heads(self.v_decompress(c_kv), D)
        q_content = heads(self.q_decompress(c_q), D)
        k_rope = heads(self.k_rope_proj(x), R)    # per head, from the hidden state
        q_rope = heads(self.q_rope_proj(c_q), R)  # per head, from the query latent
        if ab.shared_k_rope_head0:
            k_rope = k_rope[:, :1].expand(B, H, T, R)
        k = torch.cat([k_content, self.rope(k_rope, ab)], dim=-1)
        q = torch.cat([q_content, self.rope(q_rope, ab)], dim=-1)
        scores = q @ k.transpose(-2, -1) / (q.shape[-1] ** 0.5)   # 1/sqrt(head_dim + rope_dim)
        scores = scores.masked_fill(self.causal_mask[:, :, :T, :T] == 0, float("-inf"))
        out = (F.softmax(scores, dim=-1) @ v).transpose(1, 2).reshape(B, T, H * D)
        if ab.no_biases:
            return F.linear(out, self.o_proj.weight)
        return self.o_proj(out)


class SwiGLU(nn.Module):
    def __init__(self, dim, inter):
        super().__init__()
        self.gate_proj = nn.Linear(dim, inter, bias=True)
        self.up_proj = nn.Linear(dim, inter, bias=True)
        self.down_proj = nn.Linear(inter, dim, bias=True)

    def forward(self, x, ab):
        if ab.no_biases:
            g, u = F.linear(x, self.gate_proj.weight), F.linear(x, self.up_proj.weight)
            return F.linear(F.silu(g) * u, self.down_proj.weight)
        return self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))


class MoE(nn.Module):
    def __init__(self, c: MayankConfig):
        super().__init__()
        self.top_k = c.n_experts_per_token
        self.router = nn.Linear(c.n_embd, c.n_experts, bias=False)
        self.experts = nn.ModuleList(SwiGLU(c.n_embd, c.expert_intermediate_size) for _ in range(c.n_experts))
        self.shared_expert = SwiGLU(c.n_embd, c.shared_expert_intermediate_size)
        self.register_buffer("expert_bias", torch.zeros(c.n_experts))

    def forward(self, x, ab):
        shape = x.shape
        xf = x.reshape(-1, shape[-1])
        raw = self.router(xf)
        logits = raw + self.expert_bias
        top_logits, top_idx = torch.topk(logits, self.top_k, dim=-1)   # choose by biased logits
        if ab.unbiased_weights:
            top_logits = raw.gather(1, top_idx)
        weights = F.softmax(top_logits, dim=-1)                         # softmax over the k chosen
        out = self.shared_expert(xf, ab)
        for t in range(xf.shape[0]):
            for j in range(self.top_k):
                e = int(top_idx[t, j])
                out[t] = out[t] + weights[t, j] * self.experts[e](xf[t:t + 1], ab)[0]
        return out.view(shape)


class Block(nn.Module):
    def __init__(self, c: MayankConfig):
        super().__init__()
        self.ln_1 = RMSNorm(c.n_embd)
        self.attn = Attention(c)
        self.ln_2 = RMSNorm(c.n_embd)
        self.mlp = MoE(c)

    def forward(self, x, ab):
        x = x + self.attn(self.ln_1(x, ab), ab)
        return x + self.mlp(self.ln_2(x, ab), ab)


class MtpHead(nn.Module):
    """The multi-token-prediction head (trained by the original, unused by its generate()), as
    checkpoint-formats.md section 1.3 states it: combined = [norm1(prev_hidden); norm2(emb)]
    (hidden FIRST, unlike DeepSeek-V3's [emb; hidden]), combine_proj with bias, then a pre-norm
    block (attn_norm / mlp_norm), logits through the shared lm_head with no final norm.
    prev_hidden is the ln_f-normed main hidden state; emb is the token embedding alone (wte, no
    wpe: the text names the token embedding only)."""

    def __init__(self, c: MayankConfig):
        super().__init__()
        self.combine_proj = nn.Linear(2 * c.n_embd, c.n_embd, bias=True)
        self.norm1 = RMSNorm(c.n_embd)
        self.norm2 = RMSNorm(c.n_embd)
        self.attn = Attention(c)
        self.mlp = MoE(c)
        self.attn_norm = RMSNorm(c.n_embd)
        self.mlp_norm = RMSNorm(c.n_embd)

    def forward(self, prev_hidden, future_embed, ab):
        """prev_hidden, future_embed: [B, T, n_embd] -> the head's hidden [B, T, n_embd]."""
        combined = torch.cat([self.norm1(prev_hidden, ab), self.norm2(future_embed, ab)], dim=-1)
        h = self.combine_proj(combined)
        h = h + self.attn(self.attn_norm(h, ab), ab)
        return h + self.mlp(self.mlp_norm(h, ab), ab)


class MayankModel(nn.Module):
    def __init__(self, c: MayankConfig):
        super().__init__()
        self.config = c
        self.wte = nn.Embedding(c.vocab_size, c.n_embd)
        self.wpe = nn.Embedding(c.block_size, c.n_embd)
        self.h = nn.ModuleList(Block(c) for _ in range(c.n_layer))
        self.ln_f = RMSNorm(c.n_embd)
        self.lm_head = nn.Linear(c.n_embd, c.vocab_size, bias=False)
        self.wte.weight = self.lm_head.weight     # tied: both keys saved, one storage
        self.mtp_heads = nn.ModuleList(MtpHead(c) for _ in range(c.mtp_num_heads))

    def normed_hidden(self, idx, ab):
        """idx: [T] -> ln_f(blocks(wte + wpe)) [1, T, n_embd], positions 0..T-1."""
        T = idx.shape[0]
        x = self.wte(idx[None])
        if not ab.no_wpe:
            x = x + self.wpe(torch.arange(T))[None]
        for block in self.h:
            x = block(x, ab)
        return self.ln_f(x, ab)

    def forward_all(self, idx, ab=None):
        """idx: [T] token ids -> logits [T, vocab] for every position (positions 0..T-1)."""
        return self.lm_head(self.normed_hidden(idx, ab or Ablation()))[0]

    def forward_mtp(self, idx, ab=None):
        """idx: [T] -> MTP logits [T-1, vocab]: row i predicts token i+2 from the ln_f-normed main
        hidden state of position i and the embedding of token i+1 (rows at positions 0..T-2)."""
        ab = ab or Ablation()
        prev = self.normed_hidden(idx, ab)[:, :-1]
        h = self.mtp_heads[0](prev, self.wte(idx[None, 1:]), ab)
        return self.lm_head(h)[0]

    def generate_greedy(self, ids, n):
        """The original generate() at temperature -> 0: crop to the last block_size tokens."""
        ids = list(ids)
        for _ in range(n):
            window = torch.tensor(ids[-self.config.block_size:])
            ids.append(int(torch.argmax(self.forward_all(window)[-1])))
        return ids[-n:]
