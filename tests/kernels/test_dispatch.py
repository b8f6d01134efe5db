from __future__ import annotations

import pytest
import torch

from kernels import dispatch
from kernels import fused_moe as moe_module
from kernels import gqa_decode as gqa_module
from kernels import mla_decode as mla_module
from kernels import rmsnorm as norm_module
from kernels import rope as rope_module


def small_inputs(rng):
    """Tiny inputs for each dispatched kernel: name -> (args, twin)."""
    cache = torch.randn(4, 4, 24, generator=rng)
    mla_args = (
        torch.randn(2, 16, 16, generator=rng), torch.randn(2, 16, 8, generator=rng), cache,
        torch.tensor([[0, 2], [3, 1]], dtype=torch.int32), torch.tensor([6, 3], dtype=torch.int32), 0.2,
    )
    moe_args = (
        torch.randn(3, 16, generator=rng), torch.randn(4, 16, 16, generator=rng),
        torch.randn(4, 16, 8, generator=rng), torch.tensor([[0, 3], [3, 1], [1, 0]]),
        torch.rand(3, 2, generator=rng),
    )
    gqa_args = (
        torch.randn(2, 4, 16, generator=rng), torch.randn(4, 4, 2, 16, generator=rng),
        torch.randn(4, 4, 2, 16, generator=rng), torch.tensor([[0, 2], [3, 1]], dtype=torch.int32),
        torch.tensor([6, 3], dtype=torch.int32), 0.25,
    )
    norm_args = (torch.randn(3, 16, generator=rng), torch.randn(16, generator=rng), 1e-6)
    cos, sin = rope_module.yarn_cos_sin(torch.arange(5), 8, 10000.0)
    rope_args = (torch.randn(5, 2, 8, generator=rng), cos, sin, True)
    return {
        "mla_decode": (mla_args, mla_module.mla_decode_reference),
        "gqa_decode": (gqa_args, gqa_module.gqa_decode_reference),
        "fused_moe": (moe_args, moe_module.fused_moe_reference),
        "rmsnorm": (norm_args, norm_module.rmsnorm_reference),
        "apply_rope": (rope_args, rope_module.apply_rope_reference),
    }


KERNEL_MODULES = {
    "mla_decode": (mla_module, "mla_decode", "mla_decode_reference"),
    "gqa_decode": (gqa_module, "gqa_decode", "gqa_decode_reference"),
    "fused_moe": (moe_module, "fused_moe", "fused_moe_reference"),
    "rmsnorm": (norm_module, "rmsnorm", "rmsnorm_reference"),
    "apply_rope": (rope_module, "apply_rope", "apply_rope_reference"),
}


def spy_on(monkeypatch, name):
    """Count calls of the Triton launcher and of the twin behind dispatch.<name>."""
    module, triton_name, twin_name = KERNEL_MODULES[name]
    calls = {"triton": 0, "twin": 0}
    for label, attr in (("triton", triton_name), ("twin", twin_name)):
        original = getattr(module, attr)

        def counted(*args, _original=original, _label=label, **kwargs):
            calls[_label] += 1
            return _original(*args, **kwargs)

        monkeypatch.setattr(module, attr, counted)
    return calls


@pytest.mark.parametrize("name", list(KERNEL_MODULES))
def test_interpreter_runs_triton_and_matches_twin(name, monkeypatch, rng, check_close, device):
    args, twin = small_inputs(rng)[name]
    args = tuple(a.to(device) if isinstance(a, torch.Tensor) else a for a in args)
    calls = spy_on(monkeypatch, name)
    got = getattr(dispatch, name)(*args)
    assert calls == {"triton": 1, "twin": 0}
    check_close(got, twin(*args))


@pytest.mark.parametrize("name", list(KERNEL_MODULES))
def test_cpu_without_interpreter_runs_the_twin(name, monkeypatch, rng):
    monkeypatch.delenv("TRITON_INTERPRET", raising=False)
    args, twin = small_inputs(rng)[name]
    calls = spy_on(monkeypatch, name)
    got = getattr(dispatch, name)(*args)
    assert calls == {"triton": 0, "twin": 1}
    assert torch.equal(got, twin(*args))


def test_use_triton_rules(monkeypatch):
    x = torch.zeros(2)
    monkeypatch.setenv("TRITON_INTERPRET", "1")
    assert dispatch.use_triton(x)
    with dispatch.backend("torch"):
        assert not dispatch.use_triton(x)
    monkeypatch.setenv("PROVER_KERNELS", "torch")
    assert not dispatch.use_triton(x)
    monkeypatch.setenv("PROVER_KERNELS", "auto")
    monkeypatch.delenv("TRITON_INTERPRET", raising=False)
    assert not dispatch.use_triton(x)
    with dispatch.backend("triton"):
        assert dispatch.use_triton(x)
    assert not dispatch.use_triton(x)  # the context restored the default
    monkeypatch.setenv("PROVER_KERNELS", "fast")
    with pytest.raises(ValueError, match="PROVER_KERNELS"):
        dispatch.use_triton(x)


def test_autograd_inputs_use_the_twin(monkeypatch):
    monkeypatch.setenv("TRITON_INTERPRET", "1")
    weight = torch.ones(8, requires_grad=True)
    x = torch.randn(2, 8)
    calls = spy_on(monkeypatch, "rmsnorm")
    out = dispatch.rmsnorm(x, weight, 1e-6)
    assert calls == {"triton": 0, "twin": 1}
    out.sum().backward()
    assert weight.grad is not None
    with torch.no_grad():
        dispatch.rmsnorm(x, weight, 1e-6)
    assert calls["triton"] == 1


def test_cpu_bfloat16_uses_the_twin_even_with_the_interpreter(monkeypatch):
    # The interpreter's bf16 tl.dot is wrong, so bf16 CPU tensors must never reach it.
    monkeypatch.setenv("TRITON_INTERPRET", "1")
    x = torch.randn(2, 8).to(torch.bfloat16)
    weight = torch.ones(8, dtype=torch.bfloat16)
    assert not dispatch.use_triton(x, weight)
    assert dispatch.use_triton(x.float(), weight.float())
    calls = spy_on(monkeypatch, "rmsnorm")
    dispatch.rmsnorm(x, weight, 1e-6)
    assert calls == {"triton": 0, "twin": 1}
