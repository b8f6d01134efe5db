"""Fused mixture-of-experts (routed experts only) with grouped GEMMs, and its twin.

Weights, stacked over experts (`stack_expert_weights` builds them from per-expert
nn.Linear gate_proj / up_proj / down_proj, which store [out, in]):
    w_gate_up [E, 2·I, D]: rows 0..I-1 are gate_proj, rows I..2I-1 are up_proj
    w_down    [E, D, I]

    out[t] = Σ_k topk_weights[t, k] · down_e( silu(gate_e(x_t)) · up_e(x_t) ),  e = topk_ids[t, k]

Plan (per chunk of at most `chunk_tokens` tokens, so huge batches never build huge
index tensors or overflow int32 offsets):
1. `align_by_expert` (torch ops, no host sync): the T·K (token, slot) pairs are sorted by
   expert and each expert's run is padded to a multiple of BLOCK_M, so every BLOCK_M-row
   tile belongs to one expert. Padding rows hold the sentinel T·K and are masked.
2. `_moe_gate_up_kernel`: per tile, rows of x gathered by token, times the expert's gate
   and up rows (one grouped GEMM, two accumulators), SiLU(gate)·up -> activations
   [T·K, I], stored at the pair's own row so no un-permute is needed later.
3. `_moe_down_kernel`: activations times the expert's down weight, scaled by the pair's
   routing weight -> [T·K, D]; then a sum over the K slots gives [T, D].
Experts that receive no tokens get no tiles and cost nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F
import triton.language as tl

from kernels.launch import cdiv, device_function, scratch, triton_kernel

DEFAULT_CHUNK_TOKENS = 16384


def stack_expert_weights(experts: Sequence[Any]) -> tuple[torch.Tensor, torch.Tensor]:
    """(w_gate_up [E, 2I, D], w_down [E, D, I]) from per-expert modules or weight triples.

    Each item is a module with `gate_proj`, `up_proj`, `down_proj` (nn.Linear, no bias) or a
    tuple (gate [I, D], up [I, D], down [D, I]) of weight tensors.
    """
    gate_up, down = [], []
    for index, expert in enumerate(experts):
        if isinstance(expert, (tuple, list)):
            gate, up, down_w = expert
        else:
            for name in ("gate_proj", "up_proj", "down_proj"):
                layer = getattr(expert, name, None)
                if layer is None:
                    raise ValueError(f"stack_expert_weights: expert {index} has no {name}")
                if getattr(layer, "bias", None) is not None:
                    raise ValueError(f"stack_expert_weights: expert {index}.{name} has a bias; not supported")
            gate, up, down_w = expert.gate_proj.weight, expert.up_proj.weight, expert.down_proj.weight
        if gate.shape != up.shape or down_w.shape != (gate.shape[1], gate.shape[0]):
            raise ValueError(
                f"stack_expert_weights: expert {index} has gate {tuple(gate.shape)}, up "
                f"{tuple(up.shape)}, down {tuple(down_w.shape)}; expected [I, D], [I, D], [D, I]"
            )
        gate_up.append(torch.cat([gate.detach(), up.detach()], dim=0))
        down.append(down_w.detach())
    if not gate_up:
        raise ValueError("stack_expert_weights: no experts given")
    return torch.stack(gate_up).contiguous(), torch.stack(down).contiguous()


def _check(
    hidden: torch.Tensor,
    w_gate_up: torch.Tensor,
    w_down: torch.Tensor,
    topk_ids: torch.Tensor,
    topk_weights: torch.Tensor,
) -> tuple[int, int, int, int, int]:
    if hidden.dim() != 2:
        raise ValueError(f"fused_moe: hidden must be [T, D], got {tuple(hidden.shape)}")
    tokens, dim = hidden.shape
    if w_gate_up.dim() != 3 or w_gate_up.shape[2] != dim or w_gate_up.shape[1] % 2:
        raise ValueError(f"fused_moe: w_gate_up must be [E, 2I, D={dim}], got {tuple(w_gate_up.shape)}")
    experts, inter = w_gate_up.shape[0], w_gate_up.shape[1] // 2
    if w_down.shape != (experts, dim, inter):
        raise ValueError(
            f"fused_moe: w_down must be [E, D, I] = {(experts, dim, inter)}, got {tuple(w_down.shape)}"
        )
    if topk_ids.dim() != 2 or topk_ids.shape[0] != tokens or topk_weights.shape != topk_ids.shape:
        raise ValueError(
            f"fused_moe: topk_ids and topk_weights must both be [T={tokens}, K]; got "
            f"{tuple(topk_ids.shape)} and {tuple(topk_weights.shape)}"
        )
    if topk_ids.dtype.is_floating_point:
        raise ValueError("fused_moe: topk_ids must be an integer tensor")
    return tokens, dim, experts, inter, topk_ids.shape[1]


def fused_moe_reference(
    hidden: torch.Tensor,
    w_gate_up: torch.Tensor,
    w_down: torch.Tensor,
    topk_ids: torch.Tensor,
    topk_weights: torch.Tensor,
) -> torch.Tensor:
    """Plain-torch twin of `fused_moe`: loop over experts, matmuls in the input dtype."""
    tokens, dim, experts, inter, _ = _check(hidden, w_gate_up, w_down, topk_ids, topk_weights)
    out = torch.zeros(tokens, dim, dtype=torch.float32, device=hidden.device)
    for expert in range(experts):
        token_index, slot = torch.nonzero(topk_ids == expert, as_tuple=True)
        if token_index.numel() == 0:
            continue
        x = hidden[token_index]
        gate = x @ w_gate_up[expert, :inter].T
        up = x @ w_gate_up[expert, inter:].T
        y = (F.silu(gate) * up) @ w_down[expert].T
        weight = topk_weights[token_index, slot].float()[:, None]
        out.index_add_(0, token_index, y.float() * weight)
    return out.to(hidden.dtype)


def align_by_expert(
    topk_ids: torch.Tensor, num_experts: int, block_m: int
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Sort (token, slot) pairs by expert, padding each expert's run to a multiple of block_m.

    Returns
      sorted_pairs [capacity] int32: flat pair index t·K + k, or T·K for padding rows;
      tile_expert [capacity // block_m] int32: the expert of each tile (E past the end);
      used_rows [1] int32: rows in use (a multiple of block_m); tiles beyond it exit.
    The capacity T·K + E·(block_m − 1), rounded up to block_m, is a static bound, so this
    needs no device-to-host sync.
    """
    device = topk_ids.device
    flat = topk_ids.reshape(-1).long()
    pairs = flat.numel()
    counts = torch.bincount(flat, minlength=num_experts)[:num_experts]
    padded = (counts + block_m - 1) // block_m * block_m
    padded_end = torch.cumsum(padded, 0)
    padded_start = padded_end - padded
    count_start = torch.cumsum(counts, 0) - counts
    order = torch.argsort(flat, stable=True)
    sorted_experts = flat[order]
    rank_in_expert = torch.arange(pairs, device=device) - count_start[sorted_experts]
    destination = padded_start[sorted_experts] + rank_in_expert

    capacity = cdiv(pairs + num_experts * (block_m - 1), block_m) * block_m
    sorted_pairs = torch.full((capacity,), pairs, dtype=torch.int32, device=device)
    sorted_pairs[destination] = order.to(torch.int32)
    tile_starts = torch.arange(0, capacity, block_m, device=device)
    tile_expert = torch.searchsorted(padded_end, tile_starts, right=True).clamp_(max=num_experts)
    used_rows = padded_end[-1:].to(torch.int32)
    return sorted_pairs, tile_expert.to(torch.int32), used_rows


@device_function
def _expert_tile(
    num_tiles_n, n_cols, sorted_pairs_ptr, tile_expert_ptr, used_rows_ptr, num_pairs,
    BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr, GROUP_M: tl.constexpr,
):
    """This program's output tile: (tile_used, expert, pairs, row_mask, cols, col_mask), the
    rows being BLOCK_M expert-sorted (token, slot) pairs and the columns BLOCK_N of n_cols."""
    # Grouped tile order: GROUP_M row tiles share each column tile of the weights, so
    # programs that run together read the same expert weights (L2 reuse).
    pid = tl.program_id(0)
    num_tiles_m = tl.num_programs(0) // num_tiles_n
    tiles_per_group = GROUP_M * num_tiles_n
    group_first_m = (pid // tiles_per_group) * GROUP_M
    group_size = tl.minimum(num_tiles_m - group_first_m, GROUP_M)
    tile_m = group_first_m + (pid % tiles_per_group) % group_size
    tile_n = (pid % tiles_per_group) // group_size

    used_rows = tl.load(used_rows_ptr)
    # Tiles past the used rows (padding capacity) run zero K steps and store nothing;
    # a zero-trip loop instead of an `if` around it lets the compiler pipeline the loads.
    tile_used = tile_m * BLOCK_M < used_rows
    # 64-bit only for the expert's base pointer; offsets inside one expert and one
    # chunk fit in int32 (the launcher sizes chunks so), which keeps pointer tiles small.
    # Unused tiles have expert E (out of range); they never dereference it.
    expert = tl.load(tile_expert_ptr + tile_m).to(tl.int64)
    rows = tile_m * BLOCK_M + tl.arange(0, BLOCK_M)
    pairs = tl.load(sorted_pairs_ptr + rows)
    row_mask = pairs < num_pairs
    cols = tile_n * BLOCK_N + tl.arange(0, BLOCK_N)
    col_mask = cols < n_cols
    return tile_used, expert, pairs, row_mask, cols, col_mask


@triton_kernel
def _moe_gate_up_kernel(
    hidden_ptr, w_ptr, act_ptr, sorted_pairs_ptr, tile_expert_ptr, used_rows_ptr,
    num_pairs, top_k, dim, inter, num_tiles_n,
    stride_h_t, stride_w_e, stride_w_n, stride_a_p,
    BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr, BLOCK_K: tl.constexpr, GROUP_M: tl.constexpr,
    IEEE_DOT: tl.constexpr,
):
    tile_used, expert, pairs, row_mask, cols, col_mask = _expert_tile(
        num_tiles_n, inter, sorted_pairs_ptr, tile_expert_ptr, used_rows_ptr, num_pairs,
        BLOCK_M, BLOCK_N, GROUP_M,
    )
    token = pairs // top_k
    ks = tl.arange(0, BLOCK_K)

    x_ptrs = hidden_ptr + token[:, None] * stride_h_t + ks[None, :]
    gate_ptrs = (w_ptr + expert * stride_w_e) + cols[None, :] * stride_w_n + ks[:, None]
    up_ptrs = gate_ptrs + inter * stride_w_n
    acc_gate = tl.full([BLOCK_M, BLOCK_N], 0.0, tl.float32)
    acc_up = tl.full([BLOCK_M, BLOCK_N], 0.0, tl.float32)
    for k_start in range(0, tl.where(tile_used, dim, 0), BLOCK_K):
        k_mask = (k_start + ks) < dim
        x = tl.load(x_ptrs, mask=row_mask[:, None] & k_mask[None, :], other=0.0)
        w_gate = tl.load(gate_ptrs, mask=k_mask[:, None] & col_mask[None, :], other=0.0)
        w_up = tl.load(up_ptrs, mask=k_mask[:, None] & col_mask[None, :], other=0.0)
        if IEEE_DOT:
            acc_gate = tl.dot(x, w_gate, acc_gate, input_precision="ieee")
            acc_up = tl.dot(x, w_up, acc_up, input_precision="ieee")
        else:
            acc_gate = tl.dot(x, w_gate, acc_gate)
            acc_up = tl.dot(x, w_up, acc_up)
        x_ptrs += BLOCK_K
        gate_ptrs += BLOCK_K
        up_ptrs += BLOCK_K
    # Round the GEMM results to the storage dtype as the unfused model does.
    gate = acc_gate.to(act_ptr.dtype.element_ty).to(tl.float32)
    up = acc_up.to(act_ptr.dtype.element_ty).to(tl.float32)
    activation = gate / (1.0 + tl.exp(-gate)) * up
    tl.store(
        act_ptr + pairs[:, None] * stride_a_p + cols[None, :],
        activation.to(act_ptr.dtype.element_ty),
        mask=row_mask[:, None] & col_mask[None, :],
    )


@triton_kernel
def _moe_down_kernel(
    act_ptr, w_ptr, routing_weight_ptr, out_ptr, sorted_pairs_ptr, tile_expert_ptr, used_rows_ptr,
    num_pairs, dim, inter, num_tiles_n,
    stride_a_p, stride_w_e, stride_w_n, stride_o_p,
    BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr, BLOCK_K: tl.constexpr, GROUP_M: tl.constexpr,
    IEEE_DOT: tl.constexpr,
):
    tile_used, expert, pairs, row_mask, cols, col_mask = _expert_tile(
        num_tiles_n, dim, sorted_pairs_ptr, tile_expert_ptr, used_rows_ptr, num_pairs,
        BLOCK_M, BLOCK_N, GROUP_M,
    )
    ks = tl.arange(0, BLOCK_K)

    a_ptrs = act_ptr + pairs[:, None] * stride_a_p + ks[None, :]
    w_ptrs = (w_ptr + expert * stride_w_e) + cols[None, :] * stride_w_n + ks[:, None]
    acc = tl.full([BLOCK_M, BLOCK_N], 0.0, tl.float32)
    for k_start in range(0, tl.where(tile_used, inter, 0), BLOCK_K):
        k_mask = (k_start + ks) < inter
        a = tl.load(a_ptrs, mask=row_mask[:, None] & k_mask[None, :], other=0.0)
        w = tl.load(w_ptrs, mask=k_mask[:, None] & col_mask[None, :], other=0.0)
        if IEEE_DOT:
            acc = tl.dot(a, w, acc, input_precision="ieee")
        else:
            acc = tl.dot(a, w, acc)
        a_ptrs += BLOCK_K
        w_ptrs += BLOCK_K
    routing_weight = tl.load(routing_weight_ptr + pairs, mask=row_mask, other=0.0).to(tl.float32)
    result = acc.to(out_ptr.dtype.element_ty).to(tl.float32) * routing_weight[:, None]
    tl.store(
        out_ptr + pairs[:, None] * stride_o_p + cols[None, :],
        result.to(out_ptr.dtype.element_ty),
        mask=row_mask[:, None] & col_mask[None, :],
    )


def _tile_config(pairs: int, num_experts: int, dtype: torch.dtype, on_gpu: bool) -> dict[str, int]:
    if not on_gpu:
        return {"BLOCK_M": 16, "BLOCK_N": 32, "BLOCK_K": 32, "GROUP_M": 4, "num_warps": 4, "num_stages": 1}
    # Few pairs per expert (decode): small row tiles waste less padding.
    if pairs <= 2 * num_experts * 16:
        return {"BLOCK_M": 16, "BLOCK_N": 64, "BLOCK_K": 128, "GROUP_M": 1, "num_warps": 4, "num_stages": 3}
    if dtype == torch.float32:
        return {"BLOCK_M": 64, "BLOCK_N": 64, "BLOCK_K": 32, "GROUP_M": 8, "num_warps": 4, "num_stages": 2}
    # 8 warps: the gate/up kernel holds two [64, 128] float32 accumulators (4 warps spill
    # registers in an sm_90 compile); not yet tuned on a GPU.
    return {"BLOCK_M": 64, "BLOCK_N": 128, "BLOCK_K": 64, "GROUP_M": 8, "num_warps": 8, "num_stages": 3}


def _fused_moe_chunk(
    hidden: torch.Tensor,
    w_gate_up: torch.Tensor,
    w_down: torch.Tensor,
    topk_ids: torch.Tensor,
    topk_weights: torch.Tensor,
    out: torch.Tensor,
    config: dict[str, int] | None,
) -> None:
    tokens, dim = hidden.shape
    experts, inter, top_k = w_gate_up.shape[0], w_gate_up.shape[1] // 2, topk_ids.shape[1]
    pairs = tokens * top_k
    cfg = dict(config or _tile_config(pairs, experts, hidden.dtype, hidden.is_cuda))
    block_m, block_n, block_k = cfg.pop("BLOCK_M"), cfg.pop("BLOCK_N"), cfg.pop("BLOCK_K")
    group_m = cfg.pop("GROUP_M")
    ieee = hidden.dtype == torch.float32

    sorted_pairs, tile_expert, used_rows = align_by_expert(topk_ids, experts, block_m)
    tiles_m = tile_expert.shape[0]
    activations = scratch((pairs, inter), hidden.dtype, hidden.device)
    weighted = scratch((pairs, dim), hidden.dtype, hidden.device)
    routing_weights = topk_weights.reshape(-1).contiguous()

    tiles_n = cdiv(inter, block_n)
    _moe_gate_up_kernel[(tiles_m * tiles_n,)](
        hidden, w_gate_up, activations, sorted_pairs, tile_expert, used_rows,
        pairs, top_k, dim, inter, tiles_n,
        hidden.stride(0), w_gate_up.stride(0), w_gate_up.stride(1), activations.stride(0),
        BLOCK_M=block_m, BLOCK_N=block_n, BLOCK_K=block_k, GROUP_M=group_m, IEEE_DOT=ieee, **cfg,
    )
    tiles_n = cdiv(dim, block_n)
    _moe_down_kernel[(tiles_m * tiles_n,)](
        activations, w_down, routing_weights, weighted, sorted_pairs, tile_expert, used_rows,
        pairs, dim, inter, tiles_n,
        activations.stride(0), w_down.stride(0), w_down.stride(1), weighted.stride(0),
        BLOCK_M=block_m, BLOCK_N=block_n, BLOCK_K=block_k, GROUP_M=group_m, IEEE_DOT=ieee, **cfg,
    )
    # The K weighted expert outputs of a token; summed in float32, rounded once.
    out.copy_(weighted.view(tokens, top_k, dim).float().sum(dim=1))


def fused_moe(
    hidden: torch.Tensor,
    w_gate_up: torch.Tensor,
    w_down: torch.Tensor,
    topk_ids: torch.Tensor,
    topk_weights: torch.Tensor,
    *,
    chunk_tokens: int = DEFAULT_CHUNK_TOKENS,
    config: dict[str, int] | None = None,
    out: torch.Tensor | None = None,
) -> torch.Tensor:
    """Triton fused MoE; same contract as `fused_moe_reference` (see the module doc).

    `config` overrides the tile sizes (BLOCK_M, BLOCK_N, BLOCK_K, GROUP_M, num_warps,
    num_stages); the benchmark uses it, callers normally leave it alone.
    """
    tokens, dim, _, _, _ = _check(hidden, w_gate_up, w_down, topk_ids, topk_weights)
    if chunk_tokens < 1:
        raise ValueError(f"fused_moe: chunk_tokens must be >= 1, got {chunk_tokens}")
    if out is None:
        out = torch.empty_like(hidden)
    if out.shape != hidden.shape or out.dtype != hidden.dtype:
        raise ValueError(f"fused_moe: out must be {hidden.dtype} [T, D] = {tuple(hidden.shape)}")
    hidden = hidden if hidden.stride(1) == 1 else hidden.contiguous()
    w_gate_up, w_down = w_gate_up.contiguous(), w_down.contiguous()
    # Keep every in-kernel offset (pair rows x width) below 2**31 so int32 indexing is exact.
    widest = max(dim, hidden.stride(0), w_gate_up.shape[1], 1) * max(topk_ids.shape[1], 1)
    chunk_tokens = max(1, min(chunk_tokens, (2**31 - 1) // widest))
    for start in range(0, tokens, chunk_tokens):
        end = min(start + chunk_tokens, tokens)
        _fused_moe_chunk(
            hidden[start:end], w_gate_up, w_down, topk_ids[start:end], topk_weights[start:end],
            out[start:end], config,
        )
    return out
