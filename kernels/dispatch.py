"""The one door the model and the engine use to reach kernels: Triton or its torch twin.

Triton runs when every tensor argument is on CUDA, or when `TRITON_INTERPRET=1` (then CPU
tensors go through the Triton interpreter: slow, for tests). Anywhere else the twin runs.
`PROVER_KERNELS=torch` (or the `backend("torch")` context) forces the twins, e.g. to
compare a model's outputs with kernels on and off; `backend("triton")` forces Triton.
When autograd is recording and an input requires grad, the twin runs: the Triton kernels
have no backward pass. bfloat16 off CUDA also runs the twin (the interpreter's bf16 `tl.dot`
is wrong), whatever the backend. The model and the engine reach kernels only through this
module (a test in tests/test_layers.py holds them to it).

Signatures (see each kernel module for the details):
    mla_decode(q_latent [B,H,r], q_pe [B,H,d_r], cache [NB, BS, r+d_r],
               block_table int32 [B, max_blocks], seq_lens int32 [B], scale) -> [B,H,r]
    gqa_decode(q [B,H,d], k_cache [NB, BS, G, d], v_cache [NB, BS, G, d],
               block_table int32 [B, max_blocks], seq_lens int32 [B], scale) -> [B,H,d]
    fused_moe(hidden [T,D], w_gate_up [E,2I,D], w_down [E,D,I], topk_ids [T,K],
              topk_weights [T,K]) -> [T,D]
    rmsnorm(x, weight, eps, residual=None) -> out | (out, new_residual)
    apply_rope(x, cos, sin, interleaved, *, write_half_split=False, token_axis=None) -> x_rot
"""

from __future__ import annotations

import contextlib
import inspect
import os
from collections.abc import Callable, Iterator
from types import ModuleType
from typing import Any, Literal

import torch

from kernels import attention_weights as _weights
from kernels import fused_moe as _moe
from kernels import gqa_decode as _gqa
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
    on_cuda = bool(tensors) and all(t.is_cuda for t in tensors)
    # triton 3.9's interpreter multiplies bfloat16 `tl.dot` operands as raw bits (wrong by
    # ~1e10), so bf16 off CUDA stays on the twin, even when the interpreter is requested or forced.
    if not on_cuda and any(t.dtype == torch.bfloat16 for t in tensors):
        return False
    return choice == "triton" or on_cuda or interpreter_requested()


def _dispatched(module: ModuleType, triton_name: str, twin_name: str) -> Callable[..., Any]:
    """`module.<triton_name>` where `use_triton` says so for the call's tensor arguments, else
    `module.<twin_name>` (same signature). Both are looked up per call, so tests can spy on them."""

    def run(*args: Any, **kwargs: Any) -> Any:
        tensors = [a for a in (*args, *kwargs.values()) if isinstance(a, torch.Tensor)]
        return getattr(module, triton_name if use_triton(*tensors) else twin_name)(*args, **kwargs)

    run.__name__ = run.__qualname__ = triton_name
    run.__doc__ = f"`{module.__name__}.{triton_name}` (Triton) or its twin `{twin_name}`."
    run.__signature__ = inspect.signature(getattr(module, twin_name))  # type: ignore[attr-defined]
    return run


mla_decode = _dispatched(_mla, "mla_decode", "mla_decode_reference")
gqa_decode = _dispatched(_gqa, "gqa_decode", "gqa_decode_reference")
fused_moe = _dispatched(_moe, "fused_moe", "fused_moe_reference")
rmsnorm = _dispatched(_norm, "rmsnorm", "rmsnorm_reference")
apply_rope = _dispatched(_rope, "apply_rope", "apply_rope_reference")


def mla_decode_shared_prefix(
    q_latent: torch.Tensor,
    q_pe: torch.Tensor,
    cache: torch.Tensor,
    block_table: torch.Tensor,
    seq_lens: torch.Tensor,
    scale: float,
    shared_prefixes: list[_mla.SharedPrefix],
    suffix_block_table: torch.Tensor,
    suffix_lens: torch.Tensor,
) -> torch.Tensor:
    """The same decode for a batch in which groups of sequences share their first blocks, given
    in both layouts: Triton reads the full block tables; the torch path reads each shared prefix
    once (`mla_decode_cascade_reference`)."""
    if use_triton(q_latent, q_pe, cache, block_table, seq_lens):
        return _mla.mla_decode(q_latent, q_pe, cache, block_table, seq_lens, scale)
    return _mla.mla_decode_cascade_reference(
        q_latent, q_pe, cache, shared_prefixes, suffix_block_table, suffix_lens, scale
    )


def gqa_decode_shared_prefix(
    q: torch.Tensor,
    k_cache: torch.Tensor,
    v_cache: torch.Tensor,
    block_table: torch.Tensor,
    seq_lens: torch.Tensor,
    scale: float,
    shared_prefixes: list[_mla.SharedPrefix] | _gqa.CascadeLayout,  # packed: pack_gqa_cascade
    suffix_block_table: torch.Tensor,
    suffix_lens: torch.Tensor,
) -> torch.Tensor:
    """`gqa_decode` for a batch in which groups of sequences share their first blocks (as
    `mla_decode_shared_prefix`): Triton reads the full block tables; the torch path reads each
    shared prefix once (`gqa_decode_cascade_reference`)."""
    if use_triton(q, k_cache, v_cache, block_table, seq_lens):
        return _gqa.gqa_decode(q, k_cache, v_cache, block_table, seq_lens, scale)
    return _gqa.gqa_decode_cascade_reference(
        q, k_cache, v_cache, shared_prefixes, suffix_block_table, suffix_lens, scale
    )


def describe(name: str, device: torch.device) -> str:
    """Which implementation `dispatch.<name>` runs for float32 tensors on `device` (for reports)."""
    kind = "Triton" if use_triton(torch.empty(0, device=device)) else "torch twin"
    return f"kernels.dispatch.{name} ({kind})"


# Not kernels, but the model and the engine need them next to the kernels they feed.
SharedPrefix = _mla.SharedPrefix
pack_gqa_cascade = _gqa.pack_cascade  # gqa_decode_shared_prefix's prefixes, packed once per step
flushed_softmax = _weights.flushed_softmax  # softmax without subnormal weights (the traced decode attention)
CascadeLayout = _gqa.CascadeLayout
YarnScaling = _rope.YarnScaling
LinearScaling = _rope.LinearScaling
Llama3Scaling = _rope.Llama3Scaling
RopeScaling = _rope.RopeScaling
rope_inv_freq = _rope.rope_inv_freq
yarn_cos_sin = _rope.yarn_cos_sin
yarn_cos_sin_scale = _rope.yarn_cos_sin_scale
yarn_mscale = _rope.yarn_mscale
stack_expert_weights = _moe.stack_expert_weights
