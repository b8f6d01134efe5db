"""RMSNorm with the residual add fused in, and its torch twin.

`rmsnorm(x, weight, eps)` -> out
`rmsnorm(x, weight, eps, residual)` -> (out, new_residual), new_residual = x + residual,
out = rmsnorm(new_residual). This is the pre-norm block pattern: one read of x and the
residual, one write of each result, instead of an add kernel followed by a norm kernel.

Numerics follow DeepSeek/HF: the sum of squares is taken in float32, the normalised row
is rounded to the input dtype and then multiplied by the weight. The residual sum is
rounded to the input dtype before it is normalised, as in the unfused model.
"""

from __future__ import annotations

import torch
import triton.language as tl

from kernels.launch import next_power_of_2, triton_kernel


def _check(x: torch.Tensor, weight: torch.Tensor, residual: torch.Tensor | None) -> None:
    if weight.dim() != 1 or weight.shape[0] != x.shape[-1]:
        raise ValueError(
            f"rmsnorm: weight must be 1-D with x's last dim ({x.shape[-1]}), got {tuple(weight.shape)}"
        )
    if residual is not None and (residual.shape != x.shape or residual.dtype != x.dtype):
        raise ValueError(
            f"rmsnorm: residual must match x in shape and dtype; x {tuple(x.shape)} {x.dtype}, "
            f"residual {tuple(residual.shape)} {residual.dtype}"
        )


def rmsnorm_reference(
    x: torch.Tensor, weight: torch.Tensor, eps: float, residual: torch.Tensor | None = None
) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
    """Plain-torch twin of `rmsnorm`."""
    _check(x, weight, residual)
    new_residual = x + residual if residual is not None else x
    h = new_residual.float()
    h = h * torch.rsqrt(h.pow(2).mean(-1, keepdim=True) + eps)
    out = (weight * h.to(x.dtype)).to(x.dtype)
    return (out, new_residual) if residual is not None else out


@triton_kernel
def _rmsnorm_kernel(
    x_ptr, residual_ptr, weight_ptr, out_ptr, new_residual_ptr,
    n_rows, n_cols, eps,
    HAS_RESIDUAL: tl.constexpr, BLOCK_ROWS: tl.constexpr, BLOCK_COLS: tl.constexpr,
):
    rows = tl.program_id(0) * BLOCK_ROWS + tl.arange(0, BLOCK_ROWS)
    cols = tl.arange(0, BLOCK_COLS)
    mask = (rows[:, None] < n_rows) & (cols[None, :] < n_cols)
    offsets = rows[:, None].to(tl.int64) * n_cols + cols[None, :]
    x = tl.load(x_ptr + offsets, mask=mask, other=0.0)
    if HAS_RESIDUAL:
        r = tl.load(residual_ptr + offsets, mask=mask, other=0.0)
        # Round the sum to the storage dtype first: the unfused model normalises that value.
        x = (x.to(tl.float32) + r.to(tl.float32)).to(x.dtype)
        tl.store(new_residual_ptr + offsets, x, mask=mask)
    h = x.to(tl.float32)
    mean_square = tl.sum(h * h, axis=1) / n_cols
    h = h * tl.rsqrt(mean_square + eps)[:, None]
    w = tl.load(weight_ptr + cols, mask=cols < n_cols, other=0.0)
    out = w[None, :].to(tl.float32) * h.to(x.dtype).to(tl.float32)
    tl.store(out_ptr + offsets, out.to(out_ptr.dtype.element_ty), mask=mask)


def rmsnorm(
    x: torch.Tensor,
    weight: torch.Tensor,
    eps: float,
    residual: torch.Tensor | None = None,
    *,
    out: torch.Tensor | None = None,
) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
    """Triton RMSNorm over the last dim of x (any leading shape); see the module doc."""
    _check(x, weight, residual)
    n_cols = x.shape[-1]
    x2 = x.reshape(-1, n_cols).contiguous()
    n_rows = x2.shape[0]
    if out is None:
        out = torch.empty_like(x)
    if out.shape != x.shape or not out.is_contiguous():
        raise ValueError(f"rmsnorm: out must be contiguous with shape {tuple(x.shape)}")
    if residual is not None:
        r2 = residual.reshape(-1, n_cols).contiguous()
        new_residual = torch.empty_like(x2)
    else:
        r2, new_residual = x2, x2  # unused by the kernel when HAS_RESIDUAL is False
    if n_rows > 0:
        block_cols = next_power_of_2(n_cols)
        # Several short rows per program; one row per program once rows are wide.
        block_rows = max(1, min(16, 4096 // block_cols))
        grid = ((n_rows + block_rows - 1) // block_rows,)
        _rmsnorm_kernel[grid](
            x2, r2, weight.contiguous(), out, new_residual, n_rows, n_cols, float(eps),
            HAS_RESIDUAL=residual is not None, BLOCK_ROWS=block_rows, BLOCK_COLS=block_cols,
            num_warps=8 if block_cols >= 4096 else 4,
        )
    if residual is not None:
        return out, new_residual.view(x.shape)
    return out
