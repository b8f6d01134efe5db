"""Dense decoder transformers: Llama, Qwen2, Qwen3 (GQA, RMSNorm, SwiGLU, RoPE).

One readable file beside `model/deepseek.py`, sharing its building blocks (RMSNorm with the fused
residual add, the SwiGLU MLP, the causal mask) and reaching kernels only through `kernels.dispatch`.
Index letters: b batch, t query tokens, s key tokens, h query heads, g key/value heads, d head dim.

What the three differ in (read from `DenseConfig`, see model/dense_config.py): biases on q/k/v
(Qwen2 always, Llama/Qwen3 with `attention_bias`, which also biases o_proj), Qwen3's RMSNorm over
each head of q and k before RoPE, and `head_dim`. RoPE rotates half-split pairs (x[i], x[i + d/2]),
transformers' `rotate_half` convention, with cos/sin from `kernels.dispatch.rope_inv_freq` (default,
linear, llama3, yarn) times YaRN's magnitude factor.

Serving hook: with `cache` given, each attention layer calls
`cache.attend_kv(layer_idx, attn, q [N, H, d], k [N, G, d], v [N, G, d]) -> [N, H, d]`; the engine's
context stores k/v in its paged K/V pool and attends. The model keeps no state between calls.
"""
from __future__ import annotations

from typing import Protocol

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from kernels import dispatch
from model.deepseek import RMSNorm, RotaryEmbedding, _at_least_float32, _kernels_take, causal_lm_logits, causal_mask
from model.dense_config import DenseConfig


class KVCache(Protocol):
    """What the serving engine's attention context offers a dense model (see module docstring)."""

    def attend_kv(self, layer_idx: int, attn: "GQAttention", q: Tensor, k: Tensor, v: Tensor) -> Tensor:
        ...


def apply_rope_half_split(x: Tensor, cos: Tensor, sin: Tensor) -> Tensor:
    """Rotate x [..., T, n_heads, d] with cos/sin [..., T, d/2] (float32), half-split pairs.

    Through the Triton RoPE kernel when dispatch runs Triton; otherwise in (at least) float32."""
    cos, sin = cos.unsqueeze(-2), sin.unsqueeze(-2)  # broadcast over heads
    if _kernels_take(x, others=(cos, sin)):
        return dispatch.apply_rope(x, cos, sin, False)
    x32 = x.to(_at_least_float32(x.dtype))
    half = x.shape[-1] // 2
    x1, x2 = x32[..., :half], x32[..., half:]
    return torch.cat([x1 * cos - x2 * sin, x2 * cos + x1 * sin], dim=-1).to(x.dtype)


def gqa_attention(q: Tensor, k: Tensor, v: Tensor, scale: float, mask: Tensor | None) -> Tensor:
    """q [B, T, H, d], k/v [B, S, G, d] -> [B, T, H, d]; query head h reads key/value head h // (H/G).

    Scores and softmax in (at least) float32."""
    groups = q.shape[2] // k.shape[2]
    compute = _at_least_float32(q.dtype)
    k = k.to(compute).repeat_interleave(groups, dim=2)
    v = v.to(compute).repeat_interleave(groups, dim=2)
    scores = torch.einsum("bthd,bshd->bhts", q.to(compute), k) * scale
    if mask is not None:
        scores = scores.masked_fill(~mask, float("-inf"))
    probs = torch.softmax(scores, dim=-1)
    return torch.einsum("bhts,bshd->bthd", probs, v).to(q.dtype)


class GQAttention(nn.Module):
    """Grouped-query attention with optional q/k/v(/o) biases and Qwen3's per-head q/k norms."""

    def __init__(self, config: DenseConfig, layer_idx: int):
        super().__init__()
        self.layer_idx = layer_idx
        self.num_heads, self.num_kv_heads = config.num_attention_heads, config.num_key_value_heads
        self.head_dim = config.head_dim
        self.softmax_scale = config.softmax_scale
        hidden, d = config.hidden_size, config.head_dim
        self.q_proj = nn.Linear(hidden, self.num_heads * d, bias=config.qkv_bias)
        self.k_proj = nn.Linear(hidden, self.num_kv_heads * d, bias=config.qkv_bias)
        self.v_proj = nn.Linear(hidden, self.num_kv_heads * d, bias=config.qkv_bias)
        self.o_proj = nn.Linear(self.num_heads * d, hidden, bias=config.o_bias)
        self.q_norm = RMSNorm(d, config.rms_norm_eps) if config.qk_norm else None
        self.k_norm = RMSNorm(d, config.rms_norm_eps) if config.qk_norm else None

    def project(self, x: Tensor, cos: Tensor, sin: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """x [B, T, m] -> roped q [B, T, H, d], roped k [B, T, G, d], v [B, T, G, d]."""
        batch, tokens = x.shape[:2]
        q = self.q_proj(x).view(batch, tokens, self.num_heads, self.head_dim)
        k = self.k_proj(x).view(batch, tokens, self.num_kv_heads, self.head_dim)
        v = self.v_proj(x).view(batch, tokens, self.num_kv_heads, self.head_dim)
        if self.q_norm is not None:
            q, k = self.q_norm(q), self.k_norm(k)
        return apply_rope_half_split(q, cos, sin), apply_rope_half_split(k, cos, sin), v

    def forward(self, x: Tensor, cos: Tensor, sin: Tensor, cache: KVCache | None = None) -> Tensor:
        """x [B, T, m] -> [B, T, m]. Without cache: causal attention within each row."""
        q, k, v = self.project(x, cos, sin)
        batch, tokens = x.shape[:2]
        if cache is None:
            out = gqa_attention(q, k, v, self.softmax_scale, causal_mask(tokens, tokens, device=x.device))
        else:
            flat = batch * tokens
            out = cache.attend_kv(
                self.layer_idx,
                self,
                q.reshape(flat, self.num_heads, self.head_dim),
                k.reshape(flat, self.num_kv_heads, self.head_dim),
                v.reshape(flat, self.num_kv_heads, self.head_dim),
            )
            expected = (flat, self.num_heads, self.head_dim)
            if tuple(out.shape) != expected:
                raise ValueError(
                    f"cache.attend_kv for layer {self.layer_idx} returned shape {tuple(out.shape)}, "
                    f"expected {expected} ([N, heads, head_dim])"
                )
        return self.o_proj(out.reshape(batch, tokens, self.num_heads * self.head_dim).to(x.dtype))


class DenseMLP(nn.Module):
    """SwiGLU: down(silu(gate(x)) * up(x)), with Llama's optional `mlp_bias`."""

    def __init__(self, config: DenseConfig):
        super().__init__()
        hidden, inter, bias = config.hidden_size, config.intermediate_size, config.mlp_bias
        self.gate_proj = nn.Linear(hidden, inter, bias=bias)
        self.up_proj = nn.Linear(hidden, inter, bias=bias)
        self.down_proj = nn.Linear(inter, hidden, bias=bias)

    def forward(self, x: Tensor) -> Tensor:
        return self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))


class DenseDecoderLayer(nn.Module):
    def __init__(self, config: DenseConfig, layer_idx: int):
        super().__init__()
        self.input_layernorm = RMSNorm(config.hidden_size, config.rms_norm_eps)
        self.self_attn = GQAttention(config, layer_idx)
        self.post_attention_layernorm = RMSNorm(config.hidden_size, config.rms_norm_eps)
        self.mlp = DenseMLP(config)

    def forward(
        self, hidden: Tensor, residual: Tensor | None, cos: Tensor, sin: Tensor, cache: KVCache | None
    ) -> tuple[Tensor, Tensor]:
        """Returns (mlp_out, residual); the stream after this layer is their sum (the add is left
        open to fuse with the next norm, as in model/deepseek.py)."""
        if residual is None:
            residual, normed = hidden, self.input_layernorm(hidden)
        else:
            normed, residual = self.input_layernorm(hidden, residual)
        attn_out = self.self_attn(normed, cos, sin, cache)
        normed, residual = self.post_attention_layernorm(attn_out, residual)
        return self.mlp(normed), residual


class DenseModel(nn.Module):
    """Embeddings, decoder layers, final norm (checkpoint prefix `model.`)."""

    def __init__(self, config: DenseConfig):
        super().__init__()
        self.embed_tokens = nn.Embedding(config.vocab_size, config.hidden_size)
        self.layers = nn.ModuleList(DenseDecoderLayer(config, i) for i in range(config.num_hidden_layers))
        self.norm = RMSNorm(config.hidden_size, config.rms_norm_eps)
        self.rotary_emb = RotaryEmbedding(config, dim=config.head_dim)

    def forward(self, input_ids: Tensor, positions: Tensor, cache: KVCache | None) -> Tensor:
        x = self.embed_tokens(input_ids)
        cos, sin = self.rotary_emb(positions)
        residual: Tensor | None = None
        for layer in self.layers:
            x, residual = layer(x, residual, cos, sin, cache)
        if residual is None:
            return self.norm(x)
        return self.norm(x, residual)[0]


class DenseForCausalLM(nn.Module):
    """A Llama / Qwen2 / Qwen3 policy: token ids in, next-token logits out.

    Same calling convention as `DeepseekForCausalLM`: `forward(input_ids [B, T], positions=None,
    cache=None, logit_rows=None) -> logits` (float32, or float64 for a float64 model)."""

    def __init__(self, config: DenseConfig):
        super().__init__()
        self.config = config
        self.model = DenseModel(config)
        self.lm_head = nn.Linear(config.hidden_size, config.vocab_size, bias=False)
        self.tie_weights()

    def tie_weights(self) -> None:
        """With tie_word_embeddings, the output projection IS the embedding matrix."""
        if self.config.tie_word_embeddings:
            self.lm_head.weight = self.model.embed_tokens.weight

    def reset_non_persistent_buffers(self) -> None:
        self.model.rotary_emb.reset_inv_freq()

    def forward(
        self,
        input_ids: Tensor,
        positions: Tensor | None = None,
        cache: KVCache | None = None,
        logit_rows: Tensor | None = None,
    ) -> Tensor:
        return causal_lm_logits(self.model, self.lm_head, input_ids, positions, cache, logit_rows)
