"""Independent PyTorch reference of the DeepSeek-V3 family forward pass (MLA + DeepSeekMoE).

Written from the equations (DESIGN.md "The math"; shared/reference/checkpoint-formats.md section 5)
and checked against DeepSeek's official inference/model.py (tools/crosscheck_official.py).
Parameter names are the Hugging Face state-dict names, so `state_dict()` can be written straight to
safetensors and a Hugging Face checkpoint loads with `load_state_dict`.

Semantic choices (see tools/README.md):
- RoPE acts on interleaved pairs (2i, 2i+1) as in DeepSeek's official checkpoints/inference code.
- YaRN follows Hugging Face: applied whenever rope_scaling is set; cos/sin multiplied by
  attention_factor = mscale(factor, mscale) / mscale(factor, mscale_all_dim); softmax scale
  1/sqrt(qk_head_dim) * mscale(factor, mscale_all_dim)^2.
- V3 gate (topk_method noaux_tc): non-selected groups are masked with -inf (official code;
  HF fills 0.0). V2 gate (group_limited_greedy / greedy): routed_scaling_factor applies only when
  the top-k weights are not normalised (DeepSeek-V2 modeling code).

Everything is vectorised over batch and sequence and autograd-capable (usable for training).
"""
from __future__ import annotations

import copy
import dataclasses
import math
from dataclasses import dataclass, field
from typing import Optional

import torch
import torch.nn.functional as F
from torch import nn


# ----------------------------------------------------------------------------------------------
# Configuration
# ----------------------------------------------------------------------------------------------

@dataclass
class DeepseekV3Config:
    """The config.json keys of DeepseekV3Config / DeepseekV2Config, with Hugging Face's
    DeepseekV3 defaults for missing keys."""
    model_type: str = "deepseek_v3"
    vocab_size: int = 129280
    hidden_size: int = 7168
    intermediate_size: int = 18432
    moe_intermediate_size: int = 2048
    num_hidden_layers: int = 61
    num_attention_heads: int = 128
    num_key_value_heads: int = 128
    n_shared_experts: Optional[int] = 1
    n_routed_experts: Optional[int] = 256
    routed_scaling_factor: float = 2.5
    kv_lora_rank: int = 512
    q_lora_rank: Optional[int] = 1536
    qk_rope_head_dim: int = 64
    v_head_dim: int = 128
    qk_nope_head_dim: int = 128
    n_group: Optional[int] = 8
    topk_group: Optional[int] = 4
    num_experts_per_tok: Optional[int] = 8
    first_k_dense_replace: int = 3
    moe_layer_freq: int = 1
    norm_topk_prob: bool = True
    scoring_func: str = "sigmoid"
    topk_method: str = "noaux_tc"
    hidden_act: str = "silu"
    max_position_embeddings: int = 4096
    rms_norm_eps: float = 1e-6
    rope_theta: float = 10000.0
    rope_scaling: Optional[dict] = None
    tie_word_embeddings: bool = False
    attention_bias: bool = False
    num_nextn_predict_layers: int = 0
    bos_token_id: Optional[int] = 0
    eos_token_id: Optional[int] = 1
    extra: dict = field(default_factory=dict)  # unknown keys, kept for round trips

    @classmethod
    def from_dict(cls, d: dict) -> "DeepseekV3Config":
        names = {f.name for f in dataclasses.fields(cls)} - {"extra"}
        known = {k: v for k, v in d.items() if k in names}
        cfg = cls(**known, extra={k: v for k, v in d.items() if k not in names})
        cfg.validate()
        return cfg

    def to_dict(self) -> dict:
        d = dataclasses.asdict(self)
        extra = d.pop("extra")
        d.update(extra)
        return d

    def replace(self, **changes) -> "DeepseekV3Config":
        return dataclasses.replace(copy.deepcopy(self), **changes)

    def validate(self) -> None:
        if self.hidden_act != "silu":
            raise ValueError(f"hidden_act {self.hidden_act!r} not supported (only silu)")
        if self.scoring_func not in ("softmax", "sigmoid"):
            raise ValueError(f"scoring_func {self.scoring_func!r} not supported")
        if self.topk_method not in ("noaux_tc", "group_limited_greedy", "greedy"):
            raise ValueError(f"topk_method {self.topk_method!r} not supported")
        if self.attention_bias:
            raise ValueError("attention_bias true is not supported")
        if self.rope_scaling is not None:
            kind = self.rope_scaling.get("type", self.rope_scaling.get("rope_type"))
            if kind != "yarn":
                raise ValueError(f"rope_scaling type {kind!r} not supported (only yarn)")
        if self.n_routed_experts and (self.n_group or 1) > 1:
            if self.n_routed_experts % self.n_group:
                raise ValueError("n_routed_experts must be divisible by n_group")

    @property
    def qk_head_dim(self) -> int:
        return self.qk_nope_head_dim + self.qk_rope_head_dim

    def is_moe_layer(self, layer: int) -> bool:
        return bool(self.n_routed_experts) and layer >= self.first_k_dense_replace \
            and layer % self.moe_layer_freq == 0


@dataclass
class ReferenceOptions:
    """Switches used only to compute ablations (each turns one feature off); defaults = the
    semantics of the model."""
    rope_interleaved: bool = True          # False: rotate-half pairs (i, i + d/2)
    yarn_softmax_mscale: bool = True       # False: drop the mscale^2 softmax-scale correction
    yarn_attention_factor: bool = True     # False: do not scale cos/sin by attention_factor
    bias_for_choice: bool = True           # False: e_score_correction_bias ignored
    group_mask_value: float = float("-inf")  # 0.0 reproduces Hugging Face's masked_fill(..., 0.0)
    group_score: Optional[str] = None      # None: from topk_method; "top2sum" or "max" to force
    scaling_rule: Optional[str] = None     # None: from topk_method; "v3" (always) or "v2"
    shared_experts: bool = True            # False: shared experts not added
    dense_mlp: bool = True                 # False: dense SwiGLU layers output zero
    q_a_layernorm: bool = True             # False: skip q_a_layernorm (q_lora models)
    kv_a_layernorm: bool = True            # False: skip kv_a_layernorm


# ----------------------------------------------------------------------------------------------
# Building blocks
# ----------------------------------------------------------------------------------------------

class RMSNorm(nn.Module):
    """y = w * x * rsqrt(mean(x^2) + eps), computed in at least float32."""

    def __init__(self, dim: int, eps: float = 1e-6):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        dtype = x.dtype
        xf = x.float() if dtype in (torch.float16, torch.bfloat16) else x
        xf = xf * torch.rsqrt(xf.pow(2).mean(-1, keepdim=True) + self.eps)
        return self.weight * xf.to(dtype)


def yarn_get_mscale(scale: float, mscale: float = 1.0) -> float:
    if scale <= 1:
        return 1.0
    return 0.1 * mscale * math.log(scale) + 1.0


def rope_inv_freq_and_attention_factor(cfg: DeepseekV3Config, opts: ReferenceOptions):
    """Inverse frequencies (float64) for the qk_rope_head_dim/2 pairs and the factor cos/sin are
    multiplied by (Hugging Face _compute_yarn_parameters semantics)."""
    dim = cfg.qk_rope_head_dim
    base = cfg.rope_theta
    inv_freq = 1.0 / (base ** (torch.arange(0, dim, 2, dtype=torch.float64) / dim))
    rs = cfg.rope_scaling
    if rs is None:
        return inv_freq, 1.0
    factor = float(rs["factor"])
    orig = int(rs.get("original_max_position_embeddings", cfg.max_position_embeddings))
    beta_fast = float(rs.get("beta_fast", 32.0))
    beta_slow = float(rs.get("beta_slow", 1.0))
    mscale = rs.get("mscale")
    mscale_all_dim = rs.get("mscale_all_dim")

    def correction_dim(num_rotations: float) -> float:
        return dim * math.log(orig / (num_rotations * 2 * math.pi)) / (2 * math.log(base))

    low = max(math.floor(correction_dim(beta_fast)), 0)
    high = min(math.ceil(correction_dim(beta_slow)), dim - 1)
    if low == high:
        high += 0.001
    ramp = ((torch.arange(dim // 2, dtype=torch.float64) - low) / (high - low)).clamp(0, 1)
    extrapolation_weight = 1.0 - ramp
    inv_freq = (inv_freq / factor) * (1 - extrapolation_weight) + inv_freq * extrapolation_weight
    if mscale and mscale_all_dim:
        attention_factor = yarn_get_mscale(factor, mscale) / yarn_get_mscale(factor, mscale_all_dim)
    else:
        attention_factor = yarn_get_mscale(factor)
    if not opts.yarn_attention_factor:
        attention_factor = 1.0
    return inv_freq, attention_factor


def softmax_scale(cfg: DeepseekV3Config, opts: ReferenceOptions) -> float:
    scale = cfg.qk_head_dim ** -0.5
    rs = cfg.rope_scaling
    if rs is not None and opts.yarn_softmax_mscale:
        mscale_all_dim = rs.get("mscale_all_dim", 0)
        if mscale_all_dim:
            m = yarn_get_mscale(float(rs["factor"]), mscale_all_dim)
            scale = scale * m * m
    return scale


def apply_rope(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor, interleaved: bool) -> torch.Tensor:
    """x [..., T, d]; cos/sin [T, d/2]. Interleaved: pair (2i, 2i+1) rotated by angle i
    (DeepSeek's view_as_complex); otherwise rotate-half pairs (i, i + d/2)."""
    if interleaved:
        x0, x1 = x[..., 0::2], x[..., 1::2]
        r0 = x0 * cos - x1 * sin
        r1 = x0 * sin + x1 * cos
        return torch.stack((r0, r1), dim=-1).flatten(-2)
    half = x.shape[-1] // 2
    x0, x1 = x[..., :half], x[..., half:]
    return torch.cat((x0 * cos - x1 * sin, x0 * sin + x1 * cos), dim=-1)


class DeepseekV3Attention(nn.Module):
    """Multi-head Latent Attention, naive (full-sequence) and absorbed (latent-cache) forms."""

    def __init__(self, cfg: DeepseekV3Config, opts: ReferenceOptions):
        super().__init__()
        self.cfg, self.opts = cfg, opts
        H, nh = cfg.hidden_size, cfg.num_attention_heads
        if cfg.q_lora_rank:
            self.q_a_proj = nn.Linear(H, cfg.q_lora_rank, bias=False)
            self.q_a_layernorm = RMSNorm(cfg.q_lora_rank)  # default eps 1e-6 as in HF/official
            self.q_b_proj = nn.Linear(cfg.q_lora_rank, nh * cfg.qk_head_dim, bias=False)
        else:
            self.q_proj = nn.Linear(H, nh * cfg.qk_head_dim, bias=False)
        self.kv_a_proj_with_mqa = nn.Linear(H, cfg.kv_lora_rank + cfg.qk_rope_head_dim, bias=False)
        self.kv_a_layernorm = RMSNorm(cfg.kv_lora_rank)
        self.kv_b_proj = nn.Linear(cfg.kv_lora_rank, nh * (cfg.qk_nope_head_dim + cfg.v_head_dim), bias=False)
        self.o_proj = nn.Linear(nh * cfg.v_head_dim, H, bias=False)

    def _queries(self, x):
        cfg = self.cfg
        if cfg.q_lora_rank:
            cq = self.q_a_proj(x)
            if self.opts.q_a_layernorm:
                cq = self.q_a_layernorm(cq)
            q = self.q_b_proj(cq)
        else:
            q = self.q_proj(x)
        B, T, _ = x.shape
        q = q.view(B, T, cfg.num_attention_heads, cfg.qk_head_dim).transpose(1, 2)  # [B, nh, T, d]
        return q[..., :cfg.qk_nope_head_dim], q[..., cfg.qk_nope_head_dim:]

    def _latent(self, x):
        cfg = self.cfg
        kv = self.kv_a_proj_with_mqa(x)
        c_kv, k_pe = kv[..., :cfg.kv_lora_rank], kv[..., cfg.kv_lora_rank:]
        if self.opts.kv_a_layernorm:
            c_kv = self.kv_a_layernorm(c_kv)
        return c_kv, k_pe  # [B, T, r], [B, T, rope]

    def forward(self, x, cos, sin, scale):
        """Full-sequence causal attention. x [B, T, H]; cos/sin [T, rope/2]."""
        cfg = self.cfg
        B, T, _ = x.shape
        nh = cfg.num_attention_heads
        q_nope, q_pe = self._queries(x)
        c_kv, k_pe = self._latent(x)
        q_pe = apply_rope(q_pe, cos, sin, self.opts.rope_interleaved)
        k_pe = apply_rope(k_pe.unsqueeze(1), cos, sin, self.opts.rope_interleaved)  # one shared head
        kv = self.kv_b_proj(c_kv).view(B, T, nh, cfg.qk_nope_head_dim + cfg.v_head_dim).transpose(1, 2)
        k_nope, v = kv[..., :cfg.qk_nope_head_dim], kv[..., cfg.qk_nope_head_dim:]
        scores = (q_nope @ k_nope.transpose(-1, -2) + q_pe @ k_pe.transpose(-1, -2)) * scale
        causal = torch.ones(T, T, dtype=torch.bool, device=x.device).triu(1)
        scores = scores.masked_fill(causal, float("-inf"))
        probs = torch.softmax(scores.float() if scores.dtype in (torch.float16, torch.bfloat16) else scores,
                              dim=-1).to(v.dtype)
        out = (probs @ v).transpose(1, 2).reshape(B, T, nh * cfg.v_head_dim)
        return self.o_proj(out)

    def forward_absorbed(self, x, cos, sin, scale, cache: dict):
        """Decode form: appends the normalised c_kv and roped k_pe of x's positions to `cache`
        ({"c_kv": [B, t, r], "k_pe": [B, t, rope]}), folds W_UK into the query and W_UV after
        attention. cos/sin are for x's positions only."""
        cfg = self.cfg
        B, T, _ = x.shape
        nh, dn = cfg.num_attention_heads, cfg.qk_nope_head_dim
        q_nope, q_pe = self._queries(x)
        c_kv, k_pe = self._latent(x)
        q_pe = apply_rope(q_pe, cos, sin, self.opts.rope_interleaved)
        k_pe = apply_rope(k_pe, cos, sin, self.opts.rope_interleaved)
        past = cache.get("c_kv")
        start = 0 if past is None else past.shape[1]
        cache["c_kv"] = c_kv if past is None else torch.cat((past, c_kv), dim=1)
        cache["k_pe"] = k_pe if past is None else torch.cat((cache["k_pe"], k_pe), dim=1)
        w = self.kv_b_proj.weight.view(nh, dn + cfg.v_head_dim, cfg.kv_lora_rank)
        w_uk, w_uv = w[:, :dn], w[:, dn:]
        q_lat = torch.einsum("bhtd,hdc->bhtc", q_nope, w_uk)
        scores = (torch.einsum("bhtc,bsc->bhts", q_lat, cache["c_kv"])
                  + torch.einsum("bhtr,bsr->bhts", q_pe, cache["k_pe"])) * scale
        S = cache["c_kv"].shape[1]
        pos_q = torch.arange(start, start + T, device=x.device)[:, None]
        pos_k = torch.arange(S, device=x.device)[None, :]
        scores = scores.masked_fill(pos_k > pos_q, float("-inf"))
        probs = torch.softmax(scores, dim=-1)
        o_lat = torch.einsum("bhts,bsc->bhtc", probs, cache["c_kv"])
        out = torch.einsum("bhtc,hvc->bthv", o_lat, w_uv).reshape(B, T, nh * cfg.v_head_dim)
        return self.o_proj(out)


class DeepseekV3MLP(nn.Module):
    """SwiGLU: down(silu(gate(x)) * up(x))."""

    def __init__(self, hidden: int, inter: int):
        super().__init__()
        self.gate_proj = nn.Linear(hidden, inter, bias=False)
        self.up_proj = nn.Linear(hidden, inter, bias=False)
        self.down_proj = nn.Linear(inter, hidden, bias=False)

    def forward(self, x):
        return self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))


class MoEGate(nn.Module):
    """Router: weight [E, H] and the aux-loss-free e_score_correction_bias buffer [E] (float32)."""

    def __init__(self, cfg: DeepseekV3Config, opts: ReferenceOptions):
        super().__init__()
        self.cfg, self.opts = cfg, opts
        E = cfg.n_routed_experts
        self.weight = nn.Parameter(torch.empty(E, cfg.hidden_size))
        nn.init.kaiming_uniform_(self.weight, a=math.sqrt(5))  # as nn.Linear; see init_weights()
        # V3 checkpoints carry the bias; V2 ones do not (still harmless as zeros for choosing).
        self.has_bias = cfg.topk_method == "noaux_tc"
        if self.has_bias:
            self.register_buffer("e_score_correction_bias", torch.zeros(E, dtype=torch.float32))
        self.last_margin = None  # smallest gap at a top-k boundary (experts or groups), last forward

    def _apply(self, fn):
        """Keeps e_score_correction_bias in float32 when the module is cast to a half type
        (as Hugging Face's _keep_in_fp32_modules does); float64 casts are honoured."""
        keep = self.e_score_correction_bias.detach().clone() if self.has_bias else None
        super()._apply(fn)
        if keep is not None and self.e_score_correction_bias.dtype in (torch.float16, torch.bfloat16):
            self.e_score_correction_bias = keep.to(device=self.e_score_correction_bias.device,
                                                   dtype=torch.float32)
        return self

    def forward(self, x: torch.Tensor):
        """x [N, H] -> (weights [N, k], indices [N, k])."""
        cfg, opts = self.cfg, self.opts
        compute = torch.float64 if x.dtype == torch.float64 else torch.float32
        logits = F.linear(x.to(compute), self.weight.to(compute))
        if cfg.scoring_func == "softmax":
            scores = logits.softmax(dim=-1)
        else:
            scores = logits.sigmoid()
        choice = scores
        if self.has_bias and opts.bias_for_choice:
            choice = scores + self.e_score_correction_bias.to(compute)
        choice = choice.detach()
        N, E = choice.shape
        k = cfg.num_experts_per_tok
        n_group = cfg.n_group or 1
        if cfg.topk_method != "greedy" and n_group > 1:
            grouped = choice.view(N, n_group, E // n_group)
            how = opts.group_score or ("top2sum" if cfg.topk_method == "noaux_tc" else "max")
            if how == "top2sum":
                group_scores = grouped.topk(2, dim=-1).values.sum(-1)
            else:
                group_scores = grouped.amax(-1)
            ranked = group_scores.topk(min(cfg.topk_group + 1, n_group), dim=-1).values
            group_margin = (ranked[:, -2] - ranked[:, -1]).min().item() if cfg.topk_group < n_group else float("inf")
            keep = group_scores.topk(cfg.topk_group, dim=-1).indices
            drop = torch.ones(N, n_group, dtype=torch.bool, device=x.device).scatter_(1, keep, False)
            choice = grouped.masked_fill(drop.unsqueeze(-1), opts.group_mask_value).view(N, E)
        else:
            group_margin = float("inf")
        top = choice.topk(min(k + 1, E), dim=-1).values
        expert_margin = (top[:, k - 1] - top[:, k]).min().item() if E > k else float("inf")
        self.last_margin = min(group_margin, expert_margin)
        indices = choice.topk(k, dim=-1).indices
        weights = scores.gather(1, indices)  # unbiased scores
        normalise = k > 1 and cfg.norm_topk_prob
        if normalise:
            weights = weights / (weights.sum(-1, keepdim=True) + 1e-20)
        rule = opts.scaling_rule or ("v3" if cfg.topk_method == "noaux_tc" else "v2")
        if rule == "v3" or not normalise:
            weights = weights * cfg.routed_scaling_factor
        return weights, indices


class DeepseekV3MoE(nn.Module):
    def __init__(self, cfg: DeepseekV3Config, opts: ReferenceOptions):
        super().__init__()
        self.cfg, self.opts = cfg, opts
        self.gate = MoEGate(cfg, opts)
        self.experts = nn.ModuleList(DeepseekV3MLP(cfg.hidden_size, cfg.moe_intermediate_size)
                                     for _ in range(cfg.n_routed_experts))
        if cfg.n_shared_experts:
            self.shared_experts = DeepseekV3MLP(cfg.hidden_size,
                                                cfg.moe_intermediate_size * cfg.n_shared_experts)
        self.last_expert_counts = None  # tokens routed to each expert in the last forward

    def forward(self, x):
        shape = x.shape
        flat = x.reshape(-1, shape[-1])
        weights, indices = self.gate(flat)
        weights = weights.to(flat.dtype)
        self.last_expert_counts = torch.bincount(indices.flatten(), minlength=self.cfg.n_routed_experts).detach()
        out = torch.zeros_like(flat)
        for e, expert in enumerate(self.experts):  # loop over experts, vectorised over tokens
            token, slot = torch.where(indices == e)
            if token.numel() == 0:
                continue
            out = out.index_add(0, token, expert(flat[token]) * weights[token, slot, None])
        if self.cfg.n_shared_experts and self.opts.shared_experts:
            out = out + self.shared_experts(flat)
        return out.view(shape)


class DeepseekV3DecoderLayer(nn.Module):
    def __init__(self, cfg: DeepseekV3Config, opts: ReferenceOptions, layer: int):
        super().__init__()
        self.opts = opts
        self.input_layernorm = RMSNorm(cfg.hidden_size, cfg.rms_norm_eps)
        self.self_attn = DeepseekV3Attention(cfg, opts)
        self.post_attention_layernorm = RMSNorm(cfg.hidden_size, cfg.rms_norm_eps)
        self.is_moe = cfg.is_moe_layer(layer)
        self.mlp = DeepseekV3MoE(cfg, opts) if self.is_moe else DeepseekV3MLP(cfg.hidden_size, cfg.intermediate_size)

    def _ffn(self, h):
        y = self.mlp(self.post_attention_layernorm(h))
        if not self.is_moe and not self.opts.dense_mlp:
            y = y * 0
        return h + y

    def forward(self, h, cos, sin, scale):
        h = h + self.self_attn(self.input_layernorm(h), cos, sin, scale)
        return self._ffn(h)

    def forward_absorbed(self, h, cos, sin, scale, cache):
        h = h + self.self_attn.forward_absorbed(self.input_layernorm(h), cos, sin, scale, cache)
        return self._ffn(h)


class SharedHead(nn.Module):
    def __init__(self, cfg: DeepseekV3Config):
        super().__init__()
        self.norm = RMSNorm(cfg.hidden_size, cfg.rms_norm_eps)
        self.head = nn.Linear(cfg.hidden_size, cfg.vocab_size, bias=False)


class DeepseekV3MTPLayer(DeepseekV3DecoderLayer):
    """Multi-token-prediction module (official layout, stored as model.layers.{num_hidden_layers}):
    h' = eh_proj(cat[enorm(emb(t_{i+1})), hnorm(h_i)]) -> decoder layer -> shared_head.norm -> head."""

    def __init__(self, cfg: DeepseekV3Config, opts: ReferenceOptions, layer: int):
        super().__init__(cfg, opts, layer)
        self.enorm = RMSNorm(cfg.hidden_size, cfg.rms_norm_eps)
        self.hnorm = RMSNorm(cfg.hidden_size, cfg.rms_norm_eps)
        self.eh_proj = nn.Linear(2 * cfg.hidden_size, cfg.hidden_size, bias=False)
        self.shared_head = SharedHead(cfg)


class DeepseekV3Inner(nn.Module):
    def __init__(self, cfg: DeepseekV3Config, opts: ReferenceOptions, mtp: bool):
        super().__init__()
        self.embed_tokens = nn.Embedding(cfg.vocab_size, cfg.hidden_size)
        layers = [DeepseekV3DecoderLayer(cfg, opts, i) for i in range(cfg.num_hidden_layers)]
        if mtp:
            L = cfg.num_hidden_layers
            layers += [DeepseekV3MTPLayer(cfg, opts, L + j) for j in range(max(cfg.num_nextn_predict_layers, 1))]
        self.layers = nn.ModuleList(layers)
        self.norm = RMSNorm(cfg.hidden_size, cfg.rms_norm_eps)


class DeepseekV3ForCausalLM(nn.Module):
    """model(ids [B, T] or [T]) -> logits [B, T, V] (or [T, V]).

    mtp=True adds the MTP module(s) (model.layers.{L..}); mtp_share_head ties
    shared_head.head to lm_head (as the official design shares the output head)."""

    def __init__(self, cfg: DeepseekV3Config, opts: Optional[ReferenceOptions] = None,
                 mtp: bool = False, mtp_share_head: bool = True):
        super().__init__()
        cfg.validate()
        self.cfg = cfg
        self.opts = opts or ReferenceOptions()
        self.model = DeepseekV3Inner(cfg, self.opts, mtp)
        self.lm_head = nn.Linear(cfg.hidden_size, cfg.vocab_size, bias=False)
        if cfg.tie_word_embeddings:
            self.lm_head.weight = self.model.embed_tokens.weight
        if mtp and mtp_share_head:
            for layer in self.mtp_layers():
                layer.shared_head.head.weight = self.lm_head.weight
        inv_freq, attention_factor = rope_inv_freq_and_attention_factor(cfg, self.opts)
        self.register_buffer("rope_inv_freq", inv_freq, persistent=False)
        self.attention_factor = attention_factor
        self.scale = softmax_scale(cfg, self.opts)

    @torch.no_grad()
    def init_weights(self, std: float = 0.02, seed: Optional[int] = None) -> None:
        """Hugging Face's DeepseekV3 initialisation: Linear, router and embedding weights
        ~ N(0, std) (config initializer_range, 0.02), norm weights 1, router bias 0."""
        g = torch.Generator().manual_seed(seed) if seed is not None else None
        for name, p in self.named_parameters():
            if name.endswith("norm.weight") or "layernorm" in name:
                p.fill_(1.0)
            else:
                p.copy_(torch.randn(p.shape, generator=g, dtype=torch.float32).to(p.dtype) * std)
        for name, b in self.named_buffers():
            if name.endswith("e_score_correction_bias"):
                b.zero_()

    # -- helpers --------------------------------------------------------------------------------
    def main_layers(self):
        return list(self.model.layers)[:self.cfg.num_hidden_layers]

    def mtp_layers(self):
        return list(self.model.layers)[self.cfg.num_hidden_layers:]

    def rope_cos_sin(self, positions: torch.Tensor, dtype: torch.dtype):
        angles = positions.to(torch.float64)[:, None] * self.rope_inv_freq[None, :]
        return ((angles.cos() * self.attention_factor).to(dtype),
                (angles.sin() * self.attention_factor).to(dtype))

    def expert_counts(self) -> dict:
        """{layer index: LongTensor [n_routed_experts]} tokens routed per expert in the last forward
        (main layers and MTP layers), for the aux-loss-free bias update."""
        return {i: layer.mlp.last_expert_counts for i, layer in enumerate(self.model.layers)
                if layer.is_moe and layer.mlp.last_expert_counts is not None}

    def routing_margin(self) -> float:
        """Smallest top-k boundary gap over MoE layers in the last forward (near-ties make
        routing fragile in lower precision)."""
        m = [layer.mlp.gate.last_margin for layer in self.main_layers()
             if layer.is_moe and layer.mlp.gate.last_margin is not None]
        return min(m) if m else float("inf")

    # -- forward --------------------------------------------------------------------------------
    def hidden_states(self, ids: torch.Tensor, start_pos: int = 0) -> torch.Tensor:
        """Final-normed hidden states [B, T, H] of the main model."""
        h = self.model.embed_tokens(ids)
        T = ids.shape[1]
        cos, sin = self.rope_cos_sin(torch.arange(start_pos, start_pos + T, device=ids.device), h.dtype)
        for layer in self.main_layers():
            h = layer(h, cos, sin, self.scale)
        return self.model.norm(h)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        squeeze = ids.dim() == 1
        if squeeze:
            ids = ids[None]
        logits = self.lm_head(self.hidden_states(ids))
        return logits[0] if squeeze else logits

    def forward_mtp(self, ids: torch.Tensor, hidden: torch.Tensor, depth: int = 0) -> torch.Tensor:
        """MTP logits [B, T-1, V]: position i combines hidden[:, i] (main model's final-normed
        hidden, as vLLM passes it) with emb(ids[:, i+1]) and predicts ids[:, i+2]."""
        layer = self.mtp_layers()[depth]
        emb = self.model.embed_tokens(ids[:, 1:])
        h = layer.eh_proj(torch.cat((layer.enorm(emb), layer.hnorm(hidden[:, :-1])), dim=-1))
        cos, sin = self.rope_cos_sin(torch.arange(h.shape[1], device=ids.device), h.dtype)
        h = layer(h, cos, sin, self.scale)
        return layer.shared_head.head(layer.shared_head.norm(h))

    @torch.no_grad()
    def forward_incremental(self, ids: torch.Tensor) -> torch.Tensor:
        """Token-by-token decode with the latent cache and absorbed MLA. ids [T] -> logits [T, V]."""
        caches = [dict() for _ in self.main_layers()]
        out = []
        for t in range(ids.shape[0]):
            h = self.model.embed_tokens(ids[t:t + 1][None])
            cos, sin = self.rope_cos_sin(torch.tensor([t]), h.dtype)
            for layer, cache in zip(self.main_layers(), caches):
                h = layer.forward_absorbed(h, cos, sin, self.scale, cache)
            out.append(self.lm_head(self.model.norm(h))[0, 0])
        return torch.stack(out)

    @torch.no_grad()
    def greedy(self, prompt: list, n: int) -> list:
        ids = list(prompt)
        for _ in range(n):
            logits = self(torch.tensor(ids))
            ids.append(int(logits[-1].argmax()))
        return ids[len(prompt):]


def load_config(path: str) -> DeepseekV3Config:
    import json
    with open(path) as f:
        return DeepseekV3Config.from_dict(json.load(f))


def _self_check() -> None:
    """Pytest-free sanity checks: full-sequence forward == absorbed latent-cache decode == per-prefix
    recompute; gradients reach every kind of parameter; MTP and expert counts work; half casts keep
    the router bias in float32."""
    cfg = DeepseekV3Config(vocab_size=97, hidden_size=32, intermediate_size=48, moe_intermediate_size=16,
                           num_hidden_layers=3, num_attention_heads=2, num_key_value_heads=2,
                           n_shared_experts=1, n_routed_experts=8, routed_scaling_factor=2.0,
                           kv_lora_rank=16, q_lora_rank=24, qk_rope_head_dim=8, v_head_dim=8,
                           qk_nope_head_dim=12, n_group=2, topk_group=1, num_experts_per_tok=2,
                           first_k_dense_replace=1, num_nextn_predict_layers=1,
                           rope_scaling={"type": "yarn", "factor": 4.0, "original_max_position_embeddings": 8,
                                         "beta_fast": 32, "beta_slow": 1, "mscale": 1.0, "mscale_all_dim": 0.7})
    torch.manual_seed(0)
    model = DeepseekV3ForCausalLM(cfg, mtp=True).double()
    with torch.no_grad():
        for name, p in model.named_parameters():
            p.normal_(1.0, 0.1) if "norm" in name else p.normal_(0.0, p.shape[-1] ** -0.5)
        for layer in model.main_layers() + model.mtp_layers():
            if layer.is_moe:
                layer.mlp.gate.e_score_correction_bias.uniform_(-0.2, 0.2)
    ids = torch.randint(0, cfg.vocab_size, (20,))
    with torch.no_grad():
        full = model(ids)
        inc = model.forward_incremental(ids)
        prefix = torch.stack([model(ids[:t + 1])[-1] for t in range(len(ids))])
    scale = full.abs().max()
    assert (full - inc).abs().max() / scale < 1e-12, "absorbed decode differs"
    assert (full - prefix).abs().max() / scale < 1e-12, "per-prefix recompute differs"
    batch = torch.randint(0, cfg.vocab_size, (3, 12))
    logits = model(batch)
    hidden = model.hidden_states(batch)
    mtp = model.forward_mtp(batch, hidden)
    assert logits.shape == (3, 12, cfg.vocab_size) and mtp.shape == (3, 11, cfg.vocab_size)
    loss = F.cross_entropy(logits[:, :-1].reshape(-1, cfg.vocab_size), batch[:, 1:].reshape(-1)) \
        + F.cross_entropy(mtp[:, :-1].reshape(-1, cfg.vocab_size), batch[:, 2:].reshape(-1))
    loss.backward()
    for name in ("model.layers.1.mlp.gate.weight", "model.layers.0.mlp.gate_proj.weight",
                 "model.layers.1.self_attn.kv_b_proj.weight", "model.layers.3.eh_proj.weight",
                 "model.embed_tokens.weight"):
        assert model.get_parameter(name).grad.abs().sum() > 0, name
    counts = model.expert_counts()
    assert set(counts) == {1, 2, 3} and all(int(c.sum()) == 3 * 11 * 2 for k, c in counts.items() if k == 3)
    model.to(torch.bfloat16)
    assert model.model.layers[1].mlp.gate.e_score_correction_bias.dtype == torch.float32
    with torch.no_grad():
        half = model(ids).double()
    assert (half - full).abs().max() / scale < 0.2, "bf16 forward far from float64"
    print("reference self-check passed: decode/prefix agree to 1e-12, gradients flow, MTP and counts work")


if __name__ == "__main__":
    _self_check()
