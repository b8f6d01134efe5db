from __future__ import annotations

import pytest
import torch

from kernels.rmsnorm import rmsnorm, rmsnorm_reference


@pytest.mark.parametrize("shape", [(1, 16), (3, 5, 48), (7, 100)])
def test_rmsnorm_matches_twin(shape, rng, check_close, poisoned, device):
    x = torch.randn(shape, generator=rng).to(device)
    weight = torch.randn(shape[-1], generator=rng).to(device)
    out = poisoned(x)
    rmsnorm(x, weight, 1e-6, out=out)
    check_close(out, rmsnorm_reference(x, weight, 1e-6))


@pytest.mark.parametrize("shape", [(1, 16), (4, 3, 40)])
def test_rmsnorm_with_fused_residual_add(shape, rng, check_close, poisoned, device):
    x = torch.randn(shape, generator=rng).to(device)
    residual = torch.randn(shape, generator=rng).to(device)
    weight = torch.randn(shape[-1], generator=rng).to(device)
    residual_before = residual.clone()
    out = poisoned(x)
    got_out, got_residual = rmsnorm(x, weight, 1e-5, residual, out=out)
    want_out, want_residual = rmsnorm_reference(x, weight, 1e-5, residual)
    assert got_out is out
    check_close(got_out, want_out)
    check_close(got_residual, want_residual)
    check_close(got_residual, x + residual)
    assert torch.equal(residual, residual_before)  # inputs untouched


def test_reference_is_the_textbook_formula(rng):
    x = torch.randn(3, 8, generator=rng, dtype=torch.float64)
    weight = torch.randn(8, generator=rng, dtype=torch.float64)
    want = weight * x / torch.sqrt((x * x).mean(-1, keepdim=True) + 1e-6)
    assert torch.allclose(rmsnorm_reference(x, weight, 1e-6), want)


def test_rmsnorm_rejects_a_weight_of_the_wrong_size():
    with pytest.raises(ValueError, match="weight"):
        rmsnorm(torch.zeros(2, 8), torch.ones(7), 1e-6)
