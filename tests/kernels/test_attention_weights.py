"""kernels.attention_weights: softmax weights without subnormal floats."""

from __future__ import annotations

import torch

from kernels.attention_weights import FLUSH_BELOW, flushed_exp, flushed_softmax

TINIEST_NORMAL = torch.finfo(torch.float32).tiny


def _has_subnormals(t: torch.Tensor) -> bool:
    return bool(((t != 0) & (t.abs() < TINIEST_NORMAL)).any())


def test_flushed_softmax_equals_softmax_but_for_negligible_weights():
    g = torch.Generator().manual_seed(0)
    scores = torch.randn(4, 3, 500, generator=g) * 40  # spreads of hundreds: plain softmax goes subnormal
    invalid = torch.arange(500)[None, None, :] >= torch.tensor([500, 400, 17, 1])[:, None, None]
    plain = torch.softmax(scores.masked_fill(invalid, float("-inf")), dim=-1)
    assert _has_subnormals(plain)
    flushed = flushed_softmax(scores, invalid)
    assert not _has_subnormals(flushed)
    assert bool((flushed[invalid.expand_as(flushed)] == 0).all())
    torch.testing.assert_close(flushed, plain, atol=1e-25, rtol=1e-6)
    dropped = (flushed == 0) & (plain > 0)
    assert bool(dropped.any())
    assert bool((plain[dropped] < torch.exp(torch.tensor(-FLUSH_BELOW + 1.0))).all())  # only negligible ones


def test_a_row_without_valid_positions_is_nan_as_before():
    out = flushed_softmax(torch.zeros(1, 4), torch.ones(1, 4, dtype=torch.bool))
    assert bool(torch.isnan(out).all())


def test_flushed_exp_is_exp_down_to_the_threshold_and_zero_below():
    shifted = torch.tensor([0.0, -1.0, -FLUSH_BELOW + 0.5, -FLUSH_BELOW - 0.5, -100.0, float("-inf")])
    out = flushed_exp(shifted)
    torch.testing.assert_close(out[:3], torch.exp(shifted[:3]))
    assert out[3:].tolist() == [0.0, 0.0, 0.0]
