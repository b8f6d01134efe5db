"""Paged grouped-query-attention decode with split-KV flash decoding, and its torch twin.

One query token per sequence attends over that sequence's cached keys and values. The cache of
one layer is two tensors, `k_cache` and `v_cache`, each [num_blocks, block_size, G, d] (G key/value
heads); a sequence's token t sits in block `block_table[b, t // block_size]`, row `t % block_size`.
Query head h reads key/value head h // (H / G) (transformers' `repeat_kv` grouping).

    scores[b, h, t] = q[b, h] · k[t, h // (H/G)] · scale
    out[b, h]       = softmax_t(scores[b, h]) · v[·, h // (H/G)]      -> [B, H, d]

Kernel plan (the MLA decode's, kernels/mla_decode.py, with one key/value head per program):
1. `_gqa_split_kernel`, grid (B, G, splits): the H/G query heads that share one key/value head
   (padded to 16 rows for `tl.dot`) walk one contiguous range of the sequence's tokens in tiles of
   BLOCK_N (gathered through the block table) with an online softmax; each K/V tile is loaded once
   for the whole group. It writes the normalised partial output and its log-sum-exp (base 2).
2. the MLA decode's merge kernel, grid (B, H), combines the splits by their log-sum-exps.

A sequence with seq_len 0 (an idle batch slot) gets an all-zero output in both twins.
"""

from __future__ import annotations

import torch
import triton.language as tl

from kernels.launch import cdiv, next_power_of_2, scratch, triton_kernel
from kernels.mla_decode import SharedPrefix, _mla_merge_kernel, default_num_splits

_LOG2E = 1.4426950408889634


def _check(
    q: torch.Tensor, k_cache: torch.Tensor, v_cache: torch.Tensor, block_table: torch.Tensor, seq_lens: torch.Tensor
) -> tuple[int, int, int, int]:
    if q.dim() != 3:
        raise ValueError(f"gqa_decode: q must be [B, H, d], got {tuple(q.shape)}")
    batch, heads, head_dim = q.shape
    if k_cache.dim() != 4 or k_cache.shape[3] != head_dim or v_cache.shape != k_cache.shape:
        raise ValueError(
            f"gqa_decode: k_cache and v_cache must both be [num_blocks, block_size, G, d={head_dim}], got "
            f"{tuple(k_cache.shape)} and {tuple(v_cache.shape)}"
        )
    kv_heads = k_cache.shape[2]
    if heads % kv_heads:
        raise ValueError(f"gqa_decode: the {kv_heads} key/value heads must divide the {heads} query heads")
    if block_table.dim() != 2 or block_table.shape[0] != batch:
        raise ValueError(f"gqa_decode: block_table must be [B={batch}, max_blocks], got {tuple(block_table.shape)}")
    if seq_lens.shape != (batch,):
        raise ValueError(f"gqa_decode: seq_lens must be [B={batch}], got {tuple(seq_lens.shape)}")
    if block_table.dtype not in (torch.int32, torch.int64) or seq_lens.dtype not in (torch.int32, torch.int64):
        raise ValueError("gqa_decode: block_table and seq_lens must be integer tensors (int32)")
    return batch, heads, kv_heads, head_dim


def gqa_decode_reference(
    q: torch.Tensor,
    k_cache: torch.Tensor,
    v_cache: torch.Tensor,
    block_table: torch.Tensor,
    seq_lens: torch.Tensor,
    scale: float,
) -> torch.Tensor:
    """Plain-torch twin of `gqa_decode`, and the CPU path of the engine.

    All sequences at once: one gather of every block-table row, positions at or past seq_len
    masked; softmax in (at least) float32. The query heads of one key/value head are laid side by
    side ([B, G, H/G, d]) so the keys are never copied per query head."""
    batch, heads, kv_heads, head_dim = _check(q, k_cache, v_cache, block_table, seq_lens)
    capacity = block_table.shape[1] * k_cache.shape[1]
    too_long = (seq_lens > capacity).nonzero()
    if too_long.numel():
        b = int(too_long[0, 0])
        raise ValueError(
            f"gqa_decode: seq_lens[{b}] = {int(seq_lens[b])} exceeds the block table's capacity "
            f"{block_table.shape[1]} x {k_cache.shape[1]}"
        )
    compute = torch.promote_types(q.dtype, torch.float32)
    table = block_table.long()
    keys = k_cache[table].reshape(batch, capacity, kv_heads, head_dim).to(compute).permute(0, 2, 3, 1)  # [B,G,d,T]
    values = v_cache[table].reshape(batch, capacity, kv_heads, head_dim).to(compute).transpose(1, 2)  # [B,G,T,d]
    query = q.to(compute).view(batch, kv_heads, heads // kv_heads, head_dim)
    scores = torch.matmul(query, keys) * scale  # [B, G, H/G, T]
    past_end = torch.arange(capacity, device=q.device)[None, :] >= seq_lens.long()[:, None]
    probs = torch.softmax(scores.masked_fill(past_end[:, None, None, :], float("-inf")), dim=-1)
    probs = probs.masked_fill((seq_lens == 0)[:, None, None, None], 0.0)  # an idle slot: zeros, not NaN
    return torch.matmul(probs, values).reshape(batch, heads, head_dim).to(q.dtype)


def _partial_attention(query: torch.Tensor, keys: torch.Tensor, values: torch.Tensor, scale: float,
                       valid: torch.Tensor | None = None):
    """Unnormalised attention of query [B,G,R,d] over keys [B,G,d,T] / values [B,G,T,d]: returns
    (sum_t e_t·v_t [B,G,R,d], max score [B,G,R,1], sum_t e_t [B,G,R,1]) with e_t = exp(s_t - max),
    so partial results over disjoint token sets merge exactly. valid [B,T] masks tokens."""
    scores = torch.matmul(query, keys) * scale
    if valid is not None:
        scores = scores.masked_fill(~valid[:, None, None, :], float("-inf"))
    top = scores.amax(dim=-1, keepdim=True)
    weights = torch.exp(scores - top)
    return torch.matmul(weights, values), top, weights.sum(dim=-1, keepdim=True)


def gqa_decode_cascade_reference(
    q: torch.Tensor,
    k_cache: torch.Tensor,
    v_cache: torch.Tensor,
    groups: list[SharedPrefix],
    suffix_block_table: torch.Tensor,
    suffix_lens: torch.Tensor,
    scale: float,
) -> torch.Tensor:
    """Torch decode like `gqa_decode_reference`, but each shared prefix (the prompt blocks of n
    samples) is gathered once and attended by all its sequences' queries in one product; each
    sequence's own rows (suffix_block_table, suffix_lens >= 1) are read per sequence; the two
    partial softmaxes are merged exactly. On CPU this cuts the rows gathered per step by about n.
    No Triton kernel: on a GPU the paged kernel reads the full block tables."""
    batch, heads, head_dim = q.shape
    kv_heads = k_cache.shape[2]
    group_size = heads // kv_heads
    compute = torch.promote_types(q.dtype, torch.float32)
    query = q.to(compute).view(batch, kv_heads, group_size, head_dim)
    table = suffix_block_table.long()
    width = table.shape[1] * k_cache.shape[1]
    keys = k_cache[table].reshape(batch, width, kv_heads, head_dim).to(compute).permute(0, 2, 3, 1)
    values = v_cache[table].reshape(batch, width, kv_heads, head_dim).to(compute).transpose(1, 2)
    valid = torch.arange(width, device=q.device)[None, :] < suffix_lens.long()[:, None]
    acc, top, total = _partial_attention(query, keys, values, scale, valid)
    for group in groups:
        members = group.members
        count = members.numel()
        prefix_k = k_cache[group.block_ids].reshape(-1, kv_heads, head_dim).to(compute)  # [P, G, d]
        prefix_v = v_cache[group.block_ids].reshape(-1, kv_heads, head_dim).to(compute)
        # all members' query heads of one key/value head side by side: [1, G, members·R, d]
        g_query = query[members].transpose(0, 1).reshape(1, kv_heads, count * group_size, head_dim)
        g_acc, g_top, g_total = _partial_attention(
            g_query, prefix_k.permute(1, 2, 0)[None], prefix_v.transpose(0, 1)[None], scale
        )

        # back to [members, G, R, ...]
        g_acc, g_top, g_total = (
            t[0].reshape(kv_heads, count, group_size, t.shape[-1]).transpose(0, 1) for t in (g_acc, g_top, g_total)
        )
        new_top = torch.maximum(top[members], g_top)
        old_w, new_w = torch.exp(top[members] - new_top), torch.exp(g_top - new_top)
        acc[members] = acc[members] * old_w + g_acc * new_w
        total[members] = total[members] * old_w + g_total * new_w
        top[members] = new_top
    return (acc / total).reshape(batch, heads, head_dim).to(q.dtype)


@triton_kernel
def _gqa_split_kernel(
    q_ptr, k_cache_ptr, v_cache_ptr, block_table_ptr, seq_lens_ptr,
    partial_out_ptr, partial_lse_ptr,
    qk_scale_log2,
    group_size, head_dim, block_size, split_len,
    stride_q_b, stride_q_h,
    stride_k_block, stride_k_row, stride_k_head,
    stride_v_block, stride_v_row, stride_v_head,
    stride_bt_b,
    stride_po_b, stride_po_h, stride_po_s, stride_pl_b, stride_pl_h,
    BLOCK_H: tl.constexpr, BLOCK_N: tl.constexpr, BLOCK_D: tl.constexpr, IEEE_DOT: tl.constexpr,
):
    batch_index = tl.program_id(0)
    kv_head = tl.program_id(1)
    split_index = tl.program_id(2)

    seq_len = tl.load(seq_lens_ptr + batch_index)
    split_start = split_index * split_len
    split_end = tl.minimum(split_start + split_len, seq_len)
    if split_start < split_end:  # the merge never reads splits without tokens
        rows = tl.arange(0, BLOCK_H)
        row_mask = rows < group_size
        heads = kv_head * group_size + rows
        d_offs = tl.arange(0, BLOCK_D)
        d_mask = d_offs < head_dim

        query = tl.load(
            q_ptr + batch_index * stride_q_b + heads[:, None] * stride_q_h + d_offs[None, :],
            mask=row_mask[:, None] & d_mask[None, :], other=0.0,
        )
        running_max = tl.full([BLOCK_H], float("-inf"), tl.float32)
        running_sum = tl.full([BLOCK_H], 0.0, tl.float32)
        acc = tl.full([BLOCK_H, BLOCK_D], 0.0, tl.float32)

        for tile_start in range(split_start, split_end, BLOCK_N):
            tokens = tile_start + tl.arange(0, BLOCK_N)
            token_mask = tokens < split_end
            blocks = tl.load(
                block_table_ptr + batch_index * stride_bt_b + tokens // block_size, mask=token_mask, other=0,
            ).to(tl.int64)
            in_block = (tokens % block_size).to(tl.int64)
            tile_mask = token_mask[:, None] & d_mask[None, :]
            keys = tl.load(
                k_cache_ptr + (blocks * stride_k_block + in_block * stride_k_row + kv_head * stride_k_head)[:, None]
                + d_offs[None, :],
                mask=tile_mask, other=0.0,
            )
            values = tl.load(
                v_cache_ptr + (blocks * stride_v_block + in_block * stride_v_row + kv_head * stride_v_head)[:, None]
                + d_offs[None, :],
                mask=tile_mask, other=0.0,
            )
            if IEEE_DOT:
                scores = tl.dot(query, tl.trans(keys), input_precision="ieee")
            else:
                scores = tl.dot(query, tl.trans(keys))
            scores = scores * qk_scale_log2
            scores = tl.where(token_mask[None, :], scores, float("-inf"))

            # Every tile holds at least one real token, so new_max is finite.
            new_max = tl.maximum(running_max, tl.max(scores, axis=1))
            correction = tl.exp2(running_max - new_max)
            probs = tl.exp2(scores - new_max[:, None])
            running_sum = running_sum * correction + tl.sum(probs, axis=1)
            if IEEE_DOT:
                acc = acc * correction[:, None] + tl.dot(probs.to(values.dtype), values, input_precision="ieee")
            else:
                acc = acc * correction[:, None] + tl.dot(probs.to(values.dtype), values)
            running_max = new_max

        partial = acc / running_sum[:, None]
        lse = running_max + tl.log2(running_sum)
        tl.store(
            partial_out_ptr + batch_index * stride_po_b + heads[:, None] * stride_po_h
            + split_index * stride_po_s + d_offs[None, :],
            partial, mask=row_mask[:, None] & d_mask[None, :],
        )
        tl.store(
            partial_lse_ptr + batch_index * stride_pl_b + heads * stride_pl_h + split_index, lse, mask=row_mask,
        )


def gqa_decode(
    q: torch.Tensor,
    k_cache: torch.Tensor,
    v_cache: torch.Tensor,
    block_table: torch.Tensor,
    seq_lens: torch.Tensor,
    scale: float,
    *,
    num_splits: int | None = None,
    block_n: int = 32,
    out: torch.Tensor | None = None,
) -> torch.Tensor:
    """Triton split-KV paged GQA decode; same contract as `gqa_decode_reference`.

    No host sync: the split length comes from the block table's capacity, not from the actual
    seq_lens, so the launch is the same for every step of a batch (graph-capturable)."""
    batch, heads, kv_heads, head_dim = _check(q, k_cache, v_cache, block_table, seq_lens)
    if k_cache.stride(3) != 1 or v_cache.stride(3) != 1:
        raise ValueError("gqa_decode: cache rows must be contiguous in the last dim")
    q = q if q.stride(2) == 1 else q.contiguous()
    block_table = block_table if block_table.stride(1) == 1 else block_table.contiguous()
    seq_lens = seq_lens.contiguous()
    if out is None:
        out = torch.empty(batch, heads, head_dim, dtype=q.dtype, device=q.device)
    if out.shape != (batch, heads, head_dim) or out.stride(2) != 1:
        raise ValueError(f"gqa_decode: out must be [B, H, d] = {(batch, heads, head_dim)}, last dim contiguous")
    if batch == 0:
        return out

    group_size = heads // kv_heads
    block_h = max(16, next_power_of_2(group_size))  # tl.dot needs M >= 16; padding rows are masked
    block_n = max(16, next_power_of_2(block_n))
    capacity = block_table.shape[1] * k_cache.shape[1]
    if num_splits is None:
        num_splits = default_num_splits(batch, kv_heads, capacity, block_n, q.device)
    split_len = max(block_n, cdiv(cdiv(max(capacity, 1), num_splits), block_n) * block_n)
    num_splits = max(1, cdiv(max(capacity, 1), split_len))

    partial_out = scratch((batch, heads, num_splits, head_dim), torch.float32, q.device)
    partial_lse = scratch((batch, heads, num_splits), torch.float32, q.device)
    ieee = q.dtype == torch.float32 and k_cache.dtype == torch.float32

    _gqa_split_kernel[(batch, kv_heads, num_splits)](
        q, k_cache, v_cache, block_table, seq_lens, partial_out, partial_lse,
        float(scale) * _LOG2E,
        group_size, head_dim, k_cache.shape[1], split_len,
        q.stride(0), q.stride(1),
        k_cache.stride(0), k_cache.stride(1), k_cache.stride(2),
        v_cache.stride(0), v_cache.stride(1), v_cache.stride(2),
        block_table.stride(0),
        partial_out.stride(0), partial_out.stride(1), partial_out.stride(2),
        partial_lse.stride(0), partial_lse.stride(1),
        BLOCK_H=block_h, BLOCK_N=block_n, BLOCK_D=max(16, next_power_of_2(head_dim)),
        IEEE_DOT=ieee, num_warps=4, num_stages=2,
    )
    _mla_merge_kernel[(batch, heads)](
        partial_out, partial_lse, seq_lens, out, head_dim, split_len,
        partial_out.stride(0), partial_out.stride(1), partial_out.stride(2),
        partial_lse.stride(0), partial_lse.stride(1), out.stride(0), out.stride(1),
        BLOCK_R=next_power_of_2(head_dim), num_warps=4,
    )
    return out


def gqa_decode_bytes(batch: int, context: int, kv_heads: int, head_dim: int, element_size: int) -> int:
    """Cache bytes one decode step must read (keys and values; the benchmark's bandwidth figure)."""
    return 2 * batch * context * kv_heads * head_dim * element_size
