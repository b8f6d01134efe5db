"""Paged MLA decode attention ("absorb" mode) with split-KV flash decoding, and its twin.

One query token per sequence attends over that sequence's cached rows. A cache row is
[c_kv (r) | k_pe (d_r)]: the normalised latent and the roped key, shared by all heads.

    scores[b, h, t] = (q_latent[b, h] · c_kv[t] + q_pe[b, h] · k_pe[t]) · scale
    out[b, h]       = softmax_t(scores[b, h]) · c_kv          -> [B, H, r]

(the value up-projection W_UV and o_proj come after, in the model).

Kernel plan:
1. `_mla_split_kernel`, grid (B, head groups, splits). Each program takes BLOCK_H heads of
   one sequence and one contiguous range of its tokens, walks that range in tiles of
   BLOCK_N tokens (each tile gathered through the block table), and keeps an online
   softmax. A cache tile is loaded once and used by all BLOCK_H heads: with MLA every head
   reads the same rows, so this is what keeps the kernel at memory speed. It writes the
   normalised partial output and its log-sum-exp (base 2).
2. `_mla_merge_kernel`, grid (B, H): combines the splits of a sequence by their
   log-sum-exps. Only splits that hold tokens are read.

A sequence with seq_len 0 (an idle batch slot) gets an all-zero output in both twins.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import triton.language as tl

from kernels.attention_weights import flushed_exp, flushed_softmax
from kernels.launch import cdiv, next_power_of_2, scratch, triton_kernel

_LOG2E = 1.4426950408889634


def _check(
    q_latent: torch.Tensor,
    q_pe: torch.Tensor,
    cache: torch.Tensor,
    block_table: torch.Tensor,
    seq_lens: torch.Tensor,
) -> tuple[int, int, int, int]:
    if q_latent.dim() != 3 or q_pe.dim() != 3 or q_latent.shape[:2] != q_pe.shape[:2]:
        raise ValueError(
            f"mla_decode: q_latent [B, H, r] and q_pe [B, H, d_r] must agree on B, H; got "
            f"{tuple(q_latent.shape)} and {tuple(q_pe.shape)}"
        )
    batch, heads, rank = q_latent.shape
    rope_dim = q_pe.shape[2]
    if cache.dim() != 3 or cache.shape[2] != rank + rope_dim:
        raise ValueError(
            f"mla_decode: cache must be [num_blocks, block_size, r + d_r = {rank + rope_dim}], "
            f"got {tuple(cache.shape)}"
        )
    if block_table.dim() != 2 or block_table.shape[0] != batch:
        raise ValueError(
            f"mla_decode: block_table must be [B={batch}, max_blocks], got {tuple(block_table.shape)}"
        )
    if seq_lens.shape != (batch,):
        raise ValueError(f"mla_decode: seq_lens must be [B={batch}], got {tuple(seq_lens.shape)}")
    if block_table.dtype not in (torch.int32, torch.int64) or seq_lens.dtype not in (torch.int32, torch.int64):
        raise ValueError("mla_decode: block_table and seq_lens must be integer tensors (int32)")
    return batch, heads, rank, rope_dim


def mla_decode_reference(
    q_latent: torch.Tensor,
    q_pe: torch.Tensor,
    cache: torch.Tensor,
    block_table: torch.Tensor,
    seq_lens: torch.Tensor,
    scale: float,
) -> torch.Tensor:
    """Plain-torch twin of `mla_decode`, and the CPU path of the engine.

    All sequences at once: one gather of every block-table row, one batched product over whole
    rows (q·[c_kv | k_pe] = q_latent·c_kv + q_pe·k_pe, no sliced copies), positions at or past
    seq_len masked; softmax in (at least) float32. A per-sequence loop is ~4-7x slower on CPU at
    batch 64-256."""
    batch, heads, rank, _ = _check(q_latent, q_pe, cache, block_table, seq_lens)
    capacity = block_table.shape[1] * cache.shape[1]
    too_long = (seq_lens > capacity).nonzero()
    if too_long.numel():
        b = int(too_long[0, 0])
        raise ValueError(
            f"mla_decode: seq_lens[{b}] = {int(seq_lens[b])} exceeds the block table's capacity "
            f"{block_table.shape[1]} x {cache.shape[1]}"
        )
    compute = torch.promote_types(q_latent.dtype, torch.float32)
    rows = cache[block_table.long()].reshape(batch, capacity, -1).to(compute)  # [B, T, r + d_r]
    query = torch.cat([q_latent, q_pe], dim=-1).to(compute)
    scores = torch.bmm(query, rows.transpose(1, 2)) * scale  # [B, H, T]
    past_end = torch.arange(capacity, device=cache.device)[None, :] >= seq_lens.long()[:, None]
    probs = flushed_softmax(scores, past_end[:, None, :])
    probs = probs.masked_fill((seq_lens == 0)[:, None, None], 0.0)  # an idle slot: zeros, not NaN
    return torch.bmm(probs, rows)[..., :rank].to(q_latent.dtype)


@dataclass
class SharedPrefix:
    """Decode sequences (rows `members` of the decode batch) whose block tables start with the
    same `num_blocks` blocks: n samples of one request share their prompt's blocks."""

    members: torch.Tensor  # long [G]
    block_ids: torch.Tensor  # long [num_blocks]


def _partial_attention(query: torch.Tensor, rows: torch.Tensor, scale: float, valid: torch.Tensor | None = None):
    """Unnormalised attention of query [B,H,D] over rows [B,T,D] (D = r + d_r): returns
    (sum_t e_t·rows_t [B,H,D], max score [B,H,1], sum_t e_t [B,H,1]) with e_t = exp(s_t - max),
    so partial results over disjoint row sets can be merged exactly."""
    scores = torch.bmm(query, rows.transpose(1, 2)) * scale
    if valid is not None:
        scores = scores.masked_fill(~valid[:, None, :], float("-inf"))
    top = scores.amax(dim=-1, keepdim=True)
    weights = flushed_exp(scores - top)
    return torch.bmm(weights, rows), top, weights.sum(dim=-1, keepdim=True)


def mla_decode_cascade_reference(
    q_latent: torch.Tensor,
    q_pe: torch.Tensor,
    cache: torch.Tensor,
    groups: list[SharedPrefix],
    suffix_block_table: torch.Tensor,
    suffix_lens: torch.Tensor,
    scale: float,
) -> torch.Tensor:
    """Torch decode like `mla_decode_reference`, but each shared prefix is read once for all the
    sequences sharing it (cascade attention) instead of once per sequence; each sequence's own
    rows (suffix_block_table, suffix_lens >= 1) are read per sequence; the two partial softmaxes
    are merged exactly. On CPU this cuts the rows gathered per step by about n for n samples.
    No Triton kernel: on a GPU the paged kernel reads the full block tables."""
    r = q_latent.shape[-1]
    compute = torch.promote_types(q_latent.dtype, torch.float32)
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
        old_w, new_w = flushed_exp(top[members] - new_top), flushed_exp(g_top - new_top)
        acc[members] = acc[members] * old_w + g_acc * new_w
        total[members] = total[members] * old_w + g_total * new_w
        top[members] = new_top
    return (acc[..., :r] / total).to(q_latent.dtype)


@triton_kernel
def _mla_split_kernel(
    q_latent_ptr, q_pe_ptr, cache_ptr, block_table_ptr, seq_lens_ptr,
    partial_out_ptr, partial_lse_ptr,
    qk_scale_log2,
    num_heads, rank, rope_dim, block_size, split_len,
    stride_ql_b, stride_ql_h, stride_qp_b, stride_qp_h,
    stride_cache_block, stride_cache_row, stride_bt_b,
    stride_po_b, stride_po_h, stride_po_s, stride_pl_b, stride_pl_h,
    BLOCK_H: tl.constexpr, BLOCK_N: tl.constexpr, BLOCK_R: tl.constexpr, BLOCK_DR: tl.constexpr,
    IEEE_DOT: tl.constexpr,
):
    batch_index = tl.program_id(0)
    head_group = tl.program_id(1)
    split_index = tl.program_id(2)

    seq_len = tl.load(seq_lens_ptr + batch_index)
    split_start = split_index * split_len
    split_end = tl.minimum(split_start + split_len, seq_len)
    if split_start < split_end:  # the merge never reads splits without tokens
        heads = head_group * BLOCK_H + tl.arange(0, BLOCK_H)
        head_mask = heads < num_heads
        r_offs = tl.arange(0, BLOCK_R)
        dr_offs = tl.arange(0, BLOCK_DR)
        r_mask = r_offs < rank
        dr_mask = dr_offs < rope_dim

        q_lat = tl.load(
            q_latent_ptr + batch_index * stride_ql_b + heads[:, None] * stride_ql_h + r_offs[None, :],
            mask=head_mask[:, None] & r_mask[None, :], other=0.0,
        )
        q_rope = tl.load(
            q_pe_ptr + batch_index * stride_qp_b + heads[:, None] * stride_qp_h + dr_offs[None, :],
            mask=head_mask[:, None] & dr_mask[None, :], other=0.0,
        )

        running_max = tl.full([BLOCK_H], float("-inf"), tl.float32)
        running_sum = tl.full([BLOCK_H], 0.0, tl.float32)
        acc = tl.full([BLOCK_H, BLOCK_R], 0.0, tl.float32)

        for tile_start in range(split_start, split_end, BLOCK_N):
            tokens = tile_start + tl.arange(0, BLOCK_N)
            token_mask = tokens < split_end
            blocks = tl.load(
                block_table_ptr + batch_index * stride_bt_b + tokens // block_size,
                mask=token_mask, other=0,
            ).to(tl.int64)
            row_base = blocks * stride_cache_block + (tokens % block_size).to(tl.int64) * stride_cache_row
            c_kv = tl.load(
                cache_ptr + row_base[:, None] + r_offs[None, :],
                mask=token_mask[:, None] & r_mask[None, :], other=0.0,
            )
            k_pe = tl.load(
                cache_ptr + row_base[:, None] + rank + dr_offs[None, :],
                mask=token_mask[:, None] & dr_mask[None, :], other=0.0,
            )
            if IEEE_DOT:
                scores = tl.dot(q_lat, tl.trans(c_kv), input_precision="ieee")
                scores += tl.dot(q_rope, tl.trans(k_pe), input_precision="ieee")
            else:
                scores = tl.dot(q_lat, tl.trans(c_kv))
                scores += tl.dot(q_rope, tl.trans(k_pe))
            scores = scores * qk_scale_log2
            scores = tl.where(token_mask[None, :], scores, float("-inf"))

            # Every tile holds at least one real token, so new_max is finite.
            new_max = tl.maximum(running_max, tl.max(scores, axis=1))
            correction = tl.exp2(running_max - new_max)
            probs = tl.exp2(scores - new_max[:, None])
            running_sum = running_sum * correction + tl.sum(probs, axis=1)
            if IEEE_DOT:
                acc = acc * correction[:, None] + tl.dot(probs.to(c_kv.dtype), c_kv, input_precision="ieee")
            else:
                acc = acc * correction[:, None] + tl.dot(probs.to(c_kv.dtype), c_kv)
            running_max = new_max

        partial = acc / running_sum[:, None]
        lse = running_max + tl.log2(running_sum)
        tl.store(
            partial_out_ptr + batch_index * stride_po_b + heads[:, None] * stride_po_h
            + split_index * stride_po_s + r_offs[None, :],
            partial, mask=head_mask[:, None] & r_mask[None, :],
        )
        tl.store(
            partial_lse_ptr + batch_index * stride_pl_b + heads * stride_pl_h + split_index,
            lse, mask=head_mask,
        )


@triton_kernel
def _mla_merge_kernel(
    partial_out_ptr, partial_lse_ptr, seq_lens_ptr, out_ptr,
    rank, split_len,
    stride_po_b, stride_po_h, stride_po_s, stride_pl_b, stride_pl_h, stride_o_b, stride_o_h,
    BLOCK_R: tl.constexpr,
):
    batch_index = tl.program_id(0)
    head = tl.program_id(1)
    r_offs = tl.arange(0, BLOCK_R)
    r_mask = r_offs < rank
    seq_len = tl.load(seq_lens_ptr + batch_index)
    used_splits = (seq_len + split_len - 1) // split_len

    lse_base = partial_lse_ptr + batch_index * stride_pl_b + head * stride_pl_h
    out_base = partial_out_ptr + batch_index * stride_po_b + head * stride_po_h
    # Shape-[1] accumulators keep the loop-carried types fixed for the compiler.
    one = tl.arange(0, 1)
    running_max = tl.full([1], float("-inf"), tl.float32)
    running_sum = tl.full([1], 0.0, tl.float32)
    acc = tl.full([BLOCK_R], 0.0, tl.float32)
    for split_index in range(0, used_splits):
        lse = tl.load(lse_base + split_index + one)
        partial = tl.load(out_base + split_index * stride_po_s + r_offs, mask=r_mask, other=0.0)
        new_max = tl.maximum(running_max, lse)
        correction = tl.exp2(running_max - new_max)
        weight = tl.exp2(lse - new_max)
        acc = acc * correction + weight * partial
        running_sum = running_sum * correction + weight
        running_max = new_max
    # seq_len 0: no split was read, the output is zero.
    result = acc / tl.maximum(running_sum, 1e-30)
    tl.store(
        out_ptr + batch_index * stride_o_b + head * stride_o_h + r_offs,
        result.to(out_ptr.dtype.element_ty), mask=r_mask,
    )


def default_num_splits(batch: int, head_groups: int, max_tokens: int, block_n: int, device: torch.device) -> int:
    """Splits so the split kernel fills the GPU in about one wave (2 programs per SM).

    Rounded down: a second, mostly idle wave costs more than slightly fewer programs.
    """
    if device.type == "cuda":
        target_programs = 2 * torch.cuda.get_device_properties(device).multi_processor_count
    else:
        target_programs = 8  # the interpreter: a few splits keep the merge path exercised
    splits = target_programs // max(batch * head_groups, 1)
    return max(1, min(splits, cdiv(max(max_tokens, 1), block_n), 64))


def mla_decode(
    q_latent: torch.Tensor,
    q_pe: torch.Tensor,
    cache: torch.Tensor,
    block_table: torch.Tensor,
    seq_lens: torch.Tensor,
    scale: float,
    *,
    num_splits: int | None = None,
    block_h: int = 16,
    block_n: int | None = None,
    out: torch.Tensor | None = None,
) -> torch.Tensor:
    """Triton split-KV paged MLA decode; same contract as `mla_decode_reference`.

    No host sync: the split length comes from the block table's capacity, not from the
    actual seq_lens, so the launch is the same for every step of a batch (graph-capturable).
    """
    batch, heads, rank, rope_dim = _check(q_latent, q_pe, cache, block_table, seq_lens)
    if cache.stride(2) != 1:
        raise ValueError("mla_decode: cache rows must be contiguous in the last dim")
    q_latent = q_latent if q_latent.stride(2) == 1 else q_latent.contiguous()
    q_pe = q_pe if q_pe.stride(2) == 1 else q_pe.contiguous()
    block_table = block_table if block_table.stride(1) == 1 else block_table.contiguous()
    seq_lens = seq_lens.contiguous()
    if out is None:
        out = torch.empty(batch, heads, rank, dtype=q_latent.dtype, device=q_latent.device)
    if out.shape != (batch, heads, rank) or out.stride(2) != 1:
        raise ValueError(f"mla_decode: out must be [B, H, r] = {(batch, heads, rank)}, last dim contiguous")
    if batch == 0:
        return out

    block_h = max(16, next_power_of_2(min(block_h, heads)))  # tl.dot needs M >= 16
    if block_n is None:
        block_n = 32 if rank >= 256 else 16
    block_n = max(16, next_power_of_2(block_n))
    head_groups = cdiv(heads, block_h)
    capacity = block_table.shape[1] * cache.shape[1]
    if num_splits is None:
        num_splits = default_num_splits(batch, head_groups, capacity, block_n, q_latent.device)
    split_len = max(block_n, cdiv(cdiv(max(capacity, 1), num_splits), block_n) * block_n)
    num_splits = max(1, cdiv(max(capacity, 1), split_len))

    partial_out = scratch((batch, heads, num_splits, rank), torch.float32, q_latent.device)
    partial_lse = scratch((batch, heads, num_splits), torch.float32, q_latent.device)
    ieee = q_latent.dtype == torch.float32 and cache.dtype == torch.float32

    _mla_split_kernel[(batch, head_groups, num_splits)](
        q_latent, q_pe, cache, block_table, seq_lens, partial_out, partial_lse,
        float(scale) * _LOG2E,
        heads, rank, rope_dim, cache.shape[1], split_len,
        q_latent.stride(0), q_latent.stride(1), q_pe.stride(0), q_pe.stride(1),
        cache.stride(0), cache.stride(1), block_table.stride(0),
        partial_out.stride(0), partial_out.stride(1), partial_out.stride(2),
        partial_lse.stride(0), partial_lse.stride(1),
        BLOCK_H=block_h, BLOCK_N=block_n,
        # tl.dot needs every dim >= 16 on GPUs; the padding columns are masked to 0.
        BLOCK_R=max(16, next_power_of_2(rank)), BLOCK_DR=max(16, next_power_of_2(rope_dim)),
        IEEE_DOT=ieee, num_warps=4, num_stages=2,
    )
    _mla_merge_kernel[(batch, heads)](
        partial_out, partial_lse, seq_lens, out, rank, split_len,
        partial_out.stride(0), partial_out.stride(1), partial_out.stride(2),
        partial_lse.stride(0), partial_lse.stride(1), out.stride(0), out.stride(1),
        BLOCK_R=next_power_of_2(rank), num_warps=4,
    )
    return out


def mla_decode_bytes(batch: int, context: int, rank: int, rope_dim: int, element_size: int) -> int:
    """Cache bytes one decode step must read (the bandwidth figure the benchmark uses)."""
    return batch * context * (rank + rope_dim) * element_size


