"""Time each kernel against its torch twin on a CUDA GPU (DeepSeek-V2-Lite dimensions).

    python -m kernels.bench --out build/kernels_bench.md

One run measures the card (copy bandwidth, bf16 matmul rate), then each kernel and its
twin with `triton.testing.do_bench` (median), checks the kernel's result against the twin,
and prints a markdown table (also written to --out). Targets:
- MLA decode, batch 64 x 4096 context, 16 heads, latent 512 + rope 64, bf16: cache bytes
  read per call / time >= 70% of the measured copy bandwidth;
- GQA decode, batch 64 x 4096 context, 32 query / 8 key-value heads, head_dim 128 (Qwen3-8B's
  attention), bf16: cache bytes read per call / time reported against the copy bandwidth (no
  pass/fail target until it has been measured on a GPU);
- fused MoE, 4096 tokens, 64 experts, top-6, hidden 2048, expert width 1408, bf16:
  >= 2x faster than the per-expert loop.
Without a GPU it says so and exits 0. `--strict` exits 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import torch

MLA_TARGET_FRACTION_OF_COPY = 0.70
MOE_TARGET_SPEEDUP = 2.0


@dataclass
class Row:
    kernel: str
    shape: str
    triton_ms: float
    twin_ms: float
    max_rel_err: float
    metric: str = ""
    target: str = ""
    passed: bool | None = None

    def markdown(self) -> str:
        verdict = "" if self.passed is None else ("PASS" if self.passed else "FAIL")
        return (
            f"| {self.kernel} | {self.shape} | {self.triton_ms:.3f} | {self.twin_ms:.3f} | "
            f"{self.twin_ms / self.triton_ms:.1f}x | {self.max_rel_err:.1e} | {self.metric} | "
            f"{self.target} | {verdict} |"
        )


def _median_ms(fn: Callable[[], object]) -> float:
    import triton.testing

    return float(triton.testing.do_bench(fn, warmup=25, rep=100, return_mode="median"))


def _rel_err(out: torch.Tensor, ref: torch.Tensor) -> float:
    return float((out.float() - ref.float()).abs().max() / ref.float().abs().max().clamp_min(1e-12))


def _time_against_twin(
    kernel: Callable[..., Any],
    twin: Callable[..., Any],
    args: tuple[Any, ...],
    result: Callable[[Any], torch.Tensor] | None = None,
) -> tuple[float, float, float]:
    """(kernel ms, twin ms, max relative error of the kernel's output against the twin's);
    `result` picks the tensor to compare from an output (default: the output itself)."""
    pick = result or (lambda out: out)
    err = _rel_err(pick(kernel(*args)), pick(twin(*args)))
    return _median_ms(lambda: kernel(*args)), _median_ms(lambda: twin(*args)), err


def measure_copy_bandwidth(device: torch.device) -> float:
    """Bytes moved per second by a device-to-device copy of 1 GiB (read + write)."""
    n_bytes = 1 << 30
    src = torch.empty(n_bytes // 2, dtype=torch.bfloat16, device=device).normal_()
    dst = torch.empty_like(src)
    ms = _median_ms(lambda: dst.copy_(src))
    return 2 * n_bytes / (ms * 1e-3)


def measure_bf16_matmul(device: torch.device) -> float:
    n = 8192
    a = torch.randn(n, n, dtype=torch.bfloat16, device=device)
    b = torch.randn(n, n, dtype=torch.bfloat16, device=device)
    ms = _median_ms(lambda: a @ b)
    return 2 * n**3 / (ms * 1e-3)


def bench_mla_decode(device: torch.device, copy_bandwidth: float) -> Row:
    from kernels.mla_decode import mla_decode, mla_decode_bytes, mla_decode_reference

    batch, context, heads, rank, rope_dim, block_size = 64, 4096, 16, 512, 64, 64
    blocks_per_seq = context // block_size
    cache = torch.randn(batch * blocks_per_seq, block_size, rank + rope_dim, dtype=torch.bfloat16, device=device)
    block_table = torch.randperm(batch * blocks_per_seq, device=device).view(batch, blocks_per_seq).int()
    seq_lens = torch.full((batch,), context, dtype=torch.int32, device=device)
    q_latent = torch.randn(batch, heads, rank, dtype=torch.bfloat16, device=device)
    q_pe = torch.randn(batch, heads, rope_dim, dtype=torch.bfloat16, device=device)
    scale = (128 + 64) ** -0.5
    args = (q_latent, q_pe, cache, block_table, seq_lens, scale)
    triton_ms, twin_ms, err = _time_against_twin(mla_decode, mla_decode_reference, args)
    bandwidth = mla_decode_bytes(batch, context, rank, rope_dim, 2) / (triton_ms * 1e-3)
    fraction = bandwidth / copy_bandwidth
    return Row(
        "mla_decode", f"B={batch} ctx={context} H={heads} r={rank}+{rope_dim} bf16",
        triton_ms, twin_ms, err,
        metric=f"{bandwidth / 1e12:.2f} TB/s = {fraction:.0%} of copy",
        target=f">= {MLA_TARGET_FRACTION_OF_COPY:.0%} of copy",
        passed=fraction >= MLA_TARGET_FRACTION_OF_COPY,
    )


def bench_gqa_decode(device: torch.device, copy_bandwidth: float) -> Row:
    from kernels.gqa_decode import gqa_decode, gqa_decode_bytes, gqa_decode_reference

    batch, context, heads, kv_heads, head_dim, block_size = 64, 4096, 32, 8, 128, 16
    blocks_per_seq = context // block_size
    num_blocks = batch * blocks_per_seq
    k_cache = torch.randn(num_blocks, block_size, kv_heads, head_dim, dtype=torch.bfloat16, device=device)
    v_cache = torch.randn_like(k_cache)
    block_table = torch.randperm(num_blocks, device=device).view(batch, blocks_per_seq).int()
    seq_lens = torch.full((batch,), context, dtype=torch.int32, device=device)
    q = torch.randn(batch, heads, head_dim, dtype=torch.bfloat16, device=device)
    args = (q, k_cache, v_cache, block_table, seq_lens, head_dim**-0.5)
    triton_ms, twin_ms, err = _time_against_twin(gqa_decode, gqa_decode_reference, args)
    bandwidth = gqa_decode_bytes(batch, context, kv_heads, head_dim, 2) / (triton_ms * 1e-3)
    return Row(
        "gqa_decode", f"B={batch} ctx={context} H={heads} G={kv_heads} d={head_dim} bf16",
        triton_ms, twin_ms, err,
        metric=f"{bandwidth / 1e12:.2f} TB/s = {bandwidth / copy_bandwidth:.0%} of copy",
    )


def bench_fused_moe(device: torch.device) -> Row:
    from kernels.fused_moe import fused_moe, fused_moe_reference

    tokens, experts, top_k, dim, inter = 4096, 64, 6, 2048, 1408
    hidden = torch.randn(tokens, dim, dtype=torch.bfloat16, device=device)
    w_gate_up = torch.randn(experts, 2 * inter, dim, dtype=torch.bfloat16, device=device) / dim**0.5
    w_down = torch.randn(experts, dim, inter, dtype=torch.bfloat16, device=device) / inter**0.5
    router_scores = torch.randn(tokens, experts, device=device).softmax(-1)
    topk_weights, topk_ids = router_scores.topk(top_k, dim=-1)
    args = (hidden, w_gate_up, w_down, topk_ids, topk_weights)
    triton_ms, twin_ms, err = _time_against_twin(fused_moe, fused_moe_reference, args)
    flops = 2 * tokens * top_k * (2 * inter * dim + dim * inter)
    speedup = twin_ms / triton_ms
    return Row(
        "fused_moe", f"T={tokens} E={experts} top-{top_k} D={dim} I={inter} bf16",
        triton_ms, twin_ms, err,
        metric=f"{flops / (triton_ms * 1e-3) / 1e12:.0f} TFLOP/s",
        target=f">= {MOE_TARGET_SPEEDUP:.0f}x the loop",
        passed=speedup >= MOE_TARGET_SPEEDUP,
    )


def bench_rmsnorm(device: torch.device) -> Row:
    from kernels.rmsnorm import rmsnorm, rmsnorm_reference

    x = torch.randn(4096, 2048, dtype=torch.bfloat16, device=device)
    residual = torch.randn_like(x)
    weight = torch.randn(2048, dtype=torch.bfloat16, device=device)
    triton_ms, twin_ms, err = _time_against_twin(
        rmsnorm, rmsnorm_reference, (x, weight, 1e-6, residual), result=lambda out: out[0]
    )
    moved = 4 * x.numel() * x.element_size()  # read x, residual; write out, new residual
    return Row("rmsnorm+residual", "T=4096 D=2048 bf16", triton_ms, twin_ms, err,
               metric=f"{moved / (triton_ms * 1e-3) / 1e12:.2f} TB/s")


def bench_rope(device: torch.device) -> Row:
    from kernels.rope import YarnScaling, apply_rope, apply_rope_reference, yarn_cos_sin

    q_pe = torch.randn(4096, 16, 64, dtype=torch.bfloat16, device=device)
    positions = torch.arange(4096, device=device)
    cos, sin = yarn_cos_sin(positions, 64, 10000.0, YarnScaling(40.0, 4096, 32, 1, 0.707, 0.707))
    triton_ms, twin_ms, err = _time_against_twin(apply_rope, apply_rope_reference, (q_pe, cos, sin, True))
    return Row("rope (interleaved)", "q_pe T=4096 H=16 d=64 bf16", triton_ms, twin_ms, err)


def run(out_path: Path | None) -> tuple[str, bool]:
    device = torch.device("cuda")
    name = torch.cuda.get_device_name(device)
    copy_bandwidth = measure_copy_bandwidth(device)
    matmul_rate = measure_bf16_matmul(device)
    rows = [
        bench_mla_decode(device, copy_bandwidth),
        bench_gqa_decode(device, copy_bandwidth),
        bench_fused_moe(device),
        bench_rmsnorm(device),
        bench_rope(device),
    ]
    lines = [
        f"GPU: {name}; torch {torch.__version__}",
        "",
        f"Measured copy bandwidth: {copy_bandwidth / 1e12:.2f} TB/s (1 GiB device copy, read + write); "
        f"bf16 matmul: {matmul_rate / 1e12:.0f} TFLOP/s (8192^3).",
        "",
        "| kernel | shape | triton ms | twin ms | speedup | max rel err | metric | target | result |",
        "|---|---|---|---|---|---|---|---|---|",
        *[row.markdown() for row in rows],
    ]
    table = "\n".join(lines) + "\n"
    if out_path is not None:
        out_path.parent.mkdir(parents=True, exist_ok=True)
        out_path.write_text(table)
    return table, all(row.passed is not False for row in rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=None, help="write the markdown table here too")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    args = parser.parse_args(argv)
    if not torch.cuda.is_available():
        print("kernels.bench needs a CUDA GPU and none is visible; nothing was measured.")
        return 0
    table, all_passed = run(args.out)
    print(table)
    if args.out is not None:
        print(f"table written to {args.out}")
    return 1 if args.strict and not all_passed else 0


if __name__ == "__main__":
    sys.exit(main())
