"""The model gives the same logits with kernels on (Triton, interpreted on CPU) and off (torch).

ON: the autouse conftest fixture sets TRITON_INTERPRET=1, so `kernels.dispatch` runs the Triton
kernels; a spy on the kernel launches proves RMSNorm (plain and residual-fused), RoPE and the
fused MoE really ran, and that no twin ran in their place. OFF: `dispatch.backend("torch")`, and
the spy proves no Triton kernel ran. The serving engine gets the same check (greedy tokens and
logprobs), its paged MLA decode kernel included. Shapes are tiny: the interpreter is slow.
"""

from __future__ import annotations

from collections import Counter
from typing import Any, Iterator

import pytest
import torch

from kernels import dispatch
from kernels import fused_moe as moe_module
from kernels import mla_decode as mla_module
from kernels import rmsnorm as norm_module
from kernels import rope as rope_module
from kernels.launch import TritonKernel
from model.config import ModelConfig
from model.deepseek import DeepseekForCausalLM

REL_TOL, ABS_TOL = 1e-4, 1e-5

YARN = {"type": "yarn", "factor": 4.0, "original_max_position_embeddings": 16, "mscale": 0.9, "mscale_all_dim": 0.8}
BASE = dict(
    vocab_size=48, hidden_size=32, intermediate_size=48, num_hidden_layers=2, num_attention_heads=2,
    kv_lora_rank=16, qk_nope_head_dim=8, qk_rope_head_dim=8, v_head_dim=8, max_position_embeddings=64,
    n_routed_experts=4, n_shared_experts=1, num_experts_per_tok=2, moe_intermediate_size=16,
    first_k_dense_replace=1, rope_scaling=YARN,
)
CONFIGS = {
    # V2 shape: no q LoRA, softmax + group-limited routing, interleaved rope pairs
    "v2_qproj_grouped_yarn": dict(
        BASE, model_type="deepseek_v2", q_lora_rank=None, topk_method="group_limited_greedy",
        n_group=2, topk_group=1, routed_scaling_factor=1.5,
    ),
    # V3 shape: q LoRA, sigmoid + noaux_tc with a correction bias, renormalised weights
    "v3_qlora_noaux_yarn": dict(
        BASE, model_type="deepseek_v3", q_lora_rank=24, n_group=2, topk_group=1,
        routed_scaling_factor=2.5, norm_topk_prob=True,
    ),
    # V3 without q LoRA, every layer MoE, half-split rope layout, no YaRN
    "v3_qproj_noaux_halfsplit": dict(
        BASE, model_type="deepseek_v3", q_lora_rank=None, n_group=2, topk_group=1, first_k_dense_replace=0,
        rope_interleave=False, rope_scaling=None, routed_scaling_factor=2.5, norm_topk_prob=False,
    ),
}


def tiny_model(name: str, seed: int) -> DeepseekForCausalLM:
    torch.manual_seed(seed)
    model = DeepseekForCausalLM(ModelConfig.from_dict(CONFIGS[name]))
    with torch.no_grad():
        for param_name, param in model.named_parameters():
            if param.dim() >= 2:  # large enough that routing and attention are far from uniform
                param.normal_(0.0, 1.0 if "embed" in param_name else 0.3)
            else:  # norm weights away from 1, so a norm that ignored its weight would show
                param.uniform_(0.5, 1.5)
        for buffer_name, buffer in model.named_buffers():
            if buffer_name.endswith("e_score_correction_bias"):
                buffer.normal_(0.0, 0.2)
    return model.eval()


class LaunchSpy:
    """Counts Triton kernel launches (by kernel name) and calls of the kernels' torch twins."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.launches: Counter[str] = Counter()
        self.twin_calls: Counter[str] = Counter()
        self.fused_norms = 0  # Triton RMSNorm calls with the residual add fused in
        original_getitem = TritonKernel.__getitem__
        spy = self

        def counting_getitem(kernel: TritonKernel, grid: Any) -> Any:
            spy.launches[kernel.__name__] += 1
            return original_getitem(kernel, grid)

        monkeypatch.setattr(TritonKernel, "__getitem__", counting_getitem)
        for module, twin in (
            (norm_module, "rmsnorm_reference"),
            (rope_module, "apply_rope_reference"),
            (moe_module, "fused_moe_reference"),
            (mla_module, "mla_decode_reference"),
        ):
            monkeypatch.setattr(module, twin, self._counted(twin, getattr(module, twin)))
        triton_rmsnorm = norm_module.rmsnorm

        def counting_rmsnorm(x: Any, weight: Any, eps: float, residual: Any = None, **kwargs: Any) -> Any:
            spy.fused_norms += residual is not None
            return triton_rmsnorm(x, weight, eps, residual, **kwargs)

        monkeypatch.setattr(norm_module, "rmsnorm", counting_rmsnorm)

    def _counted(self, name: str, fn: Any) -> Any:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            self.twin_calls[name] += 1
            return fn(*args, **kwargs)

        return wrapper


@pytest.fixture
def spy(monkeypatch: pytest.MonkeyPatch) -> Iterator[LaunchSpy]:
    yield LaunchSpy(monkeypatch)


def assert_close(on: torch.Tensor, off: torch.Tensor, what: str) -> None:
    assert on.shape == off.shape and on.dtype == off.dtype == torch.float32
    assert torch.isfinite(on).all(), f"{what}: kernels-on logits are not finite"
    error = (on - off).abs()
    allowed = torch.maximum(torch.full_like(off, ABS_TOL), REL_TOL * off.abs())
    worst = float((error - allowed).max())
    assert worst <= 0, f"{what}: max abs logit error {float(error.max()):.3g} exceeds tolerance"


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_model_logits_match_with_kernels_on_and_off(name: str, spy: LaunchSpy) -> None:
    model = tiny_model(name, seed=3)
    # Two rows, different positions per row (the engine's flattened layout has arbitrary ones).
    tokens = torch.randint(0, CONFIGS[name]["vocab_size"], (2, 5), generator=torch.Generator().manual_seed(5))
    positions = torch.tensor([[0, 1, 2, 3, 4], [7, 8, 9, 10, 11]])

    with torch.inference_mode():
        with dispatch.backend("torch"):
            off = model(tokens, positions)
        assert not spy.launches, f"kernels off, yet Triton ran: {dict(spy.launches)}"
        assert not spy.twin_calls, f"kernels off: the model should use its own functions, not {dict(spy.twin_calls)}"

        on = model(tokens, positions)
    layers = CONFIGS[name]["num_hidden_layers"]
    # per layer: input and post-attention norms, kv_a_layernorm, q_a_layernorm with q LoRA; + final norm
    norms_per_layer = 3 + (1 if CONFIGS[name]["q_lora_rank"] else 0)
    expected_norms = layers * norms_per_layer + 1
    assert spy.launches["_rmsnorm_kernel"] == expected_norms, dict(spy.launches)
    # Every norm of the residual stream but the first takes the add fused: 2 per layer, minus the
    # first layer's input norm, plus the final norm.
    assert spy.fused_norms == 2 * layers
    assert spy.launches["_rope_kernel"] == 2 * layers, dict(spy.launches)  # q_pe and k_pe
    moe_layers = layers - CONFIGS[name]["first_k_dense_replace"]
    assert spy.launches["_moe_gate_up_kernel"] == spy.launches["_moe_down_kernel"] == moe_layers
    assert not spy.twin_calls, f"kernels on, yet a torch twin ran: {dict(spy.twin_calls)}"
    assert_close(on, off, name)


def test_float16_model_is_close_with_kernels_on_and_off(spy: LaunchSpy) -> None:
    """Half precision through the kernels: the kernels round at other points than the torch path
    (the MoE sums its top-k in float32 and rounds once), so agreement is float16-sized."""
    model = tiny_model("v3_qlora_noaux_yarn", seed=3).half()
    tokens = torch.randint(0, 48, (2, 5), generator=torch.Generator().manual_seed(5))
    with torch.inference_mode():
        with dispatch.backend("torch"):
            off = model(tokens)
        on = model(tokens)
    assert spy.launches["_moe_gate_up_kernel"] > 0 and spy.launches["_rope_kernel"] > 0, dict(spy.launches)
    assert torch.isfinite(on).all()
    error = float((on - off).abs().max())
    assert error <= 5e-3 * float(off.abs().max()), f"float16 logits differ by {error:.3g}"
    assert torch.equal(on.argmax(-1), off.argmax(-1))


def test_training_float64_and_cpu_bfloat16_stay_on_the_torch_path(spy: LaunchSpy) -> None:
    """Autograd (training), float64 and bfloat16 on CPU never reach the kernels, even with the
    interpreter on (the interpreter's bfloat16 tl.dot is wrong; float64 checks must stay exact)."""
    model = tiny_model("v3_qlora_noaux_yarn", seed=4)
    tokens = torch.tensor([[1, 2, 3]])
    logits = model(tokens)  # grad enabled, parameters require grad
    logits.sum().backward()
    assert model.lm_head.weight.grad is not None
    assert model.model.layers[1].mlp.experts.gate_up_proj.grad is not None
    with torch.no_grad():
        assert model.double()(tokens).dtype == torch.float64
        assert torch.isfinite(model.bfloat16()(tokens)).all()
    assert not spy.launches, f"Triton ran for autograd, float64 or CPU bfloat16: {dict(spy.launches)}"


def test_engine_generation_matches_with_kernels_on_and_off(spy: LaunchSpy) -> None:
    """Greedy generation: same tokens, logprobs within 1e-4; ON runs the paged MLA decode kernel too."""
    from serving import Engine, EngineConfig, SamplingParams

    model = tiny_model("v3_qlora_noaux_yarn", seed=3)
    # Prompt lengths not multiples of the block size; generation crosses a block boundary.
    prompts = [[3, 4, 5, 6, 7], [9, 10, 11, 12, 13, 14, 15, 16, 17]]
    params = SamplingParams(temperature=0, max_tokens=3, ignore_eos=True, logprobs=0)
    engine_config = EngineConfig(block_size=4, num_blocks=16)

    with dispatch.backend("torch"):
        off = Engine(model, config=engine_config).generate(prompts, params)
    assert not spy.launches, f"kernels off, yet Triton ran: {dict(spy.launches)}"
    # The engine's CPU decode is the kernel's registered twin, reached through kernels.dispatch.
    assert spy.twin_calls["mla_decode_reference"] > 0, dict(spy.twin_calls)
    spy.twin_calls.clear()

    engine = Engine(model, config=engine_config)
    assert "Triton" in engine.mla_decode_source
    on = engine.generate(prompts, params)
    for kernel in ("_mla_split_kernel", "_mla_merge_kernel", "_rmsnorm_kernel", "_rope_kernel", "_moe_gate_up_kernel"):
        assert spy.launches[kernel] > 0, f"{kernel} never ran with kernels on: {dict(spy.launches)}"
    assert not spy.twin_calls, f"kernels on, yet a torch twin ran: {dict(spy.twin_calls)}"

    for index, (with_kernels, without) in enumerate(zip(on, off)):
        got, expected = with_kernels.outputs[0], without.outputs[0]
        assert len(expected.token_ids) == 3
        assert got.token_ids == expected.token_ids, f"prompt {index}: tokens differ with kernels on"
        assert got.logprobs is not None and expected.logprobs is not None
        gap = max(abs(a - b) for a, b in zip(got.logprobs, expected.logprobs))
        assert gap <= 1e-4, f"prompt {index}: logprobs differ by {gap:.3g} with kernels on"
