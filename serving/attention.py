"""MLA attention over the paged latent pool, for one engine step.

The model calls `context.attend(layer_idx, attn, q_nope, q_pe, c_kv, k_pe)` for each layer with
the projections of all N tokens of the step (many sequences flattened). The context writes the
new latents into the pool, then:
- sequences feeding one token (decode) use the absorbed path through `kernels.dispatch`
  (the Triton kernel on a GPU, its batched torch twin elsewhere; with shared prefixes the torch
  path reads each prefix once): q_lat = q_nope·W_UK, scores = (q_lat·c_kvᵀ + q_pe·k_peᵀ)·scale,
  out = (softmax·c_kv)·W_UVᵀ;
- sequences feeding several tokens (prefill chunks, recomputation) decompress their cached
  prefix with W_UK/W_UV and attend causally (new tokens see the prefix and earlier new tokens).

Dense (GQA) models call `context.attend_kv(layer_idx, attn, q, k, v)` instead: the context writes
k/v into the paged K/V pool (serving/kv_cache.py); decode tokens go through
`kernels.dispatch.gqa_decode`, prefill chunks attend causally over their gathered keys/values.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from kernels import dispatch
from kernels.dispatch import SharedPrefix
from serving.cache import LatentCachePool


def mla_decode_source(device: torch.device) -> str:
    """Which implementation decode attention uses for tensors on device (for reports)."""
    return dispatch.describe("mla_decode", device)


def gqa_decode_source(device: torch.device) -> str:
    """Which implementation dense models' decode attention uses on device (for reports)."""
    return dispatch.describe("gqa_decode", device)


def causal_mask(num_new: int, num_ctx: int, device: torch.device) -> torch.Tensor | None:
    """Boolean [Q, T] mask (True: attend) of the last Q of T tokens attending causally; None when
    Q == T (scaled_dot_product_attention's is_causal is top-left aligned, right for Q == T only)."""
    if num_new == num_ctx:
        return None
    query_pos = torch.arange(num_ctx - num_new, num_ctx, device=device)
    return torch.arange(num_ctx, device=device)[None, :] <= query_pos[:, None]


def gqa_prefill(q: torch.Tensor, keys: torch.Tensor, values: torch.Tensor, scale: float) -> torch.Tensor:
    """Causal attention of the last Q tokens of a sequence over all its T cached keys/values.
    q [Q,H,d], keys/values [T,G,d] -> [Q,H,d]; query head h reads key/value head h // (H/G).

    Through scaled_dot_product_attention (its fused CPU/GPU kernels never hold the [H,Q,T]
    scores): is_causal when Q == T, else a boolean mask letting query i (position T-Q+i) see
    keys 0..T-Q+i. In (at least) float32."""
    num_new, heads, head_dim = q.shape
    num_ctx, kv_heads = keys.shape[0], keys.shape[1]
    compute = torch.float32 if q.dtype in (torch.float16, torch.bfloat16) else q.dtype
    query = q.to(compute).transpose(0, 1)[None]  # [1, H, Q, d]
    key = keys.to(compute).transpose(0, 1)[None]  # [1, G, T, d]
    value = values.to(compute).transpose(0, 1)[None]
    mask = causal_mask(num_new, num_ctx, q.device)
    out = F.scaled_dot_product_attention(
        query, key, value, attn_mask=mask, is_causal=mask is None, scale=scale, enable_gqa=heads != kv_heads
    )
    return out[0].transpose(0, 1).to(q.dtype)


def mla_prefill(
    q_nope: torch.Tensor,
    q_pe: torch.Tensor,
    context_rows: torch.Tensor,
    w_uk: torch.Tensor,
    w_uv: torch.Tensor,
    scale: float,
) -> torch.Tensor:
    """Causal attention of the last Q tokens of a sequence over all its T cached rows.
    q_nope [Q,H,d_nope], q_pe [Q,H,d_r], context_rows [T, r+d_r] -> [Q,H,d_v]. The cached
    latents are decompressed into per-head keys/values and attended with a fused kernel
    (scaled_dot_product_attention: no [H,Q,T] score tensor in memory)."""
    r = w_uk.shape[-1]
    num_new, num_ctx, heads = q_nope.shape[0], context_rows.shape[0], w_uk.shape[0]
    compute = torch.float32 if q_nope.dtype in (torch.float16, torch.bfloat16) else q_nope.dtype
    c_kv = context_rows[:, :r].to(compute)
    k_pe = context_rows[:, r:].to(compute)
    k_nope = torch.einsum("tr,hdr->htd", c_kv, w_uk.to(compute))
    value = torch.einsum("tr,hvr->htv", c_kv, w_uv.to(compute))
    key = torch.cat([k_nope, k_pe[None].expand(heads, -1, -1)], dim=-1)
    query = torch.cat([q_nope, q_pe], dim=-1).to(compute).transpose(0, 1)
    head_dim, value_dim = key.shape[-1], value.shape[-1]
    if value_dim < head_dim:  # the fused CPU kernel wants one head size: zero columns, cut after
        value = torch.cat([value, value.new_zeros(heads, num_ctx, head_dim - value_dim)], dim=-1)
    mask = causal_mask(num_new, num_ctx, q_nope.device)
    out = F.scaled_dot_product_attention(
        query[None], key[None], value[None], attn_mask=mask, is_causal=mask is None, scale=scale
    )[0, ..., :value_dim]
    return out.transpose(0, 1).to(q_nope.dtype)


@dataclass
class PrefillSpan:
    token_start: int  # first of this sequence's tokens in the step's flattened N
    num_new_tokens: int
    context_len: int  # cached + new tokens after this step
    block_ids: torch.Tensor  # long, the blocks holding the context_len rows


class AttentionContext:
    """What one step's attention needs: where new rows go and which rows each sequence sees."""

    def __init__(
        self,
        pool: LatentCachePool,
        slot_mapping: torch.Tensor,
        prefills: list[PrefillSpan],
        decode_token_idx: torch.Tensor,
        decode_block_table: torch.Tensor,
        decode_seq_lens: torch.Tensor,
        shared_prefixes: list[SharedPrefix] | None = None,
        suffix_block_table: torch.Tensor | None = None,
        suffix_lens: torch.Tensor | None = None,
    ) -> None:
        self.pool = pool
        # optional cascade layout of the same decode batch (used by the torch path only)
        self.shared_prefixes = shared_prefixes or []
        self.suffix_block_table = suffix_block_table
        self.suffix_lens = suffix_lens
        self._cascade_layout = None  # dense models: the packed shared prefixes, built at the first layer
        self.slot_mapping = slot_mapping
        self.prefills = prefills
        self.decode_token_idx = decode_token_idx
        self.decode_block_table = decode_block_table
        self.decode_seq_lens = decode_seq_lens

    def attend(
        self,
        layer_idx: int,
        attn,
        q_nope: torch.Tensor,
        q_pe: torch.Tensor,
        c_kv: torch.Tensor,
        k_pe: torch.Tensor,
    ) -> torch.Tensor:
        self.pool.write(layer_idx, self.slot_mapping, c_kv, k_pe)
        num_tokens, num_heads = q_nope.shape[0], q_nope.shape[1]
        w_uk, w_uv = attn.w_uk, attn.w_uv
        scale = float(attn.softmax_scale)
        out = q_nope.new_empty(num_tokens, num_heads, w_uv.shape[1])
        if self.decode_token_idx.numel():
            idx = self.decode_token_idx
            q_latent = torch.einsum("bhd,hdr->bhr", q_nope[idx], w_uk)
            cache = self.pool.layers[layer_idx]
            if self.shared_prefixes:
                out_latent = dispatch.mla_decode_shared_prefix(
                    q_latent, q_pe[idx].contiguous(), cache, self.decode_block_table, self.decode_seq_lens, scale,
                    self.shared_prefixes, self.suffix_block_table, self.suffix_lens,
                )
            else:
                out_latent = dispatch.mla_decode(
                    q_latent, q_pe[idx].contiguous(), cache, self.decode_block_table, self.decode_seq_lens, scale,
                )
            out[idx] = torch.einsum("bhr,hvr->bhv", out_latent, w_uv).to(out.dtype)
        for span in self.prefills:
            rows = self.pool.gather(layer_idx, span.block_ids, span.context_len)
            new = slice(span.token_start, span.token_start + span.num_new_tokens)
            out[new] = mla_prefill(q_nope[new], q_pe[new], rows, w_uk, w_uv, scale)
        return out

    def _gqa_cascade_layout(self, q: torch.Tensor, block_size: int):
        """The shared prefixes packed for the torch cascade once per step (every layer reads the
        same layout; packing per layer costs host work comparable to the attention itself). On
        CUDA the Triton kernel reads the full block tables, so the plain list is passed on."""
        if q.is_cuda:
            return self.shared_prefixes
        if self._cascade_layout is None:
            self._cascade_layout = dispatch.pack_gqa_cascade(self.shared_prefixes, self.suffix_block_table, self.suffix_lens,
                                                block_size)
        return self._cascade_layout

    def attend_kv(self, layer_idx: int, attn, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        """A dense layer's attention: q [N,H,d], k/v [N,G,d] (roped keys) -> [N,H,d]."""
        self.pool.write(layer_idx, self.slot_mapping, k, v)
        scale = float(attn.softmax_scale)
        out = q.new_empty(q.shape)
        if self.decode_token_idx.numel():
            idx = self.decode_token_idx
            k_cache, v_cache = self.pool.k[layer_idx], self.pool.v[layer_idx]
            if self.shared_prefixes:
                decoded = dispatch.gqa_decode_shared_prefix(
                    q[idx].contiguous(), k_cache, v_cache, self.decode_block_table, self.decode_seq_lens, scale,
                    self._gqa_cascade_layout(q, k_cache.shape[1]), self.suffix_block_table, self.suffix_lens,
                )
            else:
                decoded = dispatch.gqa_decode(
                    q[idx].contiguous(), k_cache, v_cache, self.decode_block_table, self.decode_seq_lens, scale,
                )
            out[idx] = decoded.to(out.dtype)
        for span in self.prefills:
            keys, values = self.pool.gather(layer_idx, span.block_ids, span.context_len)
            new = slice(span.token_start, span.token_start + span.num_new_tokens)
            out[new] = gqa_prefill(q[new], keys, values, scale)
        return out


def paged_latent_decode(
    q_latent: torch.Tensor,
    q_pe: torch.Tensor,
    cache: torch.Tensor,
    block_table: torch.Tensor,
    seq_lens: torch.Tensor,
    scale: float,
) -> torch.Tensor:
    """Absorbed MLA decode over the paged pool in plain torch ops, without host syncs or
    data-dependent shapes, so torch.compile traces it whole: q_latent [B,H,r], q_pe [B,H,d_r],
    cache [NB,BS,r+d_r], block_table [B,W] (rows past seq_len masked), seq_lens [B] >= 1 -> [B,H,r].
    The same arithmetic as `kernels.dispatch.mla_decode`'s torch twin (which checks its inputs
    on the host first)."""
    batch, rank = q_latent.shape[0], q_latent.shape[-1]
    capacity = block_table.shape[1] * cache.shape[1]
    compute = torch.promote_types(q_latent.dtype, torch.float32)
    rows = cache[block_table.long()].reshape(batch, capacity, cache.shape[-1]).to(compute)
    query = torch.cat([q_latent, q_pe], dim=-1).to(compute)
    scores = torch.bmm(query, rows.transpose(1, 2)) * scale  # [B, H, T]
    past_end = torch.arange(capacity, device=cache.device)[None, :] >= seq_lens.long()[:, None]
    probs = dispatch.flushed_softmax(scores, past_end[:, None, :])
    return torch.bmm(probs, rows)[..., :rank].to(q_latent.dtype)


def paged_gqa_decode(
    q: torch.Tensor,
    k_cache: torch.Tensor,
    v_cache: torch.Tensor,
    block_table: torch.Tensor,
    seq_lens: torch.Tensor,
    scale: float,
) -> torch.Tensor:
    """GQA decode over the paged K/V pool in plain torch ops, without host syncs or data-dependent
    shapes (for torch.compile): q [B,H,d], k/v_cache [NB,BS,G,d], block_table [B,W], seq_lens
    [B] >= 1 -> [B,H,d]. The arithmetic of `kernels.dispatch.gqa_decode`'s torch twin."""
    batch, heads, head_dim = q.shape
    kv_heads = k_cache.shape[2]
    capacity = block_table.shape[1] * k_cache.shape[1]
    compute = torch.promote_types(q.dtype, torch.float32)
    table = block_table.long()
    keys = k_cache[table].reshape(batch, capacity, kv_heads, head_dim).to(compute).permute(0, 2, 3, 1)
    values = v_cache[table].reshape(batch, capacity, kv_heads, head_dim).to(compute).transpose(1, 2)
    query = q.to(compute).reshape(batch, kv_heads, heads // kv_heads, head_dim)
    scores = torch.matmul(query, keys) * scale  # [B, G, H/G, T]
    past_end = torch.arange(capacity, device=q.device)[None, :] >= seq_lens.long()[:, None]
    probs = dispatch.flushed_softmax(scores, past_end[:, None, None, :])
    return torch.matmul(probs, values).reshape(batch, heads, head_dim).to(q.dtype)


class DecodeContext:
    """Attention for a step in which every row feeds one token (decode), shaped for tracing and
    capture: fixed tensors only, no Python decisions on their values. Row i writes its latent to
    slot_mapping[i] and attends over the first seq_lens[i] rows of block_table[i]. Padding rows
    (batch buckets) point at the pool's scratch slot with seq_len 1.

    use_kernel: attend through `kernels.dispatch.mla_decode` (the Triton kernel on a GPU, which
    is graph-capturable); otherwise `paged_latent_decode` (what torch.compile traces on CPU)."""

    def __init__(
        self,
        layers: list,  # LatentCachePool.layers (tensors) or KVCachePool.layers ((keys, values) pairs)
        slot_mapping: torch.Tensor,
        block_table: torch.Tensor,
        seq_lens: torch.Tensor,
        use_kernel: bool = False,
    ) -> None:
        self.layers = layers  # the pool's per-layer tensors (LatentCachePool.layers / KVCachePool.layers)
        self.slot_mapping = slot_mapping
        self.block_table = block_table
        self.seq_lens = seq_lens
        self.use_kernel = use_kernel

    def attend(self, layer_idx: int, attn, q_nope, q_pe, c_kv, k_pe) -> torch.Tensor:
        cache = self.layers[layer_idx]
        # one in-place row copy (two sliced index_puts would make torch.compile copy the pool)
        cache.view(-1, cache.shape[-1]).index_copy_(0, self.slot_mapping, torch.cat([c_kv, k_pe], dim=-1).to(cache.dtype))
        q_latent = torch.einsum("bhd,hdr->bhr", q_nope, attn.w_uk)
        scale = float(attn.softmax_scale)
        if self.use_kernel:
            out_latent = dispatch.mla_decode(q_latent, q_pe.contiguous(), cache, self.block_table, self.seq_lens, scale)
        else:
            out_latent = paged_latent_decode(q_latent, q_pe, cache, self.block_table, self.seq_lens, scale)
        return torch.einsum("bhr,hvr->bhv", out_latent, attn.w_uv).to(q_nope.dtype)

    def attend_kv(self, layer_idx: int, attn, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        """A dense layer's decode (see `AttentionContext.attend_kv`), in fixed-shape ops."""
        k_cache, v_cache = self.layers[layer_idx]  # a dense pool's layers are (keys, values) pairs
        rows = (-1, *k_cache.shape[2:])
        k_cache.view(rows).index_copy_(0, self.slot_mapping, k.to(k_cache.dtype))
        v_cache.view(rows).index_copy_(0, self.slot_mapping, v.to(v_cache.dtype))
        scale = float(attn.softmax_scale)
        if self.use_kernel:
            out = dispatch.gqa_decode(q.contiguous(), k_cache, v_cache, self.block_table, self.seq_lens, scale)
        else:
            out = paged_gqa_decode(q, k_cache, v_cache, self.block_table, self.seq_lens, scale)
        return out.to(q.dtype)
