"""MLA attention over the paged latent pool, for one engine step.

The model calls `context.attend(layer_idx, attn, q_nope, q_pe, c_kv, k_pe)` for each layer with
the projections of all N tokens of the step (many sequences flattened). The context writes the
new latents into the pool, then:
- sequences feeding one token (decode) use the absorbed path through `mla_decode` (the Triton
  kernel via kernels.dispatch where that module exists, else the torch function below):
  q_lat = q_nope·W_UK, scores = (q_lat·c_kvᵀ + q_pe·k_peᵀ)·scale, out = (softmax·c_kv)·W_UVᵀ;
- sequences feeding several tokens (prefill chunks, recomputation) decompress their cached
  prefix with W_UK/W_UV and attend causally (new tokens see the prefix and earlier new tokens).
"""

from __future__ import annotations

from dataclasses import dataclass
import torch

from serving.cache import LatentCachePool


def mla_decode_torch(
    q_latent: torch.Tensor,
    q_pe: torch.Tensor,
    cache: torch.Tensor,
    block_table: torch.Tensor,
    seq_lens: torch.Tensor,
    scale: float,
) -> torch.Tensor:
    """Absorbed MLA decode over a paged cache. q_latent [B,H,r], q_pe [B,H,d_r],
    cache [num_blocks, block_size, r+d_r], block_table int32 [B, max_blocks], seq_lens int32 [B]
    -> out_latent [B,H,r] (before W_UV)."""
    r = q_latent.shape[-1]
    batch, max_blocks = block_table.shape
    block_size = cache.shape[1]
    compute = torch.float32 if q_latent.dtype in (torch.float16, torch.bfloat16) else q_latent.dtype
    rows = cache[block_table.long()].reshape(batch, max_blocks * block_size, -1).to(compute)  # [B, T, r+d_r]
    # one product over whole rows: q·[c_kv | k_pe] = q_lat·c_kv + q_pe·k_pe, no sliced copies
    query = torch.cat([q_latent, q_pe], dim=-1).to(compute)
    scores = torch.bmm(query, rows.transpose(1, 2)) * scale  # [B, H, T]
    positions = torch.arange(max_blocks * block_size, device=cache.device)
    scores = scores.masked_fill((positions[None, :] >= seq_lens.long()[:, None])[:, None, :], float("-inf"))
    probs = torch.softmax(scores, dim=-1)
    return torch.bmm(probs, rows)[..., :r].to(q_latent.dtype)


try:
    from kernels import dispatch as _kernels
except ImportError:  # the kernels package is optional for the engine
    _kernels = None


def mla_decode(q_latent, q_pe, cache, block_table, seq_lens, scale) -> torch.Tensor:
    """The Triton kernel through kernels.dispatch where dispatch would run Triton (CUDA tensors,
    TRITON_INTERPRET=1, or a forced backend); elsewhere mla_decode_torch, which batches all
    sequences in one gather (dispatch's own torch twin loops over sequences: ~4-7x slower on
    CPU at batch 64-256)."""
    if _kernels is not None and _kernels.use_triton(q_latent, q_pe, cache):
        return _kernels.mla_decode(q_latent, q_pe, cache, block_table, seq_lens, scale)
    return mla_decode_torch(q_latent, q_pe, cache, block_table, seq_lens, scale)


def mla_decode_source(device: torch.device) -> str:
    """Which implementation decode attention uses for tensors on device (for reports)."""
    if _kernels is not None and _kernels.use_triton(torch.empty(0, device=device)):
        return "kernels.dispatch.mla_decode (Triton)"
    return "serving.attention.mla_decode_torch"


def mla_prefill(
    q_nope: torch.Tensor,
    q_pe: torch.Tensor,
    context_rows: torch.Tensor,
    w_uk: torch.Tensor,
    w_uv: torch.Tensor,
    scale: float,
) -> torch.Tensor:
    """Causal attention of the last Q tokens of a sequence over all its T cached rows.
    q_nope [Q,H,d_nope], q_pe [Q,H,d_r], context_rows [T, r+d_r] -> [Q,H,d_v]."""
    r = w_uk.shape[-1]
    num_new, num_ctx = q_nope.shape[0], context_rows.shape[0]
    compute = torch.float32 if q_nope.dtype in (torch.float16, torch.bfloat16) else q_nope.dtype
    c_kv = context_rows[:, :r].to(compute)
    k_pe = context_rows[:, r:].to(compute)
    k_nope = torch.einsum("tr,hdr->thd", c_kv, w_uk.to(compute))
    value = torch.einsum("tr,hvr->thv", c_kv, w_uv.to(compute))
    scores = torch.einsum("qhd,thd->hqt", q_nope.to(compute), k_nope)
    scores = scores + torch.einsum("qhd,td->hqt", q_pe.to(compute), k_pe)
    scores = scores * scale
    query_pos = torch.arange(num_ctx - num_new, num_ctx, device=q_nope.device)
    key_pos = torch.arange(num_ctx, device=q_nope.device)
    scores = scores.masked_fill(key_pos[None, None, :] > query_pos[None, :, None], float("-inf"))
    probs = torch.softmax(scores, dim=-1)
    return torch.einsum("hqt,thv->qhv", probs, value).to(q_nope.dtype)


def _partial_attention(query: torch.Tensor, rows: torch.Tensor, scale: float, valid: torch.Tensor | None = None):
    """Unnormalised attention of query [B,H,D] over rows [B,T,D] (D = r + d_r): returns
    (sum_t e_t·rows_t [B,H,D], max score [B,H,1], sum_t e_t [B,H,1]) with e_t = exp(s_t - max),
    so partial results over disjoint row sets can be merged exactly."""
    scores = torch.bmm(query, rows.transpose(1, 2)) * scale
    if valid is not None:
        scores = scores.masked_fill(~valid[:, None, :], float("-inf"))
    top = scores.amax(dim=-1, keepdim=True)
    weights = torch.exp(scores - top)
    return torch.bmm(weights, rows), top, weights.sum(dim=-1, keepdim=True)


@dataclass
class SharedPrefix:
    """Decode sequences (rows `members` of the decode batch) whose block tables start with the
    same `num_blocks` blocks: n samples of one request share their prompt's blocks."""

    members: torch.Tensor  # long [G]
    block_ids: torch.Tensor  # long [num_blocks]


def mla_decode_shared_prefix(
    q_latent: torch.Tensor,
    q_pe: torch.Tensor,
    cache: torch.Tensor,
    groups: list[SharedPrefix],
    suffix_block_table: torch.Tensor,
    suffix_lens: torch.Tensor,
    scale: float,
) -> torch.Tensor:
    """Absorbed decode like mla_decode_torch, but each shared prefix is read once for all the
    sequences sharing it (cascade attention) instead of once per sequence; each sequence's own
    rows (suffix_block_table, suffix_lens >= 1) are read per sequence; the two partial softmaxes
    are merged exactly. On CPU this cuts the rows gathered per step by about n for n samples."""
    r = q_latent.shape[-1]
    compute = torch.float32 if q_latent.dtype in (torch.float16, torch.bfloat16) else q_latent.dtype
    query = torch.cat([q_latent, q_pe], dim=-1).to(compute)
    batch, heads, width = query.shape
    rows = cache[suffix_block_table.long()].reshape(batch, -1, width).to(compute)
    valid = torch.arange(rows.shape[1], device=cache.device)[None, :] < suffix_lens.long()[:, None]
    acc, top, total = _partial_attention(query, rows, scale, valid)
    for group in groups:
        prefix = cache[group.block_ids].reshape(1, -1, width).to(compute)
        members = group.members
        g_query = query[members].reshape(1, -1, width)  # all members' heads against one copy
        g_acc, g_top, g_total = _partial_attention(g_query, prefix, scale)
        g_acc = g_acc.reshape(len(members), heads, width)
        g_top = g_top.reshape(len(members), heads, 1)
        g_total = g_total.reshape(len(members), heads, 1)
        new_top = torch.maximum(top[members], g_top)
        old_w, new_w = torch.exp(top[members] - new_top), torch.exp(g_top - new_top)
        acc[members] = acc[members] * old_w + g_acc * new_w
        total[members] = total[members] * old_w + g_total * new_w
        top[members] = new_top
    return (acc[..., :r] / total).to(q_latent.dtype)


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
        out = q_nope.new_empty(num_tokens, num_heads, w_uv.shape[1])
        if self.decode_token_idx.numel():
            idx = self.decode_token_idx
            q_latent = torch.einsum("bhd,hdr->bhr", q_nope[idx], w_uk)
            cache = self.pool.layers[layer_idx]
            if self.shared_prefixes and not (_kernels is not None and _kernels.use_triton(q_latent, cache)):
                out_latent = mla_decode_shared_prefix(
                    q_latent, q_pe[idx], cache, self.shared_prefixes, self.suffix_block_table, self.suffix_lens,
                    float(attn.softmax_scale),
                )
            else:
                out_latent = mla_decode(
                    q_latent,
                    q_pe[idx].contiguous(),
                    cache,
                    self.decode_block_table,
                    self.decode_seq_lens,
                    float(attn.softmax_scale),
                )
            out[idx] = torch.einsum("bhr,hvr->bhv", out_latent, w_uv).to(out.dtype)
        for span in self.prefills:
            rows = self.pool.gather(layer_idx, span.block_ids, span.context_len)
            new = slice(span.token_start, span.token_start + span.num_new_tokens)
            out[new] = mla_prefill(q_nope[new], q_pe[new], rows, w_uk, w_uv, float(attn.softmax_scale))
        return out
