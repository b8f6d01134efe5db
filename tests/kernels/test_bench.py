from __future__ import annotations

import torch

from kernels import bench


def test_bench_without_a_gpu_says_so_and_succeeds(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)  # also on a GPU machine
    out = tmp_path / "table.md"
    assert bench.main(["--out", str(out)]) == 0
    assert "needs a CUDA GPU" in capsys.readouterr().out
    assert not out.exists()


def test_bench_row_renders_speedup_and_verdict():
    row = bench.Row("fused_moe", "T=4", triton_ms=1.0, twin_ms=3.0, max_rel_err=2e-3,
                    metric="m", target="t", passed=True)
    assert row.markdown() == "| fused_moe | T=4 | 1.000 | 3.000 | 3.0x | 2.0e-03 | m | t | PASS |"


def test_time_against_twin_times_both_and_compares_the_picked_result(monkeypatch):
    timed = []

    def fake_median_ms(fn):
        timed.append(fn())
        return float(len(timed))

    monkeypatch.setattr(bench, "_median_ms", fake_median_ms)
    kernel = lambda x: (x + 1.0, "kernel")  # noqa: E731
    twin = lambda x: (x + 2.0, "twin")  # noqa: E731
    kernel_ms, twin_ms, err = bench._time_against_twin(
        kernel, twin, (torch.tensor([0.0, 2.0]),), result=lambda out: out[0]
    )
    # kernel first, then the twin; the error is max |k - t| / max |t| = 1 / 4
    assert (kernel_ms, twin_ms) == (1.0, 2.0)
    assert [label for _, label in timed] == ["kernel", "twin"]
    assert err == 0.25
