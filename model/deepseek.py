"""DeepSeek-V2/V3 transformer: RMSNorm, YaRN RoPE, Multi-head Latent Attention, routed MoE.

One readable file, in the spirit of DeepSeek-V3's `inference/model.py`. Index letters in einsums:
  b batch, t query tokens, s key tokens, h heads, d per-head dim, r kv_lora_rank (latent),
  n flattened tokens, e experts, k experts per token, m hidden size.

Numerical building blocks (`rms_norm`, `add_rms_norm`, `apply_rope`, `route`, `routed_experts`,
`mla_attention_naive`, `mla_attention_absorb`) are plain functions so faster twins (Triton
kernels) can replace them without touching the modules.

Kernels: RMSNorm (with the residual add fused), RoPE and the routed experts go through
`kernels.dispatch` when it would run Triton (CUDA tensors, `TRITON_INTERPRET=1`, or
`dispatch.backend("triton")`) and the dtypes suit the kernels (float16/bfloat16/float32, one dtype
per op; bfloat16 only on CUDA, see `kernels.dispatch.use_triton`). Everywhere else, and always while autograd
records (training), the plain functions of this file run; they are the torch path the kernels
reproduce. float64 always stays on the plain functions (the kernels would compute it in float32),
so float64 checks stay exact. `dispatch.backend("torch")` turns the kernels off.

Attention modes (one flag, same numbers):
  * `naive`  - decompress per-head keys/values from the latent with kv_b_proj's halves.
  * `absorb` - attend over the latent itself: the key half `w_uk` is folded into the query and the
               value half `w_uv` into the output.

Serving hook: with `cache` given, each attention layer computes its per-token projections and calls
`cache.attend(layer_idx, attn, q_nope, q_pe, c_kv, k_pe)`; the cache stores `c_kv`/`k_pe` and does
the attention. The model keeps no state between calls.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from kernels import dispatch
from kernels.dispatch import rope_inv_freq, yarn_cos_sin_scale, yarn_mscale
from model.config import ModelConfig

AttentionMode = Literal["naive", "absorb"]
INIT_STD = 0.02  # DeepSeek's initializer_range, for weights nn.Linear does not initialise itself
ATTENTION_MODES: tuple[str, ...] = ("naive", "absorb")


class LatentCache(Protocol):
    """What the serving engine's cache offers the model (see module docstring)."""

    def attend(
        self,
        layer_idx: int,
        attn: "MultiHeadLatentAttention",
        q_nope: Tensor,  # [N, H, qk_nope_head_dim]
        q_pe: Tensor,  # [N, H, qk_rope_head_dim], roped
        c_kv: Tensor,  # [N, kv_lora_rank], after kv_a_layernorm
        k_pe: Tensor,  # [N, qk_rope_head_dim], roped
    ) -> Tensor:  # [N, H, v_head_dim]
        ...


# Dtypes the Triton kernels take. float64 stays on the plain functions (see the module docstring).
KERNEL_DTYPES: tuple[torch.dtype, ...] = (torch.float16, torch.bfloat16, torch.float32)


def _kernels_take(x: Tensor, *same_dtype: Tensor, others: tuple[Tensor, ...] = ()) -> bool:
    """True when `kernels.dispatch` would run Triton for these tensors and the dtypes suit it.

    `x` and `same_dtype` must share one of KERNEL_DTYPES; `others` (indices, float32 tables)
    only take part in dispatch's choice (device, autograd, bfloat16 off CUDA)."""
    if x.dtype not in KERNEL_DTYPES or any(t.dtype != x.dtype for t in same_dtype):
        return False
    return dispatch.use_triton(x, *same_dtype, *others)


def _normal(*shape: int, dtype: torch.dtype | None = None) -> Tensor:
    """A freshly initialised weight (a no-op cost on the meta device the loader builds on)."""
    return torch.empty(*shape, dtype=dtype).normal_(0.0, INIT_STD)


# =============================================================================== RMSNorm

def _at_least_float32(dtype: torch.dtype) -> torch.dtype:
    """Precision for norms, softmax and routing: float32, or the input's if wider (float64 tests)."""
    return torch.promote_types(dtype, torch.float32)


def causal_lm_logits(model: nn.Module, lm_head: nn.Module, input_ids: Tensor, positions: Tensor | None,
                     cache, logit_rows: Tensor | None) -> Tensor:
    """A causal LM's forward, the same for every architecture here: `model` (the transformer body)
    over input_ids [batch, tokens] at `positions` (default 0..T-1), then `lm_head` on all rows or
    on `logit_rows` of the flattened batch; logits in at least float32."""
    if input_ids.dim() != 2:
        raise ValueError(f"input_ids must be [batch, tokens], got shape {tuple(input_ids.shape)}")
    if positions is None:
        positions = torch.arange(input_ids.shape[1], device=input_ids.device).expand_as(input_ids)
    elif positions.shape != input_ids.shape:
        raise ValueError(
            f"positions shape {tuple(positions.shape)} must equal input_ids shape {tuple(input_ids.shape)}"
        )
    hidden = model(input_ids, positions, cache)
    if logit_rows is not None:
        hidden = hidden.reshape(-1, hidden.shape[-1])[logit_rows]
    logits = lm_head(hidden)
    return logits.to(_at_least_float32(logits.dtype))


def rms_norm(x: Tensor, weight: Tensor, eps: float) -> Tensor:
    """Root-mean-square norm computed in (at least) float32, scaled by `weight` in the input dtype."""
    input_dtype = x.dtype
    x32 = x.to(_at_least_float32(x.dtype))
    x32 = x32 * torch.rsqrt(x32.pow(2).mean(-1, keepdim=True) + eps)
    return weight * x32.to(input_dtype)


def add_rms_norm(x: Tensor, residual: Tensor, weight: Tensor, eps: float) -> tuple[Tensor, Tensor]:
    """(rms_norm(x + residual), x + residual): the pre-norm block's residual add and its norm."""
    summed = x + residual
    return rms_norm(summed, weight, eps), summed


class RMSNorm(nn.Module):
    """`norm(x)` -> normed x; `norm(x, residual)` -> (normed x + residual, x + residual).

    Through the fused Triton kernel when `kernels.dispatch` runs Triton (see the module docstring).
    """

    def __init__(self, dim: int, eps: float = 1e-6):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x: Tensor, residual: Tensor | None = None) -> Tensor | tuple[Tensor, Tensor]:
        if residual is None:
            if _kernels_take(x, self.weight):
                return dispatch.rmsnorm(x.contiguous(), self.weight, self.eps)
            return rms_norm(x, self.weight, self.eps)
        if _kernels_take(x, self.weight, residual):
            return dispatch.rmsnorm(x.contiguous(), self.weight, self.eps, residual.contiguous())
        return add_rms_norm(x, residual, self.weight, self.eps)


# =============================================================================== RoPE (YaRN)

# The YaRN rules (frequency blend, cos/sin factor, mscale) live with the RoPE kernel, in
# kernels/rope.py, reached through kernels.dispatch.


def attention_softmax_scale(config: ModelConfig) -> float:
    """qk_head_dim ** -0.5, times mscale(factor, mscale_all_dim)² under YaRN."""
    scale = config.qk_head_dim**-0.5
    if config.rope_scaling is not None and config.rope_scaling.mscale_all_dim:
        m = yarn_mscale(config.rope_scaling.factor, config.rope_scaling.mscale_all_dim)
        scale = scale * m * m
    return scale


def apply_rope(x: Tensor, cos: Tensor, sin: Tensor, interleaved: bool = True) -> Tensor:
    """Rotate the last dim of `x` [..., d] by angles given as cos/sin [..., d/2] (broadcast).

    `interleaved`: rotary pairs are (x[2i], x[2i+1]) as DeepSeek's weights lay them out; otherwise
    (x[i], x[i + d/2]). The output is always in half-split layout [rotated firsts | rotated seconds]:
    queries and keys come out in the same layout, so their dot products are the reference's.
    Computed in (at least) float32 and returned in x's dtype.
    """
    x32 = x.to(_at_least_float32(x.dtype))
    if interleaved:
        x1, x2 = x32[..., 0::2], x32[..., 1::2]
    else:
        half = x32.shape[-1] // 2
        x1, x2 = x32[..., :half], x32[..., half:]
    out = torch.cat([x1 * cos - x2 * sin, x2 * cos + x1 * sin], dim=-1)
    return out.to(x.dtype)


class RotaryEmbedding(nn.Module):
    """Positions in, cos/sin [..., dim/2] (float32, YaRN mscale folded in) out. `dim` is the roped
    part of a head: qk_rope_head_dim here, the whole head_dim in the dense models."""

    def __init__(self, config, dim: int | None = None):
        super().__init__()
        self.dim = config.qk_rope_head_dim if dim is None else dim
        self.theta = config.rope_theta
        self.scaling = config.rope_scaling
        self.cos_sin_scale = yarn_cos_sin_scale(config.rope_scaling)
        self.register_buffer("inv_freq", rope_inv_freq(self.dim, self.theta, self.scaling), persistent=False)

    def reset_inv_freq(self) -> None:
        """Recompute the buffer (after `to_empty`, which leaves buffers uninitialised)."""
        with torch.no_grad():
            self.inv_freq.copy_(rope_inv_freq(self.dim, self.theta, self.scaling))

    def forward(self, positions: Tensor) -> tuple[Tensor, Tensor]:
        angles = positions.to(torch.float32)[..., None] * self.inv_freq.to(positions.device)
        return angles.cos() * self.cos_sin_scale, angles.sin() * self.cos_sin_scale


# =============================================================================== MLA

def causal_mask(num_queries: int, num_keys: int, device: torch.device | None = None) -> Tensor:
    """Bool [T, S]: query t sees keys s <= t + (S - T) (queries are the last T of S tokens)."""
    q = torch.arange(num_queries, device=device)[:, None] + (num_keys - num_queries)
    k = torch.arange(num_keys, device=device)[None, :]
    return k <= q


def _softmax_attend(scores: Tensor, mask: Tensor | None) -> Tensor:
    if mask is not None:
        scores = scores.masked_fill(~mask, float("-inf"))
    return torch.softmax(scores, dim=-1, dtype=_at_least_float32(scores.dtype))


def mla_attention_naive(
    q_nope: Tensor,  # [B, T, H, dn]
    q_pe: Tensor,  # [B, T, H, dr]
    c_kv: Tensor,  # [B, S, r]
    k_pe: Tensor,  # [B, S, dr]
    w_uk: Tensor,  # [H, dn, r]
    w_uv: Tensor,  # [H, dv, r]
    softmax_scale: float,
    mask: Tensor | None,  # bool, broadcastable to [B, H, T, S]; True = may attend
) -> Tensor:  # [B, T, H, dv]
    """Decompress per-head keys and values from the latent, then attend."""
    k_nope = torch.einsum("bsr,hdr->bshd", c_kv, w_uk)
    values = torch.einsum("bsr,hdr->bshd", c_kv, w_uv)
    scores = torch.einsum("bthd,bshd->bhts", q_nope, k_nope) + torch.einsum("bthd,bsd->bhts", q_pe, k_pe)
    probs = _softmax_attend(scores * softmax_scale, mask).to(values.dtype)
    return torch.einsum("bhts,bshd->bthd", probs, values)


def mla_attention_absorb(
    q_nope: Tensor,
    q_pe: Tensor,
    c_kv: Tensor,
    k_pe: Tensor,
    w_uk: Tensor,
    w_uv: Tensor,
    softmax_scale: float,
    mask: Tensor | None,
) -> Tensor:
    """Attend over the latent: w_uk folded into the query, w_uv applied after (same shapes as naive)."""
    q_latent = torch.einsum("bthd,hdr->bthr", q_nope, w_uk)
    scores = torch.einsum("bthr,bsr->bhts", q_latent, c_kv) + torch.einsum("bthd,bsd->bhts", q_pe, k_pe)
    probs = _softmax_attend(scores * softmax_scale, mask).to(c_kv.dtype)
    out_latent = torch.einsum("bhts,bsr->bthr", probs, c_kv)
    return torch.einsum("bthr,hdr->bthd", out_latent, w_uv)


MLA_ATTENTION = {"naive": mla_attention_naive, "absorb": mla_attention_absorb}


class MultiHeadLatentAttention(nn.Module):
    """MLA. kv_b_proj is held split: `w_uk` [H, dn, r] (key half) and `w_uv` [H, dv, r] (value half)."""

    def __init__(self, config: ModelConfig, layer_idx: int, attention_mode: AttentionMode = "absorb"):
        super().__init__()
        if attention_mode not in ATTENTION_MODES:
            raise ValueError(f"attention_mode must be one of {ATTENTION_MODES}, got {attention_mode!r}")
        self.layer_idx = layer_idx
        self.attention_mode: AttentionMode = attention_mode
        self.num_heads = config.num_attention_heads
        self.q_lora_rank = config.q_lora_rank
        self.kv_lora_rank = config.kv_lora_rank
        self.qk_nope_head_dim = config.qk_nope_head_dim
        self.qk_rope_head_dim = config.qk_rope_head_dim
        self.v_head_dim = config.v_head_dim
        self.rope_interleave = config.rope_interleave
        self.softmax_scale = attention_softmax_scale(config)
        heads, hidden = config.num_attention_heads, config.hidden_size
        q_out = heads * config.qk_head_dim
        bias = config.attention_bias

        if self.q_lora_rank is None:
            self.q_proj = nn.Linear(hidden, q_out, bias=False)
        else:
            self.q_a_proj = nn.Linear(hidden, self.q_lora_rank, bias=bias)
            # transformers and DeepSeek's code use the default eps for the two low-rank norms
            self.q_a_layernorm = RMSNorm(self.q_lora_rank)
            self.q_b_proj = nn.Linear(self.q_lora_rank, q_out, bias=False)
        self.kv_a_proj_with_mqa = nn.Linear(hidden, self.kv_lora_rank + self.qk_rope_head_dim, bias=bias)
        self.kv_a_layernorm = RMSNorm(self.kv_lora_rank)
        self.w_uk = nn.Parameter(_normal(heads, self.qk_nope_head_dim, self.kv_lora_rank))
        self.w_uv = nn.Parameter(_normal(heads, self.v_head_dim, self.kv_lora_rank))
        self.o_proj = nn.Linear(heads * self.v_head_dim, hidden, bias=bias)

    def project(self, x: Tensor, cos: Tensor, sin: Tensor) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        """x [..., m] -> q_nope [..., H, dn], q_pe [..., H, dr] (roped), c_kv [..., r] (normed), k_pe [..., dr] (roped).

        cos/sin are [..., dr/2] for the same leading dims as x.
        """
        if self.q_lora_rank is None:
            q = self.q_proj(x)
        else:
            q = self.q_b_proj(self.q_a_layernorm(self.q_a_proj(x)))
        q = q.view(*x.shape[:-1], self.num_heads, self.qk_nope_head_dim + self.qk_rope_head_dim)
        q_nope, q_pe = q.split([self.qk_nope_head_dim, self.qk_rope_head_dim], dim=-1)
        kv = self.kv_a_proj_with_mqa(x)
        c_kv, k_pe = kv.split([self.kv_lora_rank, self.qk_rope_head_dim], dim=-1)
        c_kv = self.kv_a_layernorm(c_kv)
        q_pe, k_pe = self.rope(q_pe, k_pe, cos, sin)
        return q_nope, q_pe, c_kv, k_pe

    def rope(self, q_pe: Tensor, k_pe: Tensor, cos: Tensor, sin: Tensor) -> tuple[Tensor, Tensor]:
        """Rotate q_pe [..., H, dr] and k_pe [..., dr] (cos/sin [..., dr/2]); both come out half-split."""
        if not _kernels_take(q_pe, k_pe, others=(cos, sin)):
            q_pe = apply_rope(q_pe, cos.unsqueeze(-2), sin.unsqueeze(-2), self.rope_interleave)
            return q_pe, apply_rope(k_pe, cos, sin, self.rope_interleave)
        # Flatten the tokens so cos/sin are 2-D [N, dr/2] tables: the kernel then indexes one table row
        # per token instead of copying the tables out to every head.
        lead, half = k_pe.shape[:-1], cos.shape[-1]
        cos_rows = cos.expand(*lead, half).reshape(-1, half)
        sin_rows = sin.expand(*lead, half).reshape(-1, half)
        # DeepSeek's interleaved pairs are read as pairs and written half-split, as apply_rope does.
        layout = dict(interleaved=self.rope_interleave, write_half_split=self.rope_interleave, token_axis=0)
        q_rot = dispatch.apply_rope(
            q_pe.reshape(-1, self.num_heads, self.qk_rope_head_dim), cos_rows, sin_rows, **layout
        )
        k_rot = dispatch.apply_rope(k_pe.reshape(-1, self.qk_rope_head_dim), cos_rows, sin_rows, **layout)
        return q_rot.view(q_pe.shape), k_rot.view(k_pe.shape)

    def forward(self, x: Tensor, cos: Tensor, sin: Tensor, cache: LatentCache | None = None) -> Tensor:
        """x [B, T, m] -> [B, T, m]. Without cache: causal attention within each row."""
        q_nope, q_pe, c_kv, k_pe = self.project(x, cos, sin)
        batch, tokens = x.shape[:2]
        if cache is None:
            mask = causal_mask(tokens, tokens, device=x.device)
            attend = MLA_ATTENTION[self.attention_mode]
            out = attend(q_nope, q_pe, c_kv, k_pe, self.w_uk, self.w_uv, self.softmax_scale, mask)
        else:
            flat = batch * tokens
            out = cache.attend(
                self.layer_idx,
                self,
                q_nope.reshape(flat, self.num_heads, self.qk_nope_head_dim),
                q_pe.reshape(flat, self.num_heads, self.qk_rope_head_dim),
                c_kv.reshape(flat, self.kv_lora_rank),
                k_pe.reshape(flat, self.qk_rope_head_dim),
            )
            expected = (flat, self.num_heads, self.v_head_dim)
            if tuple(out.shape) != expected:
                raise ValueError(
                    f"cache.attend for layer {self.layer_idx} returned shape {tuple(out.shape)}, "
                    f"expected {expected} ([N, heads, v_head_dim])"
                )
        return self.o_proj(out.reshape(batch, tokens, self.num_heads * self.v_head_dim).to(x.dtype))


# =============================================================================== MLP and MoE

class MLP(nn.Module):
    """SwiGLU feed-forward: down(silu(gate(x)) * up(x)). Used dense and as the shared experts."""

    def __init__(self, hidden_size: int, intermediate_size: int):
        super().__init__()
        self.gate_proj = nn.Linear(hidden_size, intermediate_size, bias=False)
        self.up_proj = nn.Linear(hidden_size, intermediate_size, bias=False)
        self.down_proj = nn.Linear(intermediate_size, hidden_size, bias=False)

    def forward(self, x: Tensor) -> Tensor:
        return self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))


@dataclass(frozen=True)
class RoutingConfig:
    """The router's settings, read from ModelConfig (see `route`)."""

    top_k: int
    topk_method: str  # greedy | group_limited_greedy | noaux_tc
    scoring_func: str  # softmax | sigmoid
    n_group: int
    topk_group: int
    norm_topk_prob: bool
    routed_scaling_factor: float

    @classmethod
    def from_model_config(cls, config: ModelConfig) -> "RoutingConfig":
        return cls(
            top_k=int(config.num_experts_per_tok or 0),
            topk_method=config.topk_method,
            scoring_func=config.scoring_func,
            n_group=config.n_group or 1,
            topk_group=config.topk_group or 1,
            norm_topk_prob=config.norm_topk_prob,
            routed_scaling_factor=config.routed_scaling_factor,
        )


def route(
    router_logits: Tensor, routing: RoutingConfig, correction_bias: Tensor | None = None
) -> tuple[Tensor, Tensor]:
    """Choose experts per token. router_logits [N, E] -> (topk_idx [N, k] int64, topk_weight [N, k] fp32).

    * greedy: top-k of the scores.
    * group_limited_greedy (V2): a group's score is its max; keep the best `topk_group` groups,
      zero the rest, top-k. Weights × routed_scaling_factor, no renormalisation (as transformers).
    * noaux_tc (V3): selection on score + correction_bias; a group's score is the sum of its top-2
      biased scores; other groups masked with -inf; top-k. Weights are the UNBIASED scores
      gathered, renormalised when norm_topk_prob, × routed_scaling_factor.
    """
    logits = router_logits.to(_at_least_float32(router_logits.dtype))
    if routing.scoring_func == "softmax":
        scores = logits.softmax(dim=-1)
    elif routing.scoring_func == "sigmoid":
        scores = logits.sigmoid()
    else:
        raise ValueError(f"unknown scoring_func {routing.scoring_func!r}")
    num_tokens, num_experts = scores.shape
    per_group = num_experts // routing.n_group

    def group_keep_mask(group_scores: Tensor) -> Tensor:
        kept = torch.topk(group_scores, k=routing.topk_group, dim=-1, sorted=False).indices
        mask = torch.zeros_like(group_scores, dtype=torch.bool).scatter_(1, kept, True)
        return mask.unsqueeze(-1).expand(num_tokens, routing.n_group, per_group).reshape(num_tokens, num_experts)

    if routing.topk_method == "greedy":
        topk_weight, topk_idx = torch.topk(scores, k=routing.top_k, dim=-1, sorted=False)
    elif routing.topk_method == "group_limited_greedy":
        group_scores = scores.view(num_tokens, routing.n_group, per_group).amax(dim=-1)
        masked = scores.masked_fill(~group_keep_mask(group_scores), 0.0)
        topk_weight, topk_idx = torch.topk(masked, k=routing.top_k, dim=-1, sorted=False)
    elif routing.topk_method == "noaux_tc":
        biased = scores if correction_bias is None else scores + correction_bias.to(scores.dtype)
        group_scores = biased.view(num_tokens, routing.n_group, per_group).topk(2, dim=-1).values.sum(dim=-1)
        masked = biased.masked_fill(~group_keep_mask(group_scores), float("-inf"))
        topk_idx = torch.topk(masked, k=routing.top_k, dim=-1, sorted=False).indices
        topk_weight = scores.gather(1, topk_idx)
        if routing.norm_topk_prob:
            topk_weight = topk_weight / (topk_weight.sum(dim=-1, keepdim=True) + 1e-20)
    else:
        raise ValueError(f"unknown topk_method {routing.topk_method!r}")
    return topk_idx, topk_weight * routing.routed_scaling_factor


def routed_experts(
    x: Tensor,  # [N, m]
    gate_up_proj: Tensor,  # [E, 2I, m]: rows [:I] gate, [I:] up
    down_proj: Tensor,  # [E, m, I]
    topk_idx: Tensor,  # [N, k]
    topk_weight: Tensor,  # [N, k]
) -> Tensor:  # [N, m]
    """Weighted sum of each token's chosen experts, looping over the experts that got tokens.

    Written to be cheap under autograd on CPU: the (token, slot) rows are gathered once in expert
    order and scattered back with one index_add_, and the stacked weights are unbound once (their
    backward stacks the per-expert grads) instead of indexed per expert (each index's backward
    would fill a zero tensor of the full stack)."""
    num_tokens, top_k = topk_idx.shape
    flat_expert = topk_idx.reshape(-1)
    order = torch.argsort(flat_expert, stable=True)
    counts = torch.bincount(flat_expert, minlength=gate_up_proj.shape[0]).tolist()
    token_of_slot = order // top_k
    weight_of_slot = topk_weight.reshape(-1)[order]
    rows = x.index_select(0, token_of_slot)  # [N*k, m], grouped by expert
    gate_up_of, down_of = gate_up_proj.unbind(0), down_proj.unbind(0)
    pieces = []
    start = 0
    for expert, count in enumerate(counts):
        if count == 0:
            continue
        gate, up = F.linear(rows[start : start + count], gate_up_of[expert]).chunk(2, dim=-1)
        pieces.append(F.linear(F.silu(gate) * up, down_of[expert]))
        start += count
    if not pieces:
        return torch.zeros_like(x)
    expert_out = torch.cat(pieces) * weight_of_slot[:, None]
    return torch.zeros_like(x).index_add_(0, token_of_slot, expert_out.to(x.dtype))


def routed_experts_static(
    x: Tensor, gate_up_proj: Tensor, down_proj: Tensor, topk_idx: Tensor, topk_weight: Tensor
) -> Tensor:
    """`routed_experts` without data-dependent shapes, for a traced (torch.compile) step: with
    fewer (token, slot) pairs than experts, each pair gathers its expert's weights; otherwise
    every expert runs on every token and the routing weights (zero for unchosen) mix them. A
    symbolic token count (one graph for many batch sizes) always takes the second way, so the
    choice never splits that graph."""
    num_tokens, top_k = topk_idx.shape
    num_experts = gate_up_proj.shape[0]
    if isinstance(num_tokens, int) and num_tokens * top_k < num_experts:
        gate, up = torch.einsum("nkim,nm->nki", gate_up_proj[topk_idx], x).chunk(2, dim=-1)
        out = torch.einsum("nkmi,nki->nkm", down_proj[topk_idx], F.silu(gate) * up)
        return (out * topk_weight[..., None].to(out.dtype)).sum(dim=1).to(x.dtype)
    mix = torch.zeros(num_tokens, num_experts, dtype=topk_weight.dtype, device=x.device)
    mix = mix.scatter(1, topk_idx, topk_weight)
    # Computed transposed (tokens last), so both products read the stacked weights row-major as
    # their left operand: one [E*2I, m] x [m, N] matmul (a view of the weight, no copy), then one
    # [m, I] x [I, N] per expert. On CPU the BLAS runs these ~1.4x faster than x · Wᵀ at 16-32 tokens.
    gate, up = torch.matmul(gate_up_proj, x.t()).chunk(2, dim=1)  # [E, I, N] each
    hidden = (F.silu(gate) * up) * mix.t()[:, None, :].to(x.dtype)
    return torch.bmm(down_proj, hidden).sum(dim=0).t().to(x.dtype)  # [E, m, N] summed -> [N, m]


class Gate(nn.Module):
    """Router weights (kept in float32, as the reference does) and V3's correction bias."""

    def __init__(self, config: ModelConfig):
        super().__init__()
        n_experts = int(config.n_routed_experts or 0)
        self.routing = RoutingConfig.from_model_config(config)
        self.weight = nn.Parameter(_normal(n_experts, config.hidden_size, dtype=torch.float32))
        if config.topk_method == "noaux_tc":
            self.register_buffer("e_score_correction_bias", torch.zeros(n_experts, dtype=torch.float32))
        else:
            self.e_score_correction_bias = None

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        compute = _at_least_float32(torch.promote_types(x.dtype, self.weight.dtype))
        logits = F.linear(x.to(compute), self.weight.to(compute))
        return route(logits, self.routing, self.e_score_correction_bias)


class Experts(nn.Module):
    """The routed experts, stacked: gate_up_proj [E, 2I, m], down_proj [E, m, I]."""

    def __init__(self, config: ModelConfig):
        super().__init__()
        n, inter, hidden = int(config.n_routed_experts or 0), config.moe_intermediate_size, config.hidden_size
        self.gate_up_proj = nn.Parameter(_normal(n, 2 * inter, hidden))
        self.down_proj = nn.Parameter(_normal(n, hidden, inter))

    def forward(self, x: Tensor, topk_idx: Tensor, topk_weight: Tensor) -> Tensor:
        if _kernels_take(x, self.gate_up_proj, self.down_proj, others=(topk_idx, topk_weight)):
            return dispatch.fused_moe(x, self.gate_up_proj, self.down_proj, topk_idx, topk_weight)
        if torch.compiler.is_compiling():  # the serving engine's compiled decode step (static shapes)
            return routed_experts_static(x, self.gate_up_proj, self.down_proj, topk_idx, topk_weight)
        return routed_experts(x, self.gate_up_proj, self.down_proj, topk_idx, topk_weight)


class MoE(nn.Module):
    """Routed experts + shared experts (width moe_intermediate_size × n_shared_experts)."""

    def __init__(self, config: ModelConfig):
        super().__init__()
        self.gate = Gate(config)
        self.experts = Experts(config)
        shared_width = config.moe_intermediate_size * config.n_shared_experts
        self.shared_experts = MLP(config.hidden_size, shared_width) if shared_width else None

    def forward(self, x: Tensor) -> Tensor:
        shape = x.shape
        flat = x.reshape(-1, shape[-1])
        topk_idx, topk_weight = self.gate(flat)
        out = self.experts(flat, topk_idx, topk_weight)
        if self.shared_experts is not None:
            out = out + self.shared_experts(flat)
        return out.view(shape)


# =============================================================================== the transformer

class DecoderLayer(nn.Module):
    def __init__(self, config: ModelConfig, layer_idx: int, attention_mode: AttentionMode):
        super().__init__()
        self.input_layernorm = RMSNorm(config.hidden_size, config.rms_norm_eps)
        self.self_attn = MultiHeadLatentAttention(config, layer_idx, attention_mode)
        self.post_attention_layernorm = RMSNorm(config.hidden_size, config.rms_norm_eps)
        self.mlp: nn.Module = MoE(config) if config.is_moe_layer(layer_idx) else MLP(
            config.hidden_size, config.intermediate_size
        )

    def forward(
        self, hidden: Tensor, residual: Tensor | None, cos: Tensor, sin: Tensor, cache: LatentCache | None
    ) -> tuple[Tensor, Tensor]:
        """The residual stream after this layer is `mlp_out + residual`; returns (mlp_out, residual).

        Keeping the last add open lets it fuse with the next norm (RMSNorm with a residual). For
        the first layer pass residual=None and the embeddings as `hidden`.
        """
        if residual is None:
            residual, normed = hidden, self.input_layernorm(hidden)
        else:
            normed, residual = self.input_layernorm(hidden, residual)
        attn_out = self.self_attn(normed, cos, sin, cache)
        normed, residual = self.post_attention_layernorm(attn_out, residual)
        return self.mlp(normed), residual


class DeepseekModel(nn.Module):
    """Embeddings, decoder layers, final norm (checkpoint prefix `model.`)."""

    def __init__(self, config: ModelConfig, attention_mode: AttentionMode):
        super().__init__()
        self.embed_tokens = nn.Embedding(config.vocab_size, config.hidden_size)
        self.layers = nn.ModuleList(
            DecoderLayer(config, i, attention_mode) for i in range(config.num_hidden_layers)
        )
        self.norm = RMSNorm(config.hidden_size, config.rms_norm_eps)
        self.rotary_emb = RotaryEmbedding(config)

    def forward(self, input_ids: Tensor, positions: Tensor, cache: LatentCache | None) -> Tensor:
        x = self.embed_tokens(input_ids)
        cos, sin = self.rotary_emb(positions)
        residual: Tensor | None = None
        for layer in self.layers:
            x, residual = layer(x, residual, cos, sin, cache)
        if residual is None:  # no layers
            return self.norm(x)
        return self.norm(x, residual)[0]


class DeepseekForCausalLM(nn.Module):
    """The policy: token ids in, next-token logits out.

    `forward(input_ids [B, T], positions=None, cache=None) -> logits [B, T, vocab]` (float32, or
    float64 for a float64 model).
    Positions default to arange(T) per row. Without a cache, attention is causal within each row.
    With a cache (the serving engine), input_ids/positions are [1, N] (tokens of many sequences
    flattened) and each layer hands its projections to `cache.attend`.
    `logit_rows` (optional) selects rows of the flattened [B*T] tokens; logits are then
    [len(logit_rows), vocab] (the engine needs only each sequence's last token).
    """

    def __init__(self, config: ModelConfig, attention_mode: AttentionMode = "absorb"):
        super().__init__()
        if attention_mode not in ATTENTION_MODES:
            raise ValueError(f"attention_mode must be one of {ATTENTION_MODES}, got {attention_mode!r}")
        self.config = config
        self.attention_mode = attention_mode
        self.model = DeepseekModel(config, attention_mode)
        self.lm_head = nn.Linear(config.hidden_size, config.vocab_size, bias=False)
        self.tie_weights()

    def tie_weights(self) -> None:
        """With tie_word_embeddings, the output projection IS the embedding matrix."""
        if self.config.tie_word_embeddings:
            self.lm_head.weight = self.model.embed_tokens.weight

    def set_attention_mode(self, mode: AttentionMode) -> None:
        if mode not in ATTENTION_MODES:
            raise ValueError(f"attention_mode must be one of {ATTENTION_MODES}, got {mode!r}")
        self.attention_mode = mode
        for layer in self.model.layers:
            layer.self_attn.attention_mode = mode

    def reset_non_persistent_buffers(self) -> None:
        """Refill buffers that are not in checkpoints (the RoPE frequencies)."""
        self.model.rotary_emb.reset_inv_freq()

    def forward(
        self,
        input_ids: Tensor,
        positions: Tensor | None = None,
        cache: LatentCache | None = None,
        logit_rows: Tensor | None = None,
    ) -> Tensor:
        return causal_lm_logits(self.model, self.lm_head, input_ids, positions, cache, logit_rows)
