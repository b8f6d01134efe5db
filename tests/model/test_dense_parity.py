"""Logits of `load_model` on tiny random Llama / Qwen2 / Qwen3 checkpoints written by transformers
match transformers' own forward to 1e-4: every variant the published provers use (GQA, q/k/v bias,
Qwen3 q/k norm, tied embeddings, head_dim != hidden / heads, each RoPE scaling), single and sharded
safetensors, stored in bf16 / fp16 / fp32 (both sides compute in float32)."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from model import ConfigError, DenseConfig, DenseForCausalLM, load_model, read_config

DENSE_TINY = dict(
    vocab_size=96,
    hidden_size=64,
    intermediate_size=112,
    num_hidden_layers=2,
    num_attention_heads=4,
    num_key_value_heads=2,
    max_position_embeddings=512,
    initializer_range=0.1,  # attention far from uniform, so RoPE and masks matter
)


def build_dense_reference(arch: str, **overrides):
    """A transformers Llama/Qwen2/Qwen3ForCausalLM (eager attention, eval, float32) with random weights."""
    import transformers

    config_cls, model_cls = {
        "llama": (transformers.LlamaConfig, transformers.LlamaForCausalLM),
        "qwen2": (transformers.Qwen2Config, transformers.Qwen2ForCausalLM),
        "qwen3": (transformers.Qwen3Config, transformers.Qwen3ForCausalLM),
    }[arch]
    settings = {**DENSE_TINY, **overrides}
    if arch == "qwen3":
        settings.setdefault("head_dim", 16)
    config = config_cls(**settings)
    config._attn_implementation = "eager"
    torch.manual_seed(7)
    model = model_cls(config).eval()
    with torch.no_grad():  # random norms and biases, so a missed weight shows in the logits
        for name, param in model.named_parameters():
            if "norm" in name or name.endswith("bias"):
                param.add_(torch.randn_like(param) * 0.2)
    return model


LLAMA3 = {"rope_type": "llama3", "rope_theta": 10000.0, "factor": 8.0, "low_freq_factor": 1.0,
          "high_freq_factor": 4.0, "original_max_position_embeddings": 64}
YARN = {"rope_type": "yarn", "rope_theta": 10000.0, "factor": 4.0, "original_max_position_embeddings": 128}
LINEAR = {"rope_type": "linear", "rope_theta": 10000.0, "factor": 2.0}

VARIANTS = {
    "llama-default": ("llama", {}),
    "llama-mha-bias": ("llama", dict(num_key_value_heads=4, attention_bias=True, mlp_bias=True)),
    "llama-linear": ("llama", dict(rope_parameters=LINEAR)),
    "llama-llama3": ("llama", dict(rope_parameters=LLAMA3)),
    "llama-yarn": ("llama", dict(rope_parameters=YARN)),
    "llama-head-dim": ("llama", dict(head_dim=24)),
    "qwen2-bias-tied": ("qwen2", dict(tie_word_embeddings=True)),
    "qwen2-yarn": ("qwen2", dict(rope_parameters={**YARN, "rope_theta": 1e6})),
    "qwen3-qk-norm": ("qwen3", {}),
    "qwen3-tied-mqa": ("qwen3", dict(tie_word_embeddings=True, num_key_value_heads=1, head_dim=32)),
    "qwen3-bias-yarn": ("qwen3", dict(attention_bias=True, rope_parameters=YARN)),
}


def _tokens(batch: int = 2, length: int = 40) -> torch.Tensor:
    return torch.randint(0, DENSE_TINY["vocab_size"], (batch, length), generator=torch.Generator().manual_seed(3))


def _reference_logits(reference, tokens: torch.Tensor) -> torch.Tensor:
    with torch.no_grad():
        return reference(tokens).logits.float()


def _positions_far_out(tokens: torch.Tensor) -> torch.Tensor:
    # beyond original_max_position_embeddings, where the scalings change the frequencies
    return torch.arange(300, 300 + tokens.shape[1]).expand_as(tokens)


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_logits_match_transformers(variant: str, tmp_path: Path) -> None:
    arch, overrides = VARIANTS[variant]
    reference = build_dense_reference(arch, **overrides)
    reference.save_pretrained(tmp_path)
    ours = load_model(tmp_path)
    assert isinstance(ours, DenseForCausalLM) and ours.config.model_type == arch
    tokens = _tokens()
    with torch.no_grad():
        got = ours(tokens)
        got_far = ours(tokens, positions=_positions_far_out(tokens))
    want = _reference_logits(reference, tokens)
    with torch.no_grad():
        want_far = reference(tokens, position_ids=_positions_far_out(tokens)).logits.float()
    torch.testing.assert_close(got, want, atol=1e-4, rtol=0)
    torch.testing.assert_close(got_far, want_far, atol=1e-4, rtol=0)
    if overrides.get("tie_word_embeddings"):
        assert ours.lm_head.weight.data_ptr() == ours.model.embed_tokens.weight.data_ptr()


@pytest.mark.parametrize("storage", [torch.bfloat16, torch.float16, torch.float32])
@pytest.mark.parametrize("sharded", [False, True], ids=["single", "sharded"])
def test_storage_dtypes_and_shards(storage: torch.dtype, sharded: bool, tmp_path: Path) -> None:
    from transformers import AutoModelForCausalLM

    build_dense_reference("qwen3").to(storage).save_pretrained(tmp_path, max_shard_size="40KB" if sharded else "1GB")
    assert (tmp_path / "model.safetensors.index.json").exists() == sharded
    assert json.loads((tmp_path / "config.json").read_text())["dtype"] == str(storage).removeprefix("torch.")
    # both sides read the stored weights and compute in float32
    reference = AutoModelForCausalLM.from_pretrained(tmp_path, dtype=torch.float32, attn_implementation="eager")
    ours = load_model(tmp_path)
    tokens = _tokens()
    torch.testing.assert_close(ours(tokens).detach(), _reference_logits(reference.eval(), tokens), atol=1e-4, rtol=0)


def test_loads_in_bfloat16(tmp_path: Path) -> None:
    reference = build_dense_reference("llama")
    reference.save_pretrained(tmp_path)
    ours = load_model(tmp_path, dtype=torch.bfloat16)
    assert ours.model.layers[0].self_attn.q_proj.weight.dtype == torch.bfloat16
    tokens = _tokens()
    got = ours(tokens).detach()
    want = _reference_logits(reference, tokens)
    assert got.dtype == torch.float32
    # bf16 weights and activations: close, not exact
    assert (got - want).abs().max().item() < 0.1 * want.abs().max().item()


def test_rotary_half_split_over_all_positions_matches_transformers(tmp_path: Path) -> None:
    """Each scaling's inv_freq equals transformers' rotary embedding's (one table, every position)."""
    for rope in (LINEAR, LLAMA3, YARN):
        reference = build_dense_reference("llama", rope_parameters=rope)
        reference.save_pretrained(tmp_path / rope["rope_type"])
        ours = load_model(tmp_path / rope["rope_type"])
        torch.testing.assert_close(ours.model.rotary_emb.inv_freq, reference.model.rotary_emb.inv_freq)


# ------------------------------------------------------------------------------ config errors

def _write_config(directory: Path, arch: str, edit) -> Path:
    reference = build_dense_reference(arch)
    reference.config.save_pretrained(directory)
    path = directory / "config.json"
    data = json.loads(path.read_text())
    data["architectures"] = [type(reference).__name__]
    edit(data)
    path.write_text(json.dumps(data))
    return directory


@pytest.mark.parametrize(
    ("arch", "edit", "field"),
    [
        ("llama", lambda d: d.update(architectures=["MistralForCausalLM"]), "architectures"),
        ("llama", lambda d: (d.pop("architectures"), d.update(model_type="gemma")), "model_type"),
        ("qwen2", lambda d: d.update(model_type="llama"), "model_type"),
        ("llama", lambda d: d.update(num_key_value_heads=3), "num_key_value_heads"),
        ("qwen2", lambda d: d.update(use_sliding_window=True), "use_sliding_window"),
        ("llama", lambda d: d.update(rope_parameters={"rope_type": "dynamic", "factor": 2.0}), "rope_parameters.rope_type"),
        ("llama", lambda d: d.update(rope_parameters={"rope_type": "llama3", "factor": 8.0}), "low_freq_factor"),
        ("qwen3", lambda d: d.update(hidden_act="gelu"), "hidden_act"),
        ("qwen3", lambda d: d.pop("vocab_size"), "vocab_size"),
    ],
)
def test_bad_config_names_the_field(arch, edit, field, tmp_path: Path) -> None:
    directory = _write_config(tmp_path, arch, edit)
    with pytest.raises(ConfigError, match=field.replace(".", r"\.")):
        read_config(directory)


def test_config_reads_published_spellings() -> None:
    """The legacy `rope_scaling` + top-level `rope_theta` spelling of the published configs."""
    base = dict(DENSE_TINY, model_type="llama", architectures=["LlamaForCausalLM"], rope_theta=5e5)
    llama3 = DenseConfig.from_dict({**base, "rope_scaling": {"type": "llama3", "factor": 8.0, "low_freq_factor": 1.0,
                                                              "high_freq_factor": 4.0,
                                                              "original_max_position_embeddings": 8192}})
    assert llama3.rope_theta == 5e5 and llama3.rope_scaling.original_max_position_embeddings == 8192
    linear = DenseConfig.from_dict({**base, "rope_scaling": {"type": "linear", "factor": 4.0}})
    assert linear.rope_scaling.factor == 4.0
    qwen2 = DenseConfig.from_dict({**base, "model_type": "qwen2", "num_key_value_heads": 2})
    assert qwen2.qkv_bias and not qwen2.o_bias and not qwen2.qk_norm
    qwen3 = DenseConfig.from_dict({**base, "model_type": "qwen3"})
    assert qwen3.head_dim == 128 and qwen3.qk_norm and not qwen3.qkv_bias  # transformers' Qwen3 default


def test_architecture_alone_chooses_the_network(tmp_path: Path) -> None:
    directory = _write_config(tmp_path, "qwen2", lambda d: d.pop("model_type"))
    config = read_config(directory)
    assert isinstance(config, DenseConfig) and config.model_type == "qwen2" and config.qkv_bias

