"""load_model on checkpoints in the layouts real users bring, and on broken ones."""
from __future__ import annotations

import json
import math

import pytest
import torch
from safetensors.torch import load_file, save_file

from model.loader import CheckpointError, dequantize_fp8_blocks, load_model

BLOCK = 128
FP8_MAX = 448.0  # largest finite float8_e4m3fn


@pytest.fixture
def v3_checkpoint(make_reference, tmp_path):
    """A tiny V3 model (intermediate 160, vocab 200: dims that are not multiples of 128) saved by transformers."""
    torch.manual_seed(3)
    reference = make_reference(
        "v3",
        q_lora_rank=48,
        n_group=2,
        topk_group=1,
        first_k_dense_replace=1,
        intermediate_size=160,
        vocab_size=200,
    )
    directory = tmp_path / "v3"
    reference.save_pretrained(directory)
    return reference, directory


def _tensors(directory):
    return load_file(directory / "model.safetensors")


def _rewrite(directory, tensors):
    save_file(tensors, directory / "model.safetensors", metadata={"format": "pt"})


def _tokens(vocab=128):
    return torch.randint(0, vocab, (1, 9), generator=torch.Generator().manual_seed(5))


# ----------------------------------------------------------------------------- FP8

def _quantize_blocks(weight: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """DeepSeek's format: e4m3 weight and float32 scale per 128x128 block, weight ≈ fp8 × scale."""
    rows, cols = weight.shape
    scale = torch.empty(math.ceil(rows / BLOCK), math.ceil(cols / BLOCK))
    quantized = torch.empty(rows, cols, dtype=torch.float8_e4m3fn)
    for i in range(scale.shape[0]):
        for j in range(scale.shape[1]):
            block = weight[i * BLOCK : (i + 1) * BLOCK, j * BLOCK : (j + 1) * BLOCK]
            s = block.abs().max().clamp(min=1e-12) / FP8_MAX
            scale[i, j] = s
            quantized[i * BLOCK : (i + 1) * BLOCK, j * BLOCK : (j + 1) * BLOCK] = (block / s).to(torch.float8_e4m3fn)
    return quantized, scale


def _is_quantized_in_deepseek_v3(name: str, tensor: torch.Tensor) -> bool:
    return tensor.dim() == 2 and name.endswith("proj.weight") and "mlp.gate." not in name


def test_fp8_block_quantized_checkpoint_loads_within_quantization_error(v3_checkpoint, edit_config):
    _, directory = v3_checkpoint
    originals = _tensors(directory)
    stored = {}
    for name, tensor in originals.items():
        if _is_quantized_in_deepseek_v3(name, tensor):
            # give each row band its own magnitude so a mis-assigned block scale shows
            tensor = tensor * torch.linspace(0.5, 4.0, tensor.shape[0])[:, None]
            originals[name] = tensor
            stored[name], stored[name + "_scale_inv"] = _quantize_blocks(tensor)
        else:
            stored[name] = tensor
    _rewrite(directory, stored)
    edit_config(directory, lambda d: d.update(quantization_config={
        "quant_method": "fp8", "fmt": "e4m3", "activation_scheme": "dynamic", "weight_block_size": [BLOCK, BLOCK]}))

    model = load_model(directory)
    loaded = model.state_dict()
    dense_gate = loaded["model.layers.0.mlp.gate_proj.weight"]  # [160, 64]: two row blocks, the second partial
    q, s = stored["model.layers.0.mlp.gate_proj.weight"], stored["model.layers.0.mlp.gate_proj.weight_scale_inv"]
    assert s.shape == (2, 1)
    assert torch.equal(dense_gate[:128], q[:128].float() * s[0, 0])
    assert torch.equal(dense_gate[128:], q[128:].float() * s[1, 0])
    down = loaded["model.layers.0.mlp.down_proj.weight"]  # [64, 160]: two column blocks
    qd, sd = stored["model.layers.0.mlp.down_proj.weight"], stored["model.layers.0.mlp.down_proj.weight_scale_inv"]
    assert torch.equal(down[:, 128:], qd[:, 128:].float() * sd[0, 1])

    # every weight within e4m3's rounding error (3 mantissa bits) of its original
    expert_up = loaded["model.layers.1.mlp.experts.gate_up_proj"][3, 32:]
    checks = {
        "model.layers.0.mlp.gate_proj.weight": dense_gate,
        "model.layers.0.mlp.down_proj.weight": down,
        "model.layers.1.mlp.experts.3.up_proj.weight": expert_up,
    }
    for name, value in checks.items():
        original = originals[name]
        scale = stored[name + "_scale_inv"].repeat_interleave(BLOCK, 0)[: original.shape[0]]
        scale = scale.repeat_interleave(BLOCK, 1)[:, : original.shape[1]]
        bound = original.abs() * 2**-4 + scale * 2**-9
        assert ((value - original).abs() <= bound).all(), name
        assert not torch.equal(value, original)  # it really went through fp8


def test_dequantize_handles_edge_blocks():
    weight = torch.ones(130, 257).to(torch.float8_e4m3fn)
    scale = torch.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    out = dequantize_fp8_blocks(weight, scale, (128, 128))
    assert out.shape == (130, 257)
    assert out[0, 0] == 1 and out[0, 255] == 2 and out[0, 256] == 3
    assert out[129, 0] == 4 and out[129, 200] == 5 and out[129, 256] == 6


# ----------------------------------------------------------------------------- broken checkpoints

def test_missing_tensor_is_named(v3_checkpoint):
    _, directory = v3_checkpoint
    tensors = _tensors(directory)
    del tensors["model.layers.1.mlp.experts.5.down_proj.weight"]
    del tensors["model.layers.0.self_attn.kv_b_proj.weight"]
    _rewrite(directory, tensors)
    with pytest.raises(CheckpointError) as info:
        load_model(directory)
    message = str(info.value)
    assert "missing (2)" in message
    assert "model.layers.1.mlp.experts.5.down_proj.weight (expected shape [64, 32])" in message
    assert "model.layers.0.self_attn.kv_b_proj.weight (expected shape [128, 32])" in message


def test_wrong_shape_and_unexpected_tensors_are_named(v3_checkpoint):
    _, directory = v3_checkpoint
    tensors = _tensors(directory)
    tensors["model.layers.0.self_attn.o_proj.weight"] = torch.zeros(64, 60)
    tensors["model.layers.0.self_attn.rotary_emb.inv_freq"] = torch.zeros(4)
    _rewrite(directory, tensors)
    with pytest.raises(CheckpointError) as info:
        load_model(directory)
    message = str(info.value)
    assert "model.layers.0.self_attn.o_proj.weight: expected shape [64, 64], found [64, 60]" in message
    assert "unexpected (1)" in message and "model.layers.0.self_attn.rotary_emb.inv_freq" in message


def test_fp8_weight_without_its_scale_is_named(v3_checkpoint):
    _, directory = v3_checkpoint
    tensors = _tensors(directory)
    name = "model.layers.0.self_attn.o_proj.weight"
    tensors[name] = tensors[name].to(torch.float8_e4m3fn)
    _rewrite(directory, tensors)
    with pytest.raises(CheckpointError, match=r"o_proj\.weight_scale_inv \(FP8 scale for"):
        load_model(directory)


# ----------------------------------------------------------------------------- layouts

def test_sharded_checkpoint_with_mtp_layer_and_a_scale_in_another_shard(v3_checkpoint, edit_config):
    reference, directory = v3_checkpoint
    tensors = _tensors(directory)
    (directory / "model.safetensors").unlink()
    # an MTP layer (index == num_hidden_layers) is on disk in real V3 checkpoints and must be skipped
    tensors["model.layers.2.eh_proj.weight"] = torch.randn(64, 128)
    tensors["model.layers.2.self_attn.o_proj.weight"] = torch.randn(64, 64)
    # one FP8 weight whose scale lives in the other shard
    name = "model.layers.1.self_attn.q_b_proj.weight"  # [96, 48]
    quantized, scale = _quantize_blocks(tensors[name])
    tensors[name], tensors[name + "_scale_inv"] = quantized, scale
    names = sorted(tensors)
    first = {n: tensors[n] for n in names if n != name + "_scale_inv" and (n < "model.layers.1" or n == name)}
    second = {n: tensors[n] for n in names if n not in first}
    save_file(first, directory / "model-00001-of-00002.safetensors")
    save_file(second, directory / "model-00002-of-00002.safetensors")
    weight_map = {n: "model-00001-of-00002.safetensors" for n in first}
    weight_map.update({n: "model-00002-of-00002.safetensors" for n in second})
    (directory / "model.safetensors.index.json").write_text(json.dumps({"metadata": {}, "weight_map": weight_map}))

    model = load_model(directory)
    expected = (quantized.float() * scale[0, 0])
    assert torch.equal(model.state_dict()[name], expected)
    with torch.no_grad():
        reference.model.layers[1].self_attn.q_b_proj.weight.copy_(expected)
        tokens = _tokens()
        assert (model(tokens) - reference(tokens).logits).abs().max() <= 1e-4


def test_fused_expert_layout_is_accepted(v3_checkpoint):
    reference, directory = v3_checkpoint
    tensors = _tensors(directory)
    prefix = "model.layers.1.mlp.experts."
    gate_up, down = [], []
    for e in range(8):
        gate_up.append(torch.cat([tensors.pop(f"{prefix}{e}.gate_proj.weight"), tensors.pop(f"{prefix}{e}.up_proj.weight")]))
        down.append(tensors.pop(f"{prefix}{e}.down_proj.weight"))
    tensors[prefix + "gate_up_proj"] = torch.stack(gate_up)
    tensors[prefix + "down_proj"] = torch.stack(down)
    _rewrite(directory, tensors)
    tokens = _tokens()
    with torch.no_grad():
        assert (load_model(directory)(tokens) - reference(tokens).logits).abs().max() <= 1e-4


def test_bfloat16_load_keeps_the_router_in_float32(v3_checkpoint):
    reference, directory = v3_checkpoint
    model = load_model(directory, dtype=torch.bfloat16)
    gate = model.model.layers[1].mlp.gate
    assert gate.weight.dtype == torch.float32 and gate.e_score_correction_bias.dtype == torch.float32
    assert torch.equal(gate.weight, reference.model.layers[1].mlp.gate.weight)
    w_uk = model.model.layers[1].self_attn.w_uk
    kv_b = reference.model.layers[1].self_attn.kv_b_proj.weight.view(4, 32, 32)
    assert w_uk.dtype == torch.bfloat16 and torch.equal(w_uk, kv_b[:, :16].to(torch.bfloat16))
    tokens = _tokens()
    with torch.no_grad():
        logits = model(tokens)
        expected = reference(tokens).logits
    assert logits.dtype == torch.float32
    # bf16 rounding may flip a near-tied expert choice for a token, so judge the typical token
    row_errors = (logits - expected).abs().amax(dim=-1).flatten()
    assert row_errors.median() < 0.05 * expected.abs().max()


def test_directory_without_weights_says_so(tmp_path, v3_checkpoint):
    _, directory = v3_checkpoint
    (directory / "model.safetensors").unlink()
    with pytest.raises(CheckpointError, match="neither model.safetensors nor model.safetensors.index.json"):
        load_model(directory)
