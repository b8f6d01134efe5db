"""Rotary position embedding on q_pe / k_pe, the YaRN cos/sin builder, and the torch twin.

Layouts of the rotated head dim d (half = d // 2, frequency i in [0, half)):
- half-split (`interleaved=False`, Llama/NeoX): frequency i rotates (x[i], x[i + half]).
- interleaved (`interleaved=True`, DeepSeek-V2 and the DeepSeek reference code): frequency
  i rotates the pair (x[2i], x[2i + 1]); the result is written back in the same places.
- read interleaved, write half-split (`interleaved=True, write_half_split=True`): what HF
  DeepSeek-V3 (`rope_interleave=True`) does: it de-interleaves the pairs, then rotates in
  the half-split layout. The result is a fixed permutation of the interleaved result, so
  q·k is the same as long as q and k are treated alike; compare logits, not cached k_pe.

The rotation of a pair (a, b) by angle θ: (a cos θ − b sin θ, b cos θ + a sin θ).

`cos`, `sin` hold one value per frequency: [T, half] (as `yarn_cos_sin` returns), or any
shape that broadcasts against x[..., :half]. With 2-D [T, half] tables the token axis of
x is found as follows: x [..., T, d] (token axis −2) or x [T, H, d] (token axis 0, the
engine's flattened layout); when both readings fit (x is [T, T, d]) pass `token_axis`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from typing import Any

import torch
import triton.language as tl

from kernels.launch import cdiv, next_power_of_2, triton_kernel


@dataclass(frozen=True)
class YarnScaling:
    """HF `rope_scaling` of type "yarn": YaRN context extension (DeepSeek's variant, with the
    attention-scale correction). The one copy: `model.config` reads it from config.json.
    None = absent from the config (the published spelling omits it)."""

    factor: float
    original_max_position_embeddings: int
    beta_fast: float = 32.0
    beta_slow: float = 1.0
    mscale: float | None = None
    mscale_all_dim: float | None = None
    # transformers lets a config pin the cos/sin factor directly; None = derive it from mscale
    attention_factor: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """The published `rope_scaling` spelling."""
        d: dict[str, Any] = {"type": "yarn"}
        for f in fields(self):
            value = getattr(self, f.name)
            if value is not None:
                d[f.name] = value
        return d


@dataclass(frozen=True)
class LinearScaling:
    """HF `rope_type: linear` (position interpolation): every frequency divided by `factor`."""

    factor: float

    def to_dict(self) -> dict[str, Any]:
        return {"rope_type": "linear", "factor": self.factor}


@dataclass(frozen=True)
class Llama3Scaling:
    """HF `rope_type: llama3`: long wavelengths (> original / low_freq_factor) divided by `factor`,
    short ones (< original / high_freq_factor) kept, a smooth blend in between."""

    factor: float
    low_freq_factor: float
    high_freq_factor: float
    original_max_position_embeddings: int

    def to_dict(self) -> dict[str, Any]:
        return {"rope_type": "llama3", **{f.name: getattr(self, f.name) for f in fields(self)}}


RopeScaling = YarnScaling | LinearScaling | Llama3Scaling


def yarn_mscale(factor: float, mscale: float = 1.0) -> float:
    """YaRN attention-temperature factor: 0.1 · mscale · ln(factor) + 1 (1 when factor <= 1)."""
    if factor <= 1.0:
        return 1.0
    return 0.1 * mscale * math.log(factor) + 1.0


def _correction_dim(num_rotations: float, dim: int, base: float, max_position: int) -> float:
    # The head-dim index whose wavelength fits `num_rotations` times into max_position.
    return (dim * math.log(max_position / (num_rotations * 2 * math.pi))) / (2 * math.log(base))


def _llama3_inv_freq(inv_freq: torch.Tensor, scaling: Llama3Scaling) -> torch.Tensor:
    original = scaling.original_max_position_embeddings
    wavelen = 2 * math.pi / inv_freq
    long_wave = wavelen > original / scaling.low_freq_factor
    short_wave = wavelen < original / scaling.high_freq_factor
    smooth = (original / wavelen - scaling.low_freq_factor) / (scaling.high_freq_factor - scaling.low_freq_factor)
    blended = (1 - smooth) * inv_freq / scaling.factor + smooth * inv_freq
    return torch.where(long_wave, inv_freq / scaling.factor, torch.where(short_wave, inv_freq, blended))


def rope_inv_freq(dim: int, base: float, scaling: RopeScaling | None = None) -> torch.Tensor:
    """Inverse frequencies [dim // 2] (float32): plain, or rescaled by `scaling` (YaRN blend,
    linear interpolation, or Llama 3's wavelength bands)."""
    if dim % 2:
        raise ValueError(f"rope: the rotary dim must be even, got {dim}")
    exponents = torch.arange(0, dim, 2, dtype=torch.float32) / dim
    freq_extra = 1.0 / (base**exponents)
    if scaling is None:
        return freq_extra
    if isinstance(scaling, LinearScaling):
        return freq_extra / scaling.factor
    if isinstance(scaling, Llama3Scaling):
        return _llama3_inv_freq(freq_extra, scaling)
    freq_inter = 1.0 / (scaling.factor * base**exponents)
    max_pos = scaling.original_max_position_embeddings
    low = max(math.floor(_correction_dim(scaling.beta_fast, dim, base, max_pos)), 0)
    high = min(math.ceil(_correction_dim(scaling.beta_slow, dim, base, max_pos)), dim - 1)
    if low == high:
        high += 0.001  # avoid a zero-width ramp
    ramp = ((torch.arange(dim // 2, dtype=torch.float32) - low) / (high - low)).clamp(0, 1)
    extrapolation_weight = 1.0 - ramp  # 1: keep the original frequency, 0: interpolate
    return freq_inter * (1 - extrapolation_weight) + freq_extra * extrapolation_weight


def yarn_cos_sin_scale(scaling: RopeScaling | None) -> float:
    """Factor on the cos/sin tables: mscale(factor, mscale) / mscale(factor, mscale_all_dim) under
    YaRN (1.0 for DeepSeek-V2-Lite and V3). As transformers: an explicit `attention_factor` wins;
    without both mscale and mscale_all_dim it is mscale(factor). The softmax scale's own mscale²
    is the attention's business, not this table's (see `yarn_mscale`)."""
    if not isinstance(scaling, YarnScaling):  # linear and llama3 leave the tables' magnitude alone
        return 1.0
    if scaling.attention_factor is not None:
        return scaling.attention_factor
    if scaling.mscale and scaling.mscale_all_dim:
        return yarn_mscale(scaling.factor, scaling.mscale) / yarn_mscale(scaling.factor, scaling.mscale_all_dim)
    return yarn_mscale(scaling.factor)


def yarn_cos_sin(
    positions: torch.Tensor, dim: int, base: float, scaling: YarnScaling | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """cos, sin tables [*positions.shape, dim // 2] (float32) for the given token positions,
    times `yarn_cos_sin_scale(scaling)`."""
    inv_freq = rope_inv_freq(dim, base, scaling).to(positions.device)
    angles = positions.to(torch.float32)[..., None] * inv_freq
    magnitude = yarn_cos_sin_scale(scaling)
    return angles.cos() * magnitude, angles.sin() * magnitude


def _check_layout(x: torch.Tensor, interleaved: bool, write_half_split: bool) -> int:
    d = x.shape[-1]
    if d % 2:
        raise ValueError(f"apply_rope: the rotary dim (x's last dim) must be even, got {d}")
    if write_half_split and not interleaved:
        raise ValueError("apply_rope: write_half_split only applies to interleaved input")
    return d // 2


def _check_tables(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> None:
    half = x.shape[-1] // 2
    if cos.shape != sin.shape or cos.shape[-1] != half:
        raise ValueError(
            f"apply_rope: cos and sin must have equal shapes ending in {half} (= d/2), "
            f"got {tuple(cos.shape)} and {tuple(sin.shape)}"
        )


def _resolve_token_axis(x: torch.Tensor, cos: torch.Tensor, token_axis: int | None) -> int | None:
    """The axis of x that indexes the rows of 2-D [T, half] tables (None for other tables)."""
    if cos.dim() != 2 or x.dim() < 2:
        return None
    n_tokens = cos.shape[0]
    if token_axis is None:
        fits_last = x.shape[-2] == n_tokens
        fits_first = x.dim() == 3 and x.shape[0] == n_tokens
        if fits_last and fits_first and n_tokens > 1:
            raise ValueError(
                f"apply_rope: x {tuple(x.shape)} could be [T, H, d] or [H, T, d] for "
                f"{n_tokens} tokens; pass token_axis=0 or token_axis=-2"
            )
        if fits_last:
            return x.dim() - 2
        if fits_first:
            return 0
        raise ValueError(
            f"apply_rope: x {tuple(x.shape)} has no token axis of length {n_tokens} "
            f"(cos/sin are [{n_tokens}, {cos.shape[1]}]); expected x [..., T, d] or [T, H, d]"
        )
    if not -x.dim() <= token_axis < x.dim():
        raise ValueError(f"apply_rope: token_axis {token_axis} is out of range for x {tuple(x.shape)}")
    token_axis = token_axis % x.dim()
    if token_axis == x.dim() - 1 or x.shape[token_axis] != n_tokens:
        raise ValueError(
            f"apply_rope: axis {token_axis} of x {tuple(x.shape)} does not have length {n_tokens}"
        )
    return token_axis


def _cos_sin_per_row(
    x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor, token_axis: int | None
) -> tuple[torch.Tensor, torch.Tensor]:
    """cos/sin broadcast to x.shape[:-1] + (half,), with the token-axis rule of the module doc."""
    _check_tables(x, cos, sin)
    half = x.shape[-1] // 2
    lead = x.shape[:-1]
    axis = _resolve_token_axis(x, cos, token_axis)
    if axis is not None:
        view = [1] * (x.dim() - 1) + [half]
        view[axis] = cos.shape[0]
        cos, sin = cos.view(view), sin.view(view)
    try:
        return cos.expand(*lead, half), sin.expand(*lead, half)
    except RuntimeError as error:
        raise ValueError(
            f"apply_rope: cos/sin {tuple(cos.shape)} do not broadcast to x[..., :d/2] "
            f"{tuple(lead) + (half,)}"
        ) from error


def apply_rope_reference(
    x: torch.Tensor,
    cos: torch.Tensor,
    sin: torch.Tensor,
    interleaved: bool,
    *,
    write_half_split: bool = False,
    token_axis: int | None = None,
) -> torch.Tensor:
    """Plain-torch twin of `apply_rope` (math in float32, result in x's dtype)."""
    half = _check_layout(x, interleaved, write_half_split)
    cos, sin = _cos_sin_per_row(x, cos, sin, token_axis)
    xf = x.float()
    if interleaved:
        a, b = xf[..., 0::2], xf[..., 1::2]
    else:
        a, b = xf[..., :half], xf[..., half:]
    rot_a = a * cos - b * sin
    rot_b = b * cos + a * sin
    if interleaved and not write_half_split:
        out = torch.stack((rot_a, rot_b), dim=-1).flatten(-2)
    else:
        out = torch.cat((rot_a, rot_b), dim=-1)
    return out.to(x.dtype)


@triton_kernel
def _rope_kernel(
    x_ptr, cos_ptr, sin_ptr, cos_row_ptr, out_ptr,
    n_rows, half,
    READ_INTERLEAVED: tl.constexpr, WRITE_INTERLEAVED: tl.constexpr,
    BLOCK_ROWS: tl.constexpr, BLOCK_HALF: tl.constexpr,
):
    rows = tl.program_id(0) * BLOCK_ROWS + tl.arange(0, BLOCK_ROWS)
    freqs = tl.arange(0, BLOCK_HALF)
    mask = (rows[:, None] < n_rows) & (freqs[None, :] < half)
    row_base = rows[:, None].to(tl.int64) * (2 * half)
    if READ_INTERLEAVED:
        a_offsets = row_base + 2 * freqs[None, :]
        b_offsets = a_offsets + 1
    else:
        a_offsets = row_base + freqs[None, :]
        b_offsets = a_offsets + half
    a = tl.load(x_ptr + a_offsets, mask=mask, other=0.0).to(tl.float32)
    b = tl.load(x_ptr + b_offsets, mask=mask, other=0.0).to(tl.float32)
    cos_rows = tl.load(cos_row_ptr + rows, mask=rows < n_rows, other=0).to(tl.int64)
    table_offsets = cos_rows[:, None] * half + freqs[None, :]
    c = tl.load(cos_ptr + table_offsets, mask=mask, other=0.0)
    s = tl.load(sin_ptr + table_offsets, mask=mask, other=0.0)
    rot_a = a * c - b * s
    rot_b = b * c + a * s
    if WRITE_INTERLEAVED:
        out_a = row_base + 2 * freqs[None, :]
        out_b = out_a + 1
    else:
        out_a = row_base + freqs[None, :]
        out_b = out_a + half
    tl.store(out_ptr + out_a, rot_a.to(out_ptr.dtype.element_ty), mask=mask)
    tl.store(out_ptr + out_b, rot_b.to(out_ptr.dtype.element_ty), mask=mask)


def _row_tables(
    x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor, token_axis: int | None
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(cos table [P, half], sin table [P, half], int32 table row of each x row [N])."""
    half = x.shape[-1] // 2
    cos_b, sin_b = _cos_sin_per_row(x, cos, sin, token_axis)  # validates shapes
    n_rows = math.prod(x.shape[:-1])
    axis = _resolve_token_axis(x, cos, token_axis)
    if axis is not None:
        # One table row per token: map x's rows to token indices instead of copying the
        # tables out to [N, half].
        view = [1] * (x.dim() - 1)
        view[axis] = cos.shape[0]
        token_of_row = torch.arange(cos.shape[0], device=x.device, dtype=torch.int32)
        rows = token_of_row.view(view).expand(*x.shape[:-1]).reshape(n_rows)
        return cos.float().contiguous(), sin.float().contiguous(), rows
    table_cos = cos_b.float().reshape(n_rows, half).contiguous()
    table_sin = sin_b.float().reshape(n_rows, half).contiguous()
    return table_cos, table_sin, torch.arange(n_rows, device=x.device, dtype=torch.int32)


def apply_rope(
    x: torch.Tensor,
    cos: torch.Tensor,
    sin: torch.Tensor,
    interleaved: bool,
    *,
    write_half_split: bool = False,
    token_axis: int | None = None,
    out: torch.Tensor | None = None,
) -> torch.Tensor:
    """Triton rotary embedding; returns a new tensor (or fills `out`), x is not modified."""
    half = _check_layout(x, interleaved, write_half_split)
    table_cos, table_sin, cos_row = _row_tables(x, cos, sin, token_axis)
    x_rows = x.contiguous()
    if out is None:
        out = torch.empty_like(x_rows)
    if out.shape != x.shape or not out.is_contiguous() or out.dtype != x.dtype:
        raise ValueError(f"apply_rope: out must be contiguous {x.dtype} with shape {tuple(x.shape)}")
    n_rows = cos_row.shape[0]
    if n_rows == 0:
        return out
    block_half = next_power_of_2(half)
    block_rows = max(1, min(64, 2048 // block_half))
    _rope_kernel[(cdiv(n_rows, block_rows),)](
        x_rows, table_cos, table_sin, cos_row, out, n_rows, half,
        READ_INTERLEAVED=interleaved, WRITE_INTERLEAVED=interleaved and not write_half_split,
        BLOCK_ROWS=block_rows, BLOCK_HALF=block_half,
    )
    return out
