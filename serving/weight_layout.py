"""Weight memory layouts that make a CPU decode step's matrix products fast.

`nn.Linear` keeps its weight [out, in] row-major, so `linear(x)` is the product x · Wᵀ with a
transposed right operand. For the few-row products of a decode step the CPU BLAS is markedly
faster when that operand is row-major itself ([in, out] in memory). Measured with one thread
on the development machine (x of 16 rows, µs per product, weight [out, in] row-major -> the
same values stored [in, out]): 256->2048 161 -> 118; 256->1257 87 -> 64; 512->256 37 -> 20;
256->128 11 -> 6; at 1 row and at 200 to 800 rows (prefill) equal or faster. So the engine
stores these weights transposed in memory, keeping each tensor's shape, values and identity
(the `Parameter` objects stay; only their storage order changes), and everything that reads
them (state_dict, export, training) sees the same tensors.
"""

from __future__ import annotations

import torch
from torch import nn


def _store_transposed(weight: nn.Parameter) -> bool:
    """Store the 2-D `weight` column-major (same shape and values), unless it is already; True if it changed."""
    if weight.t().is_contiguous():
        return False
    weight.data = weight.data.t().contiguous().t()
    return True


def use_decode_weight_layout(model: nn.Module) -> int:
    """Re-store `model`'s linear weights for fast CPU products (see the
    module doc); a no-op off CPU, for other dtypes than float32 and on a second call. Weights
    shared with an embedding (tied heads) keep their layout: the lookup reads rows. Returns how
    many tensors were re-stored."""
    embedded = {id(m.weight) for m in model.modules() if isinstance(m, nn.Embedding)}
    changed = 0
    with torch.no_grad():
        for module in model.modules():
            weight = getattr(module, "weight", None) if isinstance(module, nn.Linear) else None
            if weight is not None and weight.device.type == "cpu" and weight.dtype == torch.float32 and id(weight) not in embedded:
                changed += _store_transposed(weight)
    return changed
