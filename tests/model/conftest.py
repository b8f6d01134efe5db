"""Tiny random DeepSeek-V2/V3 checkpoints written by the transformers reference implementations."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import torch

TINY = dict(
    vocab_size=128,
    hidden_size=64,
    intermediate_size=96,
    moe_intermediate_size=32,
    num_hidden_layers=2,
    num_attention_heads=4,
    num_key_value_heads=4,
    kv_lora_rank=32,
    qk_nope_head_dim=16,
    qk_rope_head_dim=8,
    v_head_dim=16,
    n_routed_experts=8,
    n_shared_experts=1,
    num_experts_per_tok=2,
    max_position_embeddings=256,
    initializer_range=0.1,  # larger than the default so routing and attention are far from uniform
)


def build_reference(version: str, **overrides: Any):
    """A transformers DeepseekV2/V3ForCausalLM (eager attention, eval mode) with TINY dims + overrides."""
    from transformers import DeepseekV2Config, DeepseekV2ForCausalLM, DeepseekV3Config, DeepseekV3ForCausalLM

    config_cls, model_cls = {
        "v2": (DeepseekV2Config, DeepseekV2ForCausalLM),
        "v3": (DeepseekV3Config, DeepseekV3ForCausalLM),
    }[version]
    config = config_cls(**{**TINY, **overrides})
    config._attn_implementation = "eager"
    return model_cls(config).eval()


def rewrite_config(directory: Path, edit) -> None:
    path = directory / "config.json"
    data = json.loads(path.read_text())
    edit(data)
    path.write_text(json.dumps(data, indent=2))


@pytest.fixture
def token_batch() -> torch.Tensor:
    generator = torch.Generator().manual_seed(1234)
    return torch.randint(0, TINY["vocab_size"], (2, 11), generator=generator)


@pytest.fixture
def make_reference():
    """The `build_reference` factory, as a fixture (test files cannot import conftest by name)."""
    return build_reference


@pytest.fixture
def edit_config():
    return rewrite_config
