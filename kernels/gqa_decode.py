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

import math
import threading
from dataclasses import dataclass

import torch
import triton.language as tl

from kernels.attention_weights import flushed_exp, flushed_softmax
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
    query = q.to(compute).view(batch, kv_heads, heads // kv_heads, head_dim)
    keys = _gather_rows(k_cache, block_table.reshape(-1), batch, capacity, compute, "keys")  # [B, T, G, d]
    values = _gather_rows(v_cache, block_table.reshape(-1), batch, capacity, compute, "values")
    past_end = torch.arange(capacity, device=q.device)[None, None, :] >= seq_lens.long()[:, None, None]
    out = torch.empty_like(query)
    for g in range(kv_heads):
        scores = torch.bmm(query[:, g], keys[:, :, g].transpose(1, 2)) * scale  # [B, H/G, T]
        probs = flushed_softmax(scores, past_end)
        out[:, g] = torch.bmm(probs, values[:, :, g])
    out = out.masked_fill((seq_lens == 0)[:, None, None, None], 0.0)  # an idle slot: zeros, not NaN
    return out.reshape(batch, heads, head_dim).to(q.dtype)


# Gather destinations reused across layers and steps (per thread: engines may run in threads).
# On CPU a fresh multi-megabyte buffer per gather costs more in first-touch page faults than the
# copy itself (measured: 0.8 ms vs 0.2 ms for 5 MB); the caching allocator does this on CUDA.
_WORKSPACE = threading.local()
WORKSPACE_MAX_BYTES = 64 << 20  # larger gathers allocate fresh rather than pin that much per thread


def _workspace(slot: str, shape: tuple[int, ...], like: torch.Tensor) -> torch.Tensor | None:
    """A reusable uninitialised [shape] buffer of like's dtype, or None where one must not be
    used: off CPU, too large, or when autograd records (out= ops have no backward)."""
    numel = math.prod(shape)
    if like.device.type != "cpu" or numel * like.element_size() > WORKSPACE_MAX_BYTES or (
        torch.is_grad_enabled() and like.requires_grad
    ):
        return None
    buffers = getattr(_WORKSPACE, "buffers", None)
    if buffers is None:
        buffers = _WORKSPACE.buffers = {}
    key = (slot, like.dtype)
    buffer = buffers.get(key)
    if buffer is None or buffer.numel() < numel:
        with torch.inference_mode(False):  # a normal tensor: writable both in and out of inference mode
            buffer = buffers[key] = torch.empty(numel, dtype=like.dtype)
    return buffer[:numel].view(shape)


def _gather_rows(cache: torch.Tensor, block_ids: torch.Tensor, rows: int, tokens: int,
                 compute: torch.dtype, slot: str) -> torch.Tensor:
    """The cached rows of `rows` equal-length block lists (block_ids [rows * blocks], flat):
    [rows, tokens = blocks * block_size, G, d]. One index_select (whole blocks copied as memcpy) into a
    layout whose per-head slices [rows, T, d] are matrices bmm reads in place: on CPU the
    gather, not the arithmetic, is most of decode attention's cost, so nothing is copied twice.
    The result lives in the `slot` workspace until the next gather into that slot."""
    block_ids = block_ids.long()
    out = _workspace(slot, (block_ids.numel(), *cache.shape[1:]), cache)
    gathered = cache.index_select(0, block_ids) if out is None else torch.index_select(cache, 0, block_ids, out=out)
    return gathered.view(rows, tokens, cache.shape[2], cache.shape[3]).to(compute)


def _partial_attention(query: torch.Tensor, keys: torch.Tensor, values: torch.Tensor, scale: float,
                       invalid: torch.Tensor | None = None):
    """Unnormalised attention of query [N,R,d] over keys / values [N,T,d] (any row stride): returns
    (sum_t e_t·v_t [N,R,d], max score [N,R,1], sum_t e_t [N,R,1]) with e_t = exp(s_t - max),
    so partial results over disjoint token sets merge exactly. invalid [N,1,T] masks tokens."""
    scores = torch.bmm(query, keys.transpose(1, 2)) * scale
    if invalid is not None:
        scores = scores.masked_fill(invalid, float("-inf"))
    top = scores.amax(dim=-1, keepdim=True)
    weights = flushed_exp(scores - top)
    return torch.bmm(weights, values), top, weights.sum(dim=-1, keepdim=True)


@dataclass
class CascadeLayout:
    """A decode batch's shared prefixes and suffixes as index tensors for the torch cascade, built
    once per step (`pack_cascade`) and read by every layer: all groups' prefixes are attended in
    one batched product (groups padded to the most members and the longest prefix)."""

    suffix_blocks: torch.Tensor  # long [B * Ws]: each row's own blocks, flattened
    suffix_invalid: torch.Tensor  # bool [B, 1, Ws * block_size]: suffix rows at or past suffix_len
    member_rows: torch.Tensor  # long [K * M]: the decode row of each (group, member slot); pads repeat a member
    prefix_blocks: torch.Tensor  # long [K * Wp]: each group's prefix blocks, flattened (pads repeat a block)
    prefix_invalid: torch.Tensor | None  # bool [K, 1, Wp * block_size], None when no prefix is padded
    row_slot: torch.Tensor  # long [B]: each decode row's index in member_rows (0 for rows in no group)
    outside: torch.Tensor | None  # bool [B, 1, 1]: rows in no group; None when every row is in one
    num_groups: int
    max_members: int
    prefix_tokens: int  # Wp * block_size


def pack_cascade(groups: list[SharedPrefix], suffix_block_table: torch.Tensor, suffix_lens: torch.Tensor,
                 block_size: int) -> CascadeLayout:
    """The index tensors of `gqa_decode_cascade_reference` for one decode batch (see CascadeLayout)."""
    device = suffix_block_table.device
    batch, width = suffix_block_table.shape
    members = [g.members.tolist() for g in groups]
    prefixes = [g.block_ids.tolist() for g in groups]
    max_members = max(len(m) for m in members)
    prefix_width = max(len(p) for p in prefixes)
    member_rows, prefix_blocks, row_slot = [], [], [0] * batch
    in_group = [False] * batch
    for k, (rows, blocks) in enumerate(zip(members, prefixes)):
        for i, row in enumerate(rows):
            row_slot[row] = k * max_members + i
            in_group[row] = True
        member_rows += rows + [rows[0]] * (max_members - len(rows))
        prefix_blocks += blocks + [blocks[0]] * (prefix_width - len(blocks))
    long = dict(dtype=torch.long, device=device)
    prefix_invalid = None
    if any(len(p) < prefix_width for p in prefixes):
        prefix_lens = torch.tensor([len(p) * block_size for p in prefixes], **long)
        prefix_invalid = (torch.arange(prefix_width * block_size, device=device)[None, None, :]
                          >= prefix_lens[:, None, None])
    suffix_invalid = torch.arange(width * block_size, device=device)[None, None, :] >= suffix_lens.long()[:, None, None]
    return CascadeLayout(
        suffix_blocks=suffix_block_table.reshape(-1).long(),
        suffix_invalid=suffix_invalid,
        member_rows=torch.tensor(member_rows, **long),
        prefix_blocks=torch.tensor(prefix_blocks, **long),
        prefix_invalid=prefix_invalid,
        row_slot=torch.tensor(row_slot, **long),
        outside=None if all(in_group) else torch.tensor([not x for x in in_group], device=device)[:, None, None],
        num_groups=len(groups),
        max_members=max_members,
        prefix_tokens=prefix_width * block_size,
    )


def gqa_decode_cascade_reference(
    q: torch.Tensor,
    k_cache: torch.Tensor,
    v_cache: torch.Tensor,
    groups: list[SharedPrefix] | CascadeLayout,
    suffix_block_table: torch.Tensor,
    suffix_lens: torch.Tensor,
    scale: float,
) -> torch.Tensor:
    """Torch decode like `gqa_decode_reference`, but each shared prefix (the prompt blocks of n
    samples) is gathered once and attended by all its sequences' queries in one product; each
    sequence's own rows (suffix_block_table, suffix_lens >= 1) are read per sequence; the two
    partial softmaxes are merged exactly. On CPU this cuts the rows gathered per step by about n.
    `groups` may come packed (`pack_cascade`, what the engine passes: once per step, not per
    layer). No Triton kernel: on a GPU the paged kernel reads the full block tables."""
    layout = groups if isinstance(groups, CascadeLayout) else pack_cascade(
        groups, suffix_block_table, suffix_lens, k_cache.shape[1]
    )
    batch, heads, head_dim = q.shape
    kv_heads = k_cache.shape[2]
    group_size = heads // kv_heads
    compute = torch.promote_types(q.dtype, torch.float32)
    query = q.to(compute).view(batch, kv_heads, group_size, head_dim)
    suffix_len, prefix_len = layout.suffix_invalid.shape[-1], layout.prefix_tokens
    keys = _gather_rows(k_cache, layout.suffix_blocks, batch, suffix_len, compute, "keys")  # [B, Ts, G, d]
    values = _gather_rows(v_cache, layout.suffix_blocks, batch, suffix_len, compute, "values")
    num_groups, members = layout.num_groups, layout.max_members
    prefix_k = _gather_rows(k_cache, layout.prefix_blocks, num_groups, prefix_len, compute, "prefix_keys")
    prefix_v = _gather_rows(v_cache, layout.prefix_blocks, num_groups, prefix_len, compute, "prefix_values")
    # each group's members' query heads side by side: [K * M, G, R, d]
    member_query = query.index_select(0, layout.member_rows)
    out = torch.empty_like(query)
    for g in range(kv_heads):
        acc, top, total = _partial_attention(query[:, g], keys[:, :, g], values[:, :, g], scale, layout.suffix_invalid)
        g_query = member_query[:, g].reshape(num_groups, members * group_size, head_dim)
        g_acc, g_top, g_total = _partial_attention(g_query, prefix_k[:, :, g], prefix_v[:, :, g], scale,
                                                   layout.prefix_invalid)
        # back to one row per decode row ([B, R, ...]); rows in no group get an empty prefix
        g_acc, g_top, g_total = (
            t.reshape(num_groups * members, group_size, t.shape[-1]).index_select(0, layout.row_slot)
            for t in (g_acc, g_top, g_total)
        )
        if layout.outside is not None:
            g_top = g_top.masked_fill(layout.outside, float("-inf"))
        new_top = torch.maximum(top, g_top)
        old_w, new_w = flushed_exp(top - new_top), flushed_exp(g_top - new_top)
        out[:, g] = (acc * old_w + g_acc * new_w) / (total * old_w + g_total * new_w)
    return out.reshape(batch, heads, head_dim).to(q.dtype)


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
