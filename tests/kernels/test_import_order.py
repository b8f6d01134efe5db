"""The interpreter works whether or not TRITON_INTERPRET was set before triton was imported.

Each case runs in a fresh Python process, because this pytest process has imported triton
long ago. Case "late": triton, its library and our kernels are imported in compiled mode,
then TRITON_INTERPRET=1 is set; case "early": it is set before anything is imported.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

SCRIPT = textwrap.dedent(
    """
    import os, sys
    import torch
    import triton
    import triton.language as tl
    from kernels import dispatch
    from kernels import fused_moe, mla_decode, rmsnorm, rope

    mode = sys.argv[1]
    library_kind = type(tl.standard.sum).__name__
    if mode == "late":
        assert library_kind == "JITFunction", library_kind
        os.environ["TRITON_INTERPRET"] = "1"
    else:
        assert library_kind == "InterpretedFunction", library_kind

    g = torch.Generator().manual_seed(0)
    def close(a, b):
        err = float((a - b).abs().max() / b.abs().max())
        assert not torch.isnan(a).any() and err < 1e-3, err

    x, w, r = torch.randn(3, 16, generator=g), torch.randn(16, generator=g), torch.randn(3, 16, generator=g)
    close(dispatch.rmsnorm(x, w, 1e-6, r)[0], rmsnorm.rmsnorm_reference(x, w, 1e-6, r)[0])
    cos, sin = rope.yarn_cos_sin(torch.arange(4), 8, 10000.0)
    q = torch.randn(4, 2, 8, generator=g)
    close(dispatch.apply_rope(q, cos, sin, True), rope.apply_rope_reference(q, cos, sin, True))
    args = (torch.randn(2, 16, 16, generator=g), torch.randn(2, 16, 8, generator=g),
            torch.randn(4, 4, 24, generator=g), torch.tensor([[0, 2], [3, 1]], dtype=torch.int32),
            torch.tensor([6, 3], dtype=torch.int32), 0.2)
    close(dispatch.mla_decode(*args), mla_decode.mla_decode_reference(*args))
    args = (torch.randn(3, 16, generator=g), torch.randn(4, 16, 16, generator=g),
            torch.randn(4, 16, 8, generator=g), torch.tensor([[0, 3], [3, 1], [1, 0]]),
            torch.rand(3, 2, generator=g))
    close(dispatch.fused_moe(*args), fused_moe.fused_moe_reference(*args))
    print("all kernels ok")
    """
)


@pytest.mark.parametrize("mode", ["late", "early"])
def test_interpreter_independent_of_import_order(mode):
    env = {k: v for k, v in os.environ.items() if k not in ("TRITON_INTERPRET", "PROVER_KERNELS")}
    if mode == "early":
        env["TRITON_INTERPRET"] = "1"
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT, mode], env=env, capture_output=True, text=True, timeout=240
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "all kernels ok" in result.stdout
