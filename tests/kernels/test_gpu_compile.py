"""Every kernel compiles for an H100/H200 (sm_90) with the configurations the launchers
and the benchmark use, without a GPU: Triton lowers to PTX and runs the bundled ptxas.

The interpreter cannot catch what only the compiler rejects (tl.dot with a dim below 16,
loop-carried type changes, unsupported constructs); this does.
"""

from __future__ import annotations

import inspect

import pytest
import triton
from triton.backends.compiler import GPUTarget
from triton.compiler import ASTSource
from triton.runtime.jit import JITFunction

from kernels.fused_moe import _moe_down_kernel, _moe_gate_up_kernel
from kernels.launch import TritonKernel
from kernels.mla_decode import _mla_merge_kernel, _mla_split_kernel
from kernels.rmsnorm import _rmsnorm_kernel
from kernels.rope import _rope_kernel

SM90 = GPUTarget("cuda", 90, 32)
INDEX_POINTERS = {"block_table_ptr": "*i32", "seq_lens_ptr": "*i32", "sorted_pairs_ptr": "*i32",
                  "tile_expert_ptr": "*i32", "used_rows_ptr": "*i32", "cos_row_ptr": "*i32"}
FLOAT32_POINTERS = {"partial_out_ptr", "partial_lse_ptr", "cos_ptr", "sin_ptr", "routing_weight_ptr"}
FLOAT_SCALARS = {"eps", "qk_scale_log2"}


def compile_sm90(kernel: TritonKernel, data: str, constexprs: dict, num_warps: int, num_stages: int):
    """Compile `kernel` with `data` (e.g. "bf16") as the element type of its data pointers."""
    signature = {}
    for name in inspect.signature(kernel.fn).parameters:
        if name in constexprs:
            signature[name] = "constexpr"
        elif name in INDEX_POINTERS:
            signature[name] = INDEX_POINTERS[name]
        elif name in FLOAT32_POINTERS:
            signature[name] = "*fp32"
        elif name.endswith("_ptr"):
            signature[name] = f"*{data}"
        else:
            signature[name] = "fp32" if name in FLOAT_SCALARS else "i32"
    source = ASTSource(JITFunction(kernel.fn), signature, constexprs=constexprs)
    return triton.compile(source, target=SM90, options={"num_warps": num_warps, "num_stages": num_stages})


CASES = {
    # DeepSeek-V2-Lite decode (bench) and the tiny float32 test shapes.
    "mla_split_bf16": (_mla_split_kernel, "bf16", dict(BLOCK_H=16, BLOCK_N=32, BLOCK_R=512, BLOCK_DR=64, IEEE_DOT=False), 4, 2),
    "mla_split_fp32": (_mla_split_kernel, "fp32", dict(BLOCK_H=16, BLOCK_N=16, BLOCK_R=32, BLOCK_DR=16, IEEE_DOT=True), 4, 2),
    "mla_merge": (_mla_merge_kernel, "bf16", dict(BLOCK_R=512), 4, 1),
    "moe_gate_up_bf16": (_moe_gate_up_kernel, "bf16", dict(BLOCK_M=64, BLOCK_N=128, BLOCK_K=64, GROUP_M=8, IEEE_DOT=False), 8, 3),
    "moe_down_bf16": (_moe_down_kernel, "bf16", dict(BLOCK_M=64, BLOCK_N=128, BLOCK_K=64, GROUP_M=8, IEEE_DOT=False), 8, 3),
    "moe_gate_up_fp32_decode": (_moe_gate_up_kernel, "fp32", dict(BLOCK_M=16, BLOCK_N=64, BLOCK_K=128, GROUP_M=1, IEEE_DOT=True), 4, 3),
    "rmsnorm_residual": (_rmsnorm_kernel, "bf16", dict(HAS_RESIDUAL=True, BLOCK_ROWS=2, BLOCK_COLS=2048), 4, 1),
    "rope_v3_layout": (_rope_kernel, "bf16", dict(READ_INTERLEAVED=True, WRITE_INTERLEAVED=False, BLOCK_ROWS=64, BLOCK_HALF=32), 4, 1),
}


@pytest.mark.parametrize("case", list(CASES))
def test_kernel_compiles_for_sm90(case, monkeypatch):
    monkeypatch.setenv("TRITON_DEFAULT_FP_FUSION", "1")
    kernel, data, constexprs, num_warps, num_stages = CASES[case]
    compiled = compile_sm90(kernel, data, constexprs, num_warps, num_stages)
    assert len(compiled.asm["cubin"]) > 0
    assert compiled.metadata.shared <= 227 * 1024  # fits an sm_90 block's shared memory
