"""Kernel tests run the Triton code on CPU through the interpreter.

On a GPU machine `KERNELS_TEST_DEVICE=cuda` runs the same tests compiled on CUDA
(scripts/gpu_check.sh does this); the interpreter is then left off.

The kernels choose compiled or interpreted mode at each launch (kernels/launch.py), so it
does not matter whether triton was imported before this file; the environment below is
set per test (monkeypatch), so other test packages in the same pytest process keep
their own settings.
"""

from __future__ import annotations

import os
from typing import Callable

import pytest
import torch

from kernels.launch import POISON_SCRATCH_ENV

REL_TOL = 1e-3
TEST_DEVICE = os.environ.get("KERNELS_TEST_DEVICE", "cpu")


@pytest.fixture
def device() -> torch.device:
    """Where kernel inputs live: cpu (interpreter) unless KERNELS_TEST_DEVICE says otherwise."""
    if TEST_DEVICE != "cpu" and not torch.cuda.is_available():
        pytest.fail(f"KERNELS_TEST_DEVICE={TEST_DEVICE} but torch sees no CUDA device")
    return torch.device(TEST_DEVICE)


@pytest.fixture(autouse=True)
def triton_interpreter(monkeypatch: pytest.MonkeyPatch) -> None:
    if TEST_DEVICE == "cpu":
        monkeypatch.setenv("TRITON_INTERPRET", "1")
    else:
        monkeypatch.delenv("TRITON_INTERPRET", raising=False)
    monkeypatch.setenv(POISON_SCRATCH_ENV, "1")  # scratch buffers start as NaN
    monkeypatch.delenv("PROVER_KERNELS", raising=False)


@pytest.fixture
def rng() -> torch.Generator:
    """Fresh random inputs every run; the seed is printed so a failure can be replayed."""
    seed = int(torch.randint(0, 2**31 - 1, ()).item())
    print(f"random seed {seed}")
    return torch.Generator().manual_seed(seed)


def nan_like(t: torch.Tensor) -> torch.Tensor:
    return torch.full_like(t, float("nan"))


def relative_error(out: torch.Tensor, ref: torch.Tensor) -> float:
    assert out.shape == ref.shape, f"shape {tuple(out.shape)} != reference {tuple(ref.shape)}"
    assert not torch.isnan(out).any(), "kernel left NaN in its output (unwritten or poisoned read)"
    scale = ref.float().abs().max().clamp_min(1e-12)
    return float((out.float() - ref.float()).abs().max() / scale)


@pytest.fixture
def check_close() -> Callable[[torch.Tensor, torch.Tensor], None]:
    def check(out: torch.Tensor, ref: torch.Tensor) -> None:
        err = relative_error(out, ref)
        assert err <= REL_TOL, f"relative error {err:.2e} > {REL_TOL:.0e}"

    return check


@pytest.fixture
def poisoned() -> Callable[[torch.Tensor], torch.Tensor]:
    return nan_like
