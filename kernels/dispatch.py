"""The one door the model and the engine use to reach kernels: Triton or its torch twin.

Triton runs when every tensor argument is on CUDA, or when `TRITON_INTERPRET=1` (then CPU
tensors go through the Triton interpreter: slow, for tests). Anywhere else the twin runs.
`PROVER_KERNELS=torch` (or the `backend("torch")` context) forces the twins, e.g. to
compare a model's outputs with kernels on and off; `backend("triton")` forces Triton.
When autograd is recording and an input requires grad, the twin runs: the Triton kernels
have no backward pass. bfloat16 on the CPU also runs the twin (the interpreter's bf16 `tl.dot`
is wrong).

Signatures (see each kernel module for the details):
    mla_decode(q_latent [B,H,r], q_pe [B,H,d_r], cache [NB, BS, r+d_r],
               block_table int32 [B, max_blocks], seq_lens int32 [B], scale) -> [B,H,r]
    fused_moe(hidden [T,D], w_gate_up [E,2I,D], w_down [E,D,I], topk_ids [T,K],
              topk_weights [T,K]) -> [T,D]
    rmsnorm(x, weight, eps, residual=None) -> out | (out, new_residual)
    apply_rope(x, cos, sin, interleaved, *, write_half_split=False, token_axis=None) -> x_rot
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from typing import Literal

import torch

from kernels import fused_moe as _moe
from kernels import mla_decode as _mla
from kernels import rmsnorm as _norm
from kernels import rope as _rope
from kernels.launch import interpreter_requested

Backend = Literal["auto", "triton", "torch"]
_BACKEND_ENV = "PROVER_KERNELS"
_forced: Backend | None = None  # set only by the `backend` context manager


def _selected_backend() -> Backend:
    if _forced is not None:
        return _forced
    value = os.environ.get(_BACKEND_ENV, "auto").strip().lower() or "auto"
    if value not in ("auto", "triton", "torch"):
        raise ValueError(f"{_BACKEND_ENV}={value!r}: expected auto, triton or torch")
    return value  # type: ignore[return-value]


@contextlib.contextmanager
def backend(name: Backend) -> Iterator[None]:
    """Force a backend inside a `with` block ("auto" restores the default choice)."""
    global _forced
    if name not in ("auto", "triton", "torch"):
        raise ValueError(f"kernels.dispatch.backend: expected auto, triton or torch, got {name!r}")
    previous, _forced = _forced, name
    try:
        yield
    finally:
        _forced = previous


def use_triton(*tensors: torch.Tensor) -> bool:
    """True when the Triton kernel should run for these tensors (see the module doc)."""
    choice = _selected_backend()
    if choice == "torch":
        return False
    # The Triton kernels have no backward pass; keep autograd working (training) on the twin.
    if torch.is_grad_enabled() and any(t.requires_grad for t in tensors):
        return False
    if choice == "triton":
        return True
    on_cuda = bool(tensors) and all(t.is_cuda for t in tensors)
    if on_cuda:
        return True
    # triton 3.9's interpreter multiplies bfloat16 `tl.dot` operands as raw bits (wrong by
    # ~1e10), so bf16 on the CPU stays on the twin even when the interpreter is requested.
    if any(t.dtype == torch.bfloat16 for t in tensors):
        return False
    return interpreter_requested()


def mla_decode(
    q_latent: torch.Tensor,
    q_pe: torch.Tensor,
    cache: torch.Tensor,
    block_table: torch.Tensor,
    seq_lens: torch.Tensor,
    scale: float,
) -> torch.Tensor:
    if use_triton(q_latent, q_pe, cache, block_table, seq_lens):
        return _mla.mla_decode(q_latent, q_pe, cache, block_table, seq_lens, scale)
    return _mla.mla_decode_reference(q_latent, q_pe, cache, block_table, seq_lens, scale)


def fused_moe(
    hidden: torch.Tensor,
    w_gate_up: torch.Tensor,
    w_down: torch.Tensor,
    topk_ids: torch.Tensor,
    topk_weights: torch.Tensor,
) -> torch.Tensor:
    if use_triton(hidden, w_gate_up, w_down, topk_ids, topk_weights):
        return _moe.fused_moe(hidden, w_gate_up, w_down, topk_ids, topk_weights)
    return _moe.fused_moe_reference(hidden, w_gate_up, w_down, topk_ids, topk_weights)


def rmsnorm(
    x: torch.Tensor, weight: torch.Tensor, eps: float, residual: torch.Tensor | None = None
) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
    tensors = (x, weight) if residual is None else (x, weight, residual)
    if use_triton(*tensors):
        return _norm.rmsnorm(x, weight, eps, residual)
    return _norm.rmsnorm_reference(x, weight, eps, residual)


def apply_rope(
    x: torch.Tensor,
    cos: torch.Tensor,
    sin: torch.Tensor,
    interleaved: bool,
    *,
    write_half_split: bool = False,
    token_axis: int | None = None,
) -> torch.Tensor:
    if use_triton(x, cos, sin):
        return _rope.apply_rope(
            x, cos, sin, interleaved, write_half_split=write_half_split, token_axis=token_axis
        )
    return _rope.apply_rope_reference(
        x, cos, sin, interleaved, write_half_split=write_half_split, token_axis=token_axis
    )


# Not kernels, but the model needs them next to apply_rope and fused_moe.
yarn_cos_sin = _rope.yarn_cos_sin
YarnScaling = _rope.YarnScaling
yarn_mscale = _rope.yarn_mscale
stack_expert_weights = _moe.stack_expert_weights
